use super::*;

#[test]
fn an_empty_directory_is_not_a_gateway_host() {
    let dir = tempfile::tempdir().unwrap();
    let s = HostState::read(dir.path());
    assert!(!s.is_gateway_host());
    assert!(!s.alive);
    assert_eq!(s.port(), gateway_config::DEFAULT_PORT);
}

#[test]
fn the_lock_names_a_live_pid_and_the_config_a_port() {
    let dir = tempfile::tempdir().unwrap();
    let token = gateway_config::prepare(dir.path(), 18999).unwrap();
    assert!(!token.expose().is_empty());
    std::fs::write(dir.path().join(lock::FILE), "{\"pid\":1,\"port\":18998}").unwrap();
    let s = HostState::read(dir.path());
    assert!(s.is_gateway_host());
    assert!(!s.alive, "nobody holds the lock");
    assert_eq!(s.port(), 18999, "a stopped gateway: the config's port");
    let held = StateLock::acquire(dir.path()).unwrap();
    let s = HostState::read(dir.path());
    assert!(s.alive, "the lock is held");
    drop(held);
    assert!(!HostState::read(dir.path()).alive);
}
