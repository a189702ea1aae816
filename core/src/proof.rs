//! The node device proof of OpenClaw protocol v3: an Ed25519 signature over the `v3|…` payload, binding
//! the device id, the client, the role and scopes, the time, the challenge nonce and the platform.

use crate::secret::sha256_hex;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, VerifyingKey};

/// The `device` block of `connect`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceProof {
    /// Claimed device id: hex SHA-256 of the raw public key.
    pub id: String,
    /// Raw Ed25519 public key, base64url.
    pub public_key: String,
    /// Signature over the v3 payload, base64url.
    pub signature: String,
    /// When the client signed, ms since the epoch.
    pub signed_at: u64,
    /// The challenge nonce the client signed, if it sent one.
    pub nonce: Option<String>,
}

/// The fields of `connect` that the signature covers, besides the device block.
#[derive(Clone, Copy, Debug)]
pub struct SignedFields<'a> {
    /// `client.id`.
    pub client_id: &'a str,
    /// `client.mode`.
    pub client_mode: &'a str,
    /// `role`.
    pub role: &'a str,
    /// `scopes` as sent.
    pub scopes: &'a [String],
    /// `auth.token`, else `auth.deviceToken`, else `auth.bootstrapToken`, else empty.
    pub token: &'a str,
    /// `client.platform`.
    pub platform: &'a str,
    /// `client.deviceFamily`.
    pub device_family: &'a str,
}

impl<'a> SignedFields<'a> {
    /// The fields of a plain node connection: role `node`, no scopes, no token.
    pub fn node(
        client_id: &'a str,
        client_mode: &'a str,
        platform: &'a str,
        device_family: &'a str,
    ) -> Self {
        SignedFields {
            client_id,
            client_mode,
            role: "node",
            scopes: &[],
            token: "",
            platform,
            device_family,
        }
    }
}

/// Why a device proof was refused. Each maps to OpenClaw's message and `details.code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofFailure {
    /// The public key is not 32 bytes of base64url or not a valid Ed25519 point.
    PublicKeyInvalid,
    /// `device.id` is not the hex SHA-256 of the key.
    DeviceIdMismatch,
    /// `signedAt` is more than the allowed skew away from the gateway clock.
    SignatureExpired,
    /// No nonce was sent.
    NonceRequired,
    /// The nonce is not this connection's challenge.
    NonceMismatch,
    /// The signature does not verify over the v3 payload.
    SignatureInvalid,
}

impl ProofFailure {
    /// OpenClaw's message for this failure.
    pub fn message(self) -> &'static str {
        match self {
            ProofFailure::PublicKeyInvalid => "device public key invalid",
            ProofFailure::DeviceIdMismatch => "device identity mismatch",
            ProofFailure::SignatureExpired => "device signature expired",
            ProofFailure::NonceRequired => "device nonce required",
            ProofFailure::NonceMismatch => "device nonce mismatch",
            ProofFailure::SignatureInvalid => "device signature invalid",
        }
    }

    /// OpenClaw's `details.code` for this failure.
    pub fn code(self) -> &'static str {
        match self {
            ProofFailure::PublicKeyInvalid => "DEVICE_AUTH_PUBLIC_KEY_INVALID",
            ProofFailure::DeviceIdMismatch => "DEVICE_AUTH_DEVICE_ID_MISMATCH",
            ProofFailure::SignatureExpired => "DEVICE_AUTH_SIGNATURE_EXPIRED",
            ProofFailure::NonceRequired => "DEVICE_AUTH_NONCE_REQUIRED",
            ProofFailure::NonceMismatch => "DEVICE_AUTH_NONCE_MISMATCH",
            ProofFailure::SignatureInvalid => "DEVICE_AUTH_SIGNATURE_INVALID",
        }
    }

    /// OpenClaw's `details.reason` for this failure.
    pub fn reason(self) -> &'static str {
        match self {
            ProofFailure::PublicKeyInvalid => "device-public-key",
            ProofFailure::DeviceIdMismatch => "device-id-mismatch",
            ProofFailure::SignatureExpired => "device-signature-stale",
            ProofFailure::NonceRequired => "device-nonce-missing",
            ProofFailure::NonceMismatch => "device-nonce-mismatch",
            ProofFailure::SignatureInvalid => "device-signature",
        }
    }
}

/// Trims and lower-cases ASCII, as OpenClaw does to platform and device family before signing.
pub fn normalize_metadata(value: &str) -> String {
    value.trim().to_ascii_lowercase()
}

/// The exact string a node signs: `v3|deviceId|clientId|clientMode|role|scopes|signedAtMs|token|nonce|platform|deviceFamily`.
pub fn payload_v3(
    device_id: &str,
    fields: &SignedFields<'_>,
    signed_at: u64,
    nonce: &str,
) -> String {
    [
        "v3",
        device_id,
        fields.client_id,
        fields.client_mode,
        fields.role,
        &fields.scopes.join(","),
        &signed_at.to_string(),
        fields.token,
        nonce,
        &normalize_metadata(fields.platform),
        &normalize_metadata(fields.device_family),
    ]
    .join("|")
}

/// Decodes base64url or standard base64, padded or not (clients send either).
pub fn decode_b64(text: &str) -> Option<Vec<u8>> {
    let bare = text.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(bare)
        .or_else(|_| STANDARD_NO_PAD.decode(bare))
        .ok()
}

