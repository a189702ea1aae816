//! The gateway: connections, timers, the commit that makes changes durable before they are reported, and
//! the outputs.
//!
//! # Call-order contract
//!
//! The shell owns one [`Gateway`] and is its only caller. In a loop it:
//!
//! 1. feeds inputs, each with the current time in ms since the epoch: [`Gateway::open`] when a socket
//!    arrives, [`Gateway::frame`] for each text frame, [`Gateway::closed`] when a socket ends, and
//!    [`Gateway::wake`] when the instant of [`Gateway::poll_timeout`] has come. Any number of inputs may
//!    be fed before the next step (group commit);
//! 2. calls [`Gateway::commit`] once: the changes of all those inputs go to the [`Store`] in one batch.
//!    Until this returns, no output of those inputs can be drained;
//! 3. drains [`Gateway::poll_output`] until it returns `None`, sending each frame or closing each socket
//!    in order ([`Gateway::poll_output_shared`] gives each broadcast as one output with its recipients,
//!    for a shell that fans out itself). If the commit failed, the outputs are already rewritten: acknowledgements became
//!    `UNAVAILABLE` errors, events of the undone changes are gone, and the state is as before the batch;
//! 4. sleeps until [`Gateway::poll_timeout`] or the next input.
//!
//! Time may stand still or repeat; it never goes back (an earlier `now` is treated as the latest seen).
//!
//! # A failing store
//!
//! A failed [`Store::commit`] starts a failure episode ([`Gateway::store_health`]): writes back off,
//! exponentially from [`STORE_RETRY_MIN_MS`] to [`STORE_RETRY_MAX_MS`]. Until the retry time, a round
//! that changes state is answered `UNAVAILABLE` without calling the store at all, and the gateway's
//! own writes — the expiry of pending requests — wait: they run at the end of the first round at or
//! after the retry time (after that round's inputs were answered, so reads in it are served from the
//! committed state), and [`Gateway::poll_timeout`] never asks for a wake-up before it. Reads that
//! change nothing are served throughout. The first commit that succeeds ends the episode. The shell
//! logs the start and the end of an episode, not every refused round.

use crate::audit::{Action, Actor, AuditEntry, key_fingerprint};
use crate::config::Config;
use crate::ids::{ConnId, NodeId, RequestId};
use crate::limiter::RequestLimiter;
use crate::memory::{Decision, Mail, Mailbox, Rejections, Resolved};
use crate::notice::{Notice, Notices, What};
use crate::record::PendingRequest;
use crate::rng::Rng;
use crate::scopes::Scopes;
use crate::secret::Token;
use crate::state::PairingState;
use crate::store::{Store, StoreError};
use crate::wire::{ApiError, err_frame, event_frame};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

/// The reason text of a close frame: a fixed phrase, or one naming a request
/// (`pairing required (requestId: …)`).
pub type CloseReason = Cow<'static, str>;

/// Something the shell must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send a text frame on a connection.
    Send {
        /// The connection.
        conn: ConnId,
        /// The JSON text. Shared between the recipients of one broadcast.
        text: Arc<str>,
    },
    /// Send one text frame to several connections, in this order: an event for every operator that sees
    /// pairing events. Only [`Gateway::poll_output_shared`] yields it; [`Gateway::poll_output`] gives
    /// one [`Output::Send`] per recipient instead. Its text never carries a token (a host may copy it
    /// into buffers shared between sockets without wiping them); a token only ever goes out in an
    /// [`Output::Send`].
    Broadcast {
        /// The recipients (shared between the broadcasts of a round while the subscribers stay the
        /// same).
        to: Arc<[ConnId]>,
        /// The JSON text.
        text: Arc<str>,
    },
    /// Close a connection with a WebSocket close code. The gateway has already forgotten it.
    Close {
        /// The connection.
        conn: ConnId,
        /// 1002 protocol mismatch, 1008 policy, 1009 too large.
        code: u16,
        /// A short reason for the close frame (at most 123 bytes, as WebSocket allows).
        reason: CloseReason,
    },
}

/// Why [`Gateway::open`] refused a connection (the host answers HTTP 503).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Too many connections from this address are still in the handshake.
    #[error("too many connections from {0} are in the handshake")]
    TooManyHandshakes(IpAddr),
}

/// What a connection is, once its handshake succeeded.
#[derive(Clone, Debug)]
pub(crate) enum Role {
    Operator {
        scopes: Scopes,
    },
    Node {
        device_id: NodeId,
        public_key: String,
        admission: Admission,
    },
}

/// How a node connection was admitted (SPEC §11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// No credential: the explicit flow of §3–§4 (`node.pair.request` / `verify`).
    Explicit,
    /// Device pairing admitted a paired device with its approved surface.
    Paired,
    /// Device pairing admitted an unpaired protocol-v3 device while its request waits; approval
    /// upgrades it to [`Admission::Paired`] in place.
    Waiting,
}

/// What the client said about itself in `connect`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Client {
    pub id: String,
    pub mode: String,
    pub version: Option<String>,
    pub platform: Option<String>,
    pub display_name: Option<String>,
    pub device_family: Option<String>,
    pub model_identifier: Option<String>,
    pub caps: Option<Vec<String>>,
    pub commands: Option<Vec<String>>,
}

pub(crate) struct Session {
    pub role: Role,
    pub client: Client,
    pub connected_at: u64,
    /// The protocol version `hello-ok` chose.
    pub protocol: u64,
}

pub(crate) struct Conn {
    pub ip: IpAddr,
    pub ip_text: String,
    pub nonce: String,
    pub deadline: u64,
    pub session: Option<Session>,
    pub failed_verifies: u32,
}

/// How an output depends on the commit of its batch.
pub(crate) enum Kind {
    /// Sent whatever the commit does.
    Plain,
    /// A response emitted after the batch changed state: becomes an error if the commit fails.
    Ack(String),
    /// Reports a change: dropped if the commit fails.
    Event,
    /// A `hello-ok` whose connect changed state (a token issued, a request made): if the commit
    /// fails it becomes an `UNAVAILABLE` error and the connection is closed, since the session it
    /// announces was never durable.
    Hello(String),
}

