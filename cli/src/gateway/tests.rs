use super::*;
use crate::{Cli, Command};
use clap::Parser;

fn parse(args: &[&str]) -> Opt {
    let mut all = vec!["openclaw", "gateway"];
    all.extend_from_slice(args);
    match Cli::try_parse_from(all).unwrap().command {
        Command::Gateway(o) => o,
        _ => unreachable!(),
    }
}

#[test]
fn defaults_and_durations() {
    let o = parse(&[]);
    assert_eq!(
        (o.port, o.bind, o.pending_ttl),
        (18789, BindArg::Loopback, 300_000)
    );
    assert!(options(&o).unwrap().pairing_enabled);
    assert!(
        !options(&o).unwrap().auto_approve_local,
        "loopback is not trusted by default"
    );
    assert!(
        options(&parse(&["--auto-approve-local"]))
            .unwrap()
            .auto_approve_local
    );
    let o = parse(&["--pending-ttl", "20s", "--no-pairing", "--port", "0"]);
    let opts = options(&o).unwrap();
    assert_eq!(
        (opts.pending_ttl_ms, opts.pairing_enabled, opts.port),
        (20_000, false, 0)
    );
}

#[test]
fn audit_limits_take_sizes_with_units() {
    let o = options(&parse(&[])).unwrap();
    assert_eq!(
        (o.audit.max_bytes, o.audit.keep),
        (10 << 20, pairing_host::audit_log::KEEP)
    );
    let o = options(&parse(&[
        "--audit-max-bytes",
        "512KiB",
        "--audit-keep",
        "2",
    ]))
    .unwrap();
    assert_eq!((o.audit.max_bytes, o.audit.keep), (512 << 10, 2));
    assert_eq!(parse_size("1048576"), Ok(1 << 20));
    assert_eq!(parse_size("1G"), Ok(1 << 30));
    assert!(parse_size("12").unwrap_err().contains("at least 4KiB"));
    assert!(
        parse_size("3 parsecs")
            .unwrap_err()
            .contains("unknown unit")
    );
    assert!(Cli::try_parse_from(["openclaw", "gateway", "--audit-keep", "0"]).is_err());
}

#[test]
fn lan_serves_tls_unless_plaintext_is_asked_for() {
    // No certificate given: the server generates its own (no files named here).
    let generated = options(&parse(&["--bind", "lan"])).unwrap();
    assert_eq!(generated.tls, None);
    assert!(!generated.allow_plaintext);
    assert!(options(&parse(&["--bind", "lan", "--allow-plaintext"])).is_ok());
    let tls = options(&parse(&[
        "--bind",
        "lan",
        "--tls-cert",
        "c.pem",
        "--tls-key",
        "k.pem",
    ]))
    .unwrap();
    assert_eq!(
        tls.tls,
        Some(TlsFiles {
            cert: "c.pem".into(),
            key: "k.pem".into()
        })
    );
    assert!(!tls.allow_plaintext);
    assert!(
        Cli::try_parse_from(["openclaw", "gateway", "--tls-cert", "c.pem"]).is_err(),
        "a certificate without its key"
    );
    assert!(Cli::try_parse_from(["openclaw", "gateway", "--pending-ttl", "5 parsecs"]).is_err());
}
