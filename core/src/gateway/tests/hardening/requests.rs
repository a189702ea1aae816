//! A device's requests: one device cannot flood them (keys in one form, new requests rate-limited),
//! and a changed surface is a new, announced request.

use super::*;

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
