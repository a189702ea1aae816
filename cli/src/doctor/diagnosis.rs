//! Reading the facts ([`diagnose`], a pure function): the [`Cause`], what was found, and the command
//! to type next. Every cause is unit-tested without a gateway.

use super::gather::{Facts, Operator};
use super::history::{approved_without_key, last_end};
use crate::render::bare_ip;
use crate::resolve::{Candidate, resolve};
use crate::trail::{Line, match_node};
use pairing_core::format::expires_in;
use pairing_core::ids::NodeId;
use pairing_core::protocol::{NodeEntry, NodePaired, NodePending};

/// Why a node is or is not paired: one cause per diagnosis, printed as a stable word for scripts
/// ([`Cause::as_str`], the `cause` of `--json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cause {
    /// Paired (exit 0).
    Paired,
    /// A request from the node is pending.
    Pending,
    /// No request is pending, and nothing tells how the last one ended.
    NoRequest,
    /// `--node`: the node is connected but not paired, and nothing tells why.
    NotPaired,
    /// This machine has no node identity.
    NoIdentity,
    /// The stored token is for another node, or the gateway does not accept it.
    TokenMismatch,
    /// The gateway has the node paired but this machine holds no token.
    TokenMissing,
    /// The node was removed (its token no longer verifies).
    Removed,
    /// The gateway did not answer `node.pair.verify`.
    Unverified,
    /// The last request expired.
    Expired,
    /// The last request was rejected.
    Rejected,
    /// The last request was superseded by a newer one.
    Superseded,
    /// The gateway cannot be reached.
    GatewayUnreachable,
    /// The gateway refused the operator token.
    WrongOperatorToken,
}

impl Cause {
    /// The stable word scripts read: `paired`, `pending`, `no-request`, `token-mismatch`, ….
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Cause::Paired => "paired",
            Cause::Pending => "pending",
            Cause::NoRequest => "no-request",
            Cause::NotPaired => "not-paired",
            Cause::NoIdentity => "no-identity",
            Cause::TokenMismatch => "token-mismatch",
            Cause::TokenMissing => "token-missing",
            Cause::Removed => "removed",
            Cause::Unverified => "unverified",
            Cause::Expired => "expired",
            Cause::Rejected => "rejected",
            Cause::Superseded => "superseded",
            Cause::GatewayUnreachable => "gateway-unreachable",
            Cause::WrongOperatorToken => "wrong-operator-token",
        }
    }
}

/// The cause found, the explanation and the next command.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Diagnosis {
    /// The cause.
    pub cause: Cause,
    /// Whether the node is paired (exit 0).
    pub paired: bool,
    /// What was found, one line each.
    pub lines: Vec<String>,
    /// The command to type next, if any.
    pub next: Option<String>,
}

/// Where to look when this machine holds no audit trail.
fn no_trail(node: &str) -> String {
    format!(
        "this machine has no audit trail (it is not the gateway host): `openclaw nodes audit --node {node}` \
         there tells whether its last request expired, was rejected or was superseded"
    )
}

/// The diagnosis of a node that is neither paired nor pending, from the trail when there is one.
fn ended_diag(
    trail: Option<&Vec<Line>>,
    node: Option<&str>,
    shown: &str,
    mut lines: Vec<String>,
    now: u64,
    pair: &str,
) -> Diagnosis {
    let Some(trail) = trail else {
        lines.push(no_trail(shown));
        return diag(Cause::NoRequest, false, lines, Some(pair.to_owned()));
    };
    match node.and_then(|id| last_end(trail, id, now)) {
        Some(end) => {
            lines.push(end.line);
            diag(end.cause, false, lines, Some(format!("{pair}{}", end.hint)))
        }
        None => {
            lines.push(
                "the audit trail on this machine has no entry for this node: it never asked this gateway"
                    .into(),
            );
            diag(Cause::NoRequest, false, lines, Some(pair.to_owned()))
        }
    }
}

fn diag(cause: Cause, paired: bool, lines: Vec<String>, next: Option<String>) -> Diagnosis {
    Diagnosis {
        cause,
        paired,
        lines,
        next,
    }
}

