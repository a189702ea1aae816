//! Device pairing at `connect`, end to end through the core: real OpenClaw node hosts' ways of
//! connecting (v3 and v4, gateway token or device token), one approval, and what removal, rotation and
//! revocation do to live connections. This file is the kit; the tests are in the modules below, one
//! theme each.

mod hosts;
mod operators;
mod paired;

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
