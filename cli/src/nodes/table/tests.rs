use super::*;
use crate::testdata;
use serde_json::json;

#[test]
fn status_rows_say_paired_and_connected() {
    let now = 10_000_000;
    let nodes = [
        json!({"nodeId": "abcdef0123456789", "displayName": "pi", "paired": true, "connected": true,
               "connectedAtMs": now - 300_000, "platform": "linux", "caps": ["camera"]}),
        json!({"nodeId": "n2", "paired": false, "connected": false, "remoteIp": "10.0.0.9"}),
    ]
    .map(testdata::entry);
    let pending = [
        json!({"nodeId": "n2", "requestId": "r2"}),
        json!({"nodeId": "abcdef0123456789", "requestId": "r3", "isRepair": true}),
    ]
    .map(testdata::pending);
    let out = status_table(&nodes, &[], now);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[1].contains("pi") && lines[1].contains("abcdef012345"),
        "{out}"
    );
    assert!(lines[1].contains("paired · online 5m"), "{out}");
    assert!(
        lines[2].contains("unpaired · offline") && lines[2].contains("10.0.0.9"),
        "{out}"
    );
    assert_eq!(lines[0].find("STATUS"), lines[1].find("paired ·"));
    let out = status_table(&nodes, &pending, now);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[1].contains("paired · online 5m"), "{out}");
    assert_eq!(
        lines[2], "  ↳ a re-pair request is pending (below)",
        "{out}"
    );
    assert!(lines[3].contains("pending · offline"), "{out}");
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
}

#[test]
fn paired_rows_show_ages_approval_and_last_seen() {
    let now = 10_000_000;
    let out = paired_table(
        &[testdata::paired(
            json!({"nodeId": "n1", "approvedAtMs": now - 7_200_000}),
        )],
        now,
    );
    assert!(out.lines().nth(1).unwrap().contains("2h ago"), "{out}");
    let out = paired_table(
        &[testdata::paired(
            json!({"nodeId": "n1", "approvedAtMs": now - 7_200_000, "approvedVia": "local",
                 "clientId": "node-host", "clientMode": "node", "version": "2026.9.6",
                 "lastSeenAtMs": now - 60_000, "lastConnectedAtMs": now - 600_000}),
        )],
        now,
    );
    let row = out.lines().nth(1).unwrap();
    for want in ["2h ago · local", "1m ago"] {
        assert!(row.contains(want), "{want} missing: {out}");
    }
}

#[test]
fn pending_rows_show_name_code_and_markers() {
    let now = 1_000_000;
    let p = json!({
        "requestId": "r1", "nodeId": "abcdef0123456789", "remoteIp": "::ffff:10.0.0.2",
        "verificationCode": "1234-5678", "ts": now - 120_000, "expiresAtMs": now + 180_000,
        "requiredApproveScopes": ["operator.pairing"], "isRepair": true, "silent": true
    });
    let out = pending_table(&[testdata::pending(p)], now);
    let row = out.lines().nth(1).unwrap();
    for want in [
        "r1",
        "abcdef012345",
        "10.0.0.2",
        "1234-5678",
        "2m ago",
        "in 3m",
        "pairing",
    ] {
        assert!(row.contains(want), "{want} missing in {row}");
    }
    let note = out.lines().nth(2).unwrap();
    assert_eq!(note, "  ↳ re-pair (token rotates), silent", "{out}");
    let header = out.lines().next().unwrap();
    assert_eq!(header.find("CODE"), row.find("1234-5678"));
    // A request that replaced one says what changed: its code is the one read before.
    let p = json!({"requestId": "r2", "nodeId": "n", "commands": ["system.run"],
        "supersedes": {"requestId": "r1", "commands": []}});
    let out = pending_table(&[testdata::pending(p)], now);
    assert!(
        out.lines()
            .nth(2)
            .unwrap()
            .ends_with("changed: commands added: system.run"),
        "{out}"
    );
}

#[test]
fn a_pending_table_with_long_names_and_full_ids_fits_80_columns() {
    let now = 1_000_000;
    let rows: Vec<NodePending> = (0..3)
        .map(|i| {
            testdata::pending(json!({
                "requestId": format!("6f1c0c2e-8a8e-4f0e-9a55-2b8d3c1e7a1{i}"),
                "nodeId": "3f1c2a0b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a",
                "displayName": "Living Room iPad Pro (second floor)",
                "remoteIp": "fd7a:115c:a1e0:ab12:4843:cd96:6258:b240",
                "verificationCode": "1234-5678", "ts": now - 120_000, "expiresAtMs": now + 180_000,
                "requiredApproveScopes": ["operator.pairing", "operator.admin"], "isRepair": true,
                "commands": ["system.run"],
                "supersedes": {"requestId": "r0", "commands": []}
            }))
        })
        .collect();
    let out = pending_table(&rows, now);
    for line in out.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} wide: {line}",
            line.chars().count()
        );
    }
    let row = out.lines().nth(1).unwrap();
    assert!(row.starts_with("6f1c0c2e  "), "the short request id: {row}");
    assert!(row.contains("1234-5678") && row.contains("admin"), "{row}");
}
