use super::*;

const NOW: u64 = 100_000_000;

fn pending() -> DevicePending {
    DevicePending {
        request_id: "r1".into(),
        device_id: "3f1c2a0b9d8e7f6a5b4c".into(),
        display_name: Some("kitchen-pi".into()),
        remote_ip: Some("::ffff:192.168.1.23".into()),
        client_id: Some("node-host".into()),
        client_mode: Some("node".into()),
        version: Some("2026.9.6".into()),
        verification_code: "1234-5678".into(),
        commands: vec!["camera.snap".into(), "system.run".into()],
        required_approve_scopes: vec!["operator.pairing".into(), "operator.admin".into()],
        ts: NOW - 120_000,
        expires_at_ms: NOW + 180_000,
        ..DevicePending::default()
    }
}

#[test]
fn pending_rows_name_the_device_client_code_and_commands() {
    let out = pending_table(&[pending()], NOW);
    let (header, row) = (out.lines().next().unwrap(), out.lines().nth(1).unwrap());
    assert!(row.chars().count() <= 80, "{row}");
    for want in [
        "r1",
        "kitchen-pi · 192.168.1.23",
        "node-…",
        "1234-5678",
        "2m ago",
        "in 3m",
        "admin",
    ] {
        assert!(row.contains(want), "{want} missing in {row}");
    }
    assert_eq!(
        out.lines().nth(2),
        Some("  ↳ commands: camera.snap,system.run"),
        "{out}"
    );
    // Columns align by characters (the `·` is two bytes).
    let col = |line: &str, what: &str| line.find(what).map(|i| line[..i].chars().count());
    assert_eq!(col(header, "CODE"), col(row, "1234-5678"));
    let many = DevicePending {
        commands: (0..5).map(|i| format!("c{i}")).collect(),
        is_repair: true,
        ..pending()
    };
    let out = pending_table(&[many], NOW);
    assert!(out.contains("commands: 5 commands · re-pair"), "{out}");
    let replaced = DevicePending {
        supersedes: Some(pairing_core::Supersedes {
            request_id: pairing_core::RequestId("r0".into()),
            caps: vec![],
            commands: vec!["camera.snap".into()],
            key_changed: false,
        }),
        ..pending()
    };
    let out = pending_table(&[replaced], NOW);
    assert!(
        out.contains("· changed: commands added: system.run"),
        "{out}"
    );
}

fn paired(token: DeviceTokenSummary) -> DevicePaired {
    DevicePaired {
        device_id: "3f1c2a0b9d8e7f6a5b4c".into(),
        display_name: Some("kitchen-pi".into()),
        remote_ip: Some("127.0.0.1".into()),
        client_id: Some("node-host".into()),
        client_mode: Some("node".into()),
        role: "node".into(),
        approved_at_ms: NOW - 3_600_000,
        approved_via: Some("owner".into()),
        last_seen_at_ms: Some(NOW - 60_000),
        tokens: vec![token],
        ..DevicePaired::default()
    }
}

#[test]
fn paired_rows_show_approval_last_seen_and_token() {
    let token = |created: Option<u64>, revoked: Option<u64>| DeviceTokenSummary {
        role: "node".into(),
        scopes: vec![],
        created_at_ms: created,
        revoked_at_ms: revoked,
    };
    let out = paired_table(&[paired(token(Some(NOW - 30_000), None))], NOW);
    let row = out.lines().nth(1).unwrap();
    assert!(row.chars().count() <= 80, "{row}");
    for want in [
        "kitchen-pi ",
        "3f1c2a0b9d8e ",
        "node-host/",
        "1h ago · owner",
        "1m ago",
        "issued 30s ago",
    ] {
        assert!(row.contains(want), "{want} missing in {row}");
    }
    let out = paired_table(&[paired(token(None, None))], NOW);
    assert!(out.contains("next connect"), "{out}");
    let out = paired_table(&[paired(token(None, Some(NOW - 15_000)))], NOW);
    assert!(out.contains("revoked 15s ago"), "{out}");
    assert_eq!(token_cell(&[], "node", NOW), "-");
    assert_eq!(
        named(&paired(token(None, None))),
        "kitchen-pi (3f1c2a0b9d8e…)"
    );
}
