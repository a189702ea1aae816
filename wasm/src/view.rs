//! What the page shows, ready to render: every string already in words, every list already in order.

use crate::model::{Conn, PageModel};
use pairing_core::format::{URGENT_MS, ago, countdown, countdown_spoken, short_id};
use pairing_core::protocol::NodePending;
use pairing_core::scopes::required_approve_scopes;
use serde::Serialize;

/// Requests this long past their expiry are hidden even if the gateway's `expired` event is late.
const HIDE_EXPIRED_AFTER_MS: u64 = 5_000;

/// A paired node approved this recently is marked "just approved".
pub const FRESH_MS: u64 = 15_000;

/// The whole page.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    /// `#conn-status[data-state]`: `connecting`, `connected`, `reconnecting` or `need-token`.
    pub conn: &'static str,
    /// `#conn-status` text.
    pub conn_text: String,
    /// Whether the token form is shown.
    pub show_token_form: bool,
    /// Whether the lists have been read from the gateway at least once.
    pub synced: bool,
    /// Pending requests, newest first.
    pub pending: Vec<PendingView>,
    /// Paired nodes, by name.
    pub paired: Vec<NodeView>,
    /// Notices, oldest first.
    pub notices: Vec<NoticeView>,
    /// `#error`: the current error in plain words, empty when none.
    pub error: String,
    /// Whether the live connection is lost: cards are greyed out and their buttons disabled.
    pub offline: bool,
    /// `#offline-text`: "Disconnected — retrying in 4s", empty while connected.
    pub offline_text: String,
}

/// One requested command and the scope approving it needs.
#[derive(Debug, Serialize)]
pub struct CommandView {
    /// The command.
    pub command: String,
    /// The scope beyond `operator.pairing` it needs (`operator.write` or `operator.admin`).
    pub scope: &'static str,
}

/// A pending request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingView {
    /// `data-request-id`.
    pub request_id: String,
    /// `data-node-id`.
    pub node_id: String,
    /// Display name, else node id.
    pub name: String,
    /// "ios · iPad · iPad13,4", whatever is known.
    pub device: String,
    /// The address the request came from.
    pub remote_ip: String,
    /// "OpenClaw node-host 2026.9.6" for a device that asked at connect (device pairing), else empty.
    pub client: String,
    /// Requested commands with their scopes.
    pub commands: Vec<CommandView>,
    /// The scopes approving needs, all of them.
    pub required_scopes: Vec<&'static str>,
    /// The verification code, exactly as the device shows it ("1234-5678"); empty if none.
    pub code: String,
    /// "Check that the device shows 1234-5678".
    pub code_hint: String,
    /// "expires in 4m 59s", or "expired" (never "4:59", which reads like a time of day).
    pub countdown: String,
    /// The same in words, for screen readers: "expires in 4 minutes 59 seconds".
    pub countdown_label: String,
    /// Whether the countdown reached zero.
    pub expired: bool,
    /// Whether less than a minute is left (shown urgent).
    pub urgent: bool,
    /// Whether the node is paired already.
    pub is_repair: bool,
    /// "requested 3m ago".
    pub requested: String,
    /// `aria-label` of Approve.
    pub approve_label: String,
    /// `aria-label` of Reject.
    pub reject_label: String,
    /// Whether an approve or reject awaits the gateway's answer (buttons disabled meanwhile).
    pub busy: bool,
}

/// A paired node.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeView {
    /// `data-node-id`.
    pub node_id: String,
    /// Display name, else node id.
    pub name: String,
    /// "ios · iPad", whatever is known.
    pub device: String,
    /// Whether it is connected now.
    pub connected: bool,
    /// "connected" or "last seen 3m ago".
    pub status: String,
    /// "approved 2h ago".
    pub approved: String,
    /// The address it was last seen at.
    pub remote_ip: String,
    /// "by operator openclaw-cli@127.0.0.1 · owner": who approved it and how, whatever is known.
    pub approved_by: String,
    /// What it is for, as an operator described it; empty when nobody did.
    pub description: String,
    /// `aria-label` of Rename.
    pub rename_label: String,
    /// `aria-label` of Remove.
    pub remove_label: String,
    /// Whether a rename or removal awaits the gateway's answer.
    pub busy: bool,
    /// Whether it was approved in the last [`FRESH_MS`] (marked "just approved").
    pub fresh: bool,
}

