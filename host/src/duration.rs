//! Durations as people type them: `300000ms`, `20s`, `5m`, `1h`, `2d`. A unit is required: a bare
//! number is refused with a hint, because whether `--pending-ttl 5` means 5 ms, 5 s or 5 min is a
//! guess, and a wrong guess fails silently (a 5 ms request lifetime expires every request at once).

/// Parses a duration into milliseconds. `0` alone is accepted (zero of any unit is zero).
pub fn parse_ms(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| {
        format!(
            "invalid duration {text:?}: expected a number with a unit (ms, s, m, h or d), like 5m"
        )
    })?;
    let factor = match unit.trim() {
        "" if n == 0 => 1,
        "" => {
            return Err(format!(
                "{n} what? write {n}s, {n}m or {n}h (units: ms, s, m, h, d; a bare number is not taken as \
                 milliseconds)"
            ));
        }
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => {
            return Err(format!(
                "invalid duration {text:?}: unknown unit {other:?} (use ms, s, m, h or d)"
            ));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("invalid duration {text:?}: too large"))
}

#[cfg(test)]
mod tests;