pub(crate) enum Held {
    Out(Output, Kind),
    /// A decision for a node connection that is open now; sent if the commit succeeds. If the
    /// connection ends before the commit, it becomes [`Held::Mail`] instead of being lost.
    Direct(ConnId, NodeId, Mail),
    Mail(NodeId, Mail),
    Unmail(NodeId),
    /// A decision ends this connection (a device removed, its token rotated, its request rejected):
    /// closed once the decision is durable, left alone if the commit fails.
    CloseCommitted(ConnId, u16, CloseReason),
    /// An approval pairs this waiting protocol-v3 device connection in place, once durable.
    Upgrade(ConnId),
    /// A log-worthy happening, for the host once its change is durable.
    Notice(Notice),
}

/// The gateway brain. See the module documentation for the call-order contract.
pub struct Gateway<S: Store> {
    pub(crate) config: Config,
    pub(crate) store: S,
    pub(crate) rng: Rng,
    pub(crate) state: PairingState,
    pub(crate) conns: BTreeMap<ConnId, Conn>,
    next_conn: u64,
    handshake_deadlines: BTreeSet<(u64, ConnId)>,
    handshaking: HashMap<IpAddr, usize>,
    /// Node connections open, per remote IP and in total (`Limits::max_nodes_per_ip`, `max_nodes`).
    pub(crate) node_conns: (HashMap<IpAddr, usize>, usize),
    pub(crate) nodes_online: HashMap<NodeId, BTreeSet<ConnId>>,
    pub(crate) subscribers: BTreeSet<ConnId>,
    /// `subscribers` as a shared list, built at the first broadcast after they change.
    subscriber_list: Option<Arc<[ConnId]>>,
    /// A broadcast [`Gateway::poll_output`] is handing out one recipient at a time.
    expanding: Option<(Arc<[ConnId]>, usize, Arc<str>)>,
    seq: u64,
    committed_seq: u64,
    next_tick: u64,
    pub(crate) resolved: Resolved,
    pub(crate) rejections: Rejections,
    pub(crate) mailbox: Mailbox,
    /// New pairing requests per node (issue #14).
    pub(crate) request_rate: RequestLimiter,
    /// Notices released to the host (bounded).
    notices: Notices,
    pub(crate) now: u64,
    pub(crate) held: Vec<Held>,
    out: VecDeque<Output>,
    pub(crate) close_after: Option<(ConnId, u16, &'static str)>,
    /// Who the decisions being made now are by: the calling connection, or the gateway.
    pub(crate) actor: Actor,
    /// The failure episode of the store, if one is under way.
    store_failing: Option<StoreFailing>,
    /// An operator token rotation staged this round ([`crate::operator`]).
    pub(crate) rotation: Option<crate::operator::Rotation>,
}

/// The first wait after a failed commit, in ms; each further failure doubles it.
pub const STORE_RETRY_MIN_MS: u64 = 100;
/// The longest wait between two attempts to write to a failing store, in ms.
pub const STORE_RETRY_MAX_MS: u64 = 5_000;

/// A failure episode of the store: since when, how many attempts failed, when the next may be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreFailing {
    /// When the first commit of the episode failed (ms).
    pub since: u64,
    /// Commits attempted and failed in this episode.
    pub failures: u32,
    /// No commit is attempted before this time (ms).
    pub retry_at: u64,
    /// Rounds that changed state and were refused without an attempt (backing off).
    pub refused: u64,
}

impl StoreFailing {
    fn delay(failures: u32) -> u64 {
        STORE_RETRY_MIN_MS
            .saturating_mul(1u64 << failures.saturating_sub(1).min(20))
            .min(STORE_RETRY_MAX_MS)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResolvedPayload<'a> {
    request_id: &'a str,
    node_id: &'a NodeId,
    decision: Decision,
    ts: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
}

#[derive(Serialize)]
struct TickPayload {
    ts: u64,
}

impl<S: Store> Gateway<S> {
    /// Loads the store and starts the gateway at `now` with the RNG seeded by `seed`.
    ///
    /// Several pending requests for one node (possible in data written by OpenClaw) are reduced to the
    /// newest; the others are resolved `superseded` in the first commit.
    pub fn new(config: Config, seed: [u8; 32], mut store: S, now: u64) -> Result<Self, StoreError> {
        let snapshot = store.load()?;
        let ttl = config.pending_ttl_ms;
        let (mut state, duplicates) = PairingState::load(snapshot, ttl);
        let mut resolved = Resolved::new(config.limits.resolved_memory);
        for d in duplicates {
            state.stage_duplicate_removal(&d.request_id);
            resolved.remember(&d.request_id, None, Decision::Superseded);
            state.audit(AuditEntry {
                action: Action::Superseded,
                actor: Actor::Gateway,
                approved_via: None,
                display_name: d.meta.display_name.clone(),
                hash: String::new(),
                key_fingerprint: d.public_key.as_deref().map(key_fingerprint),
                node_id: d.node_id.clone(),
                prev_hash: String::new(),
                request_id: Some(d.request_id.clone()),
                seq: 0,
                ts: now,
            });
        }
        Ok(Gateway {
            next_tick: now.saturating_add(config.tick_interval_ms),
            mailbox: Mailbox::new(config.limits.mailbox_capacity),
            rejections: Rejections::new(config.limits.resolved_memory),
            request_rate: RequestLimiter::new(
                config.limits.request_burst,
                config.limits.request_interval_ms,
                config.limits.request_rate_memory,
            ),
            notices: Notices::default(),
            resolved,
            config,
            store,
            rng: Rng::from_seed(seed),
            state,
            conns: BTreeMap::new(),
            next_conn: 1,
            handshake_deadlines: BTreeSet::new(),
            handshaking: HashMap::new(),
            node_conns: (HashMap::new(), 0),
            nodes_online: HashMap::new(),
            subscribers: BTreeSet::new(),
            subscriber_list: None,
            expanding: None,
            seq: 0,
            committed_seq: 0,
            now,
            held: Vec::new(),
            out: VecDeque::new(),
            close_after: None,
            actor: Actor::Gateway,
            store_failing: None,
            rotation: None,
        })
    }

    /// A socket from `remote_ip` opened. Sends it `connect.challenge` and starts its handshake clock.
    pub fn open(&mut self, now: u64, remote_ip: IpAddr) -> Result<ConnId, OpenError> {
        self.open_with(now, remote_ip, None)
    }

