//! The URLs a device can reach this gateway at, for setup codes (`Config::public_urls`): on a
//! loopback bind, the loopback address; with `--bind lan`, the machine's private addresses first, then
//! its other addresses, then loopback, at most eight (what a setup code carries).

use std::net::IpAddr;

/// The most URLs worked out (OpenClaw's decoder refuses more than eight).
const MAX: usize = pairing_core::enroll::MAX_URLS;

/// The URL of `ip` and `port` (`ws://` or, with `tls`, `wss://`), IPv6 in brackets.
fn url(ip: IpAddr, port: u16, tls: bool) -> String {
    let scheme = if tls { "wss" } else { "ws" };
    match ip {
        IpAddr::V4(v4) => format!("{scheme}://{v4}:{port}"),
        IpAddr::V6(v6) => format!("{scheme}://[{v6}]:{port}"),
    }
}

/// How well an address suits a device elsewhere: private IPv4 first, then other IPv4, then IPv6
/// (link-local last among them, since a URL cannot carry its zone), loopback last.
fn rank(ip: &IpAddr) -> u8 {
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => 9,
        IpAddr::V4(v4) if v4.is_private() => 0,
        IpAddr::V4(v4) if v4.is_link_local() => 3,
        IpAddr::V4(_) => 1,
        IpAddr::V6(v6) if v6.is_loopback() => 9,
        IpAddr::V6(v6) if v6.is_unicast_link_local() => 8,
        IpAddr::V6(_) => 2,
    }
}

/// The URLs for a gateway bound to `bound` (loopback, or unspecified for `--bind lan`) on `port`.
pub fn for_bind(bound: IpAddr, port: u16, tls: bool) -> Vec<String> {
    if !bound.is_unspecified() {
        return vec![url(bound, port, tls)];
    }
    let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|ifs| ifs.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default();
    ips.retain(|ip| rank(ip) < 8);
    ips.sort_by_key(rank);
    ips.dedup();
    ips.truncate(MAX - 1);
    ips.push(IpAddr::from([127, 0, 0, 1]));
    ips.into_iter().map(|ip| url(ip, port, tls)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_binds_give_one_url_and_lan_binds_end_with_loopback() {
        let lo = IpAddr::from([127, 0, 0, 1]);
        assert_eq!(for_bind(lo, 18789, false), ["ws://127.0.0.1:18789"]);
        let lan = for_bind(IpAddr::from([0, 0, 0, 0]), 443, true);
        assert!(!lan.is_empty() && lan.len() <= MAX);
        assert_eq!(lan.last().map(String::as_str), Some("wss://127.0.0.1:443"));
        assert!(lan.iter().all(|u| u.starts_with("wss://")));
        assert_eq!(url("::1".parse().unwrap(), 1, false), "ws://[::1]:1");
        assert!(rank(&"192.168.1.2".parse().unwrap()) < rank(&"8.8.8.8".parse().unwrap()));
    }
}
