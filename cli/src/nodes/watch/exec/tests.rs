use super::*;
use serde_json::json;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn the_environment_names_the_event_without_control_characters() {
    let env = env_of(
        "node.pair.requested",
        &json!({"requestId": "r1", "nodeId": "n1", "displayName": "evil\nname\u{1b}[31m",
                "verificationCode": "1234-5678"}),
    );
    let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("OPENCLAW_EVENT"), Some("node.pair.requested"));
    assert_eq!(get("OPENCLAW_REQUEST_ID"), Some("r1"));
    assert_eq!(get("OPENCLAW_DISPLAY_NAME"), Some("evilname[31m"));
    assert_eq!(get("OPENCLAW_VERIFICATION_CODE"), Some("1234-5678"));
    assert_eq!(get("OPENCLAW_DECISION"), None);
}

#[test]
fn a_run_gets_stdin_and_env_and_failures_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cmd = format!(
        "cat > '{0}'; printf '%s' \"$OPENCLAW_EVENT\" >> '{0}'",
        out.display()
    );
    let env = vec![("OPENCLAW_EVENT", "node.pair.resolved".to_owned())];
    let t = Duration::from_secs(20);
    rt().block_on(run(&cmd, "{\"x\":1}", &env, t, false))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "{\"x\":1}\nnode.pair.resolved"
    );
    let e = rt()
        .block_on(run("exit 3", "{}", &env, t, false))
        .unwrap_err();
    assert!(matches!(&e, Failure::Exit(s) if s.contains('3')), "{e}");
    // Past the deadline the command is killed (the deadline is short; the command would take far
    // longer).
    let short = Duration::from_millis(200);
    let e = rt()
        .block_on(run("sleep 30", "{}", &env, short, false))
        .unwrap_err();
    assert_eq!(e, Failure::Timeout(short));
}
