use super::*;
use crate::testdata;

#[test]
fn ssh_hosts_are_checked() {
    assert!(check_ssh_host("gw.local", Some("me")).is_ok());
    assert!(check_ssh_host("me@gw.local", Some("me")).is_ok());
    assert!(check_ssh_host("root@gw.local", Some("me")).is_err());
    assert!(check_ssh_host("-oProxyCommand=x", Some("me")).is_err());
    assert!(check_ssh_host("a b", None).is_err());
    assert!(check_ssh_host("", None).is_err());
}

#[test]
fn request_lines_carry_code_and_markers() {
    let now = 1_000_000;
    let p = testdata::pending(
        json!({"requestId": "r1", "nodeId": "n1", "displayName": "pi", "remoteIp": "10.0.0.2",
               "verificationCode": "1234-5678", "silent": true, "isRepair": true,
               "expiresAtMs": now + 180_000}),
    );
    assert_eq!(
        describe_request(&p, now),
        "r1  pi (10.0.0.2)  code 1234-5678  silent  re-pair  expires in 3m"
    );
}

#[test]
fn pending_requests_at_connect_are_sync_lines() {
    let sent = json!({"requestId": "r1", "nodeId": "n1", "verificationCode": "1234-5678", "ts": 5,
                      "expiresAtMs": 6, "isRepair": false, "requiredApproveScopes": []});
    let v = pending_json(&testdata::pending(sent.clone())).unwrap();
    assert_eq!(v["type"], "sync");
    assert_eq!(v["event"], "node.pair.pending");
    assert_eq!(v["payload"], sent, "the request as node.pair.list gave it");
    assert!(v.get("seq").is_none());
}

#[test]
fn colour_only_on_a_terminal_without_no_color() {
    use std::ffi::OsStr;
    assert!(use_colour(true, false, None));
    assert!(use_colour(true, false, Some(OsStr::new(""))));
    assert!(!use_colour(true, false, Some(OsStr::new("1"))));
    assert!(!use_colour(false, false, None));
    assert!(!use_colour(true, true, None));
}

#[test]
fn event_lines_align_and_colour_only_the_word() {
    assert_eq!(line("approved", "r1  pi", false), "approved   r1  pi");
    assert_eq!(
        line("approved", "r1  pi", true),
        "\x1b[1;32mapproved\x1b[0m   r1  pi"
    );
    assert_eq!(
        line("requested", "x", true),
        "\x1b[1;33mrequested\x1b[0m  x"
    );
    // Unknown words are never coloured; long ones are not cut.
    assert_eq!(line("renamedsomething", "x", true), "renamedsomething x");
    for word in ["pending", "rejected", "expired", "superseded", "removed"] {
        assert!(line(word, "x", true).starts_with("\x1b["), "{word}");
        assert!(!line(word, "x", false).contains('\x1b'), "{word}");
    }
}
