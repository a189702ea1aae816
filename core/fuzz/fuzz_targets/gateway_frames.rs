//! Fuzzes everything a client can send: the input is split into frames (at 0xFF bytes) that go to
//! three connections — one raw (its first frame is taken as the handshake), one operator and one
//! node that completed their handshakes — with the clock moving between frames. The gateway must
//! never panic, and every output must be JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pairing_core::proof::{self, SignedFields};
use pairing_core::{Config, Gateway, MemoryStore, Output, Token};
use std::net::{IpAddr, Ipv4Addr};

const NOW: u64 = 1_795_996_800_000;

fuzz_target!(|data: &[u8]| {
    let mut gw = Gateway::new(Config::new(Token::new("fuzz")), [1; 32], MemoryStore::new(), NOW)
        .expect("memory store");
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let raw = gw.open(NOW, ip).expect("open");
    let op = gw.open(NOW, ip).expect("open");
    gw.frame(NOW, op, r#"{"type":"req","id":"c","method":"connect","params":{"minProtocol":3,"maxProtocol":3,"role":"operator","scopes":["operator.admin"],"client":{"id":"cli","version":"1","platform":"linux","mode":"cli"},"auth":{"token":"fuzz"}}}"#);
    let node = gw.open(NOW, ip).expect("open");
    let _ = gw.commit();
    let mut nonce = String::new();
    while let Some(o) = gw.poll_output() {
        if let Output::Send { conn, text } = o
            && conn == node
            && let Some(i) = text.find("\"nonce\":\"")
        {
            nonce = text[i + 9..].chars().take_while(|c| *c != '"').collect();
        }
    }
    let key = [9u8; 32];
    let fields = SignedFields::node("node-host", "node", "linux", "");
    let p = proof::sign(&key, &fields, NOW, &nonce);
    gw.frame(NOW, node, &format!(
        r#"{{"type":"req","id":"c","method":"connect","params":{{"minProtocol":3,"maxProtocol":3,"role":"node","scopes":[],"client":{{"id":"node-host","version":"1","platform":"linux","mode":"node"}},"device":{{"id":"{}","publicKey":"{}","signature":"{}","signedAt":{},"nonce":"{}"}}}}}}"#,
        p.id, p.public_key, p.signature, p.signed_at, nonce
    ));
    let conns = [raw, op, node];
    let mut now = NOW;
    for (i, chunk) in data.split(|b| *b == 0xFF).enumerate() {
        let text = String::from_utf8_lossy(chunk);
        now += u64::from(chunk.first().copied().unwrap_or(0)) * 1000;
        gw.frame(now, conns[i % 3], &text);
        if i % 4 == 3 {
            gw.wake(now);
        }
    }
    let _ = gw.commit();
    while let Some(o) = gw.poll_output() {
        if let Output::Send { text, .. } = o {
            assert!(serde_json_is_object(&text), "output is not a JSON object: {text}");
        }
    }
});

fn serde_json_is_object(text: &str) -> bool {
    text.starts_with('{') && text.ends_with('}')
}
