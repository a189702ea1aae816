//! The gateway's TLS certificate as the core sees it: the host owns the files and the handshake; the
//! core knows the served certificate's fingerprint ([`crate::Config::tls_fingerprint`]) and audits
//! its replacement, so `openclaw nodes audit` shows when pinned clients had to be given a new one.

use crate::audit::{Action, Actor};
use crate::gateway::Gateway;
use crate::ids::NodeId;
use crate::store::Store;

/// The node id of audit entries about the certificate (no node's id is empty).
pub const AUDIT_NODE_ID: &str = "";

impl<S: Store> Gateway<S> {
    /// Audits that the generated TLS certificate was replaced by one whose SHA-256 is `fingerprint`
    /// (64 hex digits); durable at the next [`Gateway::commit`]. Decided by the gateway's owner on
    /// its machine, so the actor is the gateway.
    pub fn audit_tls_cert_renewed(&mut self, fingerprint: &str) {
        let label = format!("TLS certificate sha256:{fingerprint}");
        self.audit(
            &Actor::Gateway,
            Action::TlsCertRenewed,
            None,
            &NodeId(AUDIT_NODE_ID.to_owned()),
            None,
            Some(&label),
        );
    }
}

#[cfg(test)]
mod tests;
