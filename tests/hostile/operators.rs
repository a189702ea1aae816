//! Operators that pipeline their calls, and one that stops reading its answers.

use futures_util::{SinkExt, StreamExt};
use pairing_core::NodeMeta;
use pairing_core::protocol::{PairRequestParams, RequestResult};
use pairing_core::wire::Incoming;
use pairing_tests::client::{Client, by_node};
use pairing_tests::process::GatewayProcess;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// An operator that pipelines 300 `node.pair.request` and 300 approvals back to back while reading
/// (as a script approving a batch does) gets every answer and is never closed.
#[test]
fn a_pipelining_operator_that_reads_is_never_closed() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw = GatewayProcess::start_with_env(&state, &[], &[("RUST_LOG", "warn")])?;
    let url = gw.url.clone();
    let token = gw.token();
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await?;
        ws.next().await.expect("challenge")?;
        let connect = json!({"type":"req","id":"c","method":"connect","params":{
            "minProtocol":3,"maxProtocol":3,"role":"operator","scopes":["operator.admin"],
            "client":{"id":"cli","version":"1","platform":"linux","mode":"cli"},"auth":{"token":token}}});
        ws.send(Message::text(connect.to_string())).await?;
        let (mut tx, mut rx) = ws.split();
        let (ids_tx, mut ids_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let reader = tokio::spawn(async move {
            let mut answers = 0;
            while answers < 601 {
                let msg = tokio::time::timeout(Duration::from_secs(30), rx.next())
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("closed after {answers} answers"))??;
                let text = match msg {
                    Message::Text(t) => t.to_string(),
                    Message::Close(f) => anyhow::bail!("closed after {answers} answers: {f:?}"),
                    _ => continue,
                };
                let Some(f @ Incoming::Response { .. }) = Incoming::parse(&text) else {
                    continue;
                };
                anyhow::ensure!(matches!(f, Incoming::Response { ok: true, .. }), "{text}");
                answers += 1;
                if let Some(r) = f.payload_as::<RequestResult>() {
                    let _ = ids_tx.send(r.request.request_id.as_str().to_owned());
                }
            }
            anyhow::Ok(answers)
        });
        // The requests back to back, then each approval as soon as its request id is read, without
        // waiting for any approval's answer.
        for i in 0..300 {
            let r = json!({"type":"req","id":format!("r{i}"),"method":"node.pair.request",
                "params":{"nodeId":format!("batch-{i}")}});
            tx.feed(Message::text(r.to_string())).await?;
        }
        tx.flush().await?;
        for i in 0..300 {
            let id = tokio::time::timeout(Duration::from_secs(30), ids_rx.recv())
                .await?
                .ok_or_else(|| anyhow::anyhow!("the reader ended after {i} request ids"))?;
            let a = json!({"type":"req","id":format!("a{i}"),"method":"node.pair.approve",
                "params":{"requestId":id}});
            tx.send(Message::text(a.to_string())).await?;
        }
        let answers = reader.await??;
        anyhow::ensure!(answers == 601, "{answers} answers");
        anyhow::Ok(())
    })?;
    assert!(gw.stop()?.success());
    Ok(())
}

/// An operator that stops reading while its answers pile up is closed once its unread bytes stay
/// over `maxBufferedBytes` past the grace time, with the reason in the close frame (read once it
/// reads again, within the linger) and in the gateway's log.
#[test]
fn an_operator_that_stops_reading_is_closed_saying_why() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw = GatewayProcess::start_with_env(
        &state,
        &[],
        &[("RUST_LOG", "warn"), ("OPENCLAW_SLOW_CONSUMER_MS", "500")],
    )?;
    let url = gw.url.clone();
    let token = gw.token();
    let rt = tokio::runtime::Runtime::new()?;
    let reason = rt.block_on(async {
        // 40 pending requests of ~13 KB each: one `node.pair.list` answer is ~0.5 MB.
        let mut op = Client::operator(&url, &token, &["operator.admin"]).await?;
        let commands: Vec<String> = (0..128)
            .map(|i| format!("{i:03}{}", "c".repeat(97)))
            .collect();
        for i in 0..40 {
            op.events.clear();
            let ask = PairRequestParams {
                meta: NodeMeta {
                    commands: Some(commands.clone()),
                    ..NodeMeta::default()
                },
                ..by_node(&format!("big-{i}"))
            };
            op.pair_request_with(&ask)
                .await?
                .map_err(anyhow::Error::new)?;
        }
        // A 64 KiB receive window (twice that in the kernel): reading, it reads at full speed.
        let slow = Client::open_with_small_window(&url, 64 * 1024).await?;
        let mut slow = slow.into_operator(&token, &["operator.pairing"]).await?;
        // 14 lists unread: ~7 MB, past the kernel's buffers (~4 MiB) and the 1 MiB budget, under the
        // hard bound (8 MiB). The gateway's verdict comes 0.5 s after the budget is passed.
        for i in 0..14 {
            slow.send_text(
                &json!({"type":"req","id":format!("l{i}"),"method":"node.pair.list"}).to_string(),
            )
            .await?;
        }
        // Not reading until the gateway has given its verdict (its log says so): on a loaded machine
        // writing 7 MB takes a while, and reading early would empty the queue before the verdict.
        let log = gw.log.clone();
        for _ in 0..300 {
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            if said.contains("closing a connection too slow to read") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        slow.close_reason().await
    })?;
    eprintln!("slow consumer closed with {reason:?}");
    let (code, reason) = reason.expect("a close frame with the reason");
    assert_eq!(code, 1008);
    assert!(
        reason.starts_with("slow consumer: ") && reason.contains(" unread for "),
        "{reason}"
    );
    assert!(gw.stop()?.success());
    Ok(())
}
