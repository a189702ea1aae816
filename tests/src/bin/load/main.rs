//! Loopback load generator: full pairing flows through a running gateway (ours or OpenClaw's).
//!
//! Modes (`--mode`):
//! - `operator` (default): each flow is three calls on one operator connection: `node.pair.request`
//!   for a fresh node id, `node.pair.approve`, and `node.pair.verify` with the token from the approve
//!   result. `C` connections run flows concurrently until `N` flows are done.
//! - `node`: each flow is a real node: a new socket, `connect` with an Ed25519 device proof,
//!   `node.pair.request` sent by the node itself, `node.pair.approve` by the worker's operator, the
//!   token delivered to the node (`node.pair.resolved`), the node's own `node.pair.verify`, close.
//!   Against OpenClaw 2026.4.12 a node may not call `node.pair.*` (operator scope only): the gateway
//!   itself creates the request while the node connects, so the operator waits for
//!   `node.pair.requested` for that node id, approves, and verifies with the token from the approve
//!   result. This is detected from the first refusal (`unauthorized role: node`) and reported as `node-gw`.
//! - `hold`: `N` nodes connect (Ed25519 proofs, `C` at a time) and stay connected; reports the
//!   gateway's RSS per connected node.
//! - `connect` (with `--spawn`): `N` devices paired through device pairing are written into the fresh
//!   gateway's state before it starts; each flow is one of them coming back as an OpenClaw 2026.9.6
//!   node host does (protocol 4, v3 proof, `--auth token` = the gateway token in `auth.token`, or
//!   `--auth device-token` = its device token in `auth.deviceToken`) until `hello-ok`, then closing;
//!   `C` at a time, from `--sources` addresses (default 32). See `load/reconnect.rs`.
//! - `storm`: the reconnect storm: `N` paired devices written into a fresh state directory, the
//!   gateway started on it (the restart), and all `N` come back at once from `--sources` loopback
//!   addresses (default 200) and stay connected; reports the time until every one is admitted, each
//!   connect's latency, 503 retries, the gateway's CPU and peak RSS.
//!
//! Operators always present a signed device identity like the OpenClaw CLI (client id `cli`, its
//! default scopes): OpenClaw clears the scopes of an operator without one. One key per run, so
//! OpenClaw pairs that device once (silently, loopback) on the first connection.
//!
//! Reports flows/s, p50/p95/p99 per call, errors, and the gateway's RSS (`/proc/<pid>/status`) and
//! CPU seconds (`/proc/<pid>/stat` utime+stime), summed over the process and its children, before and
//! after. `--json` adds one `RESULT {…}` line for scripts.
//!
//! `load --help` lists every flag.
//!
//! ```text
//! load --url ws://127.0.0.1:18789/ --token T [--pid PID] [--mode operator|node|hold] [-c 32] [-n 5000]
//!      [--prefill 10000] [--sources K] [--time-limit SECS] [--label L] [--json]
//! load --spawn [-c 256] [-n 5000] [--prefill 1000] …    # one run against a fresh gateway it starts
//! load --spawn --mode connect [--auth token|device-token] [-c 32] [-n 10000] [--sources 32]
//! load --mode storm [--auth token|device-token] [-n 10000] [--sources 200] [--retry-ms 50] [--last-seen 3600]
//! load --matrix [--openclaw target/release/openclaw]     # spawns a fresh gateway per cell
//! ```

//!
//! Modules: [`args`] (the command line), [`plan`] (what the workers share), [`operator`] (operator
//! connections), [`flows`] (operator, node and hold flows), [`reconnect`] (paired devices coming back,
//! `connect`), [`storm`] and [`storm_report`], [`raw`] (the WebSocket client), [`spawn`] (a gateway
//! of its own), [`procfs`] (usage from `/proc`), [`latency`] and [`mod@report`].

mod args;
mod flows;
mod latency;
mod operator;
mod plan;
mod procfs;
mod raw;
mod reconnect;
mod report;
mod spawn;
mod storm;
mod storm_report;

