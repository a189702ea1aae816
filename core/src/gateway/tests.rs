mod hardening;
mod inventory;

use super::*;
use crate::proof::{self, SignedFields};
use crate::secret::Token;
use crate::store::MemoryStore;
use serde_json::{Value, json};

pub(crate) const T0: u64 = 1_000_000_000;

/// Frames sent in a round (as JSON, with their connection).
pub(crate) type Sent = Vec<(ConnId, Value)>;
/// Connections closed in a round, with their close codes.
pub(crate) type Closed = Vec<(ConnId, u16)>;
const TOKEN: &str = "gw-token";

pub(crate) fn gateway() -> Gateway<MemoryStore> {
    let mut c = Config::new(Token::new(TOKEN));
    c.pending_ttl_ms = 20_000;
    Gateway::new(c, [7; 32], MemoryStore::new(), T0).unwrap()
}

/// Commits and drains: the frames sent (as JSON, with their connection) and the closes.
pub(crate) fn round(g: &mut Gateway<MemoryStore>) -> (Sent, Closed) {
    let _ = g.commit();
    let (mut sent, mut closed) = (Vec::new(), Vec::new());
    while let Some(o) = g.poll_output() {
        match o {
            Output::Send { conn, text } => sent.push((conn, serde_json::from_str(&text).unwrap())),
            Output::Close { conn, code, .. } => closed.push((conn, code)),
            Output::Broadcast { .. } => unreachable!("poll_output expands broadcasts"),
        }
    }
    (sent, closed)
}

pub(crate) fn nonce_of(sent: &[(ConnId, Value)], conn: ConnId) -> String {
    sent.iter()
        .find(|(c, f)| *c == conn && f["event"] == "connect.challenge")
        .map(|(_, f)| f["payload"]["nonce"].as_str().unwrap().to_owned())
        .unwrap()
}

/// Opens a connection and sends `params` as its `connect`; returns it and what came back.
pub(crate) fn connect_with(
    g: &mut Gateway<MemoryStore>,
    now: u64,
    params: impl FnOnce(&str) -> Value,
) -> (ConnId, Sent, Closed) {
    let conn = g.open(now, "10.0.0.1".parse().unwrap()).unwrap();
    let (sent, _) = round(g);
    let nonce = nonce_of(&sent, conn);
    let frame = json!({"type": "req", "id": "c", "method": "connect", "params": params(&nonce)});
    g.frame(now, conn, &frame.to_string());
    let (sent, closed) = round(g);
    (conn, sent, closed)
}

pub(crate) fn operator_params(extra: Value) -> Value {
    let mut p = json!({
        "minProtocol": 3, "maxProtocol": 3, "role": "operator", "scopes": ["operator.admin"],
        "client": {"id": "cli", "version": "1", "platform": "linux", "mode": "cli"},
        "auth": {"token": TOKEN},
    });
    if let (Value::Object(p), Value::Object(e)) = (&mut p, extra) {
        p.extend(e);
    }
    p
}

pub(crate) fn operator(g: &mut Gateway<MemoryStore>) -> ConnId {
    let (conn, sent, _) = connect_with(g, T0, |_| operator_params(json!({})));
    assert_eq!(sent[0].1["ok"], true, "{sent:?}");
    conn
}

/// A key-proven node connection for the secret key `sk`; returns it and its device id.
pub(crate) fn node(g: &mut Gateway<MemoryStore>, now: u64, sk: [u8; 32]) -> (ConnId, String) {
    let (conn, sent, _) = connect_with(g, now, |nonce| {
        let fields = SignedFields::node("node-host", "node", "linux", "");
        let p = proof::sign(&sk, &fields, now, nonce);
        json!({
            "minProtocol": 3, "maxProtocol": 3, "role": "node", "scopes": [],
            "client": {"id": "node-host", "version": "1", "platform": "linux", "mode": "node"},
            "device": {"id": p.id, "publicKey": p.public_key, "signature": p.signature,
                       "signedAt": p.signed_at, "nonce": p.nonce},
        })
    });
    assert_eq!(sent[0].1["ok"], true, "{sent:?}");
    (conn, proof::device_id(&sk))
}

pub(crate) fn call(
    g: &mut Gateway<MemoryStore>,
    now: u64,
    conn: ConnId,
    method: &str,
    params: Value,
) {
    let frame = json!({"type": "req", "id": method, "method": method, "params": params});
    g.frame(now, conn, &frame.to_string());
}

