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

mod commit;
mod conns;
mod notify;
mod output;
#[cfg(test)]
pub(crate) mod tests;
mod timers;

pub(crate) use commit::Rotation;
pub use commit::{STORE_RETRY_MAX_MS, STORE_RETRY_MIN_MS, StoreFailing};
pub(crate) use conns::{Admission, Client, Conn, Role, Session};
pub use output::{CloseReason, Output};
pub(crate) use output::{Held, Kind};

use crate::audit::{Action, Actor, AuditEntry, key_fingerprint};
use crate::config::Config;
use crate::ids::{ConnId, NodeId};
use crate::limiter::RequestLimiter;
use crate::memory::{Decision, Mailbox, Rejections, Resolved};
use crate::notice::{Notice, Notices};
use crate::rng::Rng;
use crate::state::PairingState;
use crate::store::{Store, StoreError};
use conns::canonical_ip;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

/// Why [`Gateway::open`] refused a connection (the host answers HTTP 503).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Too many connections from this address are still in the handshake.
    #[error("too many connections from {0} are in the handshake")]
    TooManyHandshakes(IpAddr),
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
    /// The failure episode of the store, if one is under way.
    store_failing: Option<StoreFailing>,
    /// An operator token rotation staged this round (`gateway.token.rotate`).
    pub(crate) rotation: Option<Rotation>,
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
            resolved.remember(
                &d.request_id,
                None,
                Decision::Superseded,
                "gateway".to_owned(),
                now,
            );
            state.audit(AuditEntry {
                action: Action::Superseded,
                actor: Actor::Gateway,
                approved_via: None,
                display_name: d.meta.display_name.clone(),
                enrollment: None,
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

    /// The next log-worthy happening made durable by a commit (see [`crate::notice`]): one line for
    /// the gateway's terminal each. At most [`crate::notice::NOTICE_CAPACITY`] wait.
    pub fn poll_notice(&mut self) -> Option<Notice> {
        self.notices.pop()
    }

    /// Notices waiting for the host (bounded).
    pub fn notice_len(&self) -> usize {
        self.notices.len()
    }

    /// The pairing state (as of the last input; committed or not).
    #[cfg(any(test, feature = "sim"))]
    pub(crate) fn state(&self) -> &PairingState {
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
}
