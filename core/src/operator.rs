//! The operator token: its rotation (`gateway.token.rotate`) and a check of its strength.
//!
//! Rotation replaces the token in the core at once: every operator connection (all of them were
//! authenticated with the old token) is closed with [`ROTATED_CLOSE_REASON`] once the change is
//! durable, the old token's hash joins [`Config::retired_operator_tokens`] so presenting it is refused as
//! rotated, and the caller gets the new token once, in the answer. The store writes the new token
//! ([`Store::save_operator_token`], the host's `openclaw.json`) before the round's batch, which carries
//! the `token-rotated` audit entry; if either write fails the rotation is undone and the caller gets
//! `UNAVAILABLE`.
//!
//! [`Config::retired_operator_tokens`]: crate::Config::retired_operator_tokens

use crate::audit::{Action, Actor};
use crate::gateway::{Gateway, Held, Role, Rotation};
use crate::ids::{ConnId, NodeId};
use crate::method::Method;
use crate::params::Params;
use crate::protocol::GatewayTokenRotated;
use crate::scopes;
use crate::secret::Token;
use crate::store::{Store, StoreError};
use crate::view::TokenText;
use crate::wire::{ApiError, ok_frame};
use std::borrow::Cow;
use std::sync::Arc;

pub use crate::config::MAX_RETIRED;

/// The close code for operator connections ended by a rotation (policy).
pub const ROTATED_CLOSE_CODE: u16 = 1008;

/// The close reason for operator connections ended by a rotation.
pub const ROTATED_CLOSE_REASON: &str =
    "the operator token was rotated; open the new link or use the new token";

/// The message of the `UNAUTHORIZED` refusal of a rotated token in `connect`.
pub const ROTATED_MESSAGE: &str = "unauthorized: the operator token was rotated; use the new link \
     or token (`openclaw gateway rotate-token` printed it; the CLI on the gateway's machine reads it \
     from openclaw.json)";

/// The node id of audit entries about the operator token (no node's id is empty).
pub const AUDIT_NODE_ID: &str = "";

/// The name shown for those entries.
pub const AUDIT_LABEL: &str = "operator token";

/// A rough estimate of a token's strength in bits: its length times the bits per character of the
/// smallest usual alphabet its characters fit (digits, hex, lowercase alphanumerics, base64url,
/// printable ASCII). A token a person chose is weaker than this; a random one is this strong.
pub fn estimated_bits(token: &str) -> u32 {
    let t = token.trim();
    let per_char_millibits = if t.bytes().all(|b| b.is_ascii_digit()) {
        3_322
    } else if t.bytes().all(|b| b.is_ascii_hexdigit()) {
        4_000
    } else if t
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        5_170
    } else if t
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        6_000
    } else {
        6_570
    };
    let bits = t.chars().count() as u64 * per_char_millibits / 1000;
    u32::try_from(bits).unwrap_or(u32::MAX)
}

/// Whether a token is shorter than 128 bits by [`estimated_bits`].
pub fn is_weak(token: &str) -> bool {
    estimated_bits(token) < 128
}

impl<S: Store> Gateway<S> {
    /// `gateway.token.rotate` (needs `operator.admin`): rotates the operator token and answers
    /// `{token}` with the new one.
    pub(crate) fn token_rotate(
        &mut self,
        caller: &crate::methods::Caller,
        id: &str,
        params: serde_json::Value,
    ) -> Result<Arc<str>, ApiError> {
        Params::new(
            Method::GatewayTokenRotate.as_str(),
            params,
            &[],
            &self.config.limits,
        )?;
        if !caller.scopes.unwrap_or_default().satisfies(scopes::ADMIN) {
            return Err(caller.missing_scope(scopes::ADMIN, &[scopes::ADMIN]));
        }
        let token = self.rotate_operator_token_by(&caller.actor, Some(caller.conn));
        // Serialised from the borrowed secret (no copy in a JSON value); the token itself is wiped
        // when dropped, the frame by the host once sent.
        Ok(ok_frame(
            id,
            &GatewayTokenRotated {
                token: TokenText(Cow::Borrowed(token.expose())),
            },
        ))
    }

