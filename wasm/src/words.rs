//! Error frames in plain words. The page never shows an error's JSON; it shows one of these sentences.

use crate::frames::WireError;

/// What the page says when the gateway refuses its token.
pub const BAD_TOKEN: &str = "The gateway did not accept this token. Open the approval page link that \
     `openclaw gateway` prints, or paste the token from openclaw.json.";

/// What the page says when the operator token was rotated (the gateway closed the page's connection
/// naming it, or refused the old token as rotated).
pub const ROTATED_TOKEN: &str = "The operator token was rotated. Paste the new link that `openclaw \
     gateway rotate-token` printed (or the new token) here, or open that link.";

/// The start of the gateway's close reason, and of its refusal message, for a rotated token.
pub const ROTATED_PREFIX: &str = "the operator token was rotated";

/// Why a request id or code is no longer pending, as `details.reason` says it.
fn reason_words(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "expired" => "the request has expired",
        "approved" => "the request was already approved",
        "rejected" => "the request was already rejected",
        "superseded" => "a newer request from the same device replaced it",
        "unknown" => "the gateway does not know this request",
        _ => return None,
    })
}

/// The cause of a failure, as a clause without a capital or full stop ("the request has expired").
pub fn cause(err: &WireError) -> String {
    if let Some(words) = err.reason().and_then(reason_words) {
        return words.to_owned();
    }
    let message = err.message.trim();
    match err.code.as_str() {
        "UNAUTHORIZED" => "the gateway did not accept this token".to_owned(),
        "RATE_LIMITED" => match err.retry_after_ms {
            Some(ms) => format!(
                "the gateway is busy; try again in {} s",
                ms.div_ceil(1000).max(1)
            ),
            None => "the gateway is busy; try again shortly".to_owned(),
        },
        "NOT_PAIRED" => "that node is not paired".to_owned(),
        "UNAVAILABLE" if message == "pairing disabled" => {
            "pairing is turned off on this gateway (--no-pairing)".to_owned()
        }
        "UNAVAILABLE" if message.starts_with("storage write failed") => {
            "the gateway could not save the change, so nothing changed; try again".to_owned()
        }
        _ => {
            if let Some(scope) = message.strip_prefix("missing scope: ") {
                format!("this page lacks the {scope} permission")
            } else if message.starts_with("unknown nodeId") {
                "the gateway does not know this node (it may have been removed)".to_owned()
            } else if message.starts_with("unknown requestId") {
                "the gateway does not know this request".to_owned()
            } else if message == "protocol mismatch" {
                "this page and the gateway speak different protocol versions; reload the page"
                    .to_owned()
            } else if message.is_empty() {
                "the gateway refused it without saying why".to_owned()
            } else {
                clause(message)
            }
        }
    }
}

/// A gateway message as a clause: one line, at most 200 characters, no trailing full stop.
fn clause(message: &str) -> String {
    let line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    line.trim().trim_end_matches('.').to_owned()
}

/// A whole sentence: capital first letter, full stop at the end.
pub fn sentence(clause: &str) -> String {
    let mut chars = clause.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// A failure on its own, as a sentence ("The request has expired.").
pub fn explain(err: &WireError) -> String {
    if err.code == "UNAUTHORIZED" {
        if err.reason() == Some("token-rotated") {
            return ROTATED_TOKEN.to_owned();
        }
        return BAD_TOKEN.to_owned();
    }
    sentence(&cause(err))
}

/// A failed action as a sentence: "Could not approve Kitchen iPad: the request has expired."
pub fn failed(action: &str, err: &WireError) -> String {
    sentence(&format!("Could not {action}: {}", cause(err)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(code: &str, message: &str) -> WireError {
        WireError {
            code: code.into(),
            message: message.into(),
            ..WireError::default()
        }
    }

    #[test]
    fn reasons_and_codes_read_as_sentences() {
        let mut e = err("INVALID_REQUEST", "unknown requestId: it expired");
        e.details = Some(json!({"reason": "expired"}));
        assert_eq!(
            failed("approve iPad", &e),
            "Could not approve iPad: the request has expired."
        );
        assert_eq!(
            failed(
                "approve iPad",
                &err("INVALID_REQUEST", "missing scope: operator.admin")
            ),
            "Could not approve iPad: this page lacks the operator.admin permission."
        );
        let mut e = err("RATE_LIMITED", "too many");
        e.retry_after_ms = Some(1500);
        assert_eq!(explain(&e), "The gateway is busy; try again in 2 s.");
        assert_eq!(explain(&err("UNAUTHORIZED", "bad token")), BAD_TOKEN);
        assert_eq!(
            explain(&err("UNAVAILABLE", "pairing disabled")),
            "Pairing is turned off on this gateway (--no-pairing)."
        );
        assert_eq!(
            explain(&err("INVALID_REQUEST", "displayName: too long.\n")),
            "DisplayName: too long."
        );
        assert_eq!(
            explain(&err("WHATEVER", "")),
            "The gateway refused it without saying why."
        );
    }
}
