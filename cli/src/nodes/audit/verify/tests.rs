use super::super::tests::{entry, sample};
use super::*;
use pairing_core::audit::{Action, Head};

const NOW: u64 = 100_000_000_000;

fn check(files: &[(&str, &str)]) -> Report {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(d.path().join(name), text).unwrap();
    }
    let v = audit_log::verify(d.path()).unwrap();
    let mut r = report(d.path(), &v);
    // Paths differ per run: keep only the file name.
    let base = format!("{}/", d.path().display());
    for l in r.lines.iter_mut().chain(r.warnings.iter_mut()) {
        *l = l.replace(&base, "");
    }
    r
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(|l| format!("{l}\n")).collect()
}

#[test]
fn an_intact_trail_verifies() {
    let r = check(&[("audit.jsonl", &sample(NOW))]);
    assert!(r.ok);
    assert_eq!(
        r.lines,
        ["audit trail verified: 5 entries in 1 file (seq 1–5)"]
    );
    assert!(r.warnings.is_empty());
    assert_eq!(r.json["ok"], true);
    assert_eq!(r.json["head"]["seq"], 5);
    assert!(r.json["broken"].is_null() && r.json["torn"].is_null());
}

#[test]
fn entries_rotated_away_are_reported_not_broken() {
    let all = lines(&sample(NOW));
    let second = audit_log::line_head(all[1].trim_end()).unwrap();
    let record = json!({"seq": second.seq, "hash": second.hash}).to_string();
    // The gateway kept audit.3 and audit.4 (--audit-keep 2): audit.1 and audit.2 are gone, and
    // it recorded the last entry it deleted.
    let kept = [
        ("audit.3.jsonl", all[2..3].concat()),
        ("audit.4.jsonl", all[3..4].concat()),
        ("audit.jsonl", all[4..].concat()),
    ];
    let with = |record: &str| {
        let mut files: Vec<(&str, &str)> = kept.iter().map(|(n, t)| (*n, t.as_str())).collect();
        files.push((audit_log::ROTATED, record));
        check(&files)
    };
    let r = with(&record);
    assert!(r.ok, "{:?}", r.lines);
    assert_eq!(
        r.lines,
        [
            "the 2 oldest entries (seq 1–2) were rotated away (gateway --audit-keep); the chain \
             is checked from the oldest entry kept",
            "audit trail verified: 3 entries in 3 files (seq 3–5)"
        ]
    );
    assert_eq!(r.json["rotatedAway"], 2);
    // The oldest file kept must link to the recorded entry.
    let wrong = json!({"seq": 2, "hash": "not-the-hash"}).to_string();
    assert_eq!(with(&wrong).json["broken"]["kind"], "unlinked");
    let early = json!({"seq": 1, "hash": second.hash}).to_string();
    assert_eq!(with(&early).json["broken"]["kind"], "missing");
    // Without the record, or without the rotated numbering, a trail that starts late is broken.
    let files: Vec<(&str, &str)> = kept.iter().map(|(n, t)| (*n, t.as_str())).collect();
    assert!(!check(&files).ok);
    let r = check(&[("audit.jsonl", &all[2..].concat())]);
    assert!(!r.ok);
    assert_eq!(r.json["rotatedAway"], 0);
}

#[test]
fn a_changed_line_is_tampered() {
    let mut l = lines(&sample(NOW));
    l[2] = l[2].replace("Kitchen Pi", "Garage Pi");
    let r = check(&[("audit.jsonl", &l.concat())]);
    assert!(!r.ok);
    assert_eq!(
        r.lines[0],
        "audit trail broken at audit.jsonl line 3: tampered: seq 3: its hash does not match its \
         content (the line was changed)"
    );
    assert_eq!(
        r.lines[1],
        "2 entries before it verify (seq 1–2); nothing after it was checked"
    );
    assert_eq!(r.json["broken"]["kind"], "tampered");
    assert_eq!(r.json["broken"]["line"], 3);
    assert_eq!(r.json["broken"]["seq"], 3);
}

