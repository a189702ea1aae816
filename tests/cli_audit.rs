//! `openclaw nodes audit` and `--verify`, the built binary on a temporary state directory: the trail a
//! real gateway writes, and hand-made trails with a changed line, a deleted line, a last line cut short,
//! rotated files and none at all. Exit codes are asserted everywhere.

use pairing_core::audit::{Action, Actor, AuditEntry, Head, ReadEntry, read_line};
use pairing_core::ids::{ConnId, NodeId, RequestId};
use pairing_tests::process::{GatewayProcess, NodePair, run_cli};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `n` sealed lines (with their newlines): node `n1`… asking and being decided on, by a node and an
/// operator in turn, one minute apart ending now.
fn chain(n: usize) -> Vec<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let mut head = Head::default();
    (0..n)
        .map(|i| {
            let node = i % 2 == 0;
            let mut e = AuditEntry {
                action: if node {
                    Action::Requested
                } else {
                    Action::Approved
                },
                actor: Actor::Conn {
                    role: if node { "node" } else { "operator" },
                    client_id: "openclaw-cli".into(),
                    conn_id: ConnId(i as u64),
                    remote_ip: "127.0.0.1".into(),
                },
                approved_via: None,
                display_name: Some(format!("box {}", i / 2)),
                enrollment: None,
                hash: String::new(),
                key_fingerprint: None,
                node_id: NodeId(format!("node{:02}aaaaaaaaaaaa", i / 2)),
                prev_hash: String::new(),
                request_id: Some(RequestId(format!(
                    "{:08x}-1111-2222-3333-444455556666",
                    i / 2
                ))),
                seq: 0,
                ts: now - (n - i) as u64 * 60_000,
            };
            e.seal(&mut head);
            e.line()
        })
        .collect()
}

/// A state directory whose `nodes/` holds `files` (name, content).
fn state_with(files: &[(&str, String)]) -> anyhow::Result<tempfile::TempDir> {
    let state = tempfile::tempdir()?;
    std::fs::create_dir_all(state.path().join("nodes"))?;
    for (name, text) in files {
        // 0600, as the gateway writes them (a looser file gets a warning when the CLI opens it).
        let path = state.path().join("nodes").join(name);
        std::fs::write(&path, text)?;
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    }
    Ok(state)
}

fn verify(state: &Path) -> anyhow::Result<(i32, String, String, Value)> {
    let human = run_cli(state, &["nodes", "audit", "--verify"])?;
    let json = run_cli(state, &["nodes", "audit", "--verify", "--json"])?;
    assert_eq!(human.status.code(), json.status.code());
    let v: Value = serde_json::from_slice(&json.stdout).map_err(|e| {
        anyhow::anyhow!(
            "--verify --json is not one JSON object ({e}): {}",
            out(&json)
        )
    })?;
    Ok((
        human.status.code().unwrap_or(-1),
        out(&human),
        err(&human),
        v,
    ))
}

#[test]
fn an_intact_trail_lists_and_verifies() -> anyhow::Result<()> {
    let l = chain(6);
    let state = state_with(&[("audit.jsonl", l.concat())])?;
    let list = run_cli(state.path(), &["nodes", "audit"])?;
    assert_eq!(list.status.code(), Some(0), "{}", err(&list));
    let text = out(&list);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "Audit trail: 6 entries (seq 1–6)", "{text}");
    assert!(rows[1].starts_with("SEQ  AGE"), "{text}");
    assert!(
        rows[2].contains("6m ago") && rows[2].contains("requested") && rows[2].contains("box 0"),
        "{text}"
    );
    assert!(
        rows[7].contains("operator openclaw-cli@127.0.0.1"),
        "{text}"
    );
    assert!(err(&list).is_empty(), "{}", err(&list));

    // --node with the CLI's rules, --since, and both.
    let one = run_cli(state.path(), &["nodes", "audit", "--node", "box-1"])?;
    assert_eq!(one.status.code(), Some(0));
    assert!(
        out(&one).starts_with("Audit trail: 2 of 6 entries (seq 3–4) · box 1"),
        "{}",
        out(&one)
    );
    let recent = run_cli(state.path(), &["nodes", "audit", "--since", "150s"])?;
    assert!(
        out(&recent).starts_with("Audit trail: 2 of 6 entries (seq 5–6)"),
        "{}",
        out(&recent)
    );
    let none = run_cli(
        state.path(),
        &["nodes", "audit", "--node", "node00", "--since", "90s"],
    )?;
    assert_eq!(none.status.code(), Some(0));
    assert_eq!(
        out(&none),
        "No audit entries for box 0 (node00aaaaaa) in the last 90s (6 in the trail).\n"
    );
    let unknown = run_cli(state.path(), &["nodes", "audit", "--node", "garage"])?;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        err(&unknown)
            .starts_with("openclaw: nodes audit failed: unknown node: garage (known: box 0"),
        "{}",
        err(&unknown)
    );

    // --json: the stored lines, unchanged.
    let json = run_cli(
        state.path(),
        &["nodes", "audit", "--json", "--node", "box 2"],
    )?;
    assert_eq!(out(&json), l[4..].concat());

    let (code, stdout, stderr, v) = verify(state.path())?;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "audit trail verified: 6 entries in 1 file (seq 1–6)\n"
    );
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(
        (v["ok"].as_bool(), v["entries"].as_u64()),
        (Some(true), Some(6))
    );
    Ok(())
}

