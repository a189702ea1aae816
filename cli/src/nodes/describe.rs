//! `nodes describe --node Q`: everything the gateway knows about one node.

use super::NodeQuery;
use crate::exit::Exit;
use crate::operator;
use crate::render::{self, Table, ago, approved, ip, node_label};
use pairing_host::clock::now_ms;
use serde_json::json;

/// Runs `nodes describe`.
pub async fn run(o: &NodeQuery) -> anyhow::Result<Exit> {
    let mut c = operator::connect(&o.conn).await?;
    let node = operator::resolve_node(&mut c, &o.node).await?;
    let d = c
        .call("node.describe", json!({ "nodeId": node.node_id }))
        .await?;
    c.close().await;
    if o.conn.json {
        println!("{d}");
        return Ok(Exit::Ok);
    }
    let now = now_ms();
    let mut t = Table::new(&["FIELD", "VALUE"]);
    let mut field = |name: &str, value: String| {
        if !value.is_empty() {
            t.row(vec![name.to_owned(), value]);
        }
    };
    let s = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
    let when = |k: &str| d[k].as_u64().map(|ts| ago(ts, now)).unwrap_or_default();
    let yes = |k: &str| {
        if d[k].as_bool() == Some(true) {
            "yes"
        } else {
            "no"
        }
        .to_owned()
    };
    field("Node", node_label(&d));
    field("ID", s("nodeId"));
    field(
        "IP",
        d["remoteIp"].as_str().map(|_| ip(&d)).unwrap_or_default(),
    );
    field("Platform", s("platform"));
    field("Version", s("version"));
    field("Device", s("deviceFamily"));
    field("Model", s("modelIdentifier"));
    field(
        "Client",
        d["clientId"]
            .as_str()
            .map(|_| render::client(d["clientId"].as_str(), d["clientMode"].as_str(), None))
            .unwrap_or_default(),
    );
    field("Paired", yes("paired"));
    field("Connected", yes("connected"));
    field(
        "Approved",
        d["approvedAtMs"]
            .as_u64()
            .map(|at| approved(Some(at), d["approvedVia"].as_str(), now))
            .unwrap_or_default(),
    );
    field("Last seen", when("lastSeenAtMs"));
    field("Connected since", when("connectedAtMs"));
    field("Last connect", when("lastConnectedAtMs"));
    print!("{}", t.render());
    let list = |k: &str| crate::request::strings(&d[k]);
    for (title, key) in [("Caps", "caps"), ("Commands", "commands")] {
        let items = list(key);
        if !items.is_empty() {
            println!("\n{title}");
            for item in items {
                println!("  {item}");
            }
        }
    }
    Ok(Exit::Ok)
}
