use super::*;

#[test]
fn atomic_write_is_private_and_replaces() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("a/b");
    private_dir(&dir).unwrap();
    assert_eq!(
        fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let f = dir.join("x.json");
    write_atomic(&f, b"one").unwrap();
    write_atomic(&f, b"two").unwrap();
    assert_eq!(fs::read(&f).unwrap(), b"two");
    assert_eq!(
        fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        1,
        "no temp file left behind"
    );
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn files_are_private_and_created_once() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("a/b/secret.json");
    assert!(create_private(&f, b"one").unwrap());
    assert!(!create_private(&f, b"two").unwrap());
    assert_eq!(fs::read(&f).unwrap(), b"one");
    assert_eq!(mode(&f), 0o600);
    assert_eq!(mode(&d.path().join("a/b")), 0o700);
    write_private(&f, b"three").unwrap();
    assert_eq!(fs::read(&f).unwrap(), b"three");
    assert_eq!(mode(&f), 0o600);
    let g = d.path().join("c/d/other.json");
    write_private(&g, b"four").unwrap();
    assert_eq!(fs::read(&g).unwrap(), b"four");
    assert_eq!(mode(&d.path().join("c/d")), 0o700);
    let leftovers = fs::read_dir(d.path().join("a/b")).unwrap().count();
    assert_eq!(leftovers, 1, "no temp files left behind");
}

#[test]
fn text_is_read_without_following_a_link_and_must_be_utf8() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("theirs.json");
    fs::write(&target, "{}").unwrap();
    let f = d.path().join("token.json");
    std::os::unix::fs::symlink(&target, &f).unwrap();
    let e = read_private_text(&f).unwrap_err();
    let line = describe(&f, "cannot read", &e);
    assert!(
        line.starts_with(&format!("{} is a symbolic link", f.display())),
        "{line}"
    );
    assert_eq!(read_private_text(&d.path().join("none")).unwrap(), None);
    let text = d.path().join("text.json");
    fs::write(&text, "{\"a\": 1}").unwrap();
    assert_eq!(
        read_private_text(&text).unwrap().as_deref(),
        Some("{\"a\": 1}")
    );
    let binary = d.path().join("binary");
    fs::write(&binary, [0xff, 0xfe]).unwrap();
    let e = read_private_text(&binary).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    assert_eq!(
        describe(&binary, "cannot read", &e),
        format!("{} is not UTF-8 text", binary.display())
    );
}
