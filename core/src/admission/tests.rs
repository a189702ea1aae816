//! Device pairing at `connect`, end to end through the core: real OpenClaw node hosts' ways of
//! connecting (v3 and v4, gateway token or device token), one approval, and what removal, rotation and
//! revocation do to live connections.

use crate::gateway::tests::{T0, call, gateway, nonce_of, operator, operator_params};
use crate::proof::{self, SignedFields};
use crate::protocol::{DetailCode, HelloAuth, PairingRequired};
use crate::store::MemoryStore;
use crate::{ConnId, Gateway, Output};
use serde_json::{Value, json};

const SHARED: &str = "gw-token";
const KEY: [u8; 32] = [42; 32];

/// What one round sent: frames per connection, and closes with their reasons.
#[derive(Debug, Default)]
struct Round {
    sent: Vec<(ConnId, Value)>,
    closed: Vec<(ConnId, u16, String)>,
}

impl Round {
    fn to(&self, conn: ConnId) -> Vec<&Value> {
        self.sent
            .iter()
            .filter(|(c, _)| *c == conn)
            .map(|(_, f)| f)
            .collect()
    }

    fn events(&self, conn: ConnId) -> Vec<&str> {
        self.to(conn)
            .into_iter()
            .filter_map(|f| f["event"].as_str())
            .filter(|e| *e != "tick")
            .collect()
    }
}

fn round(g: &mut Gateway<MemoryStore>) -> Round {
    let _ = g.commit();
    let mut r = Round::default();
    while let Some(o) = g.poll_output() {
        match o {
            Output::Send { conn, text } => {
                r.sent.push((conn, serde_json::from_str(&text).unwrap()))
            }
            Output::Close { conn, code, reason } => r.closed.push((conn, code, reason.into())),
            Output::Broadcast { .. } => unreachable!(),
        }
    }
    r
}

/// How a node host connects.
struct Host {
    protocol: u64,
    auth: Value,
    commands: Vec<&'static str>,
    ip: &'static str,
}

impl Host {
    fn v4() -> Self {
        Host {
            protocol: 4,
            auth: json!({ "token": SHARED }),
            commands: vec!["system.run", "canvas.present"],
            ip: "192.168.1.23",
        }
    }

    fn v3() -> Self {
        Host {
            protocol: 3,
            ..Host::v4()
        }
    }
}

/// Opens a node connection as an OpenClaw node host would and returns it with its answer.
fn connect(g: &mut Gateway<MemoryStore>, now: u64, host: &Host) -> (ConnId, Round) {
    let conn = g.open(now, host.ip.parse().unwrap()).unwrap();
    let r = round(g);
    let nonce = nonce_of(&r.sent, conn);
    let signed_token = ["token", "deviceToken", "bootstrapToken"]
        .iter()
        .find_map(|k| host.auth[k].as_str())
        .unwrap_or("");
    let mut fields = SignedFields::node("node-host", "node", "linux", "Linux");
    fields.token = signed_token;
    let p = proof::sign(&KEY, &fields, now, &nonce);
    let params = json!({
        "minProtocol": host.protocol, "maxProtocol": host.protocol, "role": "node", "scopes": [],
        "client": {"id": "node-host", "displayName": "kitchen-pi", "version": "2026.9.6",
                   "platform": "linux", "deviceFamily": "Linux", "mode": "node", "instanceId": "x"},
        "caps": ["system"], "commands": host.commands, "pathEnv": "/usr/bin",
        "auth": host.auth,
        "device": {"id": p.id, "publicKey": p.public_key, "signature": p.signature,
                   "signedAt": p.signed_at, "nonce": p.nonce},
    });
    let frame = json!({"type": "req", "id": "c", "method": "connect", "params": params});
    g.frame(now, conn, &frame.to_string());
    (conn, round(g))
}

fn answer(r: &Round, conn: ConnId) -> Value {
    r.to(conn)
        .into_iter()
        .find(|f| f["id"] == "c")
        .cloned()
        .unwrap()
}

fn hello_auth(r: &Round, conn: ConnId) -> HelloAuth {
    let a = answer(r, conn);
    assert_eq!(a["ok"], true, "{a}");
    serde_json::from_value(a["payload"]["auth"].clone()).unwrap()
}

