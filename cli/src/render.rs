//! Human output: aligned tables and the CLI's table cells (addresses, scopes, clients, approvals).
//! Ages, time left, countdowns, short ids, node labels and decision words follow the core's one rule
//! each ([`pairing_core::format`]); this module has none of its own.

use pairing_core::format::{ago, short_id};

/// A table of left-aligned columns separated by two spaces, with a header row.
#[derive(Debug, Default)]
pub(crate) struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Notes under a row (by row index): markers too long for a column.
    notes: Vec<(usize, String)>,
}

impl Table {
    /// A table with these column headers.
    pub(crate) fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Appends a row (missing cells are blank).
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Adds a note under the last row (`  ↳ re-pair, changed: commands added: system.run`), wrapped
    /// to the table's width; nothing when `text` is empty.
    pub(crate) fn note(&mut self, text: String) {
        if !text.is_empty() && !self.rows.is_empty() {
            self.notes.push((self.rows.len() - 1, text));
        }
    }

    /// Renders the table within [`MAX_WIDTH`] columns; every line ends with `\n`, with no trailing
    /// spaces. When it would be wider, the widest cells are cut (ending in `…`), never those of an id
    /// or code column ([`KEEP_WHOLE`]) and never below their header; `--json` has every value whole.
    pub(crate) fn render(&self) -> String {
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if i >= widths.len() {
                    widths.push(0);
                }
                widths[i] = widths[i].max(width(cell));
            }
        }
        self.fit(&mut widths);
        let mut out = String::new();
        for (r, row) in std::iter::once(&self.headers).chain(&self.rows).enumerate() {
            let mut line = String::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = cut(row.get(i).map_or("", String::as_str), *w);
                line.push_str(&cell);
                line.extend(std::iter::repeat_n(' ', w - width(&cell) + 2));
            }
            out.push_str(line.trim_end());
            out.push('\n');
            for (_, note) in self.notes.iter().filter(|(i, _)| *i + 1 == r) {
                for (k, part) in wrap(note, MAX_WIDTH - 4).iter().enumerate() {
                    out.push_str(if k == 0 { "  ↳ " } else { "    " });
                    out.push_str(part);
                    out.push('\n');
                }
            }
        }
        out
    }
}

/// Every table fits a terminal this wide.
pub(crate) const MAX_WIDTH: usize = 80;

/// Columns whose cells are never cut: what a person types back (ids, codes).
const KEEP_WHOLE: [&str; 4] = ["REQUEST", "ID", "CODE", "SEQ"];

/// Columns cut first, in this order, down to their header's width: details `describe` and `--json`
/// show whole. Then the widest other column is cut.
const CUT_FIRST: [&str; 2] = ["CLIENT", "ACTOR"];

impl Table {
    /// Narrows the widest cuttable column, one character at a time, until the table fits.
    fn fit(&self, widths: &mut [usize]) {
        let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
        let floor = |i: usize| self.headers.get(i).map_or(0, |h| h.chars().count()).max(6);
        for name in CUT_FIRST {
            if let Some(i) = self.headers.iter().position(|h| h == name) {
                let over = total(widths).saturating_sub(MAX_WIDTH);
                widths[i] -= over.min(widths[i].saturating_sub(floor(i)));
            }
        }
        while total(widths) > MAX_WIDTH {
            let widest = widths
                .iter()
                .enumerate()
                .filter(|(i, w)| {
                    let header = self.headers.get(*i).map_or("", String::as_str);
                    !KEEP_WHOLE.contains(&header) && **w > header.chars().count().max(6)
                })
                .max_by_key(|(_, w)| **w)
                .map(|(i, _)| i);
            match widest {
                Some(i) => widths[i] -= 1,
                None => break,
            }
        }
    }
}

/// `text` in lines of at most `width` characters, broken at spaces (a longer word stays whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The scopes approving needs beyond `operator.pairing` (which every approval needs): `admin`,
/// `write`, or `pairing` when that is all.
pub(crate) fn needs<S: AsRef<str>>(scopes: &[S]) -> String {
    let beyond: Vec<&str> = scopes
        .iter()
        .map(AsRef::as_ref)
        .filter(|s| *s != "operator.pairing")
        .collect();
    if beyond.is_empty() {
        scope_list(scopes)
    } else {
        scope_list(&beyond)
    }
}

/// `text` within `width` characters, ending in `…` when cut.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A long id cut to [`short_id`] with `…` when something was cut: `3f1c2a0b9d8e…`.
pub(crate) fn abbrev(id: &str) -> String {
    let short = short_id(id);
    if short.len() < id.len() {
        format!("{short}…")
    } else {
        short.to_owned()
    }
}

/// An address for display: IPv4-mapped IPv6 shown as IPv4, absent as `-`.
pub(crate) fn bare_ip(ip: Option<&str>) -> String {
    match ip {
        Some(ip) if !ip.is_empty() => ip.strip_prefix("::ffff:").unwrap_or(ip).to_owned(),
        _ => "-".into(),
    }
}

/// Scopes without the `operator.` prefix, comma-joined (`pairing,write`), or `-` for none.
pub(crate) fn scope_list<S: AsRef<str>>(list: &[S]) -> String {
    if list.is_empty() {
        return "-".into();
    }
    list.iter()
        .map(|s| s.as_ref())
        .map(|s| s.strip_prefix("operator.").unwrap_or(s))
        .collect::<Vec<_>>()
        .join(",")
}

/// The client a node or device connected with: `node-host/node v2026.9.6` (`client.id`/`client.mode`
/// and the app version); the mode is left out when it repeats the id, and `-` stands for nothing known.
pub(crate) fn client(id: Option<&str>, mode: Option<&str>, version: Option<&str>) -> String {
    fn present(s: Option<&str>) -> Option<&str> {
        s.map(str::trim).filter(|s| !s.is_empty())
    }
    let name = match (present(id), present(mode)) {
        (Some(id), Some(mode)) if mode != id => Some(format!("{id}/{mode}")),
        (Some(id), _) => Some(id.to_owned()),
        (None, _) => None,
    };
    // `v` marks the version, which otherwise reads like a client name when the id is unknown.
    let version = present(version).map(|v| match v.strip_prefix(['v', 'V']) {
        Some(_) => v.to_owned(),
        None => format!("v{v}"),
    });
    let parts: Vec<String> = name.into_iter().chain(version).collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" ")
    }
}

/// When and how a pairing was approved: `2m ago · owner` (`owner`: a person, `local`:
/// `--auto-approve-local`, `import`: an OpenClaw state directory), `-` when never.
pub(crate) fn approved(at: Option<u64>, via: Option<&str>, now: u64) -> String {
    match (at, via.filter(|v| !v.is_empty())) {
        (Some(at), Some(via)) => format!("{} · {via}", ago(at, now)),
        (Some(at), None) => ago(at, now),
        (None, Some(via)) => via.to_owned(),
        (None, None) => "-".into(),
    }
}

/// The latest of several optional instants as an age (`2m ago`), or `-`.
pub(crate) fn last_seen(times: &[Option<u64>], now: u64) -> String {
    times
        .iter()
        .flatten()
        .max()
        .map_or_else(|| "-".into(), |&ts| ago(ts, now))
}

#[cfg(test)]
mod tests;
