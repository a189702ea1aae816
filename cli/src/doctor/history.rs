//! What the audit trail on this machine tells about a node: how its last request or pairing ended
//! ([`last_end`]), and whether its pairing went to an operator's request ([`approved_without_key`]).

use super::diagnosis::Cause;
use crate::trail::{Line, short_request};
use pairing_core::format::ago;

/// How a node's last request or pairing ended, as the audit trail tells it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Ended {
    /// [`Cause::Expired`], `Rejected`, `Superseded`, `Removed`, or `NoRequest` (the trail does not
    /// explain it).
    pub cause: Cause,
    /// What happened, and when.
    pub line: String,
    /// A note after the pairing command.
    pub hint: &'static str,
}

/// A key fingerprint, shortened for a sentence: `SHA256:abcdefgh…`.
pub(super) fn short_key(fp: &str) -> String {
    let mut s: String = fp.chars().take(15).collect();
    if fp.chars().count() > 15 {
        s.push('…');
    }
    s
}

/// When the trail shows that the node's current pairing came from a request bound to no device key (an
/// operator asked for this node id): the token went to that operator's connection, never to the node.
pub(super) fn approved_without_key(
    trail: Option<&Vec<Line>>,
    node_id: &str,
    now: u64,
) -> Option<String> {
    let last = trail?
        .iter()
        .rev()
        .find(|l| l.entry.node_id.eq_ignore_ascii_case(node_id) && l.entry.action == "approved")?;
    if last.entry.key_fingerprint().is_some() {
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
pub(super) fn last_end(lines: &[Line], node_id: &str, now: u64) -> Option<Ended> {
    let mine: Vec<&Line> = lines
        .iter()
        .filter(|l| l.entry.node_id.eq_ignore_ascii_case(node_id) && l.entry.action != "renamed")
        .collect();
    let (i, last) = mine.iter().enumerate().next_back()?;
    let e = &last.entry;
    let when = ago(e.ts, now);
    let rid = short_request(e.request_id.as_deref());
    let key = |l: &Line| l.entry.key_fingerprint().map(str::to_owned);
    let ended = |cause, line, hint| Some(Ended { cause, line, hint });
    match e.action.as_str() {
        "expired" => ended(
            Cause::Expired,
            format!("its last request ({rid}) expired {when}: nobody approved it in time"),
            "   # then approve it on the gateway host before it expires",
        ),
        "rejected" => ended(
            Cause::Rejected,
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
                Cause::Superseded,
                format!("its last request ({rid}) was superseded {when}{by}"),
                "   # from the device that should be this node; the other key's request took its place",
            )
        }
        "removed" => ended(
            Cause::Removed,
            format!("it was removed {when} by {}", e.actor_text()),
            "",
        ),
        "approved" => ended(
            Cause::NoRequest,
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
                Cause::NoRequest,
                format!(
                    "its last request ({rid}){asked} is no longer pending, and the audit trail has no \
                     decision for it yet"
                ),
                "",
            )
        }
    }
}
