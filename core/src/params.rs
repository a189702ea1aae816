//! Reading and validating method parameters, with errors that name the field.

use crate::config::Limits;
use crate::wire::ApiError;
use serde_json::{Map, Value};

/// Whether `c` may hide or reorder what a person reads: a bidirectional control (U+202E RIGHT-TO-LEFT
/// OVERRIDE and its kin), or a character that shows nothing (zero-width space, word joiner, byte order
/// mark, soft hyphen, invisible operators, fillers, tag characters, line and paragraph separators).
/// Zero-width (non-)joiners stay allowed: scripts and emoji need them and they reorder nothing.
///
/// The one rule for every string a client sends (issue #14): names, platforms, client ids, caps and
/// commands are shown to operators, so a string holding one of these is refused with
/// `INVALID_REQUEST` naming the field ([`Params`] applies it to every string it reads).
pub(crate) fn is_hidden_char(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E007F}')
}

/// The problem with a string's characters, if any: a control character, or a hidden one
/// ([`is_hidden_char`]), named by its code point.
fn char_problem(s: &str) -> Option<String> {
    if s.chars().any(char::is_control) {
        return Some("must not contain control characters".into());
    }
    s.chars().find(|&c| is_hidden_char(c)).map(|c| {
        format!(
            "must not contain invisible or bidirectional control characters (U+{:04X})",
            u32::from(c)
        )
    })
}

/// `s` without control and hidden characters, for text read from files rather than from a client
/// (an imported OpenClaw store), where there is nobody to refuse.
pub(crate) fn strip_hidden(s: &str) -> String {
    s.chars()
        .filter(|&c| !c.is_control() && !is_hidden_char(c))
        .collect()
}

/// A validated view of a method's `params` object.
pub(crate) struct Params<'a> {
    context: &'a str,
    prefix: String,
    map: Map<String, Value>,
    limits: &'a Limits,
}

impl<'a> Params<'a> {
    /// Accepts `params` (an object, or absent/null meaning `{}`) whose keys are all in `allowed`.
    /// `context` names the method in error messages (`invalid node.rename params: …`).
    pub(crate) fn new(
        context: &'a str,
        params: Value,
        allowed: &[&str],
        limits: &'a Limits,
    ) -> Result<Self, ApiError> {
        Self::build(context, params, Some(allowed), limits)
    }

    /// Like [`Params::new`], but unknown keys are ignored (for `connect`, whose clients send extras).
    pub(crate) fn lenient(
        context: &'a str,
        params: Value,
        limits: &'a Limits,
    ) -> Result<Self, ApiError> {
        Self::build(context, params, None, limits)
    }

