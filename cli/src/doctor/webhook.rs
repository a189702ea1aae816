//! The `--notify-webhook` line of `openclaw doctor` on the gateway host: what the gateway last wrote
//! to `<state>/notify-status.json` ([`pairing_host::webhook`]).

use pairing_core::format::ago;
use serde::Deserialize;
use std::path::Path;

/// The fields of the status file read here (`pairing_core::webhook::queue::Status` plus `url`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Status {
    url: String,
    delivered: u64,
    queued: u64,
    given_up: u64,
    dropped: u64,
    failing_since_ms: Option<u64>,
    failures: u64,
    last_error: Option<String>,
}

/// One line about the webhook, if this machine's gateway has one configured.
pub(super) fn line(state_dir: &Path, now: u64) -> Option<String> {
    let file = pairing_host::webhook::status_path(state_dir);
    let text = pairing_host::fsutil::read_private_text(&file).ok()??;
    let s: Status = serde_json::from_str(&text).ok()?;
    Some(render(&s, now))
}

fn render(s: &Status, now: u64) -> String {
    let mut out = match s.failing_since_ms {
        Some(since) => format!(
            "Webhook {}: FAILING (started {}, {} failed attempts; last: {}); the gateway retries \
             with backoff — check the URL and the receiver.",
            s.url,
            ago(since, now),
            s.failures,
            s.last_error.as_deref().unwrap_or("unknown error")
        ),
        None => format!("Webhook {}: working ({} delivered).", s.url, s.delivered),
    };
    if s.queued > 0 || s.given_up > 0 || s.dropped > 0 {
        out.push_str(&format!(
            " Waiting: {}, given up: {}, dropped: {}.",
            s.queued, s.given_up, s.dropped
        ));
    }
    out
}

#[cfg(test)]
mod tests;
