//! Setup codes and enrollment keys through the core: issued by an operator, redeemed by a device at
//! `connect` (protocol 4, as OpenClaw 2026.9.6's `node run --pair` does), used up, expired, revoked,
//! and kept across a restart.

use crate::enroll::SetupPayload;
use crate::gateway::tests::{T0, call, connect_with, gateway, operator, round};
use crate::proof::{self, SignedFields};
use crate::protocol::{EnrollEntry, EnrollIssued, EnrollList, HelloAuth};
use crate::store::MemoryStore;
use crate::{ConnId, Gateway};
use serde_json::{Value, json};

fn gw() -> Gateway<MemoryStore> {
    let mut g = gateway();
    g.config.public_urls = vec!["ws://127.0.0.1:18789/".into()];
    g
}

/// Calls `method` as the operator and returns the `ok` payload (panics on an error answer).
fn ok(g: &mut Gateway<MemoryStore>, op: ConnId, now: u64, method: &str, params: Value) -> Value {
    call(g, now, op, method, params);
    let (sent, _) = round(g);
    let res = sent
        .iter()
        .find(|(c, f)| *c == op && f["id"] == method)
        .map(|(_, f)| f.clone())
        .unwrap();
    assert_eq!(res["ok"], true, "{res}");
    res["payload"].clone()
}

fn issue(g: &mut Gateway<MemoryStore>, op: ConnId, params: Value) -> (EnrollIssued, String) {
    let issued: EnrollIssued =
        serde_json::from_value(ok(g, op, T0, "enroll.create", params)).unwrap();
    let payload = SetupPayload::decode(&issued.link, T0).unwrap();
    (issued, payload.bootstrap_token)
}

/// A device with key `sk` connecting with `bootstrap` as a v4 node host does; the answer.
fn redeem(g: &mut Gateway<MemoryStore>, now: u64, sk: u8, bootstrap: &str) -> (ConnId, Value) {
    let (conn, sent, _) = connect_with(g, now, |nonce| {
        let mut fields = SignedFields::node("node-host", "node", "linux", "");
        fields.token = bootstrap;
        let p = proof::sign(&[sk; 32], &fields, now, nonce);
        json!({
            "minProtocol": 4, "maxProtocol": 4, "role": "node", "scopes": [],
            "client": {"id": "node-host", "displayName": format!("box-{sk}"), "version": "1",
                       "platform": "linux", "mode": "node"},
            "commands": ["system.run", "canvas.present"],
            "auth": {"bootstrapToken": bootstrap},
            "device": {"id": p.id, "publicKey": p.public_key, "signature": p.signature,
                       "signedAt": p.signed_at, "nonce": p.nonce},
        })
    });
    let answer = sent
        .iter()
        .find(|(c, f)| *c == conn && f["id"] == "c")
        .map(|(_, f)| f.clone())
        .unwrap();
    (conn, answer)
}

fn list(g: &mut Gateway<MemoryStore>, op: ConnId, now: u64) -> Vec<EnrollEntry> {
    let l: EnrollList = serde_json::from_value(ok(g, op, now, "enroll.list", json!({}))).unwrap();
    l.enrollments
}

#[test]
fn a_setup_code_pairs_one_device_without_approval_and_never_a_second() {
    let mut g = gw();
    let op = operator(&mut g);
    let (issued, secret) = issue(&mut g, op, json!({}));
    assert_eq!(issued.gateway_url, "ws://127.0.0.1:18789");
    assert_eq!((issued.max_uses, issued.access.as_str()), (1, "full"));
    let (_, a) = redeem(&mut g, T0 + 1, 1, &secret);
    assert_eq!(a["ok"], true, "{a}");
    let auth: HelloAuth = serde_json::from_value(a["payload"]["auth"].clone()).unwrap();
    assert!(auth.device_token.is_some());
    assert_eq!(auth.method.as_deref(), Some("bootstrap-token"));
    let paired = g
        .state
        .paired(&crate::NodeId(proof::device_id(&[1; 32])))
        .unwrap();
    assert_eq!(paired.approved_via.as_deref(), Some("setup-code"));
    assert_eq!(
        paired.approved_by.as_deref(),
        Some(format!("setup-code {} issued by cli@10.0.0.1", issued.setup_id).as_str())
    );
    assert_eq!(
        paired.meta.commands.as_deref(),
        Some(&["system.run".to_owned(), "canvas.present".to_owned()][..])
    );
    let audit = g.store().audit();
    let approval = audit
        .iter()
        .rev()
        .find(|e| e.approved_via.is_some())
        .unwrap();
    assert_eq!(
        approval.enrollment.as_deref(),
        Some(issued.setup_id.as_str())
    );
    assert!(!serde_json::to_string(audit).unwrap().contains(&secret));
    // A second device with the same code: refused, and nothing is paired.
    let (_, b) = redeem(&mut g, T0 + 2, 2, &secret);
    assert_eq!(
        b["error"]["details"]["code"], "AUTH_BOOTSTRAP_TOKEN_INVALID",
        "{b}"
    );
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    assert!(
        g.state
            .paired(&crate::NodeId(proof::device_id(&[2; 32])))
            .is_none()
    );
    let e = &list(&mut g, op, T0 + 3)[0];
    assert_eq!((e.uses, e.status.as_str()), (1, "used-up"));
    assert_eq!(e.redeemed_by[0].display_name.as_deref(), Some("box-1"));
    // The device that redeemed it may present it again (it lost its hello-ok): a fresh token.
    let (_, again) = redeem(&mut g, T0 + 4, 1, &secret);
    assert_eq!(again["ok"], true, "{again}");
}

