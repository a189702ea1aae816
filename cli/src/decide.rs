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
use crate::client::{Client, GatewayError};
use crate::exit::Exit;
use crate::operator;
use crate::prompt::is_yes;
use crate::render::{label, text};
use crate::request::{Request, summary, surface};
use crate::resolve::{Candidate, resolve};
use anyhow::{anyhow, bail};
use clap::Args;
use pairing_core::protocol::DevicePairList;
use pairing_core::protocol::{DeviceApproved, DeviceRejected};
use serde_json::{Value, json};
use std::io::IsTerminal;

/// `nodes approve|reject` / `devices approve|reject`.
#[derive(Debug, Args)]
pub struct Opt {
    /// The requestId, or the verification code shown on the node (1234-5678 or 12345678).
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
pub enum Verb {
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
pub enum Family {
    /// `openclaw nodes …`: `node.pair.list`, `node.pair.approve`, `node.pair.reject`.
    Nodes,
    /// `openclaw devices …`: `device.pair.list`, `device.pair.approve`, `device.pair.reject`.
    Devices,
}

impl Family {
    /// The command word: `nodes` or `devices`.
    pub fn word(self) -> &'static str {
        match self {
            Family::Nodes => "nodes",
            Family::Devices => "devices",
        }
    }

    fn method(self, verb: Verb) -> &'static str {
        match (self, verb) {
            (Family::Nodes, Verb::Approve) => "node.pair.approve",
            (Family::Nodes, Verb::Reject) => "node.pair.reject",
            (Family::Devices, Verb::Approve) => "device.pair.approve",
            (Family::Devices, Verb::Reject) => "device.pair.reject",
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
                let list = c.call("node.pair.list", json!({})).await?;
                list["pending"]
                    .as_array()
                    .map(|a| a.iter().map(Request::from_node_json).collect())
                    .unwrap_or_default()
            }
            Family::Devices => {
                let list: DevicePairList =
                    serde_json::from_value(c.call("device.pair.list", json!({})).await?)?;
                list.pending.iter().map(Request::from_device).collect()
            }
        })
    }
}

/// What the operator named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A requestId.
    Request(String),
    /// A verification code, normalised to `1234-5678`.
    Code(String),
    /// A `--node` query.
    Node(String),
    /// Nothing named: the only pending request, if there is exactly one.
    Sole,
}

/// Reads the positional argument or `--node`.
pub fn target(
    positional: Option<&str>,
    node: Option<&str>,
    family: Family,
) -> anyhow::Result<Target> {
    match (positional.map(str::trim), node.map(str::trim)) {
        (Some(t), None) if !t.is_empty() => Ok(match pairing_core::code::parse_code(t) {
            Some(code) => Target::Code(code),
            None => Target::Request(t.to_owned()),
        }),
        (None, Some(q)) if !q.is_empty() => Ok(Target::Node(q.to_owned())),
        (Some(_), Some(_)) => bail!("give a requestId or code, or --node, not both"),
        (None, None) => Ok(Target::Sole),
        _ => bail!(
            "say which request: its requestId, the verification code shown on the node (1234-5678), or \
             --node Q (see `{}`)",
            family.list_command()
        ),
    }
}

/// What to do when no request was named.
#[derive(Clone, Debug, PartialEq)]
pub enum Sole {
    /// Decide this request without asking (`--yes`).
    Decide(Request),
    /// Ask the person at the terminal about this request first.
    Ask(Request),
}

