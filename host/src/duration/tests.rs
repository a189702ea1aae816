use super::parse_ms;

#[test]
fn units() {
    assert_eq!(parse_ms("300000ms"), Ok(300_000));
    assert_eq!(parse_ms("20s"), Ok(20_000));
    assert_eq!(parse_ms("5m"), Ok(300_000));
    assert_eq!(parse_ms("5 m"), Ok(300_000));
    assert_eq!(parse_ms("1h"), Ok(3_600_000));
    assert_eq!(parse_ms("2d"), Ok(172_800_000));
    assert_eq!(parse_ms("0"), Ok(0));
    assert!(parse_ms("5 parsecs").is_err());
    assert!(parse_ms("m").is_err());
    assert!(parse_ms("99999999999999999999s").is_err());
}

#[test]
fn a_bare_number_needs_a_unit_and_says_which() {
    for bare in ["5", " 1500 ", "2"] {
        let n = bare.trim();
        assert_eq!(
            parse_ms(bare),
            Err(format!(
                "{n} what? write {n}s, {n}m or {n}h (units: ms, s, m, h, d; a bare number is not \
                 taken as milliseconds)"
            )),
            "{bare:?}"
        );
    }
}
