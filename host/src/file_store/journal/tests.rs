use super::*;
use crate::file_store::FileStore;
use crate::file_store::tests::{paired, pending};
use pairing_core::Store;
use pairing_core::audit::{Action, Actor, Head};

/// Two lines an earlier version wrote (before the journal's shapes were serde types): the batch of
/// [`batch`] without, then with, its audit entries.
const OLD_LINES: &[u8] = include_bytes!("old_lines.jsonl");

/// The changes and audit entries the old lines were written from.
fn batch() -> (Vec<Change>, Vec<AuditEntry>) {
    let mut p = pending("r-1", "n-1");
    p.meta.display_name = Some("Kitchen \"Pi\"\n".into());
    let mut n = paired("n-2", "tok");
    n.last_seen_at_ms = Some(5);
    n.approved_via = Some("owner".into());
    let changes = vec![
        Change::PutPending(p),
        Change::DeletePending(RequestId("r-0".into())),
        Change::PutPaired(n),
        Change::DeletePaired(NodeId("n-3".into())),
        Change::Seen(NodeId("n-2".into()), 1_700_000_000_123),
    ];
    let mut head = Head::default();
    let mut a = AuditEntry {
        action: Action::Approved,
        actor: Actor::Conn {
            role: "operator",
            client_id: "cli".into(),
            conn_id: pairing_core::ConnId(7),
            remote_ip: "127.0.0.1".into(),
        },
        approved_via: Some("owner".into()),
        display_name: Some("Kitchen".into()),
        enrollment: None,
        hash: String::new(),
        key_fingerprint: None,
        node_id: NodeId("n-2".into()),
        prev_hash: String::new(),
        request_id: Some(RequestId("r-2".into())),
        seq: 0,
        ts: 1_000,
    };
    a.seal(&mut head);
    let mut b = a.clone();
    b.action = Action::Removed;
    b.actor = Actor::Gateway;
    b.seal(&mut head);
    (changes, vec![a, b])
}

fn old_lines() -> Vec<&'static [u8]> {
    OLD_LINES
        .split_inclusive(|b| *b == b'\n')
        .collect::<Vec<_>>()
}

#[test]
fn lines_an_earlier_version_wrote_still_read() {
    let (changes, audit) = batch();
    let lines = old_lines();
    assert_eq!(lines.len(), 2);
    let plain = parse(lines[0].strip_suffix(b"\n").unwrap()).unwrap();
    assert_eq!(plain.changes, changes);
    assert!(plain.audit.is_empty());
    let with_audit = parse(lines[1].strip_suffix(b"\n").unwrap()).unwrap();
    assert_eq!(with_audit.changes, changes);
    let expected: Vec<Value> = audit
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(with_audit.audit, expected);
}

#[test]
fn a_batch_is_written_byte_for_byte_as_before() {
    let (changes, audit) = batch();
    let lines = old_lines();
    assert_eq!(line(&changes, &[]).unwrap(), lines[0]);
    assert_eq!(line(&changes, &audit).unwrap(), lines[1]);
}

#[test]
fn a_state_directory_with_an_old_journal_loads() {
    let d = tempfile::tempdir().unwrap();
    let nodes = d.path().join("nodes");
    crate::fsutil::private_dir(&nodes).unwrap();
    std::fs::write(nodes.join("journal.jsonl"), OLD_LINES).unwrap();
    let snap = FileStore::new(d.path()).load().unwrap();
    assert_eq!(
        snap.pending
            .iter()
            .map(|p| p.request_id.0.as_str())
            .collect::<Vec<_>>(),
        ["r-1"]
    );
    assert_eq!(snap.paired.len(), 1);
    assert_eq!(snap.paired[0].node_id.0, "n-2");
    assert_eq!(snap.paired[0].last_seen_at_ms, Some(1_700_000_000_123));
    assert_eq!(snap.audit_head.seq, 2);
}

#[test]
fn a_damaged_line_says_what_is_wrong() {
    let problem = |line: &str| parse(line.as_bytes()).unwrap_err();
    assert_eq!(problem("[]"), "no checksum");
    assert_eq!(problem("00 []"), "checksum mismatch");
    let with_sum = |body: &str| format!("{} {body}", sha256_hex(body.as_bytes()));
    assert_eq!(problem(&with_sum("3")), "neither an array nor an object");
    let unknown = problem(&with_sum(r#"[{"op":"frobnicate"}]"#));
    assert!(unknown.contains("frobnicate"), "{unknown}");
    let no_id = problem(&with_sum(r#"[{"op":"deletePaired"}]"#));
    assert!(no_id.contains("id"), "{no_id}");
    let no_audit = problem(&with_sum(r#"{"changes":[]}"#));
    assert!(no_audit.contains("audit"), "{no_audit}");
}
