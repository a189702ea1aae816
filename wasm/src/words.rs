//! Error frames in plain words. The page never shows an error's JSON; it shows one of these sentences,
//! chosen by the error's codes ([`ErrorCode`], [`DetailCode`], `details.reason`), never by its message.

use pairing_core::format::why_gone;
use pairing_core::protocol::{ApiError, DetailCode, ErrorCode, REASON_TOKEN_ROTATED};

/// What the page says when the gateway refuses its token.
pub const BAD_TOKEN: &str = "The gateway did not accept this token. Open the approval page link that \
     `openclaw gateway` prints, or paste the token from openclaw.json.";

/// What the page says when the operator token was rotated (the gateway closed the page's connection
/// naming it, or refused the old token as rotated).
pub const ROTATED_TOKEN: &str = "The operator token was rotated. Paste the new link that `openclaw \
     gateway rotate-token` printed (or the new token) here, or open that link.";

/// Whether a close frame's reason is the gateway's for a rotated operator token.
pub fn closed_for_rotation(reason: &str) -> bool {
    reason == pairing_core::operator::ROTATED_CLOSE_REASON
}

/// The cause of a failure, as a clause without a capital or full stop ("it expired").
pub fn cause(err: &ApiError) -> String {
    let detail = err.detail();
    match detail.code {
        Some(DetailCode::UnknownRequest) => {
            return match err.gone() {
                Some(d) => why_gone(d).to_owned(),
                None => "the gateway does not know this request".to_owned(),
            };
        }
        Some(DetailCode::PairingDisabled) => {
            return "pairing is turned off on this gateway (--no-pairing)".to_owned();
        }
        Some(DetailCode::StorageFailed) => {
            return "the gateway could not save the change, so nothing changed; try again"
                .to_owned();
        }
        Some(DetailCode::MissingScope) => {
            let scope = detail.missing_scope.as_deref().unwrap_or("needed");
            return format!("this page lacks the {scope} permission");
        }
        Some(DetailCode::UnknownNode) => {
            return "the gateway does not know this node (it may have been removed)".to_owned();
        }
        Some(DetailCode::ProtocolMismatch) => {
            return "this page and the gateway speak different protocol versions; reload the page"
                .to_owned();
        }
        _ => {}
    }
    match err.code {
        ErrorCode::Unauthorized => "the gateway did not accept this token".to_owned(),
        ErrorCode::RateLimited => match err.retry_after_ms {
            Some(ms) => format!(
                "the gateway is busy; try again in {} s",
                ms.div_ceil(1000).max(1)
            ),
            None => "the gateway is busy; try again shortly".to_owned(),
        },
        ErrorCode::NotPaired => "that node is not paired".to_owned(),
        _ if err.message.trim().is_empty() => {
            "the gateway refused it without saying why".to_owned()
        }
        _ => clause(&err.message),
    }
}

/// A gateway message shown as a clause: one line, at most 200 characters, no trailing full stop.
fn clause(message: &str) -> String {
    let line: String = message
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    line.trim().trim_end_matches('.').to_owned()
}

/// A whole sentence: capital first letter, full stop at the end. The page's sentences are English
/// (its own words and the gateway's messages), so only an ASCII first letter is capitalised: Rust's
/// Unicode case tables would add 14 KB (gzipped) to the page's wasm.
pub fn sentence(clause: &str) -> String {
    let mut out = clause.to_owned();
    if out.is_empty() {
        return out;
    }
    // `None` when the first letter is not ASCII (it takes more than one byte): left as it is.
    if let Some(first) = out.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// A failure on its own, as a sentence ("It expired.").
pub fn explain(err: &ApiError) -> String {
    if err.code == ErrorCode::Unauthorized {
        if err.reason().as_deref() == Some(REASON_TOKEN_ROTATED) {
            return ROTATED_TOKEN.to_owned();
        }
        return BAD_TOKEN.to_owned();
    }
    sentence(&cause(err))
}

/// A failed action as a sentence: "Could not approve Kitchen iPad: it expired."
pub fn failed(action: &str, err: &ApiError) -> String {
    sentence(&format!("Could not {action}: {}", cause(err)))
}

#[cfg(test)]
mod tests;
