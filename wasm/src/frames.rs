//! The page's side of the wire: the `connect` request it sends as an operator and `req` frames with
//! increasing ids. Every record, param and frame shape comes from `pairing_core::protocol` and
//! `pairing_core::wire`, every method name from `pairing_core::method::Method`; only the names of the
//! events the page follows are spelled here, once.

use pairing_core::method::Method;
use pairing_core::protocol::{ClientInfo, ConnectParams};
use pairing_core::scopes;
use pairing_core::wire::request_frame;
use serde::Serialize;

pub use pairing_core::wire::Incoming;

/// `client.id` the page presents, as OpenClaw's own control UI does.
pub const CLIENT_ID: &str = "openclaw-control-ui";

/// The scopes the page asks for: everything an approval of any request can need.
pub const PAGE_SCOPES: [&str; 4] = [scopes::PAIRING, scopes::READ, scopes::WRITE, scopes::ADMIN];

/// The events the page follows.
pub mod event {
    /// `connect.challenge`.
    pub const CHALLENGE: &str = pairing_core::Event::ConnectChallenge.as_str();
    /// `tick`.
    pub const TICK: &str = pairing_core::Event::Tick.as_str();
    /// `node.pair.requested`.
    pub const REQUESTED: &str = pairing_core::Event::NodePairRequested.as_str();
    /// `node.pair.resolved`.
    pub const RESOLVED: &str = pairing_core::Event::NodePairResolved.as_str();
}

/// Builds request frames with ids "1", "2", … that never repeat for the life of the page, so a late
/// response from an old connection can never be mistaken for one on the current connection.
#[derive(Debug, Default)]
pub struct Codec {
    last_id: u64,
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
    pub fn request<P: Serialize>(&mut self, method: &str, params: &P) -> (String, String) {
        let id = self.next_id();
        let text = request_frame(&id, method, params);
        (id, text)
    }

    /// The `connect` request of an operator holding `token`, from a page of `version`.
    pub fn connect(&mut self, token: &str, version: &str) -> (String, String) {
        let client = ClientInfo::new(CLIENT_ID, "ui", version, "web");
        self.request(
            Method::Connect.as_str(),
            &ConnectParams::operator(token, client, &PAGE_SCOPES),
        )
    }
}

/// Parses a text frame from the gateway; `None` for anything that is not a `res` or `event` frame.
pub fn parse(text: &str) -> Option<Incoming> {
    Incoming::parse(text)
}

#[cfg(test)]
mod tests;
