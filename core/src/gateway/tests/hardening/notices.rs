//! Log-worthy happenings come out as notices for the host, bounded and without tokens.

use super::*;

fn notices(g: &mut Gateway<MemoryStore>) -> Vec<String> {
    std::iter::from_fn(|| g.poll_notice())
        .map(|n| n.to_string())
        .collect()
}

/// Issue #14 item 11: the host gets one line for each request and decision (who, what, from where,
/// the code), never a token; a rate-limited flood is one line, not one per refusal.
#[test]
fn requests_and_decisions_come_out_as_notices_without_tokens() {
    let mut g = gateway();
    let op = operator(&mut g);
    let (_, answer) = connect(&mut g, T0, &Dev::default());
    let details = &answer[0]["error"]["details"];
    let (rid, code) = (
        details["requestId"].as_str().unwrap().to_owned(),
        details["verificationCode"].as_str().unwrap().to_owned(),
    );
    let node = proof::device_id(&[42; 32]);
    let lines = notices(&mut g);
    assert_eq!(
        lines,
        [format!(
            "pairing request {rid} created: node {node} \"kitchen-pi\" from 10.0.0.1, code {code}; by node \"node-host\" on c2 from 10.0.0.1"
        )]
    );
    call(&mut g, T0, op, "node.pair.approve", json!({ "code": code }));
    round(&mut g);
    let (_, answer) = connect(&mut g, T0 + 1, &Dev::default());
    let token = answer[0]["payload"]["auth"]["deviceToken"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &mut g,
        T0 + 2,
        op,
        "device.token.rotate",
        json!({ "deviceId": node, "role": "node" }),
    );
    call(
        &mut g,
        T0 + 2,
        op,
        "node.pair.remove",
        json!({ "nodeId": node }),
    );
    round(&mut g);
    let lines = notices(&mut g);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!(
        lines[0],
        format!(
            "pairing request {rid} approved: node {node} \"kitchen-pi\", via owner; by operator \"cli\" on c1 from 10.0.0.1"
        )
    );
    assert!(
        lines[1].starts_with(&format!("node token-rotated: node {node}")),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(&format!("node removed: node {node}")),
        "{}",
        lines[2]
    );
    assert!(lines.iter().all(|l| !l.contains(&token)));

    // A flood of new requests: the requests it may make, and one line for the rest.
    for i in 0..50u64 {
        let commands: &[&str] = if i % 2 == 0 { &["a"] } else { &["b"] };
        connect(
            &mut g,
            T0 + 10 + i,
            &Dev {
                commands,
                ..Dev::default()
            },
        );
    }
    let lines = notices(&mut g);
    let limited: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("rate-limited"))
        .collect();
    assert_eq!(limited.len(), 1, "{lines:#?}");
    assert!(limited[0].contains("from 10.0.0.1"), "{}", limited[0]);

    // A notice is released by its commit only: a failed write notices nothing.
    g.store_mut().fail_next_commits(1);
    call(
        &mut g,
        T0 + 100_000,
        op,
        "node.pair.request",
        json!({ "nodeId": "box" }),
    );
    round(&mut g);
    assert!(notices(&mut g).is_empty());
}

/// The notices a host does not read are bounded; the host learns how many it missed.
#[test]
fn unread_notices_are_bounded() {
    let mut g = gateway();
    let op = operator(&mut g);
    for i in 0..600 {
        call(
            &mut g,
            T0,
            op,
            "node.pair.request",
            json!({ "nodeId": format!("n{i}") }),
        );
        let (sent, _) = round(&mut g);
        let rid = sent
            .iter()
            .find(|(_, f)| f["id"] == "node.pair.request")
            .unwrap()
            .1["payload"]["request"]["requestId"]
            .clone();
        call(
            &mut g,
            T0,
            op,
            "node.pair.reject",
            json!({ "requestId": rid }),
        );
        round(&mut g);
    }
    assert_eq!(g.notice_len(), crate::notice::NOTICE_CAPACITY);
    assert_eq!(
        g.poll_notice().unwrap().to_string(),
        "176 pairing notices were not logged (the log fell behind)"
    );
}
