//! Frames of OpenClaw gateway protocol v3 and v4: parsing what clients send, encoding what the gateway
//! sends.
//!
//! Every outgoing frame is built from typed structs, so field order and content are deterministic.

use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// The protocol version this project's own clients speak (the gateway also speaks 4: see
/// [`crate::protocol::SUPPORTED_PROTOCOLS`]).
pub const PROTOCOL_VERSION: u64 = 3;

/// Error codes of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
}

/// A protocol-level failure: becomes the `error` of a `res` frame. Not a Rust error.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// The error code.
    pub code: ErrorCode,
    /// A sentence for people.
    pub message: String,
    /// Machine-readable detail, such as `{code}` or `{reason}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// Whether the same request may succeed later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// How long to wait before retrying.
    #[serde(skip_serializing_if = "Option::is_none")]
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
        );
        e.retryable = Some(true);
        e
    }
}

#[derive(Serialize)]
struct ResFrame<'a, P: Serialize> {
    #[serde(rename = "type")]
    ty: &'static str,
    id: &'a str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a P>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ApiError>,
}

#[derive(Serialize)]
struct EventFrame<'a, P: Serialize> {
    #[serde(rename = "type")]
    ty: &'static str,
    event: &'a str,
    payload: &'a P,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
}

fn encode<T: Serialize>(value: &T) -> Arc<str> {
    // Serialising our own structs into a String cannot fail: no maps with non-string keys, no I/O.
    let mut text = serde_json::to_string(value).unwrap_or_default();
    let frame = Arc::from(text.as_str());
    // The buffer may hold a token (an approve result, a node's approved event): wipe it, keep the copy.
    zeroize::Zeroize::zeroize(&mut text);
    frame
}

/// A successful `res` frame.
pub fn ok_frame<P: Serialize>(id: &str, payload: &P) -> Arc<str> {
    encode(&ResFrame {
        ty: "res",
        id,
        ok: true,
        payload: Some(payload),
        error: None,
    })
}

/// A failed `res` frame.
pub fn err_frame(id: &str, error: &ApiError) -> Arc<str> {
    encode(&ResFrame::<()> {
        ty: "res",
        id,
        ok: false,
        payload: None,
        error: Some(error),
    })
}

/// An `event` frame; `seq` only on broadcasts to operators.
pub fn event_frame<P: Serialize>(event: &str, payload: &P, seq: Option<u64>) -> Arc<str> {
    encode(&EventFrame {
        ty: "event",
        event,
        payload,
        seq,
    })
}

/// A request frame as parsed from a client.
#[derive(Debug)]
pub struct Request {
    /// The client's id for this request, echoed in the response.
    pub id: String,
    /// The method name.
    pub method: String,
    /// The parameters (`Null` when absent).
    pub params: Value,
}

/// Why a text frame is not a request: the id to answer with (when one could be read) and the problem.
#[derive(Debug)]
pub struct BadFrame {
    /// The request id if the frame had a usable one, else `"invalid"`.
    pub id: String,
    /// What was wrong.
    pub problem: String,
    /// The frame is a JSON object of another type (an event or a response), not a broken request.
    pub not_a_request: bool,
}

/// Longest request id echoed back; longer ids are answered as `"invalid"`.
pub const MAX_REQUEST_ID: usize = 256;

/// Parses a text frame into a request.
pub fn parse_request(text: &str) -> Result<Request, BadFrame> {
    let bad = |id: Option<&str>, problem: &str| BadFrame {
        id: id.unwrap_or("invalid").to_owned(),
        problem: problem.to_owned(),
        not_a_request: false,
    };
    let value: Value = serde_json::from_str(text).map_err(|_| bad(None, "not valid JSON"))?;
    let Value::Object(mut map) = value else {
        return Err(bad(None, "frame must be a JSON object"));
    };
    let id = match map.get("id") {
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= MAX_REQUEST_ID => {
            Some(s.clone())
        }
        _ => None,
    };
    match map.get("type").and_then(Value::as_str) {
        Some("req") => {}
        other => {
            return Err(BadFrame {
                not_a_request: matches!(other, Some("event" | "res")),
                ..bad(id.as_deref(), "type must be \"req\"")
            });
        }
    }
    let Some(id) = id else {
        return Err(bad(
            None,
            "id must be a non-empty string of at most 256 characters",
        ));
    };
    let method = match map.get("method") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        _ => return Err(bad(Some(&id), "method must be a non-empty string")),
    };
    let params = map.remove("params").unwrap_or(Value::Null);
    Ok(Request { id, method, params })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_encode_in_protocol_shape() {
        assert_eq!(
            &*ok_frame("1", &serde_json::json!({"a": 1})),
            r#"{"type":"res","id":"1","ok":true,"payload":{"a":1}}"#
        );
        let e = ApiError::rate_limited("slow down", 5);
        assert_eq!(
            &*err_frame("2", &e),
            r#"{"type":"res","id":"2","ok":false,"error":{"code":"RATE_LIMITED","message":"slow down","retryable":true,"retryAfterMs":5}}"#
        );
        assert_eq!(
            &*event_frame("tick", &serde_json::json!({"ts": 1}), None),
            r#"{"type":"event","event":"tick","payload":{"ts":1}}"#
        );
    }

    #[test]
    fn bad_frames_keep_the_id_when_there_is_one() {
        assert_eq!(parse_request("nope").unwrap_err().id, "invalid");
        assert_eq!(parse_request("[1]").unwrap_err().id, "invalid");
        let e = parse_request(r#"{"type":"event","id":"7"}"#).unwrap_err();
        assert_eq!(e.id, "7");
        let e = parse_request(r#"{"type":"req","id":"8"}"#).unwrap_err();
        assert_eq!(
            (e.id.as_str(), e.problem.as_str()),
            ("8", "method must be a non-empty string")
        );
        let long = "x".repeat(300);
        let e =
            parse_request(&format!(r#"{{"type":"req","id":"{long}","method":"m"}}"#)).unwrap_err();
        assert_eq!(e.id, "invalid");
        let r = parse_request(r#"{"type":"req","id":"9","method":"m"}"#).unwrap();
        assert_eq!(
            (r.id.as_str(), r.method.as_str(), r.params),
            ("9", "m", Value::Null)
        );
    }
}
