//! The tables `nodes pending`, `list` and `status` print: pending requests, paired nodes, known nodes.

use crate::render::{
    Table, ago, approved, client_of, expires_in, ip, last_seen, node_label, scopes, short_id, text,
};
use serde_json::Value;

/// The pending-requests table.
pub fn pending_table(pending: &[Value], now: u64) -> String {
    let mut t = Table::new(&[
        "REQUEST",
        "NODE",
        "IP",
        "CODE",
        "REQUESTED",
        "EXPIRES",
        "SCOPES",
        "NOTES",
    ]);
    for p in pending {
        let mut notes = Vec::new();
        if p["isRepair"].as_bool() == Some(true) {
            notes.push("re-pair (token rotates)".to_owned());
        }
        if p["silent"].as_bool() == Some(true) {
            notes.push("silent".to_owned());
        }
        // The code stays the same when caps or commands change: say so where the code is read.
        if let Some(changed) = crate::request::Request::from_node_json(p).changed() {
            notes.push(format!("changed: {changed}"));
        }
        t.row(vec![
            text(p, "requestId").to_owned(),
            node_label(p),
            ip(p),
            p["verificationCode"].as_str().unwrap_or("-").to_owned(),
            p["ts"]
                .as_u64()
                .map_or_else(|| "-".into(), |ts| ago(ts, now)),
            p["expiresAtMs"]
                .as_u64()
                .map_or_else(|| "-".into(), |at| expires_in(at, now)),
            scopes(p),
            notes.join(", "),
        ]);
    }
    t.render()
}

/// The `Paired` table of `nodes list`: how and when each node was approved, its client, and when it
/// was last seen (admitted through device pairing, or verified its token itself).
pub fn paired_table(paired: &[Value], now: u64) -> String {
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

/// The `nodes status` table. A node with a pending request reads `pending` (or, when it is paired
/// already, `paired · re-pair pending`); the request's code, scopes and markers are in the pending
/// table below it. APPROVED says when and how (`owner`, `local`, `import`), CLIENT what it connected
/// with, LAST SEEN when it was last there.
pub fn status_table(nodes: &[Value], pending: &[Value], now: u64) -> String {
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

#[cfg(test)]
mod tests;
