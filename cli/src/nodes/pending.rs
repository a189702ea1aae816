//! `nodes pending`: the pending pairing requests with their verification codes.

use super::table::pending_table;
use crate::args::ConnArgs;
use crate::exit::Exit;
use crate::operator;
use pairing_core::Method;
use pairing_core::protocol::NodePairList;
use pairing_core::protocol::params::NoParams;
use pairing_host::clock::now_ms;

/// Runs `nodes pending`.
pub(super) async fn run(conn: &ConnArgs) -> anyhow::Result<Exit> {
    let mut c = operator::connect(conn).await?;
    let list: NodePairList = c.call_as(Method::NodePairList, NoParams {}).await?;
    c.close().await;
    let pending = list.pending;
    if conn.json {
        println!("{}", serde_json::to_value(&pending)?);
    } else if pending.is_empty() {
        println!("No pending pairing requests.");
    } else {
        println!("Pending ({})", pending.len());
        print!("{}", pending_table(&pending, now_ms()));
        println!(
            "\nApprove: openclaw nodes approve CODE|REQUEST  (check the code on the node first)"
        );
    }
    Ok(Exit::Ok)
}