fn node_entry(g: &mut Gateway<MemoryStore>, op: ConnId) -> Value {
    call(g, T0, op, "node.list", json!({}));
    let r = round(g);
    r.to(op)[0]["payload"]["nodes"][0].clone()
}

fn approve_by_code(g: &mut Gateway<MemoryStore>, now: u64, op: ConnId, code: &str) -> Round {
    call(g, now, op, "node.pair.approve", json!({ "code": code }));
    round(g)
}

/// The device connects (protocol 4, refused) and an operator approves it by its code.
fn pair(g: &mut Gateway<MemoryStore>, op: ConnId) {
    connect(g, T0, &Host::v4());
    approve_by_code(g, T0, op, &pending_code(g));
}

/// The verification code of the (one) pending request.
fn pending_code(g: &Gateway<MemoryStore>) -> String {
    g.state()
        .all_pending()
        .values()
        .next()
        .map(crate::state::code_of)
        .unwrap()
}

#[test]
fn a_v4_node_host_is_asked_to_wait_then_admitted_with_a_device_token_after_one_approval() {
    let mut g = gateway();
    let op = operator(&mut g);
    let (n, r) = connect(&mut g, T0, &Host::v4());
    let a = answer(&r, n);
    assert_eq!(a["error"]["code"], "NOT_PAIRED");
    let details: PairingRequired = serde_json::from_value(a["error"]["details"].clone()).unwrap();
    assert_eq!(details.code, DetailCode::PairingRequired);
    assert_eq!(details.recommended_next_step, "wait_then_retry");
    assert!(!details.pause_reconnect);
    assert_eq!(details.device_id, proof::device_id(&KEY));
    let (_, code, reason) = &r.closed[0];
    assert_eq!(*code, 1008);
    assert_eq!(
        reason,
        &format!("pairing required (requestId: {})", details.request_id)
    );
    assert_eq!(
        r.events(op),
        ["node.pair.requested", "device.pair.requested"],
        "one request, in both vocabularies"
    );

    // The client retries: the same request, no new event, however often.
    for i in 1..4 {
        let (n, r) = connect(&mut g, T0 + i * 1_000, &Host::v4());
        let a = answer(&r, n);
        assert_eq!(
            a["error"]["details"]["requestId"],
            details.request_id.as_str()
        );
        assert!(r.events(op).is_empty());
    }

    let r = approve_by_code(&mut g, T0 + 5_000, op, &details.verification_code);
    assert_eq!(r.to(op).last().unwrap()["ok"], true);
    assert_eq!(r.events(op), ["node.pair.resolved", "device.pair.resolved"]);
    let record = g
        .state()
        .paired(&crate::NodeId(details.device_id.clone()))
        .unwrap()
        .clone();
    assert_eq!(record.approved_via.as_deref(), Some("owner"));
    assert_eq!(record.token_issued_at_ms, None, "nothing handed over yet");

    // Its next retry is admitted, with a device token whose hash alone is stored.
    let (n, r) = connect(&mut g, T0 + 6_000, &Host::v4());
    let auth = hello_auth(&r, n);
    assert_eq!(auth.method.as_deref(), Some("token"));
    let token = auth.device_token.expect("a device token");
    let record = g.state().paired(&record.node_id).unwrap().clone();
    assert!(record.token_hash.matches(&token));
    assert!(!serde_json::to_string(&record).unwrap().contains(&token));
    let e = node_entry(&mut g, op);
    assert_eq!(
        (e["paired"].clone(), e["connected"].clone()),
        (json!(true), json!(true))
    );

    // Reconnecting with the gateway token again: admitted, the token it holds keeps working.
    g.closed(T0 + 7_000, n);
    let (n, r) = connect(&mut g, T0 + 7_000, &Host::v4());
    assert_eq!(hello_auth(&r, n).device_token, None);
    // With the device token alone (no gateway token), as OpenClaw clients do without one.
    let host = Host {
        auth: json!({ "deviceToken": token }),
        ..Host::v4()
    };
    let (n2, r) = connect(&mut g, T0 + 8_000, &host);
    assert_eq!(hello_auth(&r, n2).method.as_deref(), Some("device-token"));
    let host = Host {
        auth: json!({ "token": token, "deviceToken": token }),
        protocol: 3,
        ..Host::v4()
    };
    let (n3, r) = connect(&mut g, T0 + 8_000, &host);
    assert_eq!(hello_auth(&r, n3).method.as_deref(), Some("device-token"));
    let _ = n;
}