#[test]
fn a_changed_line_fails_verification_and_is_counted_in_the_listing() -> anyhow::Result<()> {
    let mut l = chain(5);
    l[2] = l[2].replace("box 1", "box 9");
    let state = state_with(&[("audit.jsonl", l.concat())])?;
    let (code, stdout, stderr, v) = verify(state.path())?;
    assert_eq!(code, 1, "{stdout}");
    let path = state.path().join("nodes/audit.jsonl");
    // The failure is an error: one line on stderr, nothing on stdout.
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "openclaw: audit trail broken at {} line 3: tampered: seq 3: its hash does not match its content \
             (the line was changed); 2 entries before it verify (seq 1–2); nothing after it was checked\n",
            path.display()
        )
    );
    assert_eq!(v["broken"]["kind"], "tampered");
    assert_eq!(v["broken"]["line"], 3);
    assert_eq!(v["broken"]["seq"], 3);
    assert_eq!(v["ok"], false);

    // The listing shows the other four and says, on stderr, what it could not show.
    let list = run_cli(state.path(), &["nodes", "audit"])?;
    assert_eq!(list.status.code(), Some(0));
    assert!(
        out(&list).starts_with("Audit trail: 4 entries"),
        "{}",
        out(&list)
    );
    assert!(!out(&list).contains("box 9"));
    let e = err(&list);
    assert!(
        e.starts_with(
            "openclaw: warning: 1 line could not be read or no longer matches its hash (first: "
        ) && e.contains("audit.jsonl line 3")
            && e.contains("run `openclaw nodes audit --verify`"),
        "{e}"
    );
    Ok(())
}

#[test]
fn a_deleted_line_is_named_as_missing() -> anyhow::Result<()> {
    let mut l = chain(5);
    l.remove(3);
    let state = state_with(&[("audit.jsonl", l.concat())])?;
    let (code, _, stderr, v) = verify(state.path())?;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "audit.jsonl line 4: missing: expected seq 4 but found seq 5 (entry 4 is missing)"
        ),
        "{stderr}"
    );
    assert_eq!(v["broken"]["kind"], "missing");
    assert_eq!(v["broken"]["expectedSeq"], 4);
    Ok(())
}

#[test]
fn a_last_line_cut_short_is_tolerated_and_reported() -> anyhow::Result<()> {
    let l = chain(4);
    let text = format!("{}{}", l[..3].concat(), &l[3][..40]);
    let state = state_with(&[("audit.jsonl", text)])?;
    let (code, stdout, stderr, v) = verify(state.path())?;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "audit trail verified: 3 entries in 1 file (seq 1–3); the last line is cut short (see the warning)\n"
    );
    assert!(
        stderr.starts_with("openclaw: warning: ")
            && stderr
                .contains("audit.jsonl line 4 is cut short (40 bytes) — a crash during an append")
            && stderr.contains("the gateway restores it from its journal at its next start"),
        "{stderr}"
    );
    assert_eq!(v["torn"]["line"], 4);
    let list = run_cli(state.path(), &["nodes", "audit"])?;
    assert_eq!(list.status.code(), Some(0));
    assert!(err(&list).contains("line 4 is cut short"), "{}", err(&list));

    // Cut short in a rotated file is not a crash during an append: that file was complete once.
    let state = state_with(&[
        ("audit.1.jsonl", format!("{}{}", l[0], &l[1][..30])),
        ("audit.jsonl", l[2..].concat()),
    ])?;
    let (code, _, stderr, v) = verify(state.path())?;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("audit.1.jsonl line 2: malformed (expected seq 2)"),
        "{stderr}"
    );
    assert_eq!(v["broken"]["kind"], "malformed");
    Ok(())
}

#[test]
fn the_chain_continues_across_rotated_files() -> anyhow::Result<()> {
    let l = chain(7);
    let state = state_with(&[
        ("audit.1.jsonl", l[..3].concat()),
        ("audit.2.jsonl", l[3..5].concat()),
        ("audit.jsonl", l[5..].concat()),
    ])?;
    let (code, stdout, _, v) = verify(state.path())?;
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        stdout,
        "audit trail verified: 7 entries in 3 files (seq 1–7)\n"
    );
    assert_eq!(v["files"].as_array().map(Vec::len), Some(3));
    assert!(
        v["files"][0]
            .as_str()
            .is_some_and(|f| f.ends_with("audit.1.jsonl")),
        "{v}"
    );
    // Listed oldest first across the files.
    let json = run_cli(state.path(), &["nodes", "audit", "--json"])?;
    assert_eq!(out(&json), l.concat());

    // The files in the wrong order (the newest rotated file named as the oldest) break the chain.
    let state = state_with(&[
        ("audit.1.jsonl", l[3..5].concat()),
        ("audit.2.jsonl", l[..3].concat()),
        ("audit.jsonl", l[5..].concat()),
    ])?;
    let (code, _, stderr, _) = verify(state.path())?;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("audit.1.jsonl line 1: missing"), "{stderr}");
    Ok(())
}

