//! Which pending request a decision is about: the one named by requestId, code or `--node`
//! ([`target`]), the only one when none is named ([`sole`]), and whether one that replaced an earlier
//! request needs a confirmation first ([`replaced`]).

use super::{Family, Verb};
use crate::request::Request;
use anyhow::bail;

/// What the operator named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Target {
    /// A requestId.
    Request(String),
    /// A verification code, normalised to `1234-5678`.
    Code(String),
    /// A `--node` query.
    Node(String),
    /// Nothing named: the only pending request, if there is exactly one.
    Sole,
}

/// Reads the positional argument or `--node`.
pub(super) fn target(
    positional: Option<&str>,
    node: Option<&str>,
    family: Family,
) -> anyhow::Result<Target> {
    match (positional.map(str::trim), node.map(str::trim)) {
        (Some(t), None) if !t.is_empty() => Ok(match pairing_core::code::parse_code(t) {
            Some(code) => Target::Code(code),
            None => Target::Request(t.to_owned()),
        }),
        (None, Some(q)) if !q.is_empty() => Ok(Target::Node(q.to_owned())),
        (Some(_), Some(_)) => bail!("give a requestId or code, or --node, not both"),
        (None, None) => Ok(Target::Sole),
        _ => bail!(
            "say which request: its requestId, the verification code shown on the node (1234-5678), or \
             --node Q (see `{}`)",
            family.list_command()
        ),
    }
}

