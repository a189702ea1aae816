//! The operator token (issue #14, item 9): our CLI never sends it to a process that does not prove it
//! knows it, `openclaw gateway rotate-token` replaces it (running or stopped, across a restart), and a
//! weak one is warned about at start.

use futures_util::{SinkExt, StreamExt};
use pairing_core::protocol::{
    Challenge, ClientInfo, ConnectParams, ErrorCode, REASON_TOKEN_ROTATED,
};
use pairing_core::wire::{Incoming, event_frame};
use pairing_tests::client::Client;
use pairing_tests::process::{GatewayProcess, run_cli};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// A stand-in listening where openclaw.json says the gateway is: it completes the WebSocket upgrade,
/// sends `challenge`, and records every byte of every frame a client sends it.
struct FakeGateway {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeGateway {
    fn start(challenge: String) -> FakeGateway {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let record = seen.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let serve = async {
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            return;
                        };
                        let (record, challenge) = (record.clone(), challenge.clone());
                        tokio::spawn(async move {
                            let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                                return;
                            };
                            let _ = ws.send(Message::text(challenge)).await;
                            while let Ok(Some(Ok(m))) =
                                tokio::time::timeout(Duration::from_secs(5), ws.next()).await
                            {
                                record.lock().unwrap().push(m.to_string());
                            }
                        });
                    }
                };
                tokio::select! {
                    () = serve => {}
                    _ = stopped => {}
                }
            });
        });
        FakeGateway {
            port,
            seen,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn seen(&self) -> String {
        self.seen.lock().unwrap().join("\n")
    }
}

impl Drop for FakeGateway {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn write_config(state: &Path, port: u16, token: &str) {
    std::fs::create_dir_all(state).unwrap();
    let text = json!({"gateway": {"port": port, "auth": {"token": token}}}).to_string();
    let file = state.join("openclaw.json");
    std::fs::write(&file, text).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A `connect.challenge` frame with `nonce` (and no proof).
fn challenge(nonce: &str) -> String {
    let payload = Challenge {
        nonce: nonce.to_owned(),
        ts: 1,
        ..Challenge::default()
    };
    event_frame("connect.challenge", &payload, None).to_string()
}

#[test]
fn a_listener_on_the_recorded_port_never_receives_the_token() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("gw");
    let token = "the-operator-token-of-a-stopped-gateway-xyz";
    let fake = FakeGateway::start(challenge("fake-nonce"));
    write_config(&state, fake.port, token);
    for args in [
        &["nodes", "pending"][..],
        &["nodes", "list", "--json"],
        &["devices", "list"],
    ] {
        let out = run_cli(&state, args).unwrap();
        assert!(!out.status.success(), "{args:?} succeeded against the fake");
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "the process on 127.0.0.1:{} does not know the gateway token",
                fake.port
            )),
            "{args:?}: {err}"
        );
        assert!(!err.contains(token));
    }
    let seen = fake.seen();
    assert!(!seen.contains(token), "the fake received the token: {seen}");
    assert!(
        !seen.contains("connect"),
        "a connect frame was sent: {seen}"
    );
}

#[test]
fn a_replayed_proof_of_the_real_gateway_does_not_fool_the_cli() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("gw");
    let gw = GatewayProcess::start(&state, &[]).unwrap();
    let token = gw.token();
    // Whoever listened once to the real gateway, with a client nonce of its choosing, has a genuine
    // proof for that nonce.
    let recorded = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            use tokio_tungstenite::tungstenite::client::IntoClientRequest;
            let mut req = gw.url.as_str().into_client_request().unwrap();
            req.headers_mut().insert(
                pairing_core::challenge::CLIENT_NONCE_HEADER,
                "attacker-chosen-nonce-0000".parse().unwrap(),
            );
            let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
            loop {
                if let Some(Ok(Message::Text(t))) = ws.next().await {
                    break t.to_string();
                }
            }
        });
    let challenge = Incoming::parse(&recorded).and_then(|f| f.payload_as::<Challenge>());
    assert!(challenge.is_some_and(|c| c.proof.is_some()), "{recorded}");
    gw.stop().unwrap();
    // The gateway is stopped; something else replays that challenge on the recorded port.
    let fake = FakeGateway::start(recorded);
    write_config(&state, fake.port, &token);
    let out = run_cli(&state, &["nodes", "pending"]).unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("does not know the gateway token"),
        "{}",
        stderr(&out)
    );
    assert!(!fake.seen().contains(&token));
}

