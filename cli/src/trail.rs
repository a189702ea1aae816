//! The audit trail as this machine's files hold it (`<state>/nodes/audit*.jsonl`, present on the
//! gateway host), read by `pairing_host::audit_log` (the gateway's own reader: every entry that reads,
//! the lines that do not), and which node a `--node` query names among its entries. `nodes audit`
//! lists it; `doctor` reads how a node's last request ended.

use crate::resolve::{Candidate, ambiguous, best_matches};
use pairing_core::format::short_id;
pub(crate) use pairing_host::audit_log::{Line, Trail, read_trail};
use std::path::PathBuf;

/// The audit directory of this machine's state: `<state>/nodes`.
pub(crate) fn audit_dir() -> PathBuf {
    pairing_host::paths::nodes_dir(&pairing_host::paths::state_dir())
}

/// The candidates a `--node` query is matched against: every (node, name, node's IP) the trail shows.
/// The IP is the actor's when the node itself acted (its request), never an operator's.
fn candidates(lines: &[Line]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    // Entries about no node (the operator token's rotations have an empty node id) name no candidate.
    for l in lines.iter().filter(|l| !l.entry.node_id.is_empty()) {
        let e = &l.entry;
        let remote_ip = (e.actor_role() == Some("node"))
            .then(|| e.actor_remote_ip().map(str::to_owned))
            .flatten();
        let c = Candidate {
            node_id: e.node_id.clone(),
            display_name: e.display_name.clone().filter(|n| !n.trim().is_empty()),
            remote_ip,
            ..Candidate::default()
        };
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// One candidate per node, oldest node first, with the latest name and IP the trail shows for it.
fn latest_per_node(all: &[Candidate]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for c in all {
        match out.iter_mut().find(|n| n.node_id == c.node_id) {
            Some(n) => {
                if c.display_name.is_some() {
                    n.display_name.clone_from(&c.display_name);
                }
                if c.remote_ip.is_some() {
                    n.remote_ip.clone_from(&c.remote_ip);
                }
            }
            None => out.push(c.clone()),
        }
    }
    out
}

/// The node a `--node` query names among the trail's entries: its id and a label (its latest name).
pub(crate) fn match_node(query: &str, lines: &[Line]) -> anyhow::Result<(String, String)> {
    let all = candidates(lines);
    let top = match best_matches(query, &all) {
        Ok(top) => top,
        // Name the known nodes once each (their latest name and IP), not once per name they had.
        Err(_) => {
            return Err(best_matches(query, &latest_per_node(&all))
                .err()
                .unwrap_or_else(|| anyhow::anyhow!("unknown node: {}", query.trim())));
        }
    };
    // One representative per node, the latest candidate seen (the newest name).
    let mut nodes: Vec<&Candidate> = Vec::new();
    for c in top.iter().rev() {
        if !nodes.iter().any(|n| n.node_id == c.node_id) {
            nodes.push(c);
        }
    }
    let [one] = nodes.as_slice() else {
        nodes.reverse();
        return Err(ambiguous(query, &nodes));
    };
    let latest_name = lines
        .iter()
        .rev()
        .filter(|l| l.entry.node_id == one.node_id)
        .find_map(|l| l.entry.display_name.clone());
    Ok((
        one.node_id.clone(),
        latest_name.unwrap_or_else(|| short_id(&one.node_id).to_owned()),
    ))
}

/// A request id shortened to its first 8 characters (a UUID's first group); `-` when there is none.
pub(crate) fn short_request(id: Option<&str>) -> String {
    match id {
        Some(r) if !r.is_empty() => pairing_core::format::short_request(r).to_owned(),
        _ => "-".to_owned(),
    }
}
