//! Issue #14, the core's part: one device cannot flood requests (keys in one form, new requests
//! rate-limited), a changed surface is a new announced request, people-facing strings carry no
//! bidi or invisible characters, missing fields are named, removal closes live connections, and
//! log-worthy happenings come out as notices.

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

/// Issue #14 item 3: one device connecting every 10 ms for 10 s, alternating the encoding of its key
/// (base64url / standard base64) and its command list, so that every connect would supersede the
/// last request. Before the fix: 1 000 requests, 2 000+ events to operators, 1 000 audit entries.
#[test]
fn one_device_alternating_key_encodings_and_commands_cannot_flood() {
    let mut g = gateway();
    let op = operator(&mut g);
    let (mut announced, mut refused) = (0, 0);
    for i in 0..1_000u64 {
        let now = T0 + i * 10;
        let dev = Dev {
            standard_b64: i % 2 == 1,
            commands: if i % 4 < 2 {
                &["canvas.present"]
            } else {
                &["canvas.present", "camera.snap"]
            },
            ..Dev::default()
        };
        let (_, answer, sent) = connect_all(&mut g, now, &dev);
        let a = &answer[0];
        if a["error"]["code"] == "RATE_LIMITED" {
            refused += 1;
            assert!(a["error"]["retryAfterMs"].as_u64().unwrap() > 0, "{a}");
        } else {
            assert_eq!(a["error"]["code"], "NOT_PAIRED", "{a}");
        }
        announced += sent
            .iter()
            .filter(|(c, f)| *c == op && f["event"].is_string() && f["event"] != "tick")
            .count();
    }
    let audited = requested_in_audit(&g);
    let limits = &g.config().limits;
    let bound = limits.request_burst as usize + (10_000 / limits.request_interval_ms) as usize;
    assert!(
        audited <= bound,
        "{audited} requests audited in 10 s (refused {refused})"
    );
    // Each new request: node.pair.requested + device.pair.requested, and for the one it
    // supersedes node.pair.resolved + device.pair.resolved.
    assert!(announced <= 4 * bound, "{announced} events to operators");
    // Every other connect repeats the last one's commands (a retry that reuses the request).
    assert!(refused >= 500 - bound, "refused {refused}");
    assert_eq!(g.state().pending_count(), 1);
}

/// Issue #14 item 3 through the explicit flow: a key-proven node calling `node.pair.request` with
/// ever-changing commands.
#[test]
fn node_pair_request_with_changing_commands_is_rate_limited_without_events_or_audit() {
    let mut g = gateway();
    let op = operator(&mut g);
    let dev = Dev {
        shared: false,
        protocol: 3,
        ..Dev::default()
    };
    let (n, answer) = connect(&mut g, T0, &dev);
    assert_eq!(answer[0]["ok"], true, "{answer:?}");
    let mut created = 0;
    let mut limited = 0;
    for i in 0..200u64 {
        let now = T0 + i * 50;
        let node_id = proof::device_id(&dev.sk);
        call(
            &mut g,
            now,
            n,
            "node.pair.request",
            json!({ "nodeId": node_id, "commands": [format!("cmd.{i}")] }),
        );
        let before = requested_in_audit(&g);
        let (sent, _) = round(&mut g);
        let reply = sent
            .iter()
            .find(|(c, f)| *c == n && f["id"] == "node.pair.request")
            .unwrap();
        if reply.1["ok"] == true {
            created += 1;
            assert_eq!(events(&sent, op, "node.pair.requested"), 1);
        } else {
            limited += 1;
            assert_eq!(reply.1["error"]["code"], "RATE_LIMITED", "{}", reply.1);
            assert!(reply.1["error"]["retryAfterMs"].as_u64().unwrap() > 0);
            assert_eq!(events(&sent, op, "node.pair.requested"), 0);
            assert_eq!(events(&sent, op, "node.pair.resolved"), 0);
            assert_eq!(requested_in_audit(&g), before, "no audit entry");
        }
    }
    assert!(created <= 5, "{created} requests in 10 s");
    assert_eq!(created + limited, 200);
}