/// The `connect` of a raw operator client (client id `x`, mode `cli`) reading with `token`.
fn reader(token: &str) -> ConnectParams {
    ConnectParams::operator(
        token,
        ClientInfo::new("x", "cli", "1", "linux"),
        &["operator.read"],
    )
}

#[test]
fn the_cli_still_talks_to_the_real_gateway_and_other_clients_see_no_difference() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("gw");
    let gw = GatewayProcess::start(&state, &[]).unwrap();
    let out = run_cli(&state, &["nodes", "pending", "--json"]).unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // A client that sends no nonce (OpenClaw's, the page) gets the challenge as before.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = Client::open(&gw.url).await.unwrap();
        assert!(!c.nonce.is_empty());
        let f = c.connect(&reader(&gw.token())).await.unwrap();
        assert!(f.is_ok(), "{f:?}");
    });
}

#[test]
fn rotate_token_while_running_ends_old_sessions_and_the_old_token_stays_refused_after_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("gw");
    let gw = GatewayProcess::start(&state, &[]).unwrap();
    let old = gw.token();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut watcher = rt
        .block_on(Client::operator(&gw.url, &old, &["operator.pairing"]))
        .unwrap();
    // `nodes watch` on the gateway's machine: told why its connection ended, it carries on with the
    // token openclaw.json now holds.
    let mut watch = std::process::Command::new(pairing_tests::process::openclaw())
        .args(["nodes", "watch"])
        .env("OPENCLAW_STATE_DIR", &state)
        .env_remove("OPENCLAW_GATEWAY_TOKEN")
        .env_remove("OPENCLAW_GATEWAY_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, watch_lines) = std::sync::mpsc::channel::<String>();
    let watch_err = watch.stderr.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(watch_err)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    let wait_line = |what: &str| -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(l) = watch_lines.recv_timeout(Duration::from_secs(15)) {
            let hit = l.contains(what);
            seen.push(l);
            if hit {
                return seen;
            }
        }
        panic!("nodes watch never printed {what:?}: {seen:?}");
    };
    wait_line("Watching pairing events");

    let out = run_cli(&state, &["gateway", "rotate-token"]).unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let new = gw.token();
    assert_ne!(new, old);
    assert_eq!(new.len(), 43);
    let page = gw.url.replacen("ws://", "http://", 1);
    assert_eq!(stdout.trim(), format!("Approval page: {page}#token={new}"));
    assert!(stderr(&out).contains("The operator token was rotated"));
    assert!(!stderr(&out).contains(&new));

    let lines = wait_line("Watching pairing events");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("the operator token was rotated")),
        "{lines:?}"
    );
    let _ = watch.kill();
    let _ = watch.wait();
    // The open session is closed naming the rotation.
    let closed = rt.block_on(watcher.next_frame()).unwrap_err().to_string();
    assert!(
        closed.contains("the operator token was rotated"),
        "{closed}"
    );
    // The old token is refused as rotated, the new one works, by a raw client and the CLI.
    let refused = rt.block_on(async {
        let mut c = Client::open(&gw.url).await.unwrap();
        c.connect(&reader(&old)).await.unwrap()
    });
    let refused = refused.expect_err("the old token is refused");
    assert_eq!(refused.code, ErrorCode::Unauthorized);
    assert_eq!(
        refused.reason().as_deref(),
        Some(REASON_TOKEN_ROTATED),
        "{refused:?}"
    );
    let out = run_cli(&state, &["nodes", "pending", "--token", &old]).unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the operator token was rotated"),
        "{}",
        stderr(&out)
    );
    assert!(
        run_cli(&state, &["nodes", "pending"])
            .unwrap()
            .status
            .success()
    );

    // The audit trail has the rotation, never a token.
    let audit = std::fs::read_to_string(state.join("nodes/audit.jsonl")).unwrap_or_default();
    let line = audit
        .lines()
        .find(|l| l.contains("\"token-rotated\""))
        .unwrap_or_else(|| panic!("no token-rotated entry: {audit}"));
    assert!(!line.contains(&old) && !line.contains(&new), "{line}");
    let verify = run_cli(&state, &["nodes", "audit", "--verify"]).unwrap();
    assert!(verify.status.success(), "{}", stderr(&verify));

    // Across a restart: the new token works, the old one is still refused as rotated.
    gw.stop().unwrap();
    let gw = GatewayProcess::start(&state, &[]).unwrap();
    assert_eq!(gw.token(), new);
    assert!(
        run_cli(&state, &["nodes", "pending"])
            .unwrap()
            .status
            .success()
    );
    let out = run_cli(&state, &["nodes", "pending", "--token", &old]).unwrap();
    assert!(
        stderr(&out).contains("the operator token was rotated"),
        "{}",
        stderr(&out)
    );
    let log = std::fs::read_to_string(&gw.log).unwrap();
    assert!(!log.contains(&new) && !log.contains(&old));
}

