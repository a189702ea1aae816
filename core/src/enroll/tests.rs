use super::*;

fn payload() -> SetupPayload {
    SetupPayload {
        url: "wss://192.168.1.5:18789".into(),
        urls: None,
        bootstrap_token: "secret-token".into(),
        expires_at_ms: Some(2_000),
        tls_fingerprint: Some("AB:CD".into()),
    }
}

#[test]
fn a_setup_code_round_trips_as_code_and_link_in_openclaws_shape() {
    let p = payload();
    let code = p.encode();
    assert!(
        code.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let json: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&code).unwrap()).unwrap();
    assert_eq!(json["bootstrapToken"], "secret-token");
    assert_eq!(json["expiresAtMs"], 2_000);
    assert_eq!(json["tlsFingerprint"], "AB:CD");
    assert!(json.get("urls").is_none());
    assert_eq!(SetupPayload::decode(&code, 1_000), Ok(p.clone()));
    assert_eq!(
        SetupPayload::decode(&format!("  OC-PAIR://{code}\n"), 1_000),
        Ok(p.clone())
    );
    assert_eq!(p.link(), format!("oc-pair://{code}"));
}

#[test]
fn decoding_refuses_what_openclaws_decoder_refuses() {
    assert_eq!(
        SetupPayload::decode(&payload().encode(), 2_000),
        Err(SetupCodeError::Expired)
    );
    for bad in ["", "oc-pair://", "not base64!", "e30"] {
        assert!(matches!(
            SetupPayload::decode(bad, 0),
            Err(SetupCodeError::Malformed(_))
        ));
    }
    let mut trailing = payload();
    trailing.url = "ws://host:1/".into();
    assert!(SetupPayload::decode(&trailing.encode(), 0).is_err());
    let mut many = payload();
    many.urls = Some(vec!["ws://a:1".into(); MAX_URLS + 1]);
    assert!(SetupPayload::decode(&many.encode(), 0).is_err());
}

#[test]
fn gateway_urls_have_one_normal_form() {
    let n = |u: &str| normalize_gateway_url(u);
    assert_eq!(
        n("ws://127.0.0.1:18789/").as_deref(),
        Some("ws://127.0.0.1:18789")
    );
    assert_eq!(
        n("WSS://Gw.Example:443/oc").as_deref(),
        Some("wss://gw.example:443/oc")
    );
    assert_eq!(n("ws://[::1]:80").as_deref(), Some("ws://[::1]:80"));
    for bad in [
        "http://h:1",
        "ws://",
        "ws://:80",
        "ws://u@h:1",
        "ws://h:1?x",
        "ws://h:99999",
        "ws://h:x",
    ] {
        assert_eq!(n(bad), None, "{bad}");
    }
    assert!(plaintext_beyond_loopback("ws://192.168.1.5:1"));
    assert!(!plaintext_beyond_loopback("ws://127.0.0.1:1"));
    assert!(!plaintext_beyond_loopback("ws://[::1]:1"));
    assert!(!plaintext_beyond_loopback("ws://localhost:1"));
    assert!(!plaintext_beyond_loopback("wss://192.168.1.5:1"));
}

#[test]
fn a_profile_grants_declared_commands_within_its_limits_and_names_devices() {
    let declared = vec!["system.run".to_owned(), "canvas.present".to_owned()];
    let full = Profile::default();
    assert_eq!(full.granted(Some(&declared)), Some(declared.clone()));
    assert_eq!(full.granted(None), None);
    let limited = Profile {
        limited: true,
        ..Profile::default()
    };
    assert_eq!(
        limited.granted(Some(&declared)),
        Some(vec!["canvas.present".to_owned()])
    );
    let listed = Profile {
        commands: Some(vec!["system.run".into()]),
        ..Profile::default()
    };
    assert_eq!(
        listed.granted(Some(&declared)),
        Some(vec!["system.run".to_owned()])
    );
    assert_eq!(listed.access(), "commands");
    let prefixed = Profile {
        name_prefix: Some("ci-".into()),
        ..Profile::default()
    };
    let id = NodeId("0123456789abcdef".into());
    assert_eq!(
        prefixed.name_for(Some("box"), &id).as_deref(),
        Some("ci-box")
    );
    assert_eq!(prefixed.name_for(None, &id).as_deref(), Some("ci-01234567"));
}

#[test]
fn status_and_redemptions_are_bounded() {
    let mut e = Enrollment {
        id: "abcd1234".into(),
        kind: EnrollKind::Key,
        secret_hash: TokenHash::of("s"),
        label: None,
        profile: Profile::default(),
        max_uses: 1_000,
        uses: 0,
        created_at_ms: 0,
        expires_at_ms: 100,
        issued_by: "cli@127.0.0.1".into(),
        revoked_at_ms: None,
        redeemed_by: Vec::new(),
    };
    assert_eq!(e.status(99), Status::Active);
    assert_eq!(e.status(100), Status::Expired);
    for i in 0..200 {
        e.redeem(&NodeId(format!("d{i}")), None, 5);
    }
    assert_eq!((e.uses, e.redeemed_by.len()), (200, MAX_REDEMPTIONS_KEPT));
    assert!(e.redeemed(&NodeId("d199".into())) && !e.redeemed(&NodeId("d0".into())));
    e.revoked_at_ms = Some(50);
    assert_eq!((e.status(10), e.ended_at(10)), (Status::Revoked, Some(50)));
    let json = serde_json::to_string(&e).unwrap();
    assert!(!json.contains("\"s\""));
    assert_eq!(serde_json::from_str::<Enrollment>(&json).unwrap(), e);
}
