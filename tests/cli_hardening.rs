//! The CLI's part of issue #14, the built binary against a real gateway over loopback: durations need a
//! unit, a re-pair keeps the node's name, an approval says when a node that quit gets its token,
//! failures go to stderr, and no log level — whatever `RUST_LOG` names — prints a token.

use anyhow::Context;
use pairing_core::protocol::{NodeList, NodePairList};
use pairing_tests::process::{GatewayProcess, NodePair, openclaw, run_cli, wait_timeout};
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `openclaw ARGS…` on `state` with extra environment variables, bounded in time.
fn run_env(state: &Path, args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<Output> {
    let mut child = Command::new(openclaw())
        .args(args)
        .env("OPENCLAW_STATE_DIR", state)
        .env_remove("OPENCLAW_GATEWAY_URL")
        .env_remove("OPENCLAW_GATEWAY_TOKEN")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let o = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let status = wait_timeout(&mut child, Duration::from_secs(30))?;
    Ok(Output {
        status,
        stdout: o.join().unwrap_or_default(),
        stderr: e.join().unwrap_or_default(),
    })
}

#[test]
fn a_bare_number_for_a_duration_is_refused_with_a_hint() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path();
    let cases: [(&[&str], &str); 4] = [
        (&["gateway", "--port", "0", "--pending-ttl", "5"], "5"),
        (&["nodes", "audit", "--since", "2"], "2"),
        (&["nodes", "pending", "--timeout", "500"], "500"),
        (&["node", "verify", "--timeout", "3"], "3"),
    ];
    for (args, n) in cases {
        let o = run_cli(state, args)?;
        assert!(!o.status.success(), "{args:?} was accepted");
        assert!(
            err(&o).contains(&format!("{n} what? write {n}s, {n}m or {n}h")),
            "{args:?}: {}",
            err(&o)
        );
        assert!(out(&o).is_empty(), "{args:?}: {}", out(&o));
    }
    // With a unit, the same flags are taken.
    let o = run_cli(state, &["nodes", "audit", "--since", "2d"])?;
    assert!(o.status.success(), "{}", err(&o));
    Ok(())
}

/// `nodes list --json` of the gateway's operator.
fn list(gw_state: &Path) -> anyhow::Result<NodePairList> {
    let o = run_cli(gw_state, &["nodes", "list", "--json"])?;
    anyhow::ensure!(o.status.success(), "nodes list: {}", err(&o));
    Ok(serde_json::from_slice(&o.stdout)?)
}

/// The display name of the (first) paired node in `nodes list --json`.
fn paired_name(gw_state: &Path) -> anyhow::Result<Option<String>> {
    Ok(list(gw_state)?
        .paired
        .first()
        .and_then(|p| p.meta.display_name.clone()))
}

