//! `nodes prune --unseen 30d [--yes]`: the paired nodes nobody has seen for a while, previewed, and
//! removed only with `--yes` — each through `node.pair.remove`, so each removal is audited `removed`
//! with the operator who ran it, and its token stops verifying at once.
//!
//! A node is stale when it is not connected now and its last sighting is older than the cutoff (the
//! gateway's clock minus `--unseen`). Its last sighting is the later of `lastSeenAtMs` (a device
//! admitted at `connect`) and `lastConnectedAtMs` (its own token verification); a node never seen
//! since its approval is judged by `approvedAtMs`, when its current token was issued: approved 40 days
//! ago and never seen is stale at `--unseen 30d`, approved an hour ago is not.

use crate::args::{ConnArgs, parse_duration};
use crate::client::GatewayError;
use crate::client::read;
use crate::exit::Exit;
use crate::operator;
use crate::render::Table;
use clap::Args;
use pairing_core::Method;
use pairing_core::format::{ago, short_id};
use pairing_core::protocol::params::{NoParams, RemoveParams};
use pairing_core::protocol::{DetailCode, NodeEntry, NodeList};
use serde::Serialize;

pub(super) const LONG_ABOUT: &str = "Find paired nodes that have not been seen for a while and, with \
    --yes, remove them. A node is stale when it is not connected and was last seen before the cutoff \
    (the gateway's clock minus --unseen); a node never seen since its approval is judged by when it \
    was approved. Without --yes nothing is removed: the stale nodes are listed. With --yes each one is \
    removed as `nodes remove` would (audited `removed`, by you; its token stops verifying at once).";

pub(super) const AFTER_HELP: &str = "Examples:\n  openclaw nodes prune --unseen 30d          # preview\n  \
    openclaw nodes prune --unseen 30d --yes    # remove them\n  \
    openclaw nodes prune --unseen 90d --json | jq -r '.nodes[].nodeId'";

/// `nodes prune`.
#[derive(Debug, Args)]
pub struct Opt {
    /// Stale after this long unseen: 30d, 12h (a unit is required).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub unseen: u64,
    /// Remove the stale nodes (without it, only list them).
    #[arg(long)]
    pub yes: bool,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// A stale node, as `--json` prints it.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(super) struct Stale {
    node_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    /// The last sighting, absent when it was never seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_seen_at_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    approved_at_ms: Option<u64>,
    /// `lastSeen`, or `approval` for a node never seen.
    judged_by: &'static str,
    /// Whether it was removed (always false in a preview).
    removed: bool,
    /// Why it was not removed after all: `seen` (it connected or was seen between the listing and
    /// the removal), `gone` (someone else removed it meanwhile).
    #[serde(skip_serializing_if = "Option::is_none")]
    kept: Option<&'static str>,
}

/// The stale nodes among `nodes` at `cutoff` (see the module docs), oldest sighting first.
pub(super) fn stale(nodes: &[NodeEntry], cutoff: u64) -> Vec<Stale> {
    let mut out: Vec<Stale> = nodes
        .iter()
        .filter(|n| n.paired && !n.connected)
        .filter_map(|n| {
            let seen = n.last_seen();
            let judged_by = if seen.is_some() {
                "lastSeen"
            } else {
                "approval"
            };
            (n.last_sighting() < cutoff).then(|| Stale {
                node_id: n.node_id.as_str().to_owned(),
                display_name: n.meta.display_name.clone(),
                last_seen_at_ms: seen,
                approved_at_ms: n.approved_at_ms,
                judged_by,
                removed: false,
                kept: None,
            })
        })
        .collect();
    out.sort_by_key(|s| (s.last_seen_at_ms.or(s.approved_at_ms), s.node_id.clone()));
    out
}

fn table(stale: &[Stale], now: u64) -> String {
    let mut t = Table::new(&["NODE", "ID", "LAST SEEN", "APPROVED"]);
    for s in stale {
        t.row(vec![
            pairing_core::format::node_label(s.display_name.as_deref(), &s.node_id),
            short_id(&s.node_id).to_owned(),
            s.last_seen_at_ms
                .map_or_else(|| "never".to_owned(), |t| ago(t, now)),
            s.approved_at_ms
                .map_or_else(|| "-".to_owned(), |t| ago(t, now)),
        ]);
    }
    t.render()
}

