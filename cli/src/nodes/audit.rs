//! `openclaw nodes audit [--node Q] [--since DURATION] [--json] [--verify]`: the audit trail the gateway
//! writes to `<state>/nodes/audit.jsonl` (and the files it rotated into), read from this machine's
//! files — no gateway needed, so it works while the gateway is down.
//!
//! Listing shows every entry that reads, oldest first; lines that do not read (or no longer match their
//! hash) are counted on stderr, never dropped silently, and `--verify` ([`verify`]) names
//! the first of them. `--node Q` follows the CLI's `--node` rules ([`crate::resolve`]) over the nodes
//! the trail names; a query that matches one node shows all of that node's entries, whatever its name
//! was at the time (a renamed node keeps its history), and one that matches several nodes is refused
//! with the candidates, as everywhere else.

use crate::exit::Exit;
use crate::identity::now_ms;
use crate::render::{Table, ago, short_id};
use crate::trail::{Line, Trail, audit_dir, match_node, read_trail, short_request};
use clap::Args;
use pairing_core::audit::ReadEntry;
use pairing_host::audit_log;

mod verify;

/// The long help of `nodes audit`.
pub const LONG_ABOUT: &str = "Show the audit trail: one entry per pairing decision (requested, approved, rejected, \
    expired, superseded, removed, renamed), oldest first, with who made it. The gateway appends them to \
    <state>/nodes/audit.jsonl (state: $OPENCLAW_STATE_DIR, default ~/.openclaw) and rotates that file \
    at 10 MiB into audit.1.jsonl, audit.2.jsonl, …; this command reads those files directly, so run it \
    on the gateway host. Entries never contain tokens.\n\n\
    --node Q picks one node by id, IP, display name (any name it had) or id prefix of at least 6 \
    characters; a query that fits several nodes is refused with the candidates. --since keeps the \
    entries newer than a duration (30s, 15m, 1h, 2d). --json prints the stored entries unchanged, one \
    JSON object per line.\n\n\
    Lines that cannot be read are counted on stderr. --verify checks the whole hash chain instead: it \
    names the first line that was changed, removed or cannot be read (exit 1); a last line cut short by \
    a crash during an append is reported and tolerated.";

/// Examples, shown at the end of `openclaw nodes audit --help`.
pub const AFTER_HELP: &str = concat!(
    "Examples:\n",
    "  openclaw nodes audit                          # every decision, oldest first\n",
    "  openclaw nodes audit --node kitchen-pi --since 2d\n",
    "  openclaw nodes audit --json | jq -c 'select(.action == \"rejected\")'\n",
    "  openclaw nodes audit --verify                 # check the hash chain across every file\n",
    "  openclaw nodes audit --verify --json          # the result as one JSON object\n\n",
    "Exit codes: 0 listed (even when nothing matches) or verified; 1 the chain is broken, or the files \
     cannot be read."
);

/// `openclaw nodes audit`.
#[derive(Debug, Args)]
pub struct Opt {
    /// Only this node's entries: id, IP, display name, or an id prefix of at least 6 characters.
    #[arg(long, value_name = "Q", conflicts_with = "verify")]
    pub node: Option<String>,
    /// Only entries newer than this: 30s, 15m, 1h, 2d.
    #[arg(long, value_name = "DURATION", value_parser = parse_since, conflicts_with = "verify")]
    pub since: Option<Since>,
    /// Check the hash chain of every audit file instead of listing; exit 1 at the first broken line.
    #[arg(long)]
    pub verify: bool,
    /// Print only JSON: the stored entries one per line (NDJSON), or with --verify one result object.
    #[arg(long)]
    pub json: bool,
}

/// `--since`: a span in ms, and how it was typed (to say it back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Since {
    /// The span in milliseconds.
    pub ms: u64,
    /// The text given.
    pub text: String,
}

/// Parses `--since`: a duration as every flag takes it (`90s`, `15m`, `1h`, `2d`).
pub fn parse_since(text: &str) -> Result<Since, String> {
    crate::args::parse_duration(text).map(|ms| Since {
        ms,
        text: text.trim().to_owned(),
    })
}

/// A node's label in an entry: the name it had then, else its short id.
fn node_label(e: &ReadEntry) -> String {
    match e.display_name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => n.to_owned(),
        _ => short_id(&e.node_id),
    }
}

