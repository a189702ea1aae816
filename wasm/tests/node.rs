//! The exported JavaScript API, run in Node by `wasm-bindgen-test-runner`
//! (`cargo test -p pairing-wasm --target wasm32-unknown-unknown`).
#![cfg(target_arch = "wasm32")]

use js_sys::{JSON, Reflect};
use pairing_wasm::bindings::{
    Codec, Page, explain_error, format_age, format_countdown, required_approve_scopes,
};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

const T0: f64 = 1_700_000_000_000.0;

fn get(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |v, k| {
        let key = match k.parse::<u32>() {
            Ok(i) => JsValue::from(i),
            Err(_) => JsValue::from_str(k),
        };
        Reflect::get(&v, &key).unwrap()
    })
}

fn text(v: &JsValue, path: &str) -> String {
    get(v, path).as_string().unwrap_or_default()
}

#[wasm_bindgen_test]
fn formatting_and_scopes() {
    assert_eq!(format_countdown(T0 + 299_000.0, T0), "4m 59s");
    assert_eq!(format_countdown(T0, T0), "expired");
    assert_eq!(format_age(T0 - 180_000.0, T0), "3m ago");
    assert_eq!(format_age(T0, T0), "just now");
    assert_eq!(
        required_approve_scopes(vec!["system.run".into()]),
        ["operator.pairing", "operator.admin"]
    );
    assert_eq!(required_approve_scopes(vec![]), ["operator.pairing"]);
    assert_eq!(
        explain_error(
            r#"{"code":"INVALID_REQUEST","message":"unknown requestId: it expired","details":{"code":"UNKNOWN_REQUEST","reason":"expired"}}"#
        ),
        "It expired."
    );
    assert_eq!(
        explain_error("nonsense"),
        "The gateway sent an error this page cannot read."
    );
}