/// Picks the only pending request, or refuses: none, several (listed), or no terminal and no `--yes`.
pub fn sole(
    pending: &[Request],
    verb: Verb,
    family: Family,
    yes: bool,
    tty: bool,
) -> anyhow::Result<Sole> {
    let (word, fam) = (verb.word(), family.word());
    match pending {
        [] => bail!(
            "no pairing requests are pending, so there is nothing to {word} (a node asks with `openclaw node \
             pair`, an OpenClaw node host by connecting; see `{}`)",
            family.list_command()
        ),
        [p] if yes => Ok(Sole::Decide(p.clone())),
        [p] if tty => Ok(Sole::Ask(p.clone())),
        [p] => bail!(
            "one request is pending ({}), but stdin is not a terminal to confirm it: pass --yes to {word} \
             it, or name it by its code or requestId (`openclaw {fam} {word} CODE`)",
            p.line()
        ),
        many => bail!(
            "{} requests are pending; name the one to {word} by its code or requestId (`openclaw {fam} \
             {word} CODE`): {}",
            many.len(),
            many.iter()
                .map(|p| format!("{} ({}, code {})", p.request_id, p.label(), p.code()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The pending request the operator named, as listed before the call (for the message afterwards).
fn named<'a>(pending: &'a [Request], t: &Target) -> Option<&'a Request> {
    pending.iter().find(|p| match t {
        Target::Request(id) => &p.request_id == id,
        Target::Code(code) => p.code.as_deref() == Some(code.as_str()),
        Target::Node(_) | Target::Sole => false,
    })
}

/// Whether a key-proven connection of `node_id` is open now (`node.list`); `false` when unknown.
async fn connected(c: &mut Client, node_id: &str) -> bool {
    match c.call("node.list", json!({})).await {
        Ok(list) => list["nodes"].as_array().is_some_and(|nodes| {
            nodes
                .iter()
                .any(|n| text(n, "nodeId") == node_id && n["connected"].as_bool() == Some(true))
        }),
        Err(e) => {
            tracing::debug!(
                "node.list failed ({e:#}); the approval message cannot say if it is connected"
            );
            false
        }
    }
}

/// How an approved node gets what it needs to connect as paired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handover {
    /// Device pairing made the request at `connect`; no token goes by mail. `in_place`: a protocol-v3
    /// connection of it was waiting and is paired in place.
    Device {
        /// Its waiting connection was upgraded in place.
        in_place: bool,
    },
    /// A node's own `node.pair.request`: the gateway sends it the token over its key-proven connection
    /// — at once when `online`, else when it next connects within the delivery window.
    Mail {
        /// A connection of the node was open at approval.
        online: bool,
    },
    /// An operator made the request: the token is in the result, for the operator to hand over.
    Operator,
}

/// The line printed after an approval.
pub fn approved_line(request_id: &str, label: &str, node_id: &str, how: Handover) -> String {
    let head = format!("Approved request {request_id}: {label} ({node_id})");
    match how {
        Handover::Device { in_place: true } => format!(
            "{head} is paired in place on its open connection (no reconnect needed); it gets its device \
             token when it next connects."
        ),
        Handover::Device { in_place: false } => {
            format!("{head} is paired; it gets its device token when it (re)connects.")
        }
        Handover::Mail { online: true } => format!(
            "{head} is paired; the node receives its new token now, over its open connection."
        ),
        Handover::Mail { online: false } => format!(
            "{head} is paired. The node is not connected: it receives its new token when it reconnects \
             within {} of now (`openclaw node pair` keeps retrying); after that it must pair again.",
            delivery_window()
        ),
        Handover::Operator => format!(
            "{head} is paired. This request was made by an operator, so the gateway returned the node's \
             token in the result; it is printed only with --json."
        ),
    }
}

/// The line after an approval saying what it granted: `Granted caps: system; commands: system.run.`
pub fn granted_line(caps: &[String], commands: &[String]) -> String {
    format!("Granted {}.", surface(caps, commands))
}

/// The gateway's token delivery window in words (`10 minutes`).
fn delivery_window() -> String {
    let ms = pairing_core::config::TOKEN_DELIVERY_WINDOW_MS;
    match ms / 60_000 {
        0 => format!("{} seconds", ms / 1000),
        1 => "1 minute".to_owned(),
        m => format!("{m} minutes"),
    }
}

/// Runs `nodes|devices approve|reject`.
pub async fn run(opt: Opt, verb: Verb, family: Family) -> anyhow::Result<Exit> {
    let mut t = target(opt.target.as_deref(), opt.node.as_deref(), family)?;
    let mut c = operator::connect(&opt.conn).await?;
    let pending = family.pending(&mut c).await?;
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
                        eprintln!("Not {word}d; request {} is still pending.", p.request_id);
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
        Target::Code(code) => json!({ "code": code }),
        Target::Request(id) => json!({ "requestId": id }),
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

/// What to do about approving, by code or `--node`, a request that replaced an earlier one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replaced {
    /// It replaced nothing, or `--yes` was given: approve.
    Go,
    /// Ask the person at the terminal this question first.
    Ask(String),
}

/// Whether approving `p` named by code or name (not by requestId) needs a confirmation: it does when `p`
/// replaced an earlier request, whose code it shows too. Without a terminal (and without `--yes`) the
/// approval is refused, saying what changed and how to approve exactly what was read.
pub fn replaced(p: &Request, family: Family, yes: bool, tty: bool) -> anyhow::Result<Replaced> {
    let Some(changes) = p.changes() else {
        return Ok(Replaced::Go);
    };
    if yes {
        return Ok(Replaced::Go);
    }
    let fam = family.word();
    if !tty {
        bail!(
            "request {} of {} (code {}) changed after it was first listed: {changes}; it asks for {}. \
             Check it with `{}` and approve it by requestId (`openclaw {fam} approve {}`), or pass --yes",
            p.request_id,
            p.label(),
            p.code(),
            p.surface(),
            family.list_command(),
            p.request_id
        );
    }
    Ok(Replaced::Ask(format!(
        "This request changed after it was first listed: {}.\nCareful: {changes}.\nIt asks for {}.\n\
         Approve it? [y/N] ",
        p.line(),
        p.surface()
    )))
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
        eprintln!("Not approved; request {} is still pending.", p.request_id);
        return Ok(None);
    }
    Ok(Some(operator::connect(conn).await?))
}

/// Adds what the operator can do next to a refusal, decided by `details.reason`.
fn explain(e: anyhow::Error, family: Family, pending: &[Request]) -> anyhow::Error {
    match e
        .downcast_ref::<GatewayError>()
        .and_then(GatewayError::reason)
    {
        // An id or code that matches nothing: show what is pending, so the operator can pick again.
        Some("unknown") => anyhow!("{e}; {}", summary(pending)),
        // Replaced (its caps, commands or key changed): the newer request is not approved in its place.
        Some("superseded") => anyhow!(
            "{e}; the node changed its request: check the new one with `{}` before approving it",
            family.list_command()
        ),
        Some("not-a-device") if family == Family::Devices => {
            anyhow!("{e} (decide it with `openclaw nodes approve` or `openclaw nodes reject`)")
        }
        _ => e,
    }
}

/// Prints the result: the gateway's JSON (typed for `devices`) or one line.
fn print_result(
    conn: &ConnArgs,
    verb: Verb,
    family: Family,
    result: Value,
    shown: Option<&Request>,
    in_place: bool,
    online: bool,
) -> anyhow::Result<()> {
    let device_made = |fallback: bool| shown.map_or(fallback, Request::by_device_pairing);
    let how = |device: bool, operator: bool| {
        if device {
            Handover::Device { in_place }
        } else if operator {
            Handover::Operator
        } else {
            Handover::Mail { online }
        }
    };
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let line = match (family, verb) {
        (Family::Nodes, _) if conn.json => result.to_string(),
        (Family::Nodes, Verb::Approve) => {
            let node = &result["node"];
            let device = device_made(node.get("clientId").is_some());
            let line = approved_line(
                text(&result, "requestId"),
                &crate::render::node_label(node),
                text(node, "nodeId"),
                how(device, node.get("token").is_some()),
            );
            format!(
                "{line}\n{}",
                granted_line(&strings(&node["caps"]), &strings(&node["commands"]))
            )
        }
        (Family::Nodes, Verb::Reject) => format!(
            "Rejected request {} (node {}).",
            text(&result, "requestId"),
            text(&result, "nodeId")
        ),
        (Family::Devices, Verb::Approve) => {
            let r: DeviceApproved = serde_json::from_value(result)?;
            if conn.json {
                serde_json::to_string(&r)?
            } else {
                let d = &r.device;
                let line = approved_line(
                    &r.request_id,
                    &label(d.display_name.as_deref(), &d.device_id),
                    &d.device_id,
                    how(device_made(d.client_id.is_some()), false),
                );
                format!("{line}\n{}", granted_line(&d.caps, &d.commands))
            }
        }
        (Family::Devices, Verb::Reject) => {
            let r: DeviceRejected = serde_json::from_value(result)?;
            if conn.json {
                serde_json::to_string(&r)?
            } else {
                let name = shown.map_or_else(|| r.device_id.clone(), Request::label);
                format!(
                    "Rejected request {} of {name} (device {}).",
                    r.request_id, r.device_id
                )
            }
        }
    };
    println!("{line}");
    Ok(())
}

#[cfg(test)]
mod tests;
