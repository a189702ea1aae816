//! The approval page's state machine, with no I/O: the JavaScript glue feeds it socket events and
//! clicks, each with the current time, sends the frames it returns, and renders [`PageModel::view`].
//!
//! Call order, per socket: [`PageModel::socket_opening`] when the glue creates a WebSocket, then
//! [`PageModel::receive`] for every text frame, then [`PageModel::socket_closed`] once; its answer is
//! the delay before the next attempt (none while the page needs a token). [`PageModel::tick`] about
//! once a second; the action methods ([`PageModel::approve`], …) whenever a person clicks.
//!
//! The gateway's lists are the truth: the page re-reads `node.pair.list` and `node.list` after every
//! handshake and whenever a broadcast's `seq` is not the one after the last one it saw
//! ([`pairing_core::resync`], the same rules as the CLI's).
//!
//! - here: the connection's life, incoming frames, notices;
//! - `calls`: what a person can do (approve, reject, rename, remove) and the calls in flight;
//! - `apply`: what each event and response means for the lists.

mod apply;
mod calls;

use crate::frames::{Codec, Incoming, parse};
use calls::Call;
use pairing_core::method::Method;
use pairing_core::protocol::{NoParams, NodeEntry, NodePaired, NodePending};
use pairing_core::resync::{Backoff, SeqTracker};
use serde::Serialize;
use std::collections::BTreeMap;

pub use calls::ActionError;

/// How often the page re-reads `node.list` for connected state and names while connected.
pub const NODE_LIST_EVERY_MS: u64 = 5_000;
/// How long a notice stays on screen.
pub const NOTICE_MS: u64 = 20_000;
/// At most this many notices are kept.
pub const MAX_NOTICES: usize = 5;
/// Clock differences smaller than this between page and gateway are ignored (frame latency).
pub const SKEW_IGNORED_MS: i64 = 1_000;

/// Where the page stands with the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conn {
    /// No token is known, or the gateway refused the one given: the page shows the token form.
    NeedToken,
    /// The first connection attempt is under way.
    Connecting,
    /// The handshake finished; the page is live.
    Connected,
    /// The connection was lost; a new attempt is under way or scheduled.
    Reconnecting,
}

impl Conn {
    /// The value of `#conn-status[data-state]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Conn::NeedToken => "need-token",
            Conn::Connecting => "connecting",
            Conn::Connected => "connected",
            Conn::Reconnecting => "reconnecting",
        }
    }
}

/// A short message about something that happened ("The request from iPad expired.").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// A number unique for the page's life, so the glue can key elements.
    pub id: u64,
    /// `expired`, `superseded`, `approved`, `rejected`, `failed` or `info`.
    pub kind: &'static str,
    /// The sentence.
    pub text: String,
    /// When it appeared (page clock).
    pub at: u64,
}

/// The page's whole state. See the module documentation for the call order.
#[derive(Debug)]
pub struct PageModel {
    version: String,
    token: Option<String>,
    conn: Conn,
    /// Reconnect delays; its failures count attempts since the last successful handshake.
    backoff: Backoff,
    codec: Codec,
    calls: BTreeMap<String, Call>,
    /// The broadcast `seq` of this connection.
    seq: SeqTracker,
    /// Gateway clock minus page clock, from `connect.challenge` and `tick`.
    skew_ms: i64,
    pub(crate) pending: BTreeMap<String, NodePending>,
    pub(crate) paired: BTreeMap<String, NodePaired>,
    /// The latest `node.list` entries, by node id.
    pub(crate) live: BTreeMap<String, NodeEntry>,
    /// When (gateway clock) this page last saw a node connected, or asking to pair.
    pub(crate) seen: BTreeMap<String, u64>,
    /// Whether a `node.pair.list` is in flight.
    resyncing: bool,
    /// Whether the lists have been read at least once.
    pub(crate) synced: bool,
    last_node_list: u64,
    notices: Vec<Notice>,
    next_notice: u64,
    error: String,
    /// When (page clock) the live connection was lost; cleared by the next handshake. Countdowns
    /// stop here while the page is offline: it cannot know what the gateway decided meanwhile.
    pub(crate) offline_since: Option<u64>,
    /// When (page clock) the next connection attempt is scheduled; `None` while one is under way.
    pub(crate) retry_at: Option<u64>,
}