    /// Like [`Gateway::open`], with the nonce the client sent with its upgrade
    /// ([`crate::challenge::CLIENT_NONCE_HEADER`]): a valid one gets the gateway's proof that it knows
    /// the operator token in `connect.challenge` ([`crate::challenge`]); an invalid one is ignored.
    pub fn open_with(
        &mut self,
        now: u64,
        remote_ip: IpAddr,
        client_nonce: Option<&str>,
    ) -> Result<ConnId, OpenError> {
        self.advance(now);
        let ip = canonical_ip(remote_ip);
        let in_handshake = self.handshaking.get(&ip).copied().unwrap_or(0);
        if in_handshake >= self.config.limits.max_handshaking_per_ip {
            return Err(OpenError::TooManyHandshakes(ip));
        }
        *self.handshaking.entry(ip).or_default() += 1;
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        let nonce = self.rng.uuid();
        let deadline = self.now.saturating_add(self.config.handshake_timeout_ms);
        self.handshake_deadlines.insert((deadline, conn));
        let text = crate::challenge::frame(
            &nonce,
            self.now,
            client_nonce,
            &self.config.gateway_token,
            &self.config.retired_operator_tokens,
        );
        self.emit(conn, text, Kind::Plain);
        self.conns.insert(
            conn,
            Conn {
                ip,
                ip_text: ip.to_string(),
                nonce,
                deadline,
                session: None,
                failed_verifies: 0,
            },
        );
        Ok(conn)
    }

    /// A text frame arrived on `conn`. Frames for unknown or closed connections are ignored.
    pub fn frame(&mut self, now: u64, conn: ConnId, text: &str) {
        self.advance(now);
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if c.session.is_none() {
            if text.len() > self.config.limits.max_handshake_frame_bytes {
                self.close(conn, 1009, "frame too large");
            } else {
                self.handshake(conn, text);
            }
            return;
        }
        if text.len() > self.config.limits.max_frame_bytes {
            self.close(conn, 1009, "frame too large");
            return;
        }
        self.request(conn, text);
        if let Some((c, code, reason)) = self.close_after.take() {
            self.close(c, code, reason);
        }
    }

    /// The socket of `conn` ended (by either side).
    pub fn closed(&mut self, now: u64, conn: ConnId) {
        self.advance(now);
        self.forget(conn);
    }

    /// Runs what is due at `now`: expiry of pending requests (with their events), handshake deadlines,
    /// `tick`, and the end of undelivered decisions.
    pub fn wake(&mut self, now: u64) {
        self.advance(now);
    }

    /// Makes the changes of every input since the last commit durable in one [`Store::commit`], then
    /// releases their outputs. On a store error the changes are undone and the outputs rewritten (see
    /// the module documentation); the error is returned for the shell to log.
    pub fn commit(&mut self) -> Result<(), StoreError> {
        let now = self.now;
        // A failing store's retry is due: the expiries that waited for it run now, after this
        // round's inputs were answered.
        if self
            .store_failing
            .as_ref()
            .is_some_and(|f| now >= f.retry_at)
        {
            let actor = std::mem::replace(&mut self.actor, Actor::Gateway);
            self.expire_due(now);
            self.actor = actor;
        }
        // A staged rotation makes the state dirty (its audit entry), so it is never skipped here.
        let mut rotation = None;
        let result = if !self.state.is_dirty() {
            Ok(())
        } else if let Some(f) = self.store_failing.as_mut().filter(|f| now < f.retry_at) {
            f.refused += 1;
            let wait = f.retry_at - now;
            if let Some(r) = self.rotation.take() {
                self.undo_rotation(r, false);
            }
            Err(StoreError::Io(format!(
                "storage is failing; not retried for another {wait} ms"
            )))
        } else {
            let attempt = match self.save_rotation() {
                Ok(r) => {
                    rotation = r;
                    self.store.commit(&self.state.batch())
                }
                Err(e) => Err(e),
            };
            match (&attempt, &mut self.store_failing) {
                (Ok(()), failing) => *failing = None,
                (Err(_), Some(f)) => {
                    f.failures = f.failures.saturating_add(1);
                    f.retry_at = now.saturating_add(StoreFailing::delay(f.failures));
                }
                (Err(_), failing @ None) => {
                    *failing = Some(StoreFailing {
                        since: now,
                        failures: 1,
                        retry_at: now.saturating_add(StoreFailing::delay(1)),
                        refused: 0,
                    });
                }
            }
            attempt
        };
        let ok = result.is_ok();
        if ok {
            self.state.committed();
            self.committed_seq = self.seq;
        } else {
            if let Some(r) = rotation {
                self.undo_rotation(r, true);
            }
            self.state.roll_back(self.config.pending_ttl_ms);
            self.seq = self.committed_seq;
        }
        for held in std::mem::take(&mut self.held) {
            match held {
                Held::Out(o, Kind::Plain) => self.out.push_back(o),
                Held::Out(o, Kind::Event) if ok => self.out.push_back(o),
                Held::Out(o, Kind::Ack(_) | Kind::Hello(_)) if ok => self.out.push_back(o),
                Held::Out(Output::Send { conn, .. }, Kind::Hello(id)) => {
                    self.out.push_back(Output::Send {
                        conn,
                        text: err_frame(&id, &ApiError::storage_failed()),
                    });
                    if self.forget(conn) {
                        self.out.push_back(Output::Close {
                            conn,
                            code: 1013,
                            reason: "storage unavailable; try again".into(),
                        });
                    }
                }
                Held::Out(Output::Send { conn, .. }, Kind::Ack(id)) => {
                    self.out.push_back(Output::Send {
                        conn,
                        text: err_frame(&id, &ApiError::storage_failed()),
                    });
                }
                Held::Direct(conn, node, mail) if ok => self.out.push_back(Output::Send {
                    conn,
                    text: mail_frame(&node, &mail),
                }),
                Held::Mail(node, mail) if ok => self.mailbox.put(node, mail),
                Held::Unmail(node) if ok => {
                    self.mailbox.remove(&node);
                }
                Held::CloseCommitted(conn, code, reason) if ok && self.forget(conn) => {
                    self.out.push_back(Output::Close { conn, code, reason });
                }
                Held::Notice(n) if ok => self.notices.push(n),
                Held::Upgrade(conn) if ok => {
                    if let Some(Role::Node { admission, .. }) = self
                        .conns
                        .get_mut(&conn)
                        .and_then(|c| c.session.as_mut())
                        .map(|s| &mut s.role)
                        && *admission == Admission::Waiting
                    {
                        *admission = Admission::Paired;
                    }
                }
                _ => {}
            }
        }
        result
    }

