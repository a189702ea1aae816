use crate::Gateway;
use crate::gateway::tests::{
    Closed, Sent, T0, connect_with, gateway, nonce_of, operator_params, round,
};
use crate::proof::{self, SignedFields};
use crate::store::MemoryStore;

/// A node connecting from `ip` with the key `[k; 32]`.
fn node_from(g: &mut Gateway<MemoryStore>, ip: [u8; 4], k: u8) -> (Sent, Closed) {
    let conn = g.open(T0, std::net::IpAddr::from(ip)).unwrap();
    let (sent, _) = round(g);
    let nonce = nonce_of(&sent, conn);
    let p = proof::sign(
        &[k; 32],
        &SignedFields::node("node-host", "node", "linux", ""),
        T0,
        &nonce,
    );
    let params = json!({
        "minProtocol": 3, "maxProtocol": 3, "role": "node", "scopes": [],
        "client": {"id": "node-host", "version": "1", "platform": "linux", "mode": "node"},
        "device": {"id": p.id, "publicKey": p.public_key, "signature": p.signature,
                   "signedAt": p.signed_at, "nonce": p.nonce},
    });
    let frame = json!({"type": "req", "id": "c", "method": "connect", "params": params});
    g.frame(T0, conn, &frame.to_string());
    assert!(g.is_admitted(conn) || !g.conns.contains_key(&conn));
    round(g)
}
use serde_json::json;

#[test]
fn an_operators_device_block_is_not_checked_whatever_its_shape() {
    for device in [
        json!({"id": "x"}),
        json!({"id": 5, "signedAt": "soon"}),
        json!("a string"),
        json!({"id": "d", "publicKey": "p", "signature": "s", "signedAt": 1, "nonce": "n"}),
    ] {
        let mut g = gateway();
        let (_, sent, closed) =
            connect_with(&mut g, T0, |_| operator_params(json!({"device": device})));
        assert_eq!(sent[0].1["ok"], true, "{device}: {sent:?}");
        assert!(closed.is_empty());
    }
}

#[test]
fn node_connections_are_capped_per_ip_and_in_total_with_rate_limited() {
    let mut g = gateway();
    g.config.limits.max_nodes_per_ip = 2;
    g.config.limits.max_nodes = 3;
    for k in 0..2 {
        let (sent, closed) = node_from(&mut g, [10, 0, 0, 1], k);
        assert_eq!(sent[0].1["ok"], true, "{sent:?}");
        assert!(closed.is_empty());
    }
    let (sent, closed) = node_from(&mut g, [10, 0, 0, 1], 9);
    assert_eq!(sent[0].1["error"]["code"], "RATE_LIMITED", "{sent:?}");
    assert_eq!(closed[0].1, 1008);
    let (sent, _) = node_from(&mut g, [10, 0, 0, 2], 3);
    assert_eq!(sent[0].1["ok"], true, "another address has room: {sent:?}");
    let (sent, _) = node_from(&mut g, [10, 0, 0, 3], 4);
    assert_eq!(
        sent[0].1["error"]["code"], "RATE_LIMITED",
        "the total is full"
    );
    // Operators are not node connections.
    let (_, sent, _) = connect_with(&mut g, T0, |_| operator_params(json!({})));
    assert_eq!(sent[0].1["ok"], true);
    // A node connection that ends gives its room back.
    let first = *g
        .nodes_online
        .values()
        .next()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    let ip = g.conns[&first].ip;
    g.closed(T0, first);
    let ip = match ip {
        std::net::IpAddr::V4(v4) => v4.octets(),
        std::net::IpAddr::V6(_) => unreachable!(),
    };
    let (sent, _) = node_from(&mut g, ip, 7);
    assert_eq!(sent[0].1["ok"], true, "{sent:?}");
}

#[test]
fn a_missing_client_is_named_in_details() {
    let mut g = gateway();
    let (_, sent, closed) = connect_with(&mut g, T0, |_| {
        let mut p = operator_params(json!({}));
        p.as_object_mut().unwrap().remove("client");
        p
    });
    assert_eq!(sent[0].1["error"]["details"], json!({"field": "client"}));
    assert_eq!(closed[0].1, 1008);
}
