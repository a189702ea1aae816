//! Pairing webhooks (`openclaw gateway --notify-webhook URL`), sans-IO: what is POSTed for a
//! [`Notice`], how it is signed, and the retry queue ([`queue`]). The host does the HTTP.
//!
//! # What is sent
//!
//! One JSON object per event ([`Payload`]): `node.pair.requested` when a new pairing request is made,
//! `node.pair.resolved` when one is approved, rejected, expired or superseded — `device.pair.requested`
//! and `device.pair.resolved` instead when a device made the request at `connect` (one POST per
//! happening, where the gateway's own broadcast has both names). It names the node,
//! the request, the verification code, the address and who decided — never a token or a token's
//! hash (a [`Notice`] carries none). Its `text` (and `title`) are a readable line, so the same body
//! works as is for:
//!
//! - Slack-style incoming webhooks (Slack, Mattermost, Rocket.Chat…), which post `text`;
//! - ntfy (`https://ntfy.sh/TOPIC`): the request carries ntfy's message-template headers
//!   ([`ntfy_headers`]: `X-Template: yes`, `X-Title: {{.title}}`, `X-Message: {{.text}}`, plus
//!   `X-Tags` and `X-Priority`), so ntfy (2.10 and later) shows the title and text rather than the raw
//!   JSON, and a request buzzes at high priority. Other receivers ignore those headers;
//! - anything else, which reads the structured fields.
//!
//! # Signatures
//!
//! With a secret (`--notify-secret-file`), every request carries [`TIMESTAMP_HEADER`] (Unix seconds
//! at the attempt) and [`SIGNATURE_HEADER`]: `v1=` and the lower-case hex HMAC-SHA256, keyed with the
//! secret, of `TIMESTAMP.BODY` (the header's digits, a dot, the exact body bytes). A receiver
//! recomputes it, compares in constant time, refuses a timestamp more than [`REPLAY_WINDOW_SECS`]
//! from its own clock, and drops an `id` it has already seen within that window (a retry resends
//! the same `id` with a fresh timestamp and signature). [`verify`] does all but the `id` check.

pub mod queue;

use crate::audit::{Action, Actor};
use crate::notice::{Notice, What};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The header with the attempt's Unix time in seconds.
pub const TIMESTAMP_HEADER: &str = "X-OpenClaw-Timestamp";
/// The header with the signature, `v1=<hex HMAC-SHA256 of "TIMESTAMP.BODY">`.
pub const SIGNATURE_HEADER: &str = "X-OpenClaw-Signature";
/// How far a signed timestamp may be from the receiver's clock, in seconds.
pub const REPLAY_WINDOW_SECS: u64 = 300;
/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

/// The event a webhook names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum EventName {
    /// A new pairing request.
    #[serde(rename = "node.pair.requested")]
    Requested,
    /// A request was approved, rejected, expired or superseded.
    #[serde(rename = "node.pair.resolved")]
    Resolved,
    /// A new pairing request made by a device at `connect` (OpenClaw's device pairing).
    #[serde(rename = "device.pair.requested")]
    DeviceRequested,
    /// A device's request was approved, rejected, expired or superseded.
    #[serde(rename = "device.pair.resolved")]
    DeviceResolved,
}

impl EventName {
    /// The dotted name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventName::Requested => "node.pair.requested",
            EventName::Resolved => "node.pair.resolved",
            EventName::DeviceRequested => "device.pair.requested",
            EventName::DeviceResolved => "device.pair.resolved",
        }
    }

    /// A new request (rather than a resolution).
    pub fn is_request(self) -> bool {
        matches!(self, EventName::Requested | EventName::DeviceRequested)
    }
}

/// The JSON body of one webhook. Never holds a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    /// The event.
    pub event: EventName,
    /// Stable across retries of this delivery: receivers drop duplicates by it.
    pub id: String,
    /// When it happened, ms since the epoch.
    pub ts: u64,
    /// A readable one-line summary (Slack's `text`, ntfy's message).
    pub text: String,
    /// A short title (ntfy's title).
    pub title: String,
    /// The node (or device) id.
    pub node_id: String,
    /// The request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The node's display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The address the request came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    /// The verification code a person compares with the device's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_code: Option<String>,
    /// For `resolved`: `approved`, `rejected`, `expired` or `superseded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<&'static str>,
    /// How an approval came about (`owner`, `local`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_via: Option<String>,
    /// Who decided: `gateway`, or the role, client id and address of a connection.
    pub by: String,
}