/// A device public key in the gateway's one canonical form: its 32 bytes as base64url without
/// padding, however it was encoded (base64url or standard base64, padded or not). `None` if it is not
/// 32 bytes of base64. Every key compared or stored goes through this (issue #14: one key in two
/// encodings made two devices of one).
pub fn canonical_key(text: &str) -> Option<String> {
    let raw: [u8; 32] = decode_b64(text)?.try_into().ok()?;
    Some(URL_SAFE_NO_PAD.encode(raw))
}

/// Checks a proof against the challenge nonce and the clock. Returns the raw public key on success.
pub fn verify(
    proof: &DeviceProof,
    fields: &SignedFields<'_>,
    challenge: &str,
    now: u64,
    skew_ms: u64,
) -> Result<[u8; 32], ProofFailure> {
    let raw: [u8; 32] = decode_b64(&proof.public_key)
        .and_then(|b| b.try_into().ok())
        .ok_or(ProofFailure::PublicKeyInvalid)?;
    let key = VerifyingKey::from_bytes(&raw).map_err(|_| ProofFailure::PublicKeyInvalid)?;
    if !proof.id.eq_ignore_ascii_case(&sha256_hex(&raw)) {
        return Err(ProofFailure::DeviceIdMismatch);
    }
    if now.abs_diff(proof.signed_at) > skew_ms {
        return Err(ProofFailure::SignatureExpired);
    }
    let nonce = match proof.nonce.as_deref().map(str::trim) {
        None | Some("") => return Err(ProofFailure::NonceRequired),
        Some(n) => n,
    };
    if nonce != challenge {
        return Err(ProofFailure::NonceMismatch);
    }
    let sig: [u8; 64] = decode_b64(&proof.signature)
        .and_then(|b| b.try_into().ok())
        .ok_or(ProofFailure::SignatureInvalid)?;
    let payload = payload_v3(&proof.id, fields, proof.signed_at, nonce);
    key.verify_strict(payload.as_bytes(), &Signature::from_bytes(&sig))
        .map_err(|_| ProofFailure::SignatureInvalid)?;
    Ok(raw)
}

/// The node side: signs the v3 payload with a 32-byte Ed25519 secret key, producing the `device` block.
pub fn sign(
    secret_key: &[u8; 32],
    fields: &SignedFields<'_>,
    signed_at: u64,
    nonce: &str,
) -> DeviceProof {
    use ed25519_dalek::{Signer, SigningKey};
    let sk = SigningKey::from_bytes(secret_key);
    let raw = sk.verifying_key().to_bytes();
    let id = sha256_hex(&raw);
    let payload = payload_v3(&id, fields, signed_at, nonce);
    DeviceProof {
        public_key: URL_SAFE_NO_PAD.encode(raw),
        signature: URL_SAFE_NO_PAD.encode(sk.sign(payload.as_bytes()).to_bytes()),
        id,
        signed_at,
        nonce: Some(nonce.to_owned()),
    }
}

/// The device id (hex SHA-256 of the public key) of a 32-byte Ed25519 secret key.
pub fn device_id(secret_key: &[u8; 32]) -> String {
    let sk = ed25519_dalek::SigningKey::from_bytes(secret_key);
    sha256_hex(&sk.verifying_key().to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn fields<'a>(scopes: &'a [String]) -> SignedFields<'a> {
        SignedFields {
            client_id: "node-host",
            client_mode: "node",
            role: "node",
            scopes,
            token: "",
            platform: " Linux ",
            device_family: "",
        }
    }

    fn proof(sk: &SigningKey, nonce: &str, signed_at: u64) -> DeviceProof {
        sign(&sk.to_bytes(), &fields(&[]), signed_at, nonce)
    }

    #[test]
    fn payload_matches_openclaw_layout() {
        let s = vec!["a".to_string(), "b".to_string()];
        let mut f = fields(&s);
        f.device_family = "iPad";
        assert_eq!(
            payload_v3("dev", &f, 5, "n"),
            "v3|dev|node-host|node|node|a,b|5||n|linux|ipad"
        );
    }

    #[test]
    fn each_failure_is_named() {
        let sk = SigningKey::from_bytes(&[9; 32]);
        let good = proof(&sk, "nonce", 1_000_000);
        let f = fields(&[]);
        assert!(verify(&good, &f, "nonce", 1_000_000, 120_000).is_ok());
        assert_eq!(
            verify(&good, &f, "other", 1_000_000, 120_000),
            Err(ProofFailure::NonceMismatch)
        );
        assert_eq!(
            verify(&good, &f, "nonce", 1_200_001, 120_000),
            Err(ProofFailure::SignatureExpired)
        );
        let mut p = good.clone();
        p.nonce = None;
        assert_eq!(
            verify(&p, &f, "nonce", 1_000_000, 120_000),
            Err(ProofFailure::NonceRequired)
        );
        let mut p = good.clone();
        p.id = "00".repeat(32);
        assert_eq!(
            verify(&p, &f, "nonce", 1_000_000, 120_000),
            Err(ProofFailure::DeviceIdMismatch)
        );
        let mut p = good.clone();
        p.public_key = "AAAA".into();
        assert_eq!(
            verify(&p, &f, "nonce", 1_000_000, 120_000),
            Err(ProofFailure::PublicKeyInvalid)
        );
        let mut other = f;
        other.role = "operator";
        assert_eq!(
            verify(&good, &other, "nonce", 1_000_000, 120_000),
            Err(ProofFailure::SignatureInvalid)
        );
    }
}
