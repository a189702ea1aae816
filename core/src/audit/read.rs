//! Reading the trail back: one line as a [`ReadEntry`], and [`ChainCheck`] over a sequence of them,
//! naming the first line that breaks the chain ([`Broken`]).

use super::{Head, canonical_json, chain_hash};
use serde_json::Value;

/// An entry as read back from a file: the fields a reader shows, and the parsed line.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadEntry {
    /// `seq`.
    pub seq: u64,
    /// `ts`.
    pub ts: u64,
    /// `action`.
    pub action: String,
    /// `nodeId`.
    pub node_id: String,
    /// `requestId`, if any.
    pub request_id: Option<String>,
    /// `displayName`, if any.
    pub display_name: Option<String>,
    /// `hash`.
    pub hash: String,
    /// `prevHash`.
    pub prev_hash: String,
    /// The whole line as JSON.
    pub json: Value,
}

impl ReadEntry {
    /// The acting connection's role (`operator` or `node`); `None` when the gateway acted.
    pub fn actor_role(&self) -> Option<&str> {
        self.json["actor"]["role"].as_str()
    }

    /// The acting connection's remote address; `None` when the gateway acted.
    pub fn actor_remote_ip(&self) -> Option<&str> {
        self.json["actor"]["remoteIp"].as_str()
    }

    /// `keyFingerprint`: the fingerprint of the key the entry is about, when it names one.
    pub fn key_fingerprint(&self) -> Option<&str> {
        self.json["keyFingerprint"].as_str()
    }

    /// `actor`, shortly: `gateway`, or `role clientId@remoteIp`.
    pub fn actor_text(&self) -> String {
        match &self.json["actor"] {
            Value::String(s) => s.clone(),
            Value::Object(m) => {
                let get = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("?");
                format!("{} {}@{}", get("role"), get("clientId"), get("remoteIp"))
            }
            _ => "?".to_owned(),
        }
    }
}

/// Why a line does not continue the chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    /// Not a JSON object with the required fields.
    #[error("not an audit entry: {0}")]
    Malformed(String),
    /// The line's content does not give its hash: it was changed.
    #[error("seq {seq}: its hash does not match its content (the line was changed)")]
    Tampered {
        /// The line's `seq`.
        seq: u64,
    },
    /// `seq` is not the one after the previous line's.
    #[error("expected seq {expected} but found seq {found} ({})", missing_text(*expected, *found))]
    Gap {
        /// The `seq` that should come next.
        expected: u64,
        /// The `seq` found.
        found: u64,
    },
    /// `prevHash` is not the previous line's `hash`.
    #[error("seq {seq}: prevHash does not match the hash of the entry before it")]
    Unlinked {
        /// The line's `seq`.
        seq: u64,
    },
}

fn missing_text(expected: u64, found: u64) -> String {
    if found > expected {
        let n = found - expected;
        if n == 1 {
            format!("entry {expected} is missing")
        } else {
            format!("entries {expected}–{} are missing", found - 1)
        }
    } else {
        "a line was repeated or moved".to_owned()
    }
}

/// Parses one line and checks that its content gives its hash (without looking at the chain).
pub fn read_line(line: &str) -> Result<ReadEntry, Broken> {
    let mut json: Value =
        serde_json::from_str(line).map_err(|e| Broken::Malformed(e.to_string()))?;
    let obj = json
        .as_object_mut()
        .ok_or_else(|| Broken::Malformed("not a JSON object".into()))?;
    let field = |name: &str| Broken::Malformed(format!("missing or invalid {name}"));
    let seq = obj
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or_else(|| field("seq"))?;
    let ts = obj
        .get("ts")
        .and_then(Value::as_u64)
        .ok_or_else(|| field("ts"))?;
    let text = |name: &str| obj.get(name).and_then(Value::as_str).map(str::to_owned);
    let action = text("action").ok_or_else(|| field("action"))?;
    let node_id = text("nodeId").ok_or_else(|| field("nodeId"))?;
    let prev_hash = text("prevHash").ok_or_else(|| field("prevHash"))?;
    let request_id = text("requestId");
    let display_name = text("displayName");
    let hash = match obj.remove("hash") {
        Some(Value::String(h)) => h,
        _ => return Err(field("hash")),
    };
    let canonical = canonical_json(&json);
    if chain_hash(&prev_hash, &canonical) != hash {
        return Err(Broken::Tampered { seq });
    }
    if let Some(obj) = json.as_object_mut() {
        obj.insert("hash".into(), Value::String(hash.clone()));
    }
    Ok(ReadEntry {
        seq,
        ts,
        action,
        node_id,
        request_id,
        display_name,
        hash,
        prev_hash,
        json,
    })
}

/// Checks lines in order against the chain.
#[derive(Clone, Debug, Default)]
pub struct ChainCheck {
    head: Option<Head>,
    /// How many lines verified.
    pub verified: u64,
}

impl ChainCheck {
    /// A check that expects the chain to start at its genesis.
    pub fn from_genesis() -> Self {
        ChainCheck {
            head: Some(Head::default()),
            verified: 0,
        }
    }

    /// A check that accepts whatever the first line links to (a chain whose older files were removed).
    pub fn from_anywhere() -> Self {
        ChainCheck::default()
    }

    /// The head after the lines checked so far.
    pub fn head(&self) -> Option<&Head> {
        self.head.as_ref()
    }

    /// Checks the next line.
    pub fn check(&mut self, line: &str) -> Result<ReadEntry, Broken> {
        let e = read_line(line)?;
        if let Some(head) = &self.head {
            if e.seq != head.seq + 1 {
                return Err(Broken::Gap {
                    expected: head.seq + 1,
                    found: e.seq,
                });
            }
            if e.prev_hash != head.hash {
                return Err(Broken::Unlinked { seq: e.seq });
            }
        }
        self.head = Some(Head {
            seq: e.seq,
            hash: e.hash.clone(),
        });
        self.verified += 1;
        Ok(e)
    }
}
