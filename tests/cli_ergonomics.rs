//! The operator's everyday ergonomics (issue 8): shell completions, `nodes approve` with no argument,
//! and `nodes watch` output — the built binary, against a real gateway over loopback where one is needed.

use pairing_core::Event;
use pairing_core::protocol::NodePending;
use pairing_tests::process::{GatewayProcess, NodePair, run_cli};
use serde::Deserialize;

#[test]
fn completions_name_the_subcommands_in_every_shell() -> anyhow::Result<()> {
    let state = tempfile::tempdir()?;
    for shell in ["bash", "zsh", "fish"] {
        let out = run_cli(state.path(), &["completions", shell])?;
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let script = String::from_utf8(out.stdout)?;
        assert!(!script.trim().is_empty(), "{shell}: empty script");
        for word in ["nodes", "approve"] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
    }
    let help = run_cli(state.path(), &["completions", "--help"])?;
    let help = String::from_utf8(help.stdout)?;
    for how in [
        "/etc/bash_completion.d/openclaw",
        "source <(openclaw completions zsh)",
        "~/.config/fish/completions/openclaw.fish",
    ] {
        assert!(help.contains(how), "help lacks {how}:\n{help}");
    }
    let bad = run_cli(state.path(), &["completions", "tcsh"])?;
    assert!(!bad.status.success());
    Ok(())
}

/// A gateway that is stopped when the test ends, passed or failed (GatewayProcess alone is not).
struct Gateway(Option<GatewayProcess>);

impl Gateway {
    fn start(state: &std::path::Path) -> anyhow::Result<Gateway> {
        Self::start_with(state, &[])
    }

    fn start_with(state: &std::path::Path, args: &[&str]) -> anyhow::Result<Gateway> {
        Ok(Gateway(Some(GatewayProcess::start(state, args)?)))
    }

    /// SIGTERM and wait; `true` when it exited 0.
    fn stop(&mut self) -> anyhow::Result<bool> {
        Ok(self
            .0
            .take()
            .map(GatewayProcess::stop)
            .transpose()?
            .is_some_and(|s| s.success()))
    }
}

impl std::ops::Deref for Gateway {
    type Target = GatewayProcess;
    fn deref(&self) -> &GatewayProcess {
        self.0.as_ref().expect("gateway running")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(gw) = self.0.take() {
            let _ = gw.kill();
        }
    }
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn approve_with_no_argument_takes_only_the_sole_request() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw = Gateway::start(&state)?;

    // Nothing pending: said so, exit 1.
    let none = run_cli(&state, &["nodes", "approve", "--yes"])?;
    assert_eq!(none.status.code(), Some(1), "{}", stderr(&none));
    assert!(
        stderr(&none).contains("no pairing requests are pending"),
        "{}",
        stderr(&none)
    );

    // One pending, no terminal, no --yes: refused, showing the request; nothing decided.
    let mut pi = NodePair::start(&root.path().join("pi"), &gw.url, &["--name", "kitchen-pi"])?;
    let code = pi.code()?;
    for verb in ["approve", "reject"] {
        let out = run_cli(&state, &["nodes", verb])?;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        for want in ["--yes", "kitchen-pi", code.as_str(), "127.0.0.1"] {
            assert!(err.contains(want), "{verb}: {want} missing: {err}");
        }
    }

    // Two pending: refused, both listed with their codes.
    let mut mac = NodePair::start(&root.path().join("mac"), &gw.url, &["--name", "mac-mini"])?;
    let mac_code = mac.code()?;
    let two = run_cli(&state, &["nodes", "approve", "--yes"])?;
    let err = stderr(&two);
    assert_eq!(two.status.code(), Some(1), "{err}");
    for want in [
        "2 requests are pending",
        "kitchen-pi",
        "mac-mini",
        code.as_str(),
        mac_code.as_str(),
    ] {
        assert!(err.contains(want), "{want} missing: {err}");
    }

