//! Issue #14 item 3 against the real gateway over loopback: one device connecting as fast as it can
//! with the gateway token, alternating its key between base64url and standard base64 and its command
//! list between two sets — each connect would supersede the last request. Counts the requests made,
//! the events operators got and the audit entries written, and checks the gateway's log has one line
//! per request and one for the rate-limited flood, never a token.
//!
//! `OPENCLAW_FLOOD_SECS` (default 3) sets how long the device floods; the figure in RELIABILITY.md
//! comes from `OPENCLAW_FLOOD_SECS=10 cargo test -p pairing-tests --test tests request_flood --
//! --nocapture`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use pairing_core::audit::{Action, read_line};
use pairing_core::protocol::ErrorCode;
use pairing_tests::client::{Client, NodeHost, event};
use pairing_tests::process::GatewayProcess;
use std::time::{Duration, Instant};

#[test]
fn one_device_cannot_flood_requests_by_changing_its_key_encoding_or_commands() -> anyhow::Result<()>
{
    let secs: u64 = std::env::var("OPENCLAW_FLOOD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw = GatewayProcess::start(&state, &[])?;
    let (url, token) = (gw.url.clone(), gw.token());
    let key = [77u8; 32];
    let rt = tokio::runtime::Runtime::new()?;
    let (connects, limited, requested, events, elapsed) = rt.block_on(async {
        let mut op = Client::operator(&url, &token, &["operator.pairing"]).await?;
        let (mut connects, mut limited) = (0u64, 0u64);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(secs) {
            let commands: &[&str] = if connects % 4 < 2 {
                &["canvas.present"]
            } else {
                &["canvas.present", "camera.snap"]
            };
            let host = NodeHost {
                token: &token,
                protocol: 4,
                display_name: "flooder",
                commands,
            };
            let mut c = Client::open(&url).await?;
            let mut params = host.params(&key, &c.nonce);
            if connects % 2 == 1
                && let Some(device) = params.device.as_mut()
            {
                let raw = URL_SAFE_NO_PAD.decode(&device.public_key)?;
                device.public_key = STANDARD.encode(raw);
            }
            match c.connect(&params).await? {
                Err(e) if e.code == ErrorCode::RateLimited => {
                    anyhow::ensure!(e.retry_after_ms.is_some(), "{e:?}");
                    limited += 1;
                }
                Err(e) if e.code == ErrorCode::NotPaired => {}
                answer => anyhow::bail!("unexpected answer: {answer:?}"),
            }
            connects += 1;
        }
        let elapsed = start.elapsed();
        // Every event sent before this answer has arrived by now.
        op.pair_list().await?;
        let requested = op.kept(event::REQUESTED) as u64;
        let events = (op.events.len() - op.kept(event::TICK)) as u64;
        Ok::<_, anyhow::Error>((connects, limited, requested, events, elapsed))
    })?;
    let audit = std::fs::read_to_string(state.join("nodes").join("audit.jsonl"))?;
    let audited = audit
        .lines()
        .filter(|l| read_line(l).is_ok_and(|e| e.action == Action::Requested.as_str()))
        .count() as u64;
    let rate = |n: u64| n as f64 / elapsed.as_secs_f64();
    eprintln!(
        "request flood: {connects} connects in {elapsed:.1?} ({:.0}/s), {limited} rate-limited; \
         {requested} requests made ({:.2}/s), {events} events to an operator, {audited} audit entries",
        rate(connects),
        rate(requested),
    );
    // A burst of 4, then one per 15 s.
    let bound = 4 + elapsed.as_secs() / 15 + 1;
    assert!(requested <= bound, "{requested} requests (bound {bound})");
    assert_eq!(audited, requested);
    assert!(events <= 4 * bound, "{events} events");
    assert!(limited > 0 && connects > 2 * bound);

    assert!(gw.stop()?.success());
    let log = std::fs::read_to_string(state.with_extension("log"))?;
    let created = log
        .lines()
        .filter(|l| l.contains("pairing request") && l.contains("created"))
        .count() as u64;
    assert_eq!(created, requested, "one log line per request");
    let flooded = log
        .lines()
        .filter(|l| l.contains("pairing requests of node") && l.contains("rate-limited"))
        .count() as u64;
    assert!(
        (1..=elapsed.as_secs() / 15 + 2).contains(&flooded),
        "{flooded} rate-limited lines"
    );
    assert!(
        log.lines()
            .filter(|l| l.contains("pairing request"))
            .all(|l| !l.contains(&token)),
        "a pairing line shows the gateway token"
    );
    Ok(())
}