/// An honest device's retries reuse its pending request and are never limited, however often.
#[test]
fn retries_reusing_the_pending_request_are_never_limited() {
    let mut g = gateway();
    for i in 0..500u64 {
        let (_, answer) = connect(&mut g, T0 + i * 10, &Dev::default());
        assert_eq!(answer[0]["error"]["code"], "NOT_PAIRED", "{answer:?}");
    }
    assert_eq!(requested_in_audit(&g), 1);
}

/// Many devices each get their first request, whatever the others do.
#[test]
fn every_device_gets_its_first_requests() {
    let mut g = gateway();
    for d in 0..12u8 {
        let (_, answer) = connect(
            &mut g,
            T0,
            &Dev {
                sk: [d + 1; 32],
                ..Dev::default()
            },
        );
        assert_eq!(answer[0]["error"]["code"], "NOT_PAIRED", "{answer:?}");
    }
    assert_eq!(g.state().pending_count(), 12);
}

/// The gateway restarted over `g`'s store with every stored key rewritten in standard base64
/// (padded), as another writer of the files might have left them.
fn restart_with_standard_keys(g: &Gateway<MemoryStore>, now: u64) -> Gateway<MemoryStore> {
    let mut snap = g.store().snapshot();
    let standard = |k: &mut Option<String>| {
        *k = Some(STANDARD.encode(URL_SAFE_NO_PAD.decode(k.as_deref().unwrap()).unwrap()))
    };
    snap.paired
        .iter_mut()
        .for_each(|n| standard(&mut n.public_key));
    snap.pending
        .iter_mut()
        .for_each(|p| standard(&mut p.public_key));
    assert!(
        snap.paired
            .iter()
            .all(|n| n.public_key.as_deref().unwrap().ends_with('='))
            && snap
                .pending
                .iter()
                .all(|p| p.public_key.as_deref().unwrap().ends_with('='))
    );
    Gateway::new(g.config().clone(), [9; 32], MemoryStore::with(snap), now).unwrap()
}

/// Issue #14 item 3: a key stored in another encoding is the same key — a paired device is admitted
/// (not asked to pair again), and a pending request is reused with its code (not superseded).
#[test]
fn stored_keys_in_standard_base64_are_the_same_keys() {
    let mut g = gateway();
    let op = operator(&mut g);
    let (_, answer) = connect(&mut g, T0, &Dev::default());
    let code = answer[0]["error"]["details"]["verificationCode"]
        .as_str()
        .unwrap()
        .to_owned();
    let request_id = answer[0]["error"]["details"]["requestId"].clone();

    // Pending, stored in standard base64: the device's retry (in either encoding) reuses it.
    let mut g2 = restart_with_standard_keys(&g, T0 + 1_000);
    assert_eq!(
        crate::state::code_of(g2.state().all_pending().values().next().unwrap()),
        code,
        "the code is the key's"
    );
    for standard_b64 in [false, true] {
        let (_, answer) = connect(
            &mut g2,
            T0 + 1_000,
            &Dev {
                standard_b64,
                ..Dev::default()
            },
        );
        assert_eq!(answer[0]["error"]["details"]["requestId"], request_id);
    }
    assert_eq!(g2.state().pending_count(), 1);

    // Paired, stored in standard base64: admitted.
    call(&mut g, T0, op, "node.pair.approve", json!({ "code": code }));
    round(&mut g);
    let mut g3 = restart_with_standard_keys(&g, T0 + 2_000);
    let (_, answer) = connect(&mut g3, T0 + 2_000, &Dev::default());
    assert_eq!(answer[0]["ok"], true, "{answer:?}");
    assert_eq!(g3.state().pending_count(), 0);
}

