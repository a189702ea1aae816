//! A pending request as an operator names and checks it before deciding: one summary read from either
//! list — `node.pair.list` (`nodes approve`) or `device.pair.list` (`devices approve`), which show the
//! same requests of the gateway's one store in two shapes.

use crate::render::{bare_ip, scope_list};
use crate::resolve::{Candidate, present};
use pairing_core::Supersedes;
use pairing_core::format::node_label as label;
use pairing_core::protocol::{DevicePending, NodePending};

/// What the decision commands need to know about one pending request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Request {
    /// The request id.
    pub request_id: String,
    /// The node (device) asking.
    pub node_id: String,
    /// The name it gave.
    pub display_name: Option<String>,
    /// The address it asked from.
    pub remote_ip: Option<String>,
    /// The verification code it shows (`1234-5678`).
    pub code: Option<String>,
    /// Whether it is paired already (approval re-pairs it).
    pub is_repair: bool,
    /// Scopes an operator needs to approve it.
    pub required_scopes: Vec<String>,
    /// `client.id` of the connect that made it, present only when device pairing made the request at
    /// `connect` (an OpenClaw node host or app): no token then goes to the device by mail; it gets
    /// one in `hello-ok` when it connects.
    pub client_id: Option<String>,
    /// Capabilities it declared: what approval grants.
    pub caps: Vec<String>,
    /// Commands it declared: what approval grants.
    pub commands: Vec<String>,
    /// The request it replaced, with what that one showed, when its caps, commands or key changed.
    pub supersedes: Option<Supersedes>,
}

/// `caps: a, b; commands: c, d` — what approving grants, in one phrase.
pub(crate) fn surface(caps: &[String], commands: &[String]) -> String {
    let list = |l: &[String]| {
        if l.is_empty() {
            "none".to_owned()
        } else {
            l.join(", ")
        }
    };
    format!("caps: {}; commands: {}", list(caps), list(commands))
}

impl Request {
    /// Reads a pending request of `node.pair.list` (the shape `nodes pending --json` prints).
    pub(crate) fn from_node(p: &NodePending) -> Request {
        Request {
            request_id: p.request_id.as_str().to_owned(),
            node_id: p.node_id.as_str().to_owned(),
            display_name: present(p.meta.display_name.as_deref()),
            remote_ip: present(p.remote_ip.as_deref()),
            code: present(Some(&p.verification_code)),
            is_repair: p.is_repair,
            required_scopes: p
                .required_approve_scopes
                .iter()
                .map(|s| s.to_string())
                .collect(),
            client_id: present(p.client_id.as_deref()),
            caps: p.meta.caps.clone().unwrap_or_default(),
            commands: p.meta.commands.clone().unwrap_or_default(),
            supersedes: p.supersedes.as_deref().cloned(),
        }
    }

    /// Reads a pending request of `device.pair.list`.
    pub(crate) fn from_device(p: &DevicePending) -> Request {
        Request {
            request_id: p.request_id.clone(),
            node_id: p.device_id.clone(),
            display_name: p.display_name.clone(),
            remote_ip: p.remote_ip.clone(),
            code: Some(p.verification_code.clone()).filter(|c| !c.is_empty()),
            is_repair: p.is_repair,
            required_scopes: p.required_approve_scopes.clone(),
            client_id: p.client_id.clone(),
            caps: p.caps.clone(),
            commands: p.commands.clone(),
            supersedes: p.supersedes.clone(),
        }
    }

    /// What approving it grants, in one phrase (see [`surface`]).
    pub(crate) fn surface(&self) -> String {
        surface(&self.caps, &self.commands)
    }

    /// When it replaced an earlier request: which one, and what changed since (`it replaced request r1
    /// (commands added: system.run)`); `None` when it replaced nothing.
    pub(crate) fn changes(&self) -> Option<String> {
        let s = self.supersedes.as_ref()?;
        Some(format!(
            "it replaced request {} ({})",
            pairing_core::format::short_request(&s.request_id.0),
            self.changed()?
        ))
    }

    /// What changed since the request it replaced, in one phrase (`commands added: system.run`).
    pub(crate) fn changed(&self) -> Option<String> {
        let s = self.supersedes.as_ref()?;
        let diff = |word: &str, was: &[String], now: &[String]| {
            let added: Vec<&str> = now
                .iter()
                .filter(|c| !was.contains(c))
                .map(String::as_str)
                .collect();
            let removed: Vec<&str> = was
                .iter()
                .filter(|c| !now.contains(c))
                .map(String::as_str)
                .collect();
            let mut out = vec![];
            if !added.is_empty() {
                out.push(format!("{word} added: {}", added.join(", ")));
            }
            if !removed.is_empty() {
                out.push(format!("{word} removed: {}", removed.join(", ")));
            }
            out
        };
        let mut parts = diff("commands", &s.commands, &self.commands);
        parts.extend(diff("caps", &s.caps, &self.caps));
        if s.key_changed {
            parts.push("the device key changed".to_owned());
        }
        if parts.is_empty() {
            parts.push("caps and commands as before".to_owned());
        }
        Some(parts.join("; "))
    }

    /// Its name, else its short id.
    pub(crate) fn label(&self) -> String {
        label(self.display_name.as_deref(), &self.node_id)
    }

    /// Its code, or `-`.
    pub(crate) fn code(&self) -> &str {
        self.code.as_deref().unwrap_or("-")
    }

    /// Whether device pairing made it at `connect` (see [`Request::client_id`]).
    pub(crate) fn by_device_pairing(&self) -> bool {
        self.client_id.is_some()
    }

    /// The request as the operator should check it: name, IP, code, and markers.
    pub(crate) fn line(&self) -> String {
        let mut line = format!(
            "{} ({}), code {}, request {}",
            self.label(),
            bare_ip(self.remote_ip.as_deref()),
            self.code(),
            pairing_core::format::short_request(&self.request_id)
        );
        if self.is_repair {
            line.push_str(", re-pair: the node's token rotates");
        }
        if !self.required_scopes.is_empty() {
            line.push_str(&format!(
                ", needs scopes {}",
                scope_list(&self.required_scopes)
            ));
        }
        line
    }

    /// The request as a `--node` candidate.
    pub(crate) fn candidate(&self) -> Candidate {
        Candidate {
            node_id: self.node_id.clone(),
            display_name: self.display_name.clone(),
            remote_ip: self.remote_ip.clone(),
            client_id: self.client_id.clone(),
            connected: false,
            request_id: Some(self.request_id.clone()),
        }
    }
}

/// One line naming the pending requests, for errors that need the operator to pick again.
pub(crate) fn summary(pending: &[Request]) -> String {
    if pending.is_empty() {
        return "no requests are pending".to_owned();
    }
    let items: Vec<String> = pending
        .iter()
        .map(|p| {
            format!(
                "{} (code {}, {})",
                pairing_core::format::short_request(&p.request_id),
                p.code(),
                p.label()
            )
        })
        .collect();
    format!("pending now: {}", items.join(", "))
}

#[cfg(test)]
mod tests;
