use super::*;

#[test]
fn errors_fold_to_one_line() {
    let e = anyhow::anyhow!("expired\n  soon").context("node pair");
    assert_eq!(one_line(&e), "node pair: expired soon");
    assert_eq!(Exit::Rejected.code(), 2);
    assert_eq!(Exit::Expired.code(), 3);
}
