use super::*;

#[test]
fn only_the_gateways_own_names_pass() {
    let hosts = AllowedHosts::new(false, &["gw.example:443".into()]);
    let local: SocketAddr = "127.0.0.1:18789".parse().unwrap();
    for ok in [
        "127.0.0.1:18789",
        "127.0.0.1",
        "localhost:18789",
        "LOCALHOST.",
        "[::1]:18789",
        "[::1]",
        "::1",
        "gw.example",
        "gw.example:8443",
        "127.0.0.1:9999",
    ] {
        assert_eq!(hosts.check(Some(ok), Some(local)), Ok(()), "{ok}");
    }
    for bad in [
        "evil.example:18789",
        "evil.example",
        "localhost.evil.example",
        "192.168.1.5:18789",
        "",
    ] {
        let e = hosts.check(Some(bad), Some(local)).unwrap_err();
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    assert!(hosts.check(None, Some(local)).is_err());
    // With --bind lan, the address the client connected to is the gateway's own.
    let lan: SocketAddr = "192.168.1.5:18789".parse().unwrap();
    assert_eq!(hosts.check(Some("192.168.1.5:18789"), Some(lan)), Ok(()));
    assert!(hosts.check(Some("192.168.1.6:18789"), Some(lan)).is_err());
}