/// A random-enough number for the reconnect jitter, from the page's clock: pages dropped together
/// close their sockets at slightly different milliseconds, which this spreads over the whole range.
fn jitter(now: u64) -> u16 {
    (now.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48) as u16
}

impl PageModel {
    /// A page of client `version` that knows no token yet.
    pub fn new(version: &str) -> Self {
        PageModel {
            version: version.to_owned(),
            token: None,
            conn: Conn::NeedToken,
            backoff: Backoff::new(),
            codec: Codec::new(),
            calls: BTreeMap::new(),
            seq: SeqTracker::new(),
            skew_ms: 0,
            pending: BTreeMap::new(),
            paired: BTreeMap::new(),
            live: BTreeMap::new(),
            seen: BTreeMap::new(),
            resyncing: false,
            synced: false,
            last_node_list: 0,
            notices: Vec::new(),
            next_notice: 1,
            error: String::new(),
            offline_since: None,
            retry_at: None,
        }
    }

    /// Takes the operator token (from the URL fragment, sessionStorage or the form). A whole page link
    /// pasted into the form (`http://…/#token=…`) gives its token.
    pub fn set_token(&mut self, token: &str) -> Result<(), ActionError> {
        let token = token.trim();
        let token = match token.split_once("#token=") {
            Some((_, rest)) => rest.split('&').next().unwrap_or_default().trim(),
            None => token,
        };
        if token.is_empty() {
            self.error = ActionError::EmptyToken.to_string();
            return Err(ActionError::EmptyToken);
        }
        self.token = Some(token.to_owned());
        self.error.clear();
        if self.conn == Conn::NeedToken {
            self.conn = Conn::Connecting;
        }
        Ok(())
    }

    /// The token to keep in sessionStorage, if the gateway has not refused it.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Where the page stands.
    pub fn conn(&self) -> Conn {
        self.conn
    }

    /// The current error in plain words; empty when there is none.
    pub fn error(&self) -> &str {
        &self.error
    }

    /// Gateway time for page time `now`.
    pub(crate) fn gateway_now(&self, now: u64) -> u64 {
        now.saturating_add_signed(self.skew_ms)
    }

    /// The glue is opening a socket. Returns whether it should (a token is known).
    pub fn socket_opening(&mut self, _now: u64) -> bool {
        if self.token.is_none() {
            self.conn = Conn::NeedToken;
            return false;
        }
        if self.conn != Conn::Reconnecting {
            self.conn = Conn::Connecting;
        }
        self.retry_at = None;
        self.calls.clear();
        self.seq.reset();
        true
    }

    /// The socket closed (or never opened). Returns the delay before the next attempt, or `None` while
    /// the page needs a token.
    pub fn socket_closed(&mut self, now: u64) -> Option<u64> {
        self.socket_closed_with(now, "")
    }

    /// Like [`PageModel::socket_closed`], with the close frame's reason: a connection the gateway
    /// closed because the operator token was rotated asks for the new one at once (the old token is
    /// forgotten; reconnecting with it could only be refused).
    pub fn socket_closed_with(&mut self, now: u64, reason: &str) -> Option<u64> {
        if crate::words::closed_for_rotation(reason) {
            self.token = None;
            self.conn = Conn::NeedToken;
            self.error = crate::words::ROTATED_TOKEN.to_owned();
        }
        let calls = std::mem::take(&mut self.calls);
        for call in calls.values() {
            if let Some(verb) = call.verb() {
                let text = format!(
                    "The connection dropped before the gateway answered; the {verb} may not have \
                     happened. The list refreshes on reconnect."
                );
                self.notice("failed", text, now);
            }
        }
        self.resyncing = false;
        self.seq.reset();
        if self.conn == Conn::NeedToken || self.token.is_none() {
            self.conn = Conn::NeedToken;
            self.retry_at = None;
            return None;
        }
        if self.synced && self.offline_since.is_none() {
            self.offline_since = Some(now);
        }
        self.conn = Conn::Reconnecting;
        let delay = self.backoff.next_delay(jitter(now));
        self.retry_at = Some(now.saturating_add(delay));
        Some(delay)
    }