/// Drains with [`Gateway::poll_output_shared`], expanding broadcasts as a shell would.
fn drain_shared(g: &mut Gateway<MemoryStore>) -> Vec<Output> {
    let mut out = Vec::new();
    while let Some(o) = g.poll_output_shared() {
        match o {
            Output::Broadcast { to, text } => out.extend(to.iter().map(|&conn| Output::Send {
                conn,
                text: text.clone(),
            })),
            other => out.push(other),
        }
    }
    out
}

#[test]
fn shared_broadcasts_reach_the_current_subscribers_in_the_same_order() {
    let (mut a, mut b) = (gateway(), gateway());
    let mut rounds = Vec::new();
    for g in [&mut a, &mut b] {
        let op1 = operator(g);
        let op2 = operator(g);
        call(g, T0, op1, "node.pair.request", json!({"nodeId": "n1"}));
        let first = g.commit().is_ok();
        let op3 = operator(g);
        g.closed(T0, op1);
        call(g, T0, op2, "node.pair.request", json!({"nodeId": "n2"}));
        call(g, T0, op3, "node.pair.reject", json!({"code": "0000-0000"}));
        rounds.push((first, op1, op2, op3));
    }
    let (r1, r2) = (rounds[0], rounds[1]);
    assert!(r1.0 && r2.0);
    assert_eq!((r1.1, r1.2, r1.3), (r2.1, r2.2, r2.3));
    let _ = a.commit();
    let _ = b.commit();
    let plain: Vec<Output> = std::iter::from_fn(|| a.poll_output()).collect();
    let shared = drain_shared(&mut b);
    assert_eq!(plain, shared);
    // The second request's event went to op2 and op3 (op3 joined, op1 left), once each.
    let events: Vec<ConnId> = plain
        .iter()
        .filter_map(|o| match o {
            Output::Send { conn, text } if text.contains("node.pair.requested") => Some(*conn),
            _ => None,
        })
        .collect();
    assert_eq!(events, [r1.2, r1.3]);
}

#[test]
fn failed_commit_rolls_back_state_seq_events_and_mail() {
    let mut g = gateway();
    let op = operator(&mut g);
    let (n, id) = node(&mut g, T0, [1; 32]);
    call(&mut g, T0, n, "node.pair.request", json!({"nodeId": id}));
    let (sent, _) = round(&mut g);
    let rid = sent[1].1["payload"]["request"]["requestId"].clone();
    assert_eq!(g.seq(), 1);
    let commits = g.store().commits();

    // The node goes away, so the approval's token would wait in the mailbox.
    g.closed(T0, n);
    g.store_mut().fail_next_commits(1);
    call(
        &mut g,
        T0,
        op,
        "node.pair.approve",
        json!({"requestId": rid}),
    );
    assert!(g.commit().is_err());
    let mut out = Vec::new();
    while let Some(o) = g.poll_output() {
        out.push(o);
    }
    assert_eq!(out.len(), 1, "only the rewritten answer goes out: {out:?}");
    let Output::Send { conn, text } = &out[0] else {
        panic!()
    };
    let frame: Value = serde_json::from_str(text).unwrap();
    assert_eq!(*conn, op);
    assert_eq!(frame["error"]["code"], "UNAVAILABLE");
    assert_eq!(frame["error"]["retryable"], true);
    assert_eq!(g.seq(), 1, "the seq of the dropped event is reused");
    assert_eq!(g.state().pending_count(), 1);
    assert!(g.state().all_paired().is_empty());
    assert_eq!(
        g.mailbox_len(),
        0,
        "no token is held for an undone approval"
    );
    assert_eq!(g.store().commits(), commits);
    assert_eq!(g.store().snapshot().pending.len(), 1);

    // A retry before the store may be tried again is refused without touching it; the one after
    // succeeds and reuses the seq.
    call(
        &mut g,
        T0 + 1,
        op,
        "node.pair.approve",
        json!({"requestId": rid}),
    );
    let (sent, _) = round(&mut g);
    assert_eq!(sent[0].1["error"]["code"], "UNAVAILABLE");
    assert_eq!(g.store().commit_attempts(), commits + 1);
    call(
        &mut g,
        T0 + STORE_RETRY_MIN_MS,
        op,
        "node.pair.approve",
        json!({"requestId": rid}),
    );
    let (sent, _) = round(&mut g);
    assert_eq!(sent[0].1["seq"], 2);
    assert_eq!(sent[1].1["ok"], true);
    assert_eq!(g.mailbox_len(), 1);
    assert_eq!(g.store().snapshot().paired.len(), 1);
}