    /// The next output to carry out, once committed: one [`Output::Send`] per recipient of a broadcast.
    pub fn poll_output(&mut self) -> Option<Output> {
        loop {
            if let Some((to, i, text)) = &mut self.expanding {
                if let Some(&conn) = to.get(*i) {
                    *i += 1;
                    return Some(Output::Send {
                        conn,
                        text: text.clone(),
                    });
                }
                self.expanding = None;
            }
            match self.out.pop_front()? {
                Output::Broadcast { to, text } => self.expanding = Some((to, 0, text)),
                other => return Some(other),
            }
        }
    }

    /// Like [`Gateway::poll_output`], but a broadcast comes as one [`Output::Broadcast`]: for shells
    /// that fan a frame out themselves. The order of frames per connection is the same.
    pub fn poll_output_shared(&mut self) -> Option<Output> {
        if self.expanding.is_some() {
            return self.poll_output();
        }
        self.out.pop_front()
    }

    /// The next log-worthy happening made durable by a commit (see [`crate::notice`]): one line for
    /// the gateway's terminal each. At most [`crate::notice::NOTICE_CAPACITY`] wait.
    pub fn poll_notice(&mut self) -> Option<Notice> {
        self.notices.pop()
    }

    /// Notices waiting for the host (bounded).
    pub fn notice_len(&self) -> usize {
        self.notices.len()
    }

    /// Whether a failure episode of the store is under way: writes that are only informational
    /// (`lastSeenAtMs`) are skipped meanwhile, so a paired device still connects.
    pub(crate) fn store_is_failing(&self) -> bool {
        self.store_failing.is_some()
    }

    /// The store's failure episode, if one is under way (see the module documentation).
    pub fn store_health(&self) -> Option<&StoreFailing> {
        self.store_failing.as_ref()
    }

    /// When [`Gateway::wake`] must be called next.
    pub fn poll_timeout(&self) -> Option<u64> {
        let retry_at = self.store_failing.as_ref().map_or(0, |f| f.retry_at);
        [
            Some(self.next_tick),
            // A failing store: expiry waits for the retry time.
            self.state.next_expiry().map(|(t, _)| t.max(retry_at)),
            self.handshake_deadlines.iter().next().map(|(t, _)| *t),
            self.mailbox.next_expiry(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The pairing state (as of the last input; committed or not).
    pub fn state(&self) -> &PairingState {
        &self.state
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably (tests inject faults through it).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// The `seq` of the last broadcast.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Resolved ids remembered for `details.reason` (bounded).
    pub fn resolved_memory_len(&self) -> usize {
        self.resolved.len()
    }

    /// Decisions waiting for offline nodes (bounded).
    pub fn mailbox_len(&self) -> usize {
        self.mailbox.len()
    }

    fn advance(&mut self, now: u64) {
        self.now = self.now.max(now);
        let now = self.now;
        // While the store fails, expiry waits for the commit that retries it.
        if self.store_failing.is_none() {
            self.expire_due(now);
        }
        while let Some(&(t, conn)) = self.handshake_deadlines.iter().next() {
            if t > now {
                break;
            }
            self.close(conn, 1008, "handshake timeout");
        }
        self.mailbox.purge(now);
        if now >= self.next_tick {
            self.next_tick = now.saturating_add(self.config.tick_interval_ms.max(1));
            let text = event_frame("tick", &TickPayload { ts: now }, None);
            let ready: Vec<ConnId> = self
                .conns
                .iter()
                .filter(|(_, c)| c.session.is_some())
                .map(|(id, _)| *id)
                .collect();
            for conn in ready {
                self.emit(conn, text.clone(), Kind::Plain);
            }
        }
    }

    /// Resolves every pending request whose time is up as expired.
    fn expire_due(&mut self, now: u64) {
        while let Some((t, id)) = self.state.next_expiry() {
            if t > now {
                break;
            }
            let id = id.clone();
            self.resolve_pending(&id, Decision::Expired);
        }
    }

    pub(crate) fn emit(&mut self, conn: ConnId, text: Arc<str>, kind: Kind) {
        self.held.push(Held::Out(Output::Send { conn, text }, kind));
    }

    /// Answers a request: the kind depends on whether the batch has changed state by now.
    pub(crate) fn respond(&mut self, conn: ConnId, id: &str, text: Arc<str>) {
        let kind = if self.state.is_dirty() {
            Kind::Ack(id.to_owned())
        } else {
            Kind::Plain
        };
        self.emit(conn, text, kind);
    }

    /// Closes a connection: queues the close and forgets it at once.
    pub(crate) fn close(&mut self, conn: ConnId, code: u16, reason: impl Into<CloseReason>) {
        if self.forget(conn) {
            let reason = reason.into();
            self.held
                .push(Held::Out(Output::Close { conn, code, reason }, Kind::Plain));
        }
    }

    fn forget(&mut self, conn: ConnId) -> bool {
        let Some(c) = self.conns.remove(&conn) else {
            return false;
        };
        match &c.session {
            None => {
                self.handshake_deadlines.remove(&(c.deadline, conn));
                self.handshake_done(c.ip);
            }
            Some(s) => {
                if self.subscribers.remove(&conn) {
                    self.subscriber_list = None;
                }
                self.redirect_direct_mail(conn);
                if let Role::Node { .. } = &s.role {
                    self.node_conn_gone(c.ip);
                }
                if let Role::Node { device_id, .. } = &s.role
                    && let Some(set) = self.nodes_online.get_mut(device_id)
                {
                    set.remove(&conn);
                    if set.is_empty() {
                        self.nodes_online.remove(device_id);
                    }
                }
            }
        }
        true
    }

    /// The node connection `conn` ended before the commit that releases decisions sent to it: each
    /// such decision that no other open connection of the node is getting waits in the mailbox.
    fn redirect_direct_mail(&mut self, conn: ConnId) {
        let mut i = 0;
        while i < self.held.len() {
            if !matches!(&self.held[i], Held::Direct(c, ..) if *c == conn) {
                i += 1;
                continue;
            }
            let Held::Direct(_, node, mail) = self.held.remove(i) else {
                unreachable!("matched above")
            };
            let elsewhere = self.held.iter().any(|h| {
                matches!(h, Held::Direct(c, n, m)
                    if *c != conn && *n == node && m.request_id == mail.request_id
                        && self.conns.contains_key(c))
            });
            if !elsewhere {
                self.held.push(Held::Mail(node, mail));
            }
        }
    }

    pub(crate) fn handshake_done(&mut self, ip: IpAddr) {
        if let Some(n) = self.handshaking.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.handshaking.remove(&ip);
            }
        }
    }

    fn node_conn_gone(&mut self, ip: IpAddr) {
        self.node_conns.1 = self.node_conns.1.saturating_sub(1);
        if let Some(n) = self.node_conns.0.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.node_conns.0.remove(&ip);
            }
        }
    }

