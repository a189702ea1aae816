use super::*;

#[test]
fn frames_encode_in_protocol_shape() {
    assert_eq!(
        &*ok_frame("1", &serde_json::json!({"a": 1})),
        r#"{"type":"res","id":"1","ok":true,"payload":{"a":1}}"#
    );
    let e = ApiError::rate_limited("slow down", 5);
    assert_eq!(
        &*err_frame("2", &e),
        r#"{"type":"res","id":"2","ok":false,"error":{"code":"RATE_LIMITED","message":"slow down","retryable":true,"retryAfterMs":5}}"#
    );
    assert_eq!(
        &*event_frame("tick", &serde_json::json!({"ts": 1}), None),
        r#"{"type":"event","event":"tick","payload":{"ts":1}}"#
    );
}

#[test]
fn bad_frames_keep_the_id_when_there_is_one() {
    assert_eq!(parse_request("nope").unwrap_err().id, "invalid");
    assert_eq!(parse_request("[1]").unwrap_err().id, "invalid");
    let e = parse_request(r#"{"type":"event","id":"7"}"#).unwrap_err();
    assert_eq!(e.id, "7");
    let e = parse_request(r#"{"type":"req","id":"8"}"#).unwrap_err();
    assert_eq!(
        (e.id.as_str(), e.problem.as_str()),
        ("8", "method must be a non-empty string")
    );
    let long = "x".repeat(300);
    let e = parse_request(&format!(r#"{{"type":"req","id":"{long}","method":"m"}}"#)).unwrap_err();
    assert_eq!(e.id, "invalid");
    let r = parse_request(r#"{"type":"req","id":"9","method":"m"}"#).unwrap();
    assert_eq!(
        (r.id.as_str(), r.method.as_str(), r.params),
        ("9", "m", Value::Null)
    );
}
