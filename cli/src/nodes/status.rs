//! `nodes status`: the known nodes (paired and connected) from `node.list`, with the pending requests.

use super::table::{pending_table, status_table};
use crate::args::ConnArgs;
use crate::client::read;
use crate::exit::Exit;
use crate::operator;
use pairing_core::Method;
use pairing_core::protocol::params::NoParams;
use pairing_core::protocol::{NodeEntry, NodeList, NodePairList};
use pairing_host::clock::now_ms;

/// Runs `nodes status`.
pub(super) async fn run(conn: &ConnArgs) -> anyhow::Result<Exit> {
    let mut c = operator::connect(conn).await?;
    let result = c.call(Method::NodeList, NoParams {}).await?;
    if conn.json {
        c.close().await;
        println!("{result}");
        return Ok(Exit::Ok);
    }
    // The pending requests (codes, scopes, re-pair) come from node.pair.list, which needs the pairing
    // scope; an operator with read access alone still gets the node table.
    let pending = match c.call(Method::NodePairList, NoParams {}).await {
        Ok(list) => Some(read::<NodePairList>(&list)?.pending),
        Err(e) => {
            eprintln!("openclaw: pending requests not shown: {e:#}");
            None
        }
    };
    c.close().await;
    let nodes = read::<NodeList>(&result)?.nodes;
    let count = |which: fn(&NodeEntry) -> bool| nodes.iter().filter(|n| which(n)).count();
    let mut head = format!(
        "Known: {} · Paired: {} · Connected: {}",
        nodes.len(),
        count(|n| n.paired),
        count(|n| n.connected)
    );
    if let Some(p) = &pending {
        head.push_str(&format!(" · Pending: {}", p.len()));
    }
    println!("{head}");
    let pending = pending.unwrap_or_default();
    let now = now_ms();
    if !nodes.is_empty() {
        print!("{}", status_table(&nodes, &pending, now));
    }
    if !pending.is_empty() {
        println!("\nPending ({})", pending.len());
        print!("{}", pending_table(&pending, now));
        println!(
            "\nApprove: openclaw nodes approve CODE|REQUEST  (check the code on the node first)"
        );
    }
    Ok(Exit::Ok)
}
