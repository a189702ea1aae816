//! `openclaw doctor [--node Q]`: explains why a node is not paired, from the gateway's answers
//! (`node.pair.list`, `node.list`, and `node.pair.verify` with the stored token) and this machine's
//! files (`<state>/identity/device.json`, `<state>/node/token.json`), and prints the next command.
//!
//! Without `--node` it looks at this machine's node; with `--node Q` at the node or pending request Q
//! names. Gathering the facts is separate from reading them ([`diagnose`], a pure function), so every
//! cause is unit-tested without a gateway. When the node is neither paired nor pending, the audit trail
//! in this machine's state (`<state>/nodes/audit*.jsonl`, present on the gateway host) tells how its
//! last request or pairing ended — expired, rejected, superseded by another key, removed — and when; on
//! a machine without the trail the output says where to look.

use crate::args::ConnArgs;
use crate::client::{Client, Role};
use crate::endpoint::{self, Sources};
use crate::exit::Exit;
use crate::identity::{self, now_ms};
use crate::render::{ago, expires_in, ip, node_label, text};
use crate::resolve::{Candidate, resolve};
use crate::trail::{Line, match_node, short_request};
use clap::Args;
use serde_json::{Value, json};

/// Examples, shown at the end of `openclaw doctor --help`.
pub const AFTER_HELP: &str = concat!(
    "Examples:\n",
    "  openclaw doctor                       # on the node: why is this machine not paired?\n",
    "  openclaw doctor --node kitchen-pi     # on the gateway host: why is that node not paired?\n",
    "  openclaw doctor --json | jq .cause\n\n",
    "Exit codes: 0 when the node is paired (and, for this machine, its token verifies), else 1."
);

