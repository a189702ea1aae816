//! Floods of sockets that never finish: idle TCP, idle WebSockets, partial frames, and sockets that
//! keep sending after the gateway closed them.

use super::{
    addr_of, client_frame_header, close_code, dropped_while_sending, flood_size, open_files,
    source, tcp_from, upgrade,
};
use pairing_tests::process::{GatewayProcess, run_cli};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// Idle TCP, idle WebSockets (headers done, no `connect`) and partial frames, a third each, 40 per
/// attacker address, held while the operator's `openclaw nodes pending` runs. With
/// `--max-connections` below the flood, the oldest unauthenticated sockets make room.
#[test]
fn a_flood_of_hostile_sockets_does_not_lock_the_operator_out() -> anyhow::Result<()> {
    let n = flood_size();
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let cap = (n * 2 / 3).max(200).to_string();
    let gw = GatewayProcess::start_with_env(
        &state,
        &["--max-connections", &cap],
        &[("RUST_LOG", "warn")],
    )?;
    let addr = addr_of(&gw.url);
    let rt = tokio::runtime::Runtime::new()?;
    let rss_before = gw.rss_kib().unwrap_or(0);
    let mut held = Vec::new();
    let t_open = Instant::now();
    rt.block_on(async {
        for i in 0..n {
            let mut tcp = tcp_from(source(i / 40), addr).await?;
            match i % 3 {
                0 => {}
                1 => {
                    // Past the cap the attacker may be refused (503) or evicted: it holds on anyway.
                    let _ = upgrade(&mut tcp, &addr.to_string()).await?;
                }
                _ => {
                    // Evicted sockets may answer nothing: the attack goes on regardless.
                    let _ = upgrade(&mut tcp, &addr.to_string()).await?;
                    let mut frame = client_frame_header(1024 * 1024);
                    frame.extend(std::iter::repeat_n(b'a', 32 * 1024));
                    let _ = tcp.write_all(&frame).await;
                }
            }
            held.push(tcp);
        }
        anyhow::Ok(())
    })?;
    let pid = gw.child.id();
    let during = open_files(pid);
    eprintln!("flood opened in {:?}", t_open.elapsed());
    let t = Instant::now();
    let out = run_cli(&state, &["nodes", "pending"])?;
    let answered = t.elapsed();
    let rss = gw.rss_kib().unwrap_or(0);
    eprintln!(
        "hostile flood: {n} sockets held (cap {cap}), gateway open files {during}, RSS {rss_before} → \
         {rss} KiB; `openclaw nodes pending` answered in {answered:?}"
    );
    assert!(
        out.status.success(),
        "nodes pending failed under the flood: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cap: usize = cap.parse()?;
    // The cap, the evicted sockets still closing (at most MAX_EVICTING) and the gateway's own files.
    let bound = cap + pairing_host::accept::MAX_EVICTING + 32;
    assert!(
        during <= bound,
        "{during} open files with a cap of {cap} sockets"
    );
    drop(held);
    assert!(gw.stop()?.success());
    Ok(())
}

/// 300 sockets each send all but the last byte of a 1 MiB frame before the handshake: the gateway
/// reads no more than the handshake limit from each, closes them with 1009 and drops them.
#[test]
fn partial_frames_before_the_handshake_pin_no_memory() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw = GatewayProcess::start_with_env(&state, &[], &[("RUST_LOG", "warn")])?;
    let addr = addr_of(&gw.url);
    let rt = tokio::runtime::Runtime::new()?;
    let rss_before = gw.rss_kib().unwrap_or(0);
    let (codes, peak) = rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..300 {
            tasks.push(tokio::spawn(async move {
                let mut tcp = tcp_from(source(i / 40), addr).await?;
                let head = upgrade(&mut tcp, &addr.to_string()).await?;
                anyhow::ensure!(head.contains(" 101 "), "{head}");
                let len = 1024 * 1024;
                let mut frame = client_frame_header(len);
                frame.resize(frame.len() + len as usize - 1, b'a');
                // The gateway stops reading part way: the rest may not fit.
                let _ = tokio::time::timeout(Duration::from_secs(5), tcp.write_all(&frame)).await;
                let code = tokio::time::timeout(Duration::from_secs(10), close_code(&mut tcp))
                    .await
                    .unwrap_or(Ok(None))?;
                anyhow::Ok((code, tcp))
            }));
        }
        let mut codes = Vec::new();
        let mut held = Vec::new();
        for t in tasks {
            let (code, tcp) = t.await??;
            codes.push(code);
            held.push(tcp);
        }
        anyhow::Ok((codes, held))
    })?;
    let rss = gw.rss_kib().unwrap_or(0);
    eprintln!("partial frames: 300 sockets, gateway RSS {rss_before} → {rss} KiB");
    let closed_1009 = codes.iter().filter(|c| **c == Some(1009)).count();
    assert_eq!(closed_1009, 300, "{codes:?}");
    // Before: each socket buffered its ~1 MiB frame (300 sockets: +300 MiB).
    assert!(
        rss < rss_before + 64 * 1024,
        "RSS {rss_before} → {rss} KiB under 300 partial frames"
    );
    drop(peak);
    assert!(gw.stop()?.success());
    Ok(())
}

/// Rounds of 64 handshakes from one address that time out, the client keeping every socket open and
/// sending: the gateway drops each socket shortly after closing it, so its open files stay bounded and
/// the per-address cap is not walked around.
#[test]
fn closed_sockets_are_dropped_after_a_short_linger() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw = GatewayProcess::start_with_env(
        &state,
        &[],
        &[
            ("RUST_LOG", "warn"),
            ("OPENCLAW_HANDSHAKE_TIMEOUT_MS", "300"),
        ],
    )?;
    let addr = addr_of(&gw.url);
    let pid = gw.child.id();
    let rt = tokio::runtime::Runtime::new()?;
    let baseline = open_files(pid);
    let mut most = 0;
    rt.block_on(async {
        let mut kept = Vec::new();
        for _round in 0..4 {
            let mut round = Vec::new();
            for _ in 0..64 {
                let mut tcp = tcp_from(source(7), addr).await?;
                let head = upgrade(&mut tcp, &addr.to_string()).await?;
                anyhow::ensure!(head.contains(" 101 "), "{head}");
                round.push(tcp);
            }
            // The handshake deadline passes; the gateway closes them (1008) while they keep
            // sending: each is dropped after the linger.
            let checks = round
                .iter_mut()
                .map(|tcp| dropped_while_sending(tcp, Duration::from_secs(15)));
            let dropped = futures_util::future::join_all(checks)
                .await
                .into_iter()
                .filter(|d| *d)
                .count();
            anyhow::ensure!(
                dropped == 64,
                "only {dropped} of 64 closed sockets were dropped"
            );
            most = most.max(open_files(pid));
            kept.extend(round);
        }
        anyhow::Ok(())
    })?;
    eprintln!(
        "handshake rounds: gateway open files {baseline} at start, at most {most} after rounds"
    );
    assert!(
        most < baseline + 64,
        "open files grew from {baseline} to {most}"
    );
    assert!(gw.stop()?.success());
    Ok(())
}
