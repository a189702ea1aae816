use super::*;

fn healthy() -> HostFacts {
    HostFacts {
        dir: "/s".into(),
        running: Some((Some(42), Some(18789))),
        port: (18789, true),
        token_file: Ok(Some(0o100600)),
        token_accepted: Ok(()),
        unreadable: vec![],
        audit: Ok(7),
    }
}

#[test]
fn a_healthy_gateway_passes_every_check() {
    let checks = report(&healthy());
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");
    let t = text(&checks);
    assert!(
        t.contains("pid 42, port 18789") && t.contains("(7 entries)"),
        "{t}"
    );
    assert!(t.contains("All good"), "{t}");
    assert_eq!(json(&checks)["ok"], true);
}

#[test]
fn a_stopped_gateway_says_to_start_it_first() {
    let f = HostFacts {
        running: None,
        port: (18789, false),
        token_accepted: Err("not reachable".into()),
        ..healthy()
    };
    let checks = report(&f);
    assert!(!checks[0].ok && !checks[1].ok);
    assert!(
        !checks.iter().any(|c| c.text.contains("accepts")),
        "no token check without a port: {checks:?}"
    );
    let t = text(&checks);
    assert!(t.contains("Next: start it: openclaw gateway"), "{t}");
}

#[test]
fn a_readable_token_file_a_refused_token_and_a_broken_chain_fail() {
    let f = HostFacts {
        token_file: Ok(Some(0o100644)),
        token_accepted: Err("unauthorized".into()),
        unreadable: vec!["cannot read /s/nodes/paired.json: permission denied".into()],
        audit: Err("audit.jsonl line 3: tampered".into()),
        ..healthy()
    };
    let checks = report(&f);
    let failed: Vec<&Check> = checks.iter().filter(|c| !c.ok).collect();
    assert_eq!(failed.len(), 4, "{failed:?}");
    assert!(
        failed[0].text.contains("mode 644")
            && failed[0].next.as_deref().unwrap().contains("chmod 600")
    );
    assert!(
        failed[3]
            .next
            .as_deref()
            .unwrap()
            .contains("nodes audit --verify")
    );
}