/// Issue #14 item 8: while the store fails, a paired device that reconnects is still admitted — its
/// `lastSeenAtMs` is not worth refusing it for.
#[test]
fn a_paired_device_reconnects_while_the_store_fails() {
    let mut g = gateway();
    let op = operator(&mut g);
    pair(&mut g, op);
    let (n, r) = connect(&mut g, T0 + 1_000, &Host::v4());
    assert!(hello_auth(&r, n).device_token.is_some());
    g.closed(T0 + 1_000, n);
    // The store starts failing (a round that writes finds out).
    g.store_mut().fail_next_commits(u32::MAX);
    call(
        &mut g,
        T0 + 2_000,
        op,
        "node.pair.request",
        json!({"nodeId": "x"}),
    );
    round(&mut g);
    assert!(g.store_health().is_some());
    let attempts = g.store().commit_attempts();
    // Minutes later (its last-seen time is stale), it reconnects: admitted, nothing written.
    let (n, r) = connect(&mut g, T0 + 200_000, &Host::v4());
    assert_eq!(hello_auth(&r, n).device_token, None);
    assert!(r.closed.is_empty());
    assert_eq!(g.store().commit_attempts(), attempts);
}

#[test]
fn wrong_credentials_are_refused_with_codes_clients_decide_on() {
    let mut g = gateway();
    let op = operator(&mut g);
    let (_, r) = connect(&mut g, T0, &Host::v4());
    let code = r
        .sent
        .iter()
        .find_map(|(_, f)| f["error"]["details"]["verificationCode"].as_str());
    approve_by_code(&mut g, T0, op, code.unwrap());

    let refused = |g: &mut Gateway<MemoryStore>, auth: Value| {
        let host = Host { auth, ..Host::v4() };
        let (n, r) = connect(g, T0 + 1_000, &host);
        let a = answer(&r, n);
        assert_eq!(a["error"]["code"], "UNAUTHORIZED", "{a}");
        assert_eq!(r.closed[0].1, 1008);
        a["error"]["details"].clone()
    };
    let d = refused(&mut g, json!({ "token": "wrong" }));
    assert_eq!(d["code"], "AUTH_TOKEN_MISMATCH");
    assert_eq!(
        d["canRetryWithDeviceToken"], true,
        "a paired device may hold one"
    );
    let d = refused(&mut g, json!({ "deviceToken": "stale" }));
    assert_eq!(d["code"], "AUTH_DEVICE_TOKEN_MISMATCH");
    let d = refused(&mut g, json!({ "token": SHARED, "deviceToken": "stale" }));
    assert_eq!(d["code"], "AUTH_DEVICE_TOKEN_MISMATCH");
    let d = refused(&mut g, json!({ "bootstrapToken": "never-issued" }));
    assert_eq!(d["code"], "AUTH_BOOTSTRAP_TOKEN_INVALID");
    assert_eq!(
        g.state().pending_count(),
        0,
        "no request for a refused credential"
    );
}

