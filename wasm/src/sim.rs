//! The core's deterministic simulator, exported to JavaScript: a scenario in, a transcript out, byte
//! for byte the same as the native run of the same scenario.

use pairing_core::{sim::Harness, workload};
use serde_json::{Value, json};
use wasm_bindgen::prelude::*;

use crate::bindings::js_error;

/// Runs a scenario (`{"description", "seed"?, "config"?, "steps": [...]}`, see `pairing_core::sim`)
/// and returns its result as JSON: `{description, transcript, store, storeCommits}`. Throws when the
/// scenario is not JSON.
#[wasm_bindgen]
pub fn simulate(scenario_json: &str) -> Result<String, JsValue> {
    simulate_json(scenario_json).map_err(js_error)
}

/// [`simulate`] without JavaScript types, for native callers and tests.
pub fn simulate_json(scenario_json: &str) -> Result<String, serde_json::Error> {
    let scenario: Value = serde_json::from_str(scenario_json)?;
    serde_json::to_string(&Harness::run_scenario(&scenario))
}

/// Runs the seeded random workload for `steps` steps and returns its report as JSON
/// (`{seed, steps, transcriptHash, approvals, crashes, failedCommits, frames}`); throws
/// "seed S step N: …" at the first broken invariant.
#[wasm_bindgen(js_name = runWorkload)]
pub fn run_workload(seed: f64, steps: u32) -> Result<String, JsValue> {
    workload_json(seed as u64, steps as usize).map_err(js_error)
}

/// [`run_workload`] without JavaScript types.
pub fn workload_json(seed: u64, steps: usize) -> Result<String, workload::Violation> {
    let r = workload::run(seed, steps)?;
    Ok(json!({
        "seed": r.seed,
        "steps": r.steps,
        "transcriptHash": r.transcript_hash,
        "approvals": r.approvals,
        "crashes": r.crashes,
        "failedCommits": r.failed_commits,
        "frames": r.frames,
    })
    .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_runs_and_repeats_identically() {
        let scenario = r#"{"description":"pair one","steps":[
            {"open":"op"},{"connect":"op","scopes":["operator.admin"],"token":"test-gateway-token"},
            {"open":"ipad"},{"connect":"ipad","role":"node"},
            {"call":"ipad","method":"node.pair.request","params":{"nodeId":"$node:ipad"}},
            {"call":"op","method":"node.pair.approve","params":{"requestId":"$req:ipad"}}]}"#;
        let a = simulate_json(scenario).unwrap();
        assert_eq!(a, simulate_json(scenario).unwrap());
        assert!(a.contains("node.pair.resolved"), "{a}");
        assert!(simulate_json("{").is_err());
        let w = workload_json(3, 50).unwrap();
        assert_eq!(w, workload_json(3, 50).unwrap());
    }
}