    /// Rotates the operator token now (for a shell that rotates while no client is connected, e.g.
    /// `openclaw gateway rotate-token` on a stopped gateway): see the module documentation. The
    /// returned token is the new one; it becomes durable at the next [`Gateway::commit`].
    pub fn rotate_operator_token(&mut self, caller: Option<ConnId>) -> Token {
        self.rotate_operator_token_by(&Actor::Gateway, caller)
    }

    /// [`Gateway::rotate_operator_token`], audited as decided `by` someone.
    fn rotate_operator_token_by(&mut self, by: &Actor, caller: Option<ConnId>) -> Token {
        let new = self.rng.token();
        let old = std::mem::replace(&mut self.config.gateway_token, new.clone());
        let old_hash = old.hash();
        let old_retired = self.config.retired_operator_tokens.clone();
        if self.rotation.is_none() {
            self.rotation = Some(Rotation {
                old,
                old_retired,
                caller: None,
            });
        }
        let retired = &mut self.config.retired_operator_tokens;
        retired.insert(0, old_hash);
        retired.truncate(MAX_RETIRED);
        // Audited (and noticed in the gateway's log) as a decision about no node: never the token.
        self.audit(
            by,
            Action::TokenRotated,
            None,
            &NodeId(AUDIT_NODE_ID.to_owned()),
            None,
            Some(AUDIT_LABEL),
        );
        let operators: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(c, x)| {
                Some(**c) != caller
                    && x.session
                        .as_ref()
                        .is_some_and(|s| matches!(s.role, Role::Operator { .. }))
            })
            .map(|(c, _)| *c)
            .collect();
        for conn in operators {
            self.held.push(Held::CloseCommitted(
                conn,
                ROTATED_CLOSE_CODE,
                ROTATED_CLOSE_REASON.into(),
            ));
        }
        if let Some(r) = self.rotation.as_mut() {
            r.caller = caller.or(r.caller);
        }
        new
    }

    /// After the answer to a rotation went into the round: its caller is closed too, once durable.
    pub(crate) fn close_rotation_caller(&mut self) {
        if let Some(conn) = self.rotation.as_mut().and_then(|r| r.caller.take()) {
            self.held.push(Held::CloseCommitted(
                conn,
                ROTATED_CLOSE_CODE,
                ROTATED_CLOSE_REASON.into(),
            ));
        }
    }

    /// Whether `candidate` is an operator token rotated away.
    pub(crate) fn is_retired_operator_token(&self, candidate: &str) -> bool {
        !candidate.trim().is_empty()
            && self
                .config
                .retired_operator_tokens
                .iter()
                .any(|h| h.matches(candidate))
    }

    /// The first step of a commit: a rotation staged this round is written by the store first. On
    /// `Err` the rotation is already undone.
    pub(crate) fn save_rotation(&mut self) -> Result<Option<Rotation>, StoreError> {
        let Some(r) = self.rotation.take() else {
            return Ok(None);
        };
        match self.store.save_operator_token(
            &self.config.gateway_token,
            &self.config.retired_operator_tokens,
        ) {
            Ok(()) => Ok(Some(r)),
            Err(e) => {
                self.undo_rotation(r, false);
                Err(e)
            }
        }
    }

    /// Puts the token of before the rotation back; `saved` when the new one was written and must be
    /// overwritten (best effort: if that fails too, the file holds the new token, which the next start
    /// adopts, and the error was already reported).
    pub(crate) fn undo_rotation(&mut self, r: Rotation, saved: bool) {
        self.config.gateway_token = r.old;
        self.config.retired_operator_tokens = r.old_retired;
        if saved {
            let _ = self.store.save_operator_token(
                &self.config.gateway_token,
                &self.config.retired_operator_tokens,
            );
        }
    }
}

#[cfg(test)]
mod tests;