/// The webhook of a notice made at `now`, if it is one webhooks carry (requests and their resolution; not
/// removals, renames, token changes or rate limits).
pub fn payload(notice: &Notice, now: u64) -> Option<Payload> {
    let What::Decision(action) = notice.what else {
        return None;
    };
    let request_id = notice.request_id.as_ref()?.0.clone();
    let (event, decision) = match action {
        Action::Requested => (EventName::Requested, None),
        Action::Approved => (EventName::Resolved, Some("approved")),
        Action::Rejected => (EventName::Resolved, Some("rejected")),
        Action::Expired => (EventName::Resolved, Some("expired")),
        Action::Superseded => (EventName::Resolved, Some("superseded")),
        _ => return None,
    };
    let event = match (event, notice.device) {
        (EventName::Requested, true) => EventName::DeviceRequested,
        (EventName::Resolved, true) => EventName::DeviceResolved,
        (e, _) => e,
    };
    // Read on a phone: the name and a short id, not 64 hex digits.
    let short = crate::format::short_id(&notice.node_id.0);
    let label = match notice.display_name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => format!("{name} ({short})"),
        _ => short.to_owned(),
    };
    let by = match &notice.by {
        Actor::Gateway => "gateway".to_owned(),
        Actor::Conn {
            role,
            client_id,
            remote_ip,
            ..
        } => format!("{role} {client_id} from {remote_ip}"),
    };
    let (title, text) = match decision {
        None => {
            let mut text = format!("Pairing request from {label}");
            if let Some(ip) = &notice.remote_ip {
                text.push_str(&format!(" at {ip}"));
            }
            if let Some(code) = &notice.code {
                text.push_str(&format!(": code {code}"));
            }
            text.push_str(". Approve with `openclaw nodes approve` or on the gateway's page.");
            ("Device wants to pair".to_owned(), text)
        }
        Some(d) => (
            format!("Pairing {d}"),
            format!("Pairing request of {label} {d} (by {by})."),
        ),
    };
    let id = {
        let mut h = Sha256::new();
        h.update(request_id.as_bytes());
        h.update([0]);
        h.update(action.as_str().as_bytes());
        hex(&h.finalize()[..12])
    };
    Some(Payload {
        event,
        id,
        ts: now,
        text,
        title,
        node_id: notice.node_id.0.clone(),
        request_id: Some(request_id),
        display_name: notice.display_name.clone(),
        remote_ip: notice.remote_ip.clone(),
        verification_code: notice.code.clone(),
        decision,
        approved_via: notice.approved_via.clone(),
        by,
    })
}

/// ntfy's headers for `payload` (see the module documentation): templates filled from the body, the
/// tags and a priority (4, "high", for a request someone should look at; 3 otherwise).
pub fn ntfy_headers(payload: &Payload) -> Vec<(&'static str, String)> {
    let (tags, priority) = match (payload.event.is_request(), payload.decision) {
        (true, _) => ("key,new", "4"),
        (false, Some("approved")) => ("white_check_mark", "3"),
        (false, _) => ("x", "3"),
    };
    vec![
        ("X-Template", "yes".to_owned()),
        ("X-Title", "{{.title}}".to_owned()),
        ("X-Message", "{{.text}}".to_owned()),
        ("X-Tags", tags.to_owned()),
        ("X-Priority", priority.to_owned()),
    ]
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `v1=` and the hex HMAC-SHA256 of `TIMESTAMP.BODY` keyed with `secret`.
pub fn sign(secret: &[u8], timestamp_secs: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex(&mac.finalize().into_bytes()))
}

/// Why [`verify`] refused a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The timestamp header is missing or not a number.
    #[error("no valid {TIMESTAMP_HEADER} header")]
    NoTimestamp,
    /// The timestamp is outside the replay window.
    #[error("the timestamp is more than {REPLAY_WINDOW_SECS} s from now")]
    Stale,
    /// The signature does not match.
    #[error("the signature does not match")]
    BadSignature,
}

/// What a receiver checks: the signature of `body` under `secret` and the timestamp within
/// [`REPLAY_WINDOW_SECS`] of `now_secs`. The comparison is constant-time.
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_secs: u64,
) -> Result<(), VerifyError> {
    let ts: u64 = timestamp
        .and_then(|t| t.trim().parse().ok())
        .ok_or(VerifyError::NoTimestamp)?;
    if ts.abs_diff(now_secs) > REPLAY_WINDOW_SECS {
        return Err(VerifyError::Stale);
    }
    let expected = sign(secret, ts, body);
    let given = signature.unwrap_or_default().trim();
    let same = expected.len() == given.len()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            given.as_bytes(),
        ));
    if same {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

#[cfg(test)]
mod tests;
