//! What happens to a paired device: removal, token rotation and revocation close its connections,
//! and more declared commands make a repair request.

use super::*;

#[test]
fn removal_closes_the_devices_connections_and_its_next_attempt_is_a_new_request() {
    let mut g = gateway();
    let op = operator(&mut g);
    let (_, r) = connect(&mut g, T0, &Host::v4());
    let first = r.sent[0].1["error"]["details"]["requestId"].clone();
    let code = pending_code(&g);
    approve_by_code(&mut g, T0, op, &code);
    let (n, r) = connect(&mut g, T0 + 1_000, &Host::v4());
    let token = hello_auth(&r, n).device_token.unwrap();

    call(
        &mut g,
        T0 + 2_000,
        op,
        "device.pair.remove",
        json!({ "deviceId": proof::device_id(&KEY) }),
    );
    let r = round(&mut g);
    assert_eq!(r.closed, [(n, 1008, "removed".to_owned())]);
    assert_eq!(r.events(op), ["node.pair.resolved", "device.pair.resolved"]);

    let host = Host {
        auth: json!({ "deviceToken": token }),
        ..Host::v4()
    };
    let (n, r) = connect(&mut g, T0 + 3_000, &host);
    assert_eq!(
        answer(&r, n)["error"]["details"]["code"],
        "AUTH_DEVICE_TOKEN_MISMATCH"
    );
    let (n, r) = connect(&mut g, T0 + 3_000, &Host::v4());
    let again = answer(&r, n)["error"]["details"]["requestId"].clone();
    assert_eq!(
        answer(&r, n)["error"]["details"]["code"],
        "PAIRING_REQUIRED"
    );
    assert_ne!(again, first);
}

#[test]
fn rotation_and_revocation_end_the_token_and_close_the_device_which_gets_a_new_one() {
    let mut g = gateway();
    let op = operator(&mut g);
    pair(&mut g, op);
    let (n, r) = connect(&mut g, T0 + 1_000, &Host::v4());
    let old = hello_auth(&r, n).device_token.unwrap();
    let id = proof::device_id(&KEY);

    for (method, reason) in [
        ("device.token.rotate", "device token rotated"),
        ("device.token.revoke", "device token revoked"),
    ] {
        let live = g.connection_count();
        call(
            &mut g,
            T0 + 2_000,
            op,
            method,
            json!({ "deviceId": id, "role": "node" }),
        );
        let r = round(&mut g);
        let res = r.to(op)[0];
        assert_eq!(res["ok"], true, "{res}");
        assert_eq!(res["payload"]["deviceId"], id.as_str());
        assert!(!res.to_string().contains(&old));
        assert_eq!(r.closed.len(), 1, "{method}: {r:?}");
        assert_eq!((r.closed[0].1, r.closed[0].2.as_str()), (4001, reason));
        assert_eq!(g.connection_count(), live - 1);
        let host = Host {
            auth: json!({ "deviceToken": old }),
            ..Host::v4()
        };
        let (c, r) = connect(&mut g, T0 + 3_000, &host);
        assert_eq!(
            answer(&r, c)["error"]["details"]["code"],
            "AUTH_DEVICE_TOKEN_MISMATCH"
        );
        let (c, r) = connect(&mut g, T0 + 3_000, &Host::v4());
        let new = hello_auth(&r, c)
            .device_token
            .expect("a new token on reconnect");
        assert_ne!(new, old);
        let record = g.state().paired(&crate::NodeId(id.clone())).unwrap();
        assert_eq!(record.token_revoked_at_ms, None, "a working token again");
        let _ = c;
    }
    let audit: Vec<&str> = g
        .store()
        .audit()
        .iter()
        .map(|e| e.action.as_str())
        .collect();
    assert!(
        audit.ends_with(&["token-rotated", "token-revoked"]),
        "{audit:?}"
    );
}

#[test]
fn a_paired_device_declaring_more_commands_gets_the_approved_ones_and_a_repair_request() {
    let mut g = gateway();
    let op = operator(&mut g);
    pair(&mut g, op);
    let wider = Host {
        commands: vec!["system.run", "canvas.present", "fs.listDir"],
        ..Host::v4()
    };
    let (n, r) = connect(&mut g, T0 + 1_000, &wider);
    hello_auth(&r, n);
    assert_eq!(
        r.events(op),
        ["node.pair.requested", "device.pair.requested"]
    );
    let pending = g.state().all_pending().values().next().unwrap().clone();
    assert_eq!(pending.meta.commands.as_ref().unwrap().len(), 3);
    let e = node_entry(&mut g, op);
    assert_eq!(e["commands"], json!(["canvas.present", "system.run"]));
    call(&mut g, T0, op, "node.pair.list", json!({}));
    let r = round(&mut g);
    assert_eq!(r.to(op)[0]["payload"]["pending"][0]["isRepair"], true);
}
