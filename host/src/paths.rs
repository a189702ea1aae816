//! Where state lives: `OPENCLAW_STATE_DIR`, else `~/.openclaw` (SPEC §5).

use std::path::{Path, PathBuf};

/// The state directory: `OPENCLAW_STATE_DIR` if set and not blank (a leading `~` expands to the home
/// directory), else `<home>/.openclaw`.
pub fn state_dir() -> PathBuf {
    match std::env::var("OPENCLAW_STATE_DIR") {
        Ok(v) if !matches!(v.trim(), "" | "undefined" | "null") => expand_tilde(v.trim()),
        _ => home().join(".openclaw"),
    }
}

/// The home directory: `OPENCLAW_HOME`, else `HOME`, else the current directory.
pub fn home() -> PathBuf {
    for var in ["OPENCLAW_HOME", "HOME"] {
        if let Ok(v) = std::env::var(var)
            && !matches!(v.trim(), "" | "undefined" | "null")
        {
            return expand_tilde_with(v.trim(), None);
        }
    }
    PathBuf::from(".")
}

fn expand_tilde(p: &str) -> PathBuf {
    expand_tilde_with(p, Some(home()))
}

fn expand_tilde_with(p: &str, home: Option<PathBuf>) -> PathBuf {
    match (p.strip_prefix('~'), home) {
        (Some(rest), Some(h)) if rest.is_empty() || rest.starts_with('/') => {
            h.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(p),
    }
}

/// `<state>/nodes`, where the pairing state files live.
pub fn nodes_dir(state: &Path) -> PathBuf {
    state.join("nodes")
}

#[cfg(test)]
mod tests;
