use super::*;
use crate::testdata;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

fn key(n: u8) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(&[n; 32])
        .verifying_key()
        .to_bytes()
}

fn request(k: &[u8; 32]) -> Value {
    json!({"requestId": "r1", "nodeId": device_id(k), "publicKey": URL_SAFE_NO_PAD.encode(k),
           "silent": true, "isRepair": false})
}

fn identity(k: &[u8; 32], public_key: String) -> Answer {
    Ok(json!({"deviceId": device_id(k), "publicKey": public_key})
        .to_string()
        .into_bytes())
}

#[test]
fn only_the_requests_own_key_on_the_host_is_proof() {
    let (mine, other) = (key(1), key(2));
    let req = request(&mine);
    let own = identity(&mine, URL_SAFE_NO_PAD.encode(mine));
    let req = testdata::pending(req);
    assert_eq!(judge("gw", &req, own), Verdict::Proven);
    // The same key in standard base64 with padding is the same key.
    let padded = identity(&mine, STANDARD.encode(mine));
    assert_eq!(judge("gw", &req, padded), Verdict::Proven);
    let Verdict::Refused(why) = judge("gw", &req, identity(&other, URL_SAFE_NO_PAD.encode(other)))
    else {
        panic!("another key passed")
    };
    assert!(
        why.starts_with("the node on gw has another device key"),
        "{why}"
    );
    // A right key under a wrong device id does not pass either.
    let lying = Ok(
        json!({"deviceId": device_id(&other), "publicKey": URL_SAFE_NO_PAD.encode(mine)})
            .to_string()
            .into_bytes(),
    );
    assert!(matches!(judge("gw", &req, lying), Verdict::Refused(w) if w.contains("device ids")));
}

#[test]
fn no_key_a_re_pair_no_answer_or_garbage_is_left_for_a_person() {
    let mine = key(1);
    let own = || identity(&mine, URL_SAFE_NO_PAD.encode(mine));
    let mut no_key = request(&mine);
    no_key.as_object_mut().unwrap().remove("publicKey");
    let refused =
        |req: &Value, answer: Answer| match judge("gw", &testdata::pending(req.clone()), answer) {
            Verdict::Refused(why) => why,
            Verdict::Proven => panic!("approved: {req}"),
        };
    assert!(refused(&no_key, own()).contains("carries no device key"));
    let mut repair = request(&mine);
    repair["isRepair"] = json!(true);
    assert!(refused(&repair, own()).contains("first pairing only"));
    let mut bad = request(&mine);
    bad["publicKey"] = json!("AAAA");
    assert!(refused(&bad, own()).contains("not a raw Ed25519 key"));
    let req = request(&mine);
    assert_eq!(refused(&req, Err("ssh said no".into())), "ssh said no");
    for junk in [&b"not json"[..], b"{}", b"{\"deviceId\":\"x\"}"] {
        assert!(
            refused(&req, Ok(junk.to_vec())).starts_with("gw printed no node identity"),
            "{junk:?}"
        );
    }
}

#[test]
fn stderr_is_cut_to_one_printable_line() {
    assert_eq!(
        first_line(b"\n  ssh: connect to host gw port 22: Connection refused\r\nmore\n").as_deref(),
        Some("ssh: connect to host gw port 22: Connection refused")
    );
    assert_eq!(first_line(b"\x1b[31mred\x07\n").as_deref(), Some("[31mred"));
    assert_eq!(first_line(b" \n"), None);
    assert_eq!(first_line(&[b'x'; 500]).map(|l| l.len()), Some(160));
}
