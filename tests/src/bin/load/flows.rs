//! The flows of `--mode operator`, `node` and `hold`, and the workers that run them.

use crate::args::Mode;
use crate::latency::{Lat, micros, timed};
use crate::operator::{Operator, operators};
use crate::plan::Plan;
use crate::report::Outcome;
use pairing_tests::client::Client;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One operator flow on `c`: request for `node`, approve, verify with the approve result's token.
async fn operator_flow(c: &mut Operator, node: &str, lat: &mut Lat) -> anyhow::Result<()> {
    let method = "node.pair.request";
    let r = timed(lat, method, c.call(method, json!({"nodeId": node}))).await?;
    let method = "node.pair.approve";
    let params = json!({"requestId": r["request"]["requestId"]});
    let a = timed(lat, method, c.call(method, params)).await?;
    let method = "node.pair.verify";
    let params = json!({"nodeId": node, "token": a["node"]["token"]});
    let v = timed(lat, method, c.call(method, params)).await?;
    anyhow::ensure!(v["ok"] == true, "verify failed");
    Ok(())
}

/// Waits on `op` for the `node.pair.requested` event of `node_id`; drops the other nodes' events
/// (every worker's operator receives every broadcast, each worker waits only for its own node).
async fn requested_for(op: &mut Operator, node_id: &str) -> anyhow::Result<Value> {
    let matches =
        |e: &Value| e["event"] == "node.pair.requested" && e["payload"]["nodeId"] == node_id;
    let e = op.event_where(node_id, matches).await?;
    Ok(e["payload"].clone())
}

/// Connects the `i`-th node of the run with its Ed25519 proof (and the shared token with
/// `--node-token`, which the signature then covers too).
async fn connect_node(plan: &Plan, i: u64) -> anyhow::Result<Client> {
    use pairing_core::proof::{self, SignedFields};
    let key = plan.node_key(i);
    let mut c = Client::open_from(&plan.url, plan.source(i)).await?;
    let token = if plan.node_token {
        plan.token.as_str()
    } else {
        ""
    };
    let fields = SignedFields {
        token,
        ..SignedFields::node("node-host", "node", "linux", "")
    };
    let p = proof::sign(&key, &fields, pairing_host::driver::now_ms(), &c.nonce);
    let mut params = json!({"minProtocol":3,"maxProtocol":3,"role":"node","scopes":[],
        "client":{"id":"node-host","version":"1","platform":"linux","mode":"node","displayName":format!("bench {i}")},
        "device":{"id":p.id,"publicKey":p.public_key,"signature":p.signature,"signedAt":p.signed_at,"nonce":p.nonce}});
    if plan.node_token {
        params["auth"] = json!({ "token": token });
    }
    let hello = c.request("connect", params).await?;
    anyhow::ensure!(hello["ok"] == true, "node connect failed: {hello}");
    Ok(c)
}

/// One node flow: the `i`-th node connects, is paired through `op` and verifies its token.
async fn node_flow(plan: &Plan, op: &mut Operator, i: u64, lat: &mut Lat) -> anyhow::Result<()> {
    let key = plan.node_key(i);
    let node_id = pairing_core::proof::device_id(&key);
    let t = Instant::now();
    let mut node = connect_node(plan, i).await?;
    lat.entry("connect").or_default().push(micros(t));
    if !plan.gateway_made.load(Ordering::Relaxed) {
        let method = "node.pair.request";
        match timed(lat, method, node.call(method, json!({"nodeId": node_id}))).await {
            Ok(r) => {
                let method = "node.pair.approve";
                let params = json!({"requestId": r["request"]["requestId"]});
                let a = timed(lat, method, op.call(method, params)).await?;
                anyhow::ensure!(a["node"].get("token").is_none(), "token leaked to operator");
                let t = Instant::now();
                let resolved = node.event("node.pair.resolved").await?;
                lat.entry("token to node").or_default().push(micros(t));
                let token = resolved["payload"]["token"].clone();
                let method = "node.pair.verify";
                let params = json!({"nodeId": node_id, "token": token});
                let v = timed(lat, method, node.call(method, params)).await?;
                anyhow::ensure!(v["ok"] == true, "verify failed");
                return Ok(());
            }
            Err(e)
                if ["missing scope", "unauthorized role"]
                    .iter()
                    .any(|m| format!("{e:#}").contains(m)) =>
            {
                lat.remove("node.pair.request");
                plan.gateway_made.store(true, Ordering::Relaxed);
            }
            Err(e) => return Err(e),
        }
    }
    // OpenClaw: the request was made by the gateway during connect.
    let t = Instant::now();
    let req = requested_for(op, &node_id).await?;
    lat.entry("requested event").or_default().push(micros(t));
    let method = "node.pair.approve";
    let params = json!({"requestId": req["requestId"]});
    let a = timed(lat, method, op.call(method, params)).await?;
    let method = "node.pair.verify";
    let params = json!({"nodeId": node_id, "token": a["node"]["token"]});
    let v = timed(lat, method, op.call(method, params)).await?;
    anyhow::ensure!(v["ok"] == true, "verify failed");
    drop(node);
    Ok(())
}

/// Runs the flows of `plan` in `mode` on `connections` workers (one operator each, except `hold`).
pub async fn run(plan: Arc<Plan>, mode: Mode, connections: usize) -> anyhow::Result<Outcome> {
    let ops = if mode == Mode::Hold {
        Vec::new()
    } else {
        operators(&plan.url, &plan.token, connections).await?
    };
    let held = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    let mut ops = ops.into_iter();
    for _ in 0..connections {
        let mut op = ops.next();
        let (plan, held) = (plan.clone(), held.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Lat::new();
            while let Some(i) = plan.take() {
                let r = match (mode, op.as_mut()) {
                    (Mode::Operator, Some(op)) => {
                        operator_flow(op, &format!("{}-{i}", plan.prefix), &mut lat).await
                    }
                    (Mode::Node, Some(op)) => node_flow(&plan, op, i, &mut lat).await,
                    _ => {
                        let t = Instant::now();
                        match connect_node(&plan, i).await {
                            Ok(c) => {
                                lat.entry("connect").or_default().push(micros(t));
                                held.lock().expect("not poisoned").push(c);
                                Ok(())
                            }
                            Err(e) => Err(e),
                        }
                    }
                };
                if let Err(e) = r {
                    plan.error(&e);
                }
            }
            lat
        }));
    }
    let mut lat = Lat::new();
    for t in tasks {
        for (k, v) in t.await? {
            lat.entry(k).or_default().extend(v);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    for v in lat.values_mut() {
        v.sort_unstable();
    }
    let held_n = {
        let mut held = held.lock().expect("not poisoned");
        let n = held.len() as u64;
        // Held sockets stay open until the caller has read the gateway's RSS.
        HELD.lock().expect("not poisoned").extend(held.drain(..));
        n
    };
    let done = plan.done();
    Ok(Outcome {
        mode: match mode {
            Mode::Operator => "operator",
            Mode::Node if plan.gateway_made.load(Ordering::Relaxed) => "node-gw",
            Mode::Node => "node",
            Mode::Hold => "hold",
            Mode::Connect | Mode::Storm => unreachable!("reconnect::connect_cell, storm::storm"),
        },
        flows: done,
        errors: plan.errors(),
        secs,
        lat,
        held: held_n,
        retries: None,
    })
}

/// The nodes `hold` connected, open until [`release_held`] (after the gateway's RSS was read).
static HELD: Mutex<Vec<Client>> = Mutex::new(Vec::new());

/// Closes the nodes `hold` kept open.
pub fn release_held() {
    HELD.lock().expect("not poisoned").clear();
}
