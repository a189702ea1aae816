//! The group commit: one batch to the store, then the held outputs released or rewritten; the backoff
//! of a failing store.

use super::notify::mail_frame;
use super::{Admission, Gateway, Held, Kind, Output, Role};
use crate::ids::ConnId;
use crate::secret::{Token, TokenHash};
use crate::store::{Store, StoreError};
use crate::wire::{ApiError, err_frame};

/// How to undo an operator token rotation (`gateway.token.rotate`) whose writes failed.
pub(crate) struct Rotation {
    pub(crate) old: Token,
    pub(crate) old_retired: Vec<TokenHash>,
    /// The caller, closed after its answer.
    pub(crate) caller: Option<ConnId>,
}

/// The first wait after a failed commit, in ms; each further failure doubles it.
pub const STORE_RETRY_MIN_MS: u64 = 100;
/// The longest wait between two attempts to write to a failing store, in ms.
pub const STORE_RETRY_MAX_MS: u64 = 5_000;

/// A failure episode of the store: since when, how many attempts failed, when the next may be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreFailing {
    /// When the first commit of the episode failed (ms).
    pub since: u64,
    /// Commits attempted and failed in this episode.
    pub failures: u32,
    /// No commit is attempted before this time (ms).
    pub retry_at: u64,
    /// Rounds that changed state and were refused without an attempt (backing off).
    pub refused: u64,
}

impl StoreFailing {
    fn delay(failures: u32) -> u64 {
        STORE_RETRY_MIN_MS
            .saturating_mul(1u64 << failures.saturating_sub(1).min(20))
            .min(STORE_RETRY_MAX_MS)
    }
}

impl<S: Store> Gateway<S> {
    /// Makes the changes of every input since the last commit durable in one [`Store::commit`], then
    /// releases their outputs. On a store error the changes are undone and the outputs rewritten (see
    /// the module documentation); the error is returned for the shell to log.
    pub fn commit(&mut self) -> Result<(), StoreError> {
        let now = self.now;
        // A failing store's retry is due: the expiries that waited for it run now, after this
        // round's inputs were answered.
        if self
            .store_failing
            .as_ref()
            .is_some_and(|f| now >= f.retry_at)
        {
            self.expire_due(now);
        }
        // A staged rotation makes the state dirty (its audit entry), so it is never skipped here.
        let mut rotation = None;
        let result = if !self.state.is_dirty() {
            Ok(())
        } else if let Some(f) = self.store_failing.as_mut().filter(|f| now < f.retry_at) {
            f.refused += 1;
            let wait = f.retry_at - now;
            if let Some(r) = self.rotation.take() {
                self.undo_rotation(r, false);
            }
            Err(StoreError::io(format!(
                "storage is failing; not retried for another {wait} ms"
            )))
        } else {
            let attempt = match self.save_rotation() {
                Ok(r) => {
                    rotation = r;
                    self.store.commit(&self.state.batch())
                }
                Err(e) => Err(e),
            };
            match (&attempt, &mut self.store_failing) {
                (Ok(()), failing) => *failing = None,
                (Err(_), Some(f)) => {
                    f.failures = f.failures.saturating_add(1);
                    f.retry_at = now.saturating_add(StoreFailing::delay(f.failures));
                }
                (Err(_), failing @ None) => {
                    *failing = Some(StoreFailing {
                        since: now,
                        failures: 1,
                        retry_at: now.saturating_add(StoreFailing::delay(1)),
                        refused: 0,
                    });
                }
            }
            attempt
        };
        let ok = result.is_ok();
        if ok {
            self.state.committed();
            self.committed_seq = self.seq;
        } else {
            if let Some(r) = rotation {
                self.undo_rotation(r, true);
            }
            self.state.roll_back();
            self.seq = self.committed_seq;
        }
        for held in std::mem::take(&mut self.held) {
            match held {
                Held::Out(o, Kind::Plain) => self.out.push_back(o),
                Held::Out(o, Kind::Event) if ok => self.out.push_back(o),
                Held::Out(o, Kind::Ack(_) | Kind::Hello(_)) if ok => self.out.push_back(o),
                Held::Out(Output::Send { conn, .. }, Kind::Hello(id)) => {
                    self.out.push_back(Output::Send {
                        conn,
                        text: err_frame(&id, &ApiError::storage_failed()),
                    });
                    if self.forget(conn) {
                        self.out.push_back(Output::Close {
                            conn,
                            code: 1013,
                            reason: "storage unavailable; try again".into(),
                        });
                    }
                }
                Held::Out(Output::Send { conn, .. }, Kind::Ack(id)) => {
                    self.out.push_back(Output::Send {
                        conn,
                        text: err_frame(&id, &ApiError::storage_failed()),
                    });
                }
                Held::Direct(conn, node, mail) if ok => self.out.push_back(Output::Send {
                    conn,
                    text: mail_frame(&node, &mail),
                }),
                Held::Mail(node, mail) if ok => self.mailbox.put(node, mail),
                Held::Unmail(node) if ok => {
                    self.mailbox.remove(&node);
                }
                Held::CloseCommitted(conn, code, reason) if ok && self.forget(conn) => {
                    self.out.push_back(Output::Close { conn, code, reason });
                }
                Held::Notice(n) if ok => self.notices.push(n),
                Held::Upgrade(conn) if ok => {
                    if let Some(Role::Node { admission, .. }) = self
                        .conns
                        .get_mut(&conn)
                        .and_then(|c| c.session.as_mut())
                        .map(|s| &mut s.role)
                        && *admission == Admission::Waiting
                    {
                        *admission = Admission::Paired;
                    }
                }
                _ => {}
            }
        }
        result
    }

    /// Whether a failure episode of the store is under way: writes that are only informational
    /// (`lastSeenAtMs`) are skipped meanwhile, so a paired device still connects.
    pub(crate) fn store_is_failing(&self) -> bool {
        self.store_failing.is_some()
    }

    /// The store's failure episode, if one is under way (see the module documentation).
    pub fn store_health(&self) -> Option<&StoreFailing> {
        self.store_failing.as_ref()
    }
}
