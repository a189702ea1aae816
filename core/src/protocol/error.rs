//! The `error` of a failed `res` frame: [`ApiError`] with its [`ErrorCode`], and its `details` read
//! back as [`ErrorDetails`] with a [`DetailCode`]. Clients decide by these codes (and `details.reason`),
//! never by the message, which is a sentence for people and may change.

use super::DetailCode;
use crate::memory::Decision;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Error codes of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request was malformed, not allowed, or names something that does not exist.
    InvalidRequest,
    /// The node is not paired.
    NotPaired,
    /// The gateway cannot do this now (pairing disabled, storage failure).
    Unavailable,
    /// The operator token is missing or wrong.
    Unauthorized,
    /// A limit was reached; `retryAfterMs` says when to try again.
    RateLimited,
    /// Protocol v4: the caller lacks a scope (`details.code` `MISSING_SCOPE`).
    Forbidden,
    /// Any code this version does not know.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The code as it is on the wire (`INVALID_REQUEST`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::NotPaired => "NOT_PAIRED",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::Unknown => "UNKNOWN",
        }
    }
}

/// A protocol-level failure: the `error` of a `res` frame. Not a Rust error: a value both sides read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// The error code.
    pub code: ErrorCode,
    /// A sentence for people.
    #[serde(default)]
    pub message: String,
    /// Machine-readable detail; read it typed with [`ApiError::detail`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// Whether the same request may succeed later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// How long to wait before retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ApiError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: None,
            retryable: None,
            retry_after_ms: None,
        }
    }

    /// `INVALID_REQUEST` with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// Adds `details`.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// `RATE_LIMITED` with a retry hint.
    pub fn rate_limited(message: impl Into<String>, retry_after_ms: u64) -> Self {
        let mut e = Self::new(ErrorCode::RateLimited, message);
        e.retryable = Some(true);
        e.retry_after_ms = Some(retry_after_ms);
        e
    }

    /// The error every acknowledgement becomes when the store could not make its change durable.
    pub fn storage_failed() -> Self {
        let mut e = Self::new(
            ErrorCode::Unavailable,
            "storage write failed; the change was not made",
        )
        .with_details(json!({ "code": DetailCode::StorageFailed }));
        e.retryable = Some(true);
        e
    }

    /// `UNAVAILABLE`: the gateway runs with pairing turned off.
    pub fn pairing_disabled() -> Self {
        Self::new(ErrorCode::Unavailable, "pairing disabled")
            .with_details(json!({ "code": DetailCode::PairingDisabled }))
    }

    /// No node has this id.
    pub fn unknown_node(node_id: &str) -> Self {
        Self::invalid("unknown nodeId")
            .with_details(json!({ "code": DetailCode::UnknownNode, "nodeId": node_id }))
    }

    /// A conditional removal found the node connected now, or seen at `seen_at_ms`, at or after the
    /// removal's cutoff: it was kept.
    pub fn node_seen(node_id: &str, seen_at_ms: Option<u64>) -> Self {
        let message = match seen_at_ms {
            None => "node is connected; not removed".to_owned(),
            Some(_) => "node was seen since the cutoff; not removed".to_owned(),
        };
        Self::invalid(message).with_details(json!({
            "code": DetailCode::NodeSeen,
            "nodeId": node_id,
            "reason": if seen_at_ms.is_some() { "seen" } else { "connected" },
        }))
    }

    /// No setup code or enrollment key has this id.
    pub fn unknown_enrollment(id: &str) -> Self {
        let shown: String = id.chars().take(64).collect();
        Self::invalid(format!(
            "no setup code or enrollment key has the id {shown}"
        ))
        .with_details(json!({ "code": DetailCode::UnknownEnrollment, "id": shown }))
    }

    /// No paired device has this id.
    pub fn unknown_device(device_id: &str) -> Self {
        Self::invalid("unknown deviceId")
            .with_details(json!({ "code": DetailCode::UnknownDevice, "deviceId": device_id }))
    }

    /// No pending request has this id: it ended as `gone` (see [`crate::format::why_gone`]), or the
    /// gateway does not remember it.
    pub fn request_gone(request_id: &str, gone: Option<Decision>) -> Self {
        let message = match gone {
            Some(d) => format!("unknown requestId: {}", crate::format::why_gone(d)),
            None => "unknown requestId".to_owned(),
        };
        Self::invalid(message).with_details(json!({
            "code": DetailCode::UnknownRequest,
            "reason": gone.map_or("unknown", Decision::as_str),
            "requestId": request_id,
        }))
    }

    /// No pending request shows verification `code`: the request that did ended as `gone`.
    pub fn code_gone(code: &str, gone: Option<(&str, Decision)>) -> Self {
        match gone {
            None => Self::invalid(format!("unknown code {code}: no pending request shows it"))
                .with_details(json!({
                    "code": DetailCode::UnknownRequest,
                    "reason": "unknown",
                    "verificationCode": code,
                })),
            Some((request_id, d)) => Self::invalid(format!(
                "unknown code {code}: {}",
                crate::format::why_gone(d)
            ))
            .with_details(json!({
                "code": DetailCode::UnknownRequest,
                "reason": d,
                "verificationCode": code,
                "requestId": request_id,
            })),
        }
    }

    /// Adds who decided the request that is gone and when (`details.decidedBy`, `decidedAtMs`), so
    /// a client can say "already approved 3m ago by operator cli@127.0.0.1" on any machine.
    /// `None` (the gateway no longer remembers) leaves the error as it is.
    pub fn decided_by(mut self, decider: Option<(&str, u64)>) -> Self {
        if let Some((by, at_ms)) = decider
            && let Some(Value::Object(d)) = &mut self.details
        {
            d.insert("decidedBy".into(), by.into());
            d.insert("decidedAtMs".into(), at_ms.into());
        }
        self
    }

    /// More than one pending request shows verification `code`.
    pub fn ambiguous_code(code: &str, request_ids: &[&str]) -> Self {
        Self::invalid(format!(
            "ambiguous code {code}: {} pending requests show it; use the requestId",
            request_ids.len()
        ))
        .with_details(json!({
            "code": DetailCode::AmbiguousCode,
            "reason": "ambiguous",
            "requestIds": request_ids,
        }))
    }

    /// `details` read as [`ErrorDetails`]: every field optional, anything unreadable left out.
    pub fn detail(&self) -> ErrorDetails {
        self.details
            .as_ref()
            .and_then(|d| serde_json::from_value(d.clone()).ok())
            .unwrap_or_default()
    }

    /// `details.code`, when it is one this version knows.
    pub fn detail_code(&self) -> Option<DetailCode> {
        self.detail().code.filter(|c| *c != DetailCode::Unknown)
    }

    /// `details.reason` as the gateway wrote it (`expired`, `unknown`, `token-rotated`, …).
    pub fn reason(&self) -> Option<String> {
        self.detail().reason
    }

    /// What became of the request the call named, when `details.reason` is a [`Decision`].
    pub fn gone(&self) -> Option<Decision> {
        let reason = self.reason()?;
        serde_json::from_value(Value::String(reason)).ok()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

/// `error.details`, typed. Which fields are present depends on the error; the ones a client decides
/// by are `code` and `reason`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetails {
    /// The stable code a client decides by.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub code: Option<DetailCode>,
    /// Why: for a request id or code that is not pending, the [`Decision`] that ended it (`expired`,
    /// …), `unknown` or `ambiguous`; `token-rotated` for a retired operator token; OpenClaw's reasons
    /// for device proofs and pairing (`not-paired`, `device-signature`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The request concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The verification code a call named (`UNKNOWN_REQUEST` by code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_code: Option<String>,
    /// The requests an ambiguous verification code matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_ids: Option<Vec<String>>,
    /// Who decided the request that is gone (`UNKNOWN_REQUEST`): `operator cli@127.0.0.1`, or
    /// `gateway` for expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// When it was decided, ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at_ms: Option<u64>,
    /// The node concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// The device concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The parameter that was wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The scope the caller lacks (`MISSING_SCOPE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_scope: Option<String>,
    /// Every scope the call needs (`MISSING_SCOPE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_scopes: Option<Vec<String>>,
    /// The protocol versions the gateway speaks (`PROTOCOL_MISMATCH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported: Option<Vec<u64>>,
    /// What the client should do next (`wait_then_retry`, `update_auth_credentials`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended_next_step: Option<String>,
    /// Everything else, as sent.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

/// A `code` that is not a string (or absent) reads as `None`; an unknown string as `Unknown`.
fn lenient<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<DetailCode>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.and_then(|v| serde_json::from_value(v).ok()))
}
