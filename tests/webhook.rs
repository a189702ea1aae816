//! `openclaw gateway --notify-webhook URL --notify-secret-file F` against a receiver on loopback: it
//! checks every signature, fails the first deliveries and sees them retried (same `id`), gets the
//! request (with its verification code) and the approval, and never sees a token — neither the
//! operator token nor the device token the approval issued, nor their hashes — in a body or header.

use anyhow::Context;
use pairing_core::Token;
use pairing_core::webhook::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use pairing_tests::process::{GatewayProcess, NodePair, run_cli};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the receiver got: its headers (lower-case names) and body, and what it answered.
#[derive(Clone, Debug)]
struct Got {
    headers: Headers,
    body: Vec<u8>,
    status: u16,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Header names (lower case) and values.
type Headers = Vec<(String, String)>;

/// Reads one HTTP/1.1 request (headers, then `Content-Length` bytes of body), under a deadline.
fn read_request(stream: &mut TcpStream) -> anyhow::Result<(Headers, Vec<u8>)> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    anyhow::ensure!(line.starts_with("POST "), "not a POST: {line:?}");
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':').context("header line")?;
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        anyhow::ensure!(headers.len() < 64, "too many headers");
    }
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .context("content-length")?
        .1
        .parse()?;
    anyhow::ensure!(len < 64 * 1024, "body too large");
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok((headers, body))
}

/// A receiver on 127.0.0.1 answering 503 to the first `fail_first` requests and 200 after.
fn receiver(fail_first: usize) -> anyhow::Result<(String, Arc<Mutex<Vec<Got>>>)> {
    receiver_with(move |n| n < fail_first)
}

