//! `nodes describe --node Q`: everything the gateway knows about one node.

use super::NodeQuery;
use crate::client::read;
use crate::exit::Exit;
use crate::operator;
use crate::render::{Table, approved, bare_ip, client};
use pairing_core::Method;
use pairing_core::format::ago;
use pairing_core::protocol::NodeDescribed;
use pairing_core::protocol::params::NodeRef;
use pairing_host::clock::now_ms;

/// Runs `nodes describe`.
pub(super) async fn run(o: &NodeQuery) -> anyhow::Result<Exit> {
    let mut c = operator::connect(&o.conn).await?;
    let node = operator::resolve_node(&mut c, o.query()).await?;
    let d = c
        .call(
            Method::NodeDescribe,
            NodeRef {
                node_id: node.node_id.clone(),
            },
        )
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
    let e = read::<NodeDescribed>(&d)?.entry;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let when = |at: Option<u64>| at.map(|ts| ago(ts, now)).unwrap_or_default();
    let yes = |b: bool| if b { "yes" } else { "no" }.to_owned();
    field("Node", e.name());
    field("Description", s(&e.description));
    field("ID", e.node_id.as_str().to_owned());
    field(
        "IP",
        e.remote_ip
            .as_deref()
            .map(|ip| bare_ip(Some(ip)))
            .unwrap_or_default(),
    );
    field("Platform", s(&e.meta.platform));
    field("Version", s(&e.meta.version));
    field("Device", s(&e.meta.device_family));
    field("Model", s(&e.meta.model_identifier));
    field(
        "Client",
        e.client_id
            .as_deref()
            .map(|id| client(Some(id), e.client_mode.as_deref(), None))
            .unwrap_or_default(),
    );
    field("Paired", yes(e.paired));
    field("Connected", yes(e.connected));
    field(
        "Approved",
        e.approved_at_ms
            .map(|at| approved(Some(at), e.approved_via.as_deref(), now))
            .unwrap_or_default(),
    );
    field("Approved by", s(&e.approved_by));
    field("Last seen", when(e.last_seen_at_ms));
    field("Connected since", when(e.connected_at_ms));
    field("Last connect", when(e.last_connected_at_ms));
    print!("{}", t.render());
    for (title, items) in [("Caps", &e.meta.caps), ("Commands", &e.meta.commands)] {
        let items = items.as_deref().unwrap_or_default();
        if !items.is_empty() {
            println!("\n{title}");
            for item in items {
                println!("  {item}");
            }
        }
    }
    Ok(Exit::Ok)
}
