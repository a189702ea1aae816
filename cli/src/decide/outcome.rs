//! What a decision prints: the approval line saying how the node gets its token ([`Handover`]), the
//! caps and commands it granted, the gateway's JSON, and a refusal with what to do next ([`explain`]).

use super::{Family, Verb};
use crate::args::ConnArgs;
use crate::client::GatewayError;
use crate::client::read;
use crate::request::{Request, summary, surface};
use anyhow::anyhow;
use pairing_core::format::node_label as label;
use pairing_core::protocol::{
    Decision, DetailCode, DeviceApproved, DeviceRejected, NodeApproved, NodeRejected,
};
use serde_json::Value;

/// How an approved node gets what it needs to connect as paired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Handover {
    /// Device pairing made the request at `connect`; no token goes by mail. `in_place`: a protocol-v3
    /// connection of it was waiting and is paired in place.
    Device {
        /// Its waiting connection was upgraded in place.
        in_place: bool,
    },
    /// A node's own `node.pair.request`: the gateway sends it the token over its key-proven connection
    /// — at once when `online`, else when it next connects within the delivery window.
    Mail {
        /// A connection of the node was open at approval.
        online: bool,
    },
    /// An operator made the request: the token is in the result, for the operator to hand over.
    Operator,
}

/// The line printed after an approval.
pub(super) fn approved_line(request_id: &str, label: &str, node_id: &str, how: Handover) -> String {
    let head = format!(
        "Approved request {}: {label} ({})",
        pairing_core::format::short_request(request_id),
        pairing_core::format::short_id(node_id)
    );
    match how {
        Handover::Device { in_place: true } => format!(
            "{head} is paired in place on its open connection (no reconnect needed); it gets its device \
             token when it next connects."
        ),
        Handover::Device { in_place: false } => {
            format!("{head} is paired; it gets its device token when it (re)connects.")
        }
        Handover::Mail { online: true } => format!(
            "{head} is paired; the node receives its new token now, over its open connection."
        ),
        Handover::Mail { online: false } => format!(
            "{head} is paired. The node is not connected: it receives its new token when it reconnects \
             within {} of now (`openclaw node pair` keeps retrying); after that it must pair again.",
            delivery_window()
        ),
        Handover::Operator => format!(
            "{head} is paired. This request was made by an operator, so the gateway returned the node's \
             token in the result; it is printed only with --json."
        ),
    }
}

/// The line after an approval saying what it granted: `Granted caps: system; commands: system.run.`
pub(super) fn granted_line(caps: &[String], commands: &[String]) -> String {
    format!("Granted {}.", surface(caps, commands))
}

/// The gateway's token delivery window in words (`10 minutes`).
fn delivery_window() -> String {
    let ms = pairing_core::config::TOKEN_DELIVERY_WINDOW_MS;
    match ms / 60_000 {
        0 => format!("{} seconds", ms / 1000),
        1 => "1 minute".to_owned(),
        m => format!("{m} minutes"),
    }
}

/// Why a decision was refused, as far as what to say next goes: read from `details.code` and, for the
/// request that is gone, the [`Decision`] in `details.reason`.
enum Refusal {
    /// No pending request has this id or code, and the gateway does not remember one.
    Unknown,
    /// The request was already decided (approved or rejected): `requestId`, `decidedBy` and
    /// `decidedAtMs` from the error's details.
    Decided(Decision, Option<String>, Option<(String, u64)>),
    /// The request was replaced by a newer one (its caps, commands or key changed).
    Superseded,
    /// `devices approve|reject` named a request that no device made.
    NotADevice,
    /// Anything else: the gateway's message says it.
    Other,
}

impl Refusal {
    fn of(e: &anyhow::Error) -> Refusal {
        let Some(GatewayError(api)) = e.downcast_ref::<GatewayError>() else {
            return Refusal::Other;
        };
        match (api.detail_code(), api.gone()) {
            (Some(DetailCode::UnknownRequest), None) => Refusal::Unknown,
            (Some(DetailCode::UnknownRequest), Some(Decision::Superseded)) => Refusal::Superseded,
            (
                Some(DetailCode::UnknownRequest),
                Some(d @ (Decision::Approved | Decision::Rejected)),
            ) => {
                let details = api.detail();
                let by = details.decided_by.zip(details.decided_at_ms);
                Refusal::Decided(d, details.request_id, by)
            }
            (Some(DetailCode::NotADevice), _) => Refusal::NotADevice,
            _ => Refusal::Other,
        }
    }
}

