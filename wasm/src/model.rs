//! The approval page's state machine, with no I/O: the JavaScript glue feeds it socket events and
//! clicks, each with the current time, sends the frames it returns, and renders [`PageModel::view`].
//!
//! Call order, per socket: [`PageModel::socket_opening`] when the glue creates a WebSocket, then
//! [`PageModel::receive`] for every text frame, then [`PageModel::socket_closed`] once; its answer is
//! the delay before the next attempt (none while the page needs a token). [`PageModel::tick`] about
//! once a second; the action methods ([`PageModel::approve`], …) whenever a person clicks.
//!
//! The gateway's lists are the truth: the page re-reads `node.pair.list` and `node.list` after every
//! handshake and whenever a broadcast's `seq` is not the one after the last one it saw.

use crate::frames::{Codec, Incoming, WireError, parse};
use crate::words;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How often the page re-reads `node.list` for connected state and names while connected.
pub const NODE_LIST_EVERY_MS: u64 = 5_000;
/// How long a notice stays on screen.
pub const NOTICE_MS: u64 = 20_000;
/// At most this many notices are kept.
pub const MAX_NOTICES: usize = 5;
/// Clock differences smaller than this between page and gateway are ignored (frame latency).
pub const SKEW_IGNORED_MS: i64 = 1_000;
/// Reconnect delays: 0.5 s, doubling, at most 10 s.
pub const BACKOFF_FIRST_MS: u64 = 500;
/// The longest reconnect delay.
pub const BACKOFF_MAX_MS: u64 = 10_000;

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

/// Why an action could not even be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActionError {
    /// The page is not connected right now.
    NotConnected,
    /// The page does not know that request or node (any more).
    Unknown,
    /// A rename to an empty name.
    EmptyName,
    /// A blank token.
    EmptyToken,
}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ActionError::NotConnected => {
                "Not connected to the gateway right now; try again once it reconnects."
            }
            ActionError::Unknown => "That is no longer on the list.",
            ActionError::EmptyName => "A name cannot be empty.",
            ActionError::EmptyToken => "Enter the gateway token.",
        })
    }
}

impl std::error::Error for ActionError {}

/// A pending request as the gateway lists it (fields the page does not show are ignored).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Pending {
    /// The request id.
    pub request_id: String,
    /// The node asking.
    pub node_id: String,
    /// The name it gave.
    pub display_name: Option<String>,
    /// Its platform.
    pub platform: Option<String>,
    /// Its device family.
    pub device_family: Option<String>,
    /// Its model identifier.
    pub model_identifier: Option<String>,
    /// The address it asked from.
    pub remote_ip: Option<String>,
    /// Commands it wants to expose.
    pub commands: Option<Vec<String>>,
    /// Whether the node is paired already.
    pub is_repair: bool,
    /// The code the device shows.
    pub verification_code: Option<String>,
    /// The client that asked through device pairing (`node-host`); absent for `node.pair.request`.
    pub client_id: Option<String>,
    /// Its version.
    pub version: Option<String>,
    /// When it was made (gateway clock).
    pub ts: u64,
    /// When it expires (gateway clock).
    pub expires_at_ms: Option<u64>,
}

impl Pending {
    /// The name shown: the display name, else the node id.
    pub fn name(&self) -> &str {
        label(self.display_name.as_deref(), &self.node_id)
    }
}

/// A paired node as `node.pair.list` and `node.list` show it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Node {
    /// The node id.
    pub node_id: String,
    /// Its name.
    pub display_name: Option<String>,
    /// Its platform.
    pub platform: Option<String>,
    /// Its device family.
    pub device_family: Option<String>,
    /// Its address.
    pub remote_ip: Option<String>,
    /// When its current token was issued.
    pub approved_at_ms: Option<u64>,
    /// Last successful verification by the node itself.
    pub last_connected_at_ms: Option<u64>,
    /// `node.list` only: whether it is paired.
    pub paired: bool,
    /// `node.list` only: whether it is connected now.
    pub connected: bool,
    /// `node.list` only: when its live connection started.
    pub connected_at_ms: Option<u64>,
}

impl Node {
    /// The name shown: the display name, else the node id.
    pub fn name(&self) -> &str {
        label(self.display_name.as_deref(), &self.node_id)
    }
}

fn label<'a>(name: Option<&'a str>, id: &'a str) -> &'a str {
    match name.map(str::trim) {
        Some(n) if !n.is_empty() => n,
        _ => id,
    }
}

/// A short message about something that happened ("The request from iPad expired.").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// A number unique for the page's life, so the glue can key elements.
    pub id: u64,
    /// `expired`, `superseded`, `failed` or `info`.
    pub kind: &'static str,
    /// The sentence.
    pub text: String,
    /// When it appeared (page clock).
    pub at: u64,
}

