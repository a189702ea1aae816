//! `openclaw nodes audit --verify`: checks the hash chain of every audit file, oldest first, as one
//! chain from its genesis ([`pairing_host::audit_log::verify`]), and reports the first line that breaks
//! it — the file, the line number, the `seq`, and how (tampered, missing entries, unlinked, malformed).
//!
//! A last line cut short (a crash during an append, or an append in progress) is not a break: it is
//! reported as a warning and the verdict rests on the lines before it. When the gateway's rotation
//! deleted the oldest files (`--audit-keep`), the chain is checked from the oldest entry kept and the
//! report says how many older entries were rotated away. The report is built by a pure
//! function ([`report`]) so every case is tested without a process.

use crate::exit::Exit;
use pairing_core::audit::Broken;
use pairing_host::audit_log::{self, Verified};
use serde_json::{Value, json};
use std::path::Path;

/// What the check found, ready to print.
#[derive(Debug, PartialEq)]
pub(super) struct Report {
    /// The chain verified (exit 0).
    pub ok: bool,
    /// The result: for stdout when the chain verifies, else (joined into one line) for stderr.
    pub lines: Vec<String>,
    /// Warnings, for stderr.
    pub warnings: Vec<String>,
    /// The result as one JSON object (`--json`).
    pub json: Value,
}

/// A stable word for how a line breaks the chain.
pub(super) fn kind(b: &Broken) -> &'static str {
    match b {
        Broken::Malformed(_) => "malformed",
        Broken::Tampered { .. } => "tampered",
        Broken::Gap { expected, found } if found > expected => "missing",
        Broken::Gap { .. } => "out-of-order",
        Broken::Unlinked { .. } => "unlinked",
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Builds the report of a verification of the trail in `dir`.
pub(super) fn report(dir: &Path, v: &Verified) -> Report {
    let seq_range = |n: u64| match v.head.as_ref() {
        Some(h) if n == 1 => format!(" (seq {})", h.seq),
        Some(h) if n > 1 => format!(" (seq {}–{})", h.seq + 1 - n, h.seq),
        _ => String::new(),
    };
    let next_seq = v.head.as_ref().map_or(1, |h| h.seq + 1);
    let mut warnings = Vec::new();
    let torn = v.torn.as_ref().map(|(place, bytes)| {
        warnings.push(format!(
            "{place} is cut short ({}) — a crash during an append, or one in progress; the gateway \
             restores it from its journal at its next start",
            plural(*bytes as u64, "byte", "bytes")
        ));
        json!({ "file": place.path, "line": place.line, "bytes": bytes })
    });
    let files: Vec<Value> = v.files.iter().map(|p| json!(p)).collect();
    let head = v
        .head
        .as_ref()
        .filter(|h| h.seq > 0)
        .map(|h| json!({ "seq": h.seq, "hash": h.hash }));
    let mut lines = Vec::new();
    let broken = v.broken.as_ref().map(|(place, b)| {
        let seq = match b {
            Broken::Tampered { seq } | Broken::Unlinked { seq } => Some(*seq),
            Broken::Gap { found, .. } => Some(*found),
            _ => None,
        };
        let at = match seq {
            Some(_) => String::new(),
            None => format!(" (expected seq {next_seq})"),
        };
        lines.push(format!(
            "audit trail broken at {place}: {}{at}: {b}",
            kind(b)
        ));
        lines.push(if v.entries == 0 {
            "no entry before it verifies; nothing after it was checked".to_owned()
        } else {
            format!(
                "{} before it {}{}; nothing after it was checked",
                plural(v.entries, "entry", "entries"),
                if v.entries == 1 { "verifies" } else { "verify" },
                seq_range(v.entries)
            )
        });
        json!({
            "file": place.path,
            "line": place.line,
            "kind": kind(b),
            "seq": seq,
            "expectedSeq": next_seq,
            "message": b.to_string(),
        })
    });
    let ok = broken.is_none();
    if v.rotated_away > 0 {
        let which = if v.rotated_away == 1 {
            "the oldest entry (seq 1) was".to_owned()
        } else {
            format!(
                "the {} oldest entries (seq 1–{}) were",
                v.rotated_away, v.rotated_away
            )
        };
        lines.push(format!(
            "{which} rotated away (gateway --audit-keep); the chain is checked from the oldest \
             entry kept"
        ));
    }
    if ok {
        let cut = if torn.is_some() {
            "; the last line is cut short (see the warning)"
        } else {
            ""
        };
        lines.push(if v.entries == 0 {
            format!(
                "audit trail is empty: no entries in {} yet{cut}",
                dir.join(audit_log::CURRENT).display()
            )
        } else {
            format!(
                "audit trail verified: {} in {}{}{cut}",
                plural(v.entries, "entry", "entries"),
                plural(v.files.len() as u64, "file", "files"),
                seq_range(v.entries)
            )
        });
    }
    Report {
        ok,
        lines,
        warnings,
        json: json!({
            "ok": ok,
            "entries": v.entries,
            "files": files,
            "head": head,
            "broken": broken,
            "torn": torn,
            "rotatedAway": v.rotated_away,
        }),
    }
}

/// Runs `nodes audit --verify` on `dir`.
pub(super) fn run(dir: &Path, json: bool) -> anyhow::Result<Exit> {
    let v = audit_log::verify(dir)
        .map_err(|e| anyhow::anyhow!("cannot read the audit trail in {}: {e}", dir.display()))?;
    let r = report(dir, &v);
    if json {
        println!("{}", r.json);
    } else if r.ok {
        for l in &r.lines {
            println!("{l}");
        }
    } else {
        // A broken chain is the command failing (exit 1): its one line goes to stderr.
        eprintln!("openclaw: {}", r.lines.join("; "));
    }
    for w in &r.warnings {
        eprintln!("openclaw: warning: {w}");
    }
    Ok(if r.ok { Exit::Ok } else { Exit::Failure })
}

#[cfg(test)]
mod tests;
