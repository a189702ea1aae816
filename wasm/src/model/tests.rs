//! The page model driven with the frames a real gateway sends.

use super::*;
use pairing_core::resync::{BACKOFF_FIRST_MS, BACKOFF_MAX_MS};
use serde_json::{Value, json};

pub(crate) const T0: u64 = 1_700_000_000_000;

pub(crate) fn frame(v: Value) -> String {
    v.to_string()
}

pub(crate) fn sent(frames: &[String]) -> Vec<(String, String)> {
    frames
        .iter()
        .map(|f| {
            let v: Value = serde_json::from_str(f).unwrap();
            (
                v["id"].as_str().unwrap().to_owned(),
                v["method"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub(crate) fn pending_json(id: &str, node: &str, ts: u64) -> Value {
    json!({
        "requestId": id, "nodeId": node, "displayName": format!("{node} iPad"), "platform": "ios",
        "deviceFamily": "iPad", "remoteIp": "10.0.0.2", "commands": ["canvas.present", "system.run"],
        "isRepair": false, "verificationCode": "1234-5678", "ts": ts, "expiresAtMs": ts + 300_000,
        "requiredApproveScopes": ["operator.pairing", "operator.admin"]
    })
}

/// A connected page that has answered its first list calls; returns it.
pub(crate) fn connected() -> PageModel {
    let mut m = PageModel::new("0.1.0");
    m.set_token("tok").unwrap();
    assert!(m.socket_opening(T0));
    let out = m.receive(
        &frame(json!({"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":T0}})),
        T0,
    );
    assert_eq!(sent(&out), [("1".into(), "connect".into())]);
    let out = m.receive(
        &frame(json!({"type":"res","id":"1","ok":true,"payload":{"type":"hello-ok","protocol":3}})),
        T0,
    );
    assert_eq!(m.conn(), Conn::Connected);
    assert_eq!(
        sent(&out),
        [
            ("2".into(), "node.pair.list".into()),
            ("3".into(), "node.list".into())
        ]
    );
    m.receive(
        &frame(json!({"type":"res","id":"2","ok":true,"payload":{
            "pending": [pending_json("r1", "a", T0 - 60_000)],
            "paired": [{"nodeId": "p1", "displayName": "Desk", "platform": "linux", "approvedAtMs": T0 - 3_600_000, "createdAtMs": 1}]
        }})),
        T0,
    );
    m.receive(
        &frame(
            json!({"type":"res","id":"3","ok":true,"payload":{"ts": T0, "nodes": [
                {"nodeId": "p1", "displayName": "Desk", "paired": true, "connected": true}
            ]}}),
        ),
        T0,
    );
    m
}

#[test]
fn handshake_lists_and_view() {
    let m = connected();
    let v = m.view(T0 + 1_000);
    assert_eq!(v.conn, "connected");
    assert_eq!(v.pending.len(), 1);
    let p = &v.pending[0];
    assert_eq!(p.code, "1234-5678");
    assert_eq!(p.code_hint, "Check that the device shows 1234-5678");
    assert_eq!(p.countdown, "expires in 3m 59s");
    assert_eq!(p.approve_label, "Approve a iPad");
    assert_eq!(p.commands[0].scope, "operator.write");
    assert_eq!(p.commands[1].scope, "operator.admin");
    assert_eq!(p.required_scopes, ["operator.pairing", "operator.admin"]);
    assert_eq!(p.device, "ios · iPad");
    assert_eq!(v.paired.len(), 1);
    assert_eq!(v.paired[0].status, "connected");
    assert_eq!(v.paired[0].approved, "approved 1h ago");
}

#[test]
fn a_device_asking_at_connect_shows_its_client_and_version_and_where_its_code_comes_from() {
    let mut m = connected();
    let mut device = pending_json("r7", "9b4a127189e55585", T0);
    device["clientId"] = json!("node-host");
    device["clientMode"] = json!("node");
    device["version"] = json!("2026.9.6");
    m.receive(
        &frame(json!({"type":"event","event":"node.pair.requested","payload":device,"seq":1})),
        T0,
    );
    let v = m.view(T0 + 1_000);
    let p = v.pending.iter().find(|p| p.request_id == "r7").unwrap();
    assert_eq!(p.client, "OpenClaw node-host 2026.9.6");
    assert_eq!(p.code, "1234-5678");
    assert!(
        p.code_hint.contains("don't display a code"),
        "{}",
        p.code_hint
    );
    assert!(p.code_hint.contains("9b4a127189e5"), "{}", p.code_hint);
    assert_eq!(p.required_scopes, ["operator.pairing", "operator.admin"]);
    let own = v.pending.iter().find(|p| p.request_id == "r1").unwrap();
    assert_eq!(own.client, "", "a node.pair.request names no client");
}

#[test]
fn unauthorized_asks_for_a_token_and_stops_reconnecting() {
    let mut m = PageModel::new("0.1.0");
    assert_eq!(m.conn(), Conn::NeedToken);
    assert!(!m.socket_opening(T0));
    m.set_token("wrong").unwrap();
    assert!(m.socket_opening(T0));
    m.receive(
        &frame(json!({"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":T0}})),
        T0,
    );
    m.receive(&frame(json!({"type":"res","id":"1","ok":false,"error":{"code":"UNAUTHORIZED","message":"unauthorized: gateway token mismatch"}})), T0);
    assert_eq!(m.conn(), Conn::NeedToken);
    assert_eq!(m.token(), None);
    assert!(
        m.error()
            .starts_with("The gateway did not accept this token")
    );
    assert!(!m.error().contains('{'));
    assert_eq!(m.socket_closed(T0), None);
    assert!(m.view(T0).show_token_form);
}

#[test]
fn events_update_lists_newest_first_and_gaps_resync() {
    let mut m = connected();
    let out = m.receive(&frame(json!({"type":"event","event":"node.pair.requested","payload":pending_json("r2","b",T0),"seq":1})), T0);
    assert!(out.is_empty());
    let v = m.view(T0);
    let ids: Vec<_> = v.pending.iter().map(|p| p.request_id.as_str()).collect();
    assert_eq!(ids, ["r2", "r1"]);
    // seq 2 is missing: the page re-reads the list.
    let out = m.receive(&frame(json!({"type":"event","event":"node.pair.requested","payload":pending_json("r3","c",T0),"seq":3})), T0);
    assert_eq!(
        sent(&out),
        [
            ("4".into(), "node.pair.list".into()),
            ("5".into(), "node.list".into())
        ]
    );
    // Another gap while that list is in flight does not ask twice.
    let out = m.receive(&frame(json!({"type":"event","event":"node.pair.resolved","payload":{"requestId":"r1","nodeId":"a","decision":"expired","ts":T0},"seq":9})), T0);
    assert!(out.is_empty());
    let v = m.view(T0);
    assert_eq!(v.notices.len(), 1);
    assert_eq!(v.notices[0].kind, "expired");
    assert_eq!(
        v.notices[0].text,
        "The request from a iPad expired before anyone approved it."
    );
    assert_eq!(v.pending.len(), 2);
}

#[test]
fn superseded_disappears_with_a_notice() {
    let mut m = connected();
    m.receive(&frame(json!({"type":"event","event":"node.pair.resolved","payload":{"requestId":"r1","nodeId":"a","decision":"superseded","ts":T0},"seq":1})), T0);
    let v = m.view(T0);
    assert!(v.pending.is_empty());
    assert_eq!(v.notices[0].kind, "superseded");
    // Notices fade after a while.
    m.tick(T0 + NOTICE_MS);
    assert!(m.view(T0 + NOTICE_MS).notices.is_empty());
}

#[test]
fn approve_then_result_moves_the_node_to_paired() {
    let mut m = connected();
    let f = m.approve("r1").unwrap();
    let v: Value = serde_json::from_str(&f).unwrap();
    assert_eq!(v["method"], "node.pair.approve");
    assert_eq!(v["params"], json!({"requestId": "r1"}));
    let id = v["id"].as_str().unwrap().to_owned();
    m.receive(&frame(json!({"type":"res","id":id,"ok":true,"payload":{"requestId":"r1","node":{"nodeId":"a","displayName":"a iPad","approvedAtMs":T0,"createdAtMs":T0}}})), T0);
    let v = m.view(T0);
    assert!(v.pending.is_empty());
    let names: Vec<_> = v.paired.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["a iPad", "Desk"]);
    assert_eq!(v.paired[0].status, "last seen 1m ago");
    assert_eq!(m.approve("r1"), Err(ActionError::Unknown));
}

#[test]
fn a_failed_approval_is_explained_and_drops_the_stale_request() {
    let mut m = connected();
    let f = m.approve("r1").unwrap();
    let id = serde_json::from_str::<Value>(&f).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = m.receive(&frame(json!({"type":"res","id":id,"ok":false,"error":{"code":"INVALID_REQUEST","message":"unknown requestId: it expired","details":{"code":"UNKNOWN_REQUEST","reason":"expired"}}})), T0);
    assert_eq!(sent(&out)[0].1, "node.pair.list");
    let v = m.view(T0);
    assert_eq!(v.error, "Could not approve a iPad: it expired.");
    assert_eq!(v.notices[0].kind, "failed");
    assert!(v.pending.is_empty());
}

#[test]
fn rename_and_remove() {
    let mut m = connected();
    assert_eq!(m.rename("p1", "  "), Err(ActionError::EmptyName));
    let f = m.rename("p1", " Office ").unwrap();
    let v: Value = serde_json::from_str(&f).unwrap();
    assert_eq!(
        v["params"],
        json!({"nodeId": "p1", "displayName": "Office"})
    );
    let id = v["id"].as_str().unwrap().to_owned();
    m.receive(&frame(json!({"type":"res","id":id,"ok":true,"payload":{"nodeId":"p1","displayName":"Office"}})), T0);
    assert_eq!(m.view(T0).paired[0].name, "Office");
    assert_eq!(m.view(T0).paired[0].remove_label, "Remove Office");
    let f = m.remove("p1").unwrap();
    let id = serde_json::from_str::<Value>(&f).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    m.receive(
        &frame(json!({"type":"res","id":id,"ok":true,"payload":{"nodeId":"p1"}})),
        T0,
    );
    assert!(m.view(T0).paired.is_empty());
}

#[test]
fn reconnect_backs_off_and_resyncs() {
    let mut m = connected();
    let _ = m.approve("r1").unwrap();
    let within = |d: Option<u64>, base: u64| {
        let d = d.expect("a delay");
        assert!((base..=base + base / 5).contains(&d), "{d} for {base}");
    };
    within(m.socket_closed(T0), BACKOFF_FIRST_MS);
    let v = m.view(T0);
    assert_eq!(v.conn, "reconnecting");
    assert_eq!(v.notices[0].kind, "failed");
    assert_eq!(m.approve("r1"), Err(ActionError::NotConnected));
    assert!(m.socket_opening(T0));
    assert_eq!(m.view(T0).conn, "reconnecting");
    within(m.socket_closed(T0 + 1), 1_000);
    assert!(m.socket_opening(T0));
    within(m.socket_closed(T0 + 2), 2_000);
    for _ in 0..10 {
        m.socket_opening(T0);
        m.socket_closed(T0);
    }
    within(m.socket_closed(T0 + 3), BACKOFF_MAX_MS);
    m.socket_opening(T0);
    m.receive(
        &frame(json!({"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":T0}})),
        T0,
    );
    let out = m.receive(
        &frame(json!({"type":"res","id":"8","ok":true,"payload":{"type":"hello-ok"}})),
        T0,
    );
    // Ids keep increasing across connections; the connect of this one was not id 8.
    assert!(out.is_empty());
    assert_eq!(m.conn(), Conn::Reconnecting);
}

#[test]
fn countdown_uses_the_gateway_clock_and_hides_long_expired_requests() {
    let mut m = PageModel::new("0.1.0");
    m.set_token("tok").unwrap();
    m.socket_opening(T0);
    // The page's clock is 10 s behind the gateway's.
    let page_now = T0 - 10_000;
    m.receive(
        &frame(json!({"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":T0}})),
        page_now,
    );
    m.receive(
        &frame(json!({"type":"res","id":"1","ok":true,"payload":{"type":"hello-ok"}})),
        page_now,
    );
    m.receive(&frame(json!({"type":"event","event":"node.pair.requested","payload":pending_json("r9","z",T0),"seq":4})), page_now);
    assert_eq!(m.view(page_now).pending[0].countdown, "expires in 5m 00s");
    assert_eq!(m.view(page_now + 300_000).pending[0].countdown, "expired");
    // A gateway clock a little behind (travel time) never shows more than the whole lifetime.
    assert_eq!(
        m.view(page_now - 500).pending[0].countdown,
        "expires in 5m 00s"
    );
    assert!(m.view(page_now + 300_000).pending[0].expired);
    assert!(m.view(page_now + 306_000).pending.is_empty());
}

