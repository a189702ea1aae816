use super::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn created_once_token_kept_port_recorded_extras_preserved() {
    let d = tempfile::tempdir().unwrap();
    let t1 = prepare(d.path(), 1000).unwrap();
    assert_eq!(t1.expose().len(), 43);
    let f = path(d.path());
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
    v["other"] = json!({"keep": true});
    std::fs::write(&f, v.to_string()).unwrap();
    let t2 = prepare(d.path(), 2000).unwrap();
    assert_eq!(t1.expose(), t2.expose());
    let g = read(d.path()).unwrap().unwrap();
    assert_eq!(g.port, Some(2000));
    assert_eq!(g.token.as_deref(), Some(t1.expose()));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
    assert_eq!(v["other"]["keep"], true);
}

#[test]
fn a_saved_token_replaces_the_old_keeps_the_rest_and_lists_retired_hashes() {
    let d = tempfile::tempdir().unwrap();
    let old = prepare(d.path(), 1000).unwrap();
    let f = path(d.path());
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
    v["other"] = json!(1);
    std::fs::write(&f, v.to_string()).unwrap();
    let new = Token::new("n".repeat(43));
    save_token(d.path(), &new, &[old.hash()]).unwrap();
    let g = read(d.path()).unwrap().unwrap();
    assert_eq!(g.token.as_deref(), Some(new.expose()));
    assert_eq!(g.port, Some(1000));
    assert_eq!(read_retired(d.path()).unwrap(), vec![old.hash()]);
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(!text.contains(old.expose()));
    assert!(text.contains("\"other\": 1"));
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The next start keeps the rotated token.
    assert_eq!(prepare(d.path(), 1001).unwrap().expose(), new.expose());
    assert_eq!(read_retired(d.path()).unwrap().len(), 1);
}

#[test]
fn a_symlink_in_place_of_the_file_is_refused_not_written_through() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("elsewhere.json");
    std::fs::write(&target, "{}").unwrap();
    std::os::unix::fs::symlink(&target, path(d.path())).unwrap();
    let e = save_token(d.path(), &Token::new("t".repeat(43)), &[]).unwrap_err();
    assert!(e.to_string().contains("is a symbolic link"), "{e}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "{}");
    assert!(
        std::fs::symlink_metadata(path(d.path()))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn corrupt_config_is_an_error_naming_the_file_and_untouched() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(path(d.path()), "{oops").unwrap();
    let e = prepare(d.path(), 1).unwrap_err();
    assert!(format!("{e:#}").contains("openclaw.json"));
    assert_eq!(std::fs::read_to_string(path(d.path())).unwrap(), "{oops");
    assert_eq!(read(tempfile::tempdir().unwrap().path()).unwrap(), None);
}
