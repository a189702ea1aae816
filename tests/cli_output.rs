//! Snapshots of what a person reads: `openclaw nodes …` human tables and `--json`, against a real
//! gateway with one paired node and one pending request. Ids, codes, keys, times and ages are redacted,
//! and runs of spaces collapsed (column widths depend on the redacted values).

use pairing_tests::process::{GatewayProcess, NodePair, run_cli};

/// The insta filters of CLI output: ids, codes, keys, times and ages, and column padding.
pub(crate) fn redactions() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[request-id]",
        ),
        (r"\b[0-9a-f]{64}\b", "[node-id]"),
        (r"\b[0-9a-f]{12}\b", "[short-id]"),
        // A request's short id, as tables and messages print it.
        (r"\b[0-9a-f]{8}\b", "[request]"),
        (r"\b\d{4}-\d{4}\b", "[code]"),
        (r"\b1[0-9]{12}\b", "[ms]"),
        (
            r#""publicKey": ?"[A-Za-z0-9_-]{43}""#,
            r#""publicKey":"[key]""#,
        ),
        (r"ws://127\.0\.0\.1:\d+/", "[url]"),
        (r"(\d+[smhd] )+ago|just now", "[age]"),
        // A connection's age is "just now" under 10 s, "12s" on a slow machine.
        (r"connected \(\d+[smhd]\)", "connected ([age])"),
        (r"expires in (\d+[smhd] ?)+", "expires in [t]"),
        (r"\bin \d+[smhd]\b", "in [t]"),
        (r"online \d+[smhd]", "online [age]"),
        // A cell cut to fit 80 columns: where it is cut depends on the other cells' widths (ages).
        (r"\S+…", "[cut]…"),
        (r#""version": "[^"]*""#, r#""version": "[version]""#),
        (r"\b(v?)0\.1\.0\b", "${1}[version]"),
        // Column widths follow the redacted values: keep the columns, drop the padding.
        (r" {2,}", "  "),
    ]
}

#[test]
fn nodes_commands_human_and_json() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw = GatewayProcess::start(&state, &[])?;
    let mut kitchen = NodePair::start(
        &root.path().join("kitchen"),
        &gw.url,
        &["--name", "Kitchen iPad"],
    )?;
    let code = kitchen.code()?;
    assert!(
        run_cli(&state, &["nodes", "approve", &code])?
            .status
            .success()
    );
    assert_eq!(kitchen.exit_code()?, 0);
    let mut hall = NodePair::start(
        &root.path().join("hall"),
        &gw.url,
        &["--name", "Hall tablet", "--silent"],
    )?;
    hall.code()?;

    let commands: &[(&str, &[&str])] = &[
        ("pending", &["nodes", "pending"]),
        ("pending_json", &["nodes", "pending", "--json"]),
        ("list", &["nodes", "list"]),
        ("list_json", &["nodes", "list", "--json"]),
        ("status", &["nodes", "status"]),
        ("status_json", &["nodes", "status", "--json"]),
        ("describe", &["nodes", "describe", "--node", "kitchen-ipad"]),
        (
            "rename",
            &[
                "nodes",
                "rename",
                "--node",
                "Kitchen iPad",
                "--name",
                "Kitchen iPad Pro",
            ],
        ),
        (
            "unknown_node",
            &["nodes", "remove", "--node", "nothing-like-this"],
        ),
        ("approve_unknown_code", &["nodes", "approve", "0000-0000"]),
    ];
    let snapshot = |name: &str, args: &[&str]| -> anyhow::Result<()> {
        let out = run_cli(&state, args)?;
        let text = format!(
            "$ openclaw {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
            args.join(" "),
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        insta::with_settings!({ filters => redactions(), snapshot_suffix => name }, {
            insta::assert_snapshot!("nodes", text);
        });
        Ok(())
    };
    for (name, args) in commands {
        snapshot(name, args)?;
    }
    // The paired kitchen node asks again (same key): its request is a re-pair.
    let mut again = NodePair::start(
        &root.path().join("kitchen"),
        &gw.url,
        &["--name", "Kitchen iPad Pro"],
    )?;
    again.code()?;
    snapshot("status_repair", &["nodes", "status"])?;
    let _ = again.child.kill();
    let _ = hall.child.kill();
    assert!(gw.stop()?.success());
    Ok(())
}
