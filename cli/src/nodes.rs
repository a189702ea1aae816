//! `openclaw nodes …`: the operator's commands — list, inspect, rename and remove nodes. Approve and
//! reject live in [`crate::decide`], `watch` in [`crate::watch`], `audit` in [`crate::audit`].

use crate::args::ConnArgs;
use crate::client::{Client, Role};
use crate::decide::{Family, Verb};
use crate::endpoint::{self, Sources};
use crate::exit::Exit;
use crate::identity::now_ms;
use crate::render::{
    Table, ago, approved, client_of, ip, last_seen, node_label, pending_table, short_id, text,
};
use crate::resolve::{Candidate, resolve};
use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// `openclaw nodes`.
#[derive(Debug, Args)]
pub struct Opt {
    /// What to do as an operator.
    #[command(subcommand)]
    pub command: NodesCommand,
}

/// The `nodes` subcommands.
#[derive(Debug, Subcommand)]
pub enum NodesCommand {
    /// List pending pairing requests with their verification codes.
    #[command(
        after_help = "Examples:\n  openclaw nodes pending\n  openclaw nodes pending --json | jq '.[].verificationCode'"
    )]
    Pending(ConnOnly),
    /// Approve a pending request by requestId, verification code, or --node (none: the only one).
    #[command(
        long_about = "Approve a pending pairing request. Name it by the verification code the node shows \
            (compare it with the node's screen first), by its requestId, or with --node when exactly one \
            pending request matches. With no argument, the only pending request is meant: on a terminal \
            you are shown its name, IP and code and asked to confirm (--yes skips the question; without a \
            terminal --yes is required); when several are pending they are listed and nothing is done. \
            If the request already ended, the error says how (expired, superseded, approved, rejected). \
            The code comes from the node's key, so a request re-sent with other caps or commands shows \
            the same code: approving such a request by code or --node first says what changed \
            (`commands added: system.run`) and asks, or without a terminal refuses unless --yes is \
            given; approving by requestId is exact. The caps and commands granted are printed. \
            Approval issues the node a new token: a node that asked with `openclaw node pair` receives \
            it at once if it is connected, else when it reconnects within 10 minutes, a device that asked by connecting (an OpenClaw node host or app) gets it when it \
            (re)connects, and a protocol-v3 connection waiting for the approval is paired in place.",
        after_help = "Examples:\n  openclaw nodes approve 1234-5678\n  \
            openclaw nodes approve 6f1c0c2e-8a8e-4f0e-9a55-2b8d3c1e7a10\n  \
            openclaw nodes approve --node kitchen-pi\n  \
            openclaw nodes approve              # the only pending request, after a y/N question\n  \
            openclaw nodes approve --yes        # the same, without asking (scripts)"
    )]
    Approve(crate::decide::Opt),
    /// Reject a pending request by requestId, verification code, or --node.
    #[command(
        long_about = "Reject a pending pairing request, named like for approve (no argument: \
            the only pending request, confirmed on a terminal or with --yes). The node's `openclaw node \
            pair` exits with code 2; an existing pairing of that node is not touched.",
        after_help = "Examples:\n  openclaw nodes reject 1234-5678\n  openclaw nodes reject --node 192.168.1.23\n  \
            openclaw nodes reject --yes   # the only pending request"
    )]
    Reject(crate::decide::Opt),
    /// Show known nodes (paired and connected) from node.list.
    #[command(after_help = "Examples:\n  openclaw nodes status\n  openclaw nodes status --json")]
    Status(ConnOnly),
    /// Show pending requests and paired nodes from node.pair.list.
    #[command(
        after_help = "Examples:\n  openclaw nodes list\n  openclaw nodes list --json   # {pending, paired}"
    )]
    List(ConnOnly),
    /// Show everything the gateway knows about one node.
    #[command(
        after_help = "Examples:\n  openclaw nodes describe --node kitchen-pi\n  openclaw nodes describe --node 192.168.1.23 --json"
    )]
    Describe(NodeQuery),
    /// Give a node a display name (kept across re-pairing).
    #[command(
        after_help = "Example:\n  openclaw nodes rename --node 192.168.1.23 --name \"Living Room iPad\""
    )]
    Rename(RenameOpt),
    /// Unpair a node; its token stops verifying at once.
    #[command(after_help = "Example:\n  openclaw nodes remove --node kitchen-pi")]
    Remove(NodeQuery),
    /// Stream pairing events; optionally auto-approve silent requests after an SSH check.
    #[command(
        long_about = "Stream pairing events (requested, approved, rejected, expired, superseded, removed) \
            until Ctrl-C, reconnecting when the connection drops. With --auto-approve-silent --ssh HOST, \
            a request marked silent is approved only when it proves it comes from the node on HOST: the \
            watcher runs `openclaw node identity --json` there (`ssh -o BatchMode=yes -o ConnectTimeout=5 \
            -o StrictHostKeyChecking=yes HOST …`, as the current user) and the device key it prints must \
            be the request's own key. A request without a key (made by an operator), with another key, \
            a re-pair, or a failed SSH call is left for a person, and the watcher prints why (on a \
            terminal it asks: approve, reject or later).\n\n\
            At connect (and after a reconnect) the requests already pending come first, each once: a \
            `pending` line, or with --json {\"type\":\"sync\",\"event\":\"node.pair.pending\",\
            \"payload\":REQUEST} with the request as `nodes pending --json` shows it. Then one line per \
            live event; with --json the gateway's event frame {\"type\":\"event\",\"event\":\
            \"node.pair.requested\"|\"node.pair.resolved\",\"payload\":…,\"seq\":N}.",
        after_help = "Examples:\n  openclaw nodes watch\n  openclaw nodes watch --json | jq .event\n  \
            openclaw nodes watch --json | jq -c 'select(.event == \"node.pair.pending\" or .event == \"node.pair.requested\") | .payload.verificationCode'\n  \
            openclaw nodes watch --auto-approve-silent --ssh gateway.local"
    )]
    Watch(crate::watch::Opt),
    /// Show the audit trail of pairing decisions from this machine's files, or verify its hash chain.
    #[command(long_about = crate::audit::LONG_ABOUT, after_help = crate::audit::AFTER_HELP)]
    Audit(crate::audit::Opt),
}

