//! `nodes status`: the known nodes (paired and connected) from `node.list`, with the pending requests.

use super::table::{pending_table, status_table};
use crate::args::ConnArgs;
use crate::exit::Exit;
use crate::operator;
use pairing_host::clock::now_ms;
use serde_json::json;

/// Runs `nodes status`.
pub async fn run(conn: &ConnArgs) -> anyhow::Result<Exit> {
    let mut c = operator::connect(conn).await?;
    let result = c.call("node.list", json!({})).await?;
    if conn.json {
        c.close().await;
        println!("{result}");
        return Ok(Exit::Ok);
    }
    // The pending requests (codes, scopes, re-pair) come from node.pair.list, which needs the pairing
    // scope; an operator with read access alone still gets the node table.
    let pending = match c.call("node.pair.list", json!({})).await {
        Ok(list) => Some(operator::array(&list["pending"])),
        Err(e) => {
            eprintln!("openclaw: pending requests not shown: {e:#}");
            None
        }
    };
    c.close().await;
    let nodes = operator::array(&result["nodes"]);
    let count = |k: &str| {
        nodes
            .iter()
            .filter(|n| n[k].as_bool() == Some(true))
            .count()
    };
    let mut head = format!(
        "Known: {} · Paired: {} · Connected: {}",
        nodes.len(),
        count("paired"),
        count("connected")
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
            "\nApprove with: openclaw nodes approve <CODE|REQUEST>   (compare the code with the node's screen)"
        );
    }
    Ok(Exit::Ok)
}
