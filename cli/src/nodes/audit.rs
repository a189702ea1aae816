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
use crate::render::Table;
use crate::trail::{Line, Trail, audit_dir, match_node, read_trail, short_request};
use clap::Args;
use pairing_core::audit::ReadEntry;
use pairing_core::format::{self, ago, short_id};
use pairing_host::audit_log;
use pairing_host::clock::now_ms;

mod verify;

/// The long help of `nodes audit`.
pub(super) const LONG_ABOUT: &str = "Show the audit trail: one entry per pairing decision (requested, approved, rejected, \
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
pub(super) const AFTER_HELP: &str = concat!(
    "Examples:\n",
    "  openclaw nodes audit                          # every decision, oldest first\n",
    "  openclaw nodes audit --node kitchen-pi --since 2d\n",
    "  openclaw nodes audit --json | jq -c 'select(.action == \"rejected\")'\n",
    "  openclaw nodes audit --verify                 # check the hash chain across every file\n",
    "  openclaw nodes audit --verify --json          # the result as one JSON object\n\n",
    "Exit codes: 0 listed (even when nothing matches) or verified; 1 the chain is broken, or the files \
     cannot be read; 64 usage error."
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
pub(super) fn parse_since(text: &str) -> Result<Since, String> {
    crate::args::parse_duration(text).map(|ms| Since {
        ms,
        text: text.trim().to_owned(),
    })
}

/// A node's label in an entry: the name it had then, else its short id.
fn node_label(e: &ReadEntry) -> String {
    format::node_label(e.display_name.as_deref(), &e.node_id)
}

/// The table of entries, oldest first.
pub(super) fn table(entries: &[&ReadEntry], now: u64) -> String {
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
pub(super) fn warnings(t: &Trail) -> Vec<String> {
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
pub(super) fn run(opt: &Opt) -> anyhow::Result<Exit> {
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
pub(super) mod tests;