/// A notice.
#[derive(Debug, Serialize)]
pub struct NoticeView {
    /// Key for the element.
    pub id: u64,
    /// `expired`, `superseded`, `approved`, `rejected`, `failed` or `info`.
    pub kind: &'static str,
    /// The sentence.
    pub text: String,
}

fn joined(parts: &[Option<&String>]) -> String {
    parts
        .iter()
        .flatten()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

fn conn_text(m: &PageModel) -> String {
    match m.conn() {
        Conn::NeedToken => "Enter the gateway token to connect".to_owned(),
        Conn::Connecting => "Connecting to the gateway…".to_owned(),
        Conn::Connected => "Connected".to_owned(),
        Conn::Reconnecting if m.failures() <= 1 => "Connection lost — reconnecting…".to_owned(),
        Conn::Reconnecting => format!(
            "Gateway unreachable — reconnecting… (attempt {})",
            m.failures()
        ),
    }
}

fn offline_text(m: &PageModel, now: u64) -> String {
    if m.conn() != Conn::Reconnecting {
        return String::new();
    }
    match m.retry_in_s(now) {
        Some(s) if s > 0 => format!("Disconnected — retrying in {s}s"),
        _ => "Disconnected — reconnecting…".to_owned(),
    }
}

fn pending_view(p: &NodePending, gw_now: u64, busy: bool) -> PendingView {
    let meta = &p.meta;
    let commands = meta.commands.as_deref().unwrap_or_default();
    let expires_at = (p.expires_at_ms > 0).then_some(p.expires_at_ms);
    // Never more than the request's whole lifetime, whatever the clocks say.
    let left = expires_at.map(|at| {
        let from = gw_now.max(p.ts.min(at));
        (at > from).then(|| at - from)
    });
    let code = p.verification_code.to_string();
    let name = p.name();
    PendingView {
        request_id: p.request_id.as_str().to_owned(),
        node_id: p.node_id.as_str().to_owned(),
        device: joined(&[
            meta.platform.as_ref(),
            meta.device_family.as_ref(),
            meta.model_identifier.as_ref(),
        ]),
        remote_ip: p.remote_ip.as_deref().unwrap_or_default().to_owned(),
        client: p
            .client_id
            .as_deref()
            .map(|c| match &meta.version {
                Some(v) => format!("OpenClaw {c} {v}"),
                None => format!("OpenClaw {c}"),
            })
            .unwrap_or_default(),
        commands: commands
            .iter()
            .map(|c| CommandView {
                command: c.clone(),
                scope: required_approve_scopes(Some(std::slice::from_ref(c)))
                    .last()
                    .copied()
                    .unwrap_or_default(),
            })
            .collect(),
        required_scopes: required_approve_scopes(meta.commands.as_deref()).to_vec(),
        code_hint: if code.is_empty() {
            "This request carries no verification code; approve it only if you made it.".to_owned()
        } else if p.client_id.is_some() {
            // OpenClaw's node hosts and apps do not display this gateway's code.
            format!(
                "OpenClaw clients don't display a code; this one is {code}, from device {}",
                short_id(p.node_id.as_str())
            )
        } else {
            format!("Check that the device shows {code}")
        },
        code,
        countdown: match left {
            Some(Some(ms)) => format!("expires in {}", countdown(ms)),
            Some(None) => "expired".to_owned(),
            None => String::new(),
        },
        countdown_label: match left {
            Some(Some(ms)) => format!("expires in {}", countdown_spoken(ms)),
            Some(None) => "expired".to_owned(),
            None => String::new(),
        },
        expired: matches!(left, Some(None)),
        urgent: matches!(left, Some(Some(ms)) if ms < URGENT_MS),
        is_repair: p.is_repair,
        requested: format!("requested {}", ago(p.ts, gw_now)),
        approve_label: format!("Approve {name}"),
        reject_label: format!("Reject {name}"),
        name,
        busy,
    }
}

impl PageModel {
    /// Everything the page shows at page time `now`.
    pub fn view(&self, now: u64) -> View {
        // Offline, the clock of the cards stops where the connection was lost.
        let gw_now = self.gateway_now(self.offline_since.map_or(now, |t| t.min(now)));
        let mut pending: Vec<&NodePending> = self
            .pending
            .values()
            .filter(|p| {
                p.expires_at_ms == 0
                    || p.expires_at_ms.saturating_add(HIDE_EXPIRED_AFTER_MS) > gw_now
            })
            .collect();
        pending.sort_by(|a, b| {
            b.ts.cmp(&a.ts)
                .then_with(|| a.request_id.cmp(&b.request_id))
        });
        let mut paired: Vec<NodeView> = self
            .paired
            .values()
            .map(|n| {
                let id = n.node_id.as_str();
                let live = self.live.get(id);
                let name = self.display_name(n);
                let connected = live.is_some_and(|l| l.connected);
                let last = [
                    n.last_connected_at_ms,
                    n.last_seen_at_ms,
                    live.and_then(|l| l.last_connected_at_ms),
                    live.and_then(|l| l.last_seen_at_ms),
                    self.seen.get(id).copied(),
                ]
                .into_iter()
                .flatten()
                .max();
                let approved_at = live
                    .and_then(|l| l.approved_at_ms)
                    .or((n.approved_at_ms > 0).then_some(n.approved_at_ms));
                NodeView {
                    node_id: id.to_owned(),
                    device: joined(&[
                        live.and_then(|l| l.meta.platform.as_ref())
                            .or(n.meta.platform.as_ref()),
                        live.and_then(|l| l.meta.device_family.as_ref())
                            .or(n.meta.device_family.as_ref()),
                    ]),
                    connected,
                    status: match (connected, last) {
                        (true, _) => "connected".to_owned(),
                        (false, Some(t)) => format!("last seen {}", ago(t, gw_now)),
                        (false, None) => "last seen before approval".to_owned(),
                    },
                    approved: approved_at
                        .map_or_else(String::new, |t| format!("approved {}", ago(t, gw_now))),
                    remote_ip: live
                        .and_then(|l| l.remote_ip.clone())
                        .or_else(|| n.remote_ip.as_deref().map(str::to_owned))
                        .unwrap_or_default(),
                    approved_by: match (n.approved_by.as_deref(), n.approved_via.as_deref()) {
                        (Some(by), Some(via)) if by != via => format!("by {by} · {via}"),
                        (Some(by), _) | (None, Some(by)) => format!("by {by}"),
                        (None, None) => String::new(),
                    },
                    description: n.description.as_deref().unwrap_or_default().to_owned(),
                    rename_label: format!("Rename {name}"),
                    remove_label: format!("Remove {name}"),
                    busy: self.node_busy(id),
                    fresh: approved_at.is_some_and(|t| {
                        gw_now.saturating_sub(t) < FRESH_MS && t <= gw_now + FRESH_MS
                    }),
                    name,
                }
            })
            .collect();
        paired.sort_by(|a, b| collate(&a.name, &b.name).then_with(|| a.node_id.cmp(&b.node_id)));
        View {
            conn: self.conn().as_str(),
            conn_text: conn_text(self),
            show_token_form: self.conn() == Conn::NeedToken,
            synced: self.synced,
            pending: pending
                .into_iter()
                .map(|p| pending_view(p, gw_now, self.request_busy(p.request_id.as_str())))
                .collect(),
            paired,
            notices: self
                .notices()
                .iter()
                .map(|n| NoticeView {
                    id: n.id,
                    kind: n.kind,
                    text: n.text.clone(),
                })
                .collect(),
            error: self.error().to_owned(),
            offline: self.conn() == Conn::Reconnecting,
            offline_text: offline_text(self, now),
        }
    }
}

/// Names in the reader's order: the browser's `localeCompare` in the page (Å where a Swede expects
/// it, É where a French reader does). Rust's Unicode case tables would add 14 KB (gzipped) to the
/// page's wasm, so the page borrows the browser's; natively (tests) lowercase, then code point.
#[cfg(target_arch = "wasm32")]
fn collate(a: &str, b: &str) -> std::cmp::Ordering {
    let c =
        js_sys::JsString::from(a).locale_compare(b, &js_sys::Array::new(), &js_sys::Object::new());
    c.cmp(&0)
}

#[cfg(not(target_arch = "wasm32"))]
fn collate(a: &str, b: &str) -> std::cmp::Ordering {
    a.to_lowercase().cmp(&b.to_lowercase())
}

#[cfg(test)]
mod tests;
