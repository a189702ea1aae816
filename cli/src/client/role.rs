//! Who a client connects as, and the `connect` params that says so.

use super::OPERATOR_SCOPES;
use crate::identity::Identity;
use pairing_core::protocol::{ClientInfo, ConnectParams};

/// Who this client connects as.
pub(crate) enum Role<'a> {
    /// An operator (`client.id` "cli", mode "cli") presenting the gateway token.
    Operator {
        /// The gateway token.
        token: &'a str,
    },
    /// A node proving its device key.
    Node {
        /// The node's identity.
        identity: &'a Identity,
        /// `client.displayName`.
        display_name: &'a str,
    },
    /// A node redeeming a setup code or enrollment key (protocol 4, `auth.bootstrapToken`).
    Enrolling {
        /// The node's identity.
        identity: &'a Identity,
        /// `client.displayName`.
        display_name: &'a str,
        /// The setup code's bootstrap token.
        secret: &'a str,
    },
}

/// The `client` block every connection sends.
fn client_info(id: &str, mode: &str) -> ClientInfo {
    ClientInfo::new(id, mode, env!("CARGO_PKG_VERSION"), std::env::consts::OS)
}

/// The `connect` params for `role`, signing the challenge nonce for a node.
pub(super) fn connect_params(role: &Role<'_>, nonce: &str) -> ConnectParams {
    match role {
        Role::Operator { token } => {
            ConnectParams::operator(token, client_info("cli", "cli"), &OPERATOR_SCOPES)
        }
        Role::Node {
            identity,
            display_name,
        } => ConnectParams::node(
            client_info(crate::identity::NODE_CLIENT_ID, "node").named(display_name),
            identity.prove(nonce, std::env::consts::OS),
        ),
        Role::Enrolling {
            identity,
            display_name,
            secret,
        } => ConnectParams::node(
            client_info(crate::identity::NODE_CLIENT_ID, "node").named(display_name),
            identity.prove_with(nonce, std::env::consts::OS, secret),
        )
        .protocol(4)
        .with_bootstrap_token(secret),
    }
}
