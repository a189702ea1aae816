//! Durations as people type them: `300000ms`, `20s`, `5m`, `1h`, or bare milliseconds.

/// Parses a duration into milliseconds.
pub fn parse_ms(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| {
        format!("invalid duration {text:?}: expected a number with ms, s, m or h, like 5m")
    })?;
    let factor = match unit.trim() {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        other => {
            return Err(format!(
                "invalid duration {text:?}: unknown unit {other:?} (use ms, s, m or h)"
            ));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("invalid duration {text:?}: too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_ms;

    #[test]
    fn units() {
        assert_eq!(parse_ms("300000ms"), Ok(300_000));
        assert_eq!(parse_ms("20s"), Ok(20_000));
        assert_eq!(parse_ms("5m"), Ok(300_000));
        assert_eq!(parse_ms("1h"), Ok(3_600_000));
        assert_eq!(parse_ms("1500"), Ok(1_500));
        assert!(parse_ms("5 parsecs").is_err());
        assert!(parse_ms("m").is_err());
        assert!(parse_ms("99999999999999999999s").is_err());
    }
}
