use super::*;

fn ca_trust(path: &Path) -> Trust {
    Trust {
        ca: Some(path.to_owned()),
        fingerprint: None,
    }
}

#[test]
fn ca_files_are_read_or_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let good = dir.path().join("ca.pem");
    std::fs::write(&good, cert.cert.pem()).unwrap();
    assert!(client_config(&ca_trust(&good)).is_ok());
    let key_only = dir.path().join("key.pem");
    std::fs::write(&key_only, cert.signing_key.serialize_pem()).unwrap();
    let missing = dir.path().join("missing.pem");
    for bad in [key_only, missing] {
        let e = format!("{:#}", client_config(&ca_trust(&bad)).unwrap_err());
        assert!(e.contains(&bad.display().to_string()), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}

/// A self-signed certificate for localhost; `ca`: marked a CA, as `openssl req -x509` does.
fn self_signed(ca: bool) -> (CertificateDer<'static>, String) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    if ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.der().clone(), cert.pem())
}

fn check(trust: &Trust, leaf: &CertificateDer<'_>) -> Result<ServerCertVerified, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let v = GatewayVerifier::new(trust, &provider).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    v.verify_server_cert(leaf, &[], &name, &[], UnixTime::now())
}

#[test]
fn a_ca_flagged_self_signed_certificate_given_with_ca_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let (leaf, pem) = self_signed(true);
    let file = dir.path().join("gw.pem");
    std::fs::write(&file, pem).unwrap();
    // Chain validation alone refuses it — what `--ca` did before.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(leaf.clone()).unwrap();
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let refused = webpki.verify_server_cert(&leaf, &[], &name, &[], UnixTime::now());
    let Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(e))) = refused else {
        panic!("{refused:?}")
    };
    assert!(is_ca_used_as_end_entity(&e), "{e:?}");
    let io = std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(e)),
    );
    let line = explain(&tokio_tungstenite::tungstenite::Error::Io(io), "wss://x/").unwrap();
    assert!(
        line.contains("it is a CA certificate used as the server's own"),
        "{line}"
    );
    assert!(check(&ca_trust(&file), &leaf).is_ok());
    // Another certificate of the same kind is not trusted by it.
    let (stranger, _) = self_signed(true);
    assert!(check(&ca_trust(&file), &stranger).is_err());
    // A plain (non-CA) self-signed certificate keeps working.
    let (plain, pem) = self_signed(false);
    std::fs::write(&file, pem).unwrap();
    assert!(check(&ca_trust(&file), &plain).is_ok());
}

#[test]
fn a_fingerprint_pins_the_leaf_alone_or_with_ca() {
    let (leaf, pem) = self_signed(true);
    let right = Fingerprint::of(&leaf);
    let wrong = Fingerprint([7; 32]);
    let pin = |fingerprint| Trust {
        ca: None,
        fingerprint: Some(fingerprint),
    };
    assert!(check(&pin(right), &leaf).is_ok());
    let Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(e))) =
        check(&pin(wrong), &leaf)
    else {
        panic!("a wrong pin passed")
    };
    let line = e.0.to_string();
    assert!(
        line.contains(&format!("it presented SHA-256 {right}, expected {wrong}")),
        "{line}"
    );
    // With --ca too, both must hold.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gw.pem");
    std::fs::write(&file, pem).unwrap();
    let both = |fingerprint| Trust {
        ca: Some(file.clone()),
        fingerprint: Some(fingerprint),
    };
    assert!(check(&both(right), &leaf).is_ok());
    assert!(check(&both(wrong), &leaf).is_err());
}

#[test]
fn fingerprints_read_the_forms_people_copy() {
    let hex = "ab".repeat(32);
    let want = Fingerprint([0xab; 32]);
    let colons = vec!["AB"; 32].join(":");
    for text in [
        hex.clone(),
        hex.to_uppercase(),
        colons.clone(),
        format!("sha256:{hex}"),
        format!("SHA256:{colons}"),
        format!("SHA-256 {colons}"),
        format!("sha256 Fingerprint={colons}"),
        format!("  {} ", vec!["ab"; 32].join(" ")),
    ] {
        assert_eq!(Fingerprint::parse(&text), Ok(want), "{text}");
    }
    for bad in [
        "ab".repeat(31),
        "ab".repeat(33),
        format!("{}zz", "ab".repeat(31)),
        "md5:00".to_owned(),
        String::new(),
    ] {
        let e = Fingerprint::parse(&bad).unwrap_err();
        assert!(e.contains("64 hex digits"), "{bad}: {e}");
    }
    assert_eq!(want.to_string(), colons);
}

#[test]
fn untrusted_certificates_get_the_clear_line() {
    let io = std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
    );
    let line = explain(
        &tokio_tungstenite::tungstenite::Error::Io(io),
        "wss://127.0.0.1:1/",
    )
    .unwrap();
    assert!(
        line.starts_with("the gateway's TLS certificate is not trusted: ")
            && line.ends_with("use --ca FILE or --tls-fingerprint SHA256)"),
        "{line}"
    );
    let pin = PinMismatch {
        presented: Fingerprint([1; 32]),
        expected: Fingerprint([2; 32]),
    };
    let io = std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
            Arc::new(pin),
        ))),
    );
    let line = explain(&tokio_tungstenite::tungstenite::Error::Io(io), "wss://x/").unwrap();
    assert!(
        line.starts_with("the gateway's TLS certificate does not match --tls-fingerprint: ")
            && line.ends_with("(wss://x/)"),
        "{line}"
    );
    let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    assert_eq!(
        explain(&tokio_tungstenite::tungstenite::Error::Io(refused), "x"),
        None
    );
}
