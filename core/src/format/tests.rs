use super::*;

#[test]
fn ages_say_just_now_under_ten_seconds_then_the_largest_unit() {
    let now = 10 * 86_400_000;
    assert_eq!(ago(now, now), "just now");
    assert_eq!(
        ago(now + 5_000, now),
        "just now",
        "a clock ahead is not the future"
    );
    assert_eq!(ago(now - 9_999, now), "just now");
    assert_eq!(ago(now - 10_000, now), "10s ago");
    assert_eq!(ago(now - 45_000, now), "45s ago");
    assert_eq!(ago(now - 125_000, now), "2m ago");
    assert_eq!(ago(now - 3 * 3_600_000, now), "3h ago");
    assert_eq!(ago(now - 47 * 3_600_000, now), "47h ago");
    assert_eq!(ago(now - 3 * 86_400_000, now), "3d ago");
}

#[test]
fn time_left_rounds_to_the_unit_shown() {
    let now = 1_000_000;
    assert_eq!(expires_in(now, now), "expired");
    assert_eq!(expires_in(now + 299_000, now), "expires in 5m");
    assert_eq!(expires_in(now + 260_000, now), "expires in 4m");
    assert_eq!(expires_in(now + 12_300, now), "expires in 12s");
    assert_eq!(expires_in(now + 1, now), "expires in 1s");
}

#[test]
fn countdowns_round_up_and_stop_at_zero() {
    assert_eq!(countdown(300_000), "5m 00s");
    assert_eq!(countdown(299_001), "5m 00s");
    assert_eq!(countdown(245_000), "4m 05s");
    assert_eq!(countdown(59_000), "59s");
    assert_eq!(countdown(1), "1s");
    assert_eq!(countdown(0), "0s");
    let t = 1_000_000;
    assert_eq!(countdown_to(t + 7_000, t).as_deref(), Some("7s"));
    assert_eq!(countdown_to(t, t), None);
    assert_eq!(countdown_to(t, t + 5), None);
}

#[test]
fn labels_prefer_the_name_then_the_short_id() {
    let id = "3f1c2a0b9d8e7f6a5b4c";
    assert_eq!(node_label(Some(" Kitchen iPad "), id), "Kitchen iPad");
    assert_eq!(node_label(Some("  "), id), "3f1c2a0b9d8e");
    assert_eq!(node_label(None, "n1"), "n1");
    assert_eq!(short_id("ééééééééééééééé"), "éééééééééééé");
}

#[test]
fn decisions_read_as_words_and_clauses() {
    assert_eq!(decision_word(Decision::Superseded), "superseded");
    assert_eq!(why_gone(Decision::Expired), "it expired");
    assert_eq!(why_gone(Decision::Removed), "its node was removed");
}

#[test]
fn request_ids_shorten_to_a_uuids_first_group() {
    assert_eq!(
        short_request("6f1c0c2e-8a8e-4f0e-9a55-2b8d3c1e7a10"),
        "6f1c0c2e"
    );
    assert_eq!(short_request("abc"), "abc");
}

#[test]
fn countdowns_are_spoken_in_words() {
    assert_eq!(countdown_spoken(245_000), "4 minutes 5 seconds");
    assert_eq!(countdown_spoken(60_000), "1 minute");
    assert_eq!(countdown_spoken(120_000), "2 minutes");
    assert_eq!(countdown_spoken(59_001), "1 minute");
    assert_eq!(countdown_spoken(1_000), "1 second");
    assert_eq!(countdown_spoken(58_500), "59 seconds");
    assert_eq!(countdown_spoken(61_000), "1 minute 1 second");
}
