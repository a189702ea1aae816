use super::*;
use crate::challenge::{self, Verdict};
use crate::gateway::tests::{T0, operator_params};
use crate::secret::TokenHash;
use crate::store::{Batch, MemoryStore, Snapshot};
use crate::{Config, Gateway, Output};
use serde_json::{Value, json};

const OLD: &str = "old-operator-token-0123456789abcdefghijklm";

/// A memory store that also keeps the operator token the way the host's `openclaw.json` does.
#[derive(Default)]
struct TokenStore {
    inner: MemoryStore,
    token: Option<String>,
    retired: usize,
    fail_saves: u32,
    saves: u32,
}

impl Store for TokenStore {
    fn load(&mut self) -> Result<Snapshot, StoreError> {
        self.inner.load()
    }
    fn commit(&mut self, batch: &Batch<'_>) -> Result<(), StoreError> {
        self.inner.commit(batch)
    }
    fn save_operator_token(
        &mut self,
        token: &Token,
        retired: &[TokenHash],
    ) -> Result<(), StoreError> {
        self.saves += 1;
        if self.fail_saves > 0 {
            self.fail_saves -= 1;
            return Err(StoreError::io("injected"));
        }
        self.token = Some(token.expose().to_owned());
        self.retired = retired.len();
        Ok(())
    }
}

type Out = Vec<(ConnId, Value)>;
type Closes = Vec<(ConnId, u16, String)>;

fn round(g: &mut Gateway<TokenStore>) -> (Out, Closes) {
    let _ = g.commit();
    let (mut sent, mut closed) = (Vec::new(), Vec::new());
    while let Some(o) = g.poll_output() {
        match o {
            Output::Send { conn, text } => sent.push((conn, serde_json::from_str(&text).unwrap())),
            Output::Close { conn, code, reason } => closed.push((conn, code, reason.into_owned())),
            Output::Broadcast { .. } => unreachable!(),
        }
    }
    (sent, closed)
}

fn gateway() -> Gateway<TokenStore> {
    Gateway::new(
        Config::new(Token::new(OLD)),
        [3; 32],
        TokenStore::default(),
        T0,
    )
    .unwrap()
}

fn connect(g: &mut Gateway<TokenStore>, token: &str, scopes: &[&str]) -> (ConnId, Out, Closes) {
    let conn = g.open(T0, "127.0.0.1".parse().unwrap()).unwrap();
    round(g);
    let params = operator_params(json!({"auth": {"token": token}, "scopes": scopes}));
    let frame = json!({"type": "req", "id": "c", "method": "connect", "params": params});
    g.frame(T0, conn, &frame.to_string());
    let (sent, closed) = round(g);
    (conn, sent, closed)
}

fn rotate(g: &mut Gateway<TokenStore>, conn: ConnId) -> (Out, Closes) {
    rotate_at(g, conn, T0)
}

fn rotate_at(g: &mut Gateway<TokenStore>, conn: ConnId, now: u64) -> (Out, Closes) {
    let frame = json!({"type": "req", "id": "r", "method": "gateway.token.rotate", "params": {}});
    g.frame(now, conn, &frame.to_string());
    round(g)
}

#[test]
fn rotation_closes_every_operator_answers_the_new_token_once_and_refuses_the_old_as_rotated() {
    let mut g = gateway();
    let (admin, ..) = connect(&mut g, OLD, &["operator.admin"]);
    let (watcher, ..) = connect(&mut g, OLD, &["operator.pairing"]);
    let (sent, closed) = rotate(&mut g, admin);
    let answer = &sent.iter().find(|(c, _)| *c == admin).unwrap().1;
    assert_eq!(answer["ok"], true, "{answer}");
    let new = answer["payload"]["token"].as_str().unwrap().to_owned();
    assert_eq!(new.len(), 43);
    assert_ne!(new, OLD);
    // Every operator connection (the caller after its answer) is closed naming the rotation.
    let mut who: Vec<ConnId> = closed.iter().map(|c| c.0).collect();
    who.sort();
    assert_eq!(who, vec![admin, watcher]);
    assert!(
        closed
            .iter()
            .all(|(_, code, r)| *code == 1008 && r.starts_with("the operator token was rotated"))
    );
    assert!(closed.iter().all(|(_, _, r)| r.len() <= 123));
    // Durable: the store has the new token, and the audit entry never carries a token.
    assert_eq!(g.store().token.as_deref(), Some(new.as_str()));
    assert_eq!(g.store().retired, 1);
    let audit = g.state().audit_head();
    assert_eq!(audit.seq, 1);
    // One line for the gateway's log, never the token.
    let notices: Vec<String> = std::iter::from_fn(|| g.poll_notice())
        .map(|n| n.to_string())
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].starts_with("operator token rotated; by operator \"cli\""),
        "{notices:?}"
    );
    assert!(!notices[0].contains(&new) && !notices[0].contains(OLD));
    // The old token is refused as rotated; the new one works.
    let (_, sent, closed) = connect(&mut g, OLD, &["operator.admin"]);
    assert_eq!(sent[0].1["ok"], false);
    assert_eq!(sent[0].1["error"]["code"], "UNAUTHORIZED");
    assert!(
        sent[0].1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the operator token was rotated")
    );
    assert_eq!(sent[0].1["error"]["details"]["reason"], "token-rotated");
    assert_eq!(closed[0].1, 1008);
    let (_, sent, _) = connect(&mut g, &new, &["operator.admin"]);
    assert_eq!(sent[0].1["ok"], true);
    // A token never seen is still a plain mismatch.
    let (_, sent, _) = connect(&mut g, "something-else", &["operator.admin"]);
    assert!(
        sent[0].1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mismatch")
    );
}