/// Issue #14 item 7: a pending request re-sent with `system.run` added is a new request, announced,
/// the old one resolved `superseded`; approving the old id grants nothing, approving the new one grants
/// what it showed. Both for a node's own request and for one an operator made.
#[test]
fn a_request_whose_commands_change_is_superseded_and_announced() {
    let mut g = gateway();
    let op = operator(&mut g);
    let dev = Dev {
        shared: false,
        protocol: 3,
        commands: &[],
        ..Dev::default()
    };
    let (n, _) = connect(&mut g, T0, &dev);
    let node_id = proof::device_id(&dev.sk);
    let ask = |g: &mut Gateway<MemoryStore>, who: ConnId, node: &str, commands: &[&str]| {
        call(
            g,
            T0,
            who,
            "node.pair.request",
            json!({ "nodeId": node, "commands": commands }),
        );
        let (sent, _) = round(g);
        let reply = sent
            .iter()
            .find(|(c, f)| *c == who && f["id"] == "node.pair.request")
            .unwrap()
            .1
            .clone();
        assert_eq!(reply["ok"], true, "{reply}");
        (reply["payload"]["request"]["requestId"].clone(), sent)
    };
    for (who, node) in [(n, node_id.as_str()), (op, "op-made-box")] {
        let (first, _) = ask(&mut g, who, node, &["canvas.present"]);
        let (second, sent) = ask(&mut g, who, node, &["canvas.present", "system.run"]);
        assert_ne!(first, second, "a new request");
        let resolved: Vec<&Value> = sent
            .iter()
            .filter(|(c, f)| *c == op && f["event"] == "node.pair.resolved")
            .map(|(_, f)| f)
            .collect();
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0]["payload"]["requestId"], first);
        assert_eq!(resolved[0]["payload"]["decision"], "superseded");
        let requested: Vec<&Value> = sent
            .iter()
            .filter(|(c, f)| *c == op && f["event"] == "node.pair.requested")
            .map(|(_, f)| f)
            .collect();
        assert_eq!(requested.len(), 1, "announced");
        assert_eq!(requested[0]["payload"]["requestId"], second);
        assert_eq!(
            requested[0]["payload"]["commands"],
            json!(["canvas.present", "system.run"])
        );
        // It says what it replaced, so a client approving by code or name can show what changed
        // (the code is the same: it comes from the key).
        let supersedes = &requested[0]["payload"]["supersedes"];
        assert_eq!(supersedes["requestId"], first);
        assert_eq!(supersedes["commands"], json!(["canvas.present"]));
        // A retry with the same surface reuses it and keeps what it replaced.
        let (again, _) = ask(&mut g, who, node, &["canvas.present", "system.run"]);
        assert_eq!(again, second);
        let stored = g
            .state()
            .pending(&crate::RequestId(second.as_str().unwrap().into()));
        assert_eq!(
            stored
                .and_then(|p| p.supersedes.as_ref())
                .map(|s| s.request_id.0.as_str()),
            first.as_str()
        );

        call(
            &mut g,
            T0,
            op,
            "node.pair.approve",
            json!({ "requestId": first }),
        );
        let (sent, _) = round(&mut g);
        let reply = &sent.iter().find(|(c, _)| *c == op).unwrap().1;
        assert_eq!(reply["error"]["details"]["reason"], "superseded", "{reply}");
        assert!(g.state().paired(&crate::NodeId(node.into())).is_none());

        call(
            &mut g,
            T0,
            op,
            "node.pair.approve",
            json!({ "requestId": second }),
        );
        round(&mut g);
        let paired = g.state().paired(&crate::NodeId(node.into())).unwrap();
        assert_eq!(
            paired.meta.commands.as_deref(),
            Some(&["canvas.present".to_owned(), "system.run".to_owned()][..])
        );
    }
}

/// Connections closed in a round, with their codes and reasons.
type Closes = Vec<(ConnId, u16, String)>;

