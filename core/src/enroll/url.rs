//! The normal form of a gateway URL in a setup code, as OpenClaw's decoder checks it: `ws` or `wss`,
//! a host, an optional port, a path only when it is not `/`; no user, query or fragment.

/// `url` in its normal form (`wss://Host:443/` → `wss://host:443`), or `None` when it is not a
/// WebSocket URL a setup code may carry.
pub fn normalize_gateway_url(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "ws" && scheme != "wss" {
        return None;
    }
    if rest.contains(['?', '#', '@', '\\']) || rest.chars().any(|c| c.is_whitespace()) {
        return None;
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.starts_with(':') {
        return None;
    }
    // A bracketed IPv6 literal keeps its colons; a port is digits only.
    let host_end = if authority.starts_with('[') {
        authority.find(']')? + 1
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    let (host, port) = authority.split_at(host_end);
    if host.is_empty() || host == "[]" {
        return None;
    }
    if !port.is_empty() {
        let digits = port.strip_prefix(':')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<u16>().ok()?;
    }
    let path = if path == "/" { "" } else { path };
    Some(format!(
        "{scheme}://{}{port}{path}",
        host.to_ascii_lowercase()
    ))
}

/// Whether `url` (normal form) is plaintext to a host other than loopback: a setup code for it is
/// limited, since anyone on the path reads the secret (as OpenClaw downgrades it).
pub(crate) fn plaintext_beyond_loopback(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("ws://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if authority.starts_with('[') {
        authority
            .split(']')
            .next()
            .unwrap_or_default()
            .trim_start_matches('[')
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !loopback
}
