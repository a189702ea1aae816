use super::*;

#[test]
fn a_seq_that_does_not_follow_on_means_re_list() {
    let mut t = SeqTracker::new();
    assert!(
        !t.observe(Some(7)),
        "the first seq of a connection is no gap"
    );
    assert!(!t.observe(None), "events without seq do not count");
    assert!(!t.observe(Some(8)));
    assert_eq!(t.missed(11), Some(2));
    assert!(t.observe(Some(11)), "two events skipped");
    assert!(t.observe(Some(3)), "went backwards: another gateway");
    assert_eq!(t.missed(1), None);
    t.reset();
    assert_eq!(t.last(), None);
    assert!(!t.observe(Some(1)));
    let mut t = SeqTracker::new();
    t.observe(Some(u64::MAX));
    assert!(!t.observe(Some(0)), "wraps around");
}

#[test]
fn backoff_doubles_to_a_cap_adds_jitter_and_resets() {
    let mut b = Backoff::new();
    let delays: Vec<u64> = (0..7).map(|_| b.next_delay(0)).collect();
    assert_eq!(delays, [500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    assert_eq!(b.failures(), 7);
    for _ in 0..100 {
        assert_eq!(b.next_delay(0), 10_000, "no overflow after many failures");
    }
    assert_eq!(b.next_delay(u16::MAX), 12_000, "at most 20 % jitter");
    b.reset();
    assert_eq!(b.failures(), 0);
    let d = b.next_delay(u16::MAX / 2);
    assert!((500..=600).contains(&d), "{d}");
}