#[test]
fn a_deleted_line_is_missing() {
    let mut l = lines(&sample(NOW));
    l.remove(1);
    let r = check(&[("audit.jsonl", &l.concat())]);
    assert!(!r.ok);
    assert_eq!(
        r.lines[0],
        "audit trail broken at audit.jsonl line 2: missing: expected seq 2 but found seq 3 \
         (entry 2 is missing)"
    );
    assert_eq!(r.json["broken"]["kind"], "missing");
    // The first line removed: nothing before it.
    let mut l = lines(&sample(NOW));
    l.remove(0);
    let r = check(&[("audit.jsonl", &l.concat())]);
    assert!(r.lines[0].contains("line 1: missing"), "{:?}", r.lines);
    assert_eq!(
        r.lines[1],
        "no entry before it verifies; nothing after it was checked"
    );
    // One good line, then a changed one: singular.
    let mut l = lines(&sample(NOW));
    l[1] = l[1].replace("approved", "rejected");
    let r = check(&[("audit.jsonl", &l.concat())]);
    assert_eq!(
        r.lines[1],
        "1 entry before it verifies (seq 1); nothing after it was checked"
    );
}

#[test]
fn a_garbled_line_is_malformed_with_the_seq_expected() {
    let mut l = lines(&sample(NOW));
    l[3] = "{\"seq\": 4, oops\n".into();
    let r = check(&[("audit.jsonl", &l.concat())]);
    assert!(!r.ok);
    assert!(
        r.lines[0].starts_with(
            "audit trail broken at audit.jsonl line 4: malformed (expected seq 4): not an audit entry"
        ),
        "{:?}",
        r.lines
    );
    assert!(r.json["broken"]["seq"].is_null());
    assert_eq!(r.json["broken"]["expectedSeq"], 4);
}

#[test]
fn a_line_from_another_chain_is_unlinked() {
    let l = lines(&sample(NOW));
    let mut other = Head {
        seq: 2,
        hash: "x".repeat(43),
    };
    let foreign = entry(&mut other, Action::Removed, "cccccc", None, None, NOW);
    let text = [l[0].clone(), l[1].clone(), foreign].concat();
    let r = check(&[("audit.jsonl", &text)]);
    assert_eq!(r.json["broken"]["kind"], "unlinked", "{:?}", r.lines);
    assert!(
        r.lines[0].contains("line 3: unlinked: seq 3"),
        "{:?}",
        r.lines
    );
}

#[test]
fn a_torn_last_line_is_tolerated_and_reported() {
    let l = lines(&sample(NOW));
    let cut = &l[4][..20];
    let text = format!("{}{cut}", l[..4].concat());
    let r = check(&[("audit.jsonl", &text)]);
    assert!(r.ok, "{:?}", r.lines);
    assert_eq!(
        r.lines,
        [
            "audit trail verified: 4 entries in 1 file (seq 1–4); the last line is cut short (see the warning)"
        ]
    );
    assert_eq!(
        r.warnings,
        [
            "audit.jsonl line 5 is cut short (20 bytes) — a crash during an append, or one in progress; \
          the gateway restores it from its journal at its next start"
        ]
    );
    assert_eq!(r.json["torn"]["line"], 5);
    assert_eq!(r.json["torn"]["bytes"], 20);
}

#[test]
fn the_chain_continues_across_rotated_files() {
    let l = lines(&sample(NOW));
    let r = check(&[
        ("audit.1.jsonl", &l[..2].concat()),
        ("audit.2.jsonl", &l[2..4].concat()),
        ("audit.jsonl", &l[4]),
    ]);
    assert!(r.ok, "{:?}", r.lines);
    assert_eq!(
        r.lines,
        ["audit trail verified: 5 entries in 3 files (seq 1–5)"]
    );
    // A rotated file lost: the next file's first line names the missing entries.
    let r = check(&[("audit.2.jsonl", &l[2..4].concat()), ("audit.jsonl", &l[4])]);
    assert!(!r.ok);
    assert!(
        r.lines[0].starts_with("audit trail broken at audit.2.jsonl line 1: missing: expected seq 1 but found seq 3 (entries 1–2 are missing)"),
        "{:?}",
        r.lines
    );
}

#[test]
fn an_empty_trail_is_said_so() {
    let r = check(&[]);
    assert!(r.ok);
    assert_eq!(
        r.lines,
        ["audit trail is empty: no entries in audit.jsonl yet"]
    );
    assert_eq!(r.json["entries"], 0);
    assert!(r.json["head"].is_null());
    let r = check(&[("audit.jsonl", "")]);
    assert!(r.ok);
    assert!(r.lines[0].starts_with("audit trail is empty"));
}
