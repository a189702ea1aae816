use super::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn identity_is_created_once_private_and_reloaded() {
    let d = tempfile::tempdir().unwrap();
    let (a, created) = load_or_create(d.path()).unwrap();
    assert!(created);
    let (b, created) = load_or_create(d.path()).unwrap();
    assert!(!created);
    assert_eq!(a.device_id, b.device_id);
    assert_eq!(a.device_id.len(), 64);
    let f = identity_path(d.path());
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let dir = f.parent().unwrap();
    assert_eq!(
        std::fs::metadata(dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert!(!format!("{a:?}").contains(&URL_SAFE_NO_PAD.encode(a.secret)));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
    assert_eq!(v["publicKey"], a.public_key.as_str());
    assert!(v["createdAtMs"].as_u64().unwrap() > 0);
}

#[test]
fn a_tampered_identity_is_refused_with_the_file_named() {
    let d = tempfile::tempdir().unwrap();
    load_or_create(d.path()).unwrap();
    let f = identity_path(d.path());
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
    v["deviceId"] = json!("00");
    std::fs::write(&f, v.to_string()).unwrap();
    let e = format!("{:#}", load_or_create(d.path()).unwrap_err());
    assert!(
        e.contains("device.json") && e.contains("does not match"),
        "{e}"
    );
}

#[test]
fn proofs_verify_with_the_core() {
    let id = Identity::from_secret([3; 32], 0);
    let device = id.prove("n", "linux");
    let p = pairing_core::proof::DeviceProof {
        id: device.id,
        public_key: device.public_key,
        signature: device.signature,
        signed_at: device.signed_at,
        nonce: device.nonce,
    };
    let fields = SignedFields {
        client_id: NODE_CLIENT_ID,
        client_mode: "node",
        role: "node",
        scopes: &[],
        token: "",
        platform: "linux",
        device_family: "",
    };
    assert!(proof::verify(&p, &fields, "n", p.signed_at, 1000).is_ok());
    assert_eq!(id.verification_code().len(), 9);
}

#[test]
fn token_round_trips_privately() {
    let d = tempfile::tempdir().unwrap();
    assert!(load_token(d.path()).unwrap().is_none());
    let t = NodeToken {
        node_id: "n".into(),
        token: "secret-token".into(),
        url: "ws://127.0.0.1:1/".into(),
        approved_at_ms: 5,
        display_name: Some("pi".into()),
    };
    let f = store_token(d.path(), &t).unwrap();
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(load_token(d.path()).unwrap(), Some(t.clone()));
    assert!(!format!("{t:?}").contains("secret-token"));
}