#[test]
fn failed_commit_of_an_expiry_is_retried_on_the_next_wake() {
    let mut g = gateway();
    let op = operator(&mut g);
    call(
        &mut g,
        T0,
        op,
        "node.pair.request",
        json!({"nodeId": "box"}),
    );
    round(&mut g);
    g.store_mut().fail_next_commits(1);
    let attempts = g.store().commit_attempts();
    g.wake(T0 + 20_000);
    assert!(g.commit().is_err());
    assert!(
        g.poll_output().is_none(),
        "no expired event for an undone expiry"
    );
    assert_eq!(g.state().pending_count(), 1);
    assert_eq!(
        g.poll_timeout(),
        Some(T0 + 20_000 + STORE_RETRY_MIN_MS),
        "due again when the store may be retried"
    );
    g.wake(T0 + 20_001);
    let (sent, _) = round(&mut g);
    assert!(sent.is_empty(), "not retried before its time");
    assert_eq!(g.store().commit_attempts(), attempts + 1);
    g.wake(T0 + 20_000 + STORE_RETRY_MIN_MS);
    let (sent, _) = round(&mut g);
    assert_eq!(sent[0].1["payload"]["decision"], "expired");
    assert_eq!(g.state().pending_count(), 0);
    assert!(g.store().snapshot().pending.is_empty());
}

/// Issue #14 item 8: a full disk made expiry retry its write at once, every round — every call
/// answered UNAVAILABLE and a core busy. Now writes back off, reads are served, and the first
/// retry after the disk recovers ends the episode.
#[test]
fn a_failing_store_is_retried_with_backoff_while_reads_are_served() {
    let mut g = gateway();
    let op = operator(&mut g);
    for n in 0..3 {
        call(
            &mut g,
            T0,
            op,
            "node.pair.request",
            json!({"nodeId": format!("box{n}")}),
        );
    }
    round(&mut g);
    let attempts = g.store().commit_attempts();
    g.store_mut().fail_next_commits(u32::MAX);
    // 60 s of a shell that wakes whenever asked, and an operator listing every 10 ms.
    let (start, end) = (T0 + 20_000, T0 + 80_000);
    let mut now = start;
    let (mut reads, mut wakes, mut failed_reads) = (0, 0, Vec::new());
    while now < end {
        if g.poll_timeout().is_some_and(|t| t <= now) {
            g.wake(now);
            wakes += 1;
        }
        call(&mut g, now, op, "node.pair.list", json!({}));
        let (sent, _) = round(&mut g);
        let answer = sent
            .iter()
            .find(|(_, f)| f["id"] == "node.pair.list")
            .unwrap();
        if answer.1["ok"] == true {
            assert_eq!(answer.1["payload"]["pending"].as_array().unwrap().len(), 3);
            reads += 1;
        } else {
            failed_reads.push(now - start);
        }
        assert!(
            g.poll_timeout().unwrap() > now,
            "a deadline in the past would spin"
        );
        now += 10;
    }
    // Attempts at +0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3 s, then every 5 s: 17 in 60 s (one per round,
    // 6 000, before the backoff).
    let failed = g.store().commit_attempts() - attempts;
    assert_eq!(failed, 17, "{failed} attempts in 60 s");
    assert!(wakes <= 2 * failed + 60, "{wakes} wakes");
    let f = g.store_health().unwrap().clone();
    assert_eq!((f.since, f.failures as u64), (start, failed));
    // Only the round that found the store failing: its read came after the expiry it had to
    // write, and showed it.
    assert_eq!(failed_reads, [0]);
    assert_eq!(reads, 5_999);

    // A write while backing off is refused without touching the store.
    call(
        &mut g,
        now,
        op,
        "node.pair.request",
        json!({"nodeId": "late"}),
    );
    let (sent, _) = round(&mut g);
    assert_eq!(sent[0].1["error"]["code"], "UNAVAILABLE");
    assert_eq!(g.store().commit_attempts() - attempts, failed);

    // Space returns: the next retry commits the expiries, and the episode ends.
    g.store_mut().fail_next_commits(0);
    let retry = g.poll_timeout().unwrap();
    assert!(retry <= f.retry_at.max(now) + STORE_RETRY_MAX_MS);
    g.wake(retry);
    let (sent, _) = round(&mut g);
    let expired = sent
        .iter()
        .filter(|(_, f)| f["payload"]["decision"] == "expired")
        .count();
    assert_eq!(expired, 3);
    assert!(g.store_health().is_none());
    assert!(g.store().snapshot().pending.is_empty());
    call(
        &mut g,
        retry,
        op,
        "node.pair.request",
        json!({"nodeId": "late"}),
    );
    let (sent, _) = round(&mut g);
    let answer = sent.iter().find(|(_, f)| f["id"] == "node.pair.request");
    assert_eq!(answer.unwrap().1["ok"], true, "writes are accepted again");
}

