//! Property tests: frame decoding and the gateway's handling of arbitrary frames never panic, always
//! answer in valid JSON, never leak a token hash, and leave the gateway serving.

use crate::wire::parse_request;
use crate::{Config, ConnId, Gateway, MemoryStore, Output, Token};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::net::{IpAddr, Ipv4Addr};

const TOKEN: &str = "prop-token";
const NOW: u64 = 1_795_996_800_000;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "[ -~]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("req"),
            Just("connect"),
            Just("node.pair.approve"),
            Just("node.pair.request"),
            Just("operator"),
            Just("node"),
            Just("requestId"),
            Just("1234-5678"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("type"),
        Just("id"),
        Just("method"),
        Just("params"),
        Just("nodeId"),
        Just("requestId"),
        Just("code"),
        Just("token"),
        Just("minProtocol"),
        Just("maxProtocol"),
        Just("client"),
        Just("role"),
        Just("scopes"),
        Just("auth"),
        Just("device"),
        Just("displayName"),
        Just("caps"),
        Just("commands"),
        Just("silent"),
    ]
    .prop_map(str::to_owned)
}

/// A frame: a request-shaped object with arbitrary parts, any JSON, or any text.
fn frame() -> impl Strategy<Value = String> {
    let methods = prop_oneof![
        Just("connect"),
        Just("node.pair.request"),
        Just("node.pair.list"),
        Just("node.pair.approve"),
        Just("node.pair.reject"),
        Just("node.pair.verify"),
        Just("node.pair.remove"),
        Just("node.rename"),
        Just("node.list"),
        Just("node.describe"),
        Just("nope"),
    ];
    prop_oneof![
        (methods, json_value(), "[a-z0-9]{1,4}").prop_map(|(m, p, id)| {
            json!({"type": "req", "id": id, "method": m, "params": p}).to_string()
        }),
        json_value().prop_map(|v| v.to_string()),
        ".{0,64}",
    ]
}

fn connect_operator(gw: &mut Gateway<MemoryStore>, ip: IpAddr) -> Option<ConnId> {
    let conn = gw.open(NOW, ip).ok()?;
    let hello = json!({"type":"req","id":"c","method":"connect","params":{
        "minProtocol":3,"maxProtocol":3,"role":"operator","scopes":["operator.admin"],
        "client":{"id":"cli","version":"1","platform":"linux","mode":"cli"},"auth":{"token":TOKEN}}});
    gw.frame(NOW, conn, &hello.to_string());
    Some(conn)
}

fn drain(gw: &mut Gateway<MemoryStore>) -> Vec<Output> {
    let _ = gw.commit();
    std::iter::from_fn(|| gw.poll_output()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn decoding_never_panics_and_keeps_ids(text in ".{0,200}", value in json_value()) {
        let _ = parse_request(&text);
        match parse_request(&value.to_string()) {
            Ok(r) => prop_assert!(!r.id.is_empty() && !r.method.is_empty()),
            Err(bad) => prop_assert!(!bad.id.is_empty()),
        }
    }

    #[test]
    fn valid_requests_round_trip(id in "[ -~]{1,40}", method in "[a-z.]{1,30}", params in json_value()) {
        let text = json!({"type":"req","id":id,"method":method,"params":params}).to_string();
        let r = parse_request(&text).expect("a well-formed request parses");
        prop_assert_eq!(r.id, id);
        prop_assert_eq!(r.method, method);
    }

    #[test]
    fn arbitrary_frames_never_break_the_gateway(
        before in prop::collection::vec(frame(), 0..4),
        after in prop::collection::vec(frame(), 0..12),
    ) {
        let mut gw = Gateway::new(Config::new(Token::new(TOKEN)), [3; 32], MemoryStore::new(), NOW)
            .expect("memory store");
        let ip = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));
        // One connection gets garbage before its handshake, one after.
        let raw = gw.open(NOW, ip).expect("open");
        for f in &before {
            gw.frame(NOW, raw, f);
        }
        let op = connect_operator(&mut gw, ip).expect("open");
        for f in &after {
            gw.frame(NOW, op, f);
        }
        for out in drain(&mut gw) {
            if let Output::Send { text, .. } = out {
                let v: Value = serde_json::from_str(&text).expect("every output is JSON");
                prop_assert!(!text.contains("tokenHash"));
                if v["type"] == "res" {
                    prop_assert!(v["id"].as_str().is_some_and(|id| !id.is_empty()));
                }
            }
        }
        // The gateway still serves a fresh operator.
        let fresh = connect_operator(&mut gw, IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("open");
        gw.frame(NOW, fresh, r#"{"type":"req","id":"l","method":"node.pair.list"}"#);
        let outs = drain(&mut gw);
        let served = outs.iter().any(|o| matches!(o, Output::Send { conn, text } if *conn == fresh && text.contains("\"id\":\"l\"") && text.contains("\"ok\":true")));
        prop_assert!(served);
    }
}
