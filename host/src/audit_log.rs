//! The audit trail on disk: `<state>/nodes/audit.jsonl`, and the files it rotated into,
//! `audit.1.jsonl`, `audit.2.jsonl`, … (oldest first). One entry a line; the hash chain of
//! [`pairing_core::audit`] runs across the files in that order: the first entry of a file links to
//! the last of the one before.
//!
//! The trail's disk use is bounded: the current file is rotated when it would pass
//! [`AuditLimits::max_bytes`], and only the newest [`AuditLimits::keep`] rotated files are kept — at
//! most `(keep + 1) × max_bytes` (plus one batch of entries), however many requests a flood makes.
//! Before a rotated file is deleted, the seq and hash of its last entry are written to
//! `audit.rotated.json` ([`ROTATED`]); [`verify`] checks that the oldest file kept links to exactly
//! that entry and reports how many older entries were rotated away, instead of calling the chain
//! broken. Without that record, a missing oldest file is a break, as any other missing entries are.
//!
//! The [`crate::FileStore`] writes it; this module finds, reads and verifies it, for the store at start
//! and for `openclaw nodes audit`.

use crate::fsutil::{open_private, read_private};
use pairing_core::audit::{Broken, ChainCheck, Head, ReadEntry};
use std::io;
use std::path::{Path, PathBuf};

/// The file being appended to.
pub const CURRENT: &str = "audit.jsonl";

/// The current file is rotated when it reaches this size (default of [`AuditLimits::max_bytes`]).
pub const ROTATE_BYTES: u64 = 10 * 1024 * 1024;

/// Rotated files kept (default of [`AuditLimits::keep`]): with [`ROTATE_BYTES`], at most 50 MiB.
pub const KEEP: u64 = 4;

/// How much audit trail is kept on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditLimits {
    /// The current file is rotated before it would pass this size (one batch may overshoot an
    /// empty file).
    pub max_bytes: u64,
    /// Rotated files kept; older ones are deleted at rotation (at least 1, so a verification can
    /// tell files rotated away from a broken chain).
    pub keep: u64,
}

impl Default for AuditLimits {
    fn default() -> Self {
        AuditLimits {
            max_bytes: ROTATE_BYTES,
            keep: KEEP,
        }
    }
}

impl AuditLimits {
    /// The most disk the trail takes, in bytes (give or take one batch).
    pub fn bound(&self) -> u64 {
        self.max_bytes.saturating_mul(self.keep.saturating_add(1))
    }
}

/// The record of the last entry rotated away.
pub const ROTATED: &str = "audit.rotated.json";

/// Deletes rotated files of `dir` numbered `newest - keep` or lower, oldest first, each after
/// recording its last entry in [`ROTATED`]; returns how many.
pub fn prune(dir: &Path, newest: u64, keep: u64) -> io::Result<u64> {
    let mut removed = 0;
    for path in files(dir)? {
        let n = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(rotated_number);
        if let Some(n) = n
            && n.saturating_add(keep.max(1)) <= newest
        {
            if let Some(head) = tail(&path)?.last.as_deref().and_then(line_head) {
                let record = serde_json::json!({ "seq": head.seq, "hash": head.hash });
                crate::fsutil::write_atomic(&dir.join(ROTATED), record.to_string().as_bytes())?;
            }
            std::fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The `seq` and `hash` a line states (whether or not it verifies).
pub fn line_head(line: &str) -> Option<Head> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    Some(Head {
        seq: v["seq"].as_u64()?,
        hash: v["hash"].as_str()?.to_owned(),
    })
}

/// The last entry rotated away, from [`ROTATED`]; `None` if nothing was (or the record is unreadable).
pub fn rotated_away(dir: &Path) -> io::Result<Option<Head>> {
    let Some(bytes) = read_private(&dir.join(ROTATED))? else {
        return Ok(None);
    };
    Ok(std::str::from_utf8(&bytes).ok().and_then(line_head))
}

/// The number of a rotated file's name, `audit.<n>.jsonl`.
pub fn rotated_number(name: &str) -> Option<u64> {
    let n = name.strip_prefix("audit.")?.strip_suffix(".jsonl")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.starts_with('0') {
        return None;
    }
    n.parse().ok()
}

/// The path of rotated file number `n`.
pub fn rotated_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("audit.{n}.jsonl"))
}

