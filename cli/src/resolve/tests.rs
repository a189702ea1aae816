use super::*;

fn c(id: &str, name: Option<&str>, ip: Option<&str>) -> Candidate {
    Candidate {
        node_id: id.into(),
        display_name: name.map(Into::into),
        remote_ip: ip.map(Into::into),
        ..Candidate::default()
    }
}

fn nodes() -> Vec<Candidate> {
    vec![
        c(
            "aaaaaa111111",
            Some("Living Room iPad"),
            Some("192.168.1.23"),
        ),
        c("aaaaaa222222", Some("Kitchen Pi"), Some("192.168.1.24")),
        c(
            "bbbbbb333333",
            Some("kitchen-pi"),
            Some("::ffff:192.168.1.25"),
        ),
        c("192.168.1.24", None, None),
    ]
}

fn pick(q: &str) -> anyhow::Result<String> {
    let n = nodes();
    resolve(q, &n).map(|c| c.node_id.clone())
}

#[test]
fn exact_id_wins_over_exact_ip() {
    assert_eq!(pick("192.168.1.24").unwrap(), "192.168.1.24");
    assert_eq!(pick("aaaaaa111111").unwrap(), "aaaaaa111111");
}

#[test]
fn exact_ip_including_mapped_form() {
    assert_eq!(pick("192.168.1.23").unwrap(), "aaaaaa111111");
    assert_eq!(pick("192.168.1.25").unwrap(), "bbbbbb333333");
}

#[test]
fn normalised_names_match_and_can_be_ambiguous() {
    assert_eq!(pick("living room ipad").unwrap(), "aaaaaa111111");
    assert_eq!(pick("--Living_Room--iPad").unwrap(), "aaaaaa111111");
    let e = pick("Kitchen PI").unwrap_err().to_string();
    assert!(
        e.starts_with("ambiguous node: Kitchen PI (matches: "),
        "{e}"
    );
    assert!(
        e.contains("node=aaaaaa222222") && e.contains("node=bbbbbb333333"),
        "{e}"
    );
}

#[test]
fn prefixes_need_six_characters_and_one_match() {
    assert_eq!(pick("bbbbbb").unwrap(), "bbbbbb333333");
    assert!(
        pick("bbbbb")
            .unwrap_err()
            .to_string()
            .starts_with("unknown node: bbbbb; did you mean kitchen-pi (bbbbbb333333)? (known: "),
        "too short to match, close enough to suggest: {}",
        pick("bbbbb").unwrap_err()
    );
    assert!(
        pick("aaaaaa")
            .unwrap_err()
            .to_string()
            .starts_with("ambiguous node")
    );
}

#[test]
fn ties_prefer_connected_then_current_clients() {
    let mut n = vec![c("x1", Some("pi"), None), c("x2", Some("pi"), None)];
    n[1].connected = true;
    assert_eq!(resolve("pi", &n).unwrap().node_id, "x2");
    let mut n = vec![c("x1", Some("pi"), None), c("x2", Some("pi"), None)];
    n[0].client_id = Some("openclaw-ios".into());
    assert_eq!(resolve("pi", &n).unwrap().node_id, "x1");
    let mut n = vec![c("x1", Some("pi"), None), c("x2", Some("pi"), None)];
    n[0].client_id = Some("clawdbot-ios".into());
    assert_eq!(resolve("pi", &n).unwrap().node_id, "x2");
}

#[test]
fn blank_and_unknown_queries_are_explained() {
    assert_eq!(pick("  ").unwrap_err().to_string(), "node required");
    let e = pick("garage").unwrap_err().to_string();
    assert!(
        e.contains("Living Room iPad / 192.168.1.23 / aaaaaa111111"),
        "{e}"
    );
    assert_eq!(
        resolve("x", &[]).unwrap_err().to_string(),
        "unknown node: x (known: none)"
    );
}

#[test]
fn names_normalise() {
    assert_eq!(normalize_name("  Living Room iPad! "), "living-room-ipad");
    assert_eq!(normalize_name("a__b--c"), "a-b-c");
    assert_eq!(normalize_name("---"), "");
}

#[test]
fn the_start_of_a_name_matches_and_a_typo_is_suggested() {
    assert_eq!(pick("living").unwrap(), "aaaaaa111111");
    let e = pick("livng room").unwrap_err().to_string();
    assert!(
        e.contains("did you mean Living Room iPad (aaaaaa111111)?"),
        "{e}"
    );
    let e = pick("zzzz").unwrap_err().to_string();
    assert!(!e.contains("did you mean"), "nothing close: {e}");
}
