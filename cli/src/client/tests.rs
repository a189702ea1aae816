use super::*;

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

#[test]
fn gateway_errors_show_message_and_reason_once() {
    let e = GatewayError::from_value(&json!({
        "code": "INVALID_REQUEST", "message": "unknown requestId", "details": {"reason": "expired"}
    }));
    assert_eq!(e.to_string(), "unknown requestId (reason: expired)");
    let e = GatewayError::from_value(&json!({
        "code": "INVALID_REQUEST", "message": "unknown requestId: expired", "details": {"reason": "expired"}
    }));
    assert_eq!(e.to_string(), "unknown requestId: expired");
    let e =
        GatewayError::from_value(&json!({"code": "UNAVAILABLE", "message": "pairing disabled"}));
    assert_eq!(
        (e.to_string().as_str(), e.reason()),
        ("pairing disabled", None)
    );
}

#[test]
fn operator_connect_params_carry_token_and_scopes() {
    let p = connect_params(&Role::Operator { token: "t" }, "n");
    assert_eq!(p["client"]["id"], "cli");
    assert_eq!(p["client"]["mode"], "cli");
    assert_eq!(p["auth"]["token"], "t");
    assert_eq!(p["scopes"].as_array().unwrap().len(), 4);
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
    assert_eq!(p["role"], "node");
    assert_eq!(p["device"]["id"], id.device_id.as_str());
    assert_eq!(p["device"]["nonce"], "nonce-1");
    assert_eq!(p["client"]["displayName"], "pi");
    assert!(p.get("auth").is_none());
}
