//! `openclaw nodes watch --exec CMD` against a real gateway: the command runs once per pairing
//! event with the event on stdin and in its environment (never the operator token, although the
//! watcher has it in its own environment), and a failing run is reported while the watch goes on.

use anyhow::Context;
use pairing_tests::process::{GatewayProcess, NodePair, openclaw, run_cli};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Records stdin and the environment; fails (exit 7) for requests, succeeds for the rest.
const HOOK: &str = r#"read -r line; printf '%s\n' "$line" >> "$HOOK_DIR/stdin"
printf '%s|%s|%s|%s|%s\n' "$OPENCLAW_EVENT" "$OPENCLAW_REQUEST_ID" "$OPENCLAW_VERIFICATION_CODE" \
  "$OPENCLAW_DECISION" "${OPENCLAW_GATEWAY_TOKEN:-none}" >> "$HOOK_DIR/env"
[ "$OPENCLAW_EVENT" != node.pair.requested ] || exit 7"#;

#[test]
fn exec_runs_once_per_event_and_a_failure_does_not_stop_the_watch() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let (gw_state, node_state) = (root.path().join("gw"), root.path().join("node"));
    let hook_dir = root.path().join("hook");
    std::fs::create_dir(&hook_dir)?;
    let gw = GatewayProcess::start(&gw_state, &[])?;
    let token = gw.token();
    let mut watcher = Command::new(openclaw())
        .args(["nodes", "watch", "--exec", HOOK, "--exec-timeout", "20s"])
        .env("OPENCLAW_STATE_DIR", &gw_state)
        .env("OPENCLAW_GATEWAY_TOKEN", &token)
        .env_remove("OPENCLAW_GATEWAY_URL")
        .env("HOOK_DIR", &hook_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = watcher.stderr.take().context("stderr")?;
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let mut wait_line = |needle: &str| -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !seen.iter().any(|l: &String| l.contains(needle)) {
            let left = deadline.saturating_duration_since(Instant::now());
            seen.push(
                lines
                    .recv_timeout(left)
                    .with_context(|| format!("no stderr line with {needle:?}; got {seen:#?}"))?,
            );
        }
        Ok(())
    };
    wait_line("Watching pairing events")?;

    let mut node = NodePair::start(&node_state, &gw.url, &["--name", "exec node"])?;
    let code = node.code()?;
    let out = run_cli(&gw_state, &["nodes", "approve", &code])?;
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(node.exit_code()?, 0, "{:#?}", node.seen);
    // The request's run failed and was reported; the watch went on to the resolution.
    wait_line("--exec for node.pair.requested")?;

    let deadline = Instant::now() + Duration::from_secs(20);
    let env = loop {
        let env = std::fs::read_to_string(hook_dir.join("env")).unwrap_or_default();
        if env.lines().count() >= 2 || Instant::now() > deadline {
            break env;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = watcher.kill();
    let _ = watcher.wait();
    let rows: Vec<Vec<&str>> = env.lines().map(|l| l.split('|').collect()).collect();
    assert_eq!(rows.len(), 2, "{env}");
    assert_eq!(rows[0][0], "node.pair.requested");
    assert_eq!(rows[0][2], code);
    assert_eq!(rows[1][0], "node.pair.resolved");
    assert_eq!(rows[1][3], "approved");
    assert_eq!(rows[0][1], rows[1][1], "the same request");
    assert!(!rows[0][1].is_empty());
    assert!(
        rows.iter().all(|r| r[4] == "none"),
        "no token in the environment: {env}"
    );
    // Stdin: the event frames themselves, one line each.
    let stdin = std::fs::read_to_string(hook_dir.join("stdin"))?;
    let frames: Vec<Value> = stdin
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(frames.len(), 2, "{stdin}");
    assert_eq!(frames[0]["event"], "node.pair.requested");
    assert_eq!(frames[0]["payload"]["verificationCode"], code.as_str());
    assert_eq!(frames[1]["event"], "node.pair.resolved");
    assert!(!stdin.contains(&token));
    let failure = seen
        .iter()
        .find(|l| l.contains("--exec for node.pair.requested"))
        .context("failure line")?;
    assert!(
        failure.contains("exit status: 7") && failure.contains("watching on"),
        "{failure}"
    );
    assert!(gw.stop()?.success());
    Ok(())
}