#[test]
fn periodic_node_list_and_junk_frames() {
    let mut m = connected();
    assert!(m.tick(T0 + 1_000).is_empty());
    assert_eq!(sent(&m.tick(T0 + NODE_LIST_EVERY_MS))[0].1, "node.list");
    assert!(
        m.tick(T0 + 2 * NODE_LIST_EVERY_MS).is_empty(),
        "one in flight"
    );
    assert!(m.receive("{not json", T0).is_empty());
    assert!(m.receive("[1,2]", T0).is_empty());
    assert!(
        m.receive(
            r#"{"type":"res","id":"999","ok":false,"error":{"code":"X","message":"y"}}"#,
            T0
        )
        .is_empty()
    );
    assert_eq!(m.view(T0).error, "");
}

#[test]
fn a_rotation_asks_for_the_new_link_at_once_and_a_pasted_link_gives_its_token() {
    let mut m = connected();
    // The gateway closes the page's connection naming the rotation: no reconnect with the old token.
    let delay = m.socket_closed_with(
        T0,
        "the operator token was rotated; open the new link or use the new token",
    );
    assert_eq!(delay, None);
    assert_eq!(m.conn(), Conn::NeedToken);
    assert_eq!(m.token(), None);
    assert!(m.error().starts_with("The operator token was rotated"));
    assert!(m.view(T0).show_token_form);
    // The new link pasted whole into the form.
    m.set_token("  http://127.0.0.1:18789/#token=NEW-token_1  ")
        .unwrap();
    assert_eq!(m.token(), Some("NEW-token_1"));
    assert!(m.socket_opening(T0));
    // A page that reconnects with a rotated token is told so by the refusal.
    let mut m = PageModel::new("0.1.0");
    m.set_token("old").unwrap();
    assert!(m.socket_opening(T0));
    m.receive(
        &frame(json!({"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":T0}})),
        T0,
    );
    m.receive(
        &frame(
            json!({"type":"res","id":"1","ok":false,"error":{"code":"UNAUTHORIZED",
        "message":"unauthorized: the operator token was rotated; …",
        "details":{"code":"AUTH_TOKEN_MISMATCH","reason":"token-rotated"}}}),
        ),
        T0,
    );
    assert_eq!(m.conn(), Conn::NeedToken);
    assert!(m.error().starts_with("The operator token was rotated"));
    // Any other close reconnects as before.
    let mut m = connected();
    assert!(m.socket_closed_with(T0, "going away").is_some());
    assert_eq!(m.token(), Some("tok"));
}

