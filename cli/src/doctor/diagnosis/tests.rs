use super::*;
use crate::doctor::gather::Local;
use crate::doctor::history::short_key;
use crate::testdata;
use pairing_core::audit::{Action, Actor, AuditEntry, Head};
use pairing_core::ids::{ConnId, NodeId, RequestId};
use serde_json::{Value, json};

const DEV: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const URL: &str = "ws://127.0.0.1:18789/";

fn lists(pending: Vec<Value>, paired: Vec<Value>) -> Operator {
    Operator::Lists {
        nodes: paired.iter().cloned().map(testdata::entry).collect(),
        pending: pending.into_iter().map(testdata::pending).collect(),
        paired: paired.into_iter().map(testdata::paired).collect(),
    }
}

fn local(token: bool, verified: Option<bool>) -> Option<Local> {
    Some(Local {
        device_id: Some(DEV.into()),
        token_node_id: token.then(|| DEV.into()),
        token_url: token.then(|| URL.into()),
        verified,
    })
}

fn facts(local: Option<Local>, operator: Operator) -> Facts {
    Facts {
        url: URL.into(),
        local,
        query: None,
        operator,
        trail: None,
    }
}

fn req() -> Value {
    json!({"requestId": "r1", "nodeId": DEV, "displayName": "pi", "remoteIp": "10.0.0.2",
           "verificationCode": "1234-5678", "expiresAtMs": 1_000_000 + 180_000})
}

fn paired() -> Value {
    json!({"nodeId": DEV, "displayName": "pi"})
}

fn cause(f: &Facts) -> Diagnosis {
    diagnose(f, 1_000_000)
}

#[test]
fn each_cause_is_told_with_its_next_command() {
    let d = cause(&facts(
        local(false, None),
        Operator::Unreachable("refused".into()),
    ));
    assert_eq!(d.cause.as_str(), "gateway-unreachable");
    assert!(d.next.unwrap().starts_with("openclaw gateway"));

    let d = cause(&facts(
        local(false, None),
        Operator::WrongToken("no".into()),
    ));
    assert_eq!(d.cause.as_str(), "wrong-operator-token");
    assert!(d.next.unwrap().contains("--token"));

    let d = cause(&facts(Some(Local::default()), lists(vec![], vec![])));
    assert_eq!(d.cause.as_str(), "no-identity");

    let d = cause(&facts(local(false, None), lists(vec![], vec![])));
    assert_eq!(d.cause.as_str(), "no-request");
    assert!(
        d.lines.iter().any(|l| l.contains("has no audit trail")
            && l.contains(&format!("openclaw nodes audit --node {DEV}"))),
        "{d:?}"
    );
    assert_eq!(
        d.next.as_deref(),
        Some("openclaw node pair --url ws://127.0.0.1:18789/")
    );

    let d = cause(&facts(local(false, None), lists(vec![req()], vec![])));
    assert_eq!(d.cause.as_str(), "pending");
    let all = d.lines.join("\n");
    assert!(
        all.contains("code 1234-5678") && all.contains("expires in 3m"),
        "{all}"
    );
    assert!(
        d.next
            .unwrap()
            .starts_with("openclaw nodes approve 1234-5678")
    );

    let d = cause(&facts(
        local(true, Some(true)),
        lists(vec![], vec![paired()]),
    ));
    assert_eq!((d.cause.as_str(), d.paired), ("paired", true));

    let d = cause(&facts(
        local(true, Some(false)),
        lists(vec![], vec![paired()]),
    ));
    assert_eq!(d.cause.as_str(), "token-mismatch");
    assert!(d.next.unwrap().starts_with("openclaw node pair"));

    let d = cause(&facts(local(true, Some(false)), lists(vec![], vec![])));
    assert_eq!(d.cause.as_str(), "removed");

    let d = cause(&facts(local(false, None), lists(vec![], vec![paired()])));
    assert_eq!(d.cause.as_str(), "token-missing");

    let mut other = local(true, None).unwrap();
    other.token_node_id = Some("bbbb".into());
    let d = cause(&facts(Some(other), lists(vec![], vec![])));
    assert_eq!(d.cause.as_str(), "token-mismatch");
}