/// Reads a positional that is not a code among the pending requests: a whole requestId stays as it is;
/// a prefix of one (6+ characters, as tables print them) becomes that request; anything else that names
/// a pending node (a name, the start of one, an IP, a node id prefix) becomes a `--node` query; a miss
/// is refused with "did you mean …?" when one request is close, and the list of what is pending.
pub(super) fn expand(text: &str, pending: &[Request], family: Family) -> anyhow::Result<Target> {
    if pending.iter().any(|p| p.request_id == text) {
        return Ok(Target::Request(text.to_owned()));
    }
    let by_prefix: Vec<&Request> = if text.chars().count() >= 6 {
        pending
            .iter()
            .filter(|p| p.request_id.starts_with(text))
            .collect()
    } else {
        Vec::new()
    };
    match by_prefix.as_slice() {
        [one] => return Ok(Target::Request(one.request_id.clone())),
        [] => {}
        many => bail!(
            "{} pending requests start with {text}: {}; give more of the id",
            many.len(),
            many.iter()
                .map(|p| format!("{} ({})", p.request_id, p.label()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    let candidates: Vec<crate::resolve::Candidate> =
        pending.iter().map(Request::candidate).collect();
    if crate::resolve::best_matches(text, &candidates).is_ok() {
        return Ok(Target::Node(text.to_owned()));
    }
    // A whole id the gateway may remember (it says how the request ended), or a short id of one that
    // is no longer pending: the gateway decides and explains.
    if uuid_like(text) {
        return Ok(Target::Request(text.to_owned()));
    }
    // A short id of a request that is no longer pending: its whole id from this machine's audit trail
    // (the gateway host's), so the gateway can say how it ended.
    if let Some(id) = decided_request(text) {
        return Ok(Target::Request(id));
    }
    if pending.is_empty() {
        return Ok(Target::Request(text.to_owned()));
    }
    let close = pending.iter().find(|p| {
        strsim::normalized_damerau_levenshtein(
            text,
            pairing_core::format::short_request(&p.request_id),
        ) >= 0.6
    });
    let hint = match close.map(|p| p.candidate()) {
        Some(c) => Some(c),
        None => crate::resolve::did_you_mean(text, &candidates).cloned(),
    };
    let list = crate::request::summary(pending);
    match hint.and_then(|c| {
        pending
            .iter()
            .find(|p| Some(&p.request_id) == c.request_id.as_ref())
    }) {
        Some(p) => bail!(
            "no pending request matches {text}; did you mean {} ({}, code {})? (see `{}`)",
            pairing_core::format::short_request(&p.request_id),
            p.label(),
            p.code(),
            family.list_command()
        ),
        None => bail!(
            "no pending request matches {text}; {list} (see `{}`)",
            family.list_command()
        ),
    }
}

/// The one request id the audit trail on this machine has starting with `prefix` (6+ characters).
fn decided_request(prefix: &str) -> Option<String> {
    if prefix.chars().count() < 6 {
        return None;
    }
    let trail = crate::trail::read_trail(&crate::trail::audit_dir()).ok()?;
    let mut ids: Vec<&str> = trail
        .lines
        .iter()
        .filter_map(|l| l.entry.request_id.as_deref())
        .filter(|r| r.starts_with(prefix))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [one] => Some((*one).to_owned()),
        _ => None,
    }
}

/// Whether `text` has the shape of a whole request id (a UUID), as opposed to a prefix or a name.
fn uuid_like(text: &str) -> bool {
    text.len() >= 32 && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// What to do when no request was named.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Sole {
    /// Decide this request without asking (`--yes`).
    Decide(Request),
    /// Ask the person at the terminal about this request first.
    Ask(Request),
}

/// Picks the only pending request, or refuses: none, several (listed), or no terminal and no `--yes`.
pub(super) fn sole(
    pending: &[Request],
    verb: Verb,
    family: Family,
    yes: bool,
    tty: bool,
) -> anyhow::Result<Sole> {
    let (word, fam) = (verb.word(), family.word());
    match pending {
        [] => bail!(
            "no pairing requests are pending, so there is nothing to {word} (a node asks with `openclaw node \
             pair`, an OpenClaw node host by connecting; see `{}`)",
            family.list_command()
        ),
        [p] if yes => Ok(Sole::Decide(p.clone())),
        [p] if tty => Ok(Sole::Ask(p.clone())),
        [p] => bail!(
            "one request is pending ({}), but stdin is not a terminal to confirm it: pass --yes to {word} \
             it, or name it by its code or requestId (`openclaw {fam} {word} CODE`)",
            p.line()
        ),
        many => bail!(
            "{} requests are pending; name the one to {word} by its code or requestId (`openclaw {fam} \
             {word} CODE`): {}",
            many.len(),
            many.iter()
                .map(|p| format!(
                    "{} ({}, code {})",
                    pairing_core::format::short_request(&p.request_id),
                    p.label(),
                    p.code()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The pending request the operator named, as listed before the call (for the message afterwards).
pub(super) fn named<'a>(pending: &'a [Request], t: &Target) -> Option<&'a Request> {
    pending.iter().find(|p| match t {
        Target::Request(id) => &p.request_id == id,
        Target::Code(code) => p.code.as_deref() == Some(code.as_str()),
        Target::Node(_) | Target::Sole => false,
    })
}

/// What to do about approving, by code or `--node`, a request that replaced an earlier one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Replaced {
    /// It replaced nothing, or `--yes` was given: approve.
    Go,
    /// Ask the person at the terminal this question first.
    Ask(String),
}

/// Whether approving `p` named by code or name (not by requestId) needs a confirmation: it does when `p`
/// replaced an earlier request, whose code it shows too. Without a terminal (and without `--yes`) the
/// approval is refused, saying what changed and how to approve exactly what was read.
pub(super) fn replaced(
    p: &Request,
    family: Family,
    yes: bool,
    tty: bool,
) -> anyhow::Result<Replaced> {
    let Some(changes) = p.changes() else {
        return Ok(Replaced::Go);
    };
    if yes {
        return Ok(Replaced::Go);
    }
    let fam = family.word();
    if !tty {
        bail!(
            "request {} of {} (code {}) changed after it was first listed: {changes}; it asks for {}. \
             Check it with `{}` and approve it by requestId (`openclaw {fam} approve {}`), or pass --yes",
            pairing_core::format::short_request(&p.request_id),
            p.label(),
            p.code(),
            p.surface(),
            family.list_command(),
            pairing_core::format::short_request(&p.request_id)
        );
    }
    Ok(Replaced::Ask(format!(
        "This request changed after it was first listed: {}.\nCareful: {changes}.\nIt asks for {}.\n\
         Approve it? [y/N] ",
        p.line(),
        p.surface()
    )))
}
