//! `openclaw doctor [--node Q]`: explains why a node is not paired, from the gateway's answers
//! (`node.pair.list`, `node.list`, and `node.pair.verify` with the stored token) and this machine's
//! files (`<state>/identity/device.json`, `<state>/node/token.json`), and prints the next command.
//!
//! Without `--node` it looks at this machine's node; with `--node Q` at the node or pending request Q
//! names. Gathering the facts ([`gather`]) is separate from reading them ([`diagnosis`], a pure
//! function giving a [`diagnosis::Cause`]), so every cause is unit-tested without a gateway, and from
//! printing ([`render`]). When the node is neither paired nor pending, the audit trail in this
//! machine's state (`<state>/nodes/audit*.jsonl`, present on the gateway host) tells how its last
//! request or pairing ended ([`history`]) — expired, rejected, superseded by another key, removed —
//! and when; on a machine without the trail the output says where to look.

use crate::args::ConnArgs;
use crate::exit::Exit;
use clap::Args;
use diagnosis::diagnose;
use gather::{Facts, local_view, operator_view};
use pairing_host::clock::now_ms;

mod diagnosis;
mod gather;
mod history;
mod render;

/// Examples, shown at the end of `openclaw doctor --help`.
pub(crate) const AFTER_HELP: &str = concat!(
    "Examples:\n",
    "  openclaw doctor                       # on the node: why is this machine not paired?\n",
    "  openclaw doctor --node kitchen-pi     # on the gateway host: why is that node not paired?\n",
    "  openclaw doctor --json | jq .cause\n\n",
    "Exit codes: 0 when the node is paired (and, for this machine, its token verifies), else 1; 64 usage error."
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

/// Runs `openclaw doctor`.
pub(crate) async fn run(opt: Opt) -> anyhow::Result<Exit> {
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
        println!("{}", render::json(&d));
    } else {
        print!("{}", render::text(&d));
    }
    Ok(if d.paired { Exit::Ok } else { Exit::Failure })
}
