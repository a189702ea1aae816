use super::*;
use crate::ids::{ConnId, NodeId, RequestId};

fn notice(what: What) -> Notice {
    Notice {
        what,
        node_id: NodeId("node-1".into()),
        request_id: Some(RequestId("req-1".into())),
        display_name: Some("Kitchen Pi".into()),
        remote_ip: Some("10.0.0.7".into()),
        code: Some("1234-5678".into()),
        by: Actor::Conn {
            role: "operator",
            client_id: "cli".into(),
            conn_id: ConnId(3),
            remote_ip: "127.0.0.1".into(),
        },
        approved_via: None,
        device: false,
        enrollment: None,
    }
}

#[test]
fn requests_and_resolutions_make_readable_payloads_others_none() {
    let p = payload(&notice(What::Decision(Action::Requested)), 42).unwrap();
    assert_eq!(p.event, EventName::Requested);
    assert_eq!(p.ts, 42);
    assert!(p.text.contains("Kitchen Pi (node-1)"), "{}", p.text);
    assert!(
        p.text.contains("10.0.0.7") && p.text.contains("1234-5678"),
        "{}",
        p.text
    );
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["event"], "node.pair.requested");
    assert_eq!(json["verificationCode"], "1234-5678");
    assert!(json.get("decision").is_none());

    let r = payload(&notice(What::Decision(Action::Rejected)), 43).unwrap();
    assert_eq!(
        (r.event, r.decision),
        (EventName::Resolved, Some("rejected"))
    );
    assert!(
        r.text.contains("rejected (by operator cli from 127.0.0.1)"),
        "{}",
        r.text
    );
    // A retry of the same delivery keeps its id; another event of the request gets another.
    assert_eq!(
        r.id,
        payload(&notice(What::Decision(Action::Rejected)), 99)
            .unwrap()
            .id
    );
    assert_ne!(r.id, p.id);

    for what in [
        What::Decision(Action::Removed),
        What::Decision(Action::TokenRotated),
        What::RateLimited { retry_after_ms: 5 },
        What::Dropped(3),
    ] {
        assert_eq!(payload(&notice(what), 1), None, "{what:?}");
    }
}

#[test]
fn device_made_requests_are_device_events() {
    let mut n = notice(What::Decision(Action::Requested));
    n.device = true;
    assert_eq!(payload(&n, 1).unwrap().event, EventName::DeviceRequested);
    n.what = What::Decision(Action::Approved);
    let p = payload(&n, 2).unwrap();
    assert_eq!(p.event, EventName::DeviceResolved);
    assert_eq!(
        serde_json::to_value(&p).unwrap()["event"],
        "device.pair.resolved"
    );
    assert_eq!(
        ntfy_headers(&p)
            .iter()
            .find(|h| h.0 == "X-Priority")
            .unwrap()
            .1,
        "3"
    );
}

#[test]
fn ntfy_headers_template_the_body_and_raise_requests() {
    let p = payload(&notice(What::Decision(Action::Requested)), 1).unwrap();
    let h = ntfy_headers(&p);
    let get = |k: &str| h.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("X-Template"), Some("yes"));
    assert_eq!(get("X-Message"), Some("{{.text}}"));
    assert_eq!(get("X-Title"), Some("{{.title}}"));
    assert_eq!(get("X-Priority"), Some("4"));
}

#[test]
fn the_signature_is_rfc_4231_hmac_sha256_and_verifies_within_the_window() {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?" — split as "TS.BODY"
    // would not fit, so check the MAC itself through a timestamp-free message shape.
    let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
    mac.update(b"what do ya want for nothing?");
    assert_eq!(
        hex(&mac.finalize().into_bytes()),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    let secret = b"0123456789abcdef0123";
    let body = br#"{"event":"node.pair.requested"}"#;
    let sig = sign(secret, 1_700_000_000, body);
    assert!(sig.starts_with("v1=") && sig.len() == 3 + 64, "{sig}");
    let ok = |ts: &str, s: &str, b: &[u8], now| verify(secret, Some(ts), Some(s), b, now);
    assert_eq!(ok("1700000000", &sig, body, 1_700_000_100), Ok(()));
    assert_eq!(
        ok(
            "1700000000",
            &sig,
            body,
            1_700_000_000 + REPLAY_WINDOW_SECS + 1
        ),
        Err(VerifyError::Stale)
    );
    assert_eq!(
        ok("1700000001", &sig, body, 1_700_000_000),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(
        ok("1700000000", &sig, b"{}", 1_700_000_000),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(
        verify(secret, None, Some(&sig), body, 0),
        Err(VerifyError::NoTimestamp)
    );
}
