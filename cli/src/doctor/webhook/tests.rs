use super::*;

#[test]
fn failing_and_working_read_as_one_line() {
    let failing = Status {
        url: "https://ntfy.sh/…".into(),
        failing_since_ms: Some(1_000),
        failures: 3,
        last_error: Some("cannot connect to ntfy.sh:443: refused".into()),
        queued: 2,
        ..Status::default()
    };
    let l = render(&failing, 181_000);
    assert!(
        l.starts_with("Webhook https://ntfy.sh/…: FAILING (started 3m ago, "),
        "{l}"
    );
    assert!(l.contains("3 failed attempts; last: cannot connect"), "{l}");
    assert!(l.contains("Waiting: 2"), "{l}");
    let ok = Status {
        url: "https://hooks.example/…".into(),
        delivered: 4,
        ..Status::default()
    };
    assert_eq!(
        render(&ok, 0),
        "Webhook https://hooks.example/…: working (4 delivered)."
    );
}
