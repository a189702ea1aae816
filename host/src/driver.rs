//! The one thread that owns the core.
//!
//! Socket tasks send it [`ToCore`] messages over a bounded channel (a flood from one socket waits for
//! room instead of growing memory). It takes one message, then whatever else is already queued (up to
//! [`MAX_ROUND`]), feeds them all to the core, commits the store once — one journal append and fsync
//! for the whole round — and only then routes the outputs to the sockets' own bounded queues
//! ([`Outbox`]). A socket whose queue is full is too slow to read: it is closed, never buffered without
//! bound, and the others never wait for it. File I/O happens on this thread, never on the async workers.
//!
//! Routing is per connection, not per frame: a round's outputs are first sorted into the driver's own
//! per-connection lists (no lock, no allocation once their capacity has grown), then each connection
//! that got anything is handed its whole batch under one lock with one wake-up. A broadcast to C
//! operators in a round of k changes costs C lock/wake pairs, not k × C channel sends, and the writer
//! puts the whole batch on the socket in one vectored write.
//!
//! A round's broadcasts are framed once, one after the other, into one shared block; each recipient
//! gets ranges of it ([`Piece::Shared`]), a run of consecutive broadcasts being one range. A subscriber
//! thus costs one range per round however many events the round had: no reference count per frame,
//! no header per recipient, and a few large slices for the kernel to copy instead of hundreds of small
//! ones.

use crate::file_store::FileStore;
use crate::upgrade;
use pairing_core::gateway::CloseReason;
use pairing_core::{ConnId, Gateway, OpenError, Output};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, mpsc, oneshot, watch};

/// Most inputs fed to the core between two commits.
pub const MAX_ROUND: usize = 1024;

/// Frames queued for one socket before it counts as too slow and is closed.
pub const CONN_QUEUE: usize = 512;

/// A message to the core's thread.
pub enum ToCore {
    /// A socket asks to open; the reply says whether it may (or must get HTTP 503).
    Open {
        /// The peer's address.
        ip: IpAddr,
        /// The nonce the client sent with its upgrade, for the challenge's proof
        /// ([`pairing_core::challenge`]).
        client_nonce: Option<String>,
        /// Where this connection's outputs go.
        out: Arc<Outbox>,
        /// The answer.
        reply: oneshot::Sender<Result<ConnId, OpenError>>,
    },
    /// A text frame from a socket.
    Frame {
        /// The connection.
        conn: ConnId,
        /// The text.
        text: String,
    },
    /// A socket ended.
    Closed {
        /// The connection.
        conn: ConnId,
    },
    /// A deadline of the core has come.
    Wake,
    /// Stop: close every socket, write a checkpoint, end the thread.
    Shutdown,
}

/// Why the reading side of a socket stopped, as its writer must know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReaderState {
    /// Still reading.
    Reading,
    /// The peer closed (its close frame is answered through [`Outbox::push_control`]) or went away.
    Ended,
    /// Reading failed (a frame too large, a protocol error): close with this code and reason.
    Failed(u16, &'static str),
}

/// Frames for one socket's writer.
#[derive(Debug)]
pub enum Piece {
    /// One text frame for this socket alone (a response, a targeted event), not framed yet. It may
    /// carry a token: its last holder wipes it ([`release`]).
    Own(Arc<str>),
    /// Consecutive broadcast events of one round, framed, in the round's block shared by every
    /// recipient. Broadcasts never carry a token.
    Shared {
        /// The round's broadcasts, framed, one after the other.
        block: Arc<[u8]>,
        /// This socket's run of them.
        range: Range<usize>,
        /// How many frames the run holds.
        frames: usize,
    },
}

impl Piece {
    /// How many frames the piece holds.
    pub fn frames(&self) -> usize {
        match self {
            Piece::Own(_) => 1,
            Piece::Shared { frames, .. } => *frames,
        }
    }

    /// Lets go of the piece: an own frame through [`release`].
    pub fn release(self) {
        if let Piece::Own(text) = self {
            release(text);
        }
    }
}

