use super::*;
use pairing_core::protocol::DeviceRejected;
use serde_json::json;

#[test]
fn rotation_and_revocation_say_what_happened_to_the_connections() {
    let r = DeviceTokenRotated {
        device_id: "3f1c2a0b9d8e7f6a".into(),
        role: "node".into(),
        scopes: vec![],
        rotated_at_ms: 1,
        token_delivery: "on-reconnect".into(),
        closed_connections: 1,
    };
    assert_eq!(
        rotated_line("kitchen-pi (3f1c2a0b9d8e…)", &r),
        "Rotated the node token of kitchen-pi (3f1c2a0b9d8e…); its 1 live connection was closed and it \
         gets its new token when it reconnects."
    );
    let idle = DeviceTokenRotated {
        closed_connections: 0,
        ..r
    };
    assert!(
        rotated_line("pi", &idle)
            .ends_with("it is not connected now and it gets its new token when it next connects."),
        "{}",
        rotated_line("pi", &idle)
    );
    let v = DeviceTokenRevoked {
        device_id: "3f1c2a0b9d8e7f6a".into(),
        role: "node".into(),
        revoked_at_ms: 1,
        closed_connections: 2,
    };
    let line = revoked_line("pi", &v);
    assert!(
        line.contains("its 2 live connections were closed"),
        "{line}"
    );
    assert!(
        line.contains("openclaw devices remove 3f1c2a0b9d8e)"),
        "{line}"
    );
}

#[test]
fn results_round_trip_in_the_gateways_shape() {
    let v = json!({"requestId": "r1", "deviceId": "d1"});
    let r: DeviceRejected = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(serde_json::to_value(&r).unwrap(), v);
    let v = json!({"deviceId": "d1"});
    let r: DeviceRemoved = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(serde_json::to_value(&r).unwrap(), v);
}
