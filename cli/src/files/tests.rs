use super::*;

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_linked_file_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("theirs.json");
    fs::write(&target, "{}").unwrap();
    let f = d.path().join("token.json");
    std::os::unix::fs::symlink(&target, &f).unwrap();
    let e = read_private_text(&f).unwrap_err().to_string();
    assert!(e.contains("token.json is a symbolic link"), "{e}");
    assert_eq!(read_private_text(&d.path().join("none")).unwrap(), None);
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
    let leftovers = fs::read_dir(d.path().join("a/b")).unwrap().count();
    assert_eq!(leftovers, 1, "no temp files left behind");
}
