//! Gathering the facts the diagnosis reads: the operator's view of the gateway, this machine's files
//! and the node connection's answer. Failures become facts, not errors.

use crate::args::ConnArgs;
use crate::client::read;
use crate::client::{Client, NotTheGateway, Role, TokenRefused};
use crate::endpoint::{self, Sources};
use crate::identity;
use crate::trail::Line;
use pairing_core::Method;
use pairing_core::protocol::params::{NoParams, VerifyParams};
use pairing_core::protocol::{
    NodeEntry, NodeList, NodePairList, NodePaired, NodePending, NodeVerified,
};

/// What the operator connection gave.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Operator {
    /// Connected: `node.pair.list`'s `pending` and `paired`, and `node.list`'s `nodes`.
    Lists {
        /// Pending requests.
        pending: Vec<NodePending>,
        /// Paired nodes.
        paired: Vec<NodePaired>,
        /// Known nodes (paired or connected).
        nodes: Vec<NodeEntry>,
    },
    /// No operator token to present (so pending requests cannot be seen).
    NoToken(String),
    /// The gateway refused the operator token.
    WrongToken(String),
    /// The gateway could not be reached.
    Unreachable(String),
}

/// Everything the diagnosis reads.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Facts {
    /// The gateway URL asked.
    pub url: String,
    /// This machine's node (`None` with `--node`).
    pub local: Option<Local>,
    /// The `--node` query, if any.
    pub query: Option<String>,
    /// The operator's view.
    pub operator: Operator,
    /// The audit trail in this machine's state, oldest first; `None` when there is none here (this is
    /// not the gateway host).
    pub trail: Option<Vec<Line>>,
}

/// This machine's files and the node connection's answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Local {
    /// The device id from device.json, if it exists.
    pub device_id: Option<String>,
    /// The node id token.json names, if it exists.
    pub token_node_id: Option<String>,
    /// The URL token.json remembers.
    pub token_url: Option<String>,
    /// `node.pair.verify` with the stored token: `Some(ok)`, or `None` when not asked or unanswered.
    pub verified: Option<bool>,
}

/// Asks the gateway as operator; failures become facts, not errors.
pub(super) async fn operator_view(
    conn: &ConnArgs,
    remembered: Option<String>,
) -> (String, Operator) {
    let mut src = match Sources::gather(conn) {
        Ok(s) => s,
        Err(e) => return (String::new(), Operator::Unreachable(format!("{e:#}"))),
    };
    src.remembered_url = remembered;
    let ep = match endpoint::resolve_operator(&src) {
        Ok(ep) => ep,
        Err(e) => {
            let url = endpoint::resolve_url(&src)
                .map(|u| u.url)
                .unwrap_or_default();
            return (url, Operator::NoToken(format!("{e:#}")));
        }
    };
    let url = ep.url.url.clone();
    let token = ep.token.as_deref().unwrap_or_default();
    let mut c = match Client::connect(&ep.url, Role::Operator { token }, conn.timeout).await {
        Ok(c) => c,
        Err(e) => {
            let text = format!("{e:#}");
            // Something answered with a challenge but proved no knowledge of this token: most likely
            // the gateway, and a token that is not (or no longer) its own. Or the gateway refused it.
            let unproven = matches!(
                e.downcast_ref::<NotTheGateway>(),
                Some(NotTheGateway::Unproven(_) | NotTheGateway::Rotated(_))
            );
            let refused = e.downcast_ref::<TokenRefused>().is_some();
            return if unproven || refused {
                (url, Operator::WrongToken(text))
            } else {
                (url, Operator::Unreachable(text))
            };
        }
    };
    let lists = async {
        let list: NodePairList = c.call_as(Method::NodePairList, NoParams {}).await?;
        let nodes: NodeList = c.call_as(Method::NodeList, NoParams {}).await?;
        anyhow::Ok(Operator::Lists {
            pending: list.pending,
            paired: list.paired,
            nodes: nodes.nodes,
        })
    }
    .await;
    c.close().await;
    let view = lists.unwrap_or_else(|e| Operator::Unreachable(format!("{e:#}")));
    (url, view)
}

/// Reads this machine's files and asks `node.pair.verify` with the stored token.
pub(super) async fn local_view(conn: &ConnArgs) -> anyhow::Result<Local> {
    let state = pairing_host::paths::state_dir();
    let id = identity::load(&identity::identity_path(&state))?;
    let token = identity::load_token(&state)?;
    let mut local = Local {
        device_id: id.as_ref().map(|i| i.device_id.clone()),
        token_node_id: token.as_ref().map(|t| t.node_id.clone()),
        token_url: token.as_ref().map(|t| t.url.clone()),
        verified: None,
    };
    if let (Some(id), Some(token)) = (&id, &token)
        && token.node_id.eq_ignore_ascii_case(&id.device_id)
    {
        let mut src = Sources::gather(&ConnArgs {
            token: None,
            ..conn.clone()
        })?;
        src.remembered_url = Some(token.url.clone());
        let url = endpoint::resolve_url(&src)?;
        let name = token
            .display_name
            .clone()
            .unwrap_or_else(identity::hostname);
        let role = Role::Node {
            identity: id,
            display_name: &name,
        };
        if let Ok(mut c) = Client::connect(&url, role, conn.timeout).await {
            let r = c
                .call(
                    Method::NodePairVerify,
                    VerifyParams {
                        node_id: id.device_id.clone(),
                        token: token.token.clone(),
                    },
                )
                .await;
            c.close().await;
            local.verified = r.ok().map(|v| read::<NodeVerified>(&v).is_ok_and(|v| v.ok));
        }
    }
    Ok(local)
}
