use super::*;
use pairing_core::{MemoryStore, NodeMeta, Token};
use std::os::unix::fs::PermissionsExt;

pub(super) fn pending(id: &str, node: &str) -> PendingRequest {
    PendingRequest {
        request_id: RequestId(id.into()),
        node_id: NodeId(node.into()),
        meta: NodeMeta::default(),
        remote_ip: Some("10.0.0.1".into()),
        silent: false,
        public_key: None,
        device: None,
        ts: 1,
        supersedes: None,
        extra: Default::default(),
    }
}

pub(super) fn paired(node: &str, token: &str) -> PairedNode {
    PairedNode {
        node_id: NodeId(node.into()),
        token_hash: Token::new(token).hash(),
        meta: NodeMeta::default(),
        remote_ip: None,
        public_key: None,
        created_at_ms: 1,
        approved_at_ms: 2,
        renamed_at_ms: None,
        last_connected_at_ms: None,
        device: None,
        approved_via: None,
        approved_by: None,
        description: None,
        last_seen_at_ms: None,
        token_issued_at_ms: None,
        token_revoked_at_ms: None,
        extra: Default::default(),
    }
}

/// Commits `changes` to both stores, as the gateway does.
fn commit(store: &mut FileStore, mirror: &mut MemoryStore, changes: Vec<Change>) {
    let batch = Batch {
        changes: &changes,
        audit: &[],
    };
    mirror.commit(&batch).unwrap();
    store.commit(&batch).unwrap();
}

#[test]
fn committed_changes_survive_a_crash_without_checkpoint() {
    let d = tempfile::tempdir().unwrap();
    let mut s = FileStore::new(d.path());
    assert_eq!(s.load().unwrap(), Snapshot::default());
    let mut mirror = MemoryStore::new();
    commit(
        &mut s,
        &mut mirror,
        vec![Change::PutPending(pending("r1", "n1"))],
    );
    commit(
        &mut s,
        &mut mirror,
        vec![
            Change::DeletePending(RequestId("r1".into())),
            Change::PutPaired(paired("n1", "t")),
        ],
    );
    assert!(s.checkpoint_due(), "no checkpoint within the interval");
    drop(s); // a crash: nothing else is written
    let mut again = FileStore::new(d.path());
    assert_eq!(again.load().unwrap(), mirror.snapshot());
    // Loading folded the journal into the files.
    assert!(!again.checkpoint_due());
    let text = std::fs::read_to_string(again.paired_path()).unwrap();
    assert!(text.contains("tokenHash") && !text.contains("\"token\""));
}