#[test]
fn approve_and_reject_are_disabled_while_their_call_is_in_flight() {
    let mut m = connected();
    assert!(!m.view(T0).pending[0].busy);
    let f = m.approve("r1").unwrap();
    assert!(
        m.view(T0).pending[0].busy,
        "the buttons wait for the answer"
    );
    assert!(m.request_busy("r1"));
    let id = serde_json::from_str::<Value>(&f).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A refusal that leaves the request pending (a missing scope) frees the buttons again.
    m.receive(
        &frame(
            json!({"type":"res","id":id,"ok":false,"error":{"code":"INVALID_REQUEST",
        "message":"missing scope: operator.admin",
        "details":{"code":"MISSING_SCOPE","missingScope":"operator.admin"}}}),
        ),
        T0,
    );
    let v = m.view(T0);
    assert!(!v.pending[0].busy);
    assert_eq!(
        v.error,
        "Could not approve a iPad: this page lacks the operator.admin permission."
    );
    let _ = m.reject("r1").unwrap();
    assert!(m.view(T0).pending[0].busy);
    // A dropped connection frees them too.
    m.socket_closed(T0);
    assert!(!m.request_busy("r1"));
}

#[test]
fn an_unknown_node_on_rename_re_reads_the_lists() {
    let mut m = connected();
    let f = m.rename("p1", "Office").unwrap();
    assert!(m.view(T0).paired[0].busy);
    let id = serde_json::from_str::<Value>(&f).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = m.receive(
        &frame(
            json!({"type":"res","id":id,"ok":false,"error":{"code":"INVALID_REQUEST",
        "message":"unknown nodeId","details":{"code":"UNKNOWN_NODE","nodeId":"p1"}}}),
        ),
        T0,
    );
    assert_eq!(sent(&out)[0].1, "node.pair.list");
    assert_eq!(
        m.error(),
        "Could not rename Desk: the gateway does not know this node (it may have been removed)."
    );
}

#[test]
fn a_paired_node_shows_who_approved_it_its_description_and_when_it_was_last_seen() {
    let mut m = connected();
    let node: NodePaired = serde_json::from_value(json!({
        "nodeId": "p2", "displayName": "Garage", "approvedAtMs": T0 - 7_200_000, "createdAtMs": 1,
        "approvedVia": "owner", "approvedBy": "operator openclaw-cli@127.0.0.1",
        "description": "door sensor", "lastSeenAtMs": T0 - 600_000
    }))
    .unwrap();
    m.paired.insert("p2".into(), node);
    let v = m.view(T0);
    let g = v.paired.iter().find(|n| n.node_id == "p2").unwrap();
    assert_eq!(g.approved_by, "by operator openclaw-cli@127.0.0.1 · owner");
    assert_eq!(g.description, "door sensor");
    assert_eq!(
        g.status, "last seen 10m ago",
        "lastSeenAtMs counts as a sighting"
    );
    let desk = v.paired.iter().find(|n| n.node_id == "p1").unwrap();
    assert_eq!(
        (desk.approved_by.as_str(), desk.description.as_str()),
        ("", "")
    );
}
