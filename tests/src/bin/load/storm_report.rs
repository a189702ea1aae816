//! The storm's report: totals, connect latencies, the gateway's CPU and memory, the kernel's listen
//! counters, the machine's load, the gateway's threads, admissions per 250 ms; with `--json` one
//! `RESULT {…}` line.

use crate::latency::pct;
use crate::procfs::Usage;
use pairing_tests::bench::NodeAuth;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What the storm was given and what it measured.
pub(crate) struct Measured {
    /// Paired devices that came back.
    pub devices: u64,
    /// Loopback source addresses they came from.
    pub sources: u16,
    /// The credential they presented.
    pub auth: NodeAuth,
    /// The gateway's pid.
    pub pid: u32,
    /// Seconds to make the devices' keys.
    pub keys_s: f64,
    /// Size of the `paired.json` written.
    pub paired_bytes: u64,
    /// Spawn to listening, ms.
    pub restart_ms: f64,
    /// The gateway's usage at the start line.
    pub before: Option<Usage>,
    /// The gateway's usage once all were admitted.
    pub after: Option<Usage>,
    /// The gateway's peak RSS, KiB.
    pub peak: Option<u64>,
    /// Listen-queue counters before.
    pub listen_before: Vec<(String, u64)>,
    /// Listen-queue counters after.
    pub listen_after: Vec<(String, u64)>,
    /// CPU seconds of this process during the storm.
    pub gen_cpu: f64,
    /// Machine CPU (busy, iowait) before.
    pub machine_before: (f64, f64),
    /// Machine CPU (busy, iowait) after.
    pub machine_after: (f64, f64),
    /// The gateway's threads (run, wait ns) before.
    pub threads_before: BTreeMap<String, (u64, u64)>,
    /// The gateway's threads (run, wait ns) after.
    pub threads_after: BTreeMap<String, (u64, u64)>,
    /// Seconds from the start line to the last device's end.
    pub wall: f64,
    /// Seconds from the first attempt to the last `hello-ok`.
    pub all_s: f64,
    /// Devices admitted.
    pub ok: u64,
    /// Devices not admitted.
    pub errors: u64,
    /// 503 answers retried.
    pub retries: u64,
    /// Devices that retried at least once.
    pub retried_devices: u64,
    /// Each device's own attempt → `hello-ok`, µs, sorted.
    pub connect_us: Vec<u32>,
    /// Each device's admission since the start line, µs, sorted.
    pub admitted_us: Vec<u32>,
}

