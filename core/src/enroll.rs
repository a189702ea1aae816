//! Enrollment without an approval step: setup codes and enrollment keys (issue #16).
//!
//! Both are an [`Enrollment`]: a secret an operator issues in advance, stored only as its hash, that
//! pairs a device presenting it (`connect.auth.bootstrapToken`) within the enrollment's [`Profile`] —
//! the person approved when they issued it. A **setup code** is the single-use, ten-minute kind,
//! handed to a device as OpenClaw 2026.9.6's setup code (base64url JSON `{url, urls?, bootstrapToken,
//! expiresAtMs, tlsFingerprint?}`, see [`SetupPayload`]) or its `oc-pair://` link; an **enrollment
//! key** is the same with a use count and a longer life, for fleets (Headscale's pre-auth keys).
//!
//! ```text
//!  issued (hash stored) ──redeemed by a device──▶ uses + 1, the device is paired (approvedVia
//!        │                                         "setup-code" or "key", the enrollment's id audited)
//!        ├── expiresAtMs passes ──▶ expired     ┐
//!        ├── uses reach maxUses ──▶ used up     ├─ redeems nothing; a device it paired stays paired
//!        └── an operator revokes ─▶ revoked     ┘
//! ```

use crate::ids::NodeId;
use crate::scopes::ADMIN_COMMANDS;
use crate::secret::TokenHash;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

pub mod qr;
mod url;

pub use url::normalize_gateway_url;
pub(crate) use url::plaintext_beyond_loopback;

/// How long a setup code lives unless told otherwise (OpenClaw: 10 minutes).
pub const SETUP_CODE_TTL_MS: u64 = 10 * 60_000;
/// How long an enrollment key lives unless told otherwise.
pub const KEY_TTL_MS: u64 = 24 * 3_600_000;
/// The longest life an enrollment may be given.
pub const MAX_TTL_MS: u64 = 365 * 24 * 3_600_000;
/// The most uses one enrollment key may be given.
pub const MAX_USES: u32 = 100_000;
/// Enrollments kept at once, live or ended; the oldest ended ones make room for new ones.
pub const MAX_ENROLLMENTS: usize = 256;
/// Redemptions remembered per enrollment (the newest); the use count stays exact.
pub const MAX_REDEMPTIONS_KEPT: usize = 64;
/// The most gateway URLs one setup code carries (OpenClaw's decoder refuses more).
pub const MAX_URLS: usize = 8;
/// The `oc-pair://` prefix of a setup link.
pub const LINK_PREFIX: &str = "oc-pair://";

/// The kind of an enrollment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnrollKind {
    /// A setup code: one use, ten minutes by default.
    SetupCode,
    /// An enrollment key: `maxUses` uses, a day by default.
    Key,
}

impl EnrollKind {
    /// The `approvedVia` of a device it paired, and its name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            EnrollKind::SetupCode => "setup-code",
            EnrollKind::Key => "key",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<EnrollKind> {
        [EnrollKind::SetupCode, EnrollKind::Key]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What a device paired by an enrollment is granted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// The commands it may be granted: of those the device declares, the ones listed here. `None`:
    /// every command it declares (within `limited`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<String>>,
    /// Never the admin-sensitive commands ([`ADMIN_COMMANDS`]: `system.run`, …): OpenClaw's
    /// `--limited`. Forced for a code whose gateway URL is plaintext beyond loopback.
    #[serde(default, skip_serializing_if = "is_false")]
    pub limited: bool,
    /// Put before each paired device's name (`ci-` → `ci-runner-7`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
}

impl Profile {
    /// The commands a device declaring `declared` is granted: those the profile allows, in its order.
    pub fn granted(&self, declared: Option<&[String]>) -> Option<Vec<String>> {
        let declared = declared?;
        Some(
            declared
                .iter()
                .filter(|c| {
                    self.commands
                        .as_ref()
                        .is_none_or(|allowed| allowed.contains(c))
                })
                .filter(|c| !(self.limited && ADMIN_COMMANDS.contains(&c.as_str())))
                .cloned()
                .collect(),
        )
    }

    /// One word for the profile: `limited`, `commands` (a list), or `full`.
    pub fn access(&self) -> &'static str {
        match (self.limited, &self.commands) {
            (true, _) => "limited",
            (false, Some(_)) => "commands",
            (false, None) => "full",
        }
    }

    /// The name a device paired by this profile gets: the prefix before its own name (or its short
    /// id when it sends none).
    pub fn name_for(&self, declared: Option<&str>, device_id: &NodeId) -> Option<String> {
        let Some(prefix) = &self.name_prefix else {
            return declared.map(str::to_owned);
        };
        let own = declared.map_or_else(
            || device_id.as_str().chars().take(8).collect::<String>(),
            str::to_owned,
        );
        Some(format!("{prefix}{own}"))
    }
}

/// One device an enrollment paired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Redemption {
    /// The device.
    pub device_id: NodeId,
    /// Its name when it was paired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// When.
    pub at_ms: u64,
}

/// Where an enrollment stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// It pairs the next device that presents it.
    Active,
    /// Its time ran out.
    Expired,
    /// Every use was taken.
    UsedUp,
    /// An operator revoked it.
    Revoked,
}

impl Status {
    /// The word a person reads.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Expired => "expired",
            Status::UsedUp => "used-up",
            Status::Revoked => "revoked",
        }
    }
}

