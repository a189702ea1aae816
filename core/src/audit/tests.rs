use super::*;

fn entry(action: Action, actor: Actor) -> AuditEntry {
    AuditEntry {
        action,
        actor,
        approved_via: None,
        display_name: Some("Kitchen \"iPad\" ü".into()),
        enrollment: None,
        hash: String::new(),
        key_fingerprint: Some(key_fingerprint("AAAA")),
        node_id: NodeId("n1".into()),
        prev_hash: String::new(),
        request_id: Some(RequestId("r1".into())),
        seq: 0,
        ts: 1_700_000_000_000,
    }
}

fn op() -> Actor {
    Actor::Conn {
        role: "operator",
        client_id: "cli".into(),
        conn_id: ConnId(7),
        remote_ip: "127.0.0.1".into(),
    }
}

fn chain(n: usize) -> Vec<String> {
    let mut head = Head::default();
    (0..n)
        .map(|i| {
            let mut e = entry(
                Action::ALL[i % 7],
                if i % 2 == 0 { op() } else { Actor::Gateway },
            );
            e.seal(&mut head);
            e.line().trim_end().to_owned()
        })
        .collect()
}

#[test]
fn the_struct_serialises_in_canonical_form() {
    let mut e = entry(Action::Approved, op());
    e.seal(&mut Head::default());
    let line = e.line();
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(canonical_json(&v), line.trim_end());
    let mut g = entry(Action::Expired, Actor::Gateway);
    g.display_name = None;
    g.key_fingerprint = None;
    g.request_id = None;
    g.seal(&mut Head::default());
    let v: Value = serde_json::from_str(&g.line()).unwrap();
    assert_eq!(canonical_json(&v), g.line().trim_end());
}

#[test]
fn a_sealed_chain_verifies_and_links() {
    let lines = chain(20);
    let mut check = ChainCheck::from_genesis();
    for l in &lines {
        check.check(l).unwrap();
    }
    assert_eq!(check.verified, 20);
    assert_eq!(check.head().unwrap().seq, 20);
    assert!(lines[0].contains(GENESIS_HASH));
    assert!(!lines.iter().any(|l| l.contains("token")));
}

#[test]
fn a_changed_line_is_tampered() {
    let mut lines = chain(5);
    lines[2] = lines[2].replace("n1", "n2");
    let mut check = ChainCheck::from_genesis();
    check.check(&lines[0]).unwrap();
    check.check(&lines[1]).unwrap();
    assert_eq!(check.check(&lines[2]), Err(Broken::Tampered { seq: 3 }));
    // An added field is a change too.
    let added = lines[3].replacen('{', "{\"extra\":1,", 1);
    assert_eq!(read_line(&added), Err(Broken::Tampered { seq: 4 }));
    // Reordered keys are not.
    let v: Value = serde_json::from_str(&lines[4]).unwrap();
    let mut reordered = String::from("{");
    let m = v.as_object().unwrap();
    for (i, k) in m.keys().rev().enumerate() {
        if i > 0 {
            reordered.push(',');
        }
        reordered.push_str(&format!("{}:{}", Value::String(k.clone()), m[k]));
    }
    reordered.push('}');
    assert_eq!(read_line(&reordered).unwrap().seq, 5);
}

#[test]
fn a_deleted_line_is_a_gap() {
    let lines = chain(5);
    let mut check = ChainCheck::from_genesis();
    check.check(&lines[0]).unwrap();
    let err = check.check(&lines[2]).unwrap_err();
    assert_eq!(
        err,
        Broken::Gap {
            expected: 2,
            found: 3
        }
    );
    assert!(err.to_string().contains("entry 2 is missing"));
}

#[test]
fn a_chain_can_be_checked_from_its_middle() {
    let lines = chain(6);
    let mut check = ChainCheck::from_anywhere();
    for l in &lines[3..] {
        check.check(l).unwrap();
    }
    let mut genesis = ChainCheck::from_genesis();
    assert!(matches!(
        genesis.check(&lines[3]),
        Err(Broken::Gap { expected: 1, .. })
    ));
}

#[test]
fn fingerprints_look_like_ssh_ones() {
    let fp = key_fingerprint("AAAA");
    assert!(fp.starts_with("SHA256:"));
    assert_eq!(fp.len(), 7 + 43);
}
