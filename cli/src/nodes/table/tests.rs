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
    assert!(lines[1].contains("paired · connected (5m)"), "{out}");
    assert!(
        lines[1].contains("now"),
        "a connected node is seen now: {out}"
    );
    assert!(
        lines[2].contains("unpaired · disconnected") && lines[2].contains("10.0.0.9"),
        "{out}"
    );
    assert_eq!(lines[0].find("STATUS"), lines[1].find("paired ·"));
    let out = status_table(&nodes, &pending, now);
    assert!(
        out.contains("paired · re-pair pending · connected (5m)"),
        "{out}"
    );
    assert!(out.contains("pending · disconnected"), "{out}");
}

#[test]
fn paired_rows_show_ages_approval_client_and_last_seen() {
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
    for want in ["2h ago · local", "node-host/node v2026.9.6", "1m ago"] {
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
        "expires in 3m",
        "pairing",
        "re-pair",
        "silent",
    ] {
        assert!(row.contains(want), "{want} missing in {row}");
    }
    let header = out.lines().next().unwrap();
    assert_eq!(header.find("CODE"), row.find("1234-5678"));
    // A request that replaced one says what changed: its code is the one read before.
    let p = json!({"requestId": "r2", "nodeId": "n", "commands": ["system.run"],
        "supersedes": {"requestId": "r1", "commands": []}});
    let out = pending_table(&[testdata::pending(p)], now);
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .ends_with("changed: commands added: system.run"),
        "{out}"
    );
}
