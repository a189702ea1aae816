//! One socket's bounded output queue ([`Outbox`]), between the driver, whose router hands it each
//! round's frames, and the socket's two tasks (see `server`): the reading side, which queues control
//! frames and says why it stopped, and the writer, which takes everything at once.
//!
//! Each queue has the byte budget `hello-ok` advertises (`policy.maxBufferedBytes`): a socket whose
//! unwritten bytes stay over it for a while ([`SlowConsumer`]) is too slow to read and is closed,
//! saying so; a momentary burst over it is not. Nothing is buffered without bound (past
//! [`HARD_FACTOR`] times the budget a socket is closed at once), and the others never wait for it.
//!
//! Every frame the host lets go of goes through [`release`], which wipes a frame's bytes once its
//! last holder drops it (a frame may carry a token).

use crate::accept::Slot;
use crate::ws_frame;
use pairing_core::gateway::CloseReason;
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

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
            Piece::Own(text) => ws_frame::text_frame_len(text),
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

    /// The driver hands over one round's frames for the socket `conn`, `bytes` bytes on the wire in
    /// all, and after them `close` when the core closed it; `fill` moves the frames into the queue
    /// (and is called only if they are taken). They are not taken when the writer is gone or the
    /// socket is already closing, nor when the socket is too slow to read — over its budget for the
    /// grace time, or past [`HARD_FACTOR`] times it with these bytes: then its close is queued with
    /// the reason and the frames it has not taken are dropped. Returns whether the frames were
    /// queued; when not, the driver forgets the socket.
    pub(crate) fn deliver(
        &self,
        conn: pairing_core::ConnId,
        bytes: usize,
        close: Option<&(u16, CloseReason)>,
        fill: impl FnOnce(&mut VecDeque<Piece>),
    ) -> bool {
        let slow = self.slow;
        let mut p = self.lock();
        // A close already queued is the writer's own (too slow, found while it was writing).
        if p.writer_gone || p.close.is_some() {
            return false;
        }
        let now = Instant::now();
        let after = p.unwritten + bytes;
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
        if let Some(reason) = too_slow {
            tracing::warn!(%conn, "closing a connection too slow to read: {reason}");
            p.close_slow(reason);
            return false;
        }
        p.unwritten = after;
        if after > slow.budget && p.over_since.is_none() {
            p.over_since = Some(now);
        }
        fill(&mut p.frames);
        if let Some(close) = close {
            p.close = Some(close.clone());
        }
        drop(p);
        self.wake.notify_one();
        true
    }

    /// The driver lets go of the socket: the writer sends what it has, then the close it was handed
    /// (1008 without a reason when there is none: the socket was forgotten).
    pub(crate) fn let_go(&self) {
        self.lock().released = true;
        self.wake.notify_one();
    }

    /// Queues the close `code` and `reason` unless a close is queued already (the gateway shuts
    /// down).
    pub(crate) fn close_unless_closing(&self, code: u16, reason: &'static str) {
        self.lock().close.get_or_insert((code, reason.into()));
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
