//! The webhook delivery queue, sans-IO: bounded, one request in flight, in order, each delivery
//! retried with backoff ([`crate::resync::Backoff`]: 0.5 s doubling to 10 s, with jitter) up to
//! [`MAX_ATTEMPTS`], and the failure *episodes* a host logs once each.
//!
//! Call order: [`Queue::push`] a payload; [`Queue::poll_send`] with the current time gives the next
//! request to make (at most one at a time) and [`Queue::poll_timeout`] when to ask again; the host
//! makes the request under [`REQUEST_TIMEOUT_MS`] and reports [`Queue::on_result`], which says
//! whether a line should be logged ([`Episode`]). When the gateway stops, [`Queue::closing`] makes
//! what waits due for one last attempt.

use super::Payload;
use crate::resync::Backoff;
use serde::Serialize;
use std::collections::VecDeque;

/// Deliveries waiting at most; beyond it the oldest is dropped (and counted).
pub const QUEUE_CAPACITY: usize = 256;
/// Attempts per delivery before it is given up (counted).
pub const MAX_ATTEMPTS: u32 = 8;
/// The deadline of one request: connecting, TLS, sending and the response's status line.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;

/// A request to make now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The payload (the host serialises and signs it for this attempt).
    pub payload: Payload,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// What the host logs after a result: one line when deliveries start failing, one when they work
/// again; nothing in between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Episode {
    /// The first failure after a success (or at start).
    Failing {
        /// Why.
        error: String,
    },
    /// The first success after failures.
    Recovered {
        /// When the failures started, ms since the epoch.
        since: u64,
        /// Failed attempts meanwhile.
        failures: u64,
    },
}

/// What `openclaw doctor` shows of the webhook (the host writes it to the state directory).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Deliveries that succeeded.
    pub delivered: u64,
    /// Deliveries waiting (the one in flight included).
    pub queued: usize,
    /// Deliveries given up after [`MAX_ATTEMPTS`].
    pub given_up: u64,
    /// Deliveries dropped because the queue was full.
    pub dropped: u64,
    /// When the current failure episode started (`None`: the last attempt worked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_since_ms: Option<u64>,
    /// Failed attempts in the current episode.
    pub failures: u64,
    /// The last error, if the current episode has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the last delivery succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_delivered_ms: Option<u64>,
}

struct Entry {
    payload: Payload,
    attempts: u32,
    backoff: Backoff,
    not_before: u64,
}

/// The queue of deliveries; see the module documentation.
#[derive(Default)]
pub struct Queue {
    entries: VecDeque<Entry>,
    in_flight: bool,
    status: Status,
}

impl Queue {
    /// An empty queue.
    pub fn new() -> Queue {
        Queue::default()
    }

    /// Queues a delivery, due now; drops the oldest waiting one (never the one in flight) when full.
    pub fn push(&mut self, payload: Payload, now: u64) {
        if self.entries.len() >= QUEUE_CAPACITY {
            let at = usize::from(self.in_flight);
            if self.entries.remove(at).is_some() {
                self.status.dropped += 1;
            }
        }
        self.entries.push_back(Entry {
            payload,
            attempts: 0,
            backoff: Backoff::new(),
            not_before: now,
        });
        self.status.queued = self.entries.len();
    }

    /// The request to make now, if one is due and none is in flight.
    pub fn poll_send(&mut self, now: u64) -> Option<Attempt> {
        if self.in_flight {
            return None;
        }
        let head = self.entries.front_mut().filter(|e| e.not_before <= now)?;
        head.attempts += 1;
        self.in_flight = true;
        Some(Attempt {
            payload: head.payload.clone(),
            attempt: head.attempts,
        })
    }

    /// When [`Queue::poll_send`] has something next (`None`: nothing waits, or a request is in
    /// flight).
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.in_flight {
            return None;
        }
        self.entries.front().map(|e| e.not_before)
    }

    /// The result of the request [`Queue::poll_send`] gave: `Ok` when the receiver answered 2xx.
    /// `random` jitters the next delay. Returns the line to log, if this starts or ends an episode.
    pub fn on_result(
        &mut self,
        now: u64,
        result: Result<(), String>,
        random: u16,
    ) -> Option<Episode> {
        if !self.in_flight {
            return None;
        }
        self.in_flight = false;
        let s = &mut self.status;
        let episode = match result {
            Ok(()) => {
                self.entries.pop_front();
                s.delivered += 1;
                s.last_delivered_ms = Some(now);
                let ended = s.failing_since_ms.take().map(|since| Episode::Recovered {
                    since,
                    failures: s.failures,
                });
                s.failures = 0;
                s.last_error = None;
                ended
            }
            Err(error) => {
                s.failures += 1;
                let started = s.failing_since_ms.is_none();
                if started {
                    s.failing_since_ms = Some(now);
                }
                s.last_error = Some(error.clone());
                if let Some(head) = self.entries.front_mut() {
                    if head.attempts >= MAX_ATTEMPTS {
                        self.entries.pop_front();
                        s.given_up += 1;
                    } else {
                        head.not_before = now + head.backoff.next_delay(random);
                    }
                }
                started.then_some(Episode::Failing { error })
            }
        };
        self.status.queued = self.entries.len();
        episode
    }

    /// The gateway is stopping: every waiting delivery is due now and gets one last attempt (a
    /// failure gives it up), so what a person was about to be told still goes out once the host
    /// drains the queue under its shutdown budget.
    pub fn closing(&mut self, now: u64) {
        for e in &mut self.entries {
            e.not_before = e.not_before.min(now);
            e.attempts = e.attempts.max(MAX_ATTEMPTS - 1);
        }
    }

    /// The counters and the current episode.
    pub fn status(&self) -> &Status {
        &self.status
    }
}

#[cfg(test)]
mod tests;
