use super::*;
use std::os::unix::fs::PermissionsExt;

fn names() -> Names {
    Names {
        dns: vec!["localhost".into(), "gw.lan".into()],
        ips: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
    }
}

#[test]
fn the_certificate_is_made_once_with_a_private_key_and_then_reused() {
    let dir = tempfile::tempdir().unwrap();
    let (f, made) = ensure(dir.path(), &names()).unwrap();
    assert!(made);
    let mode = std::fs::metadata(&f.key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let first = current_fingerprint(dir.path()).unwrap().unwrap();
    assert_eq!(first.len(), 64);
    assert!(
        first
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    let (_, made) = ensure(dir.path(), &names()).unwrap();
    assert!(!made);
    assert_eq!(
        current_fingerprint(dir.path()).unwrap(),
        Some(first.clone())
    );
    // What the gateway serves is what it printed.
    let (_, served) = crate::tls::load_served(&f, crate::tls::Links::Refuse).unwrap();
    assert_eq!(served, first);
}

#[test]
fn renewing_changes_the_fingerprint_and_the_pair_still_matches() {
    let dir = tempfile::tempdir().unwrap();
    let (f, _) = ensure(dir.path(), &names()).unwrap();
    let before = current_fingerprint(dir.path()).unwrap();
    let (old, new) = renew(dir.path(), &names()).unwrap();
    assert_eq!(old, before);
    assert_ne!(Some(new.clone()), before);
    let (_, served) = crate::tls::load_served(&f, crate::tls::Links::Refuse).unwrap();
    assert_eq!(served, new);
}

#[test]
fn a_lone_key_or_a_linked_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (f, _) = ensure(dir.path(), &names()).unwrap();
    std::fs::remove_file(&f.cert).unwrap();
    let e = ensure(dir.path(), &names()).unwrap_err().to_string();
    assert!(e.contains("renew-cert"), "{e}");
    // A link planted in place of the key is not read through.
    let other = tempfile::tempdir().unwrap();
    let (g, _) = ensure(other.path(), &names()).unwrap();
    std::fs::remove_file(&f.key).unwrap();
    std::fs::copy(&g.cert, &f.cert).unwrap();
    std::os::unix::fs::symlink(&g.key, &f.key).unwrap();
    let e = crate::tls::load_served(&f, crate::tls::Links::Refuse)
        .unwrap_err()
        .to_string();
    assert!(e.contains("link"), "{e}");
}

#[test]
fn names_of_this_machine_include_loopback_and_extra_hosts() {
    let n = Names::of_this_machine(&["GW.example".into(), "10.1.2.3".into(), " ".into()]);
    assert!(n.dns.contains(&"localhost".to_owned()));
    assert!(n.dns.contains(&"gw.example".to_owned()));
    assert!(n.ips.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)));
    assert!(n.ips.contains(&"10.1.2.3".parse().unwrap()));
    assert!(!n.dns.iter().any(|d| d.trim().is_empty()));
}