/// A trail of `(action, node, key, minutes ago)`, decided by an operator (expiry by the gateway).
fn trail(rows: &[(Action, &str, &str, u64)]) -> Vec<Line> {
    let mut head = Head::default();
    rows.iter()
        .enumerate()
        .map(|(i, (action, node, key, mins))| {
            let mut e = AuditEntry {
                action: *action,
                actor: match action {
                    Action::Expired | Action::Superseded => Actor::Gateway,
                    _ => Actor::Conn {
                        role: "operator",
                        client_id: "openclaw-cli".into(),
                        conn_id: ConnId(1),
                        remote_ip: "127.0.0.1".into(),
                    },
                },
                approved_via: None,
                display_name: Some("pi".into()),
                enrollment: None,
                hash: String::new(),
                key_fingerprint: Some(pairing_core::audit::key_fingerprint(key)),
                node_id: NodeId((*node).into()),
                prev_hash: String::new(),
                request_id: Some(RequestId(format!("{i}0000000-aaaa"))),
                seq: 0,
                ts: 1_000_000 + 100 * 60_000 - mins * 60_000,
            };
            e.seal(&mut head);
            let raw = e.line().trim_end().to_owned();
            Line {
                entry: pairing_core::audit::read_line(&raw).unwrap(),
                raw,
            }
        })
        .collect()
}

#[test]
fn a_pairing_made_for_an_operator_request_is_explained() {
    let now = 1_000_000 + 100 * 60_000;
    let mut rows = trail(&[
        (Action::Requested, DEV, "k1", 30),
        (Action::Approved, DEV, "k1", 20),
    ]);
    // The operator's request had no device key: its entries carry no fingerprint.
    for l in &mut rows {
        let mut v = l.entry.json.clone();
        v.as_object_mut().unwrap().remove("keyFingerprint");
        l.entry.json = v;
    }
    let mut f = facts(local(false, None), lists(vec![], vec![paired()]));
    f.trail = Some(rows.clone());
    let d = diagnose(&f, now);
    assert_eq!(d.cause.as_str(), "token-missing");
    assert!(
        d.lines
            .iter()
            .any(|l| l.contains("approved 20m ago by operator")
                && l.contains("bound to no device key")),
        "{d:?}"
    );
    // With a key-bound approval, nothing is added.
    f.trail = Some(trail(&[(Action::Approved, DEV, "k1", 20)]));
    let d = diagnose(&f, now);
    assert!(
        !d.lines.iter().any(|l| l.contains("bound to no device key")),
        "{d:?}"
    );
}

