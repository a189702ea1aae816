use super::outcome::{Handover, approved_line, granted_line};
use super::*;
use crate::testdata;
use serde_json::json;

#[test]
fn codes_ids_and_queries_are_told_apart() {
    let t = |p: Option<&str>, n: Option<&str>| target(p, n, Family::Nodes);
    assert_eq!(
        t(Some("1234-5678"), None).unwrap(),
        Target::Code("1234-5678".into())
    );
    assert_eq!(
        t(Some("12345678"), None).unwrap(),
        Target::Code("1234-5678".into())
    );
    let uuid = "6f1c0c2e-8a8e-4f0e-9a55-2b8d3c1e7a10";
    assert_eq!(t(Some(uuid), None).unwrap(), Target::Request(uuid.into()));
    assert_eq!(t(None, Some(" pi ")).unwrap(), Target::Node("pi".into()));
    assert_eq!(t(None, None).unwrap(), Target::Sole);
    let blank = t(Some(" "), None).unwrap_err().to_string();
    assert!(
        blank.contains("verification code") && blank.contains("nodes pending"),
        "{blank}"
    );
    let blank = target(Some(" "), None, Family::Devices)
        .unwrap_err()
        .to_string();
    assert!(blank.contains("openclaw devices list"), "{blank}");
    assert!(t(Some("x"), Some("y")).is_err());
}

fn req(rid: &str, name: &str, code: &str) -> Request {
    Request::from_node(&testdata::pending(
        json!({"requestId": rid, "nodeId": format!("node-{rid}"),
           "displayName": name, "remoteIp": "::ffff:10.0.0.2", "verificationCode": code,
           "requiredApproveScopes": ["operator.pairing"], "isRepair": true}),
    ))
}

#[test]
fn no_argument_means_the_only_pending_request() {
    let one = [req("r1", "pi", "1111-2222")];
    let (n, d) = (Family::Nodes, Family::Devices);
    assert_eq!(
        sole(&one, Verb::Approve, n, true, false).unwrap(),
        Sole::Decide(one[0].clone())
    );
    assert_eq!(
        sole(&one, Verb::Approve, n, false, true).unwrap(),
        Sole::Ask(one[0].clone())
    );
    let refused = sole(&one, Verb::Reject, n, false, false)
        .unwrap_err()
        .to_string();
    for want in [
        "--yes",
        "pi (10.0.0.2), code 1111-2222",
        "re-pair",
        "nodes reject CODE",
    ] {
        assert!(refused.contains(want), "{want} missing: {refused}");
    }
    let refused = sole(&one, Verb::Reject, d, false, false)
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("openclaw devices reject CODE"),
        "{refused}"
    );
    let none = sole(&[], Verb::Approve, n, true, true)
        .unwrap_err()
        .to_string();
    assert!(none.contains("no pairing requests are pending"), "{none}");
    let two = [req("r1", "pi", "1111-2222"), req("r2", "mac", "3333-4444")];
    let many = sole(&two, Verb::Approve, n, true, true)
        .unwrap_err()
        .to_string();
    for want in [
        "2 requests are pending",
        "r1 (pi, code 1111-2222)",
        "r2 (mac, code 3333-4444)",
    ] {
        assert!(many.contains(want), "{want} missing: {many}");
    }
}

