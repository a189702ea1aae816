use super::*;

#[test]
fn a_second_lock_is_refused_naming_the_owner_and_released_on_drop() {
    let d = tempfile::tempdir().unwrap();
    let mut first = StateLock::acquire(d.path()).unwrap();
    first.listening(4321).unwrap();
    let e = StateLock::acquire(d.path()).unwrap_err().to_string();
    assert!(
        e.contains(&format!("pid {}, port 4321", std::process::id())),
        "{e}"
    );
    assert!(e.contains("OPENCLAW_STATE_DIR"), "{e}");
    drop(first);
    let again = StateLock::acquire(d.path()).unwrap();
    assert_eq!(
        StateLock::owner(d.path()).unwrap(),
        Owner {
            pid: Some(std::process::id()),
            port: None
        }
    );
    drop(again);
}

#[test]
fn a_linked_lock_file_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("elsewhere");
    std::fs::write(&target, "keep").unwrap();
    std::os::unix::fs::symlink(&target, d.path().join(FILE)).unwrap();
    let e = StateLock::acquire(d.path()).unwrap_err().to_string();
    assert!(e.contains("gateway.lock is a symbolic link"), "{e}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
}
