//! Time: the instant the gateway must be woken next, and what is due when it is.

use super::{Gateway, Kind};
use crate::audit::Actor;
use crate::event::Event;
use crate::ids::ConnId;
use crate::memory::Decision;
use crate::store::Store;
use crate::wire::event_frame;
use serde::Serialize;

#[derive(Serialize)]
struct TickPayload {
    ts: u64,
}

impl<S: Store> Gateway<S> {
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
    pub(super) fn advance(&mut self, now: u64) {
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
            let text = event_frame(Event::Tick.as_str(), &TickPayload { ts: now }, None);
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
    pub(super) fn expire_due(&mut self, now: u64) {
        while let Some((t, id)) = self.state.next_expiry() {
            if t > now {
                break;
            }
            let id = id.clone();
            self.resolve_pending(&Actor::Gateway, &id, Decision::Expired);
        }
    }
}
