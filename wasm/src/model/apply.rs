//! What each event and response from the gateway means for the page's lists, read as the core's
//! typed records.

use super::calls::Call;
use super::{Conn, PageModel, SKEW_IGNORED_MS};
use crate::frames::{Incoming, event};
use crate::words;
use pairing_core::Decision;
use pairing_core::protocol::{
    ApiError, DetailCode, ErrorCode, NodeApproved, NodeList, NodePairList, NodePending,
    NodeRenamed, PairResolved, Tick,
};

impl PageModel {
    fn observe_clock(&mut self, frame: &Incoming, now: u64) {
        // `connect.challenge` and `tick` both carry the gateway's clock as `ts`.
        if let Some(Tick { ts }) = frame.payload_as::<Tick>() {
            let skew = i64::try_from(i128::from(ts) - i128::from(now)).unwrap_or(0);
            // A few ms are the frame's travel time, not a clock difference; only a real skew counts.
            self.skew_ms = if skew.abs() < SKEW_IGNORED_MS {
                0
            } else {
                skew
            };
        }
    }

    pub(super) fn event(&mut self, name: &str, frame: &Incoming, now: u64, out: &mut Vec<String>) {
        match name {
            event::CHALLENGE => {
                self.observe_clock(frame, now);
                if let Some(token) = self.token.clone() {
                    let (id, text) = self.codec.connect(&token, &self.version);
                    self.calls.insert(id, Call::Connect);
                    out.push(text);
                }
            }
            event::TICK => self.observe_clock(frame, now),
            event::REQUESTED => {
                if let Some(p) = frame.payload_as::<NodePending>()
                    && !p.request_id.as_str().is_empty()
                {
                    self.pending.insert(p.request_id.as_str().to_owned(), p);
                }
            }
            event::RESOLVED => {
                if let Some(r) = frame.payload_as::<PairResolved>() {
                    self.resolved(&r, now, out);
                }
            }
            _ => {}
        }
    }

    fn resolved(&mut self, r: &PairResolved, now: u64, out: &mut Vec<String>) {
        // This page's own decision is told when its answer comes; any other was made elsewhere.
        let ours = self.request_busy(&r.request_id);
        let gone = self.pending.remove(&r.request_id);
        match (r.decision, gone) {
            (Decision::Approved, Some(p)) if !ours => {
                let text = format!(
                    "{} was approved elsewhere (by another operator or the CLI); it is paired now.",
                    p.name()
                );
                self.notice("approved", text, now);
                self.resync(now, out);
            }
            (Decision::Rejected, Some(p)) if !ours => {
                let text = format!(
                    "The request from {} was rejected elsewhere (by another operator or the CLI).",
                    p.name()
                );
                self.notice("rejected", text, now);
            }
            (Decision::Expired, Some(p)) => {
                let text = format!(
                    "The request from {} expired before anyone approved it.",
                    p.name()
                );
                self.notice("expired", text, now);
            }
            (Decision::Superseded, Some(p)) => {
                let text = format!(
                    "The request from {} was replaced by a newer request from the same node.",
                    p.name()
                );
                self.notice("superseded", text, now);
            }
            (Decision::Approved, _) => self.resync(now, out),
            (Decision::Removed, _) => {
                self.paired.remove(r.node_id.as_str());
                self.live.remove(r.node_id.as_str());
            }
            _ => {}
        }
    }

    pub(super) fn response(
        &mut self,
        call: Call,
        frame: &Incoming,
        now: u64,
        out: &mut Vec<String>,
    ) {
        match call {
            Call::Connect => {
                self.conn = Conn::Connected;
                self.offline_since = None;
                self.retry_at = None;
                self.backoff.reset();
                self.error.clear();
                self.resync(now, out);
            }
            Call::PairList => {
                self.resyncing = false;
                self.synced = true;
                let list = frame.payload_as::<NodePairList>().unwrap_or_default();
                self.pending = list
                    .pending
                    .into_iter()
                    .map(|p| (p.request_id.as_str().to_owned(), p))
                    .collect();
                self.paired = list
                    .paired
                    .into_iter()
                    .map(|n| (n.node_id.as_str().to_owned(), n))
                    .collect();
            }
            Call::NodeList => {
                let list = frame.payload_as::<NodeList>().unwrap_or_default();
                self.live = list
                    .nodes
                    .into_iter()
                    .map(|n| (n.node_id.as_str().to_owned(), n))
                    .collect();
                let gw_now = self.gateway_now(now);
                for n in self.live.values().filter(|n| n.connected) {
                    self.seen.insert(n.node_id.as_str().to_owned(), gw_now);
                }
            }
            Call::Approve { request_id, name } => {
                if let Some(p) = self.pending.remove(&request_id) {
                    let seen = self.seen.entry(p.node_id.as_str().to_owned()).or_default();
                    *seen = (*seen).max(p.ts);
                }
                self.error.clear();
                let text = format!("You approved {name}; it is paired now (under Paired nodes).");
                self.notice("approved", text, now);
                if let Some(approved) = frame.payload_as::<NodeApproved>() {
                    let node = approved.node;
                    self.paired.insert(node.node_id.as_str().to_owned(), node);
                }
            }
            Call::Reject { request_id, name } => {
                self.pending.remove(&request_id);
                self.error.clear();
                let text = format!("You rejected {name}; it was told no and is not paired.");
                self.notice("rejected", text, now);
            }
            Call::Rename { node_id, .. } => {
                self.error.clear();
                let name = frame.payload_as::<NodeRenamed>().map(|r| r.display_name);
                if let Some(n) = self.paired.get_mut(&node_id) {
                    n.meta.to_mut().display_name.clone_from(&name);
                }
                if let Some(n) = self.live.get_mut(&node_id) {
                    n.meta.display_name.clone_from(&name);
                }
            }
            Call::Remove { node_id, .. } => {
                self.error.clear();
                self.paired.remove(&node_id);
                self.live.remove(&node_id);
            }
        }
    }

    pub(super) fn failure(
        &mut self,
        call: Call,
        error: &ApiError,
        now: u64,
        out: &mut Vec<String>,
    ) {
        let code = error.detail_code();
        match &call {
            Call::Connect => {
                if error.code == ErrorCode::Unauthorized {
                    self.token = None;
                    self.conn = Conn::NeedToken;
                }
                self.error = words::explain(error);
            }
            Call::PairList => {
                self.resyncing = false;
                self.error = words::explain(error);
            }
            Call::NodeList => {}
            Call::Approve { request_id, .. } | Call::Reject { request_id, .. } => {
                // The request is gone for good (expired, decided elsewhere, replaced): drop it now and
                // re-read the list rather than leave a button that cannot work.
                if code == Some(DetailCode::UnknownRequest) {
                    self.pending.remove(request_id);
                    self.resync(now, out);
                }
            }
            Call::Rename { .. } | Call::Remove { .. } => {
                if code == Some(DetailCode::UnknownNode) {
                    self.resync(now, out);
                }
            }
        }
        if let Some(action) = call.action() {
            let text = words::failed(&action, error);
            self.error.clone_from(&text);
            self.notice("failed", text, now);
        }
    }
}