#[test]
fn an_enrollment_key_pairs_exactly_n_devices_within_its_profile() {
    let mut g = gw();
    let op = operator(&mut g);
    let (issued, secret) = issue(
        &mut g,
        op,
        json!({"kind": "key", "uses": 3, "limited": true, "namePrefix": "ci-"}),
    );
    assert_eq!((issued.max_uses, issued.access.as_str()), (3, "limited"));
    let answers: Vec<Value> = (1..=5)
        .map(|k| redeem(&mut g, T0 + u64::from(k), k, &secret).1)
        .collect();
    let admitted = answers.iter().filter(|a| a["ok"] == true).count();
    assert_eq!(admitted, 3, "{answers:#?}");
    let node = g
        .state
        .paired(&crate::NodeId(proof::device_id(&[1; 32])))
        .unwrap();
    assert_eq!(node.meta.display_name.as_deref(), Some("ci-box-1"));
    // Limited: the admin-sensitive system.run is not granted.
    assert_eq!(
        node.meta.commands.as_deref(),
        Some(&["canvas.present".to_owned()][..])
    );
    assert_eq!(node.approved_via.as_deref(), Some("key"));
}

#[test]
fn expired_and_revoked_codes_pair_nothing_and_revoking_keeps_devices_paired() {
    let mut g = gw();
    let op = operator(&mut g);
    let (_, short) = issue(&mut g, op, json!({"expiresInMs": 60_000}));
    let (_, timed) = issue(
        &mut g,
        op,
        json!({"kind": "key", "uses": 5, "expiresInMs": 60_000}),
    );
    // A key with uses left pairs nothing once its time is up.
    assert_eq!(redeem(&mut g, T0 + 59_999, 7, &timed).1["ok"], true);
    let (_, over) = redeem(&mut g, T0 + 60_000, 8, &timed);
    assert!(
        over["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{over}"
    );
    assert!(
        g.state
            .paired(&crate::NodeId(proof::device_id(&[8; 32])))
            .is_none()
    );

    let (_, late) = redeem(&mut g, T0 + 60_000, 3, &short);
    assert!(
        late["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{late}"
    );

    let (key, secret) = issue(
        &mut g,
        op,
        json!({"kind": "key", "uses": 5, "label": "fleet"}),
    );
    assert_eq!(redeem(&mut g, T0 + 1, 4, &secret).1["ok"], true);
    let revoked: EnrollEntry = serde_json::from_value(ok(
        &mut g,
        op,
        T0 + 2,
        "enroll.revoke",
        json!({ "id": &key.setup_id[..4] }),
    ))
    .unwrap();
    assert_eq!(revoked.status.as_str(), "revoked");
    let (_, after) = redeem(&mut g, T0 + 3, 5, &secret);
    assert!(
        after["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{after}"
    );
    assert!(
        g.state
            .paired(&crate::NodeId(proof::device_id(&[4; 32])))
            .is_some()
    );
}

#[test]
fn codes_survive_a_restart_and_unknown_tokens_are_refused() {
    let mut g = gw();
    let op = operator(&mut g);
    let (_, secret) = issue(&mut g, op, json!({}));
    let store = MemoryStore::restarted(g.store());
    let mut g2 = Gateway::new(g.config.clone(), [9; 32], store, T0 + 10).unwrap();
    let (_, bogus) = redeem(&mut g2, T0 + 11, 6, "not-a-token-we-issued");
    assert_eq!(
        bogus["error"]["details"]["code"],
        "AUTH_BOOTSTRAP_TOKEN_INVALID"
    );
    let (_, a) = redeem(&mut g2, T0 + 12, 6, &secret);
    assert_eq!(a["ok"], true, "{a}");
}

#[test]
fn issuing_needs_admin_and_a_url_and_plaintext_lan_codes_are_limited() {
    let mut g = gateway();
    let op = operator(&mut g);
    call(&mut g, T0, op, "enroll.create", json!({}));
    let (sent, _) = round(&mut g);
    assert!(
        sent[0].1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("publicUrl")
    );
    let issued: EnrollIssued = serde_json::from_value(ok(
        &mut g,
        op,
        T0,
        "device.pair.setupCode",
        json!({"publicUrl": "WS://192.168.1.5:18789/"}),
    ))
    .unwrap();
    assert_eq!(issued.gateway_url, "ws://192.168.1.5:18789");
    assert!(issued.profile.limited && issued.downgraded.is_some());
    // An operator without operator.admin may list but not issue.
    let (reader, sent, _) = connect_with(&mut g, T0, |_| {
        crate::gateway::tests::operator_params(json!({"scopes": ["operator.pairing"]}))
    });
    assert_eq!(sent[0].1["ok"], true);
    call(&mut g, T0, reader, "enroll.create", json!({}));
    let (sent, _) = round(&mut g);
    assert_eq!(sent[0].1["error"]["details"]["code"], "MISSING_SCOPE");
    assert_eq!(list(&mut g, reader, T0).len(), 1);
}

#[test]
fn the_log_names_codes_issued_and_revoked_and_the_code_that_paired_a_device() {
    let mut g = gw();
    let op = operator(&mut g);
    let (issued, secret) = issue(&mut g, op, json!({"label": "kitchen"}));
    redeem(&mut g, T0 + 1, 7, &secret);
    ok(
        &mut g,
        op,
        T0 + 2,
        "enroll.revoke",
        json!({ "id": &issued.setup_id }),
    );
    let mut lines = Vec::new();
    while let Some(n) = g.poll_notice() {
        lines.push(n.to_string());
    }
    let id = &issued.setup_id;
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("setup code \"kitchen\" {id} issued; by operator"))),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("via setup-code {id}; by the gateway"))),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("setup code \"kitchen\" {id} revoked"))),
        "{lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.contains(&secret)));
}
