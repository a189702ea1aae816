//! The one thread that owns the core.
//!
//! Socket tasks send it [`ToCore`] messages over a bounded channel (a flood from one socket waits for
//! room instead of growing memory). It takes one message, then whatever else is already queued (up to
//! [`MAX_ROUND`]), feeds them all to the core, commits the store once — one journal append and fsync
//! for the whole round — and only then routes the outputs to the sockets' own bounded queues
//! ([`Outbox`]). Each queue has the byte budget `hello-ok` advertises (`policy.maxBufferedBytes`): a
//! socket whose unwritten bytes stay over it for a while ([`SlowConsumer`]) is too slow to read and is
//! closed, saying so; a momentary burst over it is not. Nothing is buffered without bound (past
//! [`HARD_FACTOR`] times the budget a socket is closed at once), and the others never wait for it.
//! File I/O happens on this thread, never on the async workers.
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

use crate::accept::Slot;
use crate::file_store::FileStore;
use crate::upgrade;
use pairing_core::gateway::CloseReason;
use pairing_core::{ConnId, Gateway, OpenError, Output};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, mpsc, oneshot, watch};

/// Most inputs fed to the core between two commits.
pub const MAX_ROUND: usize = 1024;

/// How the byte budget of one socket's queue is enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlowConsumer {
    /// Bytes queued for a socket and not yet written to it that are allowed at any time: the
    /// advertised `policy.maxBufferedBytes`.
    pub budget: usize,
    /// How long a socket may stay over the budget before it is closed as too slow to read.
    pub grace: Duration,
}

impl Default for SlowConsumer {
    fn default() -> Self {
        SlowConsumer {
            budget: 1024 * 1024,
            grace: Duration::from_secs(10),
        }
    }
}

/// Most bytes of frames the writer takes at a time (one frame at least).
pub const TAKE_BYTES: usize = 256 * 1024;

/// Past this many times the budget a socket is closed at once, however short the time: the memory
/// bound of one socket's queue.
pub const HARD_FACTOR: usize = 8;