#[wasm_bindgen_test]
fn codec_builds_and_parses_frames() {
    let mut c = Codec::new();
    let f = JSON::parse(&c.connect("tok")).unwrap();
    assert_eq!(text(&f, "id"), "1");
    assert_eq!(text(&f, "params.auth.token"), "tok");
    assert_eq!(text(&f, "params.client.id"), "openclaw-control-ui");
    assert_eq!(text(&f, "params.scopes.3"), "operator.admin");
    let f = c.request("node.list", "{}").unwrap();
    assert_eq!(
        f,
        r#"{"type":"req","id":"2","method":"node.list","params":{}}"#
    );
    assert!(c.request("node.list", "{").is_err());
    let e = Codec::parse(r#"{"type":"event","event":"tick","payload":{"ts":1},"seq":4}"#).unwrap();
    assert_eq!(get(&e, "seq").as_f64(), Some(4.0));
    assert!(Codec::parse("junk").unwrap().is_undefined());
}

#[wasm_bindgen_test]
fn page_connects_lists_and_approves() {
    let mut page = Page::new();
    assert_eq!(page.state(), "need-token");
    assert!(page.set_token("  ").is_err());
    page.set_token("tok").unwrap();
    assert_eq!(page.token().as_deref(), Some("tok"));
    assert!(page.socket_opening(T0));
    assert_eq!(page.state(), "connecting");
    let out = page.receive(
        r#"{"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":1700000000000}}"#,
        T0,
    );
    assert_eq!(out.len(), 1);
    let out = page.receive(
        r#"{"type":"res","id":"1","ok":true,"payload":{"type":"hello-ok"}}"#,
        T0,
    );
    assert_eq!(out.len(), 2);
    assert_eq!(page.state(), "connected");
    page.receive(
        r#"{"type":"event","event":"node.pair.requested","seq":1,"payload":{"requestId":"r1","nodeId":"n1","displayName":"Kitchen iPad","verificationCode":"1234-5678","ts":1700000000000,"expiresAtMs":1700000300000}}"#,
        T0,
    );
    let v = page.view(T0 + 1_000.0).unwrap();
    assert_eq!(text(&v, "conn"), "connected");
    assert_eq!(text(&v, "pending.0.code"), "1234-5678");
    assert_eq!(text(&v, "pending.0.countdown"), "expires in 4m 59s");
    assert_eq!(
        text(&v, "pending.0.countdownLabel"),
        "expires in 4 minutes 59 seconds"
    );
    assert_eq!(text(&v, "pending.0.approveLabel"), "Approve Kitchen iPad");
    let f = JSON::parse(&page.approve("r1").unwrap()).unwrap();
    assert_eq!(text(&f, "method"), "node.pair.approve");
    assert_eq!(text(&f, "params.requestId"), "r1");
    let err = page.approve("nope").unwrap_err();
    assert_eq!(text(&err, "message"), "That is no longer on the list.");
    let v = page.view(T0).unwrap();
    assert_eq!(
        get(&v, "pending.0.busy").as_bool(),
        Some(true),
        "Approve waits for its answer"
    );
    let delay = page.socket_closed(T0, None).unwrap();
    assert!((500.0..=600.0).contains(&delay), "{delay}");
    assert_eq!(page.state(), "reconnecting");
    let v = page.view(T0).unwrap();
    assert_eq!(text(&v, "notices.0.kind"), "failed");
}

/// Paired nodes are listed in the order JavaScript's `localeCompare` gives (the page borrows the
/// engine's collation instead of shipping Unicode case tables): "Émile" between "alpha" and "zeta",
/// whatever the case.
#[wasm_bindgen_test]
fn paired_names_sort_as_the_browser_collates_them() {
    let mut page = Page::new();
    page.set_token("tok").unwrap();
    page.socket_opening(T0);
    page.receive(
        r#"{"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":1700000000000}}"#,
        T0,
    );
    let out = page.receive(
        r#"{"type":"res","id":"1","ok":true,"payload":{"type":"hello-ok"}}"#,
        T0,
    );
    let list = out
        .iter()
        .map(|f| JSON::parse(f).unwrap())
        .find(|f| text(f, "method") == "node.pair.list")
        .expect("the page asks for the list");
    let id = text(&list, "id");
    let names = ["zeta", "Émile", "alpha", "Beta"];
    let paired: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!(r#"{{"nodeId":"n{i}","displayName":"{n}","approvedAtMs":1}}"#))
        .collect();
    page.receive(
        &format!(
            r#"{{"type":"res","id":"{id}","ok":true,"payload":{{"pending":[],"paired":[{}]}}}}"#,
            paired.join(",")
        ),
        T0,
    );
    let v = page.view(T0).unwrap();
    let shown: Vec<String> = (0..4)
        .map(|i| text(&v, &format!("paired.{i}.name")))
        .collect();
    assert_eq!(shown, ["alpha", "Beta", "Émile", "zeta"]);
}

#[cfg(feature = "sim")]
#[wasm_bindgen_test]
fn the_simulator_runs_in_wasm_as_natively() {
    let scenario = r#"{"description":"pair one","steps":[
        {"open":"op"},{"connect":"op","scopes":["operator.admin"],"token":"test-gateway-token"},
        {"open":"ipad"},{"connect":"ipad","role":"node"},
        {"call":"ipad","method":"node.pair.request","params":{"nodeId":"$node:ipad"}},
        {"call":"op","method":"node.pair.approve","params":{"requestId":"$req:ipad"}}]}"#;
    let wasm = pairing_wasm::sim::simulate(scenario).unwrap();
    assert!(wasm.contains("node.pair.resolved"));
    assert_eq!(wasm, pairing_wasm::sim::simulate(scenario).unwrap());
    assert!(pairing_wasm::sim::simulate("{").is_err());
    let report = JSON::parse(&pairing_wasm::sim::run_workload(3.0, 50).unwrap()).unwrap();
    assert_eq!(get(&report, "steps").as_f64(), Some(50.0));
}

#[cfg(feature = "sim")]
#[wasm_bindgen_test]
fn seeded_workloads_hash_identically_in_wasm_and_natively() {
    // The native unit tests of pairing_core::workload check the same constants.
    for (seed, hash) in pairing_core::workload::REFERENCE_HASHES {
        let report =
            JSON::parse(&pairing_wasm::sim::run_workload(seed as f64, 200).unwrap()).unwrap();
        assert_eq!(
            get(&report, "transcriptHash").as_string().as_deref(),
            Some(hash),
            "seed {seed}"
        );
    }
}
