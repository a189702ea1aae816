//! Loopback load generator: full pairing flows through a running gateway.
//!
//! Each flow is three calls on one operator connection: `node.pair.request` for a fresh node id,
//! `node.pair.approve`, and `node.pair.verify` with the token from the approve result. `C` connections
//! run flows concurrently until `N` flows are done. Reports flows/s, p50/p99 per call, errors, and the
//! gateway's RSS (from `/proc/<pid>/status`) before and after.
//!
//! ```text
//! load --url ws://127.0.0.1:18789/ --token T [--pid PID] [-c 32] [-n 5000] [--prefill 10000]
//! load --matrix [--openclaw target/release/openclaw]     # spawns a fresh gateway per cell
//! ```

use anyhow::{Context, bail};
use pairing_tests::client::Client;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct Args {
    url: Option<String>,
    token: Option<String>,
    pid: Option<u32>,
    connections: usize,
    flows: u64,
    prefill: u64,
    matrix: bool,
    openclaw: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        url: None,
        token: None,
        pid: None,
        connections: 32,
        flows: 5000,
        prefill: 0,
        matrix: false,
        openclaw: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().context("missing value");
        match arg.as_str() {
            "--url" => a.url = Some(val()?),
            "--token" => a.token = Some(val()?),
            "--pid" => a.pid = Some(val()?.parse()?),
            "-c" | "--connections" => a.connections = val()?.parse()?,
            "-n" | "--flows" => a.flows = val()?.parse()?,
            "--prefill" => a.prefill = val()?.parse()?,
            "--matrix" => a.matrix = true,
            "--openclaw" => a.openclaw = Some(val()?),
            "-h" | "--help" => {
                println!(
                    "usage: load --url URL --token T [--pid PID] [-c C] [-n N] [--prefill P]\n       load --matrix [--openclaw PATH]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

/// Resident memory of a process in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[derive(Default)]
struct Latencies {
    request: Vec<u32>,
    approve: Vec<u32>,
    verify: Vec<u32>,
}

fn pct(v: &mut [u32], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    f64::from(v[i]) / 1000.0
}

async fn timed(
    c: &mut Client,
    method: &str,
    params: serde_json::Value,
    into: &mut Vec<u32>,
) -> anyhow::Result<serde_json::Value> {
    let t = Instant::now();
    let r = c.call(method, params).await;
    into.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
    r
}

struct Outcome {
    flows: u64,
    errors: u64,
    secs: f64,
    lat: Latencies,
}

async fn run_flows(
    url: &str,
    token: &str,
    connections: usize,
    flows: u64,
    prefix: &str,
) -> anyhow::Result<Outcome> {
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..connections {
        clients.push(Client::operator(url, token, &["operator.admin"]).await?);
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for mut c in clients {
        let (next, errors, prefix) = (next.clone(), errors.clone(), prefix.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut lat = Latencies::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= flows {
                    break;
                }
                let node = format!("{prefix}-{i}");
                let flow = async {
                    let r = timed(
                        &mut c,
                        "node.pair.request",
                        json!({"nodeId": node}),
                        &mut lat.request,
                    )
                    .await?;
                    let a = timed(
                        &mut c,
                        "node.pair.approve",
                        json!({"requestId": r["request"]["requestId"]}),
                        &mut lat.approve,
                    )
                    .await?;
                    let v = timed(
                        &mut c,
                        "node.pair.verify",
                        json!({"nodeId": node, "token": a["node"]["token"]}),
                        &mut lat.verify,
                    )
                    .await?;
                    anyhow::ensure!(v["ok"] == true, "verify failed");
                    anyhow::Ok(())
                };
                if let Err(e) = flow.await
                    && errors.fetch_add(1, Ordering::Relaxed) < 3
                {
                    eprintln!("flow error: {e:#}");
                }
            }
            lat
        }));
    }
    let mut lat = Latencies::default();
    for t in tasks {
        let l = t.await?;
        lat.request.extend(l.request);
        lat.approve.extend(l.approve);
        lat.verify.extend(l.verify);
    }
    Ok(Outcome {
        flows,
        errors: errors.load(Ordering::Relaxed),
        secs: start.elapsed().as_secs_f64(),
        lat,
    })
}

fn report(label: &str, o: &mut Outcome, rss: (Option<u64>, Option<u64>)) {
    let ok = o.flows - o.errors;
    println!(
        "{label:<26} {:>9.0} flows/s  request p50 {:>6.2} p99 {:>6.2}  approve p50 {:>6.2} p99 {:>6.2}  verify p50 {:>6.2} p99 {:>6.2} ms  errors {}  RSS {} → {} KiB",
        ok as f64 / o.secs,
        pct(&mut o.lat.request, 0.5),
        pct(&mut o.lat.request, 0.99),
        pct(&mut o.lat.approve, 0.5),
        pct(&mut o.lat.approve, 0.99),
        pct(&mut o.lat.verify, 0.5),
        pct(&mut o.lat.verify, 0.99),
        o.errors,
        rss.0.map_or("?".into(), |v| v.to_string()),
        rss.1.map_or("?".into(), |v| v.to_string()),
    );
}

struct Spawned {
    child: Child,
    url: String,
    token: String,
    _state: tempfile::TempDir,
}

fn spawn_gateway(openclaw: &str) -> anyhow::Result<Spawned> {
    let state = tempfile::tempdir()?;
    let mut child = Command::new(openclaw)
        .args(["gateway", "--port", "0"])
        .env("OPENCLAW_STATE_DIR", state.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {openclaw}"))?;
    let stdout = child.stdout.take().context("stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    // Keep reading the gateway's stdout so it never writes into a closed pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(i) = line.find("ws://") {
                let _ = tx.send(line[i..].split_whitespace().next().unwrap_or("").to_owned());
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(20)).ok();
    let url = url.context("the gateway printed no ws:// URL")?;
    let token = pairing_host::gateway_config::read(state.path())?
        .and_then(|g| g.token)
        .context("no token in openclaw.json")?;
    Ok(Spawned {
        child,
        url,
        token,
        _state: state,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = parse_args()?;
    if a.matrix {
        let openclaw = a.openclaw.clone().unwrap_or_else(|| {
            let exe = std::env::current_exe().expect("own path");
            exe.with_file_name("openclaw").display().to_string()
        });
        println!(
            "full flows (request → approve → verify) through `openclaw gateway` with the file store, fresh state per row"
        );
        for (paired, c) in [(100u64, 1usize), (100, 32), (10_000, 1), (10_000, 32)] {
            let mut g = spawn_gateway(&openclaw)?;
            run_flows(&g.url, &g.token, 32, paired, "prefill").await?;
            let pid = g.child.id();
            let before = rss_kib(pid);
            let flows = if c == 1 { 1000 } else { 5000 };
            let mut o = run_flows(&g.url, &g.token, c, flows, "bench").await?;
            report(
                &format!("paired {paired:>6}, C={c:<3}"),
                &mut o,
                (before, rss_kib(pid)),
            );
            let _ = g.child.kill();
            let _ = g.child.wait();
        }
        return Ok(());
    }
    let (Some(url), Some(token)) = (a.url.clone(), a.token.clone()) else {
        bail!("give --url and --token (or --matrix)");
    };
    if a.prefill > 0 {
        run_flows(&url, &token, 32, a.prefill, "prefill").await?;
    }
    let before = a.pid.and_then(rss_kib);
    let mut o = run_flows(&url, &token, a.connections, a.flows, "bench").await?;
    tokio::time::sleep(Duration::from_millis(10)).await;
    report(
        &format!("C={}", a.connections),
        &mut o,
        (before, a.pid.and_then(rss_kib)),
    );
    Ok(())
}
