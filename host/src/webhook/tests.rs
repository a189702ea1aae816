use super::*;

#[test]
fn urls_parse_with_their_path_kept_out_of_logs() {
    let t = parse("https://ntfy.sh/my-secret-topic").unwrap();
    assert!(t.https);
    assert_eq!((t.host.as_str(), t.port), ("ntfy.sh", 443));
    assert_eq!(t.path, "/my-secret-topic");
    assert_eq!(t.shown, "https://ntfy.sh/…");
    assert!(!t.shown.contains("secret"));
    let t = parse("http://127.0.0.1:8080/hook?x=1").unwrap();
    assert_eq!(
        (t.https, t.port, t.path.as_str()),
        (false, 8080, "/hook?x=1")
    );
    assert_eq!(t.authority, "127.0.0.1:8080");
    let t = parse("http://[::1]:9/").unwrap();
    assert_eq!(t.host, "::1");
    for bad in ["ftp://x/", "not a url", "/just/a/path"] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_short_or_missing_secret_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short");
    std::fs::write(&short, "tooshort\n").unwrap();
    let e = read_secret(&short).unwrap_err().to_string();
    assert!(e.contains("at least 16 bytes"), "{e}");
    assert!(read_secret(&dir.path().join("absent")).is_err());
    let good = dir.path().join("good");
    std::fs::write(&good, "  0123456789abcdef0123  \n").unwrap();
    assert_eq!(&read_secret(&good).unwrap()[..], b"0123456789abcdef0123");
}
