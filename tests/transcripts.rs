use pairing_tests::harness::Harness;

#[test]
fn scenarios() {
    insta::glob!("fixtures/*.json", |path| {
        let text = std::fs::read_to_string(path).expect("fixture readable");
        let scenario: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
        insta::assert_json_snapshot!(Harness::run_scenario(&scenario));
    });
}
