//! Notices: what a person watching the gateway's terminal wants to read, one line each — a pairing
//! request made (node, name, address, code), a decision on it and by whom (approved, rejected, expired,
//! superseded, removed, renamed, a device token rotated or revoked), a node's requests rate-limited.
//! Only what became durable is noticed (a notice leaves with the commit of its change). A notice never
//! carries a token. The host logs them ([`crate::Gateway::poll_notice`]); a host that does not read them
//! (the simulator, tests, the browser) loses nothing but them, since at most [`NOTICE_CAPACITY`] wait.

use crate::audit::{Action, Actor};
use crate::ids::{NodeId, RequestId};
use std::collections::VecDeque;
use std::fmt;

/// Notices held for the host at most; older ones are dropped (and counted) beyond it.
pub const NOTICE_CAPACITY: usize = 1024;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// An audited decision (the audit trail's action).
    Decision(Action),
    /// A node's new requests were refused by the rate limit (noticed once per episode).
    RateLimited {
        /// When it may ask again.
        retry_after_ms: u64,
    },
    /// This many notices were dropped because the host did not read them in time.
    Dropped(u64),
}

/// One log-worthy happening. Its [`fmt::Display`] is the line to log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// What happened.
    pub what: What,
    /// The node (or device) concerned.
    pub node_id: NodeId,
    /// The request concerned, if any.
    pub request_id: Option<RequestId>,
    /// The node's display name, if known.
    pub display_name: Option<String>,
    /// The address a request came from.
    pub remote_ip: Option<String>,
    /// A request's verification code.
    pub code: Option<String>,
    /// Who decided.
    pub by: Actor,
    /// How an approval came about (`owner`, `local`, `setup-code`, `key`).
    pub approved_via: Option<String>,
    /// The setup code or enrollment key concerned (its id), if any.
    pub enrollment: Option<String>,
    /// The request was made by a device at `connect` (OpenClaw's device pairing, announced as
    /// `device.pair.*` too) rather than by `node.pair.request`.
    pub device: bool,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.what {
            What::Dropped(n) => {
                return write!(
                    f,
                    "{n} pairing notices were not logged (the log fell behind)"
                );
            }
            What::RateLimited { retry_after_ms } => {
                write!(
                    f,
                    "pairing requests of node {} rate-limited (too many new requests); it may ask again in {} s",
                    self.node_id,
                    retry_after_ms.div_ceil(1000)
                )?;
                if let Some(ip) = &self.remote_ip {
                    write!(f, ", from {ip}")?;
                }
                return Ok(());
            }
            What::Decision(a) => a,
        };
        match (action, &self.request_id) {
            // About no node: a setup code or key issued or revoked (never its secret).
            (Action::EnrollCreated | Action::EnrollRevoked, _) => {
                let done = if action == Action::EnrollCreated {
                    "issued"
                } else {
                    "revoked"
                };
                let what = self.display_name.as_deref().unwrap_or("setup code or key");
                let id = self.enrollment.as_deref().unwrap_or("?");
                write!(f, "{what} {id} {done}")?;
                return write_by(f, &self.by);
            }
            // About no node: the operator token was rotated.
            // About no node: the TLS certificate was renewed, or the operator token rotated.
            (Action::TlsCertRenewed, None) => {
                write!(
                    f,
                    "{} renewed",
                    self.display_name.as_deref().unwrap_or("TLS certificate")
                )?;
                return write_by(f, &self.by);
            }
            (_, None) if self.node_id.0.is_empty() => {
                write!(
                    f,
                    "operator token {}",
                    action.as_str().replace("token-", "")
                )?;
                return write_by(f, &self.by);
            }
            (Action::Requested, Some(r)) => write!(f, "pairing request {r} created")?,
            (_, Some(r)) => write!(f, "pairing request {r} {}", action.as_str())?,
            (_, None) => write!(f, "node {}", action.as_str())?,
        }
        write!(f, ": node {}", self.node_id)?;
        if let Some(name) = &self.display_name {
            write!(f, " {name:?}")?;
        }
        if let Some(ip) = &self.remote_ip {
            write!(f, " from {ip}")?;
        }
        if let Some(code) = &self.code {
            write!(f, ", code {code}")?;
        }
        if let Some(via) = &self.approved_via {
            write!(f, ", via {via}")?;
        }
        if let Some(id) = &self.enrollment {
            write!(f, " {id}")?;
        }
        write_by(f, &self.by)
    }
}

/// `; by …`: who decided.
fn write_by(f: &mut fmt::Formatter<'_>, by: &Actor) -> fmt::Result {
    match by {
        Actor::Gateway => write!(f, "; by the gateway"),
        Actor::Conn {
            role,
            client_id,
            conn_id,
            remote_ip,
        } => write!(f, "; by {role} {client_id:?} on {conn_id} from {remote_ip}"),
    }
}

/// The notices released to the host, bounded.
#[derive(Debug, Default)]
pub(crate) struct Notices {
    queue: VecDeque<Notice>,
    dropped: u64,
}

impl Notices {
    pub(crate) fn push(&mut self, n: Notice) {
        if self.queue.len() >= NOTICE_CAPACITY {
            self.queue.pop_front();
            self.dropped += 1;
        }
        self.queue.push_back(n);
    }

    pub(crate) fn pop(&mut self) -> Option<Notice> {
        if self.dropped > 0 {
            let n = std::mem::take(&mut self.dropped);
            return Some(Notice {
                what: What::Dropped(n),
                node_id: NodeId(String::new()),
                request_id: None,
                display_name: None,
                remote_ip: None,
                code: None,
                by: Actor::Gateway,
                approved_via: None,
                enrollment: None,
                device: false,
            });
        }
        self.queue.pop_front()
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }
}
