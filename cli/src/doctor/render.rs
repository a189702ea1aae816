//! Printing a diagnosis: `- finding` lines and `Next: command`, or one JSON object with `--json`.

use super::diagnosis::Diagnosis;
use serde_json::{Value, json};

/// The `--json` object: `{cause, paired, findings, next}`.
pub(super) fn json(d: &Diagnosis) -> Value {
    json!({ "cause": d.cause.as_str(), "paired": d.paired, "findings": d.lines, "next": d.next })
}

/// The text for a person: one `- finding` line each, then `Next: command`.
pub(super) fn text(d: &Diagnosis) -> String {
    let mut out = String::new();
    for l in d.lines.iter().filter(|l| !l.is_empty()) {
        out.push_str(&format!("- {l}\n"));
    }
    if let Some(n) = &d.next {
        out.push_str(&format!("\nNext: {n}\n"));
    }
    out
}
