use super::*;
use pairing_core::audit::{Action, Actor, AuditEntry, Head};
use pairing_core::ids::{ConnId, NodeId, RequestId};

/// A sealed entry of `node` (named `name`) for the chain at `head`.
pub(crate) fn entry(
    head: &mut Head,
    action: Action,
    node: &str,
    name: Option<&str>,
    request: Option<&str>,
    ts: u64,
) -> String {
    let actor = match action {
        Action::Requested => Actor::Conn {
            role: "node",
            client_id: "openclaw-node".into(),
            conn_id: ConnId(3),
            remote_ip: "10.0.0.7".into(),
        },
        Action::Expired => Actor::Gateway,
        _ => Actor::Conn {
            role: "operator",
            client_id: "openclaw-cli".into(),
            conn_id: ConnId(4),
            remote_ip: "127.0.0.1".into(),
        },
    };
    let mut e = AuditEntry {
        action,
        actor,
        approved_via: None,
        display_name: name.map(Into::into),
        enrollment: None,
        hash: String::new(),
        key_fingerprint: Some(pairing_core::audit::key_fingerprint("AAAA")),
        node_id: NodeId(node.into()),
        prev_hash: String::new(),
        request_id: request.map(|r| RequestId(r.into())),
        seq: 0,
        ts,
    };
    e.seal(head);
    e.line()
}

/// A small trail: pi requests and is approved, renamed; mac requests and expires.
pub(crate) fn sample(now: u64) -> String {
    let mut h = Head::default();
    let pi = "aaaaaa1111111111";
    let mac = "bbbbbb2222222222";
    let r1 = "6f1c0c2e-8a8e-4f0e-9a55-2b8d3c1e7a10";
    let r2 = "0d9e4b1a-1111-4f0e-9a55-2b8d3c1e7a10";
    [
        entry(
            &mut h,
            Action::Requested,
            pi,
            Some("pi"),
            Some(r1),
            now - 7_200_000,
        ),
        entry(
            &mut h,
            Action::Approved,
            pi,
            Some("pi"),
            Some(r1),
            now - 7_100_000,
        ),
        entry(
            &mut h,
            Action::Renamed,
            pi,
            Some("Kitchen Pi"),
            None,
            now - 3_600_000,
        ),
        entry(
            &mut h,
            Action::Requested,
            mac,
            None,
            Some(r2),
            now - 600_000,
        ),
        entry(&mut h, Action::Expired, mac, None, Some(r2), now - 300_000),
    ]
    .concat()
}

fn trail(text: &str) -> (tempfile::TempDir, Trail) {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("audit.jsonl"), text).unwrap();
    let t = read_trail(d.path()).unwrap();
    (d, t)
}

#[test]
fn the_table_is_aligned_and_names_nodes_requests_and_actors() {
    let now = 100_000_000_000;
    let (_d, t) = trail(&sample(now));
    let entries: Vec<&ReadEntry> = t.lines.iter().map(|l| &l.entry).collect();
    let out = table(&entries, now);
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 6, "{out}");
    assert!(rows[0].starts_with("SEQ  AGE"), "{out}");
    for (row, want) in [
        (
            1,
            &[
                "1",
                "2h ago",
                "requested",
                "pi",
                "6f1c0c2e",
                "node openclaw-node@10.0.0.7",
            ][..],
        ),
        (2, &["approved", "operator openclaw-cli@127.0.0.1"]),
        (3, &["renamed", "Kitchen Pi", " - "]),
        (4, &["requested", "bbbbbb222222", "0d9e4b1a"]),
        (5, &["5m ago", "expired", "gateway"]),
    ] {
        for w in want {
            assert!(rows[row].contains(w), "{w} missing in {}", rows[row]);
        }
    }
    assert_eq!(rows[0].find("ACTION"), rows[1].find("requested"));
    assert_eq!(rows[0].find("ACTOR"), rows[5].find("gateway"));
    assert!(!out.contains("token"));
}

#[test]
fn node_queries_follow_the_cli_rules_over_the_whole_history() {
    let now = 100_000_000_000;
    let (_d, t) = trail(&sample(now));
    // The old name, the new name, the node's IP, an id prefix: all the same node, latest name.
    for q in ["pi", "kitchen-pi", "aaaaaa11", "aaaaaa1111111111"] {
        assert_eq!(
            match_node(q, &t.lines).unwrap(),
            ("aaaaaa1111111111".to_owned(), "Kitchen Pi".to_owned()),
            "{q}"
        );
    }
    assert_eq!(match_node("bbbbbb", &t.lines).unwrap().1, "bbbbbb222222");
    // Both nodes asked from 10.0.0.7: an IP that fits two nodes is refused with both.
    let e = match_node("10.0.0.7", &t.lines).unwrap_err().to_string();
    assert!(e.starts_with("ambiguous node: 10.0.0.7"), "{e}");
    assert!(
        e.contains("aaaaaa111111") && e.contains("bbbbbb222222"),
        "{e}"
    );
    let e = match_node("garage", &t.lines).unwrap_err().to_string();
    assert_eq!(
        e,
        "unknown node: garage (known: Kitchen Pi / 10.0.0.7 / aaaaaa111111, \
         10.0.0.7 / bbbbbb222222)"
    );
}

#[test]
fn unreadable_and_torn_lines_are_counted_not_dropped() {
    let now = 100_000_000_000;
    let text = sample(now);
    let mut lines: Vec<&str> = text.lines().collect();
    let changed = lines[1].replace("approved", "rejected");
    lines[1] = &changed;
    lines[3] = "not json";
    let (_d, t) = trail(&format!("{}\n{{\"seq\":6", lines.join("\n")));
    assert_eq!(t.lines.len(), 3);
    assert_eq!(t.bad.len(), 2);
    let w = warnings(&t);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].starts_with("2 lines could not be read"), "{}", w[0]);
    assert!(w[0].contains("audit.jsonl line 2"), "{}", w[0]);
    assert!(w[0].contains("openclaw nodes audit --verify"), "{}", w[0]);
    assert!(w[1].contains("audit.jsonl line 6 is cut short"), "{}", w[1]);
}

#[test]
fn since_takes_days_too_and_needs_a_unit() {
    let ms = |t: &str| parse_since(t).map(|s| s.ms);
    assert_eq!(ms("2d"), Ok(172_800_000));
    assert_eq!(ms("1h"), Ok(3_600_000));
    assert_eq!(ms("90s"), Ok(90_000));
    assert_eq!(parse_since(" 90s ").unwrap().text, "90s");
    let e = parse_since("3 weeks").unwrap_err();
    assert!(e.contains("ms, s, m, h or d"), "{e}");
    assert!(parse_since("99999999999999999999d").is_err());
    let e = parse_since("2").unwrap_err();
    assert!(e.starts_with("2 what? write 2s, 2m or 2h"), "{e}");
}

#[test]
fn request_ids_are_shortened() {
    assert_eq!(short_request(Some("6f1c0c2e-8a8e")), "6f1c0c2e");
    assert_eq!(short_request(None), "-");
}
