//! The tables `nodes pending`, `list` and `status` print: pending requests, paired nodes, known nodes.

use crate::render::{Table, approved, bare_ip, client, last_seen, needs};
use crate::request::Request;
use pairing_core::format::{ago, expires_in, short_id, short_request};
use pairing_core::protocol::{NodeEntry, NodePaired, NodePending};

/// The pending-requests table.
pub(super) fn pending_table(pending: &[NodePending], now: u64) -> String {
    let mut t = Table::new(&[
        "REQUEST",
        "NODE",
        "IP",
        "CODE",
        "REQUESTED",
        "EXPIRES",
        "NEEDS",
    ]);
    for p in pending {
        let mut notes = Vec::new();
        if p.is_repair {
            notes.push("re-pair (token rotates)".to_owned());
        }
        if p.silent {
            notes.push("silent".to_owned());
        }
        // The code stays the same when caps or commands change: say so where the code is read.
        if let Some(changed) = Request::from_node(p).changed() {
            notes.push(format!("changed: {changed}"));
        }
        t.row(vec![
            short_request(p.request_id.as_str()).to_owned(),
            p.name(),
            bare_ip(p.remote_ip.as_deref()),
            p.verification_code.to_string(),
            ago(p.ts, now),
            expires_in(p.expires_at_ms, now)
                .trim_start_matches("expires ")
                .to_owned(),
            needs(&p.required_approve_scopes),
        ]);
        t.note(notes.join(", "));
    }
    t.render()
}

/// The `Paired` table of `nodes list`: the pairing records — when, how and by whom each node was
/// approved, when it was last seen (admitted through device pairing, or verified its token itself),
/// and what it is for. Its address and client are in `nodes status` and `nodes describe`, so the table
/// fits 80 columns without cutting names.
pub(super) fn paired_table(paired: &[NodePaired], now: u64) -> String {
    let extra = super::inventory::paired_headers(paired);
    let mut t = Table::new(&[&["NODE", "ID", "APPROVED", "LAST SEEN"], &extra[..]].concat());
    for p in paired {
        let mut row = vec![
            p.name(),
            short_id(p.node_id.as_str()).to_owned(),
            approved(Some(p.approved_at_ms), p.approved_via.as_deref(), now),
            last_seen(&[p.last_seen_at_ms, p.last_connected_at_ms], now),
        ];
        row.extend(super::inventory::paired_cells(p, &extra));
        t.row(row);
    }
    t.render()
}

/// When a node was last seen: `now` while connected, else the latest of `lastSeenAtMs` (device
/// pairing) and `lastConnectedAtMs` (its own token verification), as an age.
pub(super) fn seen(n: &NodeEntry, now: u64) -> String {
    if n.connected {
        return "now".into();
    }
    last_seen(&[n.last_seen_at_ms, n.last_connected_at_ms], now)
}

/// The `nodes status` table: who is online. STATUS says whether the node is paired (or pending) and
/// whether it is connected now, else when it was last seen; CLIENT what it connected with. A paired
/// node with a pending re-pair request gets a note under its row; the request itself is in the pending
/// table below. Approval and platform details are in `nodes list` and `nodes describe`.
pub(super) fn status_table(nodes: &[NodeEntry], pending: &[NodePending], now: u64) -> String {
    let mut t = Table::new(&["NODE", "ID", "IP", "STATUS", "CLIENT"]);
    for n in nodes {
        let has_request = pending.iter().any(|p| *p.node_id == n.node_id);
        let paired = match (n.paired, has_request) {
            (true, _) => "paired",
            (false, true) => "pending",
            (false, false) => "unpaired",
        };
        let online = if n.connected {
            match n.connected_at_ms {
                Some(at) => format!("online {}", ago(at, now).trim_end_matches(" ago")),
                None => "online".to_owned(),
            }
        } else {
            match seen(n, now).as_str() {
                "-" => "offline".to_owned(),
                when => format!("offline, seen {when}"),
            }
        };
        t.row(vec![
            n.name(),
            short_id(n.node_id.as_str()).to_owned(),
            bare_ip(n.remote_ip.as_deref()),
            format!("{paired} · {online}"),
            client(
                n.client_id.as_deref(),
                n.client_mode.as_deref(),
                n.meta.version.as_deref(),
            ),
        ]);
        if n.paired && has_request {
            t.note("a re-pair request is pending (below)".to_owned());
        }
    }
    t.render()
}

#[cfg(test)]
mod tests;
