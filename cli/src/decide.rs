//! `nodes approve | reject` and `devices approve | reject`: decide a pending request named by its
//! requestId, by the verification code the node shows (`1234-5678`), or by a `--node` query matching
//! exactly one pending request (SPEC §9). If the request already ended, the gateway's `details.reason`
//! says how. Both families decide the same requests of the gateway's one store: `nodes` through
//! `node.pair.*`, `devices` through `device.pair.*` (OpenClaw's `devices` syntax and result shapes).
//!
//! With no argument at all, the one pending request is meant: on a terminal the operator confirms it
//! after seeing its name, IP and code (`--yes` skips the question); without a terminal `--yes` is
//! required. Several pending requests, or none, are refused with exit 1 (the list says which exist).
//!
//! A code comes from the device key, so a request that replaced an earlier one (its caps, commands or
//! key changed) shows the same code the operator may have read before the change. Approving by code,
//! `--node` or no argument therefore approves exactly the request checked here, by its requestId, and
//! when that request replaced another it first says what changed and asks (on a terminal) or refuses
//! (without one) unless `--yes` is given. Approving by requestId is exact and is not asked about.
//! Every approval prints the caps and commands it granted.

use crate::args::ConnArgs;
use crate::client::Client;
use crate::exit::Exit;
use crate::operator;
use crate::prompt::is_yes;
use crate::request::{Request, summary};
use crate::resolve::{Candidate, resolve};
use anyhow::anyhow;
use clap::Args;
use outcome::{explain, print_result};
use pairing_core::Method;
use pairing_core::protocol::params::{DecideParams, NoParams};
use pairing_core::protocol::{DevicePairList, NodeList, NodePairList};
use std::io::IsTerminal;
use target::{Replaced, Sole, Target, named, replaced, sole, target};

mod outcome;
mod target;

/// `nodes approve|reject` / `devices approve|reject`.
#[derive(Debug, Args)]
pub struct Opt {
    /// The verification code shown on the node (1234-5678 or 12345678), the requestId or its short
    /// form (any 6+ character prefix, as tables print it), or the node's name (or its start).
    #[arg(value_name = "REQUEST|CODE")]
    pub target: Option<String>,
    /// Instead: the node (id, IP, name, id prefix ≥ 6) whose single pending request to decide.
    #[arg(long, value_name = "Q", conflicts_with = "target")]
    pub node: Option<String>,
    /// Do not ask: with no request named, decide the only pending request; when approving by code or
    /// --node a request that replaced an earlier one (other caps, commands or key), approve it anyway.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Which decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    /// Approve: the node (device) is paired.
    Approve,
    /// Reject: the request ends; an existing pairing is not touched.
    Reject,
}

impl Verb {
    /// The command word: `approve` or `reject`.
    fn word(self) -> &'static str {
        match self {
            Verb::Approve => "approve",
            Verb::Reject => "reject",
        }
    }
}

/// Which command family decides, and so which methods and result shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// `openclaw nodes …`: `node.pair.list`, `node.pair.approve`, `node.pair.reject`.
    Nodes,
    /// `openclaw devices …`: `device.pair.list`, `device.pair.approve`, `device.pair.reject`.
    Devices,
}

impl Family {
    /// The command word: `nodes` or `devices`.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Family::Nodes => "nodes",
            Family::Devices => "devices",
        }
    }

    fn method(self, verb: Verb) -> Method {
        match (self, verb) {
            (Family::Nodes, Verb::Approve) => Method::NodePairApprove,
            (Family::Nodes, Verb::Reject) => Method::NodePairReject,
            (Family::Devices, Verb::Approve) => Method::DevicePairApprove,
            (Family::Devices, Verb::Reject) => Method::DevicePairReject,
        }
    }

    /// The command that lists pending requests.
    fn list_command(self) -> &'static str {
        match self {
            Family::Nodes => "openclaw nodes pending",
            Family::Devices => "openclaw devices list",
        }
    }

    /// The pending requests, as this family lists them.
    async fn pending(self, c: &mut Client) -> anyhow::Result<Vec<Request>> {
        Ok(match self {
            Family::Nodes => {
                let list: NodePairList = c.call_as(Method::NodePairList, NoParams {}).await?;
                list.pending.iter().map(Request::from_node).collect()
            }
            Family::Devices => {
                let list: DevicePairList = c.call_as(Method::DevicePairList, NoParams {}).await?;
                list.pending.iter().map(Request::from_device).collect()
            }
        })
    }
}

/// Whether a key-proven connection of `node_id` is open now (`node.list`); `false` when unknown.
async fn connected(c: &mut Client, node_id: &str) -> bool {
    match c
        .call_as::<NodeList, _>(Method::NodeList, NoParams {})
        .await
    {
        Ok(list) => list
            .nodes
            .iter()
            .any(|n| n.node_id.as_str() == node_id && n.connected),
        Err(e) => {
            tracing::debug!(
                "node.list failed ({e:#}); the approval message cannot say if it is connected"
            );
            false
        }
    }
}

