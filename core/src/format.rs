//! People-facing formatting, one rule per thing, for every client (the CLI, the approval page):
//!
//! | what            | rule                                                        | examples                  |
//! |-----------------|-------------------------------------------------------------|---------------------------|
//! | age             | "just now" under 10 s (or slightly in the future), then the largest whole unit: seconds under a minute, minutes under an hour, hours under two days, then days | `just now`, `45s ago`, `3m ago`, `5h ago`, `3d ago` |
//! | time left       | rounded to the nearest unit shown (a fresh 5-minute request reads "5m") | `expires in 5m`, `expired` |
//! | countdown       | seconds round up, so it reaches zero only when time is really up; minutes and zero-padded seconds | `4m 05s`, `59s` |
//! | short request id | the first 8 characters (a UUID's first group); any 6+ character prefix is accepted back | `6f1c0c2e` |
//! | countdown label  | "expires in" and the countdown; spoken in words for screen readers; urgent in the last minute | `expires in 4m 05s`, `expires in 4 minutes 5 seconds` |
//! | node label      | the display name (trimmed), else the first 12 characters of the id | `Kitchen iPad`, `3f1c2a0b9d8e` |
//! | decision        | the lowercase protocol word                                 | `approved`, `superseded`  |
//! | why it is gone  | one clause per [`Decision`], as the gateway's error says it | `it expired`              |
//!
//! Under ten seconds a person cannot act on the difference between "3s ago" and "8s ago", and a clock
//! a little ahead of the reader's must not read as the future: both are "just now". A countdown reads
//! "4m 05s" rather than "4:05" so it is never mistaken for a time of day.

use crate::memory::Decision;

/// Ages under this many milliseconds read "just now".
pub const JUST_NOW_MS: u64 = 10_000;

/// Characters of an id shown when there is no name: enough to tell nodes apart and to type as a prefix.
pub const SHORT_ID_CHARS: usize = 12;

/// A compact span: `45s`, `3m`, `2h`, `5d` (whole units, rounded down).
pub fn span(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// How long ago `ts` was at `now` (both ms since the epoch): `just now`, `45s ago`, `3m ago`.
pub fn ago(ts: u64, now: u64) -> String {
    let d = now.saturating_sub(ts);
    if d < JUST_NOW_MS {
        "just now".to_owned()
    } else {
        format!("{} ago", span(d))
    }
}

/// Time left until `at`: `expires in 3m`, or `expired`. Rounded to the nearest unit shown, so a fresh
/// request (4m59s left) reads "expires in 5m" and one with 4m20s left "expires in 4m".
pub fn expires_in(at: u64, now: u64) -> String {
    if at <= now {
        return "expired".to_owned();
    }
    let left = at - now;
    let unit = match left {
        0..60_000 => 1_000,
        60_000..3_600_000 => 60_000,
        3_600_000..172_800_000 => 3_600_000,
        _ => 86_400_000,
    };
    format!(
        "expires in {}",
        span(((left + unit / 2) / unit).max(1) * unit)
    )
}

/// A countdown of `left_ms`, seconds rounded up: `4m 05s`, `59s`, `1s`; `0s` when nothing is left.
pub fn countdown(left_ms: u64) -> String {
    let s = left_ms.div_ceil(1000);
    if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// The [`countdown`] to `expires_at_ms` at `now`, or `None` once it has run out.
pub fn countdown_to(expires_at_ms: u64, now: u64) -> Option<String> {
    (expires_at_ms > now).then(|| countdown(expires_at_ms - now))
}

/// Characters of a request id shown: a UUID's first group.
pub const SHORT_REQUEST_CHARS: usize = 8;

/// A countdown under this many milliseconds is urgent (shown as such on the page).
pub const URGENT_MS: u64 = 60_000;

/// The first [`SHORT_REQUEST_CHARS`] characters of a request id: `6f1c0c2e`.
pub fn short_request(id: &str) -> &str {
    match id.char_indices().nth(SHORT_REQUEST_CHARS) {
        Some((cut, _)) => &id[..cut],
        None => id,
    }
}

/// The [`countdown`] as words, for screen readers: `4 minutes 5 seconds`, `1 minute`, `59 seconds`.
pub fn countdown_spoken(left_ms: u64) -> String {
    let s = left_ms.div_ceil(1000);
    let unit = |n: u64, one: &str| match n {
        1 => format!("1 {one}"),
        n => format!("{n} {one}s"),
    };
    match (s / 60, s % 60) {
        (0, sec) => unit(sec, "second"),
        (min, 0) => unit(min, "minute"),
        (min, sec) => format!("{} {}", unit(min, "minute"), unit(sec, "second")),
    }
}

/// The first [`SHORT_ID_CHARS`] characters of an id.
pub fn short_id(id: &str) -> &str {
    match id.char_indices().nth(SHORT_ID_CHARS) {
        Some((cut, _)) => &id[..cut],
        None => id,
    }
}

/// How a node (or device) is named for people: its display name, trimmed, else its short id.
pub fn node_label(display_name: Option<&str>, id: &str) -> String {
    match display_name.map(str::trim) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => short_id(id).to_owned(),
    }
}

/// The word for a decision: `approved`, `rejected`, `expired`, `superseded`, `removed`.
pub fn decision_word(d: Decision) -> &'static str {
    d.as_str()
}

/// Why a request is no longer pending, as a clause (the gateway's error says "unknown requestId:"
/// followed by it): `it expired`, `it was already approved`, …
pub fn why_gone(d: Decision) -> &'static str {
    match d {
        Decision::Approved => "it was already approved",
        Decision::Rejected => "it was rejected",
        Decision::Expired => "it expired",
        Decision::Superseded => "it was superseded by a newer request",
        Decision::Removed => "its node was removed",
    }
}

#[cfg(test)]
mod tests;
