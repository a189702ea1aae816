//! The gateway's proof, in `connect.challenge`, that it knows the operator token.
//!
//! A client about to send the operator token wants to know that the process on the other end is the
//! gateway holding that token, and not whatever now listens on a port recorded in `openclaw.json` while
//! the gateway is stopped. The client picks a random nonce and sends it with the WebSocket upgrade (the
//! header [`CLIENT_NONCE_HEADER`]); the host hands it to [`crate::Gateway::open_with`], and the
//! `connect.challenge` event then carries, beside the gateway's own `nonce`,
//!
//! ```text
//! proof = base64url_nopad( HMAC-SHA256( key = SHA-256(operator token),
//!                                       "openclaw-pairing challenge v1\n" ‖ nonce ‖ "\n" ‖ clientNonce ) )
//! ```
//!
//! and `rotatedProofs`, the same for each retired operator token the gateway remembers (by hash), so a
//! client holding a rotated token learns that it was rotated without sending it. Only a process that
//! knows the token (or, for `rotatedProofs`, a retired token's hash) can compute a proof; a recorded
//! challenge does not help, since the client's nonce is fresh each time. A client that sends no nonce
//! (OpenClaw's own clients, the page) gets the challenge exactly as before; unknown fields are ignored
//! by every client.
//!
//! The key is the token's SHA-256 ([`TokenHash`]) rather than the token, so the gateway can prove
//! knowledge of retired tokens while keeping only their hashes. No operator token's hash is stored
//! anywhere but the retired list of `openclaw.json`, which holds only tokens that no longer work.

use crate::event::Event;
use crate::secret::{Token, TokenHash};
use crate::wire::event_frame;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The HTTP header of the WebSocket upgrade that carries the client's nonce.
pub const CLIENT_NONCE_HEADER: &str = "x-openclaw-challenge-nonce";

/// The shortest client nonce accepted (22 base64url characters: 128 bits).
pub const MIN_CLIENT_NONCE_LEN: usize = 22;
/// The longest client nonce accepted.
pub const MAX_CLIENT_NONCE_LEN: usize = 128;

const DOMAIN: &[u8] = b"openclaw-pairing challenge v1\n";

/// Whether `nonce` is a client nonce the gateway answers: 22 to 128 characters of base64url or hex.
/// Anything else is ignored (the challenge then carries no proof).
pub fn valid_client_nonce(nonce: &str) -> bool {
    (MIN_CLIENT_NONCE_LEN..=MAX_CLIENT_NONCE_LEN).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for part in message {
        inner.update(part);
    }
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// The proof for the token whose hash is `token_hash`, for the gateway's `nonce` and the client's.
pub fn proof(token_hash: &TokenHash, nonce: &str, client_nonce: &str) -> String {
    let mac = hmac_sha256(
        &token_hash.0,
        &[DOMAIN, nonce.as_bytes(), b"\n", client_nonce.as_bytes()],
    );
    URL_SAFE_NO_PAD.encode(mac)
}

/// The `connect.challenge` event: `{nonce, ts}`, plus `proof` and (when tokens were rotated)
/// `rotatedProofs` when the client sent a valid nonce.
pub(crate) fn frame(
    nonce: &str,
    ts: u64,
    client_nonce: Option<&str>,
    token: &Token,
    retired: &[TokenHash],
) -> Arc<str> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Challenge<'a> {
        nonce: &'a str,
        ts: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        proof: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        rotated_proofs: Vec<String>,
    }
    let client_nonce = client_nonce.filter(|n| valid_client_nonce(n));
    let payload = Challenge {
        nonce,
        ts,
        proof: client_nonce.map(|c| proof(&token.hash(), nonce, c)),
        rotated_proofs: client_nonce
            .map(|c| retired.iter().map(|h| proof(h, nonce, c)).collect())
            .unwrap_or_default(),
    };
    event_frame(Event::ConnectChallenge.as_str(), &payload, None)
}

/// What a client learns from a challenge about the token it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The gateway proved it knows this token: it may be sent.
    Current,
    /// The gateway proved it knows this token as a rotated one: sending it would be refused.
    Rotated,
    /// No valid proof: the other end does not know the token (or is not this gateway).
    Unproven,
}

/// Checks a `connect.challenge` payload against the token the client holds and the nonce it sent.
pub fn check(payload: &serde_json::Value, token: &str, client_nonce: &str) -> Verdict {
    let Some(nonce) = payload["nonce"].as_str() else {
        return Verdict::Unproven;
    };
    let expected = proof(&TokenHash::of(token), nonce, client_nonce);
    let same = |got: &serde_json::Value| {
        got.as_str()
            .is_some_and(|g| bool::from(g.as_bytes().ct_eq(expected.as_bytes())))
    };
    if same(&payload["proof"]) {
        return Verdict::Current;
    }
    if payload["rotatedProofs"]
        .as_array()
        .is_some_and(|a| a.iter().any(same))
    {
        return Verdict::Rotated;
    }
    Verdict::Unproven
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hmac_matches_rfc_4231_case_2_and_a_long_key() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // RFC 4231 case 6: a 131-byte key is hashed first.
        let mac = hmac_sha256(
            &[0xaa; 131],
            &[b"Test Using Larger Than Block-Size Key - Hash Key First"],
        );
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn a_proof_binds_token_and_both_nonces() {
        let t = TokenHash::of("tok");
        let p = proof(&t, "g1", "c1-aaaaaaaaaaaaaaaaaaaaa");
        let challenge = |proof: &str| json!({"nonce": "g1", "proof": proof});
        let c = "c1-aaaaaaaaaaaaaaaaaaaaa";
        assert_eq!(check(&challenge(&p), "tok", c), Verdict::Current);
        assert_eq!(check(&challenge(&p), "other", c), Verdict::Unproven);
        assert_eq!(
            check(&challenge(&p), "tok", "c2-aaaaaaaaaaaaaaaaaaaaa"),
            Verdict::Unproven
        );
        assert_eq!(
            check(&json!({"nonce": "g2", "proof": p}), "tok", c),
            Verdict::Unproven
        );
        assert_eq!(check(&json!({"nonce": "g1"}), "tok", c), Verdict::Unproven);
        let rotated = json!({"nonce": "g1", "proof": "x", "rotatedProofs": [p]});
        assert_eq!(check(&rotated, "tok", c), Verdict::Rotated);
    }

    #[test]
    fn client_nonces_are_bounded_and_plain() {
        assert!(valid_client_nonce(&"a".repeat(22)));
        assert!(valid_client_nonce(&"A_-9".repeat(32)));
        assert!(!valid_client_nonce(&"a".repeat(21)));
        assert!(!valid_client_nonce(&"a".repeat(129)));
        assert!(!valid_client_nonce(&format!("{}\"", "a".repeat(30))));
    }
}
