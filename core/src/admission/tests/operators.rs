//! Operators at `connect` and on device decisions: missing scopes, the admin retry OpenClaw's CLI
//! relies on, protocol mismatch, and decisions on requests that are not a device's.

use super::*;

#[test]
fn v4_operators_get_forbidden_with_missing_scope_details() {
    let mut g = gateway();
    let conn = g.open(T0, "10.0.0.1".parse().unwrap()).unwrap();
    round(&mut g);
    let mut p = operator_params(json!({"scopes": ["operator.read"]}));
    p["minProtocol"] = json!(4);
    p["maxProtocol"] = json!(4);
    let frame = json!({"type": "req", "id": "c", "method": "connect", "params": p});
    g.frame(T0, conn, &frame.to_string());
    let r = round(&mut g);
    assert_eq!(answer(&r, conn)["payload"]["protocol"], 4);
    call(&mut g, T0, conn, "device.pair.list", json!({}));
    let r = round(&mut g);
    let e = &r.to(conn)[0]["error"];
    assert_eq!(e["code"], "FORBIDDEN");
    assert_eq!(e["message"], "missing scope: operator.pairing");
    assert_eq!(e["details"]["code"], "MISSING_SCOPE");
}

#[test]
fn devices_approve_without_admin_says_denied_so_openclaw_cli_retries_with_admin() {
    let mut g = gateway();
    let op = operator(&mut g);
    let (_, r) = connect(&mut g, T0, &Host::v4());
    let rid = r
        .sent
        .iter()
        .find_map(|(_, f)| f["error"]["details"]["requestId"].as_str())
        .unwrap()
        .to_owned();
    let conn = g.open(T0, "10.0.0.1".parse().unwrap()).unwrap();
    round(&mut g);
    let mut p = operator_params(json!({"scopes": ["operator.pairing"]}));
    p["minProtocol"] = json!(4);
    p["maxProtocol"] = json!(4);
    g.frame(
        T0,
        conn,
        &json!({"type": "req", "id": "c", "method": "connect", "params": p}).to_string(),
    );
    round(&mut g);
    call(
        &mut g,
        T0,
        conn,
        "device.pair.approve",
        json!({ "requestId": rid }),
    );
    let r = round(&mut g);
    let e = &r.to(conn)[0]["error"];
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("device pairing approval denied"),
        "{e}"
    );
    assert_eq!(e["details"]["missingScope"], "operator.admin");
    call(
        &mut g,
        T0,
        op,
        "device.pair.approve",
        json!({ "requestId": rid }),
    );
    let r = round(&mut g);
    let res = r.to(op).into_iter().find(|f| f["type"] == "res").unwrap();
    assert_eq!(res["payload"]["device"]["deviceId"], proof::device_id(&KEY));
    assert_eq!(res["payload"]["device"]["tokens"][0]["role"], "node");
    assert!(res["payload"]["device"].get("tokenHash").is_none());
}

#[test]
fn protocol_mismatch_names_the_supported_versions() {
    let mut g = gateway();
    let conn = g.open(T0, "10.0.0.1".parse().unwrap()).unwrap();
    round(&mut g);
    let mut p = operator_params(json!({}));
    p["minProtocol"] = json!(5);
    p["maxProtocol"] = json!(6);
    g.frame(
        T0,
        conn,
        &json!({"type": "req", "id": "c", "method": "connect", "params": p}).to_string(),
    );
    let r = round(&mut g);
    let d = &answer(&r, conn)["error"]["details"];
    assert_eq!(d["code"], "PROTOCOL_MISMATCH");
    assert_eq!(d["supported"], json!([3, 4]));
    assert_eq!(r.closed[0].1, 1002);
}

#[test]
fn a_device_decision_on_an_operator_made_request_says_not_a_device_by_code() {
    let mut g = gateway();
    let op = operator(&mut g);
    call(
        &mut g,
        T0,
        op,
        "node.pair.request",
        json!({ "nodeId": "made-by-an-operator" }),
    );
    let r = round(&mut g);
    let rid = r
        .to(op)
        .into_iter()
        .find(|f| f["type"] == "res")
        .and_then(|f| f["payload"]["request"]["requestId"].as_str())
        .unwrap()
        .to_owned();
    call(
        &mut g,
        T0,
        op,
        "device.pair.approve",
        json!({ "requestId": rid }),
    );
    let r = round(&mut g);
    let e: crate::protocol::ApiError = serde_json::from_value(
        r.to(op).into_iter().find(|f| f["type"] == "res").unwrap()["error"].clone(),
    )
    .unwrap();
    assert_eq!(e.detail_code(), Some(DetailCode::NotADevice), "{e:?}");
}
