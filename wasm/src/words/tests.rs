use super::*;
use serde_json::json;

fn err(code: ErrorCode, message: &str) -> ApiError {
    ApiError::new(code, message)
}

#[test]
fn codes_read_as_sentences_whatever_the_message_says() {
    let e = ApiError::request_gone("r1", Some(pairing_core::Decision::Expired));
    assert_eq!(
        failed("approve iPad", &e),
        "Could not approve iPad: it expired."
    );
    let e = ApiError::request_gone("r1", None);
    assert_eq!(explain(&e), "The gateway does not know this request.");
    let scope = err(ErrorCode::Forbidden, "(any words)").with_details(json!({
        "code": "MISSING_SCOPE", "missingScope": "operator.admin"
    }));
    assert_eq!(
        failed("approve iPad", &scope),
        "Could not approve iPad: this page lacks the operator.admin permission."
    );
    let mut e = err(ErrorCode::RateLimited, "too many");
    e.retry_after_ms = Some(1500);
    assert_eq!(explain(&e), "The gateway is busy; try again in 2 s.");
    assert_eq!(
        explain(&err(ErrorCode::Unauthorized, "bad token")),
        BAD_TOKEN
    );
    let rotated = err(ErrorCode::Unauthorized, "(any words)").with_details(json!({
        "code": "AUTH_TOKEN_MISMATCH", "reason": "token-rotated"
    }));
    assert_eq!(explain(&rotated), ROTATED_TOKEN);
    assert_eq!(
        explain(&ApiError::pairing_disabled()),
        "Pairing is turned off on this gateway (--no-pairing)."
    );
    assert_eq!(
        explain(&ApiError::storage_failed()),
        "The gateway could not save the change, so nothing changed; try again."
    );
    assert_eq!(
        explain(&ApiError::unknown_node("n1")),
        "The gateway does not know this node (it may have been removed)."
    );
    // The words of a message alone decide nothing: it is shown as a clause.
    assert_eq!(
        explain(&err(ErrorCode::Unavailable, "pairing disabled")),
        "Pairing disabled."
    );
    assert_eq!(
        explain(&err(ErrorCode::InvalidRequest, "displayName: too long.\n")),
        "DisplayName: too long."
    );
    assert_eq!(
        explain(&err(ErrorCode::Unknown, "")),
        "The gateway refused it without saying why."
    );
}

#[test]
fn only_the_gateways_rotation_close_reason_counts() {
    assert!(closed_for_rotation(
        pairing_core::operator::ROTATED_CLOSE_REASON
    ));
    assert!(!closed_for_rotation("going away"));
}

#[test]
fn a_sentence_capitalises_an_ascii_first_letter_and_leaves_others_as_they_are() {
    assert_eq!(sentence("it expired"), "It expired.");
    assert_eq!(sentence("done!"), "Done!");
    assert_eq!(sentence(""), "");
    assert_eq!(sentence("école fermée"), "école fermée.");
    assert_eq!(sentence("ünïcode first"), "ünïcode first.");
}
