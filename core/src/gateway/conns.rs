//! The connection registry: who is connected, in the handshake or with a session, per address.

use super::{Gateway, Held};
use crate::ids::{ConnId, NodeId};
use crate::scopes::Scopes;
use crate::store::Store;
use std::net::IpAddr;

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

impl<S: Store> Gateway<S> {
    pub(super) fn forget(&mut self, conn: ConnId) -> bool {
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

    pub(super) fn node_conn_gone(&mut self, ip: IpAddr) {
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
}

/// IPv4-mapped IPv6 addresses count as their IPv4 address, so limits per address cannot be dodged.
pub(super) fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}