/// Waits until `node.list` shows the node `id` disconnected.
fn wait_disconnected(gw_state: &Path, id: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let o = run_cli(gw_state, &["nodes", "status", "--json"])?;
        let v: NodeList = serde_json::from_slice(&o.stdout)?;
        let connected = v
            .nodes
            .iter()
            .any(|n| n.node_id.as_str() == id && n.connected);
        if !connected {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "{id} stays connected: {v:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_re_pair_keeps_the_name_and_an_approval_says_when_the_token_arrives() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let gw_state = root.path().join("gw");
    let node_state = root.path().join("node");
    let gw = GatewayProcess::start(&gw_state, &[])?;

    // First pairing, named; the node is waiting, so it gets its token now.
    let mut pi = NodePair::start(&node_state, &gw.url, &["--name", "kitchen-pi"])?;
    let code = pi.code()?;
    let o = run_cli(&gw_state, &["nodes", "approve", &code])?;
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains("the node receives its new token now, over its open connection"),
        "{}",
        out(&o)
    );
    assert_eq!(pi.exit_code()?, 0, "{:#?}", pi.seen);
    let id = list(&gw_state)?
        .paired
        .first()
        .map(|p| p.node_id.as_str().to_owned())
        .unwrap_or_default();

    // Re-pair without --name: the request shows the name it has, not the hostname.
    let mut again = NodePair::start(&node_state, &gw.url, &[])?;
    let code = again.code()?;
    let list_now = list(&gw_state)?;
    let pending = list_now.pending.first().context("a pending re-pair")?;
    assert_eq!(
        pending.meta.display_name.as_deref(),
        Some("kitchen-pi"),
        "{pending:?}"
    );
    assert!(pending.is_repair, "{pending:?}");
    // The node quits before anyone approves: the approval says when it gets its token.
    again.child.kill()?;
    again.child.wait()?;
    wait_disconnected(&gw_state, &id)?;
    let o = run_cli(&gw_state, &["nodes", "approve", &code])?;
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains(
            "The node is not connected: it receives its new token when it reconnects within 10 \
             minutes of now"
        ),
        "{}",
        out(&o)
    );
    assert_eq!(paired_name(&gw_state)?.as_deref(), Some("kitchen-pi"));
    // …and it does: run again, it reconnects and receives it.
    let mut back = NodePair::start(&node_state, &gw.url, &[])?;
    assert_eq!(back.exit_code()?, 0, "{:#?}", back.seen);
    let o = run_cli(&node_state, &["node", "verify", "--url", &gw.url])?;
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).starts_with("ok: paired with"), "{}", out(&o));
    assert_eq!(paired_name(&gw_state)?.as_deref(), Some("kitchen-pi"));

    // Removed: `node verify` fails with one line on stderr and nothing on stdout.
    let o = run_cli(&gw_state, &["nodes", "remove", "--node", "kitchen-pi"])?;
    assert!(o.status.success(), "{}", err(&o));
    let o = run_cli(&node_state, &["node", "verify", "--url", &gw.url])?;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(out(&o), "");
    assert!(
        err(&o).starts_with("openclaw: not paired: the gateway at ")
            && err(&o).lines().count() == 1,
        "{}",
        err(&o)
    );
    assert!(gw.stop()?.success());
    Ok(())
}

#[test]
fn no_rust_log_setting_prints_a_token() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let gw_state = root.path().join("gw");
    let node_state = root.path().join("node");
    // What the issue used, the frame printers by name, and everything else at trace.
    let rust_log = "tungstenite::protocol=trace,tungstenite::protocol::frame=trace,\
                    tokio_tungstenite=trace,warp=trace,hyper=trace,rustls=trace,trace";
    let env = [("RUST_LOG", rust_log)];
    let gw = GatewayProcess::start_with_env(&gw_state, &[], &env)?;
    let token = gw.token();

    // A node pairs (its token travels in the approval event) while logging at trace too.
    let mut node = Command::new(openclaw())
        .args(["node", "pair", "--url", &gw.url, "--name", "loud"])
        .env("OPENCLAW_STATE_DIR", &node_state)
        .env("RUST_LOG", rust_log)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut node_out = node.stdout.take().expect("piped");
    let mut node_err = node.stderr.take().expect("piped");
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = node_out.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = node_err.read_to_string(&mut s);
        s
    });
    // The operator's commands send the gateway token in their connect frames.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut operator_logs = String::new();
    loop {
        let o = run_env(&gw_state, &["nodes", "pending", "--json"], &env)?;
        operator_logs.push_str(&out(&o));
        operator_logs.push_str(&err(&o));
        let pending: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        if pending.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "no request: {operator_logs}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let o = run_env(&gw_state, &["nodes", "approve", "--yes"], &env)?;
    operator_logs.push_str(&out(&o));
    operator_logs.push_str(&err(&o));
    assert!(o.status.success(), "{}", err(&o));
    let status = wait_timeout(&mut node, Duration::from_secs(20))?;
    let node_logs = format!(
        "{}{}",
        out_thread.join().unwrap_or_default(),
        err_thread.join().unwrap_or_default()
    );
    assert!(status.success(), "{node_logs}");
    let log_file = gw.log.clone();
    assert!(gw.stop()?.success());
    let gateway_logs = std::fs::read_to_string(log_file)?;

    let node_token: Value = serde_json::from_str(&std::fs::read_to_string(
        node_state.join("node/token.json"),
    )?)?;
    let node_token = node_token["token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(node_token.len(), 43);
    for (who, logs) in [
        ("gateway", &gateway_logs),
        ("operator CLI", &operator_logs),
        ("node", &node_logs),
    ] {
        // The logs are verbose (the filter took effect), and no token is in them.
        assert!(
            logs.contains("TRACE") || logs.contains("DEBUG"),
            "{who}: quiet log"
        );
        assert!(!logs.contains(&token), "{who} logged the gateway token");
        assert!(!logs.contains(&node_token), "{who} logged the node token");
    }
    Ok(())
}