/// Adds what the operator can do next to a refusal, decided by `details.code` (see [`Refusal`]).
pub(super) fn explain(e: anyhow::Error, family: Family, pending: &[Request]) -> anyhow::Error {
    match Refusal::of(&e) {
        // An id or code that matches nothing: show what is pending, so the operator can pick again.
        Refusal::Unknown => anyhow!("{e}; {}", summary(pending)),
        // Replaced (its caps, commands or key changed): the newer request is not approved in its place.
        Refusal::Decided(d, id, by) => {
            let id = id.unwrap_or_default();
            let short = pairing_core::format::short_request(&id);
            let now = pairing_host::clock::now_ms();
            // The gateway says who (since #16); an older one does not, and the audit trail on
            // the gateway host does.
            let who = match by {
                Some((by, at)) => format!(" {} by {by}", pairing_core::format::ago(at, now)),
                None => decided_by(&id, d, now).unwrap_or_default(),
            };
            anyhow!(
                "request {short} was already {}{who}; nothing changed (see `{}`)",
                d.as_str(),
                match d {
                    Decision::Approved => "openclaw nodes list",
                    _ => family.list_command(),
                }
            )
        }
        Refusal::Superseded => anyhow!(
            "{e}; the node changed its request: check the new one with `{}` before approving it",
            family.list_command()
        ),
        Refusal::NotADevice if family == Family::Devices => {
            anyhow!("{e} (decide it with `openclaw nodes approve` or `openclaw nodes reject`)")
        }
        _ => e,
    }
}

/// Who decided request `id` and when, from the audit trail on this machine (the gateway host):
/// ` 3m ago by operator cli@127.0.0.1`; `None` where the trail is not readable or does not say.
fn decided_by(id: &str, d: Decision, now: u64) -> Option<String> {
    if id.is_empty() {
        return None;
    }
    let trail = crate::trail::read_trail(&crate::trail::audit_dir()).ok()?;
    let line = trail
        .lines
        .iter()
        .rev()
        .find(|l| l.entry.request_id.as_deref() == Some(id) && l.entry.action == d.as_str())?;
    Some(format!(
        " {} by {}",
        pairing_core::format::ago(line.entry.ts, now),
        line.entry.actor_text()
    ))
}

/// Prints the result: the gateway's JSON (typed for `devices`) or one line.
pub(super) fn print_result(
    conn: &ConnArgs,
    verb: Verb,
    family: Family,
    result: Value,
    shown: Option<&Request>,
    in_place: bool,
    online: bool,
) -> anyhow::Result<()> {
    let device_made = |fallback: bool| shown.map_or(fallback, Request::by_device_pairing);
    let how = |device: bool, operator: bool| {
        if device {
            Handover::Device { in_place }
        } else if operator {
            Handover::Operator
        } else {
            Handover::Mail { online }
        }
    };
    let line = match (family, verb) {
        (Family::Nodes, _) if conn.json => result.to_string(),
        (Family::Nodes, Verb::Approve) => {
            let r: NodeApproved = read(&result)?;
            let node = &r.node;
            let device = device_made(node.client_id.is_some());
            let line = approved_line(
                r.request_id.as_str(),
                &node.name(),
                node.node_id.as_str(),
                how(device, node.token.is_some()),
            );
            let list = |l: &Option<Vec<String>>| l.clone().unwrap_or_default();
            format!(
                "{line}\n{}",
                granted_line(&list(&node.meta.caps), &list(&node.meta.commands))
            )
        }
        (Family::Nodes, Verb::Reject) => {
            let r: NodeRejected = read(&result)?;
            format!(
                "Rejected request {} (node {}).",
                pairing_core::format::short_request(r.request_id.as_str()),
                pairing_core::format::short_id(r.node_id.as_str())
            )
        }
        (Family::Devices, Verb::Approve) => {
            let r: DeviceApproved = serde_json::from_value(result)?;
            if conn.json {
                serde_json::to_string(&r)?
            } else {
                let d = &r.device;
                let line = approved_line(
                    &r.request_id,
                    &label(d.display_name.as_deref(), &d.device_id),
                    &d.device_id,
                    how(device_made(d.client_id.is_some()), false),
                );
                format!("{line}\n{}", granted_line(&d.caps, &d.commands))
            }
        }
        (Family::Devices, Verb::Reject) => {
            let r: DeviceRejected = serde_json::from_value(result)?;
            if conn.json {
                serde_json::to_string(&r)?
            } else {
                let name = shown.map_or_else(|| r.device_id.clone(), Request::label);
                format!(
                    "Rejected request {} of {name} (device {}).",
                    pairing_core::format::short_request(&r.request_id),
                    pairing_core::format::short_id(&r.device_id)
                )
            }
        }
    };
    println!("{line}");
    Ok(())
}