/// Every audit file in `dir`, oldest first: the rotated ones by number, then the current one. A
/// missing directory has none.
pub fn files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut rotated = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if let Some(n) = entry.file_name().to_str().and_then(rotated_number) {
            rotated.push((n, entry.path()));
        }
    }
    rotated.sort();
    let mut out: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    let current = dir.join(CURRENT);
    // A link counts (and is refused when read): it must not be skipped silently.
    if std::fs::symlink_metadata(&current).is_ok() {
        out.push(current);
    }
    Ok(out)
}

/// One file's content split into lines.
#[derive(Debug)]
pub struct FileLines {
    /// Complete lines (that ended with a newline), without it.
    pub lines: Vec<String>,
    /// Bytes after the last newline: a line cut short (a crash during an append, or being written).
    pub torn: Option<Vec<u8>>,
}

/// Splits `bytes` into complete lines and a torn tail. Lines that are not UTF-8 are kept lossily (they
/// will not verify).
pub fn split_lines(bytes: &[u8]) -> FileLines {
    let end = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let mut lines: Vec<String> = bytes[..end]
        .split(|b| *b == b'\n')
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    // `split` yields an empty piece after the final newline (or for no bytes at all).
    lines.pop();
    let torn = (end < bytes.len()).then(|| bytes[end..].to_vec());
    FileLines { lines, torn }
}

/// The end of a file: its length, the length of a torn tail, and its last non-blank complete line.
#[derive(Debug, PartialEq, Eq)]
pub struct Tail {
    /// The file's length.
    pub len: u64,
    /// Bytes after the last newline.
    pub torn: u64,
    /// The last complete line that is not blank, without its newline.
    pub last: Option<String>,
}

/// Reads only as much of the end of `path` as it takes to find its [`Tail`] (a full audit file is
/// 10 MiB; the gateway's start must not read it all).
pub fn tail(path: &Path) -> io::Result<Tail> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = open_private(path, std::fs::OpenOptions::new().read(true))?;
    let len = f.metadata()?.len();
    let mut window: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(window);
        f.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity((len - start) as usize);
        (&mut f).take(len - start).read_to_end(&mut buf)?;
        let whole = start == 0;
        let Some(nl) = buf.iter().rposition(|b| *b == b'\n') else {
            if whole {
                return Ok(Tail {
                    len,
                    torn: len,
                    last: None,
                });
            }
            window = window.saturating_mul(4);
            continue;
        };
        let torn = (buf.len() - nl - 1) as u64;
        let mut end = nl;
        loop {
            let begin = buf[..end].iter().rposition(|b| *b == b'\n').map(|i| i + 1);
            if begin.is_none() && !whole {
                break; // the line may start before the window
            }
            let begin = begin.unwrap_or(0);
            let line = &buf[begin..end];
            if !line.trim_ascii().is_empty() {
                let last = Some(String::from_utf8_lossy(line).into_owned());
                return Ok(Tail { len, torn, last });
            }
            if begin == 0 {
                return Ok(Tail {
                    len,
                    torn,
                    last: None,
                });
            }
            end = begin - 1;
        }
        window = window.saturating_mul(4);
    }
}

/// Reads a file's lines.
pub fn read_lines(path: &Path) -> io::Result<FileLines> {
    let bytes = read_private(path)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is gone", path.display()),
        )
    })?;
    Ok(split_lines(&bytes))
}

/// Where in the trail something is: a file and a 1-based line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The file.
    pub path: PathBuf,
    /// The line, from 1.
    pub line: usize,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} line {}", self.path.display(), self.line)
    }
}

/// What verifying the whole trail found.
#[derive(Debug, Default)]
pub struct Verified {
    /// Files read, oldest first.
    pub files: Vec<PathBuf>,
    /// Entries that verified.
    pub entries: u64,
    /// The end of the verified chain.
    pub head: Option<Head>,
    /// The first line that breaks the chain, and why.
    pub broken: Option<(Place, Broken)>,
    /// A last line cut short (tolerated: a crash during an append, or an append in progress).
    pub torn: Option<(Place, usize)>,
    /// Entries older than the oldest file kept, deleted by rotation (`seq` 1 to this).
    pub rotated_away: u64,
}