#[test]
fn a_v3_node_host_waits_connected_and_is_paired_in_place() {
    let mut g = gateway();
    let op = operator(&mut g);
    let (n, r) = connect(&mut g, T0, &Host::v3());
    let auth = hello_auth(&r, n);
    assert_eq!(auth.device_token, None);
    assert!(r.closed.is_empty());
    let e = node_entry(&mut g, op);
    assert_eq!(
        (e["paired"].clone(), e["connected"].clone()),
        (json!(false), json!(true))
    );
    let code = pending_code(&g);

    // The request expires while it waits: it asks again at once, and stays connected.
    g.wake(T0 + 20_000);
    let r = round(&mut g);
    assert!(r.closed.is_empty(), "{r:?}");
    assert_eq!(
        r.events(op),
        [
            "node.pair.resolved",
            "device.pair.resolved",
            "node.pair.requested",
            "device.pair.requested"
        ]
    );
    assert_eq!(g.state().pending_count(), 1);

    let r = approve_by_code(&mut g, T0 + 21_000, op, &code);
    assert!(r.closed.is_empty(), "not disconnected: {r:?}");
    let e = node_entry(&mut g, op);
    assert_eq!(
        (e["paired"].clone(), e["connected"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(e["commands"], json!(["canvas.present", "system.run"]));
}

#[test]
fn rejecting_a_waiting_v3_device_closes_it() {
    let mut g = gateway();
    let op = operator(&mut g);
    let (n, _) = connect(&mut g, T0, &Host::v3());
    let code = pending_code(&g);
    call(&mut g, T0, op, "node.pair.reject", json!({ "code": code }));
    let r = round(&mut g);
    assert_eq!(r.closed, [(n, 1008, "pairing rejected".to_owned())]);
}

#[test]
fn a_rejected_v4_device_is_told_once_to_stop_retrying_then_may_ask_again() {
    let mut g = gateway();
    let op = operator(&mut g);
    connect(&mut g, T0, &Host::v4());
    let code = pending_code(&g);
    call(
        &mut g,
        T0,
        op,
        "device.pair.reject",
        json!({ "code": code }),
    );
    round(&mut g);
    let (n, r) = connect(&mut g, T0 + 1_000, &Host::v4());
    let d: PairingRequired =
        serde_json::from_value(answer(&r, n)["error"]["details"].clone()).unwrap();
    assert!(d.pause_reconnect);
    assert_eq!(d.reason, "rejected");
    assert_eq!(g.state().pending_count(), 0, "no new request for it");
    let (n, r) = connect(&mut g, T0 + 60_000, &Host::v4());
    assert_eq!(answer(&r, n)["error"]["details"]["reason"], "not-paired");
    assert_eq!(g.state().pending_count(), 1);
}

#[test]
fn removal_closes_the_devices_connections_and_its_next_attempt_is_a_new_request() {
    let mut g = gateway();
    let op = operator(&mut g);
    let (_, r) = connect(&mut g, T0, &Host::v4());
    let first = r.sent[0].1["error"]["details"]["requestId"].clone();
    let code = pending_code(&g);
    approve_by_code(&mut g, T0, op, &code);
    let (n, r) = connect(&mut g, T0 + 1_000, &Host::v4());
    let token = hello_auth(&r, n).device_token.unwrap();

    call(
        &mut g,
        T0 + 2_000,
        op,
        "device.pair.remove",
        json!({ "deviceId": proof::device_id(&KEY) }),
    );
    let r = round(&mut g);
    assert_eq!(r.closed, [(n, 1008, "removed".to_owned())]);
    assert_eq!(r.events(op), ["node.pair.resolved", "device.pair.resolved"]);

    let host = Host {
        auth: json!({ "deviceToken": token }),
        ..Host::v4()
    };
    let (n, r) = connect(&mut g, T0 + 3_000, &host);
    assert_eq!(
        answer(&r, n)["error"]["details"]["code"],
        "AUTH_DEVICE_TOKEN_MISMATCH"
    );
    let (n, r) = connect(&mut g, T0 + 3_000, &Host::v4());
    let again = answer(&r, n)["error"]["details"]["requestId"].clone();
    assert_eq!(
        answer(&r, n)["error"]["details"]["code"],
        "PAIRING_REQUIRED"
    );
    assert_ne!(again, first);
}

#[test]
fn rotation_and_revocation_end_the_token_and_close_the_device_which_gets_a_new_one() {
    let mut g = gateway();
    let op = operator(&mut g);
    pair(&mut g, op);
    let (n, r) = connect(&mut g, T0 + 1_000, &Host::v4());
    let old = hello_auth(&r, n).device_token.unwrap();
    let id = proof::device_id(&KEY);

    for (method, reason) in [
        ("device.token.rotate", "device token rotated"),
        ("device.token.revoke", "device token revoked"),
    ] {
        let live = g.connection_count();
        call(
            &mut g,
            T0 + 2_000,
            op,
            method,
            json!({ "deviceId": id, "role": "node" }),
        );
        let r = round(&mut g);
        let res = r.to(op)[0];
        assert_eq!(res["ok"], true, "{res}");
        assert_eq!(res["payload"]["deviceId"], id.as_str());
        assert!(!res.to_string().contains(&old));
        assert_eq!(r.closed.len(), 1, "{method}: {r:?}");
        assert_eq!((r.closed[0].1, r.closed[0].2.as_str()), (4001, reason));
        assert_eq!(g.connection_count(), live - 1);
        let host = Host {
            auth: json!({ "deviceToken": old }),
            ..Host::v4()
        };
        let (c, r) = connect(&mut g, T0 + 3_000, &host);
        assert_eq!(
            answer(&r, c)["error"]["details"]["code"],
            "AUTH_DEVICE_TOKEN_MISMATCH"
        );
        let (c, r) = connect(&mut g, T0 + 3_000, &Host::v4());
        let new = hello_auth(&r, c)
            .device_token
            .expect("a new token on reconnect");
        assert_ne!(new, old);
        let record = g.state().paired(&crate::NodeId(id.clone())).unwrap();
        assert_eq!(record.token_revoked_at_ms, None, "a working token again");
        let _ = c;
    }
    let audit: Vec<&str> = g
        .store()
        .audit()
        .iter()
        .map(|e| e.action.as_str())
        .collect();
    assert!(
        audit.ends_with(&["token-rotated", "token-revoked"]),
        "{audit:?}"
    );
}

#[test]
fn a_paired_device_declaring_more_commands_gets_the_approved_ones_and_a_repair_request() {
    let mut g = gateway();
    let op = operator(&mut g);
    pair(&mut g, op);
    let wider = Host {
        commands: vec!["system.run", "canvas.present", "fs.listDir"],
        ..Host::v4()
    };
    let (n, r) = connect(&mut g, T0 + 1_000, &wider);
    hello_auth(&r, n);
    assert_eq!(
        r.events(op),
        ["node.pair.requested", "device.pair.requested"]
    );
    let pending = g.state().all_pending().values().next().unwrap().clone();
    assert_eq!(pending.meta.commands.as_ref().unwrap().len(), 3);
    let e = node_entry(&mut g, op);
    assert_eq!(e["commands"], json!(["canvas.present", "system.run"]));
    call(&mut g, T0, op, "node.pair.list", json!({}));
    let r = round(&mut g);
    assert_eq!(r.to(op)[0]["payload"]["pending"][0]["isRepair"], true);
}

#[test]
fn auto_approve_local_pairs_a_loopback_device_at_once_and_says_so() {
    let mut g = gateway();
    g.config.auto_approve_local = true;
    let op = operator(&mut g);
    let local = Host {
        ip: "127.0.0.1",
        ..Host::v4()
    };
    let (n, r) = connect(&mut g, T0, &local);
    assert!(hello_auth(&r, n).device_token.is_some());
    let approved = g
        .store()
        .audit()
        .iter()
        .find(|e| e.action.as_str() == "approved")
        .unwrap();
    assert_eq!(approved.approved_via.as_deref(), Some("local"));
    assert_eq!(approved.actor, crate::audit::Actor::Gateway);
    assert_eq!(
        r.events(op),
        [
            "node.pair.requested",
            "device.pair.requested",
            "node.pair.resolved",
            "device.pair.resolved"
        ]
    );
    // Not from another address.
    let mut g = gateway();
    g.config.auto_approve_local = true;
    let (n, r) = connect(&mut g, T0, &Host::v4());
    assert_eq!(
        answer(&r, n)["error"]["details"]["code"],
        "PAIRING_REQUIRED"
    );
}

#[test]
fn v4_operators_get_forbidden_with_missing_scope_details() {
    let mut g = gateway();
    let conn = g.open(T0, "10.0.0.1".parse().unwrap()).unwrap();
    round(&mut g);
    let mut p = operator_params(json!({"scopes": ["operator.read"]}));
    p["minProtocol"] = json!(4);
    p["maxProtocol"] = json!(4);
    let frame = json!({"type": "req", "id": "c", "method": "connect", "params": p});
    g.frame(T0, conn, &frame.to_string());
    let r = round(&mut g);
    assert_eq!(answer(&r, conn)["payload"]["protocol"], 4);
    call(&mut g, T0, conn, "device.pair.list", json!({}));
    let r = round(&mut g);
    let e = &r.to(conn)[0]["error"];
    assert_eq!(e["code"], "FORBIDDEN");
    assert_eq!(e["message"], "missing scope: operator.pairing");
    assert_eq!(e["details"]["code"], "MISSING_SCOPE");
}

#[test]
fn devices_approve_without_admin_says_denied_so_openclaw_cli_retries_with_admin() {
    let mut g = gateway();
    let op = operator(&mut g);
    let (_, r) = connect(&mut g, T0, &Host::v4());
    let rid = r
        .sent
        .iter()
        .find_map(|(_, f)| f["error"]["details"]["requestId"].as_str())
        .unwrap()
        .to_owned();
    let conn = g.open(T0, "10.0.0.1".parse().unwrap()).unwrap();
    round(&mut g);
    let mut p = operator_params(json!({"scopes": ["operator.pairing"]}));
    p["minProtocol"] = json!(4);
    p["maxProtocol"] = json!(4);
    g.frame(
        T0,
        conn,
        &json!({"type": "req", "id": "c", "method": "connect", "params": p}).to_string(),
    );
    round(&mut g);
    call(
        &mut g,
        T0,
        conn,
        "device.pair.approve",
        json!({ "requestId": rid }),
    );
    let r = round(&mut g);
    let e = &r.to(conn)[0]["error"];
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("device pairing approval denied"),
        "{e}"
    );
    assert_eq!(e["details"]["missingScope"], "operator.admin");
    call(
        &mut g,
        T0,
        op,
        "device.pair.approve",
        json!({ "requestId": rid }),
    );
    let r = round(&mut g);
    let res = r.to(op).into_iter().find(|f| f["type"] == "res").unwrap();
    assert_eq!(res["payload"]["device"]["deviceId"], proof::device_id(&KEY));
    assert_eq!(res["payload"]["device"]["tokens"][0]["role"], "node");
    assert!(res["payload"]["device"].get("tokenHash").is_none());
}

#[test]
fn a_node_hosts_own_calls_and_events_never_close_it() {
    let mut g = gateway();
    let op = operator(&mut g);
    pair(&mut g, op);
    let (n, _) = connect(&mut g, T0 + 1_000, &Host::v4());
    for m in [
        "node.event",
        "node.runnerInventory.update",
        "node.skills.update",
        "node.pair.list",
    ] {
        call(&mut g, T0 + 1_000, n, m, json!({}));
    }
    g.frame(
        T0 + 1_000,
        n,
        r#"{"type":"event","event":"node.host.stats","payload":{}}"#,
    );
    g.frame(T0 + 1_000, n, r#"{"type":"res","id":"x","ok":true}"#);
    let r = round(&mut g);
    assert!(r.closed.is_empty());
    assert_eq!(
        r.to(n).len(),
        4,
        "one answer per request, none for the event or response"
    );
    let e = node_entry(&mut g, op);
    assert_eq!(e["connected"], true);
}

#[test]
fn protocol_mismatch_names_the_supported_versions() {
    let mut g = gateway();
    let conn = g.open(T0, "10.0.0.1".parse().unwrap()).unwrap();
    round(&mut g);
    let mut p = operator_params(json!({}));
    p["minProtocol"] = json!(5);
    p["maxProtocol"] = json!(6);
    g.frame(
        T0,
        conn,
        &json!({"type": "req", "id": "c", "method": "connect", "params": p}).to_string(),
    );
    let r = round(&mut g);
    let d = &answer(&r, conn)["error"]["details"];
    assert_eq!(d["code"], "PROTOCOL_MISMATCH");
    assert_eq!(d["supported"], json!([3, 4]));
    assert_eq!(r.closed[0].1, 1002);
}

#[test]
fn a_device_decision_on_an_operator_made_request_says_not_a_device_by_code() {
    let mut g = gateway();
    let op = operator(&mut g);
    call(
        &mut g,
        T0,
        op,
        "node.pair.request",
        json!({ "nodeId": "made-by-an-operator" }),
    );
    let r = round(&mut g);
    let rid = r
        .to(op)
        .into_iter()
        .find(|f| f["type"] == "res")
        .and_then(|f| f["payload"]["request"]["requestId"].as_str())
        .unwrap()
        .to_owned();
    call(
        &mut g,
        T0,
        op,
        "device.pair.approve",
        json!({ "requestId": rid }),
    );
    let r = round(&mut g);
    let e: crate::protocol::ApiError = serde_json::from_value(
        r.to(op).into_iter().find(|f| f["type"] == "res").unwrap()["error"].clone(),
    )
    .unwrap();
    assert_eq!(e.detail_code(), Some(DetailCode::NotADevice), "{e:?}");
}
