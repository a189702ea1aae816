use super::*;
use crate::testdata;
use serde_json::json;

#[test]
fn both_shapes_read_the_same() {
    let node = Request::from_node(&testdata::pending(json!({
        "requestId": "r1", "nodeId": "d1", "displayName": "pi", "remoteIp": "127.0.0.1",
        "verificationCode": "1111-2222", "isRepair": false, "clientId": "node-host",
        "requiredApproveScopes": ["operator.pairing", "operator.write"]
    })));
    let device = Request::from_device(&DevicePending {
        request_id: "r1".into(),
        device_id: "d1".into(),
        display_name: Some("pi".into()),
        remote_ip: Some("127.0.0.1".into()),
        verification_code: "1111-2222".into(),
        client_id: Some("node-host".into()),
        required_approve_scopes: vec!["operator.pairing".into(), "operator.write".into()],
        ..DevicePending::default()
    });
    assert_eq!(node, device);
    assert!(node.by_device_pairing());
    assert_eq!(
        node.line(),
        "pi (127.0.0.1), code 1111-2222, request r1, needs scopes pairing,write"
    );
    let explicit = Request::from_node(&testdata::pending(
        json!({"requestId": "r2", "nodeId": "abcdef0123456789"}),
    ));
    assert!(!explicit.by_device_pairing());
    assert_eq!(explicit.label(), "abcdef012345");
    assert_eq!(explicit.candidate().request_id.as_deref(), Some("r2"));
}

#[test]
fn a_replacing_request_says_what_changed() {
    let p = Request::from_node(&testdata::pending(json!({
        "requestId": "r2", "nodeId": "n", "caps": ["system"],
        "commands": ["canvas.present", "system.run"],
        "supersedes": {"requestId": "r1", "caps": [], "commands": ["canvas.present", "x"]}
    })));
    assert_eq!(
        p.changes().as_deref(),
        Some(
            "it replaced request r1 (commands added: system.run; commands removed: x; caps added: \
             system)"
        )
    );
    assert_eq!(
        p.surface(),
        "caps: system; commands: canvas.present, system.run"
    );
    let keyed = Request::from_node(&testdata::pending(json!({"requestId": "r2", "nodeId": "n",
        "supersedes": {"requestId": "r1", "keyChanged": true}})));
    assert_eq!(
        keyed.changes().as_deref(),
        Some("it replaced request r1 (the device key changed)")
    );
    assert_eq!(keyed.surface(), "caps: none; commands: none");
    let plain = Request::from_node(&testdata::pending(
        json!({"requestId": "r1", "nodeId": "n"}),
    ));
    assert_eq!(plain.changes(), None);
}

#[test]
fn the_summary_names_ids_codes_and_nodes() {
    assert_eq!(summary(&[]), "no requests are pending");
    let p = Request::from_node(&testdata::pending(
        json!({"requestId": "r1", "verificationCode": "1111-2222", "nodeId": "n", "displayName": "pi"}),
    ));
    assert_eq!(summary(&[p]), "pending now: r1 (code 1111-2222, pi)");
}
