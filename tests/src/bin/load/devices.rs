//! Paired OpenClaw-style devices coming back (SPEC §11): the node connect cell (`--mode connect`)
//! and the reconnect storm (`--mode storm`).
//!
//! Both start their own gateway (`--spawn`) on a state directory written beforehand with the paired
//! devices ([`pairing_tests::bench::write_state`]: `nodes/paired.json` serialised from
//! `PairedNode`), as a gateway that paired them and was then restarted would find it. A device comes
//! back as an OpenClaw 2026.9.6 node host does: a new socket (from its own loopback address), the
//! challenge, `connect` with protocol 4, role `node`, its v3 proof and `auth.token` = the gateway token
//! or `auth.deviceToken` = its device token (`--auth`), answered `hello-ok`. An HTTP 503 to the
//! upgrade (our gateway admits 64 handshakes per source address at once) is retried after
//! `--retry-ms` (plus up to as much jitter) and counted.

use super::raw::{RawSocket, is_503};
use super::{Lat, Outcome, Plan, Usage, micros, pct, usage};
use anyhow::Context;
use pairing_host::driver::now_ms;
use pairing_tests::bench::{ConnectTemplate, Device, NodeAuth};
use pairing_tests::client::WAIT;
use serde_json::{Value, json};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Read buffer a node's socket starts with (a `hello-ok` is under 2 KiB; it grows if needed).
const NODE_BUF: usize = 4096;

/// Most 503 answers one device retries before it counts as an error.
const MAX_RETRIES: u32 = 1000;

/// How devices come back: where, with which credential, how long to wait after a 503.
pub struct Reconnect {
    pub url: String,
    pub gateway_token: String,
    pub auth: NodeAuth,
    pub retry: Duration,
}

/// One device admitted: its socket (still open), how many 503s it retried, when its first attempt
/// began and when its `hello-ok` arrived.
pub struct Admitted {
    pub ws: RawSocket,
    pub retries: u32,
    pub started: Instant,
    pub admitted: Instant,
}

impl Reconnect {
    /// Every device's `connect`, prepared before the clock starts.
    pub fn templates(&self, devices: &[Device]) -> Vec<ConnectTemplate> {
        devices
            .iter()
            .map(|d| d.connect_template(self.auth, &self.gateway_token))
            .collect()
    }

