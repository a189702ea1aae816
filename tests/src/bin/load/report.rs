//! The result of one run of flows and its report: a line of totals, a line per call, and with
//! `--json` one `RESULT {…}` line.

use crate::latency::{Lat, pct};
use crate::procfs::Usage;
use serde_json::json;

/// What one run of flows did.
pub(crate) struct Outcome {
    /// The mode's name in the report (`node-gw` when the gateway made the nodes' requests).
    pub mode: &'static str,
    /// Flows taken.
    pub flows: u64,
    /// Flows that failed.
    pub errors: u64,
    /// Wall time of the run.
    pub secs: f64,
    /// Latencies per call, sorted.
    pub lat: Lat,
    /// Connections still held open (`hold`).
    pub held: u64,
    /// HTTP 503 answers retried (the modes that retry them).
    pub retries: Option<u64>,
}

/// Prints the report of `o` under `label`, with the gateway's usage before and after.
pub(crate) fn report(
    label: &str,
    o: &Outcome,
    before: Option<Usage>,
    after: Option<Usage>,
    as_json: bool,
) {
    let ok = o.flows.saturating_sub(o.errors);
    let rate = ok as f64 / o.secs;
    let rss =
        |u: Option<Usage>| u.map_or("?".into(), |u| format!("{:.1}", u.rss_kib as f64 / 1024.0));
    let cpu = match (before, after) {
        (Some(b), Some(a)) => format!("{:.2}", a.cpu_s - b.cpu_s),
        _ => "?".into(),
    };
    let mut line = format!(
        "{label:<28} {:<8} {ok:>6} ok in {:>6.2} s = {rate:>8.1}/s  errors {}  RSS {} → {} MiB  CPU {cpu} s",
        o.mode,
        o.secs,
        o.errors,
        rss(before),
        rss(after),
    );
    if o.mode == "hold"
        && let (Some(b), Some(a)) = (before, after)
    {
        let per = (a.rss_kib.saturating_sub(b.rss_kib)) as f64 / o.held.max(1) as f64;
        line.push_str(&format!("  held {} → {per:.1} KiB/conn", o.held));
    }
    if let Some(r) = o.retries {
        line.push_str(&format!("  503 retries {r}"));
    }
    println!("{line}");
    let mut methods = serde_json::Map::new();
    for (k, v) in &o.lat {
        println!(
            "    {k:<20} n {:>6}  p50 {:>8.2}  p95 {:>8.2}  p99 {:>8.2} ms",
            v.len(),
            pct(v, 0.5),
            pct(v, 0.95),
            pct(v, 0.99)
        );
        methods.insert(
            (*k).to_owned(),
            json!({"n": v.len(), "p50": pct(v, 0.5), "p95": pct(v, 0.95), "p99": pct(v, 0.99)}),
        );
    }
    if as_json {
        let mut j = json!({
            "label": label, "mode": o.mode, "ok": ok, "errors": o.errors, "secs": o.secs,
            "rate": rate, "held": o.held, "methods": methods,
            "rss_before_kib": before.map(|u| u.rss_kib), "rss_after_kib": after.map(|u| u.rss_kib),
            "cpu_before_s": before.map(|u| u.cpu_s), "cpu_after_s": after.map(|u| u.cpu_s),
        });
        if let Some(r) = o.retries {
            j["retries"] = json!(r);
        }
        println!("RESULT {j}");
    }
}