/// What is waiting for one socket's writer.
#[derive(Debug)]
struct Pending {
    /// Frames, in order.
    frames: VecDeque<Piece>,
    /// How many frames `frames` holds.
    queued: usize,
    /// Control frames the reading side must send (pong, the answer to the peer's close), framed.
    control: Vec<u8>,
    /// A close the core asked for (or shutdown), sent after `frames`.
    close: Option<(u16, CloseReason)>,
    /// The driver let go of the socket without a close of its own: too slow to read, or forgotten.
    released: bool,
    /// The reading side.
    reader: ReaderState,
    /// The writer ended (or never started); the driver forgets the socket at its next batch.
    writer_gone: bool,
}

/// One socket's bounded output queue, shared by the driver (frames, close), the socket's reading side
/// (control frames, why it stopped) and its writer task, which takes everything at once.
#[derive(Debug)]
pub struct Outbox {
    pending: Mutex<Pending>,
    wake: Notify,
}

/// Most bytes of control frames waiting; beyond it a pong is dropped (RFC 6455 lets a pong answer only
/// the latest ping), so a ping flood cannot grow memory.
const MAX_CONTROL: usize = 4096;

impl Outbox {
    /// An empty queue, for a socket about to open.
    pub fn new() -> Outbox {
        Outbox {
            pending: Mutex::new(Pending {
                frames: VecDeque::new(),
                queued: 0,
                control: Vec::new(),
                close: None,
                released: false,
                reader: ReaderState::Reading,
                writer_gone: false,
            }),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Nothing panics while holding the lock; take the data even if something did.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The reading side queues an already framed control frame (a pong, the answer to a close).
    pub fn push_control(&self, frame: &[u8]) {
        let mut p = self.lock();
        if p.control.len() + frame.len() <= MAX_CONTROL {
            p.control.extend_from_slice(frame);
        }
        drop(p);
        self.wake.notify_one();
    }

    /// The reading side stopped (see [`ReaderState`]); the writer finishes accordingly.
    pub fn reader_stopped(&self, why: ReaderState) {
        let mut p = self.lock();
        if p.reader == ReaderState::Reading {
            p.reader = why;
        }
        drop(p);
        self.wake.notify_one();
    }

    /// The writer takes everything waiting: frames are swapped into `frames` (which must be empty, so
    /// both queues keep their capacity), control bytes appended to `control`. Returns the close
    /// asked for, whether the driver let go, and the reading side's state.
    pub fn take(
        &self,
        frames: &mut VecDeque<Piece>,
        control: &mut Vec<u8>,
    ) -> (Option<(u16, CloseReason)>, bool, ReaderState) {
        let mut p = self.lock();
        std::mem::swap(&mut p.frames, frames);
        p.queued = 0;
        control.append(&mut p.control);
        (p.close.clone(), p.released, p.reader)
    }

    /// Waits until something is pushed (a push between [`Outbox::take`] and this call is not lost).
    pub async fn changed(&self) {
        self.wake.notified().await;
    }
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox::new()
    }
}

/// The writer's end of an [`Outbox`]; dropping it (the writer ended, or the upgrade never completed)
/// tells the driver the socket is gone, as a closed channel did.
#[derive(Debug)]
pub struct OutboxReader(Arc<Outbox>);

impl OutboxReader {
    /// The writer's end of `out`.
    pub fn new(out: Arc<Outbox>) -> OutboxReader {
        OutboxReader(out)
    }

    /// The queue.
    pub fn outbox(&self) -> &Outbox {
        &self.0
    }
}

impl Drop for OutboxReader {
    fn drop(&mut self) {
        let mut p = self.0.lock();
        p.writer_gone = true;
        p.queued = 0;
        for piece in p.frames.drain(..) {
            piece.release();
        }
    }
}

/// Lets go of a frame; the last holder wipes its bytes (a frame may carry a token: an approve
/// result, a node's approved event). Every frame the host drops goes through here.
pub fn release(mut text: Arc<str>) {
    if let Some(bytes) = Arc::get_mut(&mut text) {
        zeroize::Zeroize::zeroize(bytes);
    }
}

/// Milliseconds since the epoch, the core's clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

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
    /// How many frames `batch` holds.
    batch_frames: usize,
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
        self.out.lock().released = true;
        self.out.wake.notify_one();
    }
}