#[test]
fn the_trail_tells_how_the_last_request_ended() {
    use Action::*;
    let now = 1_000_000 + 100 * 60_000;
    let with = |rows: &[(Action, &str, &str, u64)]| {
        let mut f = facts(local(false, None), lists(vec![], vec![]));
        f.trail = Some(trail(rows));
        diagnose(&f, now)
    };
    let d = with(&[(Requested, DEV, "k1", 30), (Expired, DEV, "k1", 25)]);
    assert_eq!(d.cause.as_str(), "expired");
    assert!(
        d.lines.contains(
            &"its last request (10000000) expired 25m ago: nobody approved it in time".into()
        ),
        "{d:?}"
    );
    assert!(
        d.next
            .unwrap()
            .starts_with("openclaw node pair --url ws://127.0.0.1:18789/   # then approve")
    );

    let d = with(&[(Requested, DEV, "k1", 30), (Rejected, DEV, "k1", 2)]);
    assert_eq!(d.cause.as_str(), "rejected");
    assert!(
        d.lines.contains(
            &"its last request (10000000) was rejected 2m ago by operator openclaw-cli@127.0.0.1"
                .into()
        ),
        "{d:?}"
    );

    let d = with(&[
        (Requested, DEV, "k1", 30),
        (Superseded, DEV, "k1", 20),
        (Requested, DEV, "k2", 20),
        (Rejected, "other", "k3", 1),
    ]);
    assert_eq!(
        d.cause.as_str(),
        "no-request",
        "a request without a decision: {d:?}"
    );
    let d = with(&[
        (Requested, DEV, "k1", 30),
        (Superseded, DEV, "k1", 20),
        (Requested, DEV, "k2", 20),
        (Renamed, DEV, "k2", 19),
    ]);
    assert_eq!(d.cause.as_str(), "no-request", "{d:?}");
    let rows = trail(&[
        (Requested, DEV, "k1", 30),
        (Requested, DEV, "k2", 20),
        (Superseded, DEV, "k1", 20),
    ]);
    // The superseding request logged before the superseded one's entry still names the new key.
    let end = last_end(&rows, DEV, now).unwrap();
    assert_eq!(end.cause.as_str(), "superseded");
    let rows = trail(&[
        (Requested, DEV, "k1", 30),
        (Superseded, DEV, "k1", 20),
        (Requested, DEV, "k2", 20),
    ]);
    let mut rows2 = rows.clone();
    rows2.truncate(2);
    let end = last_end(&rows2, DEV, now).unwrap();
    assert_eq!(end.cause.as_str(), "superseded");
    assert!(
        end.line
            .ends_with("was superseded 20m ago by a newer request"),
        "{end:?}"
    );
    let mut rows3 = rows.clone();
    rows3.swap(1, 2);
    let end = last_end(&rows3, DEV, now).unwrap();
    let (new, old) = (
        short_key(&pairing_core::audit::key_fingerprint("k2")),
        short_key(&pairing_core::audit::key_fingerprint("k1")),
    );
    assert!(
        end.line.ends_with(&format!(
            "by a newer request from another key ({new} instead of {old})"
        )),
        "{end:?}"
    );

    let d = with(&[
        (Requested, DEV, "k1", 90),
        (Approved, DEV, "k1", 89),
        (Removed, DEV, "k1", 60),
    ]);
    assert_eq!(d.cause.as_str(), "removed");
    assert!(
        d.lines
            .contains(&"it was removed 1h ago by operator openclaw-cli@127.0.0.1".into()),
        "{d:?}"
    );

    let d = with(&[(Requested, "other", "k1", 9)]);
    assert_eq!(d.cause.as_str(), "no-request");
    assert!(
        d.lines
            .iter()
            .any(|l| l.contains("it never asked this gateway")),
        "{d:?}"
    );

    // Removed while this machine still holds a token: the time is told too.
    let mut f = facts(local(true, Some(false)), lists(vec![], vec![]));
    f.trail = Some(trail(&[(Approved, DEV, "k1", 90), (Removed, DEV, "k1", 3)]));
    let d = diagnose(&f, now);
    assert_eq!(d.cause.as_str(), "removed");
    assert!(
        d.lines
            .iter()
            .any(|l| l == "it was removed 3m ago by operator openclaw-cli@127.0.0.1"),
        "{d:?}"
    );
}

#[test]
fn a_named_node_that_is_gone_is_found_in_the_trail() {
    use Action::*;
    let now = 1_000_000 + 100 * 60_000;
    let mut f = facts(None, lists(vec![], vec![]));
    f.query = Some("pi".into());
    f.trail = Some(trail(&[
        (Requested, DEV, "k1", 10),
        (Rejected, DEV, "k1", 5),
    ]));
    let d = diagnose(&f, now);
    assert_eq!(d.cause.as_str(), "rejected");
    assert_eq!(
        d.lines[0],
        format!("pi ({DEV}) is not paired, not pending and not connected")
    );
    assert!(
        d.next
            .unwrap()
            .starts_with("openclaw node pair --url ws://127.0.0.1:18789/   # on the node")
    );
    f.query = Some("garage".into());
    let d = diagnose(&f, now);
    assert_eq!(d.cause.as_str(), "no-request");
    assert!(d.lines[1].contains("no node matching garage"), "{d:?}");
}

#[test]
fn a_verified_node_needs_no_operator_token() {
    let d = cause(&facts(
        local(true, Some(true)),
        Operator::NoToken("no gateway token".into()),
    ));
    assert_eq!((d.cause.as_str(), d.paired), ("paired", true));
    let d = cause(&facts(
        local(true, Some(false)),
        Operator::NoToken("no gateway token".into()),
    ));
    assert_eq!(d.cause.as_str(), "removed");
    assert!(
        d.lines.iter().any(|l| l.contains("cannot be seen")),
        "{d:?}"
    );
}

#[test]
fn a_named_node_is_found_among_pending_and_paired() {
    let mut f = facts(None, lists(vec![req()], vec![]));
    f.query = Some("pi".into());
    assert_eq!(cause(&f).cause.as_str(), "pending");
    f.operator = lists(vec![], vec![paired()]);
    assert_eq!(cause(&f).cause.as_str(), "paired");
    f.query = Some("nobody".into());
    let d = cause(&f);
    assert_eq!(d.cause.as_str(), "no-request");
    assert!(
        d.lines
            .iter()
            .any(|l| l.contains("nodes audit --node nobody")),
        "{d:?}"
    );
}
