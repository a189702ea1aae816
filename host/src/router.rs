//! The sockets as the driver sees them, and each round's outputs sorted per socket.
//!
//! Routing is per connection, not per frame: a round's outputs are first sorted into the router's
//! own per-connection lists (no lock, no allocation once their capacity has grown), then each
//! connection that got anything is handed its whole batch under one lock with one wake-up
//! ([`Outbox`]). A broadcast to C operators in a round of k changes costs C lock/wake pairs, not
//! k × C channel sends, and the writer puts the whole batch on the socket in one vectored write.
//!
//! A round's broadcasts are framed once, one after the other, into one shared block; each recipient
//! gets ranges of it ([`Piece::Shared`]), a run of consecutive broadcasts being one range. A
//! subscriber thus costs one range per round however many events the round had: no reference count
//! per frame, no header per recipient, and a few large slices for the kernel to copy instead of
//! hundreds of small ones.

use crate::outbox::{Outbox, Piece, release};
use crate::ws_frame;
use pairing_core::gateway::CloseReason;
use pairing_core::{ConnId, Output};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

/// Hashes a [`ConnId`] with one multiplication (Fx-style). Connection ids are a counter the gateway
/// assigns, never chosen by a peer, so the DoS-resistant default hasher buys nothing here, and
/// routing looks one up for every frame of every recipient.
#[derive(Default)]
struct ConnHasher(u64);

impl std::hash::Hasher for ConnHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type ConnMap<V> = HashMap<ConnId, V, std::hash::BuildHasherDefault<ConnHasher>>;

/// One entry of a connection's batch while a round is sorted.
enum Item {
    /// A frame for this connection alone.
    Own(Arc<str>),
    /// A run of broadcasts in the driver's block being built.
    Shared { range: Range<usize>, frames: usize },
}

/// The driver's side of one socket.
struct Conn {
    out: Arc<Outbox>,
    /// This round's frames for the socket, in order, not handed over yet (capacity kept).
    batch: Vec<Item>,
    /// How many bytes `batch` puts on the wire.
    batch_bytes: usize,
    /// The core admitted the connection (its outbox was told).
    admitted: bool,
    /// A close from the core, handed over after `batch`; later frames are dropped.
    close: Option<(u16, CloseReason)>,
    /// Listed in [`Router::touched`] this round.
    touched: bool,
}

impl Drop for Conn {
    /// Forgetting a socket tells its writer (after any close it was given) and wipes what it never got.
    fn drop(&mut self) {
        for item in self.batch.drain(..) {
            if let Item::Own(text) = item {
                release(text);
            }
        }
        self.out.let_go();
    }
}

/// The sockets as the driver sees them, and the round's outputs sorted per socket.
#[derive(Default)]
pub(crate) struct Router {
    conns: ConnMap<Conn>,
    /// Connections with something to hand over this round (capacity kept between rounds).
    touched: Vec<ConnId>,
    /// This round's broadcasts, framed, before they are shared (capacity kept between rounds).
    block: Vec<u8>,
}

impl Router {
    /// A socket the core let open.
    pub(crate) fn add(&mut self, conn: ConnId, out: Arc<Outbox>) {
        let c = Conn {
            out,
            batch: Vec::new(),
            batch_bytes: 0,
            admitted: false,
            close: None,
            touched: false,
        };
        self.conns.insert(conn, c);
    }

    /// Sorts one output into the batches of its connections.
    pub(crate) fn sort(&mut self, out: Output) {
        match out {
            Output::Send { conn, text } => self.route(conn, Some(Item::Own(text)), None),
            Output::Close { conn, code, reason } => {
                self.route(conn, None, Some((code, reason)));
            }
            Output::Broadcast { to, text } => {
                let start = self.block.len();
                ws_frame::header(&mut self.block, ws_frame::TEXT, text.len());
                self.block.extend_from_slice(text.as_bytes());
                let range = start..self.block.len();
                for &conn in to.iter() {
                    let frames = 1;
                    let range = range.clone();
                    self.route(conn, Some(Item::Shared { range, frames }), None);
                }
            }
        }
    }

