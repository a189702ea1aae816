//! `openclaw doctor [--node Q]`: explains why a node is not paired, from the gateway's answers
//! (`node.pair.list`, `node.list`, and `node.pair.verify` with the stored token) and this machine's
//! files (`<state>/identity/device.json`, `<state>/node/token.json`), and prints the next command.
//!
//! On the gateway host (the state directory holds `openclaw.json` or `gateway.lock`, no node token, and
//! no `--url` names another gateway)
//! it checks the gateway instead ([`gateway_host`]): running, port, token, state files, audit chain.
//! Without `--node` elsewhere it looks at this machine's node; with `--node Q` at the node or pending request Q
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
mod gateway_host;
mod gather;
mod history;
mod render;
mod webhook;

/// Examples, shown at the end of `openclaw doctor --help`.
pub(crate) const AFTER_HELP: &str = concat!(
    "Examples:\n",
    "  openclaw doctor                       # on the node: why is this machine not paired?\n",
    "  openclaw doctor                       # on the gateway host: is the gateway healthy?\n",
    "  openclaw doctor --node kitchen-pi     # on the gateway host: why is that node not paired?\n",
    "  openclaw doctor --json | jq .cause\n\n",
    "Exit codes: 0 when the node is paired (and, for this machine, its token verifies) or every gateway \
     check passes, else 1; 64 usage error."
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
    // On the gateway host (its state is here, and no node of this machine's): check the gateway.
    let state = pairing_host::paths::state_dir();
    let host = crate::host_state::HostState::read(&state);
    if opt.node.is_none()
        && opt.conn.url.is_none()
        && host.is_gateway_host()
        && !crate::identity::token_path(&state).exists()
    {
        let checks = gateway_host::report(&gateway_host::gather(&host, &opt.conn).await);
        if opt.conn.json {
            println!("{}", gateway_host::json(&checks));
        } else {
            print!("{}", gateway_host::text(&checks));
        }
        return Ok(if checks.iter().all(|c| c.ok) {
            Exit::Ok
        } else {
            Exit::Failure
        });
    }
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
        if let Some(line) = webhook::line(&pairing_host::paths::state_dir(), now_ms()) {
            println!("{line}");
        }
    }
    Ok(if d.paired { Exit::Ok } else { Exit::Failure })
}