/// Verifies every file in `dir` as one chain from its genesis; stops at the first broken line.
pub fn verify(dir: &Path) -> io::Result<Verified> {
    let mut out = Verified {
        files: files(dir)?,
        ..Verified::default()
    };
    // The oldest file kept is numbered above 1 and the gateway recorded what it rotated away: the
    // chain is checked from that entry.
    let oldest_rotated = out
        .files
        .first()
        .and_then(|p| p.file_name()?.to_str().and_then(rotated_number))
        .is_some_and(|n| n > 1);
    let away = if oldest_rotated {
        rotated_away(dir)?
    } else {
        None
    };
    let mut check = if away.is_some() {
        ChainCheck::from_anywhere()
    } else {
        ChainCheck::from_genesis()
    };
    let count = out.files.len();
    for (i, path) in out.files.iter().enumerate() {
        let FileLines { lines, torn } = read_lines(path)?;
        for (n, line) in lines.iter().enumerate() {
            let first = check.verified == 0;
            let mut checked = check.check(line);
            if let (Some(away), true, Ok(e)) = (&away, first, &checked) {
                // A crash between the record and the deletion: entries it covers are skipped.
                if e.seq <= away.seq {
                    check = ChainCheck::from_anywhere();
                    continue;
                }
                if e.seq != away.seq + 1 || e.prev_hash != away.hash {
                    check = ChainCheck::from_anywhere();
                }
                if e.seq != away.seq + 1 {
                    checked = Err(Broken::Gap {
                        expected: away.seq + 1,
                        found: e.seq,
                    });
                } else if e.prev_hash != away.hash {
                    checked = Err(Broken::Unlinked { seq: e.seq });
                } else {
                    out.rotated_away = away.seq;
                }
            }
            if let Err(b) = checked {
                out.broken = Some((
                    Place {
                        path: path.clone(),
                        line: n + 1,
                    },
                    b,
                ));
                out.entries = check.verified;
                out.head = check.head().cloned();
                return Ok(out);
            }
        }
        if let Some(t) = torn {
            let place = Place {
                path: path.clone(),
                line: lines.len() + 1,
            };
            if i + 1 == count {
                out.torn = Some((place, t.len()));
            } else {
                // Only the file being appended to can end mid-line.
                out.broken = Some((place, Broken::Malformed("a line cut short".into())));
                break;
            }
        }
    }
    out.entries = check.verified;
    out.head = check.head().cloned();
    Ok(out)
}

/// A line that could not be read as an entry, and why.
pub type Unreadable = (Place, Broken);

/// One entry that reads, and its line as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// The parsed entry.
    pub entry: ReadEntry,
    /// The line exactly as in the file (without its newline).
    pub raw: String,
}

/// The whole trail as read for display (`openclaw nodes audit`); [`verify`] is the check.
#[derive(Debug, Default)]
pub struct Trail {
    /// The files read, oldest first.
    pub files: Vec<PathBuf>,
    /// Entries that read, in file order.
    pub lines: Vec<Line>,
    /// Lines that do not read, or whose content no longer gives their hash.
    pub bad: Vec<Unreadable>,
    /// Files that end in a line cut short (an append in progress, or a crash during one).
    pub torn: Vec<Place>,
}

/// Reads every audit file in `dir`, oldest first (each without following a link): every entry that
/// reads, the lines that do not, and the files that end mid-line. A missing directory is an empty
/// trail.
pub fn read_trail(dir: &Path) -> io::Result<Trail> {
    let mut t = Trail {
        files: files(dir)?,
        ..Trail::default()
    };
    for path in &t.files {
        let FileLines { lines, torn } = read_lines(path)?;
        let count = lines.len();
        for (n, raw) in lines.into_iter().enumerate() {
            match pairing_core::audit::read_line(&raw) {
                Ok(entry) => t.lines.push(Line { entry, raw }),
                Err(b) => t.bad.push((
                    Place {
                        path: path.clone(),
                        line: n + 1,
                    },
                    b,
                )),
            }
        }
        if torn.is_some() {
            t.torn.push(Place {
                path: path.clone(),
                line: count + 1,
            });
        }
    }
    Ok(t)
}

/// Every entry that parses, oldest first, with the lines that do not (for display; [`verify`] is the
/// check): [`read_trail`] without the raw lines and torn tails.
pub fn read_all(dir: &Path) -> io::Result<(Vec<ReadEntry>, Vec<Unreadable>)> {
    let t = read_trail(dir)?;
    Ok((t.lines.into_iter().map(|l| l.entry).collect(), t.bad))
}

#[cfg(test)]
mod tests;
