//! Floods over loopback against the real gateway: thousands of held connections, half-open sockets,
//! malformed and oversized frames, a pairing flood from one address. The gateway stays up, still answers
//! a fresh operator, keeps its memory bounded, and its state intact. Loopback only; bounded in count.

use pairing_core::protocol::ErrorCode;
use pairing_core::wire::Incoming;
use pairing_tests::client::{Client, by_node};
use pairing_tests::process::GatewayProcess;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

/// The soft limit on open files, to size the flood so both processes fit.
fn open_file_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))?
                .split_whitespace()
                .nth(3)?
                .parse()
                .ok()
        })
        .unwrap_or(1024)
}

fn lo(a: u8, b: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, a, b))
}

#[test]
fn floods_leave_the_gateway_serving_bounded_and_intact() -> anyhow::Result<()> {
    let held_target = 2000.min(open_file_limit().saturating_sub(400) / 2);
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw =
        GatewayProcess::start_with_env(&state, &[], &[("OPENCLAW_HANDSHAKE_TIMEOUT_MS", "1500")])?;
    let (url, token) = (gw.url.clone(), gw.token());
    let rt = tokio::runtime::Runtime::new()?;
    let rss_start = gw.rss_kib().unwrap_or(0);
    let report = rt.block_on(async {
        let mut op = Client::operator(&url, &token, &["operator.admin"]).await?;
        let r = op.pair_request("keeper").await?;
        let a = op.approve_id(r.request.request_id.as_str()).await?;
        let keeper_token = a.node.token.map(|t| t.expose().to_owned()).unwrap_or_default();

        // Thousands of operators held open, 50 per address.
        let mut held = Vec::new();
        for chunk in 0..held_target.div_ceil(100) {
            let mut tasks = Vec::new();
            for k in 0..100.min(held_target - chunk * 100) {
                let n = chunk * 100 + k;
                let (url, token) = (url.clone(), token.clone());
                let ip = lo(1, 2 + (n / 50) as u8);
                tasks.push(tokio::spawn(async move {
                    Client::operator_from(&url, ip, &token, &["operator.read"]).await
                }));
            }
            for t in tasks {
                held.push(t.await??);
            }
        }

        // Half-open: raw TCP that never speaks, and WebSockets that never send `connect`.
        let addr: std::net::SocketAddr = url.trim_start_matches("ws://").trim_end_matches('/').parse()?;
        let mut silent_tcp = Vec::new();
        for _ in 0..200 {
            silent_tcp.push(tokio::net::TcpStream::connect(addr).await?);
        }
        let mut silent_ws = Vec::new();
        for _ in 0..60 {
            silent_ws.push(Client::open_from(&url, lo(2, 1)).await?);
        }

        // Malformed and oversized frames: every such connection gets an error or is closed alone.
        let mut closed_oversize = 0;
        for i in 0..100u32 {
            let mut c = Client::operator_from(&url, lo(3, 1 + (i / 50) as u8), &token, &["operator.admin"]).await?;
            match i % 4 {
                0 => c.send_text("{not json").await?,
                1 => c.send_text(r#"{"type":"req","id":"x","method":"node.pair.approve","params":{"requestId":[1,2]}}"#).await?,
                2 => c.send_text(&"z".repeat(300 * 1024)).await?,
                _ => c.send_text(&format!(r#"{{"type":"req","id":"{}","method":"node.pair.list"}}"#, "i".repeat(5000))).await?,
            }
            if i % 4 == 2 {
                closed_oversize += usize::from(c.closed().await? == Some(1009));
            } else {
                let f = c.next_frame().await?;
                let refused = matches!(serde_json::from_value(f.clone()), Ok(Incoming::Response { ok: false, .. }));
                anyhow::ensure!(refused, "malformed frame answered without an error: {f}");
            }
        }

        // A pairing flood from one address: 16 requests pend, the rest are told to wait.
        let mut limited = 0;
        let mut flooders = Vec::new();
        for i in 0..40u8 {
            let key = [i.wrapping_add(100); 32];
            let mut n = Client::node_from(&url, lo(4, 1), &key, "flood").await?;
            let id = pairing_core::proof::device_id(&key);
            if let Err(e) = n.pair_request_with(&by_node(&id)).await?
                && e.code == ErrorCode::RateLimited
            {
                anyhow::ensure!(e.retry_after_ms.is_some(), "no retryAfterMs: {e:?}");
                limited += 1;
            }
            flooders.push(n);
        }

        // Through all of it, a fresh operator is served, and the keeper still verifies.
        let t = Instant::now();
        let mut fresh = Client::operator(&url, &token, &["operator.pairing"]).await?;
        let list = fresh.pair_list().await?;
        let answered = t.elapsed();
        let v = fresh.verify("keeper", &keeper_token).await?;
        anyhow::ensure!(v.ok, "the keeper's token stopped verifying");
        anyhow::ensure!(list.pending.len() == 16, "pending: {:?}", list.pending);
        Ok::<_, anyhow::Error>((held.len(), closed_oversize, limited, answered, keeper_token))
    })?;
    let (held, closed_oversize, limited, answered, keeper_token) = report;
    let rss = gw.rss_kib().unwrap_or(0);
    eprintln!(
        "flood: {held} held connections, 200 silent TCP, 60 silent WebSockets, 100 malformed/oversized \
         ({closed_oversize} closed with 1009), 40-node pairing flood ({limited} rate-limited); \
         a fresh operator was answered in {answered:?}; gateway RSS {rss_start} → {rss} KiB"
    );
    assert_eq!(closed_oversize, 25);
    assert_eq!(limited, 24);
    // About 12 KiB per idle socket (4 KiB read buffer, buffers that grow only while used): 2 000
    // connections must fit well under 128 MiB, and nothing may grow per frame or per request.
    assert!(rss < 128 * 1024, "gateway RSS {rss} KiB is not bounded");
    assert!(gw.stop()?.success());

    // State intact across a restart.
    let gw = GatewayProcess::start(&state, &[])?;
    rt.block_on(async {
        let mut op = Client::operator(&gw.url, &gw.token(), &["operator.pairing"]).await?;
        let v = op.verify("keeper", &keeper_token).await?;
        anyhow::ensure!(v.ok, "the keeper's token stopped verifying after a restart");
        anyhow::Ok(())
    })?;
    assert!(gw.stop()?.success());
    Ok(())
}
