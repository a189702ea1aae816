//! `nodes rename --node Q --name NAME`: give a node a display name (kept across re-pairing).

use super::RenameOpt;
use crate::client::read;
use crate::exit::Exit;
use crate::operator;
use pairing_core::Method;
use pairing_core::protocol::NodeRenamed;
use pairing_core::protocol::params::RenameParams;

/// Runs `nodes rename`.
pub(super) async fn run(o: &RenameOpt) -> anyhow::Result<Exit> {
    let name = o.name.trim();
    if name.is_empty() {
        anyhow::bail!("--name must not be blank");
    }
    let mut c = operator::connect(&o.conn).await?;
    let node = operator::resolve_node(&mut c, o.query()).await?;
    let r = c
        .call(
            Method::NodeRename,
            RenameParams {
                node_id: node.node_id.clone(),
                display_name: name.to_owned(),
            },
        )
        .await?;
    c.close().await;
    if o.conn.json {
        println!("{r}");
    } else {
        let old = node.display_name.as_deref().unwrap_or("(no name)");
        let renamed: NodeRenamed = read(&r)?;
        println!(
            "Renamed {}: {old} -> {}",
            node.node_id, renamed.display_name
        );
    }
    Ok(Exit::Ok)
}