fn pending_line(p: &NodePending, now: u64) -> String {
    let mut l = format!(
        "a pairing request is pending: {} ({}), code {}, request {}",
        p.name(),
        bare_ip(p.remote_ip.as_deref()),
        p.verification_code,
        pairing_core::format::short_request(p.request_id.as_str())
    );
    l.push_str(&format!(", {}", expires_in(p.expires_at_ms, now)));
    if p.is_repair {
        l.push_str(" (re-pair: the node's token rotates)");
    }
    l
}

fn approve_next(p: &NodePending) -> Option<String> {
    Some(format!(
        "openclaw nodes approve {}   # on the gateway host, after comparing the code with the node's screen",
        p.verification_code
    ))
}

/// Reads the facts: why the node is or is not paired, and what to type next.
pub(super) fn diagnose(f: &Facts, now: u64) -> Diagnosis {
    let pair = format!("openclaw node pair --url {}", f.url);
    let (pending, paired, nodes) = match &f.operator {
        Operator::Unreachable(e) => {
            // A node that verified cannot have hit an unreachable gateway, so this is the whole story.
            return diag(
                Cause::GatewayUnreachable,
                false,
                vec![format!("the gateway at {} cannot be reached: {e}", f.url)],
                Some(format!(
                    "openclaw gateway   # start it on the gateway host, or pass --url (tried {})",
                    f.url
                )),
            );
        }
        Operator::WrongToken(e) if f.local.as_ref().and_then(|l| l.verified).is_none() => {
            return diag(
                Cause::WrongOperatorToken,
                false,
                vec![format!("the gateway refused the operator token: {e}")],
                Some(
                    "openclaw doctor --token TOKEN   # the token is in <state>/openclaw.json on the gateway host"
                        .into(),
                ),
            );
        }
        Operator::Lists {
            pending,
            paired,
            nodes,
        } => (Some(pending), Some(paired), Some(nodes)),
        Operator::WrongToken(_) | Operator::NoToken(_) => (None, None, None),
    };
    if let Some(q) = &f.query {
        return diagnose_query(q, pending, paired, nodes, f.trail.as_ref(), now, &pair);
    }
    let local = f.local.clone().unwrap_or_default();
    let Some(device) = &local.device_id else {
        return diag(
            Cause::NoIdentity,
            false,
            vec!["this machine has no node identity yet (no identity/device.json): it never asked to pair".into()],
            Some(pair),
        );
    };
    let mine = |id: &NodeId| id.as_str().eq_ignore_ascii_case(device);
    let my_pending = pending.and_then(|p| p.iter().find(|p| mine(&p.node_id)));
    let my_paired = paired.and_then(|p| p.iter().find(|p| mine(&p.node_id)));
    let mut lines = vec![format!("this machine is node {device}")];
    if let Some(tok) = &local.token_node_id
        && !tok.eq_ignore_ascii_case(device)
    {
        lines.push(format!(
            "node/token.json belongs to node {tok}, not to this device: the identity was replaced after pairing"
        ));
        return diag(Cause::TokenMismatch, false, lines, Some(pair));
    }
    match (local.token_node_id.is_some(), local.verified) {
        (true, Some(true)) => {
            lines.push(format!(
                "paired: the gateway at {} accepts this node's token",
                f.url
            ));
            if let Some(p) = my_pending {
                lines.push(pending_line(p, now));
            }
            return diag(
                Cause::Paired,
                true,
                lines,
                Some("openclaw node connect".into()),
            );
        }
        (true, Some(false)) if my_paired.is_some() => {
            lines.push(
                "the gateway has this node paired but does not accept the stored token: it was \
                 re-paired elsewhere or the token file is stale"
                    .into(),
            );
            lines.extend(approved_without_key(f.trail.as_ref(), device, now));
            return diag(Cause::TokenMismatch, false, lines, Some(pair));
        }
        _ => {}
    }
    if let Some(p) = my_pending {
        lines.push(pending_line(p, now));
        return diag(Cause::Pending, false, lines, approve_next(p));
    }
    if my_paired.is_some() {
        lines.push(
            "the gateway has this node paired, but this machine holds no token for it (node/token.json is \
             missing): pair again to get a new one"
                .into(),
        );
        lines.extend(approved_without_key(f.trail.as_ref(), device, now));
        return diag(Cause::TokenMissing, false, lines, Some(pair));
    }
    if let Operator::NoToken(e) | Operator::WrongToken(e) = &f.operator {
        lines.push(format!(
            "without the operator's view ({e}) pending requests cannot be seen"
        ));
    }
    match (local.token_node_id.is_some(), local.verified) {
        (true, Some(false)) => {
            lines.push(format!(
                "not paired: this machine holds a token from {}, but the gateway no longer accepts it — \
                 the node was removed (or the gateway's state was reset)",
                local.token_url.as_deref().unwrap_or(&f.url)
            ));
            if let Some(end) = f
                .trail
                .as_deref()
                .and_then(|t| last_end(t, device, now))
                .filter(|e| e.cause == Cause::Removed)
            {
                lines.push(end.line);
            }
            diag(Cause::Removed, false, lines, Some(pair))
        }
        (true, None) => {
            lines.push(
                "this machine holds a token, but the gateway did not answer node.pair.verify"
                    .into(),
            );
            diag(
                Cause::Unverified,
                false,
                lines,
                Some("openclaw node verify".into()),
            )
        }
        _ => {
            lines.push("not paired, and no request from this node is pending".into());
            ended_diag(f.trail.as_ref(), Some(device), device, lines, now, &pair)
        }
    }
}

