use super::*;
use serde_json::json;

const KEY: &str = "YrAnO_CzuDGIfwMOjmYzH1sZ05vlWK6C64s3SB9L6z8";
const ID: &str = "f03edd227f0634a2afa9d054f3334dd4e63c6d1308c7745fc93a92db11be6926";

/// A row as OpenClaw 2026.9.6 writes it for a node host it paired.
fn row(edit: impl FnOnce(&mut Map<String, Value>)) -> Map<String, Value> {
    let mut r = json!({
        "device_id": ID, "public_key": KEY, "display_name": "realbox", "operator_label": null,
        "platform": "linux", "device_family": "Linux", "client_id": "node-host", "client_mode": "node",
        "browser_origin": null, "role": "node", "roles_json": "[\"node\"]", "scopes_json": "[]",
        "approved_scopes_json": "[]", "remote_ip": null,
        "tokens_json": "{\"node\":{\"token\":\"plain-device-token\",\"role\":\"node\",\"scopes\":[],\"createdAtMs\":1796274859759}}",
        "approved_via": "silent", "node_surface_json": "{\"caps\":[\"system\"],\"commands\":[\"system.which\"]}",
        "pending_node_surface_json": null, "created_at_ms": 1796274859759_u64,
        "approved_at_ms": 1796274859759_u64, "last_seen_at_ms": 1796274859718_u64,
        "last_seen_reason": "connect"
    })
    .as_object()
    .cloned()
    .unwrap();
    edit(&mut r);
    r
}

#[test]
fn a_node_row_becomes_a_paired_record_with_its_token_hashed_surface_and_times() {
    let out = openclaw_sqlite_paired(&[row(|_| {})], 5);
    assert!(out.skipped.is_empty(), "{:?}", out.skipped);
    let p = &out.paired[0];
    assert_eq!(p.node_id.as_str(), ID);
    assert!(p.token_hash.matches("plain-device-token"));
    assert!(
        !serde_json::to_string(p)
            .unwrap()
            .contains("plain-device-token")
    );
    assert_eq!(
        p.meta.commands.as_deref(),
        Some(&["system.which".to_owned()][..])
    );
    assert_eq!(p.meta.caps.as_deref(), Some(&["system".to_owned()][..]));
    assert_eq!(p.last_seen_at_ms, Some(1796274859718));
    assert_eq!(p.approved_at_ms, 1796274859759);
    assert_eq!(p.approved_via.as_deref(), Some("import"));
    assert_eq!(p.approved_by.as_deref(), Some("import"));
    assert_eq!(p.meta.display_name.as_deref(), Some("realbox"));
    assert_eq!(p.renamed_at_ms, None);
}

#[test]
fn malformed_rows_are_skipped_each_named_with_why_and_the_rest_imported() {
    let bad: Vec<(Map<String, Value>, &str, &str)> = vec![
        (row(|r| r["public_key"] = Value::Null), ID, "no public_key"),
        (row(|r| r["public_key"] = json!("")), ID, "no public_key"),
        (row(|r| r["public_key"] = json!("not-a-key")), ID, "32-byte"),
        (
            row(|r| r["device_id"] = Value::Null),
            "row 4",
            "no device_id",
        ),
        (
            row(|r| r["device_id"] = json!("00".repeat(32))),
            "0000",
            "SHA-256",
        ),
        (
            row(|r| r["tokens_json"] = json!("{broken")),
            ID,
            "tokens_json is not valid JSON",
        ),
        (
            row(|r| r["tokens_json"] = json!("[1]")),
            ID,
            "tokens_json is not a JSON object",
        ),
        (
            row(|r| r["roles_json"] = json!("nope")),
            ID,
            "roles_json is not valid JSON",
        ),
        (
            row(|r| r["node_surface_json"] = json!("{")),
            ID,
            "node_surface_json is not valid JSON",
        ),
        (
            row(|r| {
                r["role"] = json!("operator");
                r["roles_json"] = json!("[\"operator\"]");
            }),
            ID,
            "not a node (role operator)",
        ),
        (
            row(|r| {
                r["role"] = Value::Null;
                r["roles_json"] = Value::Null;
            }),
            ID,
            "not a node (role none)",
        ),
    ];
    let mut rows: Vec<Map<String, Value>> = bad.iter().map(|b| b.0.clone()).collect();
    // NULL and mistyped times, a NULL token column and a label: imported with fallbacks.
    rows.push(row(|r| {
        r["created_at_ms"] = Value::Null;
        r["approved_at_ms"] = json!("yesterday");
        r["last_seen_at_ms"] = json!(1.5);
        r["tokens_json"] = Value::Null;
        r["operator_label"] = json!("Kitchen\u{202E}Pi");
    }));
    let out = openclaw_sqlite_paired(&rows, 77);
    assert_eq!(out.skipped.len(), bad.len(), "{:?}", out.skipped);
    for (s, (_, key, why)) in out.skipped.iter().zip(&bad) {
        assert!(
            s.key.starts_with("device_pairing_paired ") && s.key.contains(key),
            "{s:?}"
        );
        assert!(s.why.contains(why), "{s:?} should say {why}");
    }
    let p = &out.paired[0];
    assert_eq!(
        (p.created_at_ms, p.approved_at_ms, p.last_seen_at_ms),
        (77, 77, None)
    );
    assert_eq!(
        p.token_issued_at_ms, None,
        "no token: gets one when it next connects"
    );
    assert_eq!(
        p.meta.display_name.as_deref(),
        Some("KitchenPi"),
        "hidden characters stripped"
    );
    assert_eq!(p.renamed_at_ms, Some(77));
}
