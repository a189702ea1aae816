//! Issue #14, the core's part: one device cannot flood requests (keys in one form, new requests
//! rate-limited), a changed surface is a new announced request, people-facing strings carry no
//! bidi or invisible characters, missing fields are named, removal closes live connections, and
//! log-worthy happenings come out as notices. This file is the kit; the tests are in the modules
//! below, one theme each.

mod fields;
mod notices;
mod removal;
mod requests;

use crate::audit::Action;
use crate::gateway::tests::{T0, call, gateway, nonce_of, operator, round};
use crate::proof::{self, SignedFields};
use crate::store::MemoryStore;
use crate::{ConnId, Gateway};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

const SHARED: &str = "gw-token";

/// How a device presents itself in one `connect`.
struct Dev<'a> {
    sk: [u8; 32],
    /// Send the public key in standard base64 (padded) instead of base64url.
    standard_b64: bool,
    commands: &'a [&'a str],
    display_name: &'a str,
    /// With the gateway token (device pairing at connect), or none (the explicit flow).
    shared: bool,
    protocol: u64,
}

impl Default for Dev<'_> {
    fn default() -> Self {
        Dev {
            sk: [42; 32],
            standard_b64: false,
            commands: &["canvas.present"],
            display_name: "kitchen-pi",
            shared: true,
            protocol: 4,
        }
    }
}

/// Connects `dev` at `now` from 10.0.0.1; returns the connection, what came back to it, and every
/// frame of the round (operators' events included).
fn connect_all(
    g: &mut Gateway<MemoryStore>,
    now: u64,
    dev: &Dev<'_>,
) -> (ConnId, Vec<Value>, Vec<(ConnId, Value)>) {
    let conn = g.open(now, "10.0.0.1".parse().unwrap()).unwrap();
    let (sent, _) = round(g);
    let nonce = nonce_of(&sent, conn);
    let mut fields = SignedFields::node("node-host", "node", "linux", "");
    if dev.shared {
        fields.token = SHARED;
    }
    let p = proof::sign(&dev.sk, &fields, now, &nonce);
    let key = if dev.standard_b64 {
        STANDARD.encode(URL_SAFE_NO_PAD.decode(&p.public_key).unwrap())
    } else {
        p.public_key.clone()
    };
    let mut params = json!({
        "minProtocol": dev.protocol, "maxProtocol": dev.protocol, "role": "node", "scopes": [],
        "client": {"id": "node-host", "displayName": dev.display_name, "version": "1",
                   "platform": "linux", "mode": "node"},
        "caps": ["system"], "commands": dev.commands,
        "device": {"id": p.id, "publicKey": key, "signature": p.signature,
                   "signedAt": p.signed_at, "nonce": p.nonce},
    });
    if dev.shared {
        params["auth"] = json!({ "token": SHARED });
    }
    let frame = json!({"type": "req", "id": "c", "method": "connect", "params": params});
    g.frame(now, conn, &frame.to_string());
    let (sent, _) = round(g);
    let mine = sent
        .iter()
        .filter(|(c, _)| *c == conn)
        .map(|(_, f)| f.clone())
        .collect();
    (conn, mine, sent)
}

fn connect(g: &mut Gateway<MemoryStore>, now: u64, dev: &Dev<'_>) -> (ConnId, Vec<Value>) {
    let (conn, mine, _) = connect_all(g, now, dev);
    (conn, mine)
}

fn events(sent: &[(ConnId, Value)], to: ConnId, name: &str) -> usize {
    sent.iter()
        .filter(|(c, f)| *c == to && f["event"] == name)
        .count()
}

fn requested_in_audit(g: &Gateway<MemoryStore>) -> usize {
    g.store()
        .audit()
        .iter()
        .filter(|e| e.action == Action::Requested)
        .count()
}
