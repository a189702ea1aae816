//! Questions on a terminal: ask on stderr, read one answer line from stdin.

/// Asks on stderr and reads one answer line from stdin (lower-cased); `None` at end of input.
pub(crate) async fn ask(question: String) -> Option<String> {
    eprint!("{question}");
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        match std::io::stdin().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim().to_ascii_lowercase()),
        }
    })
    .await
    .ok()
    .flatten()
}

/// Reads a yes/no answer: only `y` or `yes` (any case) is yes.
pub(crate) fn is_yes(answer: Option<&str>) -> bool {
    matches!(
        answer
            .map(str::trim)
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("y" | "yes")
    )
}
