use super::*;
use crate::identity::Identity;
use serde_json::json;

#[test]
fn backoff_grows_to_a_cap_and_resets() {
    let mut b = Backoff::default();
    let first = b.next_delay();
    assert!(first >= Duration::from_millis(500) && first <= Duration::from_millis(600));
    for _ in 0..10 {
        b.next_delay();
    }
    let capped = b.next_delay();
    assert!(capped >= Duration::from_secs(10) && capped <= Duration::from_secs(12));
    b.reset();
    assert!(b.next_delay() <= Duration::from_millis(600));
}

/// A gateway error as the client reads it off the wire.
fn error(v: Value) -> GatewayError {
    GatewayError(ApiError::deserialize(&v).unwrap())
}

#[test]
fn gateway_errors_show_message_and_reason_once() {
    let e = error(json!({
        "code": "INVALID_REQUEST", "message": "unknown requestId", "details": {"reason": "expired"}
    }));
    assert_eq!(e.to_string(), "unknown requestId (reason: expired)");
    assert_eq!(e.0.gone(), Some(pairing_core::protocol::Decision::Expired));
    let e = error(json!({
        "code": "INVALID_REQUEST", "message": "unknown requestId: expired", "details": {"reason": "expired"}
    }));
    assert_eq!(e.to_string(), "unknown requestId: expired");
    let e = error(json!({"code": "UNAVAILABLE", "message": "pairing disabled"}));
    assert_eq!(
        (e.to_string().as_str(), e.reason()),
        ("pairing disabled", None::<String>)
    );
}

#[test]
fn operator_connect_params_carry_token_and_scopes() {
    let p = connect_params(&Role::Operator { token: "t" }, "n");
    assert_eq!(
        (p.client.id.as_str(), p.client.mode.as_str()),
        ("cli", "cli")
    );
    assert_eq!(p.auth.and_then(|a| a.token).as_deref(), Some("t"));
    assert_eq!(p.scopes.len(), 4);
}

#[test]
fn node_connect_params_carry_a_proof_over_the_nonce() {
    let id = Identity::from_secret([7; 32], 1);
    let p = connect_params(
        &Role::Node {
            identity: &id,
            display_name: "pi",
        },
        "nonce-1",
    );
    assert_eq!(p.role, "node");
    let device = p.device.unwrap();
    assert_eq!(device.id, id.device_id);
    assert_eq!(device.nonce.as_deref(), Some("nonce-1"));
    assert_eq!(p.client.display_name.as_deref(), Some("pi"));
    assert!(p.auth.is_none());
}