#[test]
fn a_request_that_replaced_another_is_asked_about_or_refused_unless_yes() {
    let changed = Request::from_node(&testdata::pending(
        json!({"requestId": "r2", "nodeId": "n1",
        "displayName": "pi", "verificationCode": "1111-2222", "caps": ["system"],
        "commands": ["canvas.present", "system.run"],
        "supersedes": {"requestId": "r1", "caps": [], "commands": ["canvas.present"]}}),
    ));
    assert_eq!(
        replaced(&changed, Family::Nodes, true, false).unwrap(),
        Replaced::Go
    );
    let refused = replaced(&changed, Family::Nodes, false, false)
        .unwrap_err()
        .to_string();
    assert_eq!(
        refused,
        "request r2 of pi (code 1111-2222) changed after it was first listed: it replaced request r1 \
         (commands added: system.run; caps added: system); it asks for caps: system; commands: \
         canvas.present, system.run. Check it with `openclaw nodes pending` and approve it by \
         requestId (`openclaw nodes approve r2`), or pass --yes"
    );
    let refused = replaced(&changed, Family::Devices, false, false)
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("`openclaw devices list`")
            && refused.contains("`openclaw devices approve r2`"),
        "{refused}"
    );
    let Replaced::Ask(q) = replaced(&changed, Family::Nodes, false, true).unwrap() else {
        panic!("a terminal is asked");
    };
    assert!(
        q.contains("Careful: it replaced request r1 (commands added: system.run")
            && q.contains("It asks for caps: system; commands: canvas.present, system.run.")
            && q.ends_with("Approve it? [y/N] "),
        "{q}"
    );
    // A request that replaced nothing goes ahead, terminal or not.
    let plain = req("r1", "pi", "1111-2222");
    assert_eq!(
        replaced(&plain, Family::Nodes, false, false).unwrap(),
        Replaced::Go
    );
}

#[test]
fn an_approval_says_what_it_granted() {
    let s = |l: &[&str]| l.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        granted_line(&s(&["system"]), &s(&["canvas.present", "system.run"])),
        "Granted caps: system; commands: canvas.present, system.run."
    );
    assert_eq!(
        granted_line(&[], &[]),
        "Granted caps: none; commands: none."
    );
}

#[test]
fn only_y_or_yes_confirms() {
    for yes in ["y", "Y", "yes", " YES\n"] {
        assert!(is_yes(Some(yes)), "{yes:?}");
    }
    for no in ["", "n", "no", "yep", "approve"] {
        assert!(!is_yes(Some(no)), "{no:?}");
    }
    assert!(!is_yes(None));
}

#[test]
fn the_confirmation_shows_name_ip_code_and_markers() {
    assert_eq!(
        req("r1", "pi", "1111-2222").line(),
        "pi (10.0.0.2), code 1111-2222, request r1, re-pair: the node's token rotates, needs scopes pairing"
    );
}

#[test]
fn the_named_request_is_found_by_id_or_code() {
    let list = [req("r1", "pi", "1111-2222"), req("r2", "mac", "3333-4444")];
    let by_code = named(&list, &Target::Code("3333-4444".into()));
    assert_eq!(by_code.map(|r| r.request_id.as_str()), Some("r2"));
    let by_id = named(&list, &Target::Request("r1".into()));
    assert_eq!(by_id.map(|r| r.request_id.as_str()), Some("r1"));
    assert_eq!(named(&list, &Target::Request("r9".into())), None);
}

#[test]
fn a_device_is_not_told_a_token_comes_by_mail() {
    let line = approved_line("r1", "pi", "d1", Handover::Device { in_place: false });
    assert!(
        line.contains("is paired; it gets its device token when it (re)connects"),
        "{line}"
    );
    assert!(!line.contains("receives its new token"), "{line}");
    let line = approved_line("r1", "pi", "d1", Handover::Device { in_place: true });
    assert!(line.contains("paired in place"), "{line}");
    let line = approved_line("r1", "pi", "d1", Handover::Mail { online: true });
    assert!(
        line.ends_with("is paired; the node receives its new token now, over its open connection."),
        "{line}"
    );
    // A node that quit is told when it gets it: on reconnecting, within the gateway's window.
    let line = approved_line("r1", "pi", "d1", Handover::Mail { online: false });
    assert!(
        line.contains(
            "The node is not connected: it receives its new token when it reconnects within 10 \
             minutes of now"
        ) && line.ends_with("after that it must pair again."),
        "{line}"
    );
    let line = approved_line("r1", "pi", "d1", Handover::Operator);
    assert!(line.contains("printed only with --json"), "{line}");
}
