use super::*;
use std::net::Ipv4Addr;

fn limits(total: usize, per_ip: usize, unauth: usize) -> NetLimits {
    NetLimits {
        max_connections: total,
        max_connections_per_ip: per_ip,
        max_unauthenticated_per_ip: unauth,
        handshake_timeout: Duration::from_secs(1),
    }
}

fn ip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

#[test]
fn a_full_pool_evicts_its_oldest_unauthenticated_socket() {
    let slots = Slots::new(limits(3, 10, 10));
    let (a, ga) = slots.take(ip(2)).unwrap();
    let (b, gb) = slots.take(ip(3)).unwrap();
    let (c, _gc) = slots.take(ip(4)).unwrap();
    a.authenticated();
    // Full: the oldest unauthenticated one (b) goes, not the authenticated a.
    let (_d, _gd) = slots.take(ip(5)).unwrap();
    assert!(b.is_evicted() && !a.is_evicted() && !c.is_evicted());
    // b's descriptor closes: its count goes.
    drop(gb);
    assert_eq!(slots.counts(), (3, 2));
    // Every socket authenticated: a newcomer is refused.
    c.authenticated();
    _d.authenticated();
    assert_eq!(slots.take(ip(6)).unwrap_err(), Refused::Full);
    drop(ga);
    assert!(slots.take(ip(6)).is_ok());
}

#[test]
fn one_ip_has_its_own_caps_counted_until_the_descriptor_closes() {
    let slots = Slots::new(limits(100, 3, 2));
    let (a, ga) = slots.take(ip(2)).unwrap();
    let (b, _gb) = slots.take(ip(2)).unwrap();
    // Two unauthenticated from this IP: a third evicts the oldest (a)...
    let (c, _gc) = slots.take(ip(2)).unwrap();
    assert!(a.is_evicted() && !b.is_evicted());
    // ... but a still counts until its descriptor closes: the IP holds 3, the cap.
    b.authenticated();
    c.authenticated();
    assert_eq!(slots.take(ip(2)).unwrap_err(), Refused::PerIp);
    drop(ga);
    let (_d, _gd) = slots.take(ip(2)).unwrap();
    // Other IPs are not affected.
    assert!(slots.take(ip(9)).is_ok());
}

#[test]
fn the_total_cap_stays_below_the_open_file_limit() {
    assert_eq!(total_cap(1024, None), 768);
    assert_eq!(total_cap(1_048_576, None), DEFAULT_MAX_CONNECTIONS);
    assert_eq!(total_cap(1_048_576, Some(50_000)), 50_000);
    assert_eq!(total_cap(20_000, Some(50_000)), 19_744);
    assert_eq!(total_cap(300, None), 150);
}