/// Runs `nodes|devices approve|reject`.
pub(crate) async fn run(opt: Opt, verb: Verb, family: Family) -> anyhow::Result<Exit> {
    let mut t = target(opt.target.as_deref(), opt.node.as_deref(), family)?;
    let mut c = operator::connect(&opt.conn).await?;
    let pending = family.pending(&mut c).await?;
    if let Target::Request(text) = &t {
        t = target::expand(text, &pending, family)?;
    }
    match &t {
        Target::Sole => {
            let tty = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
            let p = match sole(&pending, verb, family, opt.yes, tty)? {
                Sole::Decide(p) => p,
                Sole::Ask(p) => {
                    // Do not hold the connection open while a person thinks.
                    c.close().await;
                    let word = verb.word();
                    let changed = match p.changes() {
                        Some(c) if verb == Verb::Approve => format!("\nCareful: {c}."),
                        _ => String::new(),
                    };
                    let question = format!(
                        "One request is pending: {}.\nIt asks for {}.{changed}\nCompare the code with the \
                         node's screen. {}{} it? [y/N] ",
                        p.line(),
                        p.surface(),
                        word[..1].to_ascii_uppercase(),
                        &word[1..]
                    );
                    if !is_yes(crate::prompt::ask(question).await.as_deref()) {
                        eprintln!(
                            "Not {word}d; request {} is still pending.",
                            pairing_core::format::short_request(&p.request_id)
                        );
                        return Ok(Exit::Failure);
                    }
                    c = operator::connect(&opt.conn).await?;
                    p
                }
            };
            t = Target::Request(p.request_id);
        }
        Target::Node(q) => {
            let candidates: Vec<Candidate> = pending.iter().map(Request::candidate).collect();
            let found = resolve(q, &candidates).map_err(|e| {
                anyhow!(
                    "no single pending request matches: {e:#}; {}",
                    summary(&pending)
                )
            })?;
            let id = found.request_id.clone().unwrap_or_default();
            if verb == Verb::Approve
                && let Some(p) = pending.iter().find(|p| p.request_id == id)
            {
                match confirm_replacement(p, family, opt.yes, c, &opt.conn).await? {
                    Some(next) => c = next,
                    None => return Ok(Exit::Failure),
                }
            }
            t = Target::Request(id);
        }
        Target::Code(code) if verb == Verb::Approve => {
            // Approve exactly the request checked here: by its requestId, so a request that replaces
            // it after this check is not approved in its place (the gateway answers `superseded`).
            // A code several requests show, or none, still goes to the gateway, which says so.
            let shows: Vec<&Request> = pending
                .iter()
                .filter(|p| p.code.as_deref() == Some(code.as_str()))
                .collect();
            if let [p] = shows.as_slice() {
                let p = (*p).clone();
                match confirm_replacement(&p, family, opt.yes, c, &opt.conn).await? {
                    Some(next) => c = next,
                    None => return Ok(Exit::Failure),
                }
                t = Target::Request(p.request_id);
            }
        }
        Target::Request(_) | Target::Code(_) => {}
    }
    let shown = named(&pending, &t).cloned();
    // Whether the node is connected now, before the approval: a node that asked with `node pair`
    // gets its token at once then, and leaves right after (so asking afterwards would say no). A
    // device's protocol-v3 connection waits for approval and is paired in place; a v4 device is
    // refused until approved, so it is not connected now.
    let online = match &shown {
        Some(p) if verb == Verb::Approve => connected(&mut c, &p.node_id).await,
        _ => false,
    };
    let in_place = online
        && shown
            .as_ref()
            .is_some_and(|p| p.by_device_pairing() && !p.is_repair);
    let params = match &t {
        Target::Code(code) => DecideParams::by_code(code),
        Target::Request(id) => DecideParams::by_id(id),
        Target::Node(_) | Target::Sole => unreachable!("resolved to a requestId above"),
    };
    let result = match c.call(family.method(verb), params).await {
        Ok(r) => r,
        Err(e) => return Err(explain(e, family, &pending)),
    };
    c.close().await;
    print_result(
        &opt.conn,
        verb,
        family,
        result,
        shown.as_ref(),
        in_place,
        online,
    )?;
    Ok(Exit::Ok)
}

/// Applies [`replaced`] on this terminal: the connection to go on with, or `None` when the person did
/// not confirm (the request stays pending, as said on stderr). The connection is closed while the
/// person thinks and opened again after.
async fn confirm_replacement(
    p: &Request,
    family: Family,
    yes: bool,
    c: Client,
    conn: &ConnArgs,
) -> anyhow::Result<Option<Client>> {
    let tty = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let Replaced::Ask(question) = replaced(p, family, yes, tty)? else {
        return Ok(Some(c));
    };
    c.close().await;
    if !is_yes(crate::prompt::ask(question).await.as_deref()) {
        eprintln!(
            "Not approved; request {} is still pending.",
            pairing_core::format::short_request(&p.request_id)
        );
        return Ok(None);
    }
    Ok(Some(operator::connect(conn).await?))
}

#[cfg(test)]
mod tests;