#[test]
fn poll_timeout_is_the_earliest_deadline() {
    let mut g = gateway();
    assert_eq!(g.poll_timeout(), Some(T0 + 30_000), "the first tick");
    let c = g.open(T0 + 1_000, "10.0.0.2".parse().unwrap()).unwrap();
    assert_eq!(
        g.poll_timeout(),
        Some(T0 + 11_000),
        "the handshake deadline"
    );
    g.closed(T0 + 1_000, c);
    assert_eq!(g.poll_timeout(), Some(T0 + 30_000));
    let op = operator(&mut g);
    call(
        &mut g,
        T0 + 2_000,
        op,
        "node.pair.request",
        json!({"nodeId": "box"}),
    );
    round(&mut g);
    assert_eq!(g.poll_timeout(), Some(T0 + 22_000), "the request's expiry");
    g.wake(T0 + 22_000);
    round(&mut g);
    assert_eq!(g.poll_timeout(), Some(T0 + 30_000));
    g.wake(T0 + 30_000);
    let (sent, _) = round(&mut g);
    assert_eq!(sent.iter().filter(|(_, f)| f["event"] == "tick").count(), 1);
    assert_eq!(g.poll_timeout(), Some(T0 + 60_000), "the next tick");
}

#[test]
fn poll_timeout_includes_undelivered_decisions() {
    let mut g = gateway();
    let op = operator(&mut g);
    let (n, id) = node(&mut g, T0, [2; 32]);
    call(&mut g, T0, n, "node.pair.request", json!({"nodeId": id}));
    let (sent, _) = round(&mut g);
    let rid = sent[1].1["payload"]["request"]["requestId"].clone();
    g.closed(T0, n);
    call(
        &mut g,
        T0 + 1_000,
        op,
        "node.pair.approve",
        json!({"requestId": rid}),
    );
    round(&mut g);
    assert_eq!(g.mailbox_len(), 1);
    g.wake(T0 + 30_000);
    round(&mut g);
    g.wake(T0 + 600_000);
    round(&mut g);
    assert_eq!(
        g.poll_timeout(),
        Some(T0 + 601_000),
        "the token's delivery window ends"
    );
    g.wake(T0 + 601_000);
    round(&mut g);
    assert_eq!(g.mailbox_len(), 0);
}

#[test]
fn a_token_for_a_connection_that_ends_before_the_commit_waits_in_the_mailbox() {
    let mut g = gateway();
    let op = operator(&mut g);
    let (n, id) = node(&mut g, T0, [3; 32]);
    call(&mut g, T0, n, "node.pair.request", json!({"nodeId": id}));
    let (sent, _) = round(&mut g);
    let rid = sent[1].1["payload"]["request"]["requestId"].clone();
    // One batch: the approval, then the node's socket ends.
    call(
        &mut g,
        T0,
        op,
        "node.pair.approve",
        json!({"requestId": rid}),
    );
    g.closed(T0, n);
    let (sent, _) = round(&mut g);
    assert!(
        sent.iter().all(|(c, _)| *c == op),
        "nothing to the closed connection"
    );
    assert_eq!(g.mailbox_len(), 1);
    let (n2, _) = node(&mut g, T0 + 1_000, [3; 32]);
    assert_eq!(g.mailbox_len(), 0, "delivered after hello-ok");
    let _ = n2;
}