/// What an outstanding request was for, so its response can be understood.
#[derive(Clone, Debug)]
enum Call {
    Connect,
    PairList,
    NodeList,
    Approve { request_id: String, name: String },
    Reject { request_id: String, name: String },
    Rename { node_id: String, name: String },
    Remove { node_id: String, name: String },
}

impl Call {
    fn action(&self) -> Option<String> {
        Some(match self {
            Call::Approve { name, .. } => format!("approve {name}"),
            Call::Reject { name, .. } => format!("reject {name}"),
            Call::Rename { name, .. } => format!("rename {name}"),
            Call::Remove { name, .. } => format!("remove {name}"),
            _ => return None,
        })
    }
}

/// The page's whole state. See the module documentation for the call order.
#[derive(Debug)]
pub struct PageModel {
    version: String,
    token: Option<String>,
    conn: Conn,
    /// Failed attempts since the last successful handshake.
    failures: u32,
    codec: Codec,
    calls: BTreeMap<String, Call>,
    /// The last broadcast `seq` seen on this connection.
    last_seq: Option<u64>,
    /// Gateway clock minus page clock, from `connect.challenge` and `tick`.
    skew_ms: i64,
    pub(crate) pending: BTreeMap<String, Pending>,
    pub(crate) paired: BTreeMap<String, Node>,
    /// The latest `node.list` entries, by node id.
    pub(crate) live: BTreeMap<String, Node>,
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
}