#[test]
fn files_are_private_and_in_openclaw_shape() {
    let d = tempfile::tempdir().unwrap();
    let mut s = FileStore::new(d.path());
    s.load().unwrap();
    let mut mirror = MemoryStore::new();
    commit(
        &mut s,
        &mut mirror,
        vec![Change::PutPending(pending("r1", "n1"))],
    );
    s.checkpoint().unwrap();
    let dir_mode = std::fs::metadata(d.path().join("nodes"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    for f in [s.pending_path(), s.paired_path(), s.journal_path()] {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", f.display());
    }
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(s.pending_path()).unwrap()).unwrap();
    assert_eq!(v["r1"]["nodeId"], "n1");
    assert_eq!(v["r1"]["requestId"], "r1");
}

#[test]
fn legacy_plaintext_tokens_are_hashed_on_load_and_keep_verifying() {
    let d = tempfile::tempdir().unwrap();
    let nodes = d.path().join("nodes");
    std::fs::create_dir_all(&nodes).unwrap();
    std::fs::write(
        nodes.join("paired.json"),
        r#"{"n1":{"nodeId":"n1","token":"legacy-secret-token","createdAtMs":1,"approvedAtMs":2,"bins":["git"]}}"#,
    )
    .unwrap();
    let mut s = FileStore::new(d.path());
    let snap = s.load().unwrap();
    assert!(snap.paired[0].token_hash.matches("legacy-secret-token"));
    let text = std::fs::read_to_string(nodes.join("paired.json")).unwrap();
    assert!(!text.contains("legacy-secret-token"));
    assert!(text.contains("\"bins\""));
}

#[test]
fn corrupt_files_are_refused_named_and_untouched() {
    for (file, content) in [
        ("pending.json", "{not json"),
        ("paired.json", "[1,2]"),
        (
            "paired.json",
            r#"{"n1":{"nodeId":"n1","createdAtMs":1,"approvedAtMs":2}}"#,
        ),
    ] {
        let d = tempfile::tempdir().unwrap();
        let nodes = d.path().join("nodes");
        std::fs::create_dir_all(&nodes).unwrap();
        std::fs::write(nodes.join(file), content).unwrap();
        let e = FileStore::new(d.path()).load().unwrap_err().to_string();
        assert!(e.contains(file), "{e}");
        assert_eq!(std::fs::read_to_string(nodes.join(file)).unwrap(), content);
    }
}

#[test]
fn a_torn_last_journal_line_is_dropped_but_damage_elsewhere_is_reported() {
    let d = tempfile::tempdir().unwrap();
    let mut s = FileStore::new(d.path());
    s.load().unwrap();
    let mut mirror = MemoryStore::new();
    commit(
        &mut s,
        &mut mirror,
        vec![Change::PutPending(pending("r1", "n1"))],
    );
    let jp = s.journal_path();
    drop(s);
    let good = std::fs::read(&jp).unwrap();
    let torn = journal::line(&[Change::PutPending(pending("r2", "n2"))], &[]).unwrap();
    let mut with_torn = good.clone();
    with_torn.extend_from_slice(&torn[..torn.len() / 2]);
    std::fs::write(&jp, &with_torn).unwrap();
    let snap = FileStore::new(d.path()).load().unwrap();
    assert_eq!(snap, mirror.snapshot(), "r1 kept, the torn r2 dropped");

    let mut damaged = b"0000 []\n".to_vec();
    damaged.extend_from_slice(&good);
    std::fs::write(&jp, &damaged).unwrap();
    let e = FileStore::new(d.path()).load().unwrap_err().to_string();
    assert!(e.contains("journal.jsonl") && e.contains("line 1"), "{e}");
}

mod audit {
    use super::*;
    use crate::audit_log;
    use pairing_core::audit::{Action, Actor, AuditEntry, Broken, Head};

    fn entry(head: &mut Head, node: &str) -> AuditEntry {
        let mut e = AuditEntry {
            action: Action::Requested,
            actor: Actor::Gateway,
            approved_via: None,
            display_name: Some(format!("node {node}")),
            enrollment: None,
            hash: String::new(),
            key_fingerprint: None,
            node_id: NodeId(node.into()),
            prev_hash: String::new(),
            request_id: Some(RequestId(format!("r-{node}"))),
            seq: 0,
            ts: 1_000,
        };
        e.seal(head);
        e
    }

    /// Commits one pending request per node, each with its audit entry, one batch per node.
    fn commit_audited(store: &mut FileStore, head: &mut Head, nodes: std::ops::Range<u32>) {
        for i in nodes {
            let node = format!("n{i}");
            let changes = vec![Change::PutPending(pending(&format!("r-{node}"), &node))];
            let audit = vec![entry(head, &node)];
            store
                .commit(&Batch {
                    changes: &changes,
                    audit: &audit,
                })
                .unwrap();
        }
    }

    fn verified(dir: &Path) -> audit_log::Verified {
        audit_log::verify(&dir.join("nodes")).unwrap()
    }

    #[test]
    fn entries_reach_the_file_and_the_chain_continues_after_a_restart() {
        let d = tempfile::tempdir().unwrap();
        let mut s = FileStore::new(d.path());
        let mut head = s.load().unwrap().audit_head;
        assert_eq!(head, Head::default());
        commit_audited(&mut s, &mut head, 0..3);
        let v = verified(d.path());
        assert_eq!((v.entries, &v.broken, &v.torn), (3, &None, &None));
        drop(s);
        let mut s = FileStore::new(d.path());
        assert_eq!(s.load().unwrap().audit_head, head);
        commit_audited(&mut s, &mut head, 3..5);
        assert_eq!(verified(d.path()).entries, 5);
        let text = std::fs::read_to_string(d.path().join("nodes/audit.jsonl")).unwrap();
        assert!(!text.contains("token"));
        let mode = std::fs::metadata(d.path().join("nodes/audit.jsonl"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn entries_lost_from_the_file_or_cut_short_are_restored_from_the_journal() {
        let d = tempfile::tempdir().unwrap();
        let mut s = FileStore::new(d.path());
        let mut head = s.load().unwrap().audit_head;
        commit_audited(&mut s, &mut head, 0..4);
        drop(s); // a crash: no checkpoint, the journal holds all four batches
        let path = d.path().join("nodes/audit.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // The last two entries never reached the file, and the one before was cut short.
        let torn = format!("{}\n{}", lines[0], &lines[1][..20]);
        std::fs::write(&path, torn).unwrap();
        let mut s = FileStore::new(d.path());
        assert_eq!(s.load().unwrap().audit_head, head);
        let v = verified(d.path());
        assert_eq!((v.entries, &v.broken, &v.torn), (4, &None, &None));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        // The load checkpointed: the journal is empty and the trail is whole.
        assert_eq!(
            std::fs::metadata(d.path().join("nodes/journal.jsonl"))
                .unwrap()
                .len(),
            0
        );
    }

    #[test]
    fn the_file_rotates_and_the_chain_runs_across_files() {
        let d = tempfile::tempdir().unwrap();
        let mut s = FileStore::new(d.path()).with_audit_rotation(1_000);
        let mut head = s.load().unwrap().audit_head;
        commit_audited(&mut s, &mut head, 0..12);
        let files = audit_log::files(&d.path().join("nodes")).unwrap();
        assert!(files.len() >= 3, "{files:?}");
        for f in &files {
            assert!(std::fs::metadata(f).unwrap().len() <= 1_000);
        }
        let v = verified(d.path());
        assert_eq!((v.entries, &v.broken), (12, &None));
        // A restart finds the head in the newest file and keeps numbering rotations.
        drop(s);
        let mut s = FileStore::new(d.path()).with_audit_rotation(1_000);
        assert_eq!(s.load().unwrap().audit_head, head);
        commit_audited(&mut s, &mut head, 12..20);
        let v = verified(d.path());
        assert_eq!((v.entries, &v.broken), (20, &None));
        assert!(audit_log::files(&d.path().join("nodes")).unwrap().len() > files.len());
    }

    /// Issue #14 item 3: a flood of decisions must not fill the disk. Only `keep` rotated files stay,
    /// and the chain still verifies, from the oldest entry kept, naming how many were rotated away.
    #[test]
    fn only_the_newest_rotated_files_are_kept_and_the_rest_verifies() {
        let d = tempfile::tempdir().unwrap();
        let limits = audit_log::AuditLimits {
            max_bytes: 1_000,
            keep: 2,
        };
        let mut s = FileStore::new(d.path()).with_audit_limits(limits);
        let mut head = s.load().unwrap().audit_head;
        let nodes = d.path().join("nodes");
        for k in 0..10 {
            commit_audited(&mut s, &mut head, k * 10..(k + 1) * 10);
            let files = audit_log::files(&nodes).unwrap();
            let bytes: u64 = files
                .iter()
                .map(|f| std::fs::metadata(f).unwrap().len())
                .sum();
            assert!(files.len() <= 3, "{files:?}");
            assert!(bytes <= limits.bound(), "{bytes} bytes");
        }
        let v = verified(d.path());
        assert_eq!(v.broken, None);
        assert!(v.rotated_away > 0);
        assert_eq!(v.rotated_away + v.entries, 100);
        assert_eq!(v.head.unwrap().seq, 100);
        // A restart continues the chain and the numbering.
        drop(s);
        let mut s = FileStore::new(d.path()).with_audit_limits(limits);
        assert_eq!(s.load().unwrap().audit_head, head);
        commit_audited(&mut s, &mut head, 100..130);
        let v = verified(d.path());
        assert_eq!((v.broken, v.rotated_away + v.entries), (None, 130));
        // A file missing in the middle is still a break, not a rotation.
        let files = audit_log::files(&nodes).unwrap();
        std::fs::remove_file(&files[1]).unwrap();
        assert!(verified(d.path()).broken.is_some());
    }

    #[test]
    fn a_tampered_trail_does_not_stop_the_gateway_but_fails_verification() {
        let d = tempfile::tempdir().unwrap();
        let mut s = FileStore::new(d.path());
        let mut head = s.load().unwrap().audit_head;
        commit_audited(&mut s, &mut head, 0..3);
        s.checkpoint().unwrap();
        drop(s);
        let path = d.path().join("nodes/audit.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("node n1", "node evil")).unwrap();
        let mut s = FileStore::new(d.path());
        assert_eq!(s.load().unwrap().audit_head, head);
        let v = verified(d.path());
        let (place, why) = v.broken.unwrap();
        assert_eq!(place.line, 2);
        assert_eq!(why, Broken::Tampered { seq: 2 });
        // Deleting a line is a gap at the line after it.
        let lines: Vec<&str> = text.lines().collect();
        std::fs::write(&path, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
        let (place, why) = verified(d.path()).broken.unwrap();
        assert_eq!(place.line, 2);
        assert!(matches!(
            why,
            Broken::Gap {
                expected: 2,
                found: 3
            }
        ));
    }
}

#[test]
fn a_seen_change_is_a_small_journal_entry_that_survives_a_crash() {
    let d = tempfile::tempdir().unwrap();
    let mut s = FileStore::new(d.path());
    s.load().unwrap();
    let mut mirror = MemoryStore::new();
    commit(
        &mut s,
        &mut mirror,
        vec![Change::PutPaired(paired("n1", "t"))],
    );
    let before = s.journal.bytes();
    commit(
        &mut s,
        &mut mirror,
        vec![Change::Seen(NodeId("n1".into()), 42)],
    );
    assert!(
        s.journal.bytes() - before < 200,
        "{} bytes",
        s.journal.bytes() - before
    );
    drop(s); // a crash before any checkpoint
    let snap = FileStore::new(d.path()).load().unwrap();
    assert_eq!(snap.paired[0].last_seen_at_ms, Some(42));
    assert_eq!(snap, mirror.snapshot());
}

fn enrollment(id: &str) -> pairing_core::enroll::Enrollment {
    pairing_core::enroll::Enrollment {
        id: id.into(),
        kind: pairing_core::enroll::EnrollKind::Key,
        secret_hash: Token::new(format!("secret-{id}")).hash(),
        label: Some("fleet".into()),
        profile: Default::default(),
        max_uses: 3,
        uses: 1,
        created_at_ms: 1,
        expires_at_ms: 100,
        issued_by: "cli@127.0.0.1".into(),
        revoked_at_ms: None,
        redeemed_by: Vec::new(),
    }
}

#[test]
fn enrollments_survive_the_journal_and_checkpoints_and_keep_no_secret() {
    let d = tempfile::tempdir().unwrap();
    let mut s = FileStore::new(d.path());
    s.load().unwrap();
    let mut mirror = MemoryStore::new();
    commit(
        &mut s,
        &mut mirror,
        vec![
            Change::PutEnrollment(enrollment("aaaa0001")),
            Change::PutEnrollment(enrollment("aaaa0002")),
        ],
    );
    commit(
        &mut s,
        &mut mirror,
        vec![Change::DeleteEnrollment("aaaa0001".into())],
    );
    // Replayed from the journal alone (no checkpoint written since).
    let again = FileStore::new(d.path()).load().unwrap();
    assert_eq!(again.enrollments, mirror.snapshot().enrollments);
    // After a checkpoint, from enrollments.json.
    let mut s = FileStore::new(d.path());
    s.load().unwrap();
    s.checkpoint().unwrap();
    let text = std::fs::read_to_string(s.enrollments_path()).unwrap();
    assert!(!text.contains("secret-aaaa0002") && text.contains("secretHash"));
    let mode = std::fs::metadata(s.enrollments_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        FileStore::new(d.path()).load().unwrap().enrollments.len(),
        1
    );
}