/// A receiver on 127.0.0.1 answering 503 to the `n`th request (from 0) when `fails(n)`, else 200.
fn receiver_with(
    fails: impl Fn(usize) -> bool + Send + 'static,
) -> anyhow::Result<(String, Arc<Mutex<Vec<Got>>>)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let url = format!("http://{}/hooks/pairing?team=ops", listener.local_addr()?);
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { continue };
            let Ok((headers, body)) = read_request(&mut stream) else {
                continue;
            };
            let mut all = seen.lock().expect("lock");
            let status = if fails(all.len()) { 503 } else { 200 };
            all.push(Got {
                headers,
                body,
                status,
            });
            drop(all);
            let reason = if status == 200 { "OK" } else { "Unavailable" };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} {reason}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
        }
    });
    Ok((url, got))
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[test]
fn webhooks_are_signed_retried_and_never_carry_a_token() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let (gw_state, node_state) = (root.path().join("gw"), root.path().join("node"));
    let secret = "s3cret-for-the-webhook-test-0123";
    let secret_file = root.path().join("hook-secret");
    std::fs::write(&secret_file, format!("{secret}\n"))?;
    let (url, got) = receiver(2)?;
    let secret_path = secret_file.to_str().context("utf-8")?;
    let gw = GatewayProcess::start(
        &gw_state,
        &[
            "--notify-webhook",
            &url,
            "--notify-secret-file",
            secret_path,
        ],
    )?;

    // A node asks; the operator (the CLI on the gateway's state) approves.
    let mut node = NodePair::start(&node_state, &gw.url, &["--name", "hook node"])?;
    let code = node.code()?;
    let out = run_cli(&gw_state, &["nodes", "approve", &code])?;
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(node.exit_code()?, 0, "{:#?}", node.seen);

    // Two failed attempts, the request's retry, then the approval: four requests.
    let deadline = Instant::now() + Duration::from_secs(30);
    let all = loop {
        let all = got.lock().expect("lock").clone();
        if all.len() >= 4 || Instant::now() > deadline {
            break all;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(all.len(), 4, "{all:#?}");
    let bodies: Vec<Value> = all
        .iter()
        .map(|g| serde_json::from_slice(&g.body))
        .collect::<Result<_, _>>()?;

    // Every one is signed with the secret over its timestamp and exact body, within the window.
    for g in &all {
        webhook::verify(
            secret.as_bytes(),
            g.header(TIMESTAMP_HEADER),
            g.header(SIGNATURE_HEADER),
            &g.body,
            now_secs(),
        )
        .map_err(|e| anyhow::anyhow!("{e}: {g:?}"))?;
        // A signature under another secret does not pass.
        assert!(
            webhook::verify(
                b"another-secret-entirely-123456",
                g.header(TIMESTAMP_HEADER),
                g.header(SIGNATURE_HEADER),
                &g.body,
                now_secs(),
            )
            .is_err()
        );
        assert_eq!(g.header("content-type"), Some("application/json"));
        assert_eq!(g.header("x-template"), Some("yes"));
        assert_eq!(g.header("x-message"), Some("{{.text}}"));
    }
    // The request: tried three times (two 503s), the same delivery each time.
    let statuses: Vec<u16> = all.iter().map(|g| g.status).collect();
    assert_eq!(statuses, [503, 503, 200, 200]);
    for b in &bodies[..3] {
        assert_eq!(b["event"], "node.pair.requested");
        assert_eq!(b["id"], bodies[0]["id"]);
        assert_eq!(b["verificationCode"], code.as_str());
        assert_eq!(b["displayName"], "hook node");
        assert!(b["text"].as_str().is_some_and(|t| t.contains(&code)), "{b}");
    }
    assert_eq!(all[0].header("x-priority"), Some("4"));
    assert_eq!(bodies[3]["event"], "node.pair.resolved");
    assert_eq!(bodies[3]["decision"], "approved");
    assert_eq!(bodies[3]["requestId"], bodies[0]["requestId"]);
    assert_ne!(bodies[3]["id"], bodies[0]["id"]);

    // No token anywhere: the operator token, the device token the approval issued, their hashes.
    let node_token: Value = serde_json::from_str(&std::fs::read_to_string(
        node_state.join("node/token.json"),
    )?)?;
    let node_token = node_token["token"]
        .as_str()
        .context("node token")?
        .to_owned();
    let mut secrets = vec![gw.token(), node_token];
    let hashes: Vec<String> = secrets
        .iter()
        .map(|t| Token::new(t.clone()).hash().to_base64url())
        .collect();
    secrets.extend(hashes);
    for g in &all {
        let body = String::from_utf8_lossy(&g.body);
        for s in &secrets {
            assert!(!body.contains(s.as_str()), "a token in a body: {body}");
            for (n, v) in &g.headers {
                assert!(!v.contains(s.as_str()), "a token in header {n}");
            }
        }
    }

    // The status `openclaw doctor` reads: working again, two delivered; the log has one line for
    // the failure episode and one for the recovery.
    let status = loop {
        let status: Value = serde_json::from_str(&std::fs::read_to_string(
            gw_state.join("notify-status.json"),
        )?)?;
        if status["delivered"] == 2 || Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status["delivered"], 2, "{status}");
    assert!(status.get("failingSinceMs").is_none(), "{status}");
    assert!(
        status["url"]
            .as_str()
            .is_some_and(|u| !u.contains("hooks/pairing")),
        "the URL's path stays out: {status}"
    );
    let log = std::fs::read_to_string(&gw.log)?;
    assert_eq!(log.matches("webhook delivery failed").count(), 1, "{log}");
    assert_eq!(
        log.matches("webhook deliveries work again").count(),
        1,
        "{log}"
    );
    assert!(
        !log.contains("hooks/pairing"),
        "the URL's path is not logged"
    );
    assert!(gw.stop()?.success());
    Ok(())
}

/// A device connecting the way OpenClaw node hosts do (the gateway token and a device proof): its
/// request and approval are `device.pair.*` webhooks, one each, and its device token is in neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_request_is_a_device_event_without_its_token() -> anyhow::Result<()> {
    use pairing_tests::client::{Client, NodeHost, hello_auth, pairing_required};
    let root = tempfile::tempdir()?;
    let gw_state = root.path().join("gw");
    let (url, got) = receiver(0)?;
    let gw = GatewayProcess::start(&gw_state, &["--notify-webhook", &url])?;
    let token = gw.token();
    let host = NodeHost {
        token: &token,
        protocol: 4,
        display_name: "device host",
        commands: &[],
    };
    let key = [21u8; 32];
    let (_, answer) = Client::node_host(&gw.url, &key, &host).await?;
    let asked = pairing_required(&answer)?;
    let state = gw_state.clone();
    let rid = asked.request_id.clone();
    let out = tokio::task::spawn_blocking(move || run_cli(&state, &["devices", "approve", &rid]))
        .await??;
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_client, answer) = Client::node_host(&gw.url, &key, &host).await?;
    let device_token = hello_auth(&answer)?
        .device_token
        .context("a device token")?;

    let deadline = Instant::now() + Duration::from_secs(30);
    let all = loop {
        let all = got.lock().expect("lock").clone();
        if all.len() >= 2 || Instant::now() > deadline {
            break all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(all.len(), 2, "{all:#?}");
    let bodies: Vec<Value> = all
        .iter()
        .map(|g| serde_json::from_slice(&g.body))
        .collect::<Result<_, _>>()?;
    assert_eq!(bodies[0]["event"], "device.pair.requested");
    assert_eq!(bodies[0]["requestId"], asked.request_id.as_str());
    assert_eq!(
        bodies[0]["verificationCode"],
        asked.verification_code.as_str()
    );
    assert_eq!(bodies[1]["event"], "device.pair.resolved");
    assert_eq!(bodies[1]["decision"], "approved");
    // Unsigned without a secret file.
    assert!(all.iter().all(|g| g.header(SIGNATURE_HEADER).is_none()));
    for g in &all {
        let body = String::from_utf8_lossy(&g.body);
        for s in [&token, &device_token] {
            assert!(!body.contains(s.as_str()), "a token in a body: {body}");
            assert!(g.headers.iter().all(|(_, v)| !v.contains(s.as_str())));
        }
    }
    let stop = tokio::task::spawn_blocking(move || gw.stop()).await??;
    assert!(stop.success());
    Ok(())
}

/// A stopping gateway gives what still waits one last attempt: a request whose deliveries failed
/// four times (the next retry ~8 s away) goes out when the gateway is stopped, not never.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_gateway_delivers_what_waits() -> anyhow::Result<()> {
    use pairing_tests::client::{Client, NodeHost, pairing_required};
    use std::sync::atomic::{AtomicBool, Ordering};
    let root = tempfile::tempdir()?;
    let gw_state = root.path().join("gw");
    let failing = Arc::new(AtomicBool::new(true));
    let fail = failing.clone();
    let (url, got) = receiver_with(move |_| fail.load(Ordering::SeqCst))?;
    let gw = GatewayProcess::start(&gw_state, &["--notify-webhook", &url])?;
    let token = gw.token();
    let host = NodeHost {
        token: &token,
        protocol: 4,
        display_name: "late host",
        commands: &[],
    };
    let (_, answer) = Client::node_host(&gw.url, &[22u8; 32], &host).await?;
    let asked = pairing_required(&answer)?;

    // Four failed attempts (0.5, 1 and 2 s apart): the next waits about 8 s.
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.lock().expect("lock").len() < 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(got.lock().expect("lock").len(), 4);
    failing.store(false, Ordering::SeqCst);
    let log = gw.log.clone();
    let stop = tokio::task::spawn_blocking(move || gw.stop()).await??;
    assert!(stop.success());

    let all = got.lock().expect("lock").clone();
    let statuses: Vec<u16> = all.iter().map(|g| g.status).collect();
    assert_eq!(statuses, [503, 503, 503, 503, 200], "{all:#?}");
    let last: Value = serde_json::from_slice(&all[4].body)?;
    assert_eq!(last["event"], "device.pair.requested");
    assert_eq!(last["requestId"], asked.request_id.as_str());
    let log = std::fs::read_to_string(log)?;
    assert!(
        log.contains("delivered the 1 waiting webhook notifications before stopping"),
        "{log}"
    );
    Ok(())
}
