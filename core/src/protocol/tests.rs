use super::*;

#[test]
fn the_highest_common_version_is_chosen() {
    assert_eq!(negotiate(3, 3), Some(3));
    assert_eq!(negotiate(4, 4), Some(4));
    assert_eq!(negotiate(3, 4), Some(4));
    assert_eq!(negotiate(1, 9), Some(4));
    assert_eq!(negotiate(5, 6), None);
    assert_eq!(negotiate(1, 2), None);
    assert_eq!(negotiate(4, 3), None);
}

#[test]
fn unknown_detail_codes_parse_as_unknown() {
    let c: DetailCode = serde_json::from_str("\"AUTH_RATE_LIMITED\"").unwrap();
    assert_eq!(c, DetailCode::Unknown);
    let c: DetailCode = serde_json::from_str("\"PAIRING_REQUIRED\"").unwrap();
    assert_eq!(c, DetailCode::PairingRequired);
}

use crate::view::PairedView;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Reads `value` as `T` and writes it back: it must come out equal.
fn round_trip<T: Serialize + DeserializeOwned>(value: &Value) -> Result<(), String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|e| format!("parse: {e}"))?;
    let back = serde_json::to_value(&typed).map_err(|e| format!("write: {e}"))?;
    if &back == value {
        Ok(())
    } else {
        Err(format!("written back as {back}"))
    }
}

#[test]
fn records_round_trip() {
    let pending = json!({
        "requestId": "r1", "nodeId": "n1", "displayName": "iPad", "commands": ["system.run"],
        "remoteIp": "10.0.0.2", "silent": true, "isRepair": false, "publicKey": "pk",
        "clientId": "node-host", "clientMode": "node", "verificationCode": "1234-5678", "ts": 5,
        "expiresAtMs": 300005, "requiredApproveScopes": ["operator.pairing", "operator.admin"],
        "supersedes": {"requestId": "r0", "caps": [], "commands": []}
    });
    round_trip::<NodePending>(&pending).unwrap();
    let p: NodePending = serde_json::from_value(pending).unwrap();
    assert_eq!(p.request_id.as_str(), "r1");
    assert_eq!(p.name(), "iPad");
    let paired = json!({
        "nodeId": "n1", "platform": "ios", "createdAtMs": 1, "approvedAtMs": 2,
        "approvedVia": "owner", "token": "secret"
    });
    round_trip::<NodePaired>(&paired).unwrap();
    let n: NodePaired = serde_json::from_value(paired).unwrap();
    assert_eq!(n.token.as_ref().map(TokenText::expose), Some("secret"));
    assert!(
        !format!("{n:?}").contains("secret"),
        "Debug never shows a token"
    );
    assert_eq!(n.name(), "n1");
    round_trip::<NodeEntry>(&json!({"nodeId": "n1", "paired": true, "connected": false})).unwrap();
    round_trip::<PairResolved>(&json!({
        "requestId": "r1", "nodeId": "n1", "decision": "approved", "ts": 9, "token": "t"
    }))
    .unwrap();
    let e = json!({
        "code": "INVALID_REQUEST", "message": "unknown requestId: it expired",
        "details": {"reason": "expired", "requestId": "r1"}
    });
    round_trip::<ApiError>(&e).unwrap();
    let e: ApiError = serde_json::from_value(e).unwrap();
    assert_eq!(e.gone(), Some(Decision::Expired));
    assert_eq!(e.detail().request_id.as_deref(), Some("r1"));
    assert_eq!(e.detail_code(), None);
    let e: ApiError = serde_json::from_value(json!({
        "code": "FORBIDDEN", "message": "missing scope: operator.admin",
        "details": {"code": "MISSING_SCOPE", "missingScope": "operator.admin"}
    }))
    .unwrap();
    assert_eq!(e.detail_code(), Some(DetailCode::MissingScope));
    assert_eq!(e.detail().missing_scope.as_deref(), Some("operator.admin"));
    let e: ApiError =
        serde_json::from_value(json!({"code": "SOMETHING_NEW", "message": "x", "details": 5}))
            .unwrap();
    assert_eq!(e.code, ErrorCode::Unknown);
    assert_eq!(e.detail(), ErrorDetails::default());
}

#[test]
fn the_gateway_views_serialise_as_clients_read_them() {
    use crate::record::{NodeMeta, PairedNode};
    let node = PairedNode {
        node_id: crate::NodeId("n1".into()),
        token_hash: crate::secret::TokenHash::of("t"),
        meta: NodeMeta {
            display_name: Some("Box".into()),
            ..NodeMeta::default()
        },
        remote_ip: None,
        public_key: None,
        created_at_ms: 1,
        approved_at_ms: 2,
        renamed_at_ms: None,
        last_connected_at_ms: None,
        device: None,
        approved_via: Some("owner".into()),
        approved_by: None,
        description: None,
        last_seen_at_ms: None,
        token_issued_at_ms: None,
        token_revoked_at_ms: None,
        extra: serde_json::Map::new(),
    };
    let text = serde_json::to_string(&PairedView::new(&node).with_token("tok")).unwrap();
    assert_eq!(
        text,
        r#"{"nodeId":"n1","displayName":"Box","createdAtMs":1,"approvedAtMs":2,"approvedVia":"owner","token":"tok"}"#
    );
    let back: NodePaired = serde_json::from_str(&text).unwrap();
    assert_eq!(back, PairedView::new(&node).with_token("tok"));
}

#[test]
fn connect_params_carry_the_protocol_range_and_the_role() {
    let op = ConnectParams::operator(
        "tok",
        ClientInfo::new("cli", "cli", "1.0", "linux"),
        &["operator.read"],
    );
    assert_eq!(
        op.to_value(),
        json!({
            "minProtocol": PROTOCOL_VERSION, "maxProtocol": PROTOCOL_VERSION,
            "client": {"id": "cli", "version": "1.0", "platform": "linux", "mode": "cli"},
            "role": "operator", "scopes": ["operator.read"], "auth": {"token": "tok"}
        })
    );
    assert!(
        !format!("{op:?}").contains("tok\""),
        "Debug hides the token"
    );
    let device = ConnectDevice {
        id: "d".into(),
        public_key: "k".into(),
        signature: "s".into(),
        signed_at: 1,
        nonce: Some("n".into()),
    };
    let node = ConnectParams::node(
        ClientInfo::new("node-host", "node", "2026.9.6", "linux").named("Box"),
        device,
    )
    .protocol(4)
    .declaring(&[], &["system.run"])
    .with_token("shared");
    let v = node.to_value();
    assert_eq!(
        (v["minProtocol"].clone(), v["maxProtocol"].clone()),
        (json!(4), json!(4))
    );
    assert_eq!(v["role"], "node");
    assert_eq!(v["commands"], json!(["system.run"]));
    assert_eq!(v["auth"], json!({"token": "shared"}));
    assert_eq!(v["device"]["signedAt"], 1);
    assert_eq!(v["client"]["displayName"], "Box");
    round_trip::<ConnectParams>(&v).unwrap();
    assert!(negotiate(PROTOCOL_VERSION, PROTOCOL_VERSION).is_some());
}