/// The table of entries, oldest first.
pub fn table(entries: &[&ReadEntry], now: u64) -> String {
    let mut t = Table::new(&["SEQ", "AGE", "ACTION", "NODE", "REQUEST", "ACTOR"]);
    for e in entries {
        t.row(vec![
            e.seq.to_string(),
            ago(e.ts, now),
            e.action.clone(),
            node_label(e),
            short_request(e.request_id.as_deref()),
            e.actor_text(),
        ]);
    }
    t.render()
}

/// `1 line` / `2 lines`.
fn lines_word(n: usize) -> String {
    if n == 1 {
        "1 line".to_owned()
    } else {
        format!("{n} lines")
    }
}

/// The stderr notes about lines not shown: unreadable ones, and a last line cut short.
pub fn warnings(t: &Trail) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((place, why)) = t.bad.first() {
        out.push(format!(
            "{} could not be read or no longer {} (first: {place}: {why}); run \
             `openclaw nodes audit --verify`",
            lines_word(t.bad.len()),
            if t.bad.len() == 1 {
                "matches its hash"
            } else {
                "match their hash"
            }
        ));
    }
    for place in &t.torn {
        out.push(format!(
            "{place} is cut short (an append in progress, or a crash during one) and is not shown"
        ));
    }
    out
}

/// Runs `nodes audit` (listing; `--verify` goes to [`verify::run`]).
pub fn run(opt: &Opt) -> anyhow::Result<Exit> {
    let dir = audit_dir();
    if opt.verify {
        return verify::run(&dir, opt.json);
    }
    let trail = read_trail(&dir)
        .map_err(|e| anyhow::anyhow!("cannot read the audit trail in {}: {e}", dir.display()))?;
    let node = match &opt.node {
        Some(q) => Some(match_node(q, &trail.lines)?),
        None => None,
    };
    let now = now_ms();
    let shown: Vec<&Line> = trail
        .lines
        .iter()
        .filter(|l| node.as_ref().is_none_or(|(id, _)| l.entry.node_id == *id))
        .filter(|l| {
            opt.since
                .as_ref()
                .is_none_or(|s| l.entry.ts >= now.saturating_sub(s.ms))
        })
        .collect();
    if opt.json {
        for l in &shown {
            println!("{}", l.raw);
        }
    } else if trail.lines.is_empty() && trail.bad.is_empty() {
        println!(
            "No audit entries yet in {} (the gateway appends one for every pairing decision).",
            dir.join(audit_log::CURRENT).display()
        );
    } else if shown.is_empty() {
        println!(
            "No audit entries{}{} ({} in the trail).",
            node.as_ref()
                .map(|(id, label)| format!(" for {label} ({})", short_id(id)))
                .unwrap_or_default(),
            opt.since
                .as_ref()
                .map(|s| format!(" in the last {}", s.text))
                .unwrap_or_default(),
            trail.lines.len()
        );
    } else {
        let first = shown.first().map_or(0, |l| l.entry.seq);
        let last = shown.last().map_or(0, |l| l.entry.seq);
        let seqs = if first == last {
            format!("seq {first}")
        } else {
            format!("seq {first}–{last}")
        };
        let mut head = if shown.len() == trail.lines.len() {
            format!(
                "Audit trail: {} {} ({seqs})",
                shown.len(),
                if shown.len() == 1 { "entry" } else { "entries" }
            )
        } else {
            format!(
                "Audit trail: {} of {} {} ({seqs})",
                shown.len(),
                trail.lines.len(),
                if trail.lines.len() == 1 {
                    "entry"
                } else {
                    "entries"
                }
            )
        };
        if let Some((id, label)) = &node {
            head.push_str(&format!(" · {label} ({})", short_id(id)));
        }
        if let Some(s) = &opt.since {
            head.push_str(&format!(" · last {}", s.text));
        }
        println!("{head}");
        let entries: Vec<&ReadEntry> = shown.iter().map(|l| &l.entry).collect();
        print!("{}", table(&entries, now));
    }
    for w in warnings(&trail) {
        eprintln!("openclaw: warning: {w}");
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use pairing_core::audit::{Action, Actor, AuditEntry, Head};
    use pairing_core::ids::{ConnId, NodeId, RequestId};

    /// A sealed entry of `node` (named `name`) for the chain at `head`.
    pub fn entry(
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
    pub fn sample(now: u64) -> String {
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
            e.contains("aaaaaa1111111111") && e.contains("bbbbbb2222222222"),
            "{e}"
        );
        let e = match_node("garage", &t.lines).unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown node: garage (known: Kitchen Pi / 10.0.0.7 / aaaaaa1111111111, \
             10.0.0.7 / bbbbbb2222222222)"
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
}
