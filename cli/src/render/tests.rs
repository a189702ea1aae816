use super::*;

#[test]
fn ages_are_compact() {
    let now = 100_000_000_000;
    assert_eq!(ago(now, now), "just now");
    assert_eq!(ago(now + 5, now), "just now");
    assert_eq!(ago(now - 45_000, now), "45s ago");
    assert_eq!(ago(now - 125_000, now), "2m ago");
    assert_eq!(ago(now - 3 * 3_600_000, now), "3h ago");
    assert_eq!(ago(0, 3 * 86_400_000), "3d ago");
    assert_eq!(expires_in(now + 180_000, now), "expires in 3m");
    assert_eq!(expires_in(now + 59_999, now), "expires in 1m");
    assert_eq!(expires_in(now + 45_000, now), "expires in 45s");
    assert_eq!(expires_in(now + 299_000, now), "expires in 5m");
    assert_eq!(expires_in(now + 260_000, now), "expires in 4m");
    assert_eq!(expires_in(now + 1, now), "expires in 1s");
    assert_eq!(expires_in(now, now), "expired");
    assert_eq!(countdown(245_000), "4m 05s");
    assert_eq!(countdown(1), "1s");
}

#[test]
fn tables_align_columns_without_trailing_space() {
    let mut t = Table::new(&["A", "LONGER"]);
    t.row(vec!["wide cell".into(), "x".into()]);
    t.row(vec!["é".into(), "".into()]);
    assert_eq!(t.render(), "A          LONGER\nwide cell  x\né\n");
}

#[test]
fn clients_approvals_and_ids_read_short() {
    assert_eq!(
        client(Some("node-host"), Some("node"), Some("2026.9.6")),
        "node-host/node v2026.9.6"
    );
    assert_eq!(client(Some("cli"), Some("cli"), None), "cli");
    assert_eq!(client(None, Some("node"), Some("1.0")), "v1.0");
    assert_eq!(client(Some("ios"), None, Some("v2")), "ios v2");
    assert_eq!(client(Some(" "), None, None), "-");
    let now = 10_000_000;
    assert_eq!(
        approved(Some(now - 120_000), Some("owner"), now),
        "2m ago · owner"
    );
    assert_eq!(approved(Some(now), None, now), "just now");
    assert_eq!(approved(None, None, now), "-");
    assert_eq!(
        last_seen(&[Some(now - 60_000), None, Some(now - 5_000)], now),
        "5s ago"
    );
    assert_eq!(last_seen(&[None], now), "-");
    assert_eq!(abbrev("3f1c2a0b9d8e7f6a"), "3f1c2a0b9d8e…");
    assert_eq!(abbrev("short"), "short");
    assert_eq!(
        scope_list(&["operator.pairing", "operator.write"]),
        "pairing,write"
    );
    assert_eq!(scope_list::<&str>(&[]), "-");
    assert_eq!(bare_ip(Some("::ffff:10.0.0.2")), "10.0.0.2");
}