    /// Seconds until the next connection attempt (rounded up), `None` when none is scheduled.
    pub fn retry_in_s(&self, now: u64) -> Option<u64> {
        self.retry_at
            .map(|at| at.saturating_sub(now).div_ceil(1000))
    }

    /// Failed attempts since the last successful handshake.
    pub fn failures(&self) -> u32 {
        self.backoff.failures()
    }

    /// Once a second or so: re-reads `node.list` when due and drops old notices. Returns frames to send.
    pub fn tick(&mut self, now: u64) -> Vec<String> {
        self.notices
            .retain(|n| now.saturating_sub(n.at) < NOTICE_MS);
        let mut out = Vec::new();
        if self.conn == Conn::Connected
            && now.saturating_sub(self.last_node_list) >= NODE_LIST_EVERY_MS
            && !self.in_flight(|c| matches!(c, Call::NodeList))
        {
            self.last_node_list = now;
            out.push(self.send(Method::NodeList.as_str(), &NoParams {}, Call::NodeList));
        }
        out
    }

    /// A text frame from the gateway. Returns the frames to send in reply.
    pub fn receive(&mut self, text: &str, now: u64) -> Vec<String> {
        let mut out = Vec::new();
        let Some(frame) = parse(text) else {
            return out;
        };
        match &frame {
            Incoming::Event { event, seq, .. } => {
                if self.seq.observe(*seq) {
                    self.resync(now, &mut out);
                }
                self.event(event, &frame, now, &mut out);
            }
            Incoming::Response { id, ok, error, .. } => {
                if let Some(call) = self.calls.remove(id) {
                    match (ok, error) {
                        (true, _) => self.response(call, &frame, now, &mut out),
                        (false, Some(error)) => self.failure(call, error, now, &mut out),
                        (false, None) => {
                            let error = pairing_core::protocol::ApiError::new(
                                pairing_core::protocol::ErrorCode::Unknown,
                                "",
                            );
                            self.failure(call, &error, now, &mut out);
                        }
                    }
                }
            }
        }
        out
    }

    fn send<P: Serialize>(&mut self, method: &str, params: &P, call: Call) -> String {
        let (id, text) = self.codec.request(method, params);
        self.calls.insert(id, call);
        text
    }

    /// The ids of the calls in flight (for tests that answer them).
    #[cfg(test)]
    pub(crate) fn calls_for_test(&self) -> Vec<String> {
        self.calls.keys().cloned().collect()
    }

    fn in_flight(&self, which: impl Fn(&Call) -> bool) -> bool {
        self.calls.values().any(which)
    }

    /// Re-reads both lists (each at most once in flight).
    fn resync(&mut self, now: u64, out: &mut Vec<String>) {
        if !self.resyncing {
            self.resyncing = true;
            out.push(self.send(Method::NodePairList.as_str(), &NoParams {}, Call::PairList));
        }
        if !self.in_flight(|c| matches!(c, Call::NodeList)) {
            self.last_node_list = now;
            out.push(self.send(Method::NodeList.as_str(), &NoParams {}, Call::NodeList));
        }
    }

    fn notice(&mut self, kind: &'static str, text: String, now: u64) {
        self.notices.push(Notice {
            id: self.next_notice,
            kind,
            text,
            at: now,
        });
        self.next_notice += 1;
        if self.notices.len() > MAX_NOTICES {
            let extra = self.notices.len() - MAX_NOTICES;
            self.notices.drain(..extra);
        }
    }

    /// Notices still on screen, oldest first.
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    /// Removes a notice the person dismissed.
    pub fn dismiss_notice(&mut self, id: u64) {
        self.notices.retain(|n| n.id != id);
    }
}

#[cfg(test)]
pub(crate) mod tests;
