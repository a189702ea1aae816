//! `--node` resolution, as OpenClaw: exact id, then exact IP, then normalised display name, then an id
//! prefix of at least 6 characters, then the start of a display name. Ties go to connected nodes, then to current (`openclaw-…`) clients.
//! Unknown or ambiguous queries list the candidates so the operator can be more specific; a query
//! close to one name (a typo) asks "did you mean …?".

use anyhow::bail;
use pairing_core::protocol::{NodeEntry, NodePaired, NodePending};

/// A field that says something: `None` when absent or blank.
pub(crate) fn present(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty()).map(str::to_owned)
}

/// One node a query may name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// The node id.
    pub node_id: String,
    /// Its display name.
    pub display_name: Option<String>,
    /// Its address.
    pub remote_ip: Option<String>,
    /// `client.id` of its live connection.
    pub client_id: Option<String>,
    /// Whether it is connected.
    pub connected: bool,
    /// A pending request's id, when resolving among pending requests.
    pub request_id: Option<String>,
}

impl Candidate {
    /// Reads a candidate from a `node.list` entry.
    pub(crate) fn from_entry(n: &NodeEntry) -> Candidate {
        Candidate {
            node_id: n.node_id.as_str().to_owned(),
            display_name: present(n.meta.display_name.as_deref()),
            remote_ip: present(n.remote_ip.as_deref()),
            client_id: present(n.client_id.as_deref()),
            connected: n.connected,
            request_id: None,
        }
    }

    /// Reads a candidate from a paired node of `node.pair.list`.
    pub(crate) fn from_paired(p: &NodePaired) -> Candidate {
        Candidate {
            node_id: p.node_id.as_str().to_owned(),
            display_name: present(p.meta.display_name.as_deref()),
            remote_ip: present(p.remote_ip.as_deref()),
            client_id: present(p.client_id.as_deref()),
            connected: false,
            request_id: None,
        }
    }

    /// Reads a candidate from a pending request of `node.pair.list`.
    pub(crate) fn from_pending(p: &NodePending) -> Candidate {
        Candidate {
            node_id: p.node_id.as_str().to_owned(),
            display_name: present(p.meta.display_name.as_deref()),
            remote_ip: present(p.remote_ip.as_deref()),
            client_id: present(p.client_id.as_deref()),
            connected: false,
            request_id: present(Some(p.request_id.as_str())),
        }
    }

    /// Reads a candidate from a paired device of `device.pair.list`.
    pub(crate) fn from_device(d: &pairing_core::protocol::DevicePaired) -> Candidate {
        let present = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
        Candidate {
            node_id: d.device_id.clone(),
            display_name: present(&d.display_name),
            remote_ip: present(&d.remote_ip),
            client_id: present(&d.client_id),
            connected: false,
            request_id: None,
        }
    }

    fn label(&self) -> String {
        let mut l = self
            .display_name
            .clone()
            .unwrap_or_else(|| self.node_id.clone());
        l.push_str(&format!(
            " [node={}",
            pairing_core::format::short_id(&self.node_id)
        ));
        if let Some(c) = &self.client_id {
            l.push_str(&format!(", client={c}"));
        }
        if let Some(r) = &self.request_id {
            l.push_str(&format!(
                ", request={}",
                pairing_core::format::short_request(r)
            ));
        }
        l.push(']');
        l
    }
}

/// Lower-case, runs of non-alphanumerics become `-`, no leading or trailing `-`.
pub(crate) fn normalize_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

fn bare_ip(ip: &str) -> &str {
    ip.strip_prefix("::ffff:").unwrap_or(ip)
}

fn match_score(c: &Candidate, q: &str) -> u32 {
    if c.node_id == q {
        return 4000;
    }
    if c.remote_ip
        .as_deref()
        .is_some_and(|ip| bare_ip(ip) == bare_ip(q))
    {
        return 3000;
    }
    let nq = normalize_name(q);
    if !nq.is_empty()
        && c.display_name
            .as_deref()
            .is_some_and(|n| normalize_name(n) == nq)
    {
        return 2000;
    }
    if q.chars().count() >= 6 && c.node_id.starts_with(q) {
        return 1000;
    }
    // The start of a name (`kitchen` for "Kitchen iPad"), at least two characters of it.
    if nq.chars().count() >= 2
        && c.display_name
            .as_deref()
            .is_some_and(|n| normalize_name(n).starts_with(&nq))
    {
        return 500;
    }
    0
}

