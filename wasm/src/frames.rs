//! The page's side of the wire: the `connect` request it sends as an operator, `req` frames with
//! increasing ids, and parsing of the `res` and `event` frames the gateway sends back.

use pairing_core::scopes;
use pairing_core::wire::PROTOCOL_VERSION;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `client.id` the page presents, as OpenClaw's own control UI does.
pub const CLIENT_ID: &str = "openclaw-control-ui";

/// The scopes the page asks for: everything an approval of any request can need.
pub const PAGE_SCOPES: [&str; 4] = [scopes::PAIRING, scopes::READ, scopes::WRITE, scopes::ADMIN];

/// Builds request frames with ids "1", "2", … that never repeat for the life of the page, so a late
/// response from an old connection can never be mistaken for one on the current connection.
#[derive(Debug, Default)]
pub struct Codec {
    last_id: u64,
}

#[derive(Serialize)]
struct ReqFrame<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    id: &'a str,
    method: &'a str,
    params: &'a Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConnectParams<'a> {
    min_protocol: u64,
    max_protocol: u64,
    client: ClientInfo<'a>,
    role: &'static str,
    scopes: [&'static str; 4],
    auth: Auth<'a>,
}

#[derive(Serialize)]
struct ClientInfo<'a> {
    id: &'static str,
    version: &'a str,
    platform: &'static str,
    mode: &'static str,
}

#[derive(Serialize)]
struct Auth<'a> {
    token: &'a str,
}

impl Codec {
    /// A codec whose first request gets id "1".
    pub fn new() -> Self {
        Codec::default()
    }

    /// The next request id.
    pub fn next_id(&mut self) -> String {
        self.last_id += 1;
        self.last_id.to_string()
    }

    /// A `req` frame for `method` with `params`; returns its id and its text.
    pub fn request(&mut self, method: &str, params: &Value) -> (String, String) {
        let id = self.next_id();
        let text = serde_json::to_string(&ReqFrame {
            ty: "req",
            id: &id,
            method,
            params,
        })
        .unwrap_or_default();
        (id, text)
    }

    /// The `connect` request of an operator holding `token`, from a page of `version`.
    pub fn connect(&mut self, token: &str, version: &str) -> (String, String) {
        let params = ConnectParams {
            min_protocol: PROTOCOL_VERSION,
            max_protocol: PROTOCOL_VERSION,
            client: ClientInfo {
                id: CLIENT_ID,
                version,
                platform: "web",
                mode: "ui",
            },
            role: "operator",
            scopes: PAGE_SCOPES,
            auth: Auth { token },
        };
        let params = serde_json::to_value(&params).unwrap_or_default();
        self.request("connect", &params)
    }
}

/// The `error` of a failed response.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireError {
    /// `INVALID_REQUEST`, `UNAUTHORIZED`, …
    pub code: String,
    /// The gateway's own sentence.
    pub message: String,
    /// Machine-readable detail such as `{reason}`.
    pub details: Option<Value>,
    /// How long to wait before retrying, for `RATE_LIMITED`.
    pub retry_after_ms: Option<u64>,
}

impl WireError {
    /// `details.reason`, when the gateway said why a request id is unknown.
    pub fn reason(&self) -> Option<&str> {
        self.details.as_ref()?.get("reason")?.as_str()
    }
}

/// A frame from the gateway.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "type")]
pub enum Incoming {
    /// The answer to one of our requests.
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
        error: Option<WireError>,
    },
    /// Something that happened.
    #[serde(rename = "event")]
    Event {
        /// The event name (`node.pair.requested`, `tick`, …).
        event: String,
        /// Its payload (`Null` when absent).
        #[serde(default)]
        payload: Value,
        /// The broadcast sequence number, on pairing events.
        #[serde(default)]
        seq: Option<u64>,
    },
}

/// Parses a text frame from the gateway; `None` for anything that is not a `res` or `event` frame.
pub fn parse(text: &str) -> Option<Incoming> {
    serde_json::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn connect_then_requests_with_increasing_ids() {
        let mut c = Codec::new();
        let (id, text) = c.connect("tok", "0.1.0");
        assert_eq!(id, "1");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["type"], "req");
        assert_eq!(v["method"], "connect");
        assert_eq!(v["params"]["role"], "operator");
        assert_eq!(v["params"]["auth"]["token"], "tok");
        assert_eq!(v["params"]["minProtocol"], 3);
        assert_eq!(
            v["params"]["client"],
            json!({"id": "openclaw-control-ui", "version": "0.1.0", "platform": "web", "mode": "ui"})
        );
        assert_eq!(
            v["params"]["scopes"],
            json!([
                "operator.pairing",
                "operator.read",
                "operator.write",
                "operator.admin"
            ])
        );
        let (id, text) = c.request("node.pair.list", &json!({}));
        assert_eq!(id, "2");
        assert_eq!(
            text,
            r#"{"type":"req","id":"2","method":"node.pair.list","params":{}}"#
        );
    }

    #[test]
    fn parses_responses_and_events_and_ignores_the_rest() {
        let r = parse(r#"{"type":"res","id":"3","ok":false,"error":{"code":"INVALID_REQUEST","message":"unknown requestId: it expired","details":{"reason":"expired"}}}"#).unwrap();
        let Incoming::Response { id, ok, error, .. } = r else {
            panic!("not a response")
        };
        assert_eq!((id.as_str(), ok), ("3", false));
        assert_eq!(error.unwrap().reason(), Some("expired"));
        let e = parse(r#"{"type":"event","event":"tick","payload":{"ts":5}}"#).unwrap();
        assert!(matches!(e, Incoming::Event { seq: None, .. }));
        let e = parse(
            r#"{"type":"event","event":"node.pair.resolved","payload":{},"seq":7,"extra":1}"#,
        )
        .unwrap();
        assert!(matches!(e, Incoming::Event { seq: Some(7), .. }));
        assert_eq!(parse("not json"), None);
        assert_eq!(parse(r#"{"type":"req","id":"1","method":"x"}"#), None);
    }
}