    pub(crate) fn finish_handshake(&mut self, conn: ConnId, session: Session) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let (deadline, ip) = (c.deadline, c.ip);
        if let Role::Node { device_id, .. } = &session.role {
            *self.node_conns.0.entry(ip).or_default() += 1;
            self.node_conns.1 += 1;
            self.nodes_online
                .entry(device_id.clone())
                .or_default()
                .insert(conn);
        }
        if let Role::Operator { scopes } = &session.role
            && scopes.sees_pairing_events()
        {
            self.subscribers.insert(conn);
            self.subscriber_list = None;
        }
        c.session = Some(session);
        self.handshake_deadlines.remove(&(deadline, conn));
        self.handshake_done(ip);
    }

    /// Broadcasts an event to operators allowed to see pairing events, with the next `seq`.
    pub(crate) fn broadcast(&mut self, build: impl FnOnce(&Self, u64) -> Arc<str>) {
        self.seq += 1;
        if self.subscribers.is_empty() {
            return;
        }
        let text = build(self, self.seq);
        let to = self
            .subscriber_list
            .get_or_insert_with(|| self.subscribers.iter().copied().collect())
            .clone();
        self.held
            .push(Held::Out(Output::Broadcast { to, text }, Kind::Event));
    }

    /// Broadcasts `node.pair.resolved`.
    pub(crate) fn broadcast_resolved(
        &mut self,
        request_id: &str,
        node_id: &NodeId,
        decision: Decision,
    ) {
        let ts = self.now;
        self.broadcast(|_, seq| {
            event_frame(
                "node.pair.resolved",
                &ResolvedPayload {
                    request_id,
                    node_id,
                    decision,
                    ts,
                    token: None,
                },
                Some(seq),
            )
        });
    }

    /// Removes a pending request as `decision` (expired, rejected, superseded): remembers why, tells
    /// operators, and tells the node that made it.
    pub(crate) fn resolve_pending(
        &mut self,
        id: &RequestId,
        decision: Decision,
    ) -> Option<PendingRequest> {
        let code = self.state.code(id).map(str::to_owned);
        let req = self.state.delete_pending(id, self.config.pending_ttl_ms)?;
        self.audit(
            decision.into(),
            Some(id),
            &req.node_id,
            req.public_key.as_deref(),
            req.meta.display_name.as_deref(),
        );
        self.resolved.remember(id, code.as_deref(), decision);
        self.broadcast_resolved(id.as_str(), &req.node_id, decision);
        self.notify_node(&req, decision, None);
        if req.device.is_some() {
            self.broadcast_device_resolved(id.as_str(), &req.node_id, decision);
            self.after_device_resolved(&req, decision);
        }
        Some(req)
    }

    /// Stages the audit entry of a decision made now by [`Gateway::actor`].
    pub(crate) fn audit(
        &mut self,
        action: Action,
        request_id: Option<&RequestId>,
        node_id: &NodeId,
        public_key: Option<&str>,
        display_name: Option<&str>,
    ) {
        self.audit_with_via(action, request_id, node_id, public_key, display_name, None);
    }

    /// [`Gateway::audit`], with how an approval came about.
    pub(crate) fn audit_with_via(
        &mut self,
        action: Action,
        request_id: Option<&RequestId>,
        node_id: &NodeId,
        public_key: Option<&str>,
        display_name: Option<&str>,
        approved_via: Option<&str>,
    ) {
        self.held.push(Held::Notice(Notice {
            what: What::Decision(action),
            node_id: node_id.clone(),
            request_id: request_id.cloned(),
            display_name: display_name.map(str::to_owned),
            remote_ip: None,
            code: None,
            by: self.actor.clone(),
            approved_via: approved_via.map(str::to_owned),
        }));
        self.state.audit(AuditEntry {
            action,
            actor: self.actor.clone(),
            approved_via: approved_via.map(str::to_owned),
            display_name: display_name.map(str::to_owned),
            hash: String::new(),
            key_fingerprint: public_key.map(key_fingerprint),
            node_id: node_id.clone(),
            prev_hash: String::new(),
            request_id: request_id.cloned(),
            seq: 0,
            ts: self.now,
        });
    }

    /// Node connections of `node` that proved `public_key`.
    fn key_proven(&self, node: &NodeId, public_key: &str) -> Vec<ConnId> {
        self.device_conns(node, Some(public_key), None)
    }

    /// Sends a decision to the node that made `req` (if a node made it): now, on every connection that
    /// proved its key, or on its next such connection within the delivery window.
    pub(crate) fn notify_node(
        &mut self,
        req: &PendingRequest,
        decision: Decision,
        token: Option<Token>,
    ) {
        let Some(key) = &req.public_key else {
            return;
        };
        let online = self.key_proven(&req.node_id, key);
        let mail = Mail {
            request_id: req.request_id.clone(),
            decision,
            ts: self.now,
            token,
            public_key: key.clone(),
            expires_at: self
                .now
                .saturating_add(self.config.token_delivery_window_ms),
        };
        if online.is_empty() {
            self.held.push(Held::Mail(req.node_id.clone(), mail));
        } else {
            for conn in online {
                self.held
                    .push(Held::Direct(conn, req.node_id.clone(), mail.clone()));
            }
        }
    }

