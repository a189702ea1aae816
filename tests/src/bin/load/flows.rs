//! The flows of `--mode operator`, `node` and `hold`, and the workers that run them.

use crate::args::Mode;
use crate::latency::{Lat, micros, timed};
use crate::operator::{Operator, operators};
use crate::plan::Plan;
use crate::report::Outcome;
use anyhow::Context;
use pairing_core::Method;
use pairing_core::protocol::{
    ApiError, DecideParams, DetailCode, NodeApproved, NodePending, NodeVerified, RequestResult,
    TokenText, VerifyParams,
};
use pairing_core::wire::Incoming;
use pairing_tests::client::{Client, by_node, event, node_params};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The calls of a flow (their names head the report's lines).
const REQUEST: Method = Method::NodePairRequest;
const APPROVE: Method = Method::NodePairApprove;
const VERIFY: Method = Method::NodePairVerify;

/// `node.pair.verify` params.
fn verify_params(node_id: &str, token: Option<&TokenText<'_>>) -> VerifyParams {
    VerifyParams {
        node_id: node_id.to_owned(),
        token: token.map(|t| t.expose().to_owned()).unwrap_or_default(),
    }
}

/// One operator flow on `c`: request for `node`, approve, verify with the approve result's token.
async fn operator_flow(c: &mut Operator, node: &str, lat: &mut Lat) -> anyhow::Result<()> {
    let r: RequestResult = timed(lat, REQUEST.as_str(), c.call(REQUEST, &by_node(node))).await?;
    let params = DecideParams::by_id(r.request.request_id.as_str());
    let a: NodeApproved = timed(lat, APPROVE.as_str(), c.call(APPROVE, &params)).await?;
    let params = verify_params(node, a.node.token.as_ref());
    let v: NodeVerified = timed(lat, VERIFY.as_str(), c.call(VERIFY, &params)).await?;
    anyhow::ensure!(v.ok, "verify failed");
    Ok(())
}

/// Waits on `op` for the `node.pair.requested` event of `node_id`; drops the other nodes' events
/// (every worker's operator receives every broadcast, each worker waits only for its own node).
async fn requested_for(op: &mut Operator, node_id: &str) -> anyhow::Result<NodePending> {
    let pending_of = |e: &Incoming| {
        event::is(e, event::REQUESTED)
            .then(|| e.payload_as::<NodePending>())
            .flatten()
            .filter(|p| p.node_id.as_str() == node_id)
    };
    let e = op.event_where(node_id, |e| pending_of(e).is_some()).await?;
    pending_of(&e).context("the matching event")
}

/// Connects the `i`-th node of the run with its Ed25519 proof (and the shared token with
/// `--node-token`, which the signature then covers too).
async fn connect_node(plan: &Plan, i: u64) -> anyhow::Result<Client> {
    let key = plan.node_key(i);
    let mut c = Client::open_from(&plan.url, plan.source(i)).await?;
    let token = if plan.node_token {
        plan.token.as_str()
    } else {
        ""
    };
    let params = node_params(&key, &format!("bench {i}"), &c.nonce, token);
    if let Err(e) = c.connect(&params).await? {
        anyhow::bail!("node connect failed: {e}");
    }
    Ok(c)
}

/// Whether a node's `node.pair.request` was refused because nodes may not call it: `details.code`
/// `MISSING_SCOPE`. OpenClaw 2026.4.12 gateways refuse it with no `details.code` at all ("missing
/// scope" or "unauthorized role: node"), so for an error without one — and only then — the message
/// is read: the one place this client reads a gateway's words.
fn nodes_may_not_request(e: &ApiError) -> bool {
    match e.detail().code {
        Some(code) => code == DetailCode::MissingScope,
        None => ["missing scope", "unauthorized role"]
            .iter()
            .any(|m| e.message.contains(m)),
    }
}

/// One node flow: the `i`-th node connects, is paired through `op` and verifies its token.
async fn node_flow(plan: &Plan, op: &mut Operator, i: u64, lat: &mut Lat) -> anyhow::Result<()> {
    let key = plan.node_key(i);
    let node_id = pairing_core::proof::device_id(&key);
    let t = Instant::now();
    let mut node = connect_node(plan, i).await?;
    lat.entry("connect").or_default().push(micros(t));
    if !plan.gateway_made.load(Ordering::Relaxed) {
        let params = by_node(&node_id);
        match timed(lat, REQUEST.as_str(), node.pair_request_with(&params)).await? {
            Ok(r) => {
                let params = DecideParams::by_id(r.request.request_id.as_str());
                let a: NodeApproved =
                    timed(lat, APPROVE.as_str(), op.call(APPROVE, &params)).await?;
                anyhow::ensure!(a.node.token.is_none(), "token leaked to operator");
                let t = Instant::now();
                let resolved = node.resolved().await?;
                lat.entry("token to node").or_default().push(micros(t));
                let params = verify_params(&node_id, resolved.token.as_ref());
                let v: NodeVerified =
                    timed(lat, VERIFY.as_str(), node.call_as(VERIFY, &params)).await?;
                anyhow::ensure!(v.ok, "verify failed");
                return Ok(());
            }
            Err(e) if nodes_may_not_request(&e) => {
                lat.remove(REQUEST.as_str());
                plan.gateway_made.store(true, Ordering::Relaxed);
            }
            Err(e) => anyhow::bail!("{} failed: {e}", REQUEST.as_str()),
        }
    }
    // OpenClaw: the request was made by the gateway during connect.
    let t = Instant::now();
    let req = requested_for(op, &node_id).await?;
    lat.entry("requested event").or_default().push(micros(t));
    let params = DecideParams::by_id(req.request_id.as_str());
    let a: NodeApproved = timed(lat, APPROVE.as_str(), op.call(APPROVE, &params)).await?;
    let params = verify_params(&node_id, a.node.token.as_ref());
    let v: NodeVerified = timed(lat, VERIFY.as_str(), op.call(VERIFY, &params)).await?;
    anyhow::ensure!(v.ok, "verify failed");
    drop(node);
    Ok(())
}

/// Runs the flows of `plan` in `mode` on `connections` workers (one operator each, except `hold`).
pub(crate) async fn run(
    plan: Arc<Plan>,
    mode: Mode,
    connections: usize,
) -> anyhow::Result<Outcome> {
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
pub(crate) fn release_held() {
    HELD.lock().expect("not poisoned").clear();
}
