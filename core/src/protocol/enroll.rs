//! Setup codes and enrollment keys on the wire (issue #16): `enroll.create` / `device.pair.setupCode`,
//! `enroll.list`, `enroll.revoke`, `device.pair.setupStatus`, and the `device.pair.setup.completed`
//! event. None of these carries a secret except [`EnrollIssued`], sent once to the operator who issued
//! it.

use crate::enroll::{EnrollKind, Enrollment, Profile, Redemption, Status};
use serde::{Deserialize, Serialize};

/// `enroll.create`: issue a setup code (`kind: "setup-code"`) or an enrollment key (`kind: "key"`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollParams {
    /// `setup-code` (the default) or `key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<EnrollKind>,
    /// How many devices it may pair (a setup code: 1; a key: 1 unless told).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<u32>,
    /// How long it lives, in ms (a setup code: 10 minutes; a key: 24 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_ms: Option<u64>,
    /// The commands a device it pairs may be granted (of those it declares).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<String>>,
    /// Never the admin-sensitive commands.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub limited: bool,
    /// Put before each paired device's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// What to call it in lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The gateway URL the device should use, when the gateway's own (`ws://127.0.0.1:…` on a
    /// loopback bind) is not reachable from it; OpenClaw's `publicUrl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Also return the code as an SVG QR code (`qrSvg`), as OpenClaw's `includeQr`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_qr: bool,
}

/// The result of `enroll.create` / `device.pair.setupCode`: the only time the secret leaves the
/// gateway, inside `setupCode` and `link`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollIssued {
    /// The enrollment's id (OpenClaw's `setupId`).
    pub setup_id: String,
    /// Setup code or key.
    pub kind: EnrollKind,
    /// The setup code (base64url JSON, OpenClaw 2026.9.6's format).
    pub setup_code: String,
    /// The same as an `oc-pair://` link.
    pub link: String,
    /// The gateway URL in the code.
    pub gateway_url: String,
    /// Every URL in the code, in order.
    pub gateway_urls: Vec<String>,
    /// The certificate fingerprint in the code, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_fingerprint: Option<String>,
    /// When it stops working.
    pub expires_at_ms: u64,
    /// How many devices it may pair.
    pub max_uses: u32,
    /// `full`, `limited` or `commands` ([`Profile::access`]).
    pub access: String,
    /// The profile.
    pub profile: Profile,
    /// Why the profile is narrower than asked, if it is (a plaintext URL beyond loopback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downgraded: Option<String>,
    /// The setup code as an SVG QR code, when `includeQr` asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_svg: Option<String>,
}

/// One enrollment in a list: everything but the secret's hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollEntry {
    /// Its id.
    pub id: String,
    /// Setup code or key.
    pub kind: EnrollKind,
    /// Where it stands now.
    pub status: Status,
    /// What the operator called it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `full`, `limited` or `commands`.
    pub access: String,
    /// What a device it pairs is granted.
    pub profile: Profile,
    /// How many devices it may pair.
    pub max_uses: u32,
    /// How many it has paired.
    pub uses: u32,
    /// When it was issued.
    pub created_at_ms: u64,
    /// When it stops working.
    pub expires_at_ms: u64,
    /// Who issued it.
    pub issued_by: String,
    /// When it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<u64>,
    /// The newest devices it paired.
    #[serde(default)]
    pub redeemed_by: Vec<Redemption>,
}

impl EnrollEntry {
    /// The list entry of `e` at `now`.
    pub fn of(e: &Enrollment, now: u64) -> Self {
        EnrollEntry {
            id: e.id.clone(),
            kind: e.kind,
            status: e.status(now),
            label: e.label.clone(),
            access: e.profile.access().to_owned(),
            profile: e.profile.clone(),
            max_uses: e.max_uses,
            uses: e.uses,
            created_at_ms: e.created_at_ms,
            expires_at_ms: e.expires_at_ms,
            issued_by: e.issued_by.clone(),
            revoked_at_ms: e.revoked_at_ms,
            redeemed_by: e.redeemed_by.clone(),
        }
    }
}

/// The result of `enroll.list`: newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollList {
    /// The gateway's clock.
    pub ts: u64,
    /// The enrollments, newest first.
    pub enrollments: Vec<EnrollEntry>,
}

/// `enroll.revoke` and `device.pair.setupStatus`: one enrollment by id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollRef {
    /// The id (`enroll.revoke` also takes `setupId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// OpenClaw's name for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_id: Option<String>,
}

/// The `device.pair.setup.completed` event: a device redeemed a setup code or key and is paired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetupCompleted {
    /// The enrollment.
    pub setup_id: String,
    /// Setup code or key.
    pub kind: EnrollKind,
    /// The device it paired.
    pub device_id: String,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// `full`, `limited` or `commands`.
    pub access: String,
    /// Uses so far, and how many it has.
    pub uses: u32,
    /// How many devices it may pair.
    pub max_uses: u32,
    /// When.
    pub ts: u64,
}