    // Reject one by its code; the other is now the only one and --yes approves it.
    assert!(
        run_cli(&state, &["nodes", "reject", &mac_code])?
            .status
            .success()
    );
    assert_eq!(mac.exit_code()?, 2, "{:#?}", mac.seen);
    let yes = run_cli(&state, &["nodes", "approve", "--yes"])?;
    assert!(yes.status.success(), "{}", stderr(&yes));
    assert!(
        String::from_utf8_lossy(&yes.stdout).contains("kitchen-pi"),
        "{}",
        String::from_utf8_lossy(&yes.stdout)
    );
    assert_eq!(pi.exit_code()?, 0, "{:#?}", pi.seen);
    Ok(())
}

/// A background `openclaw nodes watch ARGS…` (operator of `state`), its stdout lines on a channel
/// (stderr lines too, prefixed `stderr: `).
struct Watch {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Watch {
    fn start(state: &std::path::Path, args: &[&str]) -> anyhow::Result<Watch> {
        use std::io::BufRead;
        let mut child = std::process::Command::new(pairing_tests::process::openclaw())
            .args(["nodes", "watch"])
            .args(args)
            .env("OPENCLAW_STATE_DIR", state)
            .env_remove("OPENCLAW_GATEWAY_URL")
            .env_remove("OPENCLAW_GATEWAY_TOKEN")
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let out_tx = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = out_tx.send(line);
            }
        });
        let stderr = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(format!("stderr: {line}"));
            }
        });
        Ok(Watch {
            child,
            lines,
            seen: Vec::new(),
        })
    }

    /// Waits (at most 20 s) for a line containing every one of `words`.
    fn wait_for(&mut self, words: &[&str]) -> anyhow::Result<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Some(l) = self
                .seen
                .iter()
                .find(|l| words.iter().all(|w| l.contains(w)))
            {
                return Ok(l.clone());
            }
            let left = deadline
                .checked_duration_since(std::time::Instant::now())
                .ok_or_else(|| anyhow::anyhow!("{words:?} not seen in {:#?}", self.seen))?;
            if let Ok(l) = self.lines.recv_timeout(left) {
                self.seen.push(l);
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn watch_prints_one_line_per_event_live_plain_or_ndjson() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw = Gateway::start(&state)?;
    let mut human = Watch::start(&state, &[])?;
    let mut json = Watch::start(&state, &["--json"])?;
    // Both say on stderr when they are connected; from then on no event is missed.
    human.wait_for(&["stderr: Watching pairing events"])?;
    json.wait_for(&["stderr: Watching pairing events"])?;

    let mut pi = NodePair::start(&root.path().join("pi"), &gw.url, &["--name", "kitchen-pi"])?;
    let code = pi.code()?;
    let requested = human.wait_for(&["kitchen-pi", &code])?;
    assert!(
        requested.starts_with("requested ") || requested.starts_with("pending "),
        "{requested}"
    );
    assert!(
        run_cli(&state, &["nodes", "approve", &code])?
            .status
            .success()
    );
    assert_eq!(pi.exit_code()?, 0, "{:#?}", pi.seen);
    let approved = human.wait_for(&["approved", "kitchen-pi"])?;
    assert!(approved.starts_with("approved "), "{approved}");
    // Not a terminal: no colour.
    assert!(
        human.seen.iter().all(|l| !l.contains('\x1b')),
        "{:#?}",
        human.seen
    );

    json.wait_for(&["node.pair.resolved", "approved"])?;
    let mut events = Vec::new();
    for l in json.seen.iter().filter(|l| !l.starts_with("stderr: ")) {
        let line: WatchLine = serde_json::from_str(l)
            .map_err(|e| anyhow::anyhow!("not one watch line per line ({e}): {l}"))?;
        events.push(Event::parse(&line.event));
    }
    assert!(
        events.contains(&Some(Event::NodePairRequested)),
        "{events:?}"
    );
    assert!(
        events.contains(&Some(Event::NodePairResolved)),
        "{events:?}"
    );
    Ok(())
}