#[test]
fn rotate_token_with_the_gateway_stopped_rewrites_the_file_and_audits_it() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("gw");
    let gw = GatewayProcess::start(&state, &[]).unwrap();
    let old = gw.token();
    let port = gw
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    gw.stop().unwrap();

    let out = run_cli(&state, &["gateway", "rotate-token", "--json"]).unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let new = pairing_host::gateway_config::read(&state)
        .unwrap()
        .unwrap()
        .token
        .unwrap();
    assert_ne!(new, old);
    assert_eq!(v["gateway"], "stopped");
    assert_eq!(v["page"], format!("http://127.0.0.1:{port}/#token={new}"));
    let file = std::fs::read_to_string(state.join("openclaw.json")).unwrap();
    assert!(!file.contains(&old));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(state.join("openclaw.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    let gw = GatewayProcess::start(&state, &[]).unwrap();
    assert!(
        run_cli(&state, &["nodes", "pending"])
            .unwrap()
            .status
            .success()
    );
    let out = run_cli(&state, &["nodes", "pending", "--token", &old]).unwrap();
    assert!(
        stderr(&out).contains("the operator token was rotated"),
        "{}",
        stderr(&out)
    );
    let out = run_cli(&state, &["nodes", "audit", "--json"]).unwrap();
    let audit = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(audit.contains("\"token-rotated\""), "{audit}");
    assert!(!audit.contains(&old) && !audit.contains(&new));
    drop(gw);
}

#[test]
fn rotate_token_never_rewrites_a_directory_a_gateway_owns() {
    // A gateway that holds the state directory's lock but does not answer on the recorded port (a
    // stand-in holds the lock here): the stopped-gateway path must leave the files alone.
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("gw");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token = "a".repeat(43);
    write_config(&state, port, &token);
    let lock = std::fs::File::create(state.join("gateway.lock")).unwrap();
    lock.try_lock().unwrap();
    let before = std::fs::read_to_string(state.join("openclaw.json")).unwrap();
    let out = run_cli(&state, &["gateway", "rotate-token"]).unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("a gateway owns the state directory"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(state.join("openclaw.json")).unwrap(),
        before
    );
    assert!(!state.join("nodes").exists(), "nothing else was written");
    // Released: the same command rotates.
    drop(lock);
    let out = run_cli(&state, &["gateway", "rotate-token"]).unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(
        std::fs::read_to_string(state.join("openclaw.json")).unwrap(),
        before
    );
}

#[test]
fn a_weak_token_is_warned_about_once_at_start_without_printing_it() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("gw");
    write_config(&state, 0, "hunter2hunter2");
    let gw = GatewayProcess::start(&state, &[]).unwrap();
    // The log is written as the gateway starts; it printed its URL after the warning.
    let log = std::fs::read_to_string(&gw.log).unwrap();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("shorter than 128 bits"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("rotate-token"));
    assert!(!log.contains("hunter2hunter2"));
    drop(gw);

    let strong = tempfile::tempdir().unwrap();
    let gw = GatewayProcess::start(&strong.path().join("gw"), &[]).unwrap();
    let log = std::fs::read_to_string(&gw.log).unwrap();
    assert!(!log.contains("shorter than 128 bits"), "{log}");
}
