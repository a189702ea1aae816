//! What a client sends: missing fields are named, bidi and invisible characters refused, device
//! ids compared in one form.

use super::*;

/// Issue #14 item 11: a missing required field is `INVALID_REQUEST` naming it, never `{ok:false}`;
/// an empty token is still a failed verify (SPEC §10).
#[test]
fn node_pair_verify_without_token_names_the_field() {
    let mut g = gateway();
    let op = operator(&mut g);
    call(
        &mut g,
        T0,
        op,
        "node.pair.verify",
        json!({ "nodeId": "box" }),
    );
    let (sent, _) = round(&mut g);
    let e = &sent[0].1["error"];
    assert_eq!(e["code"], "INVALID_REQUEST", "{e}");
    assert_eq!(e["details"]["field"], "token");
    assert!(
        e["message"].as_str().unwrap().contains("token: required"),
        "{e}"
    );
    call(
        &mut g,
        T0,
        op,
        "node.pair.verify",
        json!({ "nodeId": "box", "token": "" }),
    );
    let (sent, _) = round(&mut g);
    assert_eq!(sent[0].1["payload"]["ok"], false);
    for (method, params, field) in [
        ("node.pair.verify", json!({ "token": "x" }), "nodeId"),
        ("node.pair.request", json!({}), "nodeId"),
        ("node.pair.remove", json!({}), "nodeId"),
        ("node.rename", json!({ "nodeId": "box" }), "displayName"),
        ("node.describe", json!({}), "nodeId"),
        ("device.pair.remove", json!({}), "deviceId"),
        ("device.token.rotate", json!({ "role": "node" }), "deviceId"),
    ] {
        call(&mut g, T0, op, method, params);
        let (sent, _) = round(&mut g);
        let e = &sent[0].1["error"];
        assert_eq!(e["code"], "INVALID_REQUEST", "{method}: {e}");
        assert_eq!(e["details"]["field"], field, "{method}: {e}");
    }
}

/// Issue #14 item 10: one rule for every string a client sends — a bidi control or an invisible
/// character is refused with `INVALID_REQUEST` naming the field, in methods and in `connect`.
#[test]
fn bidi_controls_and_invisible_characters_are_refused_naming_the_field() {
    let mut g = gateway();
    let op = operator(&mut g);
    for bad in [
        "evil\u{202E}gpj.exe",
        "a\u{200B}b",
        "\u{2066}x\u{2069}",
        "x\u{FEFF}",
        "x\u{E0041}",
    ] {
        for (method, params, field) in [
            (
                "node.pair.request",
                json!({ "nodeId": "box", "displayName": bad }),
                "displayName",
            ),
            (
                "node.pair.request",
                json!({ "nodeId": "box", "platform": bad }),
                "platform",
            ),
            ("node.pair.request", json!({ "nodeId": bad }), "nodeId"),
            (
                "node.pair.request",
                json!({ "nodeId": "box", "commands": ["ok", bad] }),
                "commands",
            ),
            (
                "node.rename",
                json!({ "nodeId": "box", "displayName": bad }),
                "displayName",
            ),
        ] {
            call(&mut g, T0, op, method, params);
            let (sent, _) = round(&mut g);
            let e = &sent[0].1["error"];
            assert_eq!(e["code"], "INVALID_REQUEST", "{method} {bad:?}: {e}");
            assert_eq!(e["details"]["field"], field, "{method}: {e}");
            assert!(e["message"].as_str().unwrap().contains("U+"), "{e}");
        }
    }
    assert_eq!(g.state().pending_count(), 0);

    // In connect: the client's display name (shown in device.pair.requested and node.list).
    let (_, answer) = connect(
        &mut g,
        T0,
        &Dev {
            display_name: "kitchen\u{202E}ip",
            ..Dev::default()
        },
    );
    assert_eq!(answer[0]["error"]["code"], "INVALID_REQUEST", "{answer:?}");
    assert_eq!(answer[0]["error"]["details"]["field"], "client.displayName");
    assert_eq!(g.state().pending_count(), 0);

    // What scripts and emoji need stays allowed.
    for good in ["👩‍💻 laptop", "می‌خواهم", "Küche", "❤️ pi"] {
        call(
            &mut g,
            T0,
            op,
            "node.pair.request",
            json!({ "nodeId": good, "displayName": good }),
        );
        let (sent, _) = round(&mut g);
        let reply = &sent
            .iter()
            .find(|(_, f)| f["id"] == "node.pair.request")
            .unwrap()
            .1;
        assert_eq!(reply["ok"], true, "{good}: {reply}");
    }
}

/// A device id is one form: `device.*` methods take it in upper case too.
#[test]
fn device_ids_are_compared_in_one_form() {
    let mut g = gateway();
    let op = operator(&mut g);
    connect(&mut g, T0, &Dev::default());
    let code = crate::state::code_of(g.state().all_pending().values().next().unwrap());
    call(
        &mut g,
        T0,
        op,
        "device.pair.approve",
        json!({ "code": code }),
    );
    round(&mut g);
    let upper = proof::device_id(&[42; 32]).to_ascii_uppercase();
    call(
        &mut g,
        T0,
        op,
        "device.pair.remove",
        json!({ "deviceId": upper }),
    );
    let (sent, _) = round(&mut g);
    let reply = &sent
        .iter()
        .find(|(_, f)| f["id"] == "device.pair.remove")
        .unwrap()
        .1;
    assert_eq!(reply["ok"], true, "{reply}");
    assert!(g.state().all_paired().is_empty());
}
