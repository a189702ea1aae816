//! Times for people: the countdown to a request's expiry ("4:59") and relative ages ("3m ago").

/// The time left until `expires_at_ms` as `m:ss` ("4:59", "0:07"), or `None` once it has run out.
///
/// Seconds round up, so a fresh 5-minute request reads "5:00" and the display reaches zero only when
/// the request really has expired.
pub fn countdown(expires_at_ms: u64, now_ms: u64) -> Option<String> {
    if expires_at_ms <= now_ms {
        return None;
    }
    let secs = (expires_at_ms - now_ms).div_ceil(1000);
    Some(format!("{}:{:02}", secs / 60, secs % 60))
}

/// How long ago `ts_ms` was: "just now" (under 10 s, or a time slightly in the future), "45s ago",
/// "3m ago", "2h ago", "3d ago".
pub fn ago(ts_ms: u64, now_ms: u64) -> String {
    let d = now_ms.saturating_sub(ts_ms) / 1000;
    match d {
        0..10 => "just now".to_owned(),
        10..60 => format!("{d}s ago"),
        60..3600 => format!("{}m ago", d / 60),
        3600..172_800 => format!("{}h ago", d / 3600),
        _ => format!("{}d ago", d / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdown_rounds_up_and_stops_at_zero() {
        let t = 1_000_000;
        assert_eq!(countdown(t + 300_000, t).as_deref(), Some("5:00"));
        assert_eq!(countdown(t + 299_001, t).as_deref(), Some("5:00"));
        assert_eq!(countdown(t + 299_000, t).as_deref(), Some("4:59"));
        assert_eq!(countdown(t + 7_000, t).as_deref(), Some("0:07"));
        assert_eq!(countdown(t + 1, t).as_deref(), Some("0:01"));
        assert_eq!(countdown(t, t), None);
        assert_eq!(countdown(t, t + 5), None);
    }

    #[test]
    fn ages_are_compact() {
        let now = 10 * 86_400_000;
        assert_eq!(ago(now, now), "just now");
        assert_eq!(ago(now + 5_000, now), "just now");
        assert_eq!(ago(now - 9_999, now), "just now");
        assert_eq!(ago(now - 45_000, now), "45s ago");
        assert_eq!(ago(now - 180_000, now), "3m ago");
        assert_eq!(ago(now - 3 * 3_600_000, now), "3h ago");
        assert_eq!(ago(now - 3 * 86_400_000, now), "3d ago");
    }
}