/// A setup code or enrollment key as stored (`nodes/enrollments.json`): never the secret, only its
/// hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrollment {
    /// Its short public id (8 hex characters): what lists show and `revoke` takes.
    pub id: String,
    /// Setup code or key.
    pub kind: EnrollKind,
    /// SHA-256 of the secret (the setup code's `bootstrapToken`).
    pub secret_hash: TokenHash,
    /// What the operator called it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// What a device it pairs is granted.
    #[serde(default)]
    pub profile: Profile,
    /// How many devices it may pair.
    pub max_uses: u32,
    /// How many it has paired.
    #[serde(default)]
    pub uses: u32,
    /// When it was issued.
    pub created_at_ms: u64,
    /// When it stops working.
    pub expires_at_ms: u64,
    /// Who issued it (the operator connection's client and address).
    pub issued_by: String,
    /// When an operator revoked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<u64>,
    /// The newest devices it paired (at most [`MAX_REDEMPTIONS_KEPT`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redeemed_by: Vec<Redemption>,
}

impl Enrollment {
    /// Where it stands at `now`.
    pub fn status(&self, now: u64) -> Status {
        if self.revoked_at_ms.is_some() {
            Status::Revoked
        } else if self.uses >= self.max_uses {
            Status::UsedUp
        } else if now >= self.expires_at_ms {
            Status::Expired
        } else {
            Status::Active
        }
    }

    /// Whether it paired `device` (among the redemptions remembered).
    pub fn redeemed(&self, device: &NodeId) -> bool {
        self.redeemed_by.iter().any(|r| &r.device_id == device)
    }

    /// Since when it has been over (revoked, used up or expired), or `None` while it is active.
    pub fn ended_at(&self, now: u64) -> Option<u64> {
        match self.status(now) {
            Status::Active => None,
            Status::Revoked => self.revoked_at_ms,
            Status::UsedUp => Some(
                self.redeemed_by
                    .last()
                    .map_or(self.created_at_ms, |r| r.at_ms),
            ),
            Status::Expired => Some(self.expires_at_ms),
        }
    }

    /// Counts a redemption by `device`, remembering the newest [`MAX_REDEMPTIONS_KEPT`].
    pub fn redeem(&mut self, device: &NodeId, display_name: Option<String>, now: u64) {
        self.uses = self.uses.saturating_add(1);
        self.redeemed_by.push(Redemption {
            device_id: device.clone(),
            display_name,
            at_ms: now,
        });
        let over = self.redeemed_by.len().saturating_sub(MAX_REDEMPTIONS_KEPT);
        self.redeemed_by.drain(..over);
    }
}

/// The payload of a setup code: OpenClaw 2026.9.6's format, which its node host (`openclaw node run
/// --pair`) and apps decode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetupPayload {
    /// The gateway's WebSocket URL (`ws://host:port` or `wss://…`, no trailing slash).
    pub url: String,
    /// Further URLs to try in order, the first being `url` (at most [`MAX_URLS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    /// The secret the device presents as `connect.auth.bootstrapToken`.
    pub bootstrap_token: String,
    /// When the code stops working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<u64>,
    /// The SHA-256 fingerprint of the gateway's certificate, for a `wss://` URL it serves itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_fingerprint: Option<String>,
}

/// Why a setup code could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SetupCodeError {
    /// Not base64url, not JSON, or missing `url`/`bootstrapToken`.
    #[error("not a setup code: {0}")]
    Malformed(&'static str),
    /// Its `expiresAtMs` has passed.
    #[error("this setup code expired; ask for a new one (openclaw qr)")]
    Expired,
}

impl SetupPayload {
    /// The setup code: base64url (no padding) of the JSON.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("a setup payload serialises");
        URL_SAFE_NO_PAD.encode(json)
    }

    /// The `oc-pair://` link of the setup code.
    pub fn link(&self) -> String {
        format!("{LINK_PREFIX}{}", self.encode())
    }

    /// Reads a setup code or `oc-pair://` link (surrounding blanks ignored), as OpenClaw's decoder
    /// does: `url` and `bootstrapToken` are required, the URLs must be in their normal form, and an
    /// `expiresAtMs` at or before `now` is refused.
    pub fn decode(input: &str, now: u64) -> Result<SetupPayload, SetupCodeError> {
        let trimmed = input.trim();
        let code = match trimmed.get(..LINK_PREFIX.len()) {
            Some(p) if p.eq_ignore_ascii_case(LINK_PREFIX) => &trimmed[LINK_PREFIX.len()..],
            _ => trimmed,
        };
        if code.is_empty()
            || !code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(SetupCodeError::Malformed("expected base64url text"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(code)
            .map_err(|_| SetupCodeError::Malformed("expected base64url text"))?;
        let p: SetupPayload = serde_json::from_slice(&bytes)
            .map_err(|_| SetupCodeError::Malformed("expected {url, bootstrapToken, …}"))?;
        let normal = |u: &String| normalize_gateway_url(u).as_deref() == Some(u.as_str());
        if p.bootstrap_token.trim().is_empty() || !normal(&p.url) {
            return Err(SetupCodeError::Malformed(
                "missing or invalid url or bootstrapToken",
            ));
        }
        if let Some(urls) = &p.urls
            && (urls.is_empty() || urls.len() > MAX_URLS || !urls.iter().all(normal))
        {
            return Err(SetupCodeError::Malformed("invalid urls"));
        }
        if p.expires_at_ms.is_some_and(|t| t <= now) {
            return Err(SetupCodeError::Expired);
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests;
