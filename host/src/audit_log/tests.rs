use super::*;

#[test]
fn rotated_names() {
    assert_eq!(rotated_number("audit.1.jsonl"), Some(1));
    assert_eq!(rotated_number("audit.12.jsonl"), Some(12));
    assert_eq!(rotated_number("audit.jsonl"), None);
    assert_eq!(rotated_number("audit.01.jsonl"), None);
    assert_eq!(rotated_number("audit.x.jsonl"), None);
}

#[test]
fn lines_and_a_torn_tail() {
    let l = split_lines(b"a\nb\nc");
    assert_eq!(l.lines, ["a", "b"]);
    assert_eq!(l.torn.as_deref(), Some(&b"c"[..]));
    let l = split_lines(b"a\n");
    assert_eq!(l.lines, ["a"]);
    assert!(l.torn.is_none());
    let l = split_lines(b"");
    assert!(l.lines.is_empty() && l.torn.is_none());
}

#[test]
fn the_tail_is_found_without_reading_the_whole_file() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("a");
    let t = |content: &[u8]| {
        std::fs::write(&p, content).unwrap();
        let t = tail(&p).unwrap();
        (t.torn, t.last)
    };
    assert_eq!(t(b""), (0, None));
    assert_eq!(t(b"abc"), (3, None));
    assert_eq!(t(b"a\nb\n"), (0, Some("b".into())));
    assert_eq!(t(b"a\nb\n\n  \ncut"), (3, Some("b".into())));
    // A last line longer than the first window, and many lines before it.
    let long = "x".repeat(300_000);
    let mut big = "y\n".repeat(100_000);
    big.push_str(&long);
    big.push_str("\nto");
    assert_eq!(t(big.as_bytes()), (2, Some(long.clone())));
    big.truncate(big.len() - 3);
    big.push('\n');
    assert_eq!(t(big.as_bytes()), (0, Some(long)));
}

#[test]
fn files_are_ordered_oldest_first() {
    let d = tempfile::tempdir().unwrap();
    for name in [
        "audit.jsonl",
        "audit.10.jsonl",
        "audit.2.jsonl",
        "other.jsonl",
    ] {
        std::fs::write(d.path().join(name), "").unwrap();
    }
    let names: Vec<String> = files(d.path())
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["audit.2.jsonl", "audit.10.jsonl", "audit.jsonl"]);
}

#[test]
fn the_trail_reads_entries_bad_lines_and_torn_tails_across_files() {
    use pairing_core::NodeId;
    use pairing_core::audit::{Action, Actor, AuditEntry, Head};
    let d = tempfile::tempdir().unwrap();
    let mut head = Head::default();
    let mut line = |node: &str| {
        let mut e = AuditEntry {
            action: Action::Requested,
            actor: Actor::Gateway,
            approved_via: None,
            display_name: None,
            enrollment: None,
            hash: String::new(),
            key_fingerprint: None,
            node_id: NodeId(node.into()),
            prev_hash: String::new(),
            request_id: None,
            seq: 0,
            ts: 1_000,
        };
        e.seal(&mut head);
        e.line()
    };
    let (a, b, c) = (line("a"), line("b"), line("c"));
    std::fs::write(d.path().join("audit.1.jsonl"), format!("{a}not json\n")).unwrap();
    std::fs::write(d.path().join(CURRENT), format!("{b}{c}{{\"seq\":4")).unwrap();
    let t = read_trail(d.path()).unwrap();
    assert_eq!(t.files.len(), 2);
    let nodes: Vec<&str> = t.lines.iter().map(|l| l.entry.node_id.as_str()).collect();
    assert_eq!(nodes, ["a", "b", "c"]);
    assert_eq!(t.lines[1].raw, b.trim_end());
    assert_eq!(t.bad.len(), 1);
    assert_eq!(
        t.bad[0].0.to_string(),
        format!("{} line 2", t.files[0].display())
    );
    assert_eq!(t.torn.len(), 1);
    assert_eq!(t.torn[0].line, 3);
    let (entries, bad) = read_all(d.path()).unwrap();
    assert_eq!((entries.len(), bad.len()), (3, 1));
    assert!(read_trail(&d.path().join("none")).unwrap().lines.is_empty());
}
