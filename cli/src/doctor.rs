//! `openclaw doctor [--node Q]`: explains why a node is not paired, from the gateway's answers
//! (`node.pair.list`, `node.list`, and `node.pair.verify` with the stored token) and this machine's
//! files (`<state>/identity/device.json`, `<state>/node/token.json`), and prints the next command.
//!
//! Without `--node` it looks at this machine's node; with `--node Q` at the node or pending request Q
//! names. Gathering the facts is separate from reading them ([`diagnose`], a pure function), so every
//! cause is unit-tested without a gateway. Which way an ended request ended (expired, rejected,
//! superseded) needs the audit trail, which does not exist yet: the output says so when it matters.

use crate::args::ConnArgs;
use crate::client::{Client, Role};
use crate::endpoint::{self, Sources};
use crate::exit::Exit;
use crate::identity::{self, now_ms};
use crate::render::{expires_in, ip, node_label, text};
use crate::resolve::{Candidate, resolve};
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

const NO_HISTORY: &str = "whether an earlier request expired, was rejected or was superseded cannot be told \
    yet: that needs the audit trail (issue 8), which does not exist yet";

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
        return diagnose_query(q, pending, paired, nodes, now, &pair);
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
            lines.push(NO_HISTORY.into());
            diag("no-request", false, lines, Some(pair))
        }
    }
}

fn diagnose_query(
    q: &str,
    pending: Option<&Vec<Value>>,
    paired: Option<&Vec<Value>>,
    nodes: Option<&Vec<Value>>,
    now: u64,
    pair: &str,
) -> Diagnosis {
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
                diag(
                    "not-paired",
                    false,
                    vec![
                        format!(
                            "{label} ({}) is connected but not paired, and has no pending request",
                            c.node_id
                        ),
                        NO_HISTORY.into(),
                    ],
                    Some(format!("{pair}   # on the node")),
                )
            }
        }
        Err(e) => diag(
            "no-request",
            false,
            vec![
                format!("no paired node, connected node or pending request matches: {e:#}"),
                "never asked, or removed, or its request ended".into(),
                NO_HISTORY.into(),
            ],
            Some(format!("{pair}   # on the node")),
        ),
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
            return if text.contains("refused the token") {
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
            .unwrap_or_else(crate::node::hostname);
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
    let facts = Facts {
        url,
        local,
        query: opt.node.clone(),
        operator,
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
mod tests {
    use super::*;

    const DEV: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const URL: &str = "ws://127.0.0.1:18789/";

    fn lists(pending: Vec<Value>, paired: Vec<Value>) -> Operator {
        Operator::Lists {
            nodes: paired.clone(),
            pending,
            paired,
        }
    }

    fn local(token: bool, verified: Option<bool>) -> Option<Local> {
        Some(Local {
            device_id: Some(DEV.into()),
            token_node_id: token.then(|| DEV.into()),
            token_url: token.then(|| URL.into()),
            verified,
        })
    }

    fn facts(local: Option<Local>, operator: Operator) -> Facts {
        Facts {
            url: URL.into(),
            local,
            query: None,
            operator,
        }
    }

    fn req() -> Value {
        json!({"requestId": "r1", "nodeId": DEV, "displayName": "pi", "remoteIp": "10.0.0.2",
               "verificationCode": "1234-5678", "expiresAtMs": 1_000_000 + 180_000})
    }

    fn paired() -> Value {
        json!({"nodeId": DEV, "displayName": "pi"})
    }

    fn cause(f: &Facts) -> Diagnosis {
        diagnose(f, 1_000_000)
    }

    #[test]
    fn each_cause_is_told_with_its_next_command() {
        let d = cause(&facts(
            local(false, None),
            Operator::Unreachable("refused".into()),
        ));
        assert_eq!(d.cause, "gateway-unreachable");
        assert!(d.next.unwrap().starts_with("openclaw gateway"));

        let d = cause(&facts(
            local(false, None),
            Operator::WrongToken("no".into()),
        ));
        assert_eq!(d.cause, "wrong-operator-token");
        assert!(d.next.unwrap().contains("--token"));

        let d = cause(&facts(Some(Local::default()), lists(vec![], vec![])));
        assert_eq!(d.cause, "no-identity");

        let d = cause(&facts(local(false, None), lists(vec![], vec![])));
        assert_eq!(d.cause, "no-request");
        assert!(d.lines.iter().any(|l| l.contains("audit trail")), "{d:?}");
        assert_eq!(
            d.next.as_deref(),
            Some("openclaw node pair --url ws://127.0.0.1:18789/")
        );

        let d = cause(&facts(local(false, None), lists(vec![req()], vec![])));
        assert_eq!(d.cause, "pending");
        let all = d.lines.join("\n");
        assert!(
            all.contains("code 1234-5678") && all.contains("expires in 3m"),
            "{all}"
        );
        assert!(
            d.next
                .unwrap()
                .starts_with("openclaw nodes approve 1234-5678")
        );

        let d = cause(&facts(
            local(true, Some(true)),
            lists(vec![], vec![paired()]),
        ));
        assert_eq!((d.cause, d.paired), ("paired", true));

        let d = cause(&facts(
            local(true, Some(false)),
            lists(vec![], vec![paired()]),
        ));
        assert_eq!(d.cause, "token-mismatch");
        assert!(d.next.unwrap().starts_with("openclaw node pair"));

        let d = cause(&facts(local(true, Some(false)), lists(vec![], vec![])));
        assert_eq!(d.cause, "removed");

        let d = cause(&facts(local(false, None), lists(vec![], vec![paired()])));
        assert_eq!(d.cause, "token-missing");

        let mut other = local(true, None).unwrap();
        other.token_node_id = Some("bbbb".into());
        let d = cause(&facts(Some(other), lists(vec![], vec![])));
        assert_eq!(d.cause, "token-mismatch");
    }

    #[test]
    fn a_verified_node_needs_no_operator_token() {
        let d = cause(&facts(
            local(true, Some(true)),
            Operator::NoToken("no gateway token".into()),
        ));
        assert_eq!((d.cause, d.paired), ("paired", true));
        let d = cause(&facts(
            local(true, Some(false)),
            Operator::NoToken("no gateway token".into()),
        ));
        assert_eq!(d.cause, "removed");
        assert!(
            d.lines.iter().any(|l| l.contains("cannot be seen")),
            "{d:?}"
        );
    }

    #[test]
    fn a_named_node_is_found_among_pending_and_paired() {
        let mut f = facts(None, lists(vec![req()], vec![]));
        f.query = Some("pi".into());
        assert_eq!(cause(&f).cause, "pending");
        f.operator = lists(vec![], vec![paired()]);
        assert_eq!(cause(&f).cause, "paired");
        f.query = Some("nobody".into());
        let d = cause(&f);
        assert_eq!(d.cause, "no-request");
        assert!(d.lines.iter().any(|l| l.contains("audit trail")));
    }
}
