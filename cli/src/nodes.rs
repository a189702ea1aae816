//! `openclaw nodes …`: the operator's commands, one module per subcommand (`pending`, `list`, `status`,
//! `describe`, `rename`, `remove`, `watch`, `audit`, `set-description` in `inventory`, `prune`; their
//! tables in `table`). Approve and reject live in [`crate::decide`], shared with `devices`.

use crate::args::{ConnArgs, ConnOnly};
use crate::decide::{Family, Verb};
use crate::exit::Exit;
use anyhow::Context;
use clap::{Args, Subcommand};

mod audit;
mod describe;
mod inventory;
mod list;
mod pending;
mod prune;
mod remove;
mod rename;
mod status;
mod table;
mod watch;

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
    /// Who is online now: every node the gateway knows, connected or not, with its live state.
    #[command(
        long_about = "Who is online now: every node the gateway knows — paired, pending or just \
            connected — with whether it is connected, since when, its platform, client and caps. \
            Use `nodes list` for the pairing records themselves (what was approved, when and how).",
        after_help = "Examples:\n  openclaw nodes status\n  openclaw nodes status --json"
    )]
    Status(ConnOnly),
    /// The pairing records: requests waiting for approval, and the nodes approved so far.
    #[command(
        long_about = "The pairing records: requests waiting for approval (with their codes) and the \
            nodes approved so far (when, how, last seen). Use `nodes status` to see who is connected now.",
        after_help = "Examples:\n  openclaw nodes list\n  openclaw nodes list --json   # {pending, paired}"
    )]
    List(ConnOnly),
    /// Show everything the gateway knows about one node.
    #[command(
        after_help = "Examples:\n  openclaw nodes describe kitchen-pi\n  openclaw nodes describe 192.168.1.23 --json\n  openclaw nodes describe 3f1c2a0b9d8e   # the short id tables print"
    )]
    Describe(NodeQuery),
    /// Give a node a display name (kept across re-pairing).
    #[command(
        after_help = "Examples:\n  openclaw nodes rename 192.168.1.23 --name \"Living Room iPad\"\n  openclaw nodes rename kitchen --name \"Kitchen iPad\"   # a name prefix, when only one matches"
    )]
    Rename(RenameOpt),
    /// Set or clear what a paired node is for (shown by list, describe and the page).
    #[command(
        name = "set-description",
        after_help = "Examples:\n  openclaw nodes set-description kitchen-pi \"camera above the stove\"\n  \
            openclaw nodes set-description --node 192.168.1.23 --clear"
    )]
    SetDescription(inventory::DescribeSetOpt),
    /// Remove paired nodes not seen for a while: a preview, then --yes to remove them.
    #[command(long_about = prune::LONG_ABOUT, after_help = prune::AFTER_HELP)]
    Prune(prune::Opt),
    /// Unpair a node; its token stops verifying at once.
    #[command(after_help = "Example:\n  openclaw nodes remove kitchen-pi")]
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
            openclaw nodes watch --auto-approve-silent --ssh gateway.local\n  \
            openclaw nodes watch --exec 'notify-send \"pairing: $OPENCLAW_DISPLAY_NAME\" \"$OPENCLAW_VERIFICATION_CODE\"'"
    )]
    Watch(watch::Opt),
    /// Show the audit trail of pairing decisions from this machine's files, or verify its hash chain.
    #[command(long_about = audit::LONG_ABOUT, after_help = audit::AFTER_HELP)]
    Audit(audit::Opt),
}

/// The node, as `approve` takes it: positional (`describe kitchen-pi`) or `--node Q`.
#[derive(Debug, Args)]
pub struct NodeArg {
    /// The node: id, short id (any prefix of 6+ characters), IP, display name or the start of one.
    #[arg(value_name = "NODE", required_unless_present = "node")]
    pub target: Option<String>,
    /// The same, as a flag (kept for scripts).
    #[arg(long, value_name = "Q", conflicts_with = "target")]
    pub node: Option<String>,
}

impl NodeArg {
    /// The query, whichever way it was given.
    pub fn query(&self) -> &str {
        self.target
            .as_deref()
            .or(self.node.as_deref())
            .unwrap_or_default()
    }
}

/// A node plus the connection flags.
#[derive(Debug, Args)]
pub struct NodeQuery {
    /// Which node.
    #[command(flatten)]
    pub which: NodeArg,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

impl NodeQuery {
    /// The node query.
    pub fn query(&self) -> &str {
        self.which.query()
    }
}

impl RenameOpt {
    /// The node query.
    pub fn query(&self) -> &str {
        self.which.query()
    }
}

/// `nodes rename`.
#[derive(Debug, Args)]
pub struct RenameOpt {
    /// Which node.
    #[command(flatten)]
    pub which: NodeArg,
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
            NodesCommand::SetDescription(o) => &o.conn,
            NodesCommand::Prune(o) => &o.conn,
            NodesCommand::Audit(_) => return None,
        })
    }
}

/// Runs a `nodes` subcommand; failures are prefixed `nodes <name> failed:`.
pub(crate) async fn run(opt: Opt) -> anyhow::Result<Exit> {
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
        NodesCommand::SetDescription(_) => "set-description",
        NodesCommand::Prune(_) => "prune",
    };
    let result = match opt.command {
        NodesCommand::Pending(o) => pending::run(&o.conn).await,
        NodesCommand::Approve(o) => crate::decide::run(o, Verb::Approve, Family::Nodes).await,
        NodesCommand::Reject(o) => crate::decide::run(o, Verb::Reject, Family::Nodes).await,
        NodesCommand::Status(o) => status::run(&o.conn).await,
        NodesCommand::List(o) => list::run(&o.conn).await,
        NodesCommand::Describe(o) => describe::run(&o).await,
        NodesCommand::Rename(o) => rename::run(&o).await,
        NodesCommand::Remove(o) => remove::run(&o).await,
        NodesCommand::Watch(o) => watch::run(o).await,
        NodesCommand::Audit(o) => audit::run(&o),
        NodesCommand::SetDescription(o) => inventory::run(&o).await,
        NodesCommand::Prune(o) => prune::run(&o).await,
    };
    result.with_context(|| format!("nodes {label} failed"))
}