struct Driver {
    gw: Gateway<FileStore>,
    router: Router,
    deadline: watch::Sender<Option<u64>>,
}

/// The sockets as the driver sees them, and the round's outputs sorted per socket.
#[derive(Default)]
struct Router {
    conns: ConnMap<Conn>,
    /// Connections with something to hand over this round (capacity kept between rounds).
    touched: Vec<ConnId>,
    /// This round's broadcasts, framed, before they are shared (capacity kept between rounds).
    block: Vec<u8>,
}

/// Starts the core's thread. It ends after [`ToCore::Shutdown`] or when every sender is gone.
pub fn spawn(
    gw: Gateway<FileStore>,
    rx: mpsc::Receiver<ToCore>,
    deadline: watch::Sender<Option<u64>>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("pairing-core".into())
        .spawn(move || {
            let mut d = Driver {
                gw,
                router: Router::default(),
                deadline,
            };
            d.publish_deadline();
            d.run(rx);
        })
}

impl Driver {
    fn run(&mut self, mut rx: mpsc::Receiver<ToCore>) {
        while let Some(first) = rx.blocking_recv() {
            let mut stop = self.handle(first);
            let mut fed = 1;
            while !stop && fed < MAX_ROUND {
                match rx.try_recv() {
                    Ok(m) => {
                        stop = self.handle(m);
                        fed += 1;
                    }
                    Err(_) => break,
                }
            }
            self.commit_and_route();
            if stop {
                break;
            }
            if self.gw.store().checkpoint_due() && self.gw.store().checkpoint_stale() {
                self.checkpoint();
            }
            self.publish_deadline();
        }
        self.shutdown();
    }

    fn handle(&mut self, msg: ToCore) -> bool {
        let now = now_ms();
        match msg {
            ToCore::Open {
                ip,
                client_nonce,
                out,
                reply,
            } => {
                let result = self.gw.open_with(now, ip, client_nonce.as_deref());
                if let Ok(conn) = result {
                    self.router.add(conn, out);
                }
                let _ = reply.send(result);
            }
            ToCore::Frame { conn, text } => self.gw.frame(now, conn, &text),
            ToCore::Closed { conn } => {
                self.router.conns.remove(&conn);
                self.gw.closed(now, conn);
            }
            ToCore::Wake => self.gw.wake(now),
            ToCore::Shutdown => return true,
        }
        false
    }

    fn commit_and_route(&mut self) {
        if let Err(e) = self.gw.commit() {
            tracing::error!(
                "storage write failed; the round's changes were undone and reported as failed: {e}"
            );
        }
        // Requests and decisions, one line each (never a token).
        while let Some(notice) = self.gw.poll_notice() {
            tracing::info!("{notice}");
        }
        // Handing over can forget a socket (gone, too slow), which can make more outputs.
        while self.sort_outputs() {
            self.hand_over();
        }
    }

    /// Sorts the released outputs into each connection's batch; false when there were none.
    fn sort_outputs(&mut self) -> bool {
        let mut any = false;
        while let Some(out) = self.gw.poll_output_shared() {
            any = true;
            self.router.sort(out);
        }
        any
    }

    /// Hands the round's batches over; tells the core of the sockets let go of (gone, too slow).
    fn hand_over(&mut self) {
        for conn in self.router.hand_over() {
            self.gw.closed(now_ms(), conn);
        }
    }

    fn checkpoint(&mut self) {
        if let Err(e) = self.gw.store_mut().checkpoint() {
            tracing::warn!("checkpoint failed, the journal keeps every change: {e}");
        }
    }

    fn publish_deadline(&mut self) {
        let mut next = self.gw.poll_timeout();
        if self.gw.store().checkpoint_due() {
            let due = now_ms() + self.gw.store().checkpoint_interval().as_millis() as u64;
            next = Some(next.map_or(due, |n| n.min(due)));
        }
        self.deadline.send_replace(next);
    }

    fn shutdown(&mut self) {
        for (_, c) in self.router.conns.drain() {
            let mut p = c.out.lock();
            p.close
                .get_or_insert((1001, "gateway shutting down".into()));
            drop(p);
            drop(c);
        }
        if self.gw.store().checkpoint_due() {
            self.checkpoint();
        }
        self.deadline.send_replace(None);
    }
}

