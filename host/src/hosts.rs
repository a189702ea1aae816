//! The `Host` header check against DNS rebinding.
//!
//! A web page the user has open can make its own domain name resolve to 127.0.0.1 (DNS rebinding) and
//! then talk to the gateway as a same-origin page: the `Origin` check cannot tell it apart, but its
//! requests carry the attacker's name in `Host`. So every HTTP request (the page and the WebSocket
//! upgrade) must name the gateway itself: `localhost`, a loopback address, the address the client
//! connected to (the bound address, or the interface's with `--bind lan`), the machine's host name
//! (with `--bind lan`), or an `--allowed-host` entry. The port is not compared: an SSH port-forward
//! legitimately reaches the gateway under another port, and rebinding is about the name. A request
//! without `Host` is refused too (HTTP/1.1 requires it; every browser and WebSocket client sends it).

use std::net::{IpAddr, SocketAddr};

/// The names the gateway answers to, besides IP literals of its own.
#[derive(Clone, Debug, Default)]
pub struct AllowedHosts {
    /// Lowercased names, without port or trailing dot.
    names: Vec<String>,
}

impl AllowedHosts {
    /// `localhost`, the machine's host name (and `NAME.local`) when `lan`, and `extra`
    /// (`--allowed-host`, with or without a port).
    pub fn new(lan: bool, extra: &[String]) -> AllowedHosts {
        let mut names = vec!["localhost".to_owned()];
        if lan && let Some(h) = hostname() {
            names.push(format!("{h}.local"));
            names.push(h);
        }
        for e in extra {
            let (host, _) = split_port(e.trim());
            names.push(normalise(host));
        }
        names.retain(|n| !n.is_empty());
        names.sort();
        names.dedup();
        AllowedHosts { names }
    }

    /// Whether `host` (the `Host` header) names this gateway for a client that connected to
    /// `local`. `Err` is the one line to answer with.
    pub fn check(&self, host: Option<&str>, local: Option<SocketAddr>) -> Result<(), String> {
        let Some(host) = host.map(str::trim).filter(|h| !h.is_empty()) else {
            return Err(
                "the request has no Host header; send the gateway's address as Host\n".into(),
            );
        };
        let (name, _) = split_port(host);
        let name = normalise(name);
        let own_ip = match name.parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback() || local.is_some_and(|l| same_ip(l.ip(), ip)),
            Err(_) => false,
        };
        if own_ip || self.names.contains(&name) {
            return Ok(());
        }
        let shown: String = host.chars().filter(|c| !c.is_control()).take(100).collect();
        Err(format!(
            "Host {shown:?} is not this gateway's name; connect to it by its address (e.g. \
             127.0.0.1), or start the gateway with --allowed-host NAME\n"
        ))
    }
}

fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    let v4 = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    v4(a) == v4(b)
}

/// `host[:port]` or `[v6]:port` → (host without brackets, port).
fn split_port(h: &str) -> (&str, Option<&str>) {
    if let Some(rest) = h.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((ip, tail)) => (ip, tail.strip_prefix(':')),
            None => (h, None),
        };
    }
    match h.rsplit_once(':') {
        // More than one colon without brackets: a bare IPv6 address.
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (h, None),
    }
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The machine's host name (Linux: the kernel's; else `$HOSTNAME`).
fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| normalise(h.trim()))
        .filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests;