    /// Adds a frame (or the core's close) to one connection's batch for this round. A broadcast that
    /// follows the connection's previous one in the block extends its run.
    fn route(&mut self, conn: ConnId, item: Option<Item>, close: Option<(u16, CloseReason)>) {
        let Some(c) = self.conns.get_mut(&conn).filter(|c| c.close.is_none()) else {
            if let Some(Item::Own(text)) = item {
                release(text);
            }
            return;
        };
        if !c.touched {
            c.touched = true;
            self.touched.push(conn);
        }
        match (item, c.batch.last_mut()) {
            (None, _) => {}
            (Some(Item::Shared { range, .. }), Some(Item::Shared { range: run, frames }))
                if run.end == range.start =>
            {
                c.batch_bytes += range.len();
                run.end = range.end;
                *frames += 1;
            }
            (Some(item), _) => {
                c.batch_bytes += match &item {
                    Item::Own(text) => ws_frame::text_frame_len(text),
                    Item::Shared { range, .. } => range.len(),
                };
                c.batch.push(item);
            }
        }
        if let Some((code, reason)) = &close {
            tracing::debug!(%conn, code, %reason, "closing connection");
            c.close = close;
        }
    }

    /// Forgets a socket that ended (what it never got is wiped).
    pub(crate) fn remove(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
    }

    /// Tells the socket `conn` it was admitted, once, when `admitted` says the core admitted it.
    pub(crate) fn admit(&mut self, conn: ConnId, admitted: impl FnOnce() -> bool) {
        if let Some(c) = self.conns.get_mut(&conn)
            && !c.admitted
            && admitted()
        {
            c.admitted = true;
            c.out.admit();
        }
    }

    /// Closes every socket with `code` and `reason` (unless it is closing already) and forgets it.
    pub(crate) fn close_all(&mut self, code: u16, reason: &'static str) {
        for (_, c) in self.conns.drain() {
            c.out.close_unless_closing(code, reason);
        }
    }

    /// Gives each touched connection its batch: one lock and one wake-up per connection
    /// ([`Outbox::deliver`]). A socket too slow to read is closed (with the reason), one whose writer
    /// is gone is forgotten. Returns the sockets let go of that the core did not close itself.
    #[must_use]
    pub(crate) fn hand_over(&mut self) -> Vec<ConnId> {
        let mut forgotten = Vec::new();
        let block: Option<Arc<[u8]>> = (!self.block.is_empty()).then(|| Arc::from(&self.block[..]));
        self.block.clear();
        for i in 0..self.touched.len() {
            let conn = self.touched[i];
            let Some(c) = self.conns.get_mut(&conn) else {
                continue;
            };
            c.touched = false;
            let core_closed = c.close.is_some();
            let batch = &mut c.batch;
            let queued = c
                .out
                .deliver(conn, c.batch_bytes, c.close.as_ref(), |frames| {
                    frames.extend(batch.drain(..).map(|item| match item {
                        Item::Own(text) => Piece::Own(text),
                        Item::Shared { range, frames } => Piece::Shared {
                            // Only broadcasts of this round make shared items, and they made the block.
                            block: block.clone().unwrap_or_else(|| Arc::from(&[][..])),
                            range,
                            frames,
                        },
                    }));
                });
            c.batch_bytes = 0;
            if !queued || core_closed {
                // Dropping it wakes the writer, which sends what it has, then the close (the reason
                // of a slow consumer, 1008 without a reason when forgotten).
                self.conns.remove(&conn);
                if !core_closed {
                    forgotten.push(conn);
                }
            }
        }
        self.touched.clear();
        forgotten
    }
}

#[cfg(test)]
mod tests;