/// Prints the storm's report under `label` (default `storm N (auth)`); with `as_json`, a `RESULT` line.
pub(crate) fn report(label: Option<String>, m: Measured, as_json: bool) {
    let Measured {
        devices,
        sources,
        auth,
        pid,
        keys_s,
        paired_bytes,
        restart_ms,
        before,
        after,
        peak,
        listen_before,
        listen_after,
        gen_cpu,
        machine_before,
        machine_after,
        threads_before,
        threads_after,
        wall,
        all_s,
        ok,
        errors,
        retries,
        retried_devices,
        connect_us,
        admitted_us,
    } = m;
    let label = label.unwrap_or_else(|| format!("storm {devices} ({})", auth.name()));
    let mib = |k: Option<u64>| k.map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0));
    let cpu = |a: Option<Usage>, b: Option<Usage>| match (a, b) {
        (Some(a), Some(b)) => b.cpu_s - a.cpu_s,
        _ => f64::NAN,
    };
    let storm_cpu = cpu(before, after);
    let start_cpu = before.map_or(f64::NAN, |u| u.cpu_s);
    println!(
        "{label:<28} {ok:>6} ok in {all_s:>6.3} s (first attempt → last hello-ok)  errors {errors}  \
         503 retries {retries} ({retried_devices} devices)  from {} addresses",
        sources
    );
    let last_ms = |v: &[u32]| v.last().map_or(0.0, |x| f64::from(*x) / 1000.0);
    println!(
        "    {:<34} p50 {:>8.2}  p95 {:>8.2}  p99 {:>8.2}  max {:>8.2} ms",
        "connect (own attempt → hello-ok)",
        pct(&connect_us, 0.5),
        pct(&connect_us, 0.95),
        pct(&connect_us, 0.99),
        last_ms(&connect_us)
    );
    println!(
        "    {:<34} p50 {:>8.2}  p95 {:>8.2}  p99 {:>8.2}  max {:>8.2} ms",
        "admitted at (since the start line)",
        pct(&admitted_us, 0.5),
        pct(&admitted_us, 0.95),
        pct(&admitted_us, 0.99),
        last_ms(&admitted_us)
    );
    println!(
        "    gateway (pid {pid}): listening {restart_ms:.0} ms after spawn ({} devices, paired.json {:.1} MiB, \
         {start_cpu:.2} s CPU to start); storm CPU {storm_cpu:.2} s; RSS {} → {} MiB, peak {} MiB",
        devices,
        paired_bytes as f64 / 1048576.0,
        mib(before.map(|u| u.rss_kib)),
        mib(after.map(|u| u.rss_kib)),
        mib(peak),
    );
    let deltas: Vec<(String, u64)> = listen_after
        .iter()
        .map(|(n, v)| {
            let b = listen_before
                .iter()
                .find(|(m, _)| m == n)
                .map_or(0, |x| x.1);
            (n.clone(), v.saturating_sub(b))
        })
        .collect();
    println!(
        "    generator CPU {gen_cpu:.2} s (keys {keys_s:.2} s before); kernel (whole machine): {}",
        deltas
            .iter()
            .map(|(n, v)| format!("{n} +{v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // What else ran meanwhile: on a shared machine it decides how much CPU the storm got.
    let machine_busy = machine_after.0 - machine_before.0;
    let others = (machine_busy - storm_cpu - gen_cpu).max(0.0);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "    machine: {cpus} CPUs × {wall:.2} s = {:.2} CPU s; busy {machine_busy:.2} \
         (other processes {others:.2}), iowait {:.2}",
        cpus as f64 * wall,
        machine_after.1 - machine_before.1
    );
    // The core's thread is the gateway's one serial resource: its time on a CPU, and waiting for one.
    let threads: Vec<(String, f64, f64)> = threads_after
        .iter()
        .map(|(name, (run, wait))| {
            let (r0, w0) = threads_before.get(name).copied().unwrap_or_default();
            let s = |a: u64, b: u64| a.saturating_sub(b) as f64 / 1e9;
            (name.clone(), s(*run, r0), s(*wait, w0))
        })
        .filter(|(_, run, wait)| run + wait >= 0.005)
        .collect();
    println!(
        "    gateway threads (on a CPU / runnable, waiting for one): {}",
        threads
            .iter()
            .map(|(n, r, w)| format!("{n} {r:.2} / {w:.2} s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // Admissions per 250 ms since the start line: a stall or a 1 s SYN retransmit shows as a gap.
    let buckets = admitted_us
        .last()
        .map_or(0, |l| *l as usize / 250_000 + 1)
        .min(400);
    let mut timeline = vec![0u32; buckets];
    for a in &admitted_us {
        if let Some(b) = timeline.get_mut(*a as usize / 250_000) {
            *b += 1;
        }
    }
    println!(
        "    admitted per 250 ms: {}",
        timeline
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    );
    if as_json {
        let j = json!({
            "label": label, "mode": "storm", "auth": auth.name(), "devices": devices,
            "ok": ok, "errors": errors, "sources": sources, "retries": retries,
            "retried_devices": retried_devices, "all_admitted_s": all_s,
            "connect_ms": {"p50": pct(&connect_us, 0.5), "p95": pct(&connect_us, 0.95),
                "p99": pct(&connect_us, 0.99), "max": last_ms(&connect_us)},
            "admitted_ms": {"p50": pct(&admitted_us, 0.5), "p95": pct(&admitted_us, 0.95),
                "p99": pct(&admitted_us, 0.99), "max": last_ms(&admitted_us)},
            "restart_ms": restart_ms, "start_cpu_s": start_cpu, "storm_cpu_s": storm_cpu,
            "rss_before_kib": before.map(|u| u.rss_kib), "rss_after_kib": after.map(|u| u.rss_kib),
            "rss_peak_kib": peak, "generator_cpu_s": gen_cpu, "gateway_pid": pid,
            "machine_busy_s": machine_busy, "others_cpu_s": others, "timeline_250ms": timeline,
            "threads": threads.iter().map(|(n, r, w)| (n.clone(), json!({"run_s": r, "wait_s": w}))).collect::<serde_json::Map<String, Value>>(),
            "kernel": deltas.into_iter().map(|(n, v)| (n, json!(v))).collect::<serde_json::Map<String, Value>>(),
        });
        println!("RESULT {j}");
    }
}
