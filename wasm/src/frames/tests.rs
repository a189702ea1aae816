use super::*;
use pairing_core::protocol::{ConnectParams, NoParams, PROTOCOL_VERSION};
use pairing_core::wire::ErrorCode;

#[test]
fn connect_then_requests_with_increasing_ids() {
    let mut c = Codec::new();
    let (id, text) = c.connect("tok", "0.1.0");
    assert_eq!(id, "1");
    let Some(req) = pairing_core::wire::parse_request(&text).ok() else {
        panic!("not a request: {text}")
    };
    assert_eq!(req.method, "connect");
    let p: ConnectParams = serde_json::from_value(req.params).unwrap();
    assert_eq!(p.role, "operator");
    assert_eq!(
        p.auth.and_then(|a| a.token).as_deref(),
        Some("tok"),
        "the token goes in auth"
    );
    assert_eq!(
        (p.min_protocol, p.max_protocol),
        (PROTOCOL_VERSION, PROTOCOL_VERSION)
    );
    assert_eq!(p.client, ClientInfo::new(CLIENT_ID, "ui", "0.1.0", "web"));
    assert_eq!(p.scopes, PAGE_SCOPES);
    let (id, text) = c.request(Method::NodePairList.as_str(), &NoParams {});
    assert_eq!(id, "2");
    assert_eq!(
        text,
        r#"{"type":"req","id":"2","method":"node.pair.list","params":{}}"#
    );
}

#[test]
fn parses_responses_and_events_and_ignores_the_rest() {
    let r = parse(r#"{"type":"res","id":"3","ok":false,"error":{"code":"INVALID_REQUEST","message":"unknown requestId: it expired","details":{"code":"UNKNOWN_REQUEST","reason":"expired"}}}"#).unwrap();
    let Incoming::Response { id, ok, error, .. } = r else {
        panic!("not a response")
    };
    assert_eq!((id.as_str(), ok), ("3", false));
    let error = error.unwrap();
    assert_eq!(error.code, ErrorCode::InvalidRequest);
    assert_eq!(error.gone(), Some(pairing_core::Decision::Expired));
    let e = parse(r#"{"type":"event","event":"tick","payload":{"ts":5}}"#).unwrap();
    assert!(matches!(e, Incoming::Event { seq: None, .. }));
    let e =
        parse(r#"{"type":"event","event":"node.pair.resolved","payload":{},"seq":7,"extra":1}"#)
            .unwrap();
    assert!(matches!(e, Incoming::Event { seq: Some(7), .. }));
    assert_eq!(parse("not json"), None);
    assert_eq!(parse(r#"{"type":"req","id":"1","method":"x"}"#), None);
}