#[test]
fn rotation_needs_admin() {
    let mut g = gateway();
    let (op, ..) = connect(&mut g, OLD, &["operator.pairing"]);
    let (sent, closed) = rotate(&mut g, op);
    assert_eq!(sent[0].1["ok"], false);
    assert!(
        sent[0].1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("operator.admin")
    );
    assert!(closed.is_empty());
    assert_eq!(g.store().saves, 0);
    assert!(g.config().gateway_token.matches(OLD));
}

#[test]
fn a_failed_write_undoes_the_rotation_and_answers_unavailable() {
    for fail_token_write in [true, false] {
        let mut g = gateway();
        let (admin, ..) = connect(&mut g, OLD, &["operator.admin"]);
        if fail_token_write {
            g.store_mut().fail_saves = 1;
        } else {
            g.store_mut().inner.fail_next_commits(1);
        }
        let (sent, closed) = rotate(&mut g, admin);
        assert_eq!(sent[0].1["ok"], false, "{sent:?}");
        assert_eq!(sent[0].1["error"]["code"], "UNAVAILABLE");
        assert!(closed.is_empty(), "{closed:?}");
        assert!(g.config().gateway_token.matches(OLD));
        assert!(g.config().retired_operator_tokens.is_empty());
        // When the token file was written but the batch failed, the old token is written back.
        if !fail_token_write {
            assert_eq!(g.store().token.as_deref(), Some(OLD));
        }
        assert_eq!(g.state().audit_head().seq, 0);
        // The connection still works with the old token, once the failed store's backoff
        // (STORE_RETRY_MIN_MS after one failure) has passed.
        let later = T0 + crate::gateway::STORE_RETRY_MIN_MS;
        let (sent, _) = rotate_at(&mut g, admin, later);
        assert_eq!(sent[0].1["ok"], true);
    }
}

#[test]
fn the_challenge_proves_the_token_only_to_a_client_that_sent_a_nonce() {
    let mut g = gateway();
    let client_nonce = "c".repeat(22);
    let conn = g
        .open_with(T0, "127.0.0.1".parse().unwrap(), Some(&client_nonce))
        .unwrap();
    let (sent, _) = round(&mut g);
    let payload = &sent.iter().find(|(c, _)| *c == conn).unwrap().1["payload"];
    assert_eq!(
        challenge::check(payload, OLD, &client_nonce),
        Verdict::Current
    );
    assert_eq!(
        challenge::check(payload, "x", &client_nonce),
        Verdict::Unproven
    );
    assert!(payload.get("rotatedProofs").is_none());
    // No nonce (OpenClaw's clients, the page): the challenge is as before.
    g.open(T0, "127.0.0.1".parse().unwrap()).unwrap();
    let (sent, _) = round(&mut g);
    let keys: Vec<&String> = sent[0].1["payload"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["nonce", "ts"]);
    // After a rotation the old token is proven as rotated, the new one as current.
    let (admin, ..) = connect(&mut g, OLD, &["operator.admin"]);
    let (sent, _) = rotate(&mut g, admin);
    let new = sent[0].1["payload"]["token"].as_str().unwrap().to_owned();
    let conn = g
        .open_with(T0, "127.0.0.1".parse().unwrap(), Some(&client_nonce))
        .unwrap();
    let (sent, _) = round(&mut g);
    let payload = &sent.iter().find(|(c, _)| *c == conn).unwrap().1["payload"];
    assert_eq!(
        challenge::check(payload, &new, &client_nonce),
        Verdict::Current
    );
    assert_eq!(
        challenge::check(payload, OLD, &client_nonce),
        Verdict::Rotated
    );
}

#[test]
fn retired_tokens_are_bounded() {
    let mut g = gateway();
    for _ in 0..MAX_RETIRED + 3 {
        g.rotate_operator_token(None);
        round(&mut g);
    }
    assert_eq!(g.config().retired_operator_tokens.len(), MAX_RETIRED);
    assert_eq!(g.state().audit_head().seq, MAX_RETIRED as u64 + 3);
}

#[test]
fn strength_of_random_and_chosen_tokens() {
    assert!(!is_weak(&"A".repeat(43)));
    assert!(!is_weak(&"a-".repeat(11)));
    assert!(is_weak("hunter2"));
    assert!(is_weak(&"0123456789abcdef".repeat(2)[..31]));
    assert!(!is_weak(&"0123456789abcdef".repeat(2)));
    assert!(is_weak(&"1".repeat(38)));
    assert!(!is_weak(&"1".repeat(39)));
    assert_eq!(estimated_bits(""), 0);
}

#[test]
fn a_rotation_asked_while_the_store_backs_off_is_undone_unwritten() {
    let mut g = gateway();
    let (admin, ..) = connect(&mut g, OLD, &["operator.admin"]);
    g.store_mut().inner.fail_next_commits(1);
    let (sent, _) = rotate(&mut g, admin);
    assert_eq!(sent[0].1["error"]["code"], "UNAVAILABLE");
    let saves = g.store().saves;
    // Within the backoff: refused without touching the store, and nothing staged stays behind.
    let (sent, closed) = rotate_at(&mut g, admin, T0 + 1);
    assert_eq!(sent[0].1["error"]["code"], "UNAVAILABLE", "{sent:?}");
    assert!(closed.is_empty());
    assert_eq!(g.store().saves, saves);
    assert!(g.config().gateway_token.matches(OLD));
    // The next round after the backoff writes nothing of the refused rotation.
    let (_, closed) = round(&mut g);
    assert!(closed.is_empty());
    assert!(g.config().gateway_token.matches(OLD));
}
