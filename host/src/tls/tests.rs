use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn self_signed() -> (String, String) {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    (c.cert.pem(), c.signing_key.serialize_pem())
}

#[test]
fn a_matching_cert_and_key_load() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed();
    let files = TlsFiles {
        cert: write(dir.path(), "cert.pem", &cert),
        key: write(dir.path(), "key.pem", &key),
    };
    let config = load(&files).unwrap();
    assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
}

#[test]
fn bad_files_are_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed();
    let (_, other_key) = self_signed();
    let cert = write(dir.path(), "cert.pem", &cert);
    let key = write(dir.path(), "key.pem", &key);
    let other_key = write(dir.path(), "other-key.pem", &other_key);
    let junk = write(dir.path(), "junk.pem", "not pem at all\n");
    let missing = dir.path().join("missing.pem");
    let cases = [
        (missing.clone(), key.clone(), missing.clone()),
        (junk.clone(), key.clone(), junk.clone()),
        (key.clone(), key.clone(), key.clone()),
        (cert.clone(), cert.clone(), cert.clone()),
        (cert.clone(), junk.clone(), junk.clone()),
        (cert.clone(), other_key.clone(), other_key.clone()),
    ];
    for (c, k, named) in cases {
        let e = load(&TlsFiles { cert: c, key: k }).unwrap_err();
        let line = format!("{e:#}");
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains(&named.display().to_string()), "{line}");
    }
    let e = format!(
        "{:#}",
        load(&TlsFiles {
            cert,
            key: other_key
        })
        .unwrap_err()
    );
    assert!(e.contains("does not belong"), "{e}");
}