/// Commits and drains, keeping the close reasons.
fn round_reasons(g: &mut Gateway<MemoryStore>) -> (Vec<(ConnId, Value)>, Closes) {
    let _ = g.commit();
    let (mut sent, mut closed) = (Vec::new(), Vec::new());
    while let Some(o) = g.poll_output() {
        match o {
            crate::Output::Send { conn, text } => {
                sent.push((conn, serde_json::from_str(&text).unwrap()))
            }
            crate::Output::Close { conn, code, reason } => closed.push((conn, code, reason.into())),
            crate::Output::Broadcast { .. } => unreachable!(),
        }
    }
    (sent, closed)
}

/// Issue #14 item 11: removing a node closes its live connections at once, with a reason — for
/// `node.pair.remove` and `device.pair.remove`, a node paired by the explicit flow and a device paired
/// at connect.
#[test]
fn removal_closes_the_nodes_live_connections_on_every_path() {
    for method in ["node.pair.remove", "device.pair.remove"] {
        for explicit in [true, false] {
            let mut g = gateway();
            let op = operator(&mut g);
            let dev = Dev {
                shared: !explicit,
                protocol: if explicit { 3 } else { 4 },
                ..Dev::default()
            };
            let node_id = proof::device_id(&dev.sk);
            if explicit {
                let (n, _) = connect(&mut g, T0, &dev);
                call(
                    &mut g,
                    T0,
                    n,
                    "node.pair.request",
                    json!({ "nodeId": node_id }),
                );
            } else {
                connect(&mut g, T0, &dev);
            }
            round(&mut g);
            let code = crate::state::code_of(g.state().all_pending().values().next().unwrap());
            call(&mut g, T0, op, "node.pair.approve", json!({ "code": code }));
            round(&mut g);
            // Connected and paired (the explicit node's connection is the one it paired on).
            let (n, answer) = connect(&mut g, T0 + 1, &dev);
            assert!(answer[0]["ok"] == true, "{answer:?}");
            let field = if method == "device.pair.remove" {
                "deviceId"
            } else {
                "nodeId"
            };
            if method == "device.pair.remove" && explicit {
                // device.pair.* concerns devices paired at connect only.
                continue;
            }
            call(&mut g, T0 + 2, op, method, json!({ field: node_id }));
            let (sent, closed) = round_reasons(&mut g);
            let reply = &sent
                .iter()
                .find(|(c, f)| *c == op && f["id"] == method)
                .unwrap()
                .1;
            assert_eq!(reply["ok"], true, "{reply}");
            assert!(
                closed
                    .iter()
                    .any(|(c, code, reason)| *c == n && *code == 1008 && reason == "removed"),
                "{method} (explicit {explicit}): {closed:?}"
            );
            assert_eq!(g.connection_count(), 1, "only the operator is left");
        }
    }
}

/// Issue #14 item 11: a missing required field is `INVALID_REQUEST` naming it, never `{ok:false}`;
/// an empty token is still a failed verify (SPEC §10).
#[test]
fn node_pair_verify_without_token_names_the_field() {
    let mut g = gateway();
    let op = operator(&mut g);
    call(
        &mut g,
        T0,
        op,
        "node.pair.verify",
        json!({ "nodeId": "box" }),
    );
    let (sent, _) = round(&mut g);
    let e = &sent[0].1["error"];
    assert_eq!(e["code"], "INVALID_REQUEST", "{e}");
    assert_eq!(e["details"]["field"], "token");
    assert!(
        e["message"].as_str().unwrap().contains("token: required"),
        "{e}"
    );
    call(
        &mut g,
        T0,
        op,
        "node.pair.verify",
        json!({ "nodeId": "box", "token": "" }),
    );
    let (sent, _) = round(&mut g);
    assert_eq!(sent[0].1["payload"]["ok"], false);
    for (method, params, field) in [
        ("node.pair.verify", json!({ "token": "x" }), "nodeId"),
        ("node.pair.request", json!({}), "nodeId"),
        ("node.pair.remove", json!({}), "nodeId"),
        ("node.rename", json!({ "nodeId": "box" }), "displayName"),
        ("node.describe", json!({}), "nodeId"),
        ("device.pair.remove", json!({}), "deviceId"),
        ("device.token.rotate", json!({ "role": "node" }), "deviceId"),
    ] {
        call(&mut g, T0, op, method, params);
        let (sent, _) = round(&mut g);
        let e = &sent[0].1["error"];
        assert_eq!(e["code"], "INVALID_REQUEST", "{method}: {e}");
        assert_eq!(e["details"]["field"], field, "{method}: {e}");
    }
}

