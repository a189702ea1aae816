//! Crash safety of the real binary: start `openclaw gateway`, drive bursts of approvals on 8
//! connections, SIGKILL it at an instant that varies by round, restart, and check that the state loads
//! and every approval that was acknowledged still verifies. `CRASH_ROUNDS=N` sets the number of kills
//! (default 100). At the end the audit trail must verify as one chain and hold exactly one `approved`
//! entry for every acknowledged approval.

use pairing_core::audit::Action;
use pairing_tests::client::Client;
use pairing_tests::process::GatewayProcess;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Acked = Arc<Mutex<Vec<(String, String)>>>;

/// Runs flows on 8 connections until the gateway dies; returns the first error that was not the
/// gateway going away, if any (a broken test setup must not pass as "zero approvals").
async fn burst(url: String, token: String, round: u32, acked: Acked) -> Option<String> {
    let mut tasks = Vec::new();
    for c in 0..8 {
        let (acked, url, token) = (acked.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut op = Client::operator(&url, &token, &["operator.admin"]).await?;
            for i in 0.. {
                let node = format!("r{round}-c{c}-n{i}");
                let r = op.pair_request(&node).await?;
                let a = op.approve_id(r.request.request_id.as_str()).await?;
                let t = a.node.token.map(|t| t.expose().to_owned());
                let t = t.unwrap_or_default();
                acked.lock().expect("lock").push((node, t));
            }
            anyhow::Ok(())
        }));
    }
    let mut first = None;
    for t in tasks {
        if let Ok(Err(e)) = t.await
            && first.is_none()
        {
            first = Some(format!("{e:#}"));
        }
    }
    first
}

/// Checks that every acknowledged approval still verifies; `when` names the kill for the message.
async fn all_verify(
    url: &str,
    token: &str,
    acked: &[(String, String)],
    when: &str,
) -> anyhow::Result<()> {
    let mut op = Client::operator(url, token, &["operator.pairing"]).await?;
    for (node, t) in acked {
        let v = op.verify(node, t).await?;
        anyhow::ensure!(v.ok, "acknowledged approval of {node} lost by {when}");
    }
    Ok(())
}

#[test]
fn sigkill_at_random_instants_loses_no_acknowledged_approval() -> anyhow::Result<()> {
    let rounds: u32 = std::env::var("CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let rt = tokio::runtime::Runtime::new()?;
    let mut previous: Vec<(String, String)> = Vec::new();
    let mut every_acked: Vec<String> = Vec::new();
    let mut total = 0usize;
    for round in 0..rounds {
        // Each kill strands up to 8 unapproved requests; a short TTL keeps them from piling up to the
        // 512-pending limit over hundreds of rounds.
        let gw = GatewayProcess::start(&state, &["--pending-ttl", "3s"])?;
        let (url, token) = (gw.url.clone(), gw.token());
        // Everything acknowledged before the last kill must have survived it.
        rt.block_on(all_verify(
            &url,
            &token,
            &previous,
            &format!("the kill before round {round}"),
        ))?;
        let acked: Acked = Arc::default();
        let task = rt.spawn(burst(url, token, round, acked.clone()));
        // A kill instant that varies by round: after 1 to 64 acknowledgements, plus 0-3 ms.
        let target = 1 + (round as usize * 37) % 64;
        let start = Instant::now();
        while acked.lock().expect("lock").len() < target
            && start.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_micros(200));
        }
        std::thread::sleep(Duration::from_micros(u64::from(round % 4) * 1000));
        gw.kill()?;
        let _ = rt.block_on(task);
        previous = acked.lock().expect("lock").clone();
        anyhow::ensure!(
            previous.len() >= target,
            "only {} approvals before the kill in round {round}",
            previous.len()
        );
        total += previous.len();
        every_acked.extend(previous.iter().map(|(node, _)| node.clone()));
    }
    let gw = GatewayProcess::start(&state, &[])?;
    rt.block_on(all_verify(&gw.url, &gw.token(), &previous, "the last kill"))?;
    assert!(gw.stop()?.success());
    let nodes = state.join("nodes");
    let v = pairing_host::audit_log::verify(&nodes)?;
    anyhow::ensure!(
        v.broken.is_none() && v.torn.is_none(),
        "audit trail after {rounds} kills: {:?} {:?}",
        v.broken,
        v.torn
    );
    let (entries, unreadable) = pairing_host::audit_log::read_all(&nodes)?;
    anyhow::ensure!(unreadable.is_empty(), "unreadable audit lines");
    let mut approved: std::collections::HashMap<&str, usize> = Default::default();
    for e in entries
        .iter()
        .filter(|e| e.action == Action::Approved.as_str())
    {
        *approved.entry(e.node_id.as_str()).or_default() += 1;
    }
    for node in &every_acked {
        let n = approved.get(node.as_str()).copied().unwrap_or(0);
        anyhow::ensure!(
            n == 1,
            "acknowledged approval of {node} has {n} audit entries"
        );
    }
    eprintln!(
        "{rounds} SIGKILLs, {total} acknowledged approvals, none lost; audit trail of {} entries verifies",
        v.entries
    );
    Ok(())
}
