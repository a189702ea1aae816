//! What the gateway tells the shell to do, and the outputs held until their batch is committed.

use super::Gateway;
use crate::ids::{ConnId, NodeId};
use crate::memory::Mail;
use crate::notice::Notice;
use crate::store::Store;
use std::borrow::Cow;
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

impl<S: Store> Gateway<S> {
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
}