/// Issue #14 item 10: one rule for every string a client sends — a bidi control or an invisible
/// character is refused with `INVALID_REQUEST` naming the field, in methods and in `connect`.
#[test]
fn bidi_controls_and_invisible_characters_are_refused_naming_the_field() {
    let mut g = gateway();
    let op = operator(&mut g);
    for bad in [
        "evil\u{202E}gpj.exe",
        "a\u{200B}b",
        "\u{2066}x\u{2069}",
        "x\u{FEFF}",
        "x\u{E0041}",
    ] {
        for (method, params, field) in [
            (
                "node.pair.request",
                json!({ "nodeId": "box", "displayName": bad }),
                "displayName",
            ),
            (
                "node.pair.request",
                json!({ "nodeId": "box", "platform": bad }),
                "platform",
            ),
            ("node.pair.request", json!({ "nodeId": bad }), "nodeId"),
            (
                "node.pair.request",
                json!({ "nodeId": "box", "commands": ["ok", bad] }),
                "commands",
            ),
            (
                "node.rename",
                json!({ "nodeId": "box", "displayName": bad }),
                "displayName",
            ),
        ] {
            call(&mut g, T0, op, method, params);
            let (sent, _) = round(&mut g);
            let e = &sent[0].1["error"];
            assert_eq!(e["code"], "INVALID_REQUEST", "{method} {bad:?}: {e}");
            assert_eq!(e["details"]["field"], field, "{method}: {e}");
            assert!(e["message"].as_str().unwrap().contains("U+"), "{e}");
        }
    }
    assert_eq!(g.state().pending_count(), 0);

    // In connect: the client's display name (shown in device.pair.requested and node.list).
    let (_, answer) = connect(
        &mut g,
        T0,
        &Dev {
            display_name: "kitchen\u{202E}ip",
            ..Dev::default()
        },
    );
    assert_eq!(answer[0]["error"]["code"], "INVALID_REQUEST", "{answer:?}");
    assert_eq!(answer[0]["error"]["details"]["field"], "client.displayName");
    assert_eq!(g.state().pending_count(), 0);

    // What scripts and emoji need stays allowed.
    for good in ["👩‍💻 laptop", "می‌خواهم", "Küche", "❤️ pi"] {
        call(
            &mut g,
            T0,
            op,
            "node.pair.request",
            json!({ "nodeId": good, "displayName": good }),
        );
        let (sent, _) = round(&mut g);
        let reply = &sent
            .iter()
            .find(|(_, f)| f["id"] == "node.pair.request")
            .unwrap()
            .1;
        assert_eq!(reply["ok"], true, "{good}: {reply}");
    }
}

fn notices(g: &mut Gateway<MemoryStore>) -> Vec<String> {
    std::iter::from_fn(|| g.poll_notice())
        .map(|n| n.to_string())
        .collect()
}