    /// After a node's `hello-ok`: delivers a decision waiting for it, from the mailbox or from this very
    /// batch (a decision made before the commit that admitted this connection).
    pub(crate) fn deliver_mail(&mut self, conn: ConnId, node: &NodeId, public_key: &str) {
        if let Some(mail) = self.mailbox.take(node, public_key, self.now) {
            self.emit(conn, mail_frame(node, &mail), Kind::Plain);
            return;
        }
        let pos = self
            .held
            .iter()
            .position(|h| matches!(h, Held::Mail(n, m) if n == node && m.public_key == public_key));
        if let Some(pos) = pos
            && let Held::Mail(_, mail) = self.held.remove(pos)
        {
            self.emit(conn, mail_frame(node, &mail), Kind::Event);
        }
    }
}

fn mail_frame(node: &NodeId, mail: &Mail) -> Arc<str> {
    event_frame(
        "node.pair.resolved",
        &ResolvedPayload {
            request_id: mail.request_id.as_str(),
            node_id: node,
            decision: mail.decision,
            ts: mail.ts,
            token: mail.token.as_ref().map(Token::expose),
        },
        None,
    )
}

/// IPv4-mapped IPv6 addresses count as their IPv4 address, so limits per address cannot be dodged.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::proof::{self, SignedFields};
    use crate::store::MemoryStore;
    use serde_json::{Value, json};

    pub(crate) const T0: u64 = 1_000_000_000;

    /// Frames sent in a round (as JSON, with their connection).
    pub(crate) type Sent = Vec<(ConnId, Value)>;
    /// Connections closed in a round, with their close codes.
    pub(crate) type Closed = Vec<(ConnId, u16)>;
    const TOKEN: &str = "gw-token";

    pub(crate) fn gateway() -> Gateway<MemoryStore> {
        let mut c = Config::new(Token::new(TOKEN));
        c.pending_ttl_ms = 20_000;
        Gateway::new(c, [7; 32], MemoryStore::new(), T0).unwrap()
    }

    /// Commits and drains: the frames sent (as JSON, with their connection) and the closes.
    pub(crate) fn round(g: &mut Gateway<MemoryStore>) -> (Sent, Closed) {
        let _ = g.commit();
        let (mut sent, mut closed) = (Vec::new(), Vec::new());
        while let Some(o) = g.poll_output() {
            match o {
                Output::Send { conn, text } => {
                    sent.push((conn, serde_json::from_str(&text).unwrap()))
                }
                Output::Close { conn, code, .. } => closed.push((conn, code)),
                Output::Broadcast { .. } => unreachable!("poll_output expands broadcasts"),
            }
        }
        (sent, closed)
    }

    pub(crate) fn nonce_of(sent: &[(ConnId, Value)], conn: ConnId) -> String {
        sent.iter()
            .find(|(c, f)| *c == conn && f["event"] == "connect.challenge")
            .map(|(_, f)| f["payload"]["nonce"].as_str().unwrap().to_owned())
            .unwrap()
    }

    /// Opens a connection and sends `params` as its `connect`; returns it and what came back.
    pub(crate) fn connect_with(
        g: &mut Gateway<MemoryStore>,
        now: u64,
        params: impl FnOnce(&str) -> Value,
    ) -> (ConnId, Sent, Closed) {
        let conn = g.open(now, "10.0.0.1".parse().unwrap()).unwrap();
        let (sent, _) = round(g);
        let nonce = nonce_of(&sent, conn);
        let frame =
            json!({"type": "req", "id": "c", "method": "connect", "params": params(&nonce)});
        g.frame(now, conn, &frame.to_string());
        let (sent, closed) = round(g);
        (conn, sent, closed)
    }

    pub(crate) fn operator_params(extra: Value) -> Value {
        let mut p = json!({
            "minProtocol": 3, "maxProtocol": 3, "role": "operator", "scopes": ["operator.admin"],
            "client": {"id": "cli", "version": "1", "platform": "linux", "mode": "cli"},
            "auth": {"token": TOKEN},
        });
        if let (Value::Object(p), Value::Object(e)) = (&mut p, extra) {
            p.extend(e);
        }
        p
    }

    pub(crate) fn operator(g: &mut Gateway<MemoryStore>) -> ConnId {
        let (conn, sent, _) = connect_with(g, T0, |_| operator_params(json!({})));
        assert_eq!(sent[0].1["ok"], true, "{sent:?}");
        conn
    }

    /// A key-proven node connection for the secret key `sk`; returns it and its device id.
    pub(crate) fn node(g: &mut Gateway<MemoryStore>, now: u64, sk: [u8; 32]) -> (ConnId, String) {
        let (conn, sent, _) = connect_with(g, now, |nonce| {
            let fields = SignedFields::node("node-host", "node", "linux", "");
            let p = proof::sign(&sk, &fields, now, nonce);
            json!({
                "minProtocol": 3, "maxProtocol": 3, "role": "node", "scopes": [],
                "client": {"id": "node-host", "version": "1", "platform": "linux", "mode": "node"},
                "device": {"id": p.id, "publicKey": p.public_key, "signature": p.signature,
                           "signedAt": p.signed_at, "nonce": p.nonce},
            })
        });
        assert_eq!(sent[0].1["ok"], true, "{sent:?}");
        (conn, proof::device_id(&sk))
    }

    pub(crate) fn call(
        g: &mut Gateway<MemoryStore>,
        now: u64,
        conn: ConnId,
        method: &str,
        params: Value,
    ) {
        let frame = json!({"type": "req", "id": method, "method": method, "params": params});
        g.frame(now, conn, &frame.to_string());
    }

    /// Drains with [`Gateway::poll_output_shared`], expanding broadcasts as a shell would.
    fn drain_shared(g: &mut Gateway<MemoryStore>) -> Vec<Output> {
        let mut out = Vec::new();
        while let Some(o) = g.poll_output_shared() {
            match o {
                Output::Broadcast { to, text } => out.extend(to.iter().map(|&conn| Output::Send {
                    conn,
                    text: text.clone(),
                })),
                other => out.push(other),
            }
        }
        out
    }

    #[test]
    fn shared_broadcasts_reach_the_current_subscribers_in_the_same_order() {
        let (mut a, mut b) = (gateway(), gateway());
        let mut rounds = Vec::new();
        for g in [&mut a, &mut b] {
            let op1 = operator(g);
            let op2 = operator(g);
            call(g, T0, op1, "node.pair.request", json!({"nodeId": "n1"}));
            let first = g.commit().is_ok();
            let op3 = operator(g);
            g.closed(T0, op1);
            call(g, T0, op2, "node.pair.request", json!({"nodeId": "n2"}));
            call(g, T0, op3, "node.pair.reject", json!({"code": "0000-0000"}));
            rounds.push((first, op1, op2, op3));
        }
        let (r1, r2) = (rounds[0], rounds[1]);
        assert!(r1.0 && r2.0);
        assert_eq!((r1.1, r1.2, r1.3), (r2.1, r2.2, r2.3));
        let _ = a.commit();
        let _ = b.commit();
        let plain: Vec<Output> = std::iter::from_fn(|| a.poll_output()).collect();
        let shared = drain_shared(&mut b);
        assert_eq!(plain, shared);
        // The second request's event went to op2 and op3 (op3 joined, op1 left), once each.
        let events: Vec<ConnId> = plain
            .iter()
            .filter_map(|o| match o {
                Output::Send { conn, text } if text.contains("node.pair.requested") => Some(*conn),
                _ => None,
            })
            .collect();
        assert_eq!(events, [r1.2, r1.3]);
    }

    #[test]
    fn failed_commit_rolls_back_state_seq_events_and_mail() {
        let mut g = gateway();
        let op = operator(&mut g);
        let (n, id) = node(&mut g, T0, [1; 32]);
        call(&mut g, T0, n, "node.pair.request", json!({"nodeId": id}));
        let (sent, _) = round(&mut g);
        let rid = sent[1].1["payload"]["request"]["requestId"].clone();
        assert_eq!(g.seq(), 1);
        let commits = g.store().commits();

        // The node goes away, so the approval's token would wait in the mailbox.
        g.closed(T0, n);
        g.store_mut().fail_next_commits(1);
        call(
            &mut g,
            T0,
            op,
            "node.pair.approve",
            json!({"requestId": rid}),
        );
        assert!(g.commit().is_err());
        let mut out = Vec::new();
        while let Some(o) = g.poll_output() {
            out.push(o);
        }
        assert_eq!(out.len(), 1, "only the rewritten answer goes out: {out:?}");
        let Output::Send { conn, text } = &out[0] else {
            panic!()
        };
        let frame: Value = serde_json::from_str(text).unwrap();
        assert_eq!(*conn, op);
        assert_eq!(frame["error"]["code"], "UNAVAILABLE");
        assert_eq!(frame["error"]["retryable"], true);
        assert_eq!(g.seq(), 1, "the seq of the dropped event is reused");
        assert_eq!(g.state().pending_count(), 1);
        assert!(g.state().all_paired().is_empty());
        assert_eq!(
            g.mailbox_len(),
            0,
            "no token is held for an undone approval"
        );
        assert_eq!(g.store().commits(), commits);
        assert_eq!(g.store().snapshot().pending.len(), 1);

        // A retry before the store may be tried again is refused without touching it; the one after
        // succeeds and reuses the seq.
        call(
            &mut g,
            T0 + 1,
            op,
            "node.pair.approve",
            json!({"requestId": rid}),
        );
        let (sent, _) = round(&mut g);
        assert_eq!(sent[0].1["error"]["code"], "UNAVAILABLE");
        assert_eq!(g.store().commit_attempts(), commits + 1);
        call(
            &mut g,
            T0 + STORE_RETRY_MIN_MS,
            op,
            "node.pair.approve",
            json!({"requestId": rid}),
        );
        let (sent, _) = round(&mut g);
        assert_eq!(sent[0].1["seq"], 2);
        assert_eq!(sent[1].1["ok"], true);
        assert_eq!(g.mailbox_len(), 1);
        assert_eq!(g.store().snapshot().paired.len(), 1);
    }

    #[test]
    fn failed_commit_of_an_expiry_is_retried_on_the_next_wake() {
        let mut g = gateway();
        let op = operator(&mut g);
        call(
            &mut g,
            T0,
            op,
            "node.pair.request",
            json!({"nodeId": "box"}),
        );
        round(&mut g);
        g.store_mut().fail_next_commits(1);
        let attempts = g.store().commit_attempts();
        g.wake(T0 + 20_000);
        assert!(g.commit().is_err());
        assert!(
            g.poll_output().is_none(),
            "no expired event for an undone expiry"
        );
        assert_eq!(g.state().pending_count(), 1);
        assert_eq!(
            g.poll_timeout(),
            Some(T0 + 20_000 + STORE_RETRY_MIN_MS),
            "due again when the store may be retried"
        );
        g.wake(T0 + 20_001);
        let (sent, _) = round(&mut g);
        assert!(sent.is_empty(), "not retried before its time");
        assert_eq!(g.store().commit_attempts(), attempts + 1);
        g.wake(T0 + 20_000 + STORE_RETRY_MIN_MS);
        let (sent, _) = round(&mut g);
        assert_eq!(sent[0].1["payload"]["decision"], "expired");
        assert_eq!(g.state().pending_count(), 0);
        assert!(g.store().snapshot().pending.is_empty());
    }

    /// Issue #14 item 8: a full disk made expiry retry its write at once, every round — every call
    /// answered UNAVAILABLE and a core busy. Now writes back off, reads are served, and the first
    /// retry after the disk recovers ends the episode.
    #[test]
    fn a_failing_store_is_retried_with_backoff_while_reads_are_served() {
        let mut g = gateway();
        let op = operator(&mut g);
        for n in 0..3 {
            call(
                &mut g,
                T0,
                op,
                "node.pair.request",
                json!({"nodeId": format!("box{n}")}),
            );
        }
        round(&mut g);
        let attempts = g.store().commit_attempts();
        g.store_mut().fail_next_commits(u32::MAX);
        // 60 s of a shell that wakes whenever asked, and an operator listing every 10 ms.
        let (start, end) = (T0 + 20_000, T0 + 80_000);
        let mut now = start;
        let (mut reads, mut wakes, mut failed_reads) = (0, 0, Vec::new());
        while now < end {
            if g.poll_timeout().is_some_and(|t| t <= now) {
                g.wake(now);
                wakes += 1;
            }
            call(&mut g, now, op, "node.pair.list", json!({}));
            let (sent, _) = round(&mut g);
            let answer = sent
                .iter()
                .find(|(_, f)| f["id"] == "node.pair.list")
                .unwrap();
            if answer.1["ok"] == true {
                assert_eq!(answer.1["payload"]["pending"].as_array().unwrap().len(), 3);
                reads += 1;
            } else {
                failed_reads.push(now - start);
            }
            assert!(
                g.poll_timeout().unwrap() > now,
                "a deadline in the past would spin"
            );
            now += 10;
        }
        // Attempts at +0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3 s, then every 5 s: 17 in 60 s (one per round,
        // 6 000, before the backoff).
        let failed = g.store().commit_attempts() - attempts;
        assert_eq!(failed, 17, "{failed} attempts in 60 s");
        assert!(wakes <= 2 * failed + 60, "{wakes} wakes");
        let f = g.store_health().unwrap().clone();
        assert_eq!((f.since, f.failures as u64), (start, failed));
        // Only the round that found the store failing: its read came after the expiry it had to
        // write, and showed it.
        assert_eq!(failed_reads, [0]);
        assert_eq!(reads, 5_999);

        // A write while backing off is refused without touching the store.
        call(
            &mut g,
            now,
            op,
            "node.pair.request",
            json!({"nodeId": "late"}),
        );
        let (sent, _) = round(&mut g);
        assert_eq!(sent[0].1["error"]["code"], "UNAVAILABLE");
        assert_eq!(g.store().commit_attempts() - attempts, failed);

        // Space returns: the next retry commits the expiries, and the episode ends.
        g.store_mut().fail_next_commits(0);
        let retry = g.poll_timeout().unwrap();
        assert!(retry <= f.retry_at.max(now) + STORE_RETRY_MAX_MS);
        g.wake(retry);
        let (sent, _) = round(&mut g);
        let expired = sent
            .iter()
            .filter(|(_, f)| f["payload"]["decision"] == "expired")
            .count();
        assert_eq!(expired, 3);
        assert!(g.store_health().is_none());
        assert!(g.store().snapshot().pending.is_empty());
        call(
            &mut g,
            retry,
            op,
            "node.pair.request",
            json!({"nodeId": "late"}),
        );
        let (sent, _) = round(&mut g);
        let answer = sent.iter().find(|(_, f)| f["id"] == "node.pair.request");
        assert_eq!(answer.unwrap().1["ok"], true, "writes are accepted again");
    }

    #[test]
    fn poll_timeout_is_the_earliest_deadline() {
        let mut g = gateway();
        assert_eq!(g.poll_timeout(), Some(T0 + 30_000), "the first tick");
        let c = g.open(T0 + 1_000, "10.0.0.2".parse().unwrap()).unwrap();
        assert_eq!(
            g.poll_timeout(),
            Some(T0 + 11_000),
            "the handshake deadline"
        );
        g.closed(T0 + 1_000, c);
        assert_eq!(g.poll_timeout(), Some(T0 + 30_000));
        let op = operator(&mut g);
        call(
            &mut g,
            T0 + 2_000,
            op,
            "node.pair.request",
            json!({"nodeId": "box"}),
        );
        round(&mut g);
        assert_eq!(g.poll_timeout(), Some(T0 + 22_000), "the request's expiry");
        g.wake(T0 + 22_000);
        round(&mut g);
        assert_eq!(g.poll_timeout(), Some(T0 + 30_000));
        g.wake(T0 + 30_000);
        let (sent, _) = round(&mut g);
        assert_eq!(sent.iter().filter(|(_, f)| f["event"] == "tick").count(), 1);
        assert_eq!(g.poll_timeout(), Some(T0 + 60_000), "the next tick");
    }

    #[test]
    fn poll_timeout_includes_undelivered_decisions() {
        let mut g = gateway();
        let op = operator(&mut g);
        let (n, id) = node(&mut g, T0, [2; 32]);
        call(&mut g, T0, n, "node.pair.request", json!({"nodeId": id}));
        let (sent, _) = round(&mut g);
        let rid = sent[1].1["payload"]["request"]["requestId"].clone();
        g.closed(T0, n);
        call(
            &mut g,
            T0 + 1_000,
            op,
            "node.pair.approve",
            json!({"requestId": rid}),
        );
        round(&mut g);
        assert_eq!(g.mailbox_len(), 1);
        g.wake(T0 + 30_000);
        round(&mut g);
        g.wake(T0 + 600_000);
        round(&mut g);
        assert_eq!(
            g.poll_timeout(),
            Some(T0 + 601_000),
            "the token's delivery window ends"
        );
        g.wake(T0 + 601_000);
        round(&mut g);
        assert_eq!(g.mailbox_len(), 0);
    }

    #[test]
    fn a_token_for_a_connection_that_ends_before_the_commit_waits_in_the_mailbox() {
        let mut g = gateway();
        let op = operator(&mut g);
        let (n, id) = node(&mut g, T0, [3; 32]);
        call(&mut g, T0, n, "node.pair.request", json!({"nodeId": id}));
        let (sent, _) = round(&mut g);
        let rid = sent[1].1["payload"]["request"]["requestId"].clone();
        // One batch: the approval, then the node's socket ends.
        call(
            &mut g,
            T0,
            op,
            "node.pair.approve",
            json!({"requestId": rid}),
        );
        g.closed(T0, n);
        let (sent, _) = round(&mut g);
        assert!(
            sent.iter().all(|(c, _)| *c == op),
            "nothing to the closed connection"
        );
        assert_eq!(g.mailbox_len(), 1);
        let (n2, _) = node(&mut g, T0 + 1_000, [3; 32]);
        assert_eq!(g.mailbox_len(), 0, "delivered after hello-ok");
        let _ = n2;
    }
}