/// `openclaw doctor ARGS… --json` on `state`: its exit code and `cause`.
fn doctor(state: &std::path::Path, args: &[&str]) -> anyhow::Result<(i32, serde_json::Value)> {
    let mut all = vec!["doctor", "--json"];
    all.extend_from_slice(args);
    let out = run_cli(state, &all)?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        anyhow::anyhow!(
            "doctor {args:?}: not JSON ({e}): {} / {}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        )
    })?;
    Ok((out.status.code().unwrap_or(-1), v))
}

#[test]
fn doctor_tells_each_stage_of_a_node_and_the_next_command() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let (gw_state, node_state) = (root.path().join("gw"), root.path().join("node"));
    std::fs::create_dir_all(&node_state)?;
    let mut gw = Gateway::start(&gw_state)?;
    let token = gw.token();
    let url = gw.url.clone();
    let conn = ["--url", url.as_str(), "--token", token.as_str()];

    // Wrong operator token, then no identity on this machine yet.
    let (code, v) = doctor(&node_state, &["--url", &url, "--token", "wrong"])?;
    assert_eq!(
        (code, v["cause"].as_str()),
        (1, Some("wrong-operator-token")),
        "{v}"
    );
    let (code, v) = doctor(&node_state, &conn)?;
    assert_eq!((code, v["cause"].as_str()), (1, Some("no-identity")), "{v}");
    assert!(
        v["next"]
            .as_str()
            .unwrap_or("")
            .starts_with("openclaw node pair --url"),
        "{v}"
    );

    // Pending: the code and the approve command, seen from the node and by --node on the gateway.
    let mut pi = NodePair::start(&node_state, &url, &["--name", "doctor-pi"])?;
    let pcode = pi.code()?;
    let (code, v) = doctor(&node_state, &conn)?;
    assert_eq!((code, v["cause"].as_str()), (1, Some("pending")), "{v}");
    assert!(v.to_string().contains(&pcode), "{v}");
    assert!(
        v["next"]
            .as_str()
            .unwrap_or("")
            .contains(&format!("openclaw nodes approve {pcode}")),
        "{v}"
    );
    let (_, v) = doctor(&gw_state, &["--node", "doctor-pi"])?;
    assert_eq!(v["cause"], "pending", "{v}");

    // Paired: exit 0, even without the operator token.
    assert!(
        run_cli(&gw_state, &["nodes", "approve", &pcode])?
            .status
            .success()
    );
    assert_eq!(pi.exit_code()?, 0, "{:#?}", pi.seen);
    let (code, v) = doctor(&node_state, &conn)?;
    assert_eq!((code, v["cause"].as_str()), (0, Some("paired")), "{v}");
    let (code, v) = doctor(&node_state, &[])?;
    assert_eq!((code, v["cause"].as_str()), (0, Some("paired")), "{v}");
    let (code, v) = doctor(&gw_state, &["--node", "doctor-pi"])?;
    assert_eq!((code, v["cause"].as_str()), (0, Some("paired")), "{v}");

    // Removed: the stored token no longer verifies.
    assert!(
        run_cli(&gw_state, &["nodes", "remove", "--node", "doctor-pi"])?
            .status
            .success()
    );
    let (code, v) = doctor(&node_state, &conn)?;
    assert_eq!((code, v["cause"].as_str()), (1, Some("removed")), "{v}");
    // On the gateway host the audit trail says when, and by whom.
    let (code, v) = doctor(&gw_state, &["--node", "doctor-pi"])?;
    assert_eq!((code, v["cause"].as_str()), (1, Some("removed")), "{v}");
    assert!(
        v["findings"].to_string().contains("it was removed ")
            && v["findings"].to_string().contains("by operator "),
        "{v}"
    );

    // Unreachable.
    assert!(gw.stop()?);
    let (code, v) = doctor(&node_state, &conn)?;
    assert_eq!(
        (code, v["cause"].as_str()),
        (1, Some("gateway-unreachable")),
        "{v}"
    );
    Ok(())
}

