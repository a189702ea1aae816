//! How OpenClaw node hosts connect (v3 and v4, gateway token or device token, from loopback) and
//! what they are told: wait, admitted, refused, rejected — and that their own calls never close them.

use super::*;

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
