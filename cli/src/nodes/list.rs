//! `nodes list`: pending requests and paired nodes, from `node.pair.list`.

use super::table::{paired_table, pending_table};
use crate::args::ConnArgs;
use crate::client::read;
use crate::exit::Exit;
use crate::operator;
use pairing_core::Method;
use pairing_core::protocol::NodePairList;
use pairing_core::protocol::params::NoParams;
use pairing_host::clock::now_ms;

/// Runs `nodes list`.
pub(super) async fn run(conn: &ConnArgs) -> anyhow::Result<Exit> {
    let mut c = operator::connect(conn).await?;
    let list = c.call(Method::NodePairList, NoParams {}).await?;
    c.close().await;
    if conn.json {
        println!("{list}");
        return Ok(Exit::Ok);
    }
    let NodePairList { pending, paired } = read(&list)?;
    let now = now_ms();
    println!("Pending: {} · Paired: {}", pending.len(), paired.len());
    if !pending.is_empty() {
        println!("\nPending");
        print!("{}", pending_table(&pending, now));
    }
    if !paired.is_empty() {
        println!("\nPaired");
        print!("{}", paired_table(&paired, now));
    }
    Ok(Exit::Ok)
}