/// How long a socket the gateway is closing may take to take what is already on its way and the
/// close frame before it is dropped; also how long the reading side of a closed socket keeps reading.
pub const LINGER: Duration = Duration::from_secs(2);

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
        /// The text; wiped once the core has handled it (it may carry a token).
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

    /// The bytes the piece puts on the wire.
    pub fn bytes(&self) -> usize {
        match self {
            Piece::Own(text) => upgrade::header_len(text.len()) + text.len(),
            Piece::Shared { range, .. } => range.len(),
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
    /// Bytes queued and not yet written: those in `frames` and those the writer took and is writing.
    unwritten: usize,
    /// Since when `unwritten` has been over the budget.
    over_since: Option<Instant>,
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
    /// Wakes the reading side when the writer ended (the socket is closing).
    writer_ended: Notify,
    /// The core admitted the connection: the pre-handshake read limit no longer applies.
    admitted: AtomicBool,
    /// The socket's place in the accept counts (left out by tests).
    slot: Option<Arc<Slot>>,
    slow: SlowConsumer,
}

/// Most bytes of control frames waiting; beyond it a pong is dropped (RFC 6455 lets a pong answer only
/// the latest ping), so a ping flood cannot grow memory.
const MAX_CONTROL: usize = 4096;

impl Outbox {
    /// An empty queue, for a socket about to open, with the default budget.
    pub fn new() -> Outbox {
        Outbox::for_socket(None, SlowConsumer::default())
    }

    /// An empty queue for the socket holding `slot`, with the budget `slow`.
    pub fn for_socket(slot: Option<Arc<Slot>>, slow: SlowConsumer) -> Outbox {
        Outbox {
            writer_ended: Notify::new(),
            admitted: AtomicBool::new(false),
            slot,
            slow,
            pending: Mutex::new(Pending {
                frames: VecDeque::new(),
                unwritten: 0,
                over_since: None,
                control: Vec::new(),
                close: None,
                released: false,
                reader: ReaderState::Reading,
                writer_gone: false,
            }),
            wake: Notify::new(),
        }
    }

    /// The socket's slot in the accept counts.
    pub fn slot(&self) -> Option<&Arc<Slot>> {
        self.slot.as_ref()
    }

    /// The core admitted the connection: lifts the pre-handshake read limit and takes the socket out
    /// of the unauthenticated pool.
    pub fn admit(&self) {
        self.admitted.store(true, Ordering::Release);
        if let Some(slot) = &self.slot {
            slot.authenticated();
        }
    }

    /// Whether the core admitted the connection.
    pub fn is_admitted(&self) -> bool {
        self.admitted.load(Ordering::Acquire)
    }

    /// Resolves once the writer ended (it sent the close, or gave up on the socket).
    pub async fn writer_ended(&self) {
        let ended = self.writer_ended.notified();
        tokio::pin!(ended);
        ended.as_mut().enable();
        if self.lock().writer_gone {
            return;
        }
        ended.await;
    }

    /// The writer put `bytes` on the socket.
    pub fn written(&self, bytes: usize) {
        let mut p = self.lock();
        p.unwritten = p.unwritten.saturating_sub(bytes);
        if p.unwritten <= self.slow.budget {
            p.over_since = None;
        }
    }

    /// Resolves when the writer must give up on a write that does not finish: when the socket stayed
    /// over its budget for the grace time (the close with its reason is queued then, and the write gets
    /// [`LINGER`] more to finish), or [`LINGER`] after the gateway decided to close it.
    pub async fn stuck(&self) {
        loop {
            let (over_since, closing) = {
                let p = self.lock();
                (p.over_since, p.close.is_some() || p.released)
            };
            if closing {
                tokio::time::sleep(LINGER).await;
                return;
            }
            match over_since {
                Some(since) => {
                    tokio::time::sleep_until((since + self.slow.grace).into()).await;
                    let mut p = self.lock();
                    if p.over_since == Some(since) {
                        let reason = slow_reason(p.unwritten, since.elapsed());
                        tracing::warn!("closing a connection too slow to read: {reason}");
                        p.close_slow(reason);
                    }
                }
                None => self.changed().await,
            }
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

    /// The writer takes what is waiting: frames (up to [`TAKE_BYTES`] at a time, at least one, so that
    /// the bytes not yet written are known to within that much) are moved to `frames`, control bytes
    /// appended to `control`. Returns the close asked for (`None` while frames remain), whether the
    /// driver let go, and the reading side's state.
    pub fn take(
        &self,
        frames: &mut VecDeque<Piece>,
        control: &mut Vec<u8>,
    ) -> (Option<(u16, CloseReason)>, bool, ReaderState) {
        let mut p = self.lock();
        if p.frames.iter().map(Piece::bytes).sum::<usize>() <= TAKE_BYTES && frames.is_empty() {
            // All of it: swapped, so both queues keep their capacity.
            std::mem::swap(&mut p.frames, frames);
        } else {
            let mut taken = 0;
            while let Some(piece) = p.frames.pop_front() {
                taken += piece.bytes();
                frames.push_back(piece);
                if taken >= TAKE_BYTES {
                    break;
                }
            }
        }
        control.append(&mut p.control);
        if !p.frames.is_empty() {
            drop(p);
            // More to take: the writer comes back at once.
            self.wake.notify_one();
            return (None, false, ReaderState::Reading);
        }
        (p.close.clone(), p.released, p.reader)
    }

    /// Waits until something is pushed (a push between [`Outbox::take`] and this call is not lost).
    pub async fn changed(&self) {
        self.wake.notified().await;
    }
}

impl Pending {
    /// Queues the close of a socket too slow to read and drops the frames it has not taken yet.
    fn close_slow(&mut self, reason: String) {
        for piece in self.frames.drain(..) {
            self.unwritten = self.unwritten.saturating_sub(piece.bytes());
            piece.release();
        }
        self.close.get_or_insert((1008, reason.into()));
    }
}

/// The close reason of a socket too slow to read: what it left unread, and for how long.
fn slow_reason(unwritten: usize, over: Duration) -> String {
    format!(
        "slow consumer: {} KiB unread for {:.1} s",
        unwritten.div_ceil(1024),
        over.as_secs_f64()
    )
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
        p.unwritten = 0;
        for piece in p.frames.drain(..) {
            piece.release();
        }
        drop(p);
        self.0.writer_ended.notify_waiters();
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
            ToCore::Frame { conn, mut text } => self.frame(now, conn, &mut text),
            ToCore::Closed { conn } => {
                self.router.conns.remove(&conn);
                self.gw.closed(now, conn);
            }
            ToCore::Wake => self.gw.wake(now),
            ToCore::Shutdown => return true,
        }
        false
    }

    /// Feeds a frame to the core, wipes its text (a `connect` or `node.pair.verify` carries a token),
    /// and tells the socket when the core admitted it.
    fn frame(&mut self, now: u64, conn: ConnId, text: &mut String) {
        self.gw.frame(now, conn, text);
        zeroize::Zeroize::zeroize(text);
        if let Some(c) = self.router.conns.get_mut(&conn)
            && !c.admitted
            && self.gw.is_admitted(conn)
        {
            c.admitted = true;
            c.out.admit();
        }
    }

    fn commit_and_route(&mut self) {
        // The core backs off a failing store; this logs the start and the end of an episode only.
        let was = self.gw.store_health().cloned();
        let result = self.gw.commit();
        match (&result, &was) {
            (Err(e), None) => tracing::error!(
                "storage write failed: {e}; the round's changes were undone and answered \
                 UNAVAILABLE. Writes are retried with backoff (up to {} s), reads are still served; \
                 one more line follows when writes succeed again",
                pairing_core::gateway::STORE_RETRY_MAX_MS / 1000
            ),
            (Ok(()), Some(f)) if self.gw.store_health().is_none() => tracing::info!(
                "storage works again after {} ms (failed writes: {}, writes refused while backing off: {})",
                now_ms().saturating_sub(f.since),
                f.failures,
                f.refused
            ),
            (Err(e), Some(_)) => tracing::debug!("storage still failing: {e}"),
            _ => {}
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
        self.gw.store_mut().try_checkpoint();
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
            batch_bytes: 0,
            admitted: false,
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
                c.batch_bytes += range.len();
                run.end = range.end;
                *frames += 1;
            }
            (Some(item), _) => {
                c.batch_bytes += match &item {
                    Item::Own(text) => upgrade::header_len(text.len()) + text.len(),
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

    /// Gives each touched connection its batch: one lock and one wake-up per connection. A socket
    /// that has been over its byte budget for the grace time, or would pass [`HARD_FACTOR`] times it,
    /// is too slow to read and is closed (with the reason); one whose writer is gone is forgotten.
    /// Returns the sockets let go of that the core did not close itself.
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
            let slow = c.out.slow;
            let mut p = c.out.lock();
            let now = Instant::now();
            let after = p.unwritten + c.batch_bytes;
            let too_slow = if after > HARD_FACTOR * slow.budget {
                Some(format!(
                    "slow consumer: over {} KiB unread",
                    (HARD_FACTOR * slow.budget) / 1024
                ))
            } else {
                p.over_since
                    .filter(|since| now.duration_since(*since) >= slow.grace)
                    .map(|since| slow_reason(p.unwritten, now.duration_since(since)))
            };
            // A close already queued is the writer's own (too slow, found while it was writing).
            let keep = if p.writer_gone || p.close.is_some() {
                false
            } else if let Some(reason) = too_slow {
                tracing::warn!(%conn, "closing a connection too slow to read: {reason}");
                p.close_slow(reason);
                false
            } else {
                p.unwritten = after;
                if after > slow.budget && p.over_since.is_none() {
                    p.over_since = Some(now);
                }
                c.batch_bytes = 0;
                p.frames.extend(c.batch.drain(..).map(|item| match item {
                    Item::Own(text) => Piece::Own(text),
                    Item::Shared { range, frames } => Piece::Shared {
                        // Only broadcasts of this round make shared items, and they made the block.
                        block: block.clone().unwrap_or_else(|| Arc::from(&[][..])),
                        range,
                        frames,
                    },
                }));
                if c.close.is_some() {
                    p.close.clone_from(&c.close);
                }
                !core_closed
            };
            drop(p);
            if keep {
                c.out.wake.notify_one();
            } else {
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

    fn budget(budget: usize, grace: Duration) -> Arc<Outbox> {
        Arc::new(Outbox::for_socket(None, SlowConsumer { budget, grace }))
    }

    fn frame_of(bytes: usize) -> String {
        "x".repeat(bytes - 4)
    }

    #[test]
    fn a_burst_over_the_byte_budget_is_kept_but_not_without_bound() {
        let mut router = Router::default();
        let burst = budget(1000, Duration::from_secs(3600));
        router.add(ConnId(1), burst.clone());
        // Five times the budget in one round, nothing written: a burst, kept.
        for _ in 0..5 {
            router.sort(send(1, &frame_of(1000)));
        }
        assert!(router.hand_over().is_empty());
        let (pieces, close, released) = take(&burst);
        assert_eq!((pieces.len(), close, released), (5, None, false));
        // The writer wrote it all: under the budget again.
        burst.written(pieces.iter().map(Piece::bytes).sum());
        // Past HARD_FACTOR times the budget unwritten, it is closed at once, saying why.
        for _ in 0..=HARD_FACTOR {
            router.sort(send(1, &frame_of(1000)));
        }
        assert_eq!(router.hand_over(), [ConnId(1)]);
        let (pieces, close, released) = take(&burst);
        assert!(pieces.is_empty(), "frames not taken yet are dropped");
        let (code, reason) = close.expect("a close");
        assert_eq!(code, 1008);
        assert!(
            reason.starts_with("slow consumer: over 7 KiB unread"),
            "{reason}"
        );
        assert!(released);
    }

    #[test]
    fn a_socket_over_its_budget_past_the_grace_is_closed_with_the_reason() {
        let mut router = Router::default();
        let slow = budget(1000, Duration::ZERO);
        let reading = budget(1000, Duration::ZERO);
        router.add(ConnId(1), slow.clone());
        router.add(ConnId(2), reading.clone());
        router.sort(broadcast(&[1, 2], &frame_of(1500)[..120]));
        for _ in 0..2 {
            router.sort(send(1, &frame_of(1000)));
            router.sort(send(2, &frame_of(1000)));
        }
        assert!(
            router.hand_over().is_empty(),
            "the first time over is a burst"
        );
        // The reading one wrote what it took; the slow one took it but wrote nothing.
        let (pieces, ..) = take(&reading);
        reading.written(pieces.iter().map(Piece::bytes).sum());
        let _ = take(&slow);
        router.sort(send(1, "more"));
        router.sort(send(2, "more"));
        assert_eq!(router.hand_over(), [ConnId(1)]);
        let (_, close, _) = take(&slow);
        let (_, reason) = close.expect("closed");
        assert!(
            reason.starts_with("slow consumer: 3 KiB unread for "),
            "{reason}"
        );
        let (pieces, close, released) = take(&reading);
        assert_eq!(
            (wire(&pieces), close, released),
            (vec!["more".to_owned()], None, false)
        );
    }

    #[test]
    fn incoming_frames_are_wiped_once_the_core_has_them_and_admission_is_told() {
        use pairing_core::{Config, Token};
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        let gw = Gateway::new(
            Config::new(Token::new("gw-token")),
            [1; 32],
            store,
            now_ms(),
        )
        .unwrap();
        let (deadline, _) = watch::channel(None);
        let mut d = Driver {
            gw,
            router: Router::default(),
            deadline,
        };
        let out = Arc::new(Outbox::new());
        let conn = d.gw.open(now_ms(), "127.0.0.1".parse().unwrap()).unwrap();
        d.router.add(conn, out.clone());
        let mut text =
            serde_json::json!({"type": "req", "id": "1", "method": "connect", "params": {
            "minProtocol": 3, "maxProtocol": 3, "role": "operator", "scopes": ["operator.read"],
            "client": {"id": "cli", "version": "1", "platform": "linux", "mode": "cli"},
            "auth": {"token": "gw-token"}}})
            .to_string();
        assert!(!out.is_admitted());
        d.frame(now_ms(), conn, &mut text);
        assert!(text.is_empty(), "the frame with the token was wiped");
        assert!(out.is_admitted(), "the socket learnt it was admitted");
    }
}
