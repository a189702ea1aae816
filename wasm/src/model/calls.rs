//! What a person can do on the page — approve, reject, rename, remove — and the calls in flight, so
//! each response is understood and each button knows whether its call awaits an answer.

use super::{Conn, PageModel};
use pairing_core::method::Method;
use pairing_core::protocol::{DecideParams, NodePaired, NodeRef, RenameParams};

/// Why an action could not even be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActionError {
    /// The page is not connected right now.
    NotConnected,
    /// The page does not know that request or node (any more).
    Unknown,
    /// A rename to an empty name.
    EmptyName,
    /// A blank token.
    EmptyToken,
}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ActionError::NotConnected => {
                "Not connected to the gateway right now; try again once it reconnects."
            }
            ActionError::Unknown => "That is no longer on the list.",
            ActionError::EmptyName => "A name cannot be empty.",
            ActionError::EmptyToken => "Enter the gateway token.",
        })
    }
}

impl std::error::Error for ActionError {}

/// What an outstanding request was for, so its response can be understood.
#[derive(Clone, Debug)]
pub(super) enum Call {
    Connect,
    PairList,
    NodeList,
    Approve { request_id: String, name: String },
    Reject { request_id: String, name: String },
    Rename { node_id: String, name: String },
    Remove { node_id: String, name: String },
}

impl Call {
    /// The person's action, for "Could not approve Kitchen iPad: …".
    pub(super) fn action(&self) -> Option<String> {
        Some(match self {
            Call::Approve { name, .. } => format!("approve {name}"),
            Call::Reject { name, .. } => format!("reject {name}"),
            Call::Rename { name, .. } => format!("rename {name}"),
            Call::Remove { name, .. } => format!("remove {name}"),
            _ => return None,
        })
    }

    /// The action's noun-like verb, for "the approve may not have happened".
    pub(super) fn verb(&self) -> Option<&'static str> {
        Some(match self {
            Call::Approve { .. } => "approve",
            Call::Reject { .. } => "reject",
            Call::Rename { .. } => "rename",
            Call::Remove { .. } => "remove",
            _ => return None,
        })
    }
}

impl PageModel {
    fn connected(&self) -> Result<(), ActionError> {
        if self.conn == Conn::Connected {
            Ok(())
        } else {
            Err(ActionError::NotConnected)
        }
    }

    fn decide(&mut self, request_id: &str, approve: bool) -> Result<String, ActionError> {
        self.connected()?;
        let p = self.pending.get(request_id).ok_or(ActionError::Unknown)?;
        let (request_id, name) = (p.request_id.as_str().to_owned(), p.name());
        let params = DecideParams::by_id(&request_id);
        Ok(if approve {
            self.send(
                Method::NodePairApprove.as_str(),
                &params,
                Call::Approve { request_id, name },
            )
        } else {
            self.send(
                Method::NodePairReject.as_str(),
                &params,
                Call::Reject { request_id, name },
            )
        })
    }

    /// An action that could not be sent becomes the current error too.
    fn noted(&mut self, r: Result<String, ActionError>) -> Result<String, ActionError> {
        if let Err(e) = &r {
            self.error = e.to_string();
        }
        r
    }

    /// The frame approving a pending request.
    pub fn approve(&mut self, request_id: &str) -> Result<String, ActionError> {
        let r = self.decide(request_id, true);
        self.noted(r)
    }

    /// The frame rejecting a pending request.
    pub fn reject(&mut self, request_id: &str) -> Result<String, ActionError> {
        let r = self.decide(request_id, false);
        self.noted(r)
    }

    /// The frame renaming a paired node.
    pub fn rename(&mut self, node_id: &str, display_name: &str) -> Result<String, ActionError> {
        let r = self.rename_frame(node_id, display_name);
        self.noted(r)
    }

    /// The frame removing a paired node (the page asks for confirmation first).
    pub fn remove(&mut self, node_id: &str) -> Result<String, ActionError> {
        let r = self.remove_frame(node_id);
        self.noted(r)
    }

    /// Whether an approve or reject of this request awaits its answer.
    pub fn request_busy(&self, request_id: &str) -> bool {
        self.in_flight(|c| {
            matches!(c, Call::Approve { request_id: r, .. } | Call::Reject { request_id: r, .. } if r == request_id)
        })
    }

    /// Whether a rename or removal of this node awaits its answer.
    pub fn node_busy(&self, node_id: &str) -> bool {
        self.in_flight(|c| {
            matches!(c, Call::Rename { node_id: n, .. } | Call::Remove { node_id: n, .. } if n == node_id)
        })
    }

    fn rename_frame(&mut self, node_id: &str, display_name: &str) -> Result<String, ActionError> {
        self.connected()?;
        let display_name = display_name.trim();
        if display_name.is_empty() {
            return Err(ActionError::EmptyName);
        }
        let node = self.paired.get(node_id).ok_or(ActionError::Unknown)?;
        let name = self.display_name(node);
        let params = RenameParams {
            node_id: node_id.to_owned(),
            display_name: display_name.to_owned(),
        };
        Ok(self.send(
            Method::NodeRename.as_str(),
            &params,
            Call::Rename {
                node_id: node_id.to_owned(),
                name,
            },
        ))
    }

    fn remove_frame(&mut self, node_id: &str) -> Result<String, ActionError> {
        self.connected()?;
        let node = self.paired.get(node_id).ok_or(ActionError::Unknown)?;
        let name = self.display_name(node);
        let params = NodeRef {
            node_id: node_id.to_owned(),
        };
        Ok(self.send(
            Method::NodePairRemove.as_str(),
            &params,
            Call::Remove {
                node_id: node_id.to_owned(),
                name,
            },
        ))
    }

    /// The name shown for a paired node: `node.list`'s (which has an operator's rename applied and the
    /// node's latest own name otherwise), else the paired record's.
    pub(crate) fn display_name(&self, node: &NodePaired) -> String {
        match self.live.get(node.node_id.as_str()) {
            Some(l) if l.meta.display_name.is_some() => l.name(),
            _ => node.name(),
        }
    }
}