#[test]
fn an_empty_trail_says_so() -> anyhow::Result<()> {
    let missing = tempfile::tempdir()?;
    let empty = state_with(&[("audit.jsonl", String::new())])?;
    for state in [missing.path(), empty.path()] {
        let list = run_cli(state, &["nodes", "audit"])?;
        assert_eq!(list.status.code(), Some(0));
        assert!(
            out(&list).starts_with("No audit entries yet in "),
            "{}",
            out(&list)
        );
        let json = run_cli(state, &["nodes", "audit", "--json"])?;
        assert_eq!((json.status.code(), out(&json)), (Some(0), String::new()));
        let (code, stdout, _, v) = verify(state)?;
        assert_eq!(code, 0);
        assert!(
            stdout.starts_with("audit trail is empty: no entries in "),
            "{stdout}"
        );
        assert_eq!(v["entries"], 0);
    }
    let bad = run_cli(
        missing.path(),
        &["nodes", "audit", "--verify", "--node", "x"],
    )?;
    assert_eq!(
        bad.status.code(),
        Some(64),
        "clap refuses --verify with --node: a usage error"
    );
    Ok(())
}

#[test]
fn the_trail_of_a_real_gateway_lists_by_node_and_verifies() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw = GatewayProcess::start(&state, &[])?;
    let mut pi = NodePair::start(&root.path().join("pi"), &gw.url, &["--name", "kitchen-pi"])?;
    let code = pi.code()?;
    assert!(
        run_cli(&state, &["nodes", "approve", &code])?
            .status
            .success()
    );
    assert_eq!(pi.exit_code()?, 0, "{:#?}", pi.seen);
    let mut mac = NodePair::start(&root.path().join("mac"), &gw.url, &["--name", "mac-mini"])?;
    let mac_code = mac.code()?;
    assert!(
        run_cli(&state, &["nodes", "reject", &mac_code])?
            .status
            .success()
    );
    assert_eq!(mac.exit_code()?, 2, "{:#?}", mac.seen);
    assert!(
        run_cli(
            &state,
            &[
                "nodes",
                "rename",
                "--node",
                "kitchen-pi",
                "--name",
                "Kitchen Pi 2"
            ]
        )?
        .status
        .success()
    );
    assert!(
        run_cli(&state, &["nodes", "remove", "--node", "Kitchen Pi 2"])?
            .status
            .success()
    );

    // Read while the gateway runs: every decision, in order, by whom.
    let list = run_cli(&state, &["nodes", "audit"])?;
    assert_eq!(list.status.code(), Some(0), "{}", err(&list));
    let text = out(&list);
    let actions: Vec<&str> = text
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().nth(3))
        .collect();
    assert_eq!(
        actions,
        [
            "requested",
            "approved",
            "requested",
            "rejected",
            "renamed",
            "removed"
        ],
        "{text}"
    );
    assert!(
        text.contains("kitchen-pi") && text.contains("mac-mini"),
        "{text}"
    );
    assert!(text.contains("operator "), "{text}");
    assert!(!text.to_lowercase().contains("token"), "{text}");

    // The old name still finds the renamed (and removed) node's whole history.
    let json = run_cli(
        &state,
        &["nodes", "audit", "--node", "kitchen-pi", "--json"],
    )?;
    assert_eq!(json.status.code(), Some(0), "{}", err(&json));
    // Read back by the core's audit reader, which also checks each line's hash against its content.
    let entries: Vec<ReadEntry> = out(&json)
        .lines()
        .map(read_line)
        .collect::<Result<_, _>>()?;
    let actions: Vec<Option<Action>> = entries.iter().map(|e| Action::parse(&e.action)).collect();
    assert_eq!(
        actions,
        [
            Action::Requested,
            Action::Approved,
            Action::Renamed,
            Action::Removed
        ]
        .map(Some)
    );
    // A leak check looks at the whole line: no entry carries a token.
    assert!(entries.iter().all(|e| e.json.get("token").is_none()));

    let (code, stdout, stderr, v) = verify(&state)?;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "audit trail verified: 6 entries in 1 file (seq 1–6)\n"
    );
    assert_eq!(v["head"]["seq"], 6);
    assert!(gw.stop()?.success());

    // Stopped, then an entry changed behind its back: exit 1, the line named.
    let path = state.join("nodes/audit.jsonl");
    let changed = std::fs::read_to_string(&path)?.replacen("\"rejected\"", "\"approved\"", 1);
    std::fs::write(&path, changed)?;
    let (code, _, stderr, _) = verify(&state)?;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("audit.jsonl line 4: tampered: seq 4"),
        "{stderr}"
    );
    Ok(())
}