    fn build(
        context: &'a str,
        params: Value,
        allowed: Option<&[&str]>,
        limits: &'a Limits,
    ) -> Result<Self, ApiError> {
        let map = match params {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => {
                return Err(ApiError::invalid(format!(
                    "invalid {context} params: at root: must be an object"
                )));
            }
        };
        if let Some(allowed) = allowed
            && let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str()))
        {
            let shown: String = extra.chars().take(64).collect();
            return Err(ApiError::invalid(format!(
                "invalid {context} params: at root: unexpected property '{shown}'"
            ))
            .with_details(serde_json::json!({ "field": shown })));
        }
        Ok(Params {
            context,
            prefix: String::new(),
            map,
            limits,
        })
    }

    fn error(&self, field: &str, problem: &str) -> ApiError {
        let field = format!("{}{field}", self.prefix);
        ApiError::invalid(format!(
            "invalid {} params: {field}: {problem}",
            self.context
        ))
        .with_details(serde_json::json!({ "field": field }))
    }

    /// Whether the field is there at all, `null` included.
    pub(crate) fn present(&self, field: &str) -> bool {
        self.map.contains_key(field)
    }

    /// Whether the field is present (and not null).
    pub(crate) fn has(&self, field: &str) -> bool {
        !matches!(self.map.get(field), None | Some(Value::Null))
    }

    /// An optional string, trimmed, at most `max` characters, no control characters. Blank is absent.
    pub(crate) fn opt_str_max(&self, field: &str, max: usize) -> Result<Option<String>, ApiError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let t = s.trim();
                if t.chars().count() > max {
                    Err(self.error(field, &format!("must be at most {max} characters")))
                } else if let Some(problem) = char_problem(t) {
                    Err(self.error(field, &problem))
                } else if t.is_empty() {
                    Ok(None)
                } else {
                    Ok(Some(t.to_owned()))
                }
            }
            Some(_) => Err(self.error(field, "must be a string")),
        }
    }

    /// An optional metadata string bounded by the general string limit.
    pub(crate) fn opt_str(&self, field: &str) -> Result<Option<String>, ApiError> {
        self.opt_str_max(field, self.limits.max_string_chars)
    }

    /// A required string bounded by `max`, non-blank after trimming.
    pub(crate) fn req_str_max(&self, field: &str, max: usize) -> Result<String, ApiError> {
        self.opt_str_max(field, max)?
            .ok_or_else(|| self.error(field, "required (a non-empty string)"))
    }

    /// A required node id: 1 to 128 characters after trimming.
    pub(crate) fn node_id(&self, field: &str) -> Result<String, ApiError> {
        self.req_str_max(field, self.limits.max_node_id_chars)
    }

    /// A string whose content must not be altered (tokens): any string up to the limit; absent is `""`.
    pub(crate) fn raw_str(&self, field: &str) -> Result<String, ApiError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) if s.chars().count() <= self.limits.max_string_chars => {
                Ok(s.clone())
            }
            Some(Value::String(_)) => Err(self.error(
                field,
                &format!(
                    "must be at most {} characters",
                    self.limits.max_string_chars
                ),
            )),
            Some(_) => Err(self.error(field, "must be a string")),
        }
    }

    /// A required string whose content must not be altered (tokens): present, possibly empty, up to
    /// the limit. Absent is an error naming the field.
    pub(crate) fn req_raw_str(&self, field: &str) -> Result<String, ApiError> {
        if !self.has(field) {
            return Err(self.error(field, "required (a string)"));
        }
        self.raw_str(field)
    }

    /// An optional boolean.
    pub(crate) fn opt_bool(&self, field: &str) -> Result<Option<bool>, ApiError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.error(field, "must be a boolean")),
        }
    }

    /// An optional list of strings, each trimmed, blanks dropped, bounded in count and length.
    pub(crate) fn opt_list(&self, field: &str) -> Result<Option<Vec<String>>, ApiError> {
        let items = match self.map.get(field) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(self.error(field, "must be an array of strings")),
        };
        if items.len() > self.limits.max_list_entries {
            return Err(self.error(
                field,
                &format!("must have at most {} entries", self.limits.max_list_entries),
            ));
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Value::String(s) = item else {
                return Err(self.error(field, "must be an array of strings"));
            };
            let t = s.trim();
            if t.chars().count() > self.limits.max_list_entry_chars {
                return Err(self.error(
                    field,
                    &format!(
                        "entries must be at most {} characters",
                        self.limits.max_list_entry_chars
                    ),
                ));
            }
            if let Some(problem) = char_problem(t) {
                return Err(self.error(field, &format!("entries {problem}")));
            }
            if !t.is_empty() {
                out.push(t.to_owned());
            }
        }
        Ok(Some(out))
    }

    /// A list of strings exactly as sent (for signed fields), bounded in count and length.
    pub(crate) fn raw_list(&self, field: &str) -> Result<Vec<String>, ApiError> {
        let items = match self.map.get(field) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(self.error(field, "must be an array of strings")),
        };
        if items.len() > self.limits.max_list_entries {
            return Err(self.error(
                field,
                &format!("must have at most {} entries", self.limits.max_list_entries),
            ));
        }
        items
            .iter()
            .map(|item| match item {
                Value::String(s) if s.chars().count() <= self.limits.max_list_entry_chars => {
                    Ok(s.clone())
                }
                Value::String(_) => Err(self.error(
                    field,
                    &format!(
                        "entries must be at most {} characters",
                        self.limits.max_list_entry_chars
                    ),
                )),
                _ => Err(self.error(field, "must be an array of strings")),
            })
            .collect()
    }

    /// An optional non-negative integer.
    pub(crate) fn opt_u64(&self, field: &str) -> Result<Option<u64>, ApiError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.error(field, "must be a non-negative integer")),
        }
    }

    /// A required non-negative integer.
    pub(crate) fn req_u64(&self, field: &str) -> Result<u64, ApiError> {
        self.opt_u64(field)?
            .ok_or_else(|| self.error(field, "required (an integer)"))
    }

    /// A nested object read as params of its own; its fields are named `outer.inner` in errors and
    /// unknown keys inside it are ignored.
    pub(crate) fn nested(&self, field: &str) -> Result<Option<Params<'a>>, ApiError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Params {
                context: self.context,
                prefix: format!("{}{field}.", self.prefix),
                map: m.clone(),
                limits: self.limits,
            })),
            Some(_) => Err(self.error(field, "must be an object")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Value) -> Result<Params<'static>, ApiError> {
        static LIMITS: std::sync::LazyLock<Limits> = std::sync::LazyLock::new(Limits::default);
        Params::new("m", v, &["a", "l", "b"], &LIMITS)
    }

    #[test]
    fn unknown_fields_are_named() {
        let e = p(json!({"zz": 1})).err().unwrap();
        assert_eq!(
            e.message,
            "invalid m params: at root: unexpected property 'zz'"
        );
        assert_eq!(e.details, Some(json!({"field": "zz"})));
        assert!(p(json!([1])).is_err());
        assert!(p(Value::Null).is_ok());
    }

    #[test]
    fn strings_are_trimmed_bounded_and_typed() {
        let q = p(json!({"a": "  x  ", "b": 3})).unwrap();
        assert_eq!(q.opt_str("a").unwrap().as_deref(), Some("x"));
        assert_eq!(
            q.opt_str("b").unwrap_err().message,
            "invalid m params: b: must be a string"
        );
        let q = p(json!({"a": "x".repeat(257)})).unwrap();
        assert!(q.opt_str("a").unwrap_err().message.contains("at most 256"));
        let q = p(json!({"a": "bad\u{1b}[31m"})).unwrap();
        assert!(q.opt_str("a").unwrap_err().message.contains("control"));
        let q = p(json!({"a": "   "})).unwrap();
        assert!(q.node_id("a").unwrap_err().message.contains("required"));
    }

    #[test]
    fn lists_are_normalised_and_bounded() {
        let q = p(json!({"l": [" a ", "", "b"]})).unwrap();
        assert_eq!(q.opt_list("l").unwrap(), Some(vec!["a".into(), "b".into()]));
        let q = p(json!({"l": vec!["x"; 129]})).unwrap();
        assert!(q.opt_list("l").is_err());
        let q = p(json!({"l": [1]})).unwrap();
        assert!(q.opt_list("l").is_err());
    }
}
