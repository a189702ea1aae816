use super::*;

fn config(port: Option<u16>, token: Option<&str>) -> Option<GatewayFile> {
    Some(GatewayFile {
        port,
        token: token.map(str::to_owned),
        tls_fingerprint: None,
    })
}

#[test]
fn loopback_is_127_8_ipv6_one_and_localhost() {
    for h in [
        "127.0.0.1",
        "127.9.8.7",
        "::1",
        "localhost",
        "LOCALHOST",
        "localhost.",
    ] {
        assert!(is_loopback_host(h), "{h}");
    }
    for h in [
        "0.0.0.0",
        "10.0.0.1",
        "::",
        "example.com",
        "localhost.example.com",
        "128.0.0.1",
    ] {
        assert!(!is_loopback_host(h), "{h}");
    }
}

#[test]
fn urls_are_parsed_and_plaintext_to_other_hosts_refused() {
    let u = parse_url("ws://127.0.0.1:18789", false).unwrap();
    assert_eq!(u.url, "ws://127.0.0.1:18789/");
    assert!(u.loopback);
    let u = parse_url("ws://[::1]:9/x", false).unwrap();
    assert_eq!((u.host.as_str(), u.loopback), ("::1", true));
    let e = parse_url("ws://192.168.1.5:18789/", false).unwrap_err();
    assert!(e.to_string().contains("--allow-plaintext"), "{e}");
    let u = parse_url("ws://192.168.1.5:18789/", true).unwrap();
    assert!(!u.loopback);
    let u = parse_url("wss://gw.example:443", false).unwrap();
    assert_eq!(
        (u.url.as_str(), u.host.as_str(), u.loopback, u.tls),
        ("wss://gw.example:443/", "gw.example", false, true)
    );
    assert!(!parse_url("ws://127.0.0.1:1/", false).unwrap().tls);
    assert!(parse_url("http://127.0.0.1/", true).is_err());
    assert!(parse_url("ws://:80/", true).is_err());
    assert!(
        !parse_url("ws://127.0.0.1@evil.example/", true)
            .unwrap()
            .loopback
    );
}

#[test]
fn url_precedence_flag_env_remembered_config() {
    let mut s = Sources {
        config: config(Some(4000), Some("cfg")),
        ..Sources::default()
    };
    assert_eq!(resolve_url(&s).unwrap().url, "ws://127.0.0.1:4000/");
    s.config = None;
    assert_eq!(resolve_url(&s).unwrap().url, "ws://127.0.0.1:18789/");
    s.remembered_url = Some("ws://127.0.0.2:1/".into());
    assert_eq!(resolve_url(&s).unwrap().url, "ws://127.0.0.2:1/");
    s.env_url = Some("ws://127.0.0.3:1/".into());
    assert_eq!(resolve_url(&s).unwrap().url, "ws://127.0.0.3:1/");
    s.flag_url = Some("ws://localhost:2/".into());
    assert_eq!(resolve_url(&s).unwrap().url, "ws://localhost:2/");
}

#[test]
fn config_token_only_goes_to_loopback() {
    let mut s = Sources {
        config: config(None, Some("cfg")),
        ..Sources::default()
    };
    assert_eq!(resolve(&s).unwrap().token.as_deref(), Some("cfg"));
    s.flag_url = Some("ws://10.1.2.3:18789/".into());
    s.allow_plaintext = true;
    assert_eq!(resolve(&s).unwrap().token, None);
    let e = resolve_operator(&s).unwrap_err().to_string();
    assert!(e.contains("only to loopback"), "{e}");
    s.env_token = Some("env".into());
    assert_eq!(resolve(&s).unwrap().token.as_deref(), Some("env"));
    s.flag_token = Some("flag".into());
    assert_eq!(resolve(&s).unwrap().token.as_deref(), Some("flag"));
    s.flag_url = Some("ws://[::1]:18789/".into());
    s.flag_token = None;
    s.env_token = Some("  ".into());
    assert_eq!(resolve(&s).unwrap().token.as_deref(), Some("cfg"));
}

#[test]
fn wss_carries_the_ca_and_keeps_the_config_token_to_loopback() {
    let mut s = Sources {
        config: config(None, Some("cfg")),
        flag_url: Some("wss://gw.example:18789/".into()),
        ca: Some("ca.pem".into()),
        ..Sources::default()
    };
    let ep = resolve(&s).unwrap();
    assert_eq!(
        ep.url.trust.ca.as_deref(),
        Some(std::path::Path::new("ca.pem"))
    );
    assert_eq!(ep.token, None);
    s.flag_url = Some("wss://127.0.0.1:18789/".into());
    assert_eq!(resolve(&s).unwrap().token.as_deref(), Some("cfg"));
}

#[test]
fn missing_token_on_loopback_says_where_to_get_one() {
    let s = Sources::default();
    let e = resolve_operator(&s).unwrap_err().to_string();
    assert!(e.contains("OPENCLAW_GATEWAY_TOKEN"), "{e}");
}

#[test]
fn this_machines_tls_gateway_is_reached_over_wss_pinned_to_its_recorded_fingerprint() {
    let fp = "ab".repeat(32);
    let mut s = Sources {
        config: Some(GatewayFile {
            port: Some(4000),
            token: Some("cfg".into()),
            tls_fingerprint: Some(fp.clone()),
        }),
        ..Sources::default()
    };
    let ep = resolve(&s).unwrap();
    assert_eq!(ep.url.url, "wss://127.0.0.1:4000/");
    assert_eq!(
        ep.url.trust.fingerprint,
        Some(Fingerprint::parse(&fp).unwrap())
    );
    assert_eq!(ep.token.as_deref(), Some("cfg"));
    // A URL given elsewhere is not pinned to this machine's certificate.
    s.flag_url = Some("wss://gw.example:1/".into());
    let url = resolve_url(&s).unwrap();
    assert_eq!(url.url, "wss://gw.example:1/");
    assert_eq!(url.trust.fingerprint, None);
}
