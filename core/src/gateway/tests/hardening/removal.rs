//! Removal closes a node's live connections at once, on every path.

use super::*;

/// Connections closed in a round, with their codes and reasons.
type Closes = Vec<(ConnId, u16, String)>;

/// Commits and drains, keeping the close reasons.
fn round_reasons(g: &mut Gateway<MemoryStore>) -> (Vec<(ConnId, Value)>, Closes) {
    let _ = g.commit();
    let (mut sent, mut closed) = (Vec::new(), Vec::new());
    while let Some(o) = g.poll_output() {
        match o {
            crate::Output::Send { conn, text } => {
                sent.push((conn, serde_json::from_str(&text).unwrap()))
            }
            crate::Output::Close { conn, code, reason } => closed.push((conn, code, reason.into())),
            crate::Output::Broadcast { .. } => unreachable!(),
        }
    }
    (sent, closed)
}

/// Issue #14 item 11: removing a node closes its live connections at once, with a reason — for
/// `node.pair.remove` and `device.pair.remove`, a node paired by the explicit flow and a device paired
/// at connect.
#[test]
fn removal_closes_the_nodes_live_connections_on_every_path() {
    for method in ["node.pair.remove", "device.pair.remove"] {
        for explicit in [true, false] {
            let mut g = gateway();
            let op = operator(&mut g);
            let dev = Dev {
                shared: !explicit,
                protocol: if explicit { 3 } else { 4 },
                ..Dev::default()
            };
            let node_id = proof::device_id(&dev.sk);
            if explicit {
                let (n, _) = connect(&mut g, T0, &dev);
                call(
                    &mut g,
                    T0,
                    n,
                    "node.pair.request",
                    json!({ "nodeId": node_id }),
                );
            } else {
                connect(&mut g, T0, &dev);
            }
            round(&mut g);
            let code = crate::state::code_of(g.state().all_pending().values().next().unwrap());
            call(&mut g, T0, op, "node.pair.approve", json!({ "code": code }));
            round(&mut g);
            // Connected and paired (the explicit node's connection is the one it paired on).
            let (n, answer) = connect(&mut g, T0 + 1, &dev);
            assert!(answer[0]["ok"] == true, "{answer:?}");
            let field = if method == "device.pair.remove" {
                "deviceId"
            } else {
                "nodeId"
            };
            if method == "device.pair.remove" && explicit {
                // device.pair.* concerns devices paired at connect only.
                continue;
            }
            call(&mut g, T0 + 2, op, method, json!({ field: node_id }));
            let (sent, closed) = round_reasons(&mut g);
            let reply = &sent
                .iter()
                .find(|(c, f)| *c == op && f["id"] == method)
                .unwrap()
                .1;
            assert_eq!(reply["ok"], true, "{reply}");
            assert!(
                closed
                    .iter()
                    .any(|(c, code, reason)| *c == n && *code == 1008 && reason == "removed"),
                "{method} (explicit {explicit}): {closed:?}"
            );
            assert_eq!(g.connection_count(), 1, "only the operator is left");
        }
    }
}
