//! Secrets: pairing tokens, their hashes, and the operator token, compared in constant time.
//!
//! A [`Token`] never prints itself: it has no `Debug` or `Display` that shows the secret, its memory is
//! wiped when dropped, and only its [`TokenHash`] ever reaches a [`crate::Store`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Number of random bytes in a pairing token (43 base64url characters).
pub const TOKEN_BYTES: usize = 32;

/// A secret token: a node's pairing token or the gateway's operator token.
#[derive(Clone)]
pub struct Token(Zeroizing<String>);

impl Token {
    /// Wraps a secret string.
    pub fn new(secret: impl Into<String>) -> Self {
        Token(Zeroizing::new(secret.into()))
    }

    /// Encodes 32 random bytes as a fresh token (base64url without padding).
    pub fn from_random(bytes: &[u8; TOKEN_BYTES]) -> Self {
        Token(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The secret itself. Callers hand it only to the one party entitled to it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the token's characters: what the store keeps instead of the token.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.expose())
    }

    /// Constant-time equality that leaks neither content nor length: both sides are hashed first.
    /// A blank candidate never matches.
    pub fn matches(&self, candidate: &str) -> bool {
        !candidate.trim().is_empty() && self.hash().matches(candidate)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// SHA-256 of a token's ASCII characters. Stored as base64url without padding (`tokenHash`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Hashes a token string.
    pub fn of(token: &str) -> Self {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }

    /// Whether `candidate` hashes to this value, compared in constant time. Blank never matches.
    pub fn matches(&self, candidate: &str) -> bool {
        if candidate.trim().is_empty() {
            return false;
        }
        let other = TokenHash::of(candidate);
        bool::from(self.0.ct_eq(&other.0))
    }

    /// The base64url form written to `paired.json`.
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses the base64url form; `None` unless it decodes to exactly 32 bytes.
    pub fn from_base64url(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
        Some(TokenHash(bytes.try_into().ok()?))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

impl Serialize for TokenHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64url())
    }
}

impl<'de> Deserialize<'de> for TokenHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        TokenHash::from_base64url(&text)
            .ok_or_else(|| serde::de::Error::custom("tokenHash must be 32 bytes of base64url"))
    }
}

/// Hex SHA-256, as used for device ids.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_43_url_safe_chars_and_never_printed() {
        let t = Token::from_random(&[0xfb; 32]);
        assert_eq!(t.expose().len(), 43);
        assert!(
            t.expose()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert_eq!(format!("{:?}", t.hash()), "TokenHash(<redacted>)");
    }

    #[test]
    fn base64url_matches_openclaw_encoding() {
        let mut b = [0u8; 32];
        b[..3].copy_from_slice(&[0xfb, 0xff, 0x00]);
        assert!(Token::from_random(&b).expose().starts_with("-_8A"));
    }

    #[test]
    fn matching_is_exact_and_rejects_blank() {
        let t = Token::new("abc");
        assert!(t.matches("abc"));
        assert!(!t.matches("abd"));
        assert!(!t.matches("ab"));
        assert!(!t.matches("   "));
        assert!(!Token::new("  ").matches("  "));
        // Same character length, different byte length: unequal, no panic.
        assert!(!t.matches("ab\u{e9}"));
    }

    #[test]
    fn hash_round_trips_through_base64url() {
        let h = TokenHash::of("x");
        assert_eq!(TokenHash::from_base64url(&h.to_base64url()), Some(h));
        assert_eq!(TokenHash::from_base64url("short"), None);
    }

    #[test]
    fn sha256_hex_is_lowercase_64() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