/// `openclaw doctor`.
#[derive(Debug, Args)]
pub struct Opt {
    /// Diagnose this node (id, IP, display name, id prefix ≥ 6) instead of this machine's node.
    #[arg(long, value_name = "Q")]
    pub node: Option<String>,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// What the operator connection gave.
#[derive(Clone, Debug, PartialEq)]
pub enum Operator {
    /// Connected: `node.pair.list`'s `pending` and `paired`, and `node.list`'s `nodes`.
    Lists {
        /// Pending requests.
        pending: Vec<Value>,
        /// Paired nodes.
        paired: Vec<Value>,
        /// Known nodes (paired or connected).
        nodes: Vec<Value>,
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
pub struct Facts {
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
pub struct Local {
    /// The device id from device.json, if it exists.
    pub device_id: Option<String>,
    /// The node id token.json names, if it exists.
    pub token_node_id: Option<String>,
    /// The URL token.json remembers.
    pub token_url: Option<String>,
    /// `node.pair.verify` with the stored token: `Some(ok)`, or `None` when not asked or unanswered.
    pub verified: Option<bool>,
}

/// The cause found, the explanation and the next command.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnosis {
    /// A stable word for scripts: `paired`, `pending`, `no-request`, `token-mismatch`, ….
    pub cause: &'static str,
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

/// How a node's last request or pairing ended, as the audit trail tells it.
#[derive(Clone, Debug, PartialEq)]
pub struct Ended {
    /// `expired`, `rejected`, `superseded`, `removed`, or `no-request` (the trail does not explain it).
    pub cause: &'static str,
    /// What happened, and when.
    pub line: String,
    /// A note after the pairing command.
    pub hint: &'static str,
}

/// A key fingerprint, shortened for a sentence: `SHA256:abcdefgh…`.
fn short_key(fp: &str) -> String {
    let mut s: String = fp.chars().take(15).collect();
    if fp.chars().count() > 15 {
        s.push('…');
    }
    s
}

/// When the trail shows that the node's current pairing came from a request bound to no device key (an
/// operator asked for this node id): the token went to that operator's connection, never to the node.
fn approved_without_key(trail: Option<&Vec<Line>>, node_id: &str, now: u64) -> Option<String> {
    let last = trail?
        .iter()
        .rev()
        .find(|l| l.entry.node_id.eq_ignore_ascii_case(node_id) && l.entry.action == "approved")?;
    if last.entry.json.get("keyFingerprint").is_some() {
        return None;
    }
    Some(format!(
        "its pairing was approved {} by {} for a request an operator made for this node id (bound to no \
         device key): that token went to the operator, not to this machine",
        ago(last.entry.ts, now),
        last.entry.actor_text()
    ))
}

/// Reads the trail's latest entry about `node_id` (renames aside): how its last request or pairing
/// ended. `None` when the trail has no entry for it.
pub fn last_end(lines: &[Line], node_id: &str, now: u64) -> Option<Ended> {
    let mine: Vec<&Line> = lines
        .iter()
        .filter(|l| l.entry.node_id.eq_ignore_ascii_case(node_id) && l.entry.action != "renamed")
        .collect();
    let (i, last) = mine.iter().enumerate().next_back()?;
    let e = &last.entry;
    let when = ago(e.ts, now);
    let rid = short_request(e.request_id.as_deref());
    let key = |l: &Line| l.entry.json["keyFingerprint"].as_str().map(str::to_owned);
    let ended = |cause, line, hint| Some(Ended { cause, line, hint });
    match e.action.as_str() {
        "expired" => ended(
            "expired",
            format!("its last request ({rid}) expired {when}: nobody approved it in time"),
            "   # then approve it on the gateway host before it expires",
        ),
        "rejected" => ended(
            "rejected",
            format!(
                "its last request ({rid}) was rejected {when} by {}",
                e.actor_text()
            ),
            "   # only if the rejection was a mistake: ask the operator first",
        ),
        "superseded" => {
            // The request that took its place: the next one for this node, from the same or another key.
            let newer = lines
                .iter()
                .filter(|l| l.entry.node_id == e.node_id && l.entry.action == "requested")
                .find(|l| l.entry.seq > e.seq);
            let by = match (newer.and_then(&key), key(last)) {
                (Some(new), Some(old)) if new != old => format!(
                    " by a newer request from another key ({} instead of {})",
                    short_key(&new),
                    short_key(&old)
                ),
                _ => " by a newer request".to_owned(),
            };
            ended(
                "superseded",
                format!("its last request ({rid}) was superseded {when}{by}"),
                "   # from the device that should be this node; the other key's request took its place",
            )
        }
        "removed" => ended(
            "removed",
            format!("it was removed {when} by {}", e.actor_text()),
            "",
        ),
        "approved" => ended(
            "no-request",
            format!(
                "it was approved {when} (request {rid}), but the gateway no longer has it paired \
                 (was its state reset?)"
            ),
            "",
        ),
        _ => {
            let asked = mine[..=i]
                .iter()
                .rev()
                .find(|l| l.entry.action == "requested")
                .map_or_else(String::new, |l| format!(" ({})", ago(l.entry.ts, now)));
            ended(
                "no-request",
                format!(
                    "its last request ({rid}){asked} is no longer pending, and the audit trail has no \
                     decision for it yet"
                ),
                "",
            )
        }
    }
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
        return diag("no-request", false, lines, Some(pair.to_owned()));
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
            diag("no-request", false, lines, Some(pair.to_owned()))
        }
    }
}

fn diag(cause: &'static str, paired: bool, lines: Vec<String>, next: Option<String>) -> Diagnosis {
    Diagnosis {
        cause,
        paired,
        lines,
        next,
    }
}

fn pending_line(p: &Value, now: u64) -> String {
    let mut l = format!(
        "a pairing request is pending: {} ({}), code {}, request {}",
        node_label(p),
        ip(p),
        p["verificationCode"].as_str().unwrap_or("-"),
        text(p, "requestId")
    );
    if let Some(at) = p["expiresAtMs"].as_u64() {
        l.push_str(&format!(", {}", expires_in(at, now)));
    }
    if p["isRepair"].as_bool() == Some(true) {
        l.push_str(" (re-pair: the node's token rotates)");
    }
    l
}

fn approve_next(p: &Value) -> Option<String> {
    Some(format!(
        "openclaw nodes approve {}   # on the gateway host, after comparing the code with the node's screen",
        p["verificationCode"]
            .as_str()
            .unwrap_or(text(p, "requestId"))
    ))
}

/// Reads the facts: why the node is or is not paired, and what to type next.
pub fn diagnose(f: &Facts, now: u64) -> Diagnosis {
    let pair = format!("openclaw node pair --url {}", f.url);
    let (pending, paired, nodes) = match &f.operator {
        Operator::Unreachable(e) => {
            // A node that verified cannot have hit an unreachable gateway, so this is the whole story.
            return diag(
                "gateway-unreachable",
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
                "wrong-operator-token",
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
            "no-identity",
            false,
            vec!["this machine has no node identity yet (no identity/device.json): it never asked to pair".into()],
            Some(pair),
        );
    };
    let mine = |v: &&Value| text(v, "nodeId").eq_ignore_ascii_case(device);
    let my_pending = pending.and_then(|p| p.iter().find(mine));
    let my_paired = paired.and_then(|p| p.iter().find(mine));
    let mut lines = vec![format!("this machine is node {device}")];
    if let Some(tok) = &local.token_node_id
        && !tok.eq_ignore_ascii_case(device)
    {
        lines.push(format!(
            "node/token.json belongs to node {tok}, not to this device: the identity was replaced after pairing"
        ));
        return diag("token-mismatch", false, lines, Some(pair));
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
            return diag("paired", true, lines, Some("openclaw node connect".into()));
        }
        (true, Some(false)) if my_paired.is_some() => {
            lines.push(
                "the gateway has this node paired but does not accept the stored token: it was \
                 re-paired elsewhere or the token file is stale"
                    .into(),
            );
            lines.extend(approved_without_key(f.trail.as_ref(), device, now));
            return diag("token-mismatch", false, lines, Some(pair));
        }
        _ => {}
    }
    if let Some(p) = my_pending {
        lines.push(pending_line(p, now));
        return diag("pending", false, lines, approve_next(p));
    }
    if my_paired.is_some() {
        lines.push(
            "the gateway has this node paired, but this machine holds no token for it (node/token.json is \
             missing): pair again to get a new one"
                .into(),
        );
        lines.extend(approved_without_key(f.trail.as_ref(), device, now));
        return diag("token-missing", false, lines, Some(pair));
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
                .filter(|e| e.cause == "removed")
            {
                lines.push(end.line);
            }
            diag("removed", false, lines, Some(pair))
        }
        (true, None) => {
            lines.push(
                "this machine holds a token, but the gateway did not answer node.pair.verify"
                    .into(),
            );
            diag(
                "unverified",
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
    pending: Option<&Vec<Value>>,
    paired: Option<&Vec<Value>>,
    nodes: Option<&Vec<Value>>,
    trail: Option<&Vec<Line>>,
    now: u64,
    pair: &str,
) -> Diagnosis {
    let pair_there = format!("{pair}   # on the node");
    let (Some(pending), Some(paired), Some(nodes)) = (pending, paired, nodes) else {
        return diag(
            "wrong-operator-token",
            false,
            vec![format!(
                "--node {q} needs the operator's view of the gateway, which was refused"
            )],
            Some("openclaw doctor --token TOKEN --node Q".into()),
        );
    };
    let candidates: Vec<Candidate> = pending.iter().map(Candidate::from_json).collect();
    if let Ok(c) = resolve(q, &candidates)
        && let Some(p) = pending
            .iter()
            .find(|p| text(p, "requestId") == c.request_id.as_deref().unwrap_or(""))
    {
        return diag(
            "pending",
            false,
            vec![pending_line(p, now)],
            approve_next(p),
        );
    }
    // node.list already lists the paired nodes; add only those it lacks, so none is counted twice.
    let mut known: Vec<&Value> = nodes.iter().collect();
    for p in paired {
        if !nodes.iter().any(|n| text(n, "nodeId") == text(p, "nodeId")) {
            known.push(p);
        }
    }
    let candidates: Vec<Candidate> = known.iter().map(|v| Candidate::from_json(v)).collect();
    match resolve(q, &candidates) {
        Ok(c) => {
            let is_paired = paired.iter().any(|p| text(p, "nodeId") == c.node_id);
            let connected = c.connected;
            let label = c.display_name.clone().unwrap_or_else(|| c.node_id.clone());
            if is_paired {
                diag(
                    "paired",
                    true,
                    vec![format!(
                        "{label} ({}) is paired{}; whether the node still holds a valid token can be checked \
                         on the node with `openclaw doctor`",
                        c.node_id,
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
                        c.node_id
                    )],
                    now,
                    &pair_there,
                );
                if d.cause == "no-request" {
                    d.cause = "not-paired";
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

/// Asks the gateway as operator; failures become facts, not errors.
async fn operator_view(conn: &ConnArgs, remembered: Option<String>) -> (String, Operator) {
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
            // the gateway, and a token that is not (or no longer) its own.
            let unproven = matches!(
                e.downcast_ref::<crate::client::NotTheGateway>(),
                Some(
                    crate::client::NotTheGateway::Unproven(_)
                        | crate::client::NotTheGateway::Rotated(_)
                )
            );
            return if unproven || text.contains("refused the token") {
                (url, Operator::WrongToken(text))
            } else {
                (url, Operator::Unreachable(text))
            };
        }
    };
    let lists = async {
        let list = c.call("node.pair.list", json!({})).await?;
        let nodes = c.call("node.list", json!({})).await?;
        let arr = |v: &Value| v.as_array().cloned().unwrap_or_default();
        anyhow::Ok(Operator::Lists {
            pending: arr(&list["pending"]),
            paired: arr(&list["paired"]),
            nodes: arr(&nodes["nodes"]),
        })
    }
    .await;
    c.close().await;
    let view = lists.unwrap_or_else(|e| Operator::Unreachable(format!("{e:#}")));
    (url, view)
}

/// Reads this machine's files and asks `node.pair.verify` with the stored token.
async fn local_view(conn: &ConnArgs) -> anyhow::Result<Local> {
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
                    "node.pair.verify",
                    json!({ "nodeId": id.device_id, "token": token.token }),
                )
                .await;
            c.close().await;
            local.verified = r.ok().map(|v| v["ok"].as_bool() == Some(true));
        }
    }
    Ok(local)
}

/// Runs `openclaw doctor`.
pub async fn run(opt: Opt) -> anyhow::Result<Exit> {
    let local = match &opt.node {
        Some(_) => None,
        None => Some(local_view(&opt.conn).await?),
    };
    let remembered = local.as_ref().and_then(|l| l.token_url.clone());
    let (url, operator) = operator_view(&opt.conn, remembered).await;
    let trail = crate::trail::read_trail(&crate::trail::audit_dir())
        .ok()
        .filter(|t| !t.files.is_empty())
        .map(|t| t.lines);
    let facts = Facts {
        url,
        local,
        query: opt.node.clone(),
        operator,
        trail,
    };
    let d = diagnose(&facts, now_ms());
    if opt.conn.json {
        println!(
            "{}",
            json!({ "cause": d.cause, "paired": d.paired, "findings": d.lines, "next": d.next })
        );
    } else {
        for l in d.lines.iter().filter(|l| !l.is_empty()) {
            println!("- {l}");
        }
        if let Some(n) = &d.next {
            println!("\nNext: {n}");
        }
    }
    Ok(if d.paired { Exit::Ok } else { Exit::Failure })
}

#[cfg(test)]
mod tests;