/// Issue #14 item 11: the host gets one line for each request and decision (who, what, from where,
/// the code), never a token; a rate-limited flood is one line, not one per refusal.
#[test]
fn requests_and_decisions_come_out_as_notices_without_tokens() {
    let mut g = gateway();
    let op = operator(&mut g);
    let (_, answer) = connect(&mut g, T0, &Dev::default());
    let details = &answer[0]["error"]["details"];
    let (rid, code) = (
        details["requestId"].as_str().unwrap().to_owned(),
        details["verificationCode"].as_str().unwrap().to_owned(),
    );
    let node = proof::device_id(&[42; 32]);
    let lines = notices(&mut g);
    assert_eq!(
        lines,
        [format!(
            "pairing request {rid} created: node {node} \"kitchen-pi\" from 10.0.0.1, code {code}; by node \"node-host\" on c2 from 10.0.0.1"
        )]
    );
    call(&mut g, T0, op, "node.pair.approve", json!({ "code": code }));
    round(&mut g);
    let (_, answer) = connect(&mut g, T0 + 1, &Dev::default());
    let token = answer[0]["payload"]["auth"]["deviceToken"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &mut g,
        T0 + 2,
        op,
        "device.token.rotate",
        json!({ "deviceId": node, "role": "node" }),
    );
    call(
        &mut g,
        T0 + 2,
        op,
        "node.pair.remove",
        json!({ "nodeId": node }),
    );
    round(&mut g);
    let lines = notices(&mut g);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!(
        lines[0],
        format!(
            "pairing request {rid} approved: node {node} \"kitchen-pi\", via owner; by operator \"cli\" on c1 from 10.0.0.1"
        )
    );
    assert!(
        lines[1].starts_with(&format!("node token-rotated: node {node}")),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(&format!("node removed: node {node}")),
        "{}",
        lines[2]
    );
    assert!(lines.iter().all(|l| !l.contains(&token)));

    // A flood of new requests: the requests it may make, and one line for the rest.
    for i in 0..50u64 {
        let commands: &[&str] = if i % 2 == 0 { &["a"] } else { &["b"] };
        connect(
            &mut g,
            T0 + 10 + i,
            &Dev {
                commands,
                ..Dev::default()
            },
        );
    }
    let lines = notices(&mut g);
    let limited: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("rate-limited"))
        .collect();
    assert_eq!(limited.len(), 1, "{lines:#?}");
    assert!(limited[0].contains("from 10.0.0.1"), "{}", limited[0]);

    // A notice is released by its commit only: a failed write notices nothing.
    g.store_mut().fail_next_commits(1);
    call(
        &mut g,
        T0 + 100_000,
        op,
        "node.pair.request",
        json!({ "nodeId": "box" }),
    );
    round(&mut g);
    assert!(notices(&mut g).is_empty());
}

/// The notices a host does not read are bounded; the host learns how many it missed.
#[test]
fn unread_notices_are_bounded() {
    let mut g = gateway();
    let op = operator(&mut g);
    for i in 0..600 {
        call(
            &mut g,
            T0,
            op,
            "node.pair.request",
            json!({ "nodeId": format!("n{i}") }),
        );
        let (sent, _) = round(&mut g);
        let rid = sent
            .iter()
            .find(|(_, f)| f["id"] == "node.pair.request")
            .unwrap()
            .1["payload"]["request"]["requestId"]
            .clone();
        call(
            &mut g,
            T0,
            op,
            "node.pair.reject",
            json!({ "requestId": rid }),
        );
        round(&mut g);
    }
    assert_eq!(g.notice_len(), crate::notice::NOTICE_CAPACITY);
    assert_eq!(
        g.poll_notice().unwrap().to_string(),
        "176 pairing notices were not logged (the log fell behind)"
    );
}

/// A device id is one form: `device.*` methods take it in upper case too.
#[test]
fn device_ids_are_compared_in_one_form() {
    let mut g = gateway();
    let op = operator(&mut g);
    connect(&mut g, T0, &Dev::default());
    let code = crate::state::code_of(g.state().all_pending().values().next().unwrap());
    call(
        &mut g,
        T0,
        op,
        "device.pair.approve",
        json!({ "code": code }),
    );
    round(&mut g);
    let upper = proof::device_id(&[42; 32]).to_ascii_uppercase();
    call(
        &mut g,
        T0,
        op,
        "device.pair.remove",
        json!({ "deviceId": upper }),
    );
    let (sent, _) = round(&mut g);
    let reply = &sent
        .iter()
        .find(|(_, f)| f["id"] == "device.pair.remove")
        .unwrap()
        .1;
    assert_eq!(reply["ok"], true, "{reply}");
    assert!(g.state().all_paired().is_empty());
}
