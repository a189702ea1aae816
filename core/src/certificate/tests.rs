use crate::audit::Action;
use crate::{Config, Gateway, MemoryStore, Token};

#[test]
fn a_renewal_is_audited_with_the_new_fingerprint_and_noticed() {
    let config = Config::new(Token::new("t".repeat(43)));
    let mut gw = Gateway::new(config, [7; 32], MemoryStore::default(), 1_000).unwrap();
    let fp = "ab".repeat(32);
    gw.audit_tls_cert_renewed(&fp);
    gw.commit().unwrap();
    let trail = gw.store().audit();
    let last = trail.last().expect("an entry");
    assert_eq!(last.action, Action::TlsCertRenewed);
    assert_eq!(
        last.display_name.as_deref(),
        Some(format!("TLS certificate sha256:{fp}").as_str())
    );
    let notice = gw.poll_notice().expect("a notice").to_string();
    assert!(
        notice.starts_with("TLS certificate sha256:abab"),
        "{notice}"
    );
    assert!(notice.contains("renewed; by the gateway"), "{notice}");
}
