use pairing_tests::harness::Harness;

#[test]
fn same_seed_same_transcript_for_every_scenario() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures dir")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.path());
    assert!(!entries.is_empty());
    for e in entries {
        let scenario: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
        let a = Harness::run_scenario(&scenario).to_string();
        let b = Harness::run_scenario(&scenario).to_string();
        assert_eq!(a, b, "{} is not deterministic", e.path().display());
    }
}

#[test]
fn different_seed_changes_ids_and_tokens() {
    let scenario: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/operator_initiated.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut other = scenario.clone();
    other["seed"] = serde_json::json!(999);
    assert_ne!(
        Harness::run_scenario(&scenario).to_string(),
        Harness::run_scenario(&other).to_string()
    );
}
