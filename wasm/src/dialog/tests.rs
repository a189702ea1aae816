use super::*;
use serde_json::json;

fn issued(expires_at_ms: u64) -> serde_json::Value {
    json!({
        "setupId": "3f9a2c1b", "kind": "setup-code", "setupCode": "eyJ1cmwiOiJ3cyJ9",
        "link": "oc-pair://eyJ1cmwiOiJ3cyJ9", "gatewayUrl": "ws://127.0.0.1:18789",
        "gatewayUrls": ["ws://127.0.0.1:18789"], "expiresAtMs": expires_at_ms, "maxUses": 1,
        "access": "full", "profile": {}, "qrSvg": "<svg>qr</svg>"
    })
}

fn res(id: &str, payload: serde_json::Value) -> String {
    json!({"type": "res", "id": id, "ok": true, "payload": payload}).to_string()
}

#[test]
fn it_issues_a_code_shows_it_counts_down_and_says_who_used_it() {
    let mut d = PairDialog::new();
    assert!(!d.view_at(0).open);
    let frame: serde_json::Value = serde_json::from_str(&d.open(false)).unwrap();
    assert_eq!(frame["method"], "enroll.create");
    assert_eq!(frame["params"]["kind"], "setup-code");
    assert_eq!(d.view_at(0).state, "issuing");
    // The model's own answers are not the dialog's.
    assert!(!d.observe(&res("7", issued(600_000))));
    assert!(d.observe(&res("pair-dialog-1", issued(600_000))));
    let v = d.view_at(5_000);
    assert_eq!(
        (v.state, v.expires.as_str()),
        ("shown", "expires in 9m 55s")
    );
    assert_eq!(v.code, "eyJ1cmwiOiJ3cyJ9");
    assert_eq!(v.qr_svg, "<svg>qr</svg>");
    assert!(v.command.contains("--pair 'oc-pair://"));
    assert_eq!(frame["params"]["includeQr"], true);
    d.copied(5_000.0);
    assert_eq!(d.view_at(6_000).copied, "Copied.");
    assert_eq!(d.view_at(9_000).copied, "");
    // Another code's completion is not this one's.
    let done = |id: &str| {
        json!({"type": "event", "event": "device.pair.setup.completed", "seq": 3, "payload": {
            "setupId": id, "kind": "setup-code", "deviceId": "ab12", "deviceName": "kitchen-pi",
            "access": "full", "uses": 1, "maxUses": 1, "ts": 10_000}})
        .to_string()
    };
    assert!(!d.observe(&done("other")));
    assert!(d.observe(&done("3f9a2c1b")));
    let v = d.view_at(12_000);
    assert_eq!(
        (v.state, v.used_by.as_str()),
        ("used", "Used by kitchen-pi just now")
    );
    d.close();
    assert_eq!(d.view_at(12_000), DialogView::default());
}

#[test]
fn a_refusal_is_shown_in_plain_words_and_an_old_code_expires() {
    let mut d = PairDialog::new();
    d.open(true);
    let refused = json!({"type": "res", "id": "pair-dialog-1", "ok": false, "error": {
        "code": "UNAVAILABLE", "message": "pairing disabled", "details": {"code": "PAIRING_DISABLED"}}});
    assert!(d.observe(&refused.to_string()));
    let v = d.view_at(0);
    assert_eq!(v.state, "failed");
    assert!(!v.error.is_empty());
    d.open(false);
    assert!(d.observe(&res("pair-dialog-2", issued(1_000))));
    assert_eq!(d.view_at(1_000).state, "expired");
}
