//! Unit-test data: the gateway's records written as JSON (the way the gateway sends them) and read
//! into the core's types, with the fields a test does not care about filled in.

use pairing_core::protocol::{NodeEntry, NodePaired, NodePending};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// `v` with `defaults` added where it lacks them, read as `T`.
fn read<T: DeserializeOwned>(mut v: Value, defaults: Value) -> T {
    for (k, d) in defaults.as_object().expect("an object") {
        if v.get(k).is_none() {
            v[k] = d.clone();
        }
    }
    serde_json::from_value(v).expect("test data reads as the record")
}

/// A pending request (`requestId`, `nodeId` and `ts` default to `r`, `n` and 0).
pub(crate) fn pending(v: Value) -> NodePending {
    read(v, json!({"requestId": "r", "nodeId": "n", "ts": 0}))
}

/// A paired node (`nodeId` defaults to `n`).
pub(crate) fn paired(v: Value) -> NodePaired {
    read(v, json!({"nodeId": "n"}))
}

/// A `node.list` entry (`nodeId` defaults to `n`).
pub(crate) fn entry(v: Value) -> NodeEntry {
    read(v, json!({"nodeId": "n"}))
}