fn diagnose_query(
    q: &str,
    pending: Option<&Vec<NodePending>>,
    paired: Option<&Vec<NodePaired>>,
    nodes: Option<&Vec<NodeEntry>>,
    trail: Option<&Vec<Line>>,
    now: u64,
    pair: &str,
) -> Diagnosis {
    let pair_there = format!("{pair}   # on the node");
    let (Some(pending), Some(paired), Some(nodes)) = (pending, paired, nodes) else {
        return diag(
            Cause::WrongOperatorToken,
            false,
            vec![format!(
                "--node {q} needs the operator's view of the gateway, which was refused"
            )],
            Some("openclaw doctor --token TOKEN --node Q".into()),
        );
    };
    let candidates: Vec<Candidate> = pending.iter().map(Candidate::from_pending).collect();
    if let Ok(c) = resolve(q, &candidates)
        && let Some(p) = pending
            .iter()
            .find(|p| p.request_id.as_str() == c.request_id.as_deref().unwrap_or(""))
    {
        return diag(
            Cause::Pending,
            false,
            vec![pending_line(p, now)],
            approve_next(p),
        );
    }
    // node.list already lists the paired nodes; add only those it lacks, so none is counted twice.
    let mut candidates: Vec<Candidate> = nodes.iter().map(Candidate::from_entry).collect();
    for p in paired {
        if !nodes.iter().any(|n| n.node_id == *p.node_id) {
            candidates.push(Candidate::from_paired(p));
        }
    }
    match resolve(q, &candidates) {
        Ok(c) => {
            let is_paired = paired.iter().any(|p| p.node_id.as_str() == c.node_id);
            let connected = c.connected;
            let label = c
                .display_name
                .clone()
                .unwrap_or_else(|| pairing_core::format::short_id(&c.node_id).to_owned());
            if is_paired {
                diag(
                    Cause::Paired,
                    true,
                    vec![format!(
                        "{label} ({}) is paired{}; whether the node still holds a valid token can be checked \
                         on the node with `openclaw doctor`",
                        pairing_core::format::short_id(&c.node_id),
                        if connected { " and connected" } else { "" }
                    )],
                    Some("openclaw doctor   # on the node itself".into()),
                )
            } else {
                let mut d = ended_diag(
                    trail,
                    Some(&c.node_id),
                    q,
                    vec![format!(
                        "{label} ({}) is connected but not paired, and has no pending request",
                        pairing_core::format::short_id(&c.node_id)
                    )],
                    now,
                    &pair_there,
                );
                if d.cause == Cause::NoRequest {
                    d.cause = Cause::NotPaired;
                }
                d
            }
        }
        Err(e) => {
            let lines = vec![format!(
                "no paired node, connected node or pending request matches: {e:#}"
            )];
            // Not live: the trail may still know the node, under any name it had.
            let known = trail.and_then(|t| match_node(q, t).ok());
            let mut d = ended_diag(
                trail,
                known.as_ref().map(|(id, _)| id.as_str()),
                q,
                lines,
                now,
                &pair_there,
            );
            if let Some((id, label)) = &known {
                d.lines[0] = format!("{label} ({id}) is not paired, not pending and not connected");
            } else if trail.is_some() {
                d.lines[1] = format!(
                    "the audit trail on this machine has no node matching {q} either: it never asked this gateway"
                );
            }
            d
        }
    }
}

#[cfg(test)]
mod tests;