/// Runs `nodes prune`.
pub(super) async fn run(o: &Opt) -> anyhow::Result<Exit> {
    if o.unseen == 0 {
        anyhow::bail!("--unseen must be more than 0 (like 30d)");
    }
    let mut c = operator::connect(&o.conn).await?;
    let list: NodeList = read(&c.call(Method::NodeList, NoParams {}).await?)?;
    let now = list.ts;
    let cutoff = now.saturating_sub(o.unseen);
    let paired = list.nodes.iter().filter(|n| n.paired).count();
    let mut stale = stale(&list.nodes, cutoff);
    if o.yes {
        for s in &mut stale {
            // The gateway checks the cutoff again when it removes, so a node that came back since
            // the listing is kept.
            let params = RemoveParams {
                node_id: s.node_id.clone(),
                if_unseen_since_ms: Some(cutoff),
            };
            let r = c.call(Method::NodePairRemove, params).await;
            let code = r.as_ref().err().and_then(|e| {
                e.downcast_ref::<GatewayError>()
                    .and_then(|GatewayError(api)| api.detail_code())
            });
            match (r, code) {
                (Ok(_), _) => s.removed = true,
                (Err(_), Some(DetailCode::NodeSeen)) => s.kept = Some("seen"),
                (Err(_), Some(DetailCode::UnknownNode)) => s.kept = Some("gone"),
                (Err(e), _) => {
                    c.close().await;
                    return Err(e.context(format!("removing {}", s.node_id)));
                }
            }
        }
    }
    c.close().await;
    let removed = stale.iter().filter(|s| s.removed).count();
    if o.conn.json {
        println!(
            "{}",
            serde_json::json!({
                "ts": now, "cutoffMs": cutoff, "unseenMs": o.unseen, "paired": paired,
                "removed": removed, "nodes": stale,
            })
        );
        return Ok(Exit::Ok);
    }
    let span = pairing_core::format::ago(cutoff, now);
    let span = span.trim_end_matches(" ago");
    if stale.is_empty() {
        println!("No paired node unseen for {span} ({paired} paired).");
        return Ok(Exit::Ok);
    }
    print!("{}", table(&stale, now));
    if o.yes {
        println!(
            "Removed {removed} of {paired} paired nodes (unseen for {span}); their tokens no longer verify."
        );
        let seen = stale.iter().filter(|s| s.kept == Some("seen")).count();
        if seen > 0 {
            println!("Kept {seen} that connected again since the listing.");
        }
    } else {
        println!(
            "{} of {paired} paired nodes unseen for {span}; nothing removed. Run again with --yes to \
             remove them.",
            stale.len()
        );
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stale_means_unseen_since_the_cutoff_or_never_seen_and_approved_before_it() {
        const DAY: u64 = 86_400_000;
        let now = 100 * DAY;
        let nodes = [
            json!({"nodeId": "old", "paired": true, "lastSeenAtMs": now - 40 * DAY, "approvedAtMs": 1}),
            json!({"nodeId": "verified-old", "paired": true, "lastConnectedAtMs": now - 31 * DAY,
                   "lastSeenAtMs": now - 35 * DAY}),
            json!({"nodeId": "never", "paired": true, "approvedAtMs": now - 50 * DAY}),
            json!({"nodeId": "recent", "paired": true, "lastSeenAtMs": now - 40 * DAY,
                   "lastConnectedAtMs": now - DAY}),
            json!({"nodeId": "new", "paired": true, "approvedAtMs": now - 3_600_000}),
            json!({"nodeId": "live", "paired": true, "connected": true, "lastSeenAtMs": 5}),
            json!({"nodeId": "unpaired", "connected": false, "lastSeenAtMs": 5}),
        ]
        .map(crate::testdata::entry);
        let s = stale(&nodes, now - 30 * DAY);
        let ids: Vec<(&str, &str)> = s
            .iter()
            .map(|s| (s.node_id.as_str(), s.judged_by))
            .collect();
        assert_eq!(
            ids,
            [
                ("never", "approval"),
                ("old", "lastSeen"),
                ("verified-old", "lastSeen")
            ]
        );
        assert_eq!(s[2].last_seen_at_ms, Some(now - 31 * DAY));
        let out = table(&s, now);
        assert!(out.contains("never") && out.contains("40d ago"), "{out}");
    }
}