    /// The `i`-th device (`d`, its prepared `connect` `t`) comes back from `local`: socket, upgrade
    /// (503s retried), challenge, `connect`, `hello-ok`.
    pub async fn connect(
        &self,
        d: &Device,
        t: &ConnectTemplate,
        i: u64,
        local: IpAddr,
    ) -> anyhow::Result<Admitted> {
        let started = Instant::now();
        let mut retries = 0;
        let mut ws = loop {
            match RawSocket::connect_from(&self.url, local, NODE_BUF).await {
                Ok(ws) => break ws,
                Err(e) if is_503(&e) && retries < MAX_RETRIES => {
                    retries += 1;
                    // Jitter from the device's index, so retried devices do not come back in step.
                    let ms = self.retry.as_millis() as u64;
                    let jitter = (i.wrapping_mul(2_654_435_761) >> 7) % ms.max(1);
                    tokio::time::sleep(Duration::from_millis(ms + jitter)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let m = ws.next_message().await?;
        let challenge: Value = serde_json::from_slice(&ws.buf[m])?;
        let nonce = challenge["payload"]["nonce"]
            .as_str()
            .context("first frame is connect.challenge")?
            .to_owned();
        let frame = t.frame(&d.key, &nonce, now_ms());
        ws.send_text(&frame).await?;
        loop {
            let m = ws.next_message().await?;
            let text = &ws.buf[m];
            if super::looks_like_event(text) {
                continue;
            }
            // Admitted without parsing the whole hello-ok (this process shares the cores with the
            // gateway); anything else is parsed for the error.
            let has = |s: &str| text.windows(s.len()).any(|w| w == s.as_bytes());
            if has(r#""ok":true"#) && has(r#""type":"hello-ok""#) {
                return Ok(Admitted {
                    ws,
                    retries,
                    started,
                    admitted: Instant::now(),
                });
            }
            let f: Value = serde_json::from_slice(text)?;
            anyhow::bail!("connect of {} refused: {}", d.id, f["error"]);
        }
    }
}

/// The node connect cell: `C` workers, each flow one paired device coming back (device `i` of
/// `devices`), admitted, and closed. The latency is the client's, socket to `hello-ok`.
pub async fn connect_cell(
    plan: Arc<Plan>,
    r: Arc<Reconnect>,
    devices: Arc<Vec<Device>>,
    connections: usize,
) -> anyhow::Result<Outcome> {
    let templates = Arc::new(r.templates(&devices));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (plan, r, devices) = (plan.clone(), r.clone(), devices.clone());
        let templates = templates.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Lat::new();
            let mut retries = 0u64;
            while let Some(i) = plan.take() {
                let k = (i % devices.len() as u64) as usize;
                let t = Instant::now();
                let connect = r.connect(&devices[k], &templates[k], i, plan.source(i));
                match tokio::time::timeout(WAIT, connect).await {
                    Ok(Ok(a)) => {
                        lat.entry("connect").or_default().push(micros(t));
                        retries += u64::from(a.retries);
                    }
                    Ok(Err(e)) => plan.error(&e),
                    Err(_) => plan.error(&anyhow::anyhow!("no hello-ok within the wait")),
                }
            }
            (lat, retries)
        }));
    }
    let mut lat = Lat::new();
    let mut retries = 0;
    for t in tasks {
        let (l, r) = t.await?;
        retries += r;
        for (k, v) in l {
            lat.entry(k).or_default().extend(v);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    for v in lat.values_mut() {
        v.sort_unstable();
    }
    Ok(Outcome {
        mode: match r.auth {
            NodeAuth::GatewayToken => "connect (auth.token)",
            NodeAuth::DeviceToken => "connect (auth.deviceToken)",
        },
        flows: plan.next.load(Ordering::Relaxed).min(plan.flows),
        errors: plan.errors.load(Ordering::Relaxed),
        secs,
        lat,
        held: 0,
        retries: Some(retries),
    })
}

/// The soft limit on open files of this process (the gateway it starts inherits it).
pub fn open_files_limit() -> Option<(u64, String)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut f = line["Max open files".len()..].split_whitespace();
    let soft = f.next()?;
    let hard = f.next()?.to_owned();
    Some((soft.parse().unwrap_or(u64::MAX), hard))
}

/// Counters of `/proc/net/netstat` (`TcpExt`) that say whether the listen queue overflowed.
fn listen_counters() -> Vec<(String, u64)> {
    const NAMES: [&str; 5] = [
        "ListenOverflows",
        "ListenDrops",
        "TCPReqQFullDoCookies",
        "TCPReqQFullDrop",
        "SyncookiesSent",
    ];
    let text = std::fs::read_to_string("/proc/net/netstat").unwrap_or_default();
    let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return Vec::new();
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .filter(|(n, _)| NAMES.contains(n))
        .map(|(n, v)| (n.to_owned(), v.parse().unwrap_or(0)))
        .collect()
}

/// Machine-wide CPU seconds from `/proc/stat`: (busy = user + nice + system + irq + softirq +
/// steal, iowait), at USER_HZ = 100.
fn machine_cpu_s() -> (f64, f64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = text
        .lines()
        .find(|l| l.starts_with("cpu "))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let at = |i: usize| f.get(i).copied().unwrap_or(0) as f64 / 100.0;
    (at(0) + at(1) + at(2) + at(5) + at(6) + at(7), at(4))
}

/// Per thread name of process `pid`: (ns on a CPU, ns runnable but waiting for one), summed over
/// its threads of that name (`/proc/PID/task/*/schedstat`).
fn thread_times(pid: u32) -> std::collections::BTreeMap<String, (u64, u64)> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in dir.flatten() {
        let path = t.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let sched = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
        let mut f = sched
            .split_whitespace()
            .map(|x| x.parse::<u64>().unwrap_or(0));
        let (run, wait) = (f.next().unwrap_or(0), f.next().unwrap_or(0));
        let e: &mut (u64, u64) = out.entry(comm.trim().to_owned()).or_default();
        e.0 += run;
        e.1 += wait;
    }
    out
}

/// Peak resident set (`VmHWM`, KiB) of a process.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU seconds (utime + stime) of this process alone (the gateway is its child).
fn own_cpu_s() -> f64 {
    super::stat_fields(std::process::id()).map_or(0.0, |f| {
        let ticks: u64 = f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
        ticks as f64 / 100.0
    })
}

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
pub struct Storm {
    pub devices: u64,
    pub sources: u16,
    pub auth: NodeAuth,
    pub retry: Duration,
    pub last_seen_ms: u64,
    pub time_limit: Duration,
    pub openclaw: String,
    pub label: Option<String>,
    pub json: bool,
}

/// The reconnect storm: `devices` paired devices written into a fresh state directory, the gateway
/// started on it (the restart), then every device comes back at once, spread over `sources` loopback
/// addresses; every socket stays open until all are admitted.
pub async fn storm(s: &Storm) -> anyhow::Result<()> {
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
    let g = super::spawn_gateway_in(&s.openclaw, state)?;
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
        let local = super::source_address(i % sources);
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

    let label = s
        .label
        .clone()
        .unwrap_or_else(|| format!("storm {} ({})", s.devices, s.auth.name()));
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
        s.sources
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
        s.devices,
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
    if s.json {
        let j = json!({
            "label": label, "mode": "storm", "auth": s.auth.name(), "devices": s.devices,
            "ok": ok, "errors": errors, "sources": s.sources, "retries": retries,
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
    drop(held);
    drop(g);
    Ok(())
}

fn us(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}
