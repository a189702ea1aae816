use super::*;

#[test]
fn incoming_frames_are_wiped_once_the_core_has_them_and_admission_is_told() {
    use pairing_core::{Config, Token};
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path());
    let gw = Gateway::new(
        Config::new(Token::new("gw-token")),
        [1; 32],
        store,
        now_ms(),
    )
    .unwrap();
    let (deadline, _) = watch::channel(None);
    let mut d = Driver {
        gw,
        router: Router::default(),
        deadline,
        notifier: None,
    };
    let out = Arc::new(Outbox::new());
    let conn = d.gw.open(now_ms(), "127.0.0.1".parse().unwrap()).unwrap();
    d.router.add(conn, out.clone());
    let mut text = serde_json::json!({"type": "req", "id": "1", "method": "connect", "params": {
        "minProtocol": 3, "maxProtocol": 3, "role": "operator", "scopes": ["operator.read"],
        "client": {"id": "cli", "version": "1", "platform": "linux", "mode": "cli"},
        "auth": {"token": "gw-token"}}})
    .to_string();
    assert!(!out.is_admitted());
    d.frame(now_ms(), conn, &mut text);
    assert!(text.is_empty(), "the frame with the token was wiped");
    assert!(out.is_admitted(), "the socket learnt it was admitted");
}
