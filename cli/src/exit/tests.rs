use super::*;

#[test]
fn errors_fold_to_one_line() {
    let e = anyhow::anyhow!("expired\n  soon").context("node pair");
    assert_eq!(one_line(&e), "node pair: expired soon");
    assert_eq!(Exit::Rejected.code(), 2);
    assert_eq!(Exit::Expired.code(), 3);
}

#[test]
fn slips_between_node_and_nodes_get_a_hint() {
    let argv = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
    let hint = slip_hint(&argv("openclaw node list")).expect("hint");
    assert!(hint.contains("openclaw nodes list"), "{hint}");
    let hint = slip_hint(&argv("openclaw nodes pair --url x")).expect("hint");
    assert!(hint.contains("openclaw node pair"), "{hint}");
    assert!(slip_hint(&argv("openclaw device list")).is_some());
    assert_eq!(slip_hint(&argv("openclaw node pair --bogus")), None);
    assert_eq!(USAGE, 64);
}
