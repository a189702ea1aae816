//! Frames of OpenClaw gateway protocol v3 and v4: parsing what clients send, encoding what the gateway
//! sends.
//!
//! Every outgoing frame is built from typed structs, so field order and content are deterministic.
//! Clients use the same module the other way round: [`request_frame`] to send, [`Incoming`] to read.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

pub use crate::protocol::PROTOCOL_VERSION;
pub use crate::protocol::error::{ApiError, ErrorCode};

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

#[derive(Serialize)]
struct ReqFrame<'a, P: Serialize> {
    #[serde(rename = "type")]
    ty: &'static str,
    id: &'a str,
    method: &'a str,
    params: &'a P,
}

/// A `req` frame, as a client sends it.
pub fn request_frame<P: Serialize>(id: &str, method: &str, params: &P) -> String {
    // Params are the client's own typed records or JSON values: serialising them cannot fail.
    serde_json::to_string(&ReqFrame {
        ty: "req",
        id,
        method,
        params,
    })
    .unwrap_or_default()
}

/// A frame from the gateway, as a client reads it. The payload stays JSON until the client reads it
/// as the record it expects (see [`Incoming::payload_as`] and [`crate::protocol`]).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "type")]
pub enum Incoming {
    /// The answer to a request.
    #[serde(rename = "res")]
    Response {
        /// The id of the request it answers.
        id: String,
        /// Whether it succeeded.
        ok: bool,
        /// The result (`Null` when absent).
        #[serde(default)]
        payload: Value,
        /// Why it failed.
        #[serde(default)]
        error: Option<ApiError>,
    },
    /// Something that happened.
    #[serde(rename = "event")]
    Event {
        /// The event name (`node.pair.requested`, `tick`, …).
        event: String,
        /// Its payload (`Null` when absent).
        #[serde(default)]
        payload: Value,
        /// The broadcast sequence number, on pairing broadcasts to operators.
        #[serde(default)]
        seq: Option<u64>,
    },
}

impl Incoming {
    /// Parses a text frame from the gateway; `None` for anything but a `res` or `event` frame.
    pub fn parse(text: &str) -> Option<Incoming> {
        serde_json::from_str(text).ok()
    }

    /// The payload read as `T` (`None` if it has another shape).
    pub fn payload_as<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        let (Incoming::Response { payload, .. } | Incoming::Event { payload, .. }) = self;
        T::deserialize(payload).ok()
    }
}

#[cfg(test)]
mod tests;