use anyhow::{Context, bail};
use args::{Args, Mode};
use clap::Parser;
use pairing_tests::bench::Device;
use plan::Plan;
use procfs::usage;
use report::report;
use spawn::{spawn_gateway, spawn_gateway_in};
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut a = Args::parse();
    let openclaw = a.openclaw();
    if a.matrix {
        println!(
            "full flows (request → approve → verify) through `openclaw gateway` with the file store, fresh state per row"
        );
        for (paired, c) in [(100u64, 1usize), (100, 32), (10_000, 1), (10_000, 32)] {
            let g = spawn_gateway(&openclaw)?;
            let p = Plan::new(&g.url, &g.token, paired, "prefill", 0, None);
            flows::run(p, Mode::Operator, 32).await?;
            let pid = Some(g.child.id());
            let before = usage(pid);
            let n = if c == 1 { 1000 } else { 5000 };
            let p = Plan::new(&g.url, &g.token, n, "bench", 0, None);
            let o = flows::run(p, Mode::Operator, c).await?;
            report(
                &format!("paired {paired:>6}, C={c:<3}"),
                &o,
                before,
                usage(pid),
                a.json,
            );
            drop(g);
        }
        return Ok(());
    }
    let sources = a.sources();
    if a.mode == Mode::Storm {
        return storm::storm(&storm::Storm {
            devices: a.flows,
            sources,
            auth: a.auth,
            retry: Duration::from_millis(a.retry_ms),
            last_seen_ms: a.last_seen_ms(),
            time_limit: Duration::from_secs_f64(a.time_limit.unwrap_or(60.0)),
            openclaw,
            label: a.label.clone(),
            json: a.json,
        })
        .await;
    }
    if a.mode == Mode::Connect {
        anyhow::ensure!(
            a.spawn && a.prefill == 0,
            "--mode connect needs --spawn (its paired devices are written into the gateway's state \
             before it starts) and no --prefill"
        );
    }
    // With --spawn the gateway lives until the end of main (dropped there, then killed).
    let mut spawned = None;
    let mut paired_devices = None;
    if a.spawn {
        let g = if a.mode == Mode::Connect {
            let d = Device::many("connect", a.flows.max(1));
            let state = tempfile::tempdir()?;
            let now = pairing_host::driver::now_ms();
            pairing_tests::bench::write_state(state.path(), &d, now, a.last_seen_ms())?;
            paired_devices = Some(Arc::new(d));
            spawn_gateway_in(&openclaw, state)?
        } else {
            spawn_gateway(&openclaw)?
        };
        a.url = Some(g.url.clone());
        a.token = Some(g.token.clone());
        a.pid = Some(g.child.id());
        spawned = Some(g);
    }
    let (Some(url), Some(token)) = (a.url.clone(), a.token.clone()) else {
        bail!("give --url and --token (or --spawn, or --matrix); see --help");
    };
    // Distinct ids per run, so a run against a gateway that already has state never collides.
    let run_id = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    if a.prefill > 0 {
        let p = Plan::new(
            &url,
            &token,
            a.prefill,
            &format!("prefill-{run_id}"),
            0,
            None,
        );
        let o = flows::run(p, Mode::Operator, 32).await?;
        eprintln!(
            "prefilled {} paired nodes in {:.1} s ({} errors)",
            o.flows, o.secs, o.errors
        );
    }
    let before = usage(a.pid);
    let p = Plan::new(
        &url,
        &token,
        a.flows,
        &format!("bench-{run_id}"),
        sources,
        a.time_limit,
    );
    let p = Arc::new(Plan {
        node_token: a.node_token,
        ..Arc::into_inner(p).context("fresh plan")?
    });
    let o = match paired_devices {
        Some(d) => {
            let r = reconnect::Reconnect {
                url: url.clone(),
                gateway_token: token.clone(),
                auth: a.auth,
                retry: Duration::from_millis(a.retry_ms),
            };
            reconnect::connect_cell(p, Arc::new(r), d, a.connections).await?
        }
        None => flows::run(p, a.mode, a.connections).await?,
    };
    if a.mode == Mode::Hold {
        // Let the gateway settle (handshake buffers freed, allocator quiet) before reading its RSS.
        tokio::time::sleep(Duration::from_secs(2)).await;
    } else {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let after = usage(a.pid);
    let label = a
        .label
        .clone()
        .unwrap_or_else(|| format!("C={}", a.connections));
    report(&label, &o, before, after, a.json);
    flows::release_held();
    drop(spawned);
    Ok(())
}