impl Router {
    /// A socket the core let open.
    fn add(&mut self, conn: ConnId, out: Arc<Outbox>) {
        let c = Conn {
            out,
            batch: Vec::new(),
            batch_frames: 0,
            close: None,
            touched: false,
        };
        self.conns.insert(conn, c);
    }

    /// Sorts one output into the batches of its connections.
    fn sort(&mut self, out: Output) {
        match out {
            Output::Send { conn, text } => self.route(conn, Some(Item::Own(text)), None),
            Output::Close { conn, code, reason } => {
                self.route(conn, None, Some((code, reason)));
            }
            Output::Broadcast { to, text } => {
                let start = self.block.len();
                upgrade::frame_header(&mut self.block, 0x1, text.len());
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
                run.end = range.end;
                *frames += 1;
                c.batch_frames += 1;
            }
            (Some(item), _) => {
                c.batch_frames += match &item {
                    Item::Own(_) => 1,
                    Item::Shared { frames, .. } => *frames,
                };
                c.batch.push(item);
            }
        }
        if let Some((code, reason)) = &close {
            tracing::debug!(%conn, code, %reason, "closing connection");
            c.close = close;
        }
    }

    /// Gives each touched connection its batch: one lock and one wake-up per connection. A socket
    /// whose queue would pass [`CONN_QUEUE`] is too slow to read and is closed; one whose writer is
    /// gone is forgotten. Returns the sockets let go of that the core did not close itself.
    #[must_use]
    fn hand_over(&mut self) -> Vec<ConnId> {
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
            let mut p = c.out.lock();
            let keep = if p.writer_gone {
                false
            } else if p.queued + c.batch_frames > CONN_QUEUE {
                tracing::warn!(%conn, "closing a connection too slow to read its frames");
                false
            } else {
                p.queued += c.batch_frames;
                c.batch_frames = 0;
                p.frames.extend(c.batch.drain(..).map(|item| match item {
                    Item::Own(text) => Piece::Own(text),
                    Item::Shared { range, frames } => Piece::Shared {
                        // Only broadcasts of this round make shared items, and they made the block.
                        block: block.clone().unwrap_or_else(|| Arc::from(&[][..])),
                        range,
                        frames,
                    },
                }));
                p.close.clone_from(&c.close);
                !core_closed
            };
            drop(p);
            if keep {
                c.out.wake.notify_one();
            } else {
                // Dropping it wakes the writer, which sends what it has, then the close (1008
                // without one of the core's own).
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

/// Sends [`ToCore::Wake`] when the published deadline comes. Ends when the driver is gone.
pub async fn timer(mut deadline: watch::Receiver<Option<u64>>, to_core: mpsc::Sender<ToCore>) {
    loop {
        let next = *deadline.borrow_and_update();
        match next {
            None => {
                if deadline.changed().await.is_err() {
                    return;
                }
            }
            Some(at) => {
                let wait = std::time::Duration::from_millis(at.saturating_sub(now_ms()) + 1);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {
                        if to_core.send(ToCore::Wake).await.is_err() {
                            return;
                        }
                        // Give the driver a moment to publish its next deadline.
                        tokio::select! {
                            r = deadline.changed() => if r.is_err() { return },
                            _ = tokio::time::sleep(std::time::Duration::from_millis(5)) => {}
                        }
                    }
                    r = deadline.changed() => if r.is_err() { return },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a socket's writer would put on the wire for `pieces`: the texts of its frames, in order.
    fn wire(pieces: &VecDeque<Piece>) -> Vec<String> {
        let mut bytes = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Own(text) => {
                    upgrade::frame_header(&mut bytes, 0x1, text.len());
                    bytes.extend_from_slice(text.as_bytes());
                }
                Piece::Shared { block, range, .. } => {
                    bytes.extend_from_slice(&block[range.clone()])
                }
            }
        }
        let mut texts = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            assert_eq!(bytes[at], 0x81, "a final text frame");
            let len = usize::from(bytes[at + 1]);
            assert!(len < 126, "short frames only in this test");
            texts.push(String::from_utf8(bytes[at + 2..at + 2 + len].to_vec()).unwrap());
            at += 2 + len;
        }
        texts
    }

    fn take(out: &Outbox) -> (VecDeque<Piece>, Option<(u16, CloseReason)>, bool) {
        let mut pieces = VecDeque::new();
        let (close, released, _) = out.take(&mut pieces, &mut Vec::new());
        (pieces, close, released)
    }

    fn send(conn: u64, text: &str) -> Output {
        Output::Send {
            conn: ConnId(conn),
            text: text.into(),
        }
    }

    fn broadcast(to: &[u64], text: &str) -> Output {
        Output::Broadcast {
            to: to.iter().map(|&c| ConnId(c)).collect(),
            text: text.into(),
        }
    }

    #[test]
    fn each_socket_gets_its_frames_in_order_with_runs_of_broadcasts_shared() {
        let mut router = Router::default();
        let outs: Vec<Arc<Outbox>> = (0..4).map(|_| Arc::new(Outbox::new())).collect();
        for (i, out) in outs.iter().enumerate() {
            router.add(ConnId(i as u64), out.clone());
        }
        for out in [
            send(0, "r1"),
            broadcast(&[0, 1, 2], "e1"),
            broadcast(&[0, 1, 2], "e2"),
            send(1, "r2"),
            broadcast(&[0, 1, 2], "e3"),
            Output::Close {
                conn: ConnId(2),
                code: 1008,
                reason: "bye".into(),
            },
            broadcast(&[0, 1, 2], "e4"),
            send(9, "to a socket that is gone"),
        ] {
            router.sort(out);
        }
        assert!(router.hand_over().is_empty());

        let (a, close, released) = take(&outs[0]);
        assert_eq!(wire(&a), ["r1", "e1", "e2", "e3", "e4"]);
        assert_eq!(a.len(), 2, "one own frame, then one run of four broadcasts");
        assert_eq!(a[1].frames(), 4);
        assert_eq!((close, released), (None, false));

        let (b, _, _) = take(&outs[1]);
        assert_eq!(wire(&b), ["e1", "e2", "r2", "e3", "e4"]);
        assert_eq!(b.iter().map(Piece::frames).collect::<Vec<_>>(), [2, 1, 2]);

        let (c, close, released) = take(&outs[2]);
        assert_eq!(
            wire(&c),
            ["e1", "e2", "e3"],
            "nothing after the core's close"
        );
        assert_eq!(close, Some((1008, "bye".into())));
        assert!(released, "the driver forgot it");

        let (d, close, released) = take(&outs[3]);
        assert!(d.is_empty() && close.is_none() && !released);

        // The next round has its own block, and a run never spans two rounds.
        router.sort(broadcast(&[0, 1], "e5"));
        assert!(router.hand_over().is_empty());
        assert_eq!(wire(&take(&outs[0]).0), ["e5"]);
        assert_eq!(wire(&take(&outs[1]).0), ["e5"]);
    }

    #[test]
    fn a_socket_past_its_queue_is_let_go_and_counted_in_frames_not_pieces() {
        let mut router = Router::default();
        let slow = Arc::new(Outbox::new());
        let other = Arc::new(Outbox::new());
        router.add(ConnId(1), slow.clone());
        router.add(ConnId(2), other.clone());
        // One round of CONN_QUEUE broadcasts is one piece but CONN_QUEUE frames: it fits exactly.
        for i in 0..CONN_QUEUE {
            router.sort(broadcast(&[1, 2], &format!("e{i}")));
        }
        assert!(router.hand_over().is_empty());
        let (pieces, ..) = take(&other);
        assert_eq!(pieces.len(), 1);
        assert_eq!(wire(&pieces).len(), CONN_QUEUE);
        // The slow socket took nothing; one more frame is past its queue.
        router.sort(broadcast(&[1, 2], "one too many"));
        assert_eq!(router.hand_over(), [ConnId(1)]);
        let (_, close, released) = take(&slow);
        assert!(
            released && close.is_none(),
            "let go, to be closed with 1008 by its writer"
        );
        assert_eq!(wire(&take(&other).0), ["one too many"]);
        assert!(!router.conns.contains_key(&ConnId(1)));
    }
}