/// The candidate whose name (or id) is closest to a query that matched nothing, if one is close
/// enough to be what was meant: a typo of a name (`kitchn-pi`), or an id with a wrong character.
pub(crate) fn did_you_mean<'a>(query: &str, candidates: &'a [Candidate]) -> Option<&'a Candidate> {
    let nq = normalize_name(query);
    if nq.is_empty() {
        return None;
    }
    candidates
        .iter()
        .filter_map(|c| {
            let name = c.display_name.as_deref().map(normalize_name);
            let id = pairing_core::format::short_id(&c.node_id).to_owned();
            [name, Some(id)]
                .into_iter()
                .flatten()
                .map(|n| {
                    // A typo near the start of a long name counts too (`livng` for Living Room iPad).
                    let start: String = n.chars().take(nq.chars().count()).collect();
                    strsim::normalized_damerau_levenshtein(&nq, &n)
                        .max(strsim::normalized_damerau_levenshtein(&nq, &start))
                })
                .reduce(f64::max)
                .map(|score| (score, c))
        })
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn tie_score(c: &Candidate) -> i32 {
    let mut s = 0;
    if c.connected {
        s += 100;
    }
    match c.client_id.as_deref() {
        Some(id) if id.starts_with("openclaw-") => s += 10,
        Some(id) if id.starts_with("clawdbot-") || id.starts_with("moldbot-") => s -= 10,
        _ => {}
    }
    s
}

fn is_legacy(c: &Candidate) -> bool {
    c.client_id
        .as_deref()
        .is_some_and(|id| id.starts_with("clawdbot-") || id.starts_with("moldbot-"))
}

/// The candidates `query` matches best (one or more, before any tie-break), or why there are none.
pub(crate) fn best_matches<'a>(
    query: &str,
    candidates: &'a [Candidate],
) -> anyhow::Result<Vec<&'a Candidate>> {
    let q = query.trim();
    if q.is_empty() {
        bail!("node required");
    }
    let best = candidates
        .iter()
        .map(|c| match_score(c, q))
        .max()
        .unwrap_or(0);
    if best == 0 {
        let known: Vec<String> = candidates
            .iter()
            .map(|c| {
                let mut parts = vec![];
                if let Some(n) = &c.display_name {
                    parts.push(n.clone());
                }
                if let Some(ip) = &c.remote_ip {
                    parts.push(ip.clone());
                }
                parts.push(pairing_core::format::short_id(&c.node_id).to_owned());
                parts.join(" / ")
            })
            .collect();
        let known = if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        };
        if let Some(c) = did_you_mean(q, candidates) {
            let name = c.display_name.as_deref().unwrap_or_default();
            let short = pairing_core::format::short_id(&c.node_id);
            let meant = if name.is_empty() {
                short.to_owned()
            } else {
                format!("{name} ({short})")
            };
            bail!("unknown node: {q}; did you mean {meant}? (known: {known})");
        }
        bail!("unknown node: {q} (known: {known})");
    }
    Ok(candidates
        .iter()
        .filter(|c| match_score(c, q) == best)
        .collect())
}

/// The error for a query that matches several nodes, listing them.
pub(crate) fn ambiguous(query: &str, matches: &[&Candidate]) -> anyhow::Error {
    let labels: Vec<String> = matches.iter().map(|c| c.label()).collect();
    anyhow::anyhow!(
        "ambiguous node: {} (matches: {})",
        query.trim(),
        labels.join(", ")
    )
}

/// Resolves `query` to exactly one candidate, or explains why it cannot.
pub(crate) fn resolve<'a>(
    query: &str,
    candidates: &'a [Candidate],
) -> anyhow::Result<&'a Candidate> {
    let top = best_matches(query, candidates)?;
    let best_tie = top.iter().map(|c| tie_score(c)).max().unwrap_or(0);
    let tied: Vec<&Candidate> = top
        .into_iter()
        .filter(|c| tie_score(c) == best_tie)
        .collect();
    if let [one] = tied.as_slice() {
        return Ok(one);
    }
    let current: Vec<&&Candidate> = tied.iter().filter(|c| !is_legacy(c)).collect();
    if let [one] = current.as_slice() {
        return Ok(one);
    }
    Err(ambiguous(query, &tied))
}

#[cfg(test)]
mod tests;