#[test]
fn doctor_on_the_gateway_host_tells_how_a_request_ended_from_the_audit_trail() -> anyhow::Result<()>
{
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let _gw = Gateway::start_with(&state, &["--pending-ttl", "1500ms"])?;
    let url = _gw.url.clone();

    let mut no = NodePair::start(&root.path().join("no"), &url, &["--name", "said-no"])?;
    let code = no.code()?;
    assert!(
        run_cli(&state, &["nodes", "reject", &code])?
            .status
            .success()
    );
    assert_eq!(no.exit_code()?, 2, "{:#?}", no.seen);
    let (code, v) = doctor(&state, &["--node", "said-no"])?;
    assert_eq!((code, v["cause"].as_str()), (1, Some("rejected")), "{v}");
    let found = v["findings"].to_string();
    assert!(
        found.contains("was rejected ") && found.contains("by operator "),
        "{v}"
    );
    assert!(
        v["next"]
            .as_str()
            .is_some_and(|n| n.starts_with(&format!("openclaw node pair --url {url}"))),
        "{v}"
    );

    let mut late = NodePair::start(&root.path().join("late"), &url, &["--name", "too-late"])?;
    late.code()?;
    assert_eq!(late.exit_code()?, 3, "{:#?}", late.seen);
    let (code, v) = doctor(&state, &["--node", "too-late"])?;
    assert_eq!((code, v["cause"].as_str()), (1, Some("expired")), "{v}");
    assert!(v["findings"].to_string().contains("expired "), "{v}");

    // Never seen by this gateway.
    let (_, v) = doctor(&state, &["--node", "stranger"])?;
    assert_eq!(v["cause"], "no-request", "{v}");
    assert!(
        v["findings"]
            .to_string()
            .contains("never asked this gateway"),
        "{v}"
    );
    Ok(())
}

#[test]
fn watch_starts_with_the_requests_already_pending() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw = Gateway::start(&state)?;
    let mut early = NodePair::start(
        &root.path().join("early"),
        &gw.url,
        &["--name", "early-bird"],
    )?;
    let early_code = early.code()?;

    let mut json = Watch::start(&state, &["--json"])?;
    let mut human = Watch::start(&state, &[])?;
    json.wait_for(&["stderr: Watching pairing events"])?;
    human.wait_for(&["stderr: Watching pairing events"])?;
    let pending = human.wait_for(&["early-bird", &early_code])?;
    assert!(pending.starts_with("pending "), "{pending}");

    // Then live events; the request pending at connect is not repeated.
    let mut live = NodePair::start(&root.path().join("live"), &gw.url, &["--name", "live-one"])?;
    let live_code = live.code()?;
    json.wait_for(&["node.pair.requested", &live_code])?;
    human.wait_for(&["requested", "live-one"])?;
    let lines: Vec<WatchLine> = json
        .seen
        .iter()
        .filter(|l| !l.starts_with("stderr: "))
        .map(|l| serde_json::from_str(l))
        .collect::<Result<_, _>>()?;
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(
        (lines[0].ty.as_str(), lines[0].event.as_str()),
        ("sync", "node.pair.pending"),
        "{lines:#?}"
    );
    let early_request = NodePending::deserialize(&lines[0].payload)?;
    assert_eq!(early_request.verification_code, early_code.as_str());
    assert_eq!(
        early_request.meta.display_name.as_deref(),
        Some("early-bird")
    );
    assert!(!early_request.request_id.as_str().is_empty());
    assert_eq!(lines[1].ty, "event");
    assert_eq!(
        Event::parse(&lines[1].event),
        Some(Event::NodePairRequested)
    );
    let live_request = NodePending::deserialize(&lines[1].payload)?;
    assert_eq!(live_request.verification_code, live_code.as_str());
    assert_eq!(
        human
            .seen
            .iter()
            .filter(|l| l.contains(&early_code))
            .count(),
        1,
        "{:#?}",
        human.seen
    );
    let _ = early.child.kill();
    let _ = live.child.kill();
    Ok(())
}

/// One line of `nodes watch --json`: the CLI's own envelope (`type` `sync` or `event`, the event's
/// name) around a payload that is the protocol's record.
#[derive(Debug, serde::Deserialize)]
struct WatchLine {
    #[serde(rename = "type")]
    ty: String,
    event: String,
    payload: serde_json::Value,
}