/// Only the connection flags.
#[derive(Debug, Args)]
pub struct ConnOnly {
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `--node Q` plus the connection flags.
#[derive(Debug, Args)]
pub struct NodeQuery {
    /// The node: id, IP, display name, or an id prefix of at least 6 characters.
    #[arg(long, value_name = "Q")]
    pub node: String,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `nodes rename`.
#[derive(Debug, Args)]
pub struct RenameOpt {
    /// The node: id, IP, display name, or an id prefix of at least 6 characters.
    #[arg(long, value_name = "Q")]
    pub node: String,
    /// The new display name.
    #[arg(long)]
    pub name: String,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

impl Opt {
    /// The connection flags of whichever subcommand was chosen (`audit` reads files and has none).
    #[cfg(test)]
    pub fn conn(&self) -> Option<&ConnArgs> {
        Some(match &self.command {
            NodesCommand::Pending(o) | NodesCommand::Status(o) | NodesCommand::List(o) => &o.conn,
            NodesCommand::Approve(o) | NodesCommand::Reject(o) => &o.conn,
            NodesCommand::Describe(o) | NodesCommand::Remove(o) => &o.conn,
            NodesCommand::Rename(o) => &o.conn,
            NodesCommand::Watch(o) => &o.conn,
            NodesCommand::Audit(_) => return None,
        })
    }
}

/// Connects as an operator with the resolved URL and token.
pub async fn operator(conn: &ConnArgs) -> anyhow::Result<Client> {
    let ep = endpoint::resolve_operator(&Sources::gather(conn)?)?;
    let token = ep.token.as_deref().unwrap_or_default();
    Client::connect(&ep.url, Role::Operator { token }, conn.timeout).await
}

/// Runs a `nodes` subcommand; failures are prefixed `nodes <name> failed:`.
pub async fn run(opt: Opt) -> anyhow::Result<Exit> {
    let label = match &opt.command {
        NodesCommand::Pending(_) => "pending",
        NodesCommand::Approve(_) => "approve",
        NodesCommand::Reject(_) => "reject",
        NodesCommand::Status(_) => "status",
        NodesCommand::List(_) => "list",
        NodesCommand::Describe(_) => "describe",
        NodesCommand::Rename(_) => "rename",
        NodesCommand::Remove(_) => "remove",
        NodesCommand::Watch(_) => "watch",
        NodesCommand::Audit(_) => "audit",
    };
    let result = match opt.command {
        NodesCommand::Pending(o) => pending(&o.conn).await,
        NodesCommand::Approve(o) => crate::decide::run(o, Verb::Approve, Family::Nodes).await,
        NodesCommand::Reject(o) => crate::decide::run(o, Verb::Reject, Family::Nodes).await,
        NodesCommand::Status(o) => status(&o.conn).await,
        NodesCommand::List(o) => list(&o.conn).await,
        NodesCommand::Describe(o) => describe(&o).await,
        NodesCommand::Rename(o) => rename(&o).await,
        NodesCommand::Remove(o) => remove(&o).await,
        NodesCommand::Watch(o) => crate::watch::run(o).await,
        NodesCommand::Audit(o) => crate::audit::run(&o),
    };
    result.with_context(|| format!("nodes {label} failed"))
}

fn array(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

async fn pending(conn: &ConnArgs) -> anyhow::Result<Exit> {
    let mut c = operator(conn).await?;
    let list = c.call("node.pair.list", json!({})).await?;
    c.close().await;
    let pending = array(&list["pending"]);
    if conn.json {
        println!("{}", Value::Array(pending));
    } else if pending.is_empty() {
        println!("No pending pairing requests.");
    } else {
        println!("Pending ({})", pending.len());
        print!("{}", pending_table(&pending, now_ms()));
        println!(
            "\nApprove with: openclaw nodes approve <CODE|REQUEST>   (compare the code with the node's screen)"
        );
    }
    Ok(Exit::Ok)
}

/// The `Paired` table of `nodes list`: how and when each node was approved, its client, and when it
/// was last seen (admitted through device pairing, or verified its token itself).
fn paired_table(paired: &[Value], now: u64) -> String {
    let mut t = Table::new(&["NODE", "ID", "IP", "CLIENT", "APPROVED", "LAST SEEN"]);
    for p in paired {
        t.row(vec![
            node_label(p),
            short_id(text(p, "nodeId")),
            ip(p),
            client_of(p),
            approved(p["approvedAtMs"].as_u64(), p["approvedVia"].as_str(), now),
            seen(p, now),
        ]);
    }
    t.render()
}

/// When a node was last seen: `now` while connected, else the latest of `lastSeenAtMs` (device
/// pairing) and `lastConnectedAtMs` (its own token verification), as an age.
fn seen(n: &Value, now: u64) -> String {
    if n["connected"].as_bool() == Some(true) {
        return "now".into();
    }
    last_seen(
        &[n["lastSeenAtMs"].as_u64(), n["lastConnectedAtMs"].as_u64()],
        now,
    )
}

async fn list(conn: &ConnArgs) -> anyhow::Result<Exit> {
    let mut c = operator(conn).await?;
    let list = c.call("node.pair.list", json!({})).await?;
    c.close().await;
    if conn.json {
        println!("{list}");
        return Ok(Exit::Ok);
    }
    let (pending, paired) = (array(&list["pending"]), array(&list["paired"]));
    let now = now_ms();
    println!("Pending: {} · Paired: {}", pending.len(), paired.len());
    if !pending.is_empty() {
        println!("\nPending");
        print!("{}", pending_table(&pending, now));
    }
    if !paired.is_empty() {
        println!("\nPaired");
        print!("{}", paired_table(&paired, now));
    }
    Ok(Exit::Ok)
}

/// The `nodes status` table. A node with a pending request reads `pending` (or, when it is paired
/// already, `paired · re-pair pending`); the request's code, scopes and markers are in the pending
/// table below it. APPROVED says when and how (`owner`, `local`, `import`), CLIENT what it connected
/// with, LAST SEEN when it was last there.
fn status_table(nodes: &[Value], pending: &[Value], now: u64) -> String {
    let mut t = Table::new(&[
        "NODE",
        "ID",
        "IP",
        "PLATFORM",
        "CLIENT",
        "STATUS",
        "APPROVED",
        "LAST SEEN",
        "CAPS",
    ]);
    for n in nodes {
        let has_request = pending
            .iter()
            .any(|p| text(p, "nodeId") == text(n, "nodeId"));
        let paired = match (n["paired"].as_bool() == Some(true), has_request) {
            (true, true) => "paired · re-pair pending",
            (true, false) => "paired",
            (false, true) => "pending",
            (false, false) => "unpaired",
        };
        let connected = if n["connected"].as_bool() == Some(true) {
            match n["connectedAtMs"].as_u64() {
                Some(at) => format!("connected ({})", ago(at, now).trim_end_matches(" ago")),
                None => "connected".to_owned(),
            }
        } else {
            "disconnected".to_owned()
        };
        let caps: Vec<&str> = n["caps"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        t.row(vec![
            node_label(n),
            short_id(text(n, "nodeId")),
            ip(n),
            n["platform"].as_str().unwrap_or("-").to_owned(),
            client_of(n),
            format!("{paired} · {connected}"),
            approved(n["approvedAtMs"].as_u64(), n["approvedVia"].as_str(), now),
            seen(n, now),
            if caps.is_empty() {
                "-".into()
            } else {
                caps.join(",")
            },
        ]);
    }
    t.render()
}

async fn status(conn: &ConnArgs) -> anyhow::Result<Exit> {
    let mut c = operator(conn).await?;
    let result = c.call("node.list", json!({})).await?;
    if conn.json {
        c.close().await;
        println!("{result}");
        return Ok(Exit::Ok);
    }
    // The pending requests (codes, scopes, re-pair) come from node.pair.list, which needs the pairing
    // scope; an operator with read access alone still gets the node table.
    let pending = match c.call("node.pair.list", json!({})).await {
        Ok(list) => Some(array(&list["pending"])),
        Err(e) => {
            eprintln!("openclaw: pending requests not shown: {e:#}");
            None
        }
    };
    c.close().await;
    let nodes = array(&result["nodes"]);
    let count = |k: &str| {
        nodes
            .iter()
            .filter(|n| n[k].as_bool() == Some(true))
            .count()
    };
    let mut head = format!(
        "Known: {} · Paired: {} · Connected: {}",
        nodes.len(),
        count("paired"),
        count("connected")
    );
    if let Some(p) = &pending {
        head.push_str(&format!(" · Pending: {}", p.len()));
    }
    println!("{head}");
    let pending = pending.unwrap_or_default();
    let now = now_ms();
    if !nodes.is_empty() {
        print!("{}", status_table(&nodes, &pending, now));
    }
    if !pending.is_empty() {
        println!("\nPending ({})", pending.len());
        print!("{}", pending_table(&pending, now));
        println!(
            "\nApprove with: openclaw nodes approve <CODE|REQUEST>   (compare the code with the node's screen)"
        );
    }
    Ok(Exit::Ok)
}

/// Resolves `--node` against `node.list`, falling back to the paired nodes of `node.pair.list`.
pub async fn resolve_node(c: &mut Client, query: &str) -> anyhow::Result<Candidate> {
    let nodes = match c.call("node.list", json!({})).await {
        Ok(r) => array(&r["nodes"]),
        Err(e) => {
            tracing::debug!("node.list failed ({e:#}); using node.pair.list");
            array(&c.call("node.pair.list", json!({})).await?["paired"])
        }
    };
    let candidates: Vec<Candidate> = nodes.iter().map(Candidate::from_json).collect();
    resolve(query, &candidates).cloned()
}

async fn describe(o: &NodeQuery) -> anyhow::Result<Exit> {
    let mut c = operator(&o.conn).await?;
    let node = resolve_node(&mut c, &o.node).await?;
    let d = c
        .call("node.describe", json!({ "nodeId": node.node_id }))
        .await?;
    c.close().await;
    if o.conn.json {
        println!("{d}");
        return Ok(Exit::Ok);
    }
    let now = now_ms();
    let mut t = Table::new(&["FIELD", "VALUE"]);
    let mut field = |name: &str, value: String| {
        if !value.is_empty() {
            t.row(vec![name.to_owned(), value]);
        }
    };
    let s = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
    let when = |k: &str| d[k].as_u64().map(|ts| ago(ts, now)).unwrap_or_default();
    let yes = |k: &str| {
        if d[k].as_bool() == Some(true) {
            "yes"
        } else {
            "no"
        }
        .to_owned()
    };
    field("Node", node_label(&d));
    field("ID", s("nodeId"));
    field(
        "IP",
        d["remoteIp"].as_str().map(|_| ip(&d)).unwrap_or_default(),
    );
    field("Platform", s("platform"));
    field("Version", s("version"));
    field("Device", s("deviceFamily"));
    field("Model", s("modelIdentifier"));
    field(
        "Client",
        d["clientId"]
            .as_str()
            .map(|_| crate::render::client(d["clientId"].as_str(), d["clientMode"].as_str(), None))
            .unwrap_or_default(),
    );
    field("Paired", yes("paired"));
    field("Connected", yes("connected"));
    field(
        "Approved",
        d["approvedAtMs"]
            .as_u64()
            .map(|at| approved(Some(at), d["approvedVia"].as_str(), now))
            .unwrap_or_default(),
    );
    field("Last seen", when("lastSeenAtMs"));
    field("Connected since", when("connectedAtMs"));
    field("Last connect", when("lastConnectedAtMs"));
    print!("{}", t.render());
    let list = |k: &str| crate::request::strings(&d[k]);
    for (title, key) in [("Caps", "caps"), ("Commands", "commands")] {
        let items = list(key);
        if !items.is_empty() {
            println!("\n{title}");
            for item in items {
                println!("  {item}");
            }
        }
    }
    Ok(Exit::Ok)
}

async fn rename(o: &RenameOpt) -> anyhow::Result<Exit> {
    let name = o.name.trim();
    if name.is_empty() {
        anyhow::bail!("--name must not be blank");
    }
    let mut c = operator(&o.conn).await?;
    let node = resolve_node(&mut c, &o.node).await?;
    let r = c
        .call(
            "node.rename",
            json!({ "nodeId": node.node_id, "displayName": name }),
        )
        .await?;
    c.close().await;
    if o.conn.json {
        println!("{r}");
    } else {
        let old = node.display_name.as_deref().unwrap_or("(no name)");
        println!(
            "Renamed {}: {old} -> {}",
            node.node_id,
            text(&r, "displayName")
        );
    }
    Ok(Exit::Ok)
}

async fn remove(o: &NodeQuery) -> anyhow::Result<Exit> {
    let mut c = operator(&o.conn).await?;
    let node = resolve_node(&mut c, &o.node).await?;
    let r = c
        .call("node.pair.remove", json!({ "nodeId": node.node_id }))
        .await?;
    c.close().await;
    if o.conn.json {
        println!("{r}");
    } else {
        let label = node.display_name.as_deref().unwrap_or(&node.node_id);
        println!(
            "Removed {label} ({}); its token no longer verifies.",
            node.node_id
        );
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rows_say_paired_and_connected() {
        let now = 10_000_000;
        let nodes = vec![
            json!({"nodeId": "abcdef0123456789", "displayName": "pi", "paired": true, "connected": true,
                   "connectedAtMs": now - 300_000, "platform": "linux", "caps": ["camera"]}),
            json!({"nodeId": "n2", "paired": false, "connected": false, "remoteIp": "10.0.0.9"}),
        ];
        let pending = vec![
            json!({"nodeId": "n2", "requestId": "r2"}),
            json!({"nodeId": "abcdef0123456789", "requestId": "r3", "isRepair": true}),
        ];
        let out = status_table(&nodes, &[], now);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[1].contains("pi") && lines[1].contains("abcdef012345"),
            "{out}"
        );
        assert!(lines[1].contains("paired · connected (5m)"), "{out}");
        assert!(
            lines[1].contains("now"),
            "a connected node is seen now: {out}"
        );
        assert!(
            lines[2].contains("unpaired · disconnected") && lines[2].contains("10.0.0.9"),
            "{out}"
        );
        assert_eq!(lines[0].find("STATUS"), lines[1].find("paired ·"));
        let out = status_table(&nodes, &pending, now);
        assert!(
            out.contains("paired · re-pair pending · connected (5m)"),
            "{out}"
        );
        assert!(out.contains("pending · disconnected"), "{out}");
    }

    #[test]
    fn paired_rows_show_ages_approval_client_and_last_seen() {
        let now = 10_000_000;
        let out = paired_table(
            &[json!({"nodeId": "n1", "approvedAtMs": now - 7_200_000})],
            now,
        );
        assert!(out.lines().nth(1).unwrap().contains("2h ago"), "{out}");
        let out = paired_table(
            &[
                json!({"nodeId": "n1", "approvedAtMs": now - 7_200_000, "approvedVia": "local",
                     "clientId": "node-host", "clientMode": "node", "version": "2026.9.6",
                     "lastSeenAtMs": now - 60_000, "lastConnectedAtMs": now - 600_000}),
            ],
            now,
        );
        let row = out.lines().nth(1).unwrap();
        for want in ["2h ago · local", "node-host/node v2026.9.6", "1m ago"] {
            assert!(row.contains(want), "{want} missing: {out}");
        }
    }
}
