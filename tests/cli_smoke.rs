//! Smoke tests of the built `openclaw` binary that need no gateway: every `--help` works and shows an
//! example, and refusals are one `openclaw: …` line on stderr with exit code 1.

use pairing_tests::process::openclaw;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

/// Runs `openclaw ARGS…` with a fresh, empty state directory, removed afterwards.
fn run(args: &[&str]) -> Output {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let state = std::env::temp_dir().join(format!(
        "openclaw-smoke-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&state).expect("temp dir");
    let out = Command::new(openclaw())
        .args(args)
        .env("OPENCLAW_STATE_DIR", &state)
        .env_remove("OPENCLAW_GATEWAY_URL")
        .env_remove("OPENCLAW_GATEWAY_TOKEN")
        .output()
        .expect("openclaw runs");
    let _ = std::fs::remove_dir_all(&state);
    out
}

#[test]
fn every_help_exits_zero_and_shows_an_example() {
    let leaves: &[&[&str]] = &[
        &["gateway"],
        &["node", "pair"],
        &["node", "verify"],
        &["node", "connect"],
        &["nodes", "pending"],
        &["nodes", "approve"],
        &["nodes", "reject"],
        &["nodes", "status"],
        &["nodes", "list"],
        &["nodes", "describe"],
        &["nodes", "rename"],
        &["nodes", "remove"],
        &["nodes", "watch"],
        &["nodes", "audit"],
        &["devices", "list"],
        &["devices", "approve"],
        &["devices", "reject"],
        &["devices", "remove"],
        &["devices", "rotate"],
        &["devices", "revoke"],
        &["completions"],
        &["doctor"],
        &["dashboard"],
    ];
    let top = run(&["--help"]);
    assert!(top.status.success());
    let text = String::from_utf8_lossy(&top.stdout);
    assert!(
        text.contains("Exit codes")
            && text.contains("3   node pair")
            && text.contains("64  usage error"),
        "{text}"
    );
    for leaf in leaves {
        let mut args = leaf.to_vec();
        args.push("--help");
        let out = run(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}");
        assert!(text.contains("Example"), "{args:?} has no example:\n{text}");
    }
}

#[test]
fn refusals_are_one_line_on_stderr_with_exit_1() {
    for (args, want) in [
        (
            &["nodes", "pending", "--url", "ws://10.9.8.7:18789/"][..],
            "--allow-plaintext",
        ),
        (
            &[
                "nodes",
                "pending",
                "--url",
                "wss://127.0.0.1:1/",
                "--token",
                "t",
                "--ca",
                "/nonexistent/ca.pem",
            ][..],
            "cannot read the CA file /nonexistent/ca.pem",
        ),
        (&["nodes", "approve", " "][..], "verification code"),
        (&["nodes", "approve"][..], "no gateway token"),
        (&["nodes", "pending"][..], "no gateway token"),
        // (`gateway --bind lan` alone is no refusal any more: it serves its own certificate.)
        (&["node", "verify"][..], "not paired yet"),
    ] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("openclaw: ") && err.contains(want),
            "{args:?}: {err}"
        );
    }
}
