use super::*;

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
        last_seen(&[Some(now - 60_000), None, Some(now - 15_000)], now),
        "15s ago"
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

#[test]
fn wide_tables_are_cut_to_80_columns_but_ids_and_codes_stay_whole() {
    let mut t = Table::new(&["REQUEST", "NAME", "CODE", "CLIENT"]);
    let long = "x".repeat(70);
    t.row(vec![
        "6f1c0c2e".into(),
        long.clone(),
        "1234-5678".into(),
        long.clone(),
    ]);
    t.note(format!("{long} {long}"));
    let out = t.render();
    for line in out.lines() {
        assert!(line.chars().count() <= 80, "{line}");
    }
    let row = out.lines().nth(1).unwrap();
    assert!(
        row.starts_with("6f1c0c2e  ") && row.contains("  1234-5678  "),
        "{row}"
    );
    assert!(row.contains("x…"), "a cut cell ends in …: {row}");
    // The note is wrapped, not cut: every x is still there.
    let xs: usize = out.lines().skip(2).map(|l| l.matches('x').count()).sum();
    assert_eq!(xs, 140, "{out}");
    assert_eq!(needs(&["operator.pairing", "operator.admin"]), "admin");
    assert_eq!(needs(&["operator.pairing"]), "pairing");
}
