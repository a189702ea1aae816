//! What issue #16 asked of the page's words and states: a labelled, spoken, urgent countdown; an
//! offline page that stops its clocks and says when it retries; feedback for every decision, this
//! page's and others'.

use crate::model::tests::{T0, connected, frame, pending_json};
use serde_json::{Value, json};

#[test]
fn the_countdown_is_labelled_spoken_and_urgent_in_its_last_minute() {
    let m = connected();
    // r1 asked at T0 - 60 s and expires at T0 + 240 s.
    let p = &m.view(T0 + 1_000).pending[0];
    assert_eq!(p.countdown, "expires in 3m 59s");
    assert_eq!(p.countdown_label, "expires in 3 minutes 59 seconds");
    assert!(!p.urgent);
    let p = &m.view(T0 + 181_000).pending[0];
    assert_eq!(p.countdown, "expires in 59s");
    assert_eq!(p.countdown_label, "expires in 59 seconds");
    assert!(p.urgent, "under a minute is urgent");
    let p = &m.view(T0 + 240_500).pending[0];
    assert_eq!(
        (p.countdown.as_str(), p.expired, p.urgent),
        ("expired", true, false)
    );
}

#[test]
fn offline_the_clocks_stop_and_the_bar_says_when_it_retries() {
    let mut m = connected();
    let v = m.view(T0 + 1_000);
    assert!(!v.offline && v.offline_text.is_empty());
    let delay = m.socket_closed(T0 + 10_000).expect("retries");
    let v = m.view(T0 + 10_000);
    assert!(v.offline);
    let secs = delay.div_ceil(1000);
    assert_eq!(
        v.offline_text,
        format!("Disconnected — retrying in {secs}s")
    );
    // A minute later the card still shows the time left when the connection was lost.
    let later = m.view(T0 + 70_000);
    assert_eq!(later.pending[0].countdown, "expires in 3m 50s");
    assert_eq!(
        later.offline_text, "Disconnected — reconnecting…",
        "retry due"
    );
    // An attempt under way: no countdown to it.
    assert!(m.socket_opening(T0 + 70_000));
    assert_eq!(
        m.view(T0 + 70_000).offline_text,
        "Disconnected — reconnecting…"
    );
    // Back: the clock runs again.
    m.receive(
        &frame(
            json!({"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":T0 + 71_000}}),
        ),
        T0 + 71_000,
    );
    let id = m.calls_for_test().into_iter().next().expect("connect sent");
    m.receive(
        &frame(json!({"type":"res","id":id,"ok":true,"payload":{"type":"hello-ok","protocol":3}})),
        T0 + 71_000,
    );
    let v = m.view(T0 + 71_000);
    assert!(!v.offline && v.offline_text.is_empty());
    assert_eq!(v.pending[0].countdown, "expires in 2m 49s");
}

fn answer(m: &mut crate::model::PageModel, frame_text: &str, payload: Value) {
    let v: Value = serde_json::from_str(frame_text).unwrap();
    let id = v["id"].as_str().unwrap().to_owned();
    m.receive(
        &frame(json!({"type":"res","id":id,"ok":true,"payload":payload})),
        T0,
    );
}

fn resolved(m: &mut crate::model::PageModel, id: &str, node: &str, decision: &str) {
    m.receive(
        &frame(json!({"type":"event","event":"node.pair.resolved",
            "payload":{"requestId":id,"nodeId":node,"decision":decision,"ts":T0}})),
        T0,
    );
}

#[test]
fn every_decision_says_what_happened_and_who_made_it() {
    let mut m = connected();
    for (id, node) in [("r2", "b"), ("r3", "c"), ("r4", "d")] {
        m.receive(
            &frame(json!({"type":"event","event":"node.pair.requested",
                "payload":pending_json(id, node, T0),"seq":1})),
            T0,
        );
    }
    // This page approves r1: the event may come before the answer; one notice, saying "you".
    let f = m.approve("r1").unwrap();
    resolved(&mut m, "r1", "a", "approved");
    answer(
        &mut m,
        &f,
        json!({"requestId":"r1","node":{"nodeId":"a","displayName":"a iPad","approvedAtMs":T0,"createdAtMs":T0}}),
    );
    // This page rejects r2.
    let f = m.reject("r2").unwrap();
    answer(&mut m, &f, json!({"requestId":"r2","nodeId":"b"}));
    // Someone else approves r3 and rejects r4.
    resolved(&mut m, "r3", "c", "approved");
    resolved(&mut m, "r4", "d", "rejected");
    let v = m.view(T0 + 1_000);
    let texts: Vec<(&str, &str)> = v
        .notices
        .iter()
        .map(|n| (n.kind, n.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        [
            (
                "approved",
                "You approved a iPad; it is paired now (under Paired nodes)."
            ),
            (
                "rejected",
                "You rejected b iPad; it was told no and is not paired."
            ),
            (
                "approved",
                "c iPad was approved elsewhere (by another operator or the CLI); it is paired now."
            ),
            (
                "rejected",
                "The request from d iPad was rejected elsewhere (by another operator or the CLI)."
            ),
        ]
    );
    assert!(v.pending.is_empty());
    let fresh: Vec<(&str, bool)> = v
        .paired
        .iter()
        .map(|n| (n.name.as_str(), n.fresh))
        .collect();
    assert_eq!(
        fresh,
        [("a iPad", true), ("Desk", false)],
        "the approved node is marked"
    );
    let later = m.view(T0 + 60_000);
    assert!(later.paired.iter().all(|n| !n.fresh), "the mark fades");
}
