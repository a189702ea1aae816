//! The reconnect storm (`--mode storm`): every paired device comes back at once after a restart,
//! each from one of `--sources` loopback addresses, and stays connected until all are admitted.

use crate::latency::us;
use crate::plan::source_address;
use crate::procfs::{
    listen_counters, machine_cpu_s, open_files_limit, own_cpu_s, peak_rss_kib, thread_times, usage,
};
use crate::reconnect::Reconnect;
use crate::spawn::spawn_gateway_in;
use crate::storm_report::{Measured, report};
use anyhow::Context;
use pairing_host::driver::now_ms;
use pairing_tests::bench::{Device, NodeAuth};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// `STORM_HOLD_MS=MS` makes the storm wait that long after the gateway started (its pid is printed),
/// to attach a profiler to it. With `PERF_CTL_FIFO` set to the control FIFO of `perf record --control fifo:FIFO -D -1 …`, a
/// function that tells perf to `enable` or `disable` recording, so a profile covers the storm alone
/// (not key generation, the state files or the gateway's start). Without it, a no-op.
fn perf_control() -> impl Fn(&str) {
    let fifo = std::env::var_os("PERF_CTL_FIFO").and_then(|p| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .map_err(|e| eprintln!("PERF_CTL_FIFO {}: {e}", p.to_string_lossy()))
            .ok()
    });
    move |cmd: &str| {
        if let Some(mut f) = fifo.as_ref() {
            let _ = std::io::Write::write_all(&mut f, format!("{cmd}\n").as_bytes());
        }
    }
}

/// What the storm is given.
pub(crate) struct Storm {
    /// Paired devices, all coming back.
    pub devices: u64,
    /// Loopback source addresses they come from.
    pub sources: u16,
    /// The credential they present.
    pub auth: NodeAuth,
    /// Wait after a 503 (plus up to as much jitter).
    pub retry: Duration,
    /// How long before the storm (ms) the devices were last seen.
    pub last_seen_ms: u64,
    /// Devices not admitted within this (from the start line) count as errors.
    pub time_limit: Duration,
    /// The gateway binary.
    pub openclaw: String,
    /// The report's label (default `storm N (auth)`).
    pub label: Option<String>,
    /// Add one `RESULT {…}` line of JSON.
    pub json: bool,
}

/// The reconnect storm: `devices` paired devices written into a fresh state directory, the gateway
/// started on it (the restart), then every device comes back at once, spread over `sources` loopback
/// addresses; every socket stays open until all are admitted.
pub(crate) async fn storm(s: &Storm) -> anyhow::Result<()> {
    // Both processes hold one socket per device, plus a few files.
    let need = s.devices + 256;
    if let Some((soft, hard)) = open_files_limit()
        && soft < need
    {
        anyhow::bail!(
            "the storm of {} devices needs at least {need} open files in this process and in the \
             gateway; the limit is {soft} (hard {hard}): run `ulimit -n {need}` first",
            s.devices
        );
    }
    let t = Instant::now();
    let devices: Arc<Vec<Device>> = Arc::new(Device::many("storm", s.devices));
    let keys_s = t.elapsed().as_secs_f64();
    let state = tempfile::tempdir()?;
    pairing_tests::bench::write_state(state.path(), &devices, now_ms(), s.last_seen_ms)?;
    let paired_bytes = std::fs::metadata(state.path().join("nodes/paired.json"))?.len();

    // The restart: the gateway starts on that state; devices may connect once it listens.
    let spawned_at = Instant::now();
    let g = spawn_gateway_in(&s.openclaw, state)?;
    let restart_ms = spawned_at.elapsed().as_secs_f64() * 1e3;
    let pid = g.child.id();
    let before = usage(Some(pid));
    let listen_before = listen_counters();
    let r = Arc::new(Reconnect {
        url: g.url.clone(),
        gateway_token: g.token.clone(),
        auth: s.auth,
        retry: s.retry,
    });

    let templates = Arc::new(r.templates(&devices));
    // Every device waits at the start line; the storm begins when all are there.
    let (go_tx, go_rx) = tokio::sync::watch::channel(None::<Instant>);
    let ready = Arc::new(AtomicUsize::new(0));
    let sources = u64::from(s.sources.max(1));
    let mut tasks = Vec::with_capacity(devices.len());
    for i in 0..s.devices {
        let (r, devices, ready, mut go) =
            (r.clone(), devices.clone(), ready.clone(), go_rx.clone());
        let templates = templates.clone();
        let local = source_address(i % sources);
        let limit = s.time_limit;
        tasks.push(tokio::spawn(async move {
            ready.fetch_add(1, Ordering::Relaxed);
            let t0 = go.wait_for(Option::is_some).await.ok().and_then(|t| *t);
            let t0 = t0.context("the storm was called off")?;
            let deadline = t0 + limit;
            let k = i as usize;
            tokio::time::timeout_at(
                deadline.into(),
                r.connect(&devices[k], &templates[k], i, local),
            )
            .await
            .context("not admitted within the time limit")?
        }));
    }
    while ready.load(Ordering::Relaxed) < tasks.len() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if let Some(ms) = std::env::var("STORM_HOLD_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        // Time to attach a profiler to the gateway (`perf record -p PID`) before the storm.
        eprintln!("gateway pid {pid}; the storm begins in {ms} ms");
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let perf = perf_control();
    perf("enable");
    let gen_before = own_cpu_s();
    let machine_before = machine_cpu_s();
    let threads_before = thread_times(pid);
    let t0 = Instant::now();
    go_tx.send_replace(Some(t0));

    let mut held = Vec::with_capacity(tasks.len());
    let (mut first, mut last) = (None::<Instant>, None::<Instant>);
    let (mut retries, mut errors, mut retried_devices) = (0u64, 0u64, 0u64);
    let mut connect_us = Vec::with_capacity(tasks.len());
    let mut admitted_us = Vec::with_capacity(tasks.len());
    for t in tasks {
        match t.await? {
            Ok(a) => {
                first = Some(first.map_or(a.started, |f| f.min(a.started)));
                last = Some(last.map_or(a.admitted, |l| l.max(a.admitted)));
                retries += u64::from(a.retries);
                retried_devices += u64::from(a.retries > 0);
                connect_us.push(us(a.admitted - a.started));
                admitted_us.push(us(a.admitted - t0));
                held.push(a.ws);
            }
            Err(e) => {
                if errors < 3 {
                    eprintln!("storm: {e:#}");
                }
                errors += 1;
            }
        }
    }
    perf("disable");
    let gen_cpu = own_cpu_s() - gen_before;
    let after = usage(Some(pid));
    let machine_after = machine_cpu_s();
    let threads_after = thread_times(pid);
    let wall = t0.elapsed().as_secs_f64();
    let peak = peak_rss_kib(pid);
    let listen_after = listen_counters();
    let all_s = match (first, last) {
        (Some(f), Some(l)) => (l - f).as_secs_f64(),
        _ => f64::NAN,
    };
    connect_us.sort_unstable();
    admitted_us.sort_unstable();
    let ok = held.len() as u64;
    report(
        s.label.clone(),
        Measured {
            devices: s.devices,
            sources: s.sources,
            auth: s.auth,
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
        },
        s.json,
    );
    drop(held);
    drop(g);
    Ok(())
}