impl PageModel {
    /// A page of client `version` that knows no token yet.
    pub fn new(version: &str) -> Self {
        PageModel {
            version: version.to_owned(),
            token: None,
            conn: Conn::NeedToken,
            failures: 0,
            codec: Codec::new(),
            calls: BTreeMap::new(),
            last_seq: None,
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
        self.calls.clear();
        self.last_seq = None;
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
        if reason.starts_with(crate::words::ROTATED_PREFIX) {
            self.token = None;
            self.conn = Conn::NeedToken;
            self.error = crate::words::ROTATED_TOKEN.to_owned();
        }
        let calls = std::mem::take(&mut self.calls);
        for call in calls.values() {
            if let Some(action) = call.action() {
                let text = format!(
                    "The connection dropped before the gateway answered; the {} may not have happened. \
                     The list refreshes on reconnect.",
                    action.split(' ').next().unwrap_or("change")
                );
                self.notice("failed", text, now);
            }
        }
        self.resyncing = false;
        self.last_seq = None;
        if self.conn == Conn::NeedToken || self.token.is_none() {
            self.conn = Conn::NeedToken;
            return None;
        }
        self.conn = Conn::Reconnecting;
        self.failures = self.failures.saturating_add(1);
        let shift = self.failures.saturating_sub(1).min(16);
        Some((BACKOFF_FIRST_MS << shift).min(BACKOFF_MAX_MS))
    }

    /// Failed attempts since the last successful handshake.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Once a second or so: re-reads `node.list` when due and drops old notices. Returns frames to send.
    pub fn tick(&mut self, now: u64) -> Vec<String> {
        self.notices
            .retain(|n| now.saturating_sub(n.at) < NOTICE_MS);
        let mut out = Vec::new();
        if self.conn == Conn::Connected
            && now.saturating_sub(self.last_node_list) >= NODE_LIST_EVERY_MS
            && !self.calls.values().any(|c| matches!(c, Call::NodeList))
        {
            self.last_node_list = now;
            out.push(self.send("node.list", json!({}), Call::NodeList));
        }
        out
    }

    /// A text frame from the gateway. Returns the frames to send in reply.
    pub fn receive(&mut self, text: &str, now: u64) -> Vec<String> {
        let mut out = Vec::new();
        match parse(text) {
            Some(Incoming::Event {
                event,
                payload,
                seq,
            }) => self.event(&event, payload, seq, now, &mut out),
            Some(Incoming::Response {
                id,
                ok,
                payload,
                error,
            }) => {
                if let Some(call) = self.calls.remove(&id) {
                    let error = error.unwrap_or_default();
                    self.response(call, ok, payload, &error, now, &mut out);
                }
            }
            None => {}
        }
        out
    }

    fn send(&mut self, method: &str, params: Value, call: Call) -> String {
        let (id, text) = self.codec.request(method, &params);
        self.calls.insert(id, call);
        text
    }

    fn resync(&mut self, now: u64, out: &mut Vec<String>) {
        if !self.resyncing {
            self.resyncing = true;
            out.push(self.send("node.pair.list", json!({}), Call::PairList));
        }
        if !self.calls.values().any(|c| matches!(c, Call::NodeList)) {
            self.last_node_list = now;
            out.push(self.send("node.list", json!({}), Call::NodeList));
        }
    }

    fn observe_clock(&mut self, payload: &Value, now: u64) {
        if let Some(ts) = payload.get("ts").and_then(Value::as_u64) {
            let skew = i64::try_from(i128::from(ts) - i128::from(now)).unwrap_or(0);
            // A few ms are the frame's travel time, not a clock difference; only a real skew counts.
            self.skew_ms = if skew.abs() < SKEW_IGNORED_MS {
                0
            } else {
                skew
            };
        }
    }

    fn event(
        &mut self,
        event: &str,
        payload: Value,
        seq: Option<u64>,
        now: u64,
        out: &mut Vec<String>,
    ) {
        if let Some(seq) = seq {
            let gap = self
                .last_seq
                .is_some_and(|last| seq != last.wrapping_add(1));
            self.last_seq = Some(seq);
            if gap {
                self.resync(now, out);
            }
        }
        match event {
            "connect.challenge" => {
                self.observe_clock(&payload, now);
                if let Some(token) = self.token.clone() {
                    let (id, text) = self.codec.connect(&token, &self.version);
                    self.calls.insert(id, Call::Connect);
                    out.push(text);
                }
            }
            "tick" => self.observe_clock(&payload, now),
            "node.pair.requested" => {
                if let Ok(p) = serde_json::from_value::<Pending>(payload)
                    && !p.request_id.is_empty()
                {
                    self.pending.insert(p.request_id.clone(), p);
                }
            }
            "node.pair.resolved" => self.resolved(&payload, now, out),
            _ => {}
        }
    }

    fn resolved(&mut self, payload: &Value, now: u64, out: &mut Vec<String>) {
        let field = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or_default();
        let (request_id, node_id, decision) =
            (field("requestId"), field("nodeId"), field("decision"));
        let gone = self.pending.remove(request_id);
        match (decision, gone) {
            ("expired", Some(p)) => {
                let text = format!(
                    "The request from {} expired before anyone approved it.",
                    p.name()
                );
                self.notice("expired", text, now);
            }
            ("superseded", Some(p)) => {
                let text = format!(
                    "The request from {} was replaced by a newer request from the same node.",
                    p.name()
                );
                self.notice("superseded", text, now);
            }
            ("approved", _) => self.resync(now, out),
            ("removed", _) => {
                self.paired.remove(node_id);
                self.live.remove(node_id);
            }
            _ => {}
        }
    }

    fn response(
        &mut self,
        call: Call,
        ok: bool,
        payload: Value,
        error: &WireError,
        now: u64,
        out: &mut Vec<String>,
    ) {
        if !ok {
            return self.failure(call, error, now, out);
        }
        match call {
            Call::Connect => {
                self.conn = Conn::Connected;
                self.failures = 0;
                self.error.clear();
                self.resync(now, out);
            }
            Call::PairList => {
                self.resyncing = false;
                self.synced = true;
                self.pending = list::<Pending>(&payload, "pending")
                    .into_iter()
                    .map(|p| (p.request_id.clone(), p))
                    .collect();
                self.paired = list::<Node>(&payload, "paired")
                    .into_iter()
                    .map(|n| (n.node_id.clone(), n))
                    .collect();
            }
            Call::NodeList => {
                self.live = list::<Node>(&payload, "nodes")
                    .into_iter()
                    .map(|n| (n.node_id.clone(), n))
                    .collect();
                let gw_now = self.gateway_now(now);
                for n in self.live.values().filter(|n| n.connected) {
                    self.seen.insert(n.node_id.clone(), gw_now);
                }
            }
            Call::Approve { request_id, .. } => {
                if let Some(p) = self.pending.remove(&request_id) {
                    let seen = self.seen.entry(p.node_id).or_default();
                    *seen = (*seen).max(p.ts);
                }
                self.error.clear();
                if let Ok(node) = serde_json::from_value::<Node>(payload["node"].clone())
                    && !node.node_id.is_empty()
                {
                    self.paired.insert(node.node_id.clone(), node);
                }
            }
            Call::Reject { request_id, .. } => {
                self.pending.remove(&request_id);
                self.error.clear();
            }
            Call::Rename { node_id, .. } => {
                self.error.clear();
                let name = payload["displayName"].as_str().map(str::to_owned);
                for map in [&mut self.paired, &mut self.live] {
                    if let Some(n) = map.get_mut(&node_id) {
                        n.display_name.clone_from(&name);
                    }
                }
            }
            Call::Remove { node_id, .. } => {
                self.error.clear();
                self.paired.remove(&node_id);
                self.live.remove(&node_id);
            }
        }
    }

    fn failure(&mut self, call: Call, error: &WireError, now: u64, out: &mut Vec<String>) {
        match &call {
            Call::Connect => {
                if error.code == "UNAUTHORIZED" {
                    self.token = None;
                    self.conn = Conn::NeedToken;
                }
                self.error = words::explain(error);
            }
            Call::PairList => {
                self.resyncing = false;
                self.error = words::explain(error);
            }
            Call::NodeList => {}
            Call::Approve { request_id, .. } | Call::Reject { request_id, .. } => {
                // The request is gone for good (expired, decided elsewhere, replaced): drop it now and
                // re-read the list rather than leave a button that cannot work.
                if error.reason().is_some() {
                    self.pending.remove(request_id);
                    self.resync(now, out);
                }
            }
            Call::Rename { .. } | Call::Remove { .. } => {
                if error.message.starts_with("unknown nodeId") {
                    self.resync(now, out);
                }
            }
        }
        if let Some(action) = call.action() {
            let text = words::failed(&action, error);
            self.error.clone_from(&text);
            self.notice("failed", text, now);
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

    fn connected(&self) -> Result<(), ActionError> {
        if self.conn == Conn::Connected {
            Ok(())
        } else {
            Err(ActionError::NotConnected)
        }
    }

    fn decide(&mut self, request_id: &str, approve: bool) -> Result<String, ActionError> {
        self.connected()?;
        let p = self.pending.get(request_id).ok_or(ActionError::Unknown)?;
        let (request_id, name) = (p.request_id.clone(), p.name().to_owned());
        let params = json!({ "requestId": request_id });
        Ok(if approve {
            self.send(
                "node.pair.approve",
                params,
                Call::Approve { request_id, name },
            )
        } else {
            self.send(
                "node.pair.reject",
                params,
                Call::Reject { request_id, name },
            )
        })
    }

    /// An action that could not be sent becomes the current error too.
    fn noted(&mut self, r: Result<String, ActionError>) -> Result<String, ActionError> {
        if let Err(e) = &r {
            self.error = e.to_string();
        }
        r
    }

    /// The frame approving a pending request.
    pub fn approve(&mut self, request_id: &str) -> Result<String, ActionError> {
        let r = self.decide(request_id, true);
        self.noted(r)
    }

    /// The frame rejecting a pending request.
    pub fn reject(&mut self, request_id: &str) -> Result<String, ActionError> {
        let r = self.decide(request_id, false);
        self.noted(r)
    }

    /// The frame renaming a paired node.
    pub fn rename(&mut self, node_id: &str, display_name: &str) -> Result<String, ActionError> {
        let r = self.rename_frame(node_id, display_name);
        self.noted(r)
    }

    /// The frame removing a paired node (the page asks for confirmation first).
    pub fn remove(&mut self, node_id: &str) -> Result<String, ActionError> {
        let r = self.remove_frame(node_id);
        self.noted(r)
    }

    /// Whether an approve or reject of this request awaits its answer.
    pub fn request_busy(&self, request_id: &str) -> bool {
        self.calls.values().any(|c| {
            matches!(c, Call::Approve { request_id: r, .. } | Call::Reject { request_id: r, .. } if r == request_id)
        })
    }

    /// Whether a rename or removal of this node awaits its answer.
    pub fn node_busy(&self, node_id: &str) -> bool {
        self.calls.values().any(|c| {
            matches!(c, Call::Rename { node_id: n, .. } | Call::Remove { node_id: n, .. } if n == node_id)
        })
    }

    fn rename_frame(&mut self, node_id: &str, display_name: &str) -> Result<String, ActionError> {
        self.connected()?;
        let display_name = display_name.trim();
        if display_name.is_empty() {
            return Err(ActionError::EmptyName);
        }
        let node = self.paired.get(node_id).ok_or(ActionError::Unknown)?;
        let name = self.display_name(node).to_owned();
        let params = json!({ "nodeId": node_id, "displayName": display_name });
        Ok(self.send(
            "node.rename",
            params,
            Call::Rename {
                node_id: node_id.to_owned(),
                name,
            },
        ))
    }

    fn remove_frame(&mut self, node_id: &str) -> Result<String, ActionError> {
        self.connected()?;
        let node = self.paired.get(node_id).ok_or(ActionError::Unknown)?;
        let name = self.display_name(node).to_owned();
        let params = json!({ "nodeId": node_id });
        Ok(self.send(
            "node.pair.remove",
            params,
            Call::Remove {
                node_id: node_id.to_owned(),
                name,
            },
        ))
    }

    /// The name shown for a paired node: `node.list`'s (which has an operator's rename applied and the
    /// node's latest own name otherwise), else the paired record's.
    pub(crate) fn display_name<'a>(&'a self, node: &'a Node) -> &'a str {
        match self.live.get(&node.node_id) {
            Some(l) if l.display_name.is_some() => l.name(),
            _ => node.name(),
        }
    }
}

fn list<T: for<'de> Deserialize<'de>>(payload: &Value, key: &str) -> Vec<T> {
    payload
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| serde_json::from_value(v.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
