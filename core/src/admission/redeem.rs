//! Redeeming a setup code or enrollment key at `connect` (module `enroll`): a device presenting a
//! live one as `auth.bootstrapToken` is paired now, within the enrollment's profile, and gets its
//! device token in `hello-ok` — the operator approved when they issued it.

use super::unauthorized;
use crate::audit::Actor;
use crate::enroll::{EnrollKind, Enrollment, Status};
use crate::event::Event;
use crate::gateway::{Admission, Gateway};
use crate::handshake::Refusal;
use crate::pairing::{Ask, Via};
use crate::protocol::{DetailCode, SetupCompleted};
use crate::record::PairedNode;
use crate::secret::{Token, TokenHash};
use crate::store::Store;
use crate::wire::{ApiError, event_frame};

/// The refusal of a bootstrap token that pairs nothing: unknown, or an enrollment that ended.
fn ended(e: Option<&Enrollment>, now: u64) -> Refusal {
    let message = match e.map(|e| (e.kind, e.status(now))) {
        None | Some((_, Status::Active)) => {
            "unauthorized: bootstrap token invalid or expired".to_owned()
        }
        Some((kind, status)) => {
            let what = match kind {
                EnrollKind::SetupCode => "setup code",
                EnrollKind::Key => "enrollment key",
            };
            let why = match status {
                Status::Expired => "expired",
                Status::UsedUp => "was already used",
                _ => "was revoked",
            };
            format!("unauthorized: this {what} {why}; ask the operator for a new one")
        }
    };
    unauthorized(&message, DetailCode::AuthBootstrapTokenInvalid, false)
}

impl<S: Store> Gateway<S> {
    /// Admits the device of `ask`, which presented `secret` as its bootstrap token, and returns the
    /// device token to hand over. A device already paired is admitted as it is, with a fresh token,
    /// when the enrollment is live or it is the one the device redeemed (it lost its `hello-ok`); it
    /// uses nothing up.
    pub(super) fn redeem(
        &mut self,
        by: &Actor,
        mut ask: Ask,
        record: Option<PairedNode>,
        secret: &str,
    ) -> Result<(Admission, Option<Token>), Refusal> {
        let found = self
            .state
            .enrollment_by_secret(&TokenHash::of(secret))
            .cloned();
        let Some(mut e) = found else {
            return Err(ended(None, self.now));
        };
        let device = ask.node_id.clone();
        let status = e.status(self.now);
        if let Some(record) = record {
            let again = status == Status::UsedUp && e.redeemed(&device);
            if status != Status::Active && !again {
                return Err(ended(Some(&e), self.now));
            }
            let token = self.seen(record, true);
            return Ok((Admission::Paired, token));
        }
        if status != Status::Active {
            return Err(ended(Some(&e), self.now));
        }
        if !self.config.pairing_enabled {
            return Err(Refusal(
                ApiError::pairing_disabled(),
                1008,
                "pairing disabled".into(),
            ));
        }
        ask.meta.commands = e.profile.granted(ask.meta.commands.as_deref());
        ask.meta.display_name = e
            .profile
            .name_for(ask.meta.display_name.as_deref(), &device);
        let (id, issuer) = (e.id.clone(), e.issued_by.clone());
        let node = self.approve_now(by, ask, Via::Enrolled(e.kind, &id, &issuer))?;
        e.redeem(&device, node.meta.display_name.clone(), self.now);
        self.state.put_enrollment(e.clone());
        let completed = SetupCompleted {
            setup_id: e.id.clone(),
            kind: e.kind,
            device_id: device.0.clone(),
            device_name: node.meta.display_name.clone(),
            access: e.profile.access().to_owned(),
            uses: e.uses,
            max_uses: e.max_uses,
            ts: self.now,
        };
        self.broadcast(|_, seq| {
            event_frame(
                Event::DevicePairSetupCompleted.as_str(),
                &completed,
                Some(seq),
            )
        });
        let token = self.seen(node, true);
        Ok((Admission::Paired, token))
    }
}

#[cfg(test)]
mod tests;
