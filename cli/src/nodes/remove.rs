//! `nodes remove --node Q`: unpair a node; its token stops verifying at once.

use super::NodeQuery;
use crate::exit::Exit;
use crate::operator;
use pairing_core::Method;
use pairing_core::protocol::params::NodeRef;

/// Runs `nodes remove`.
pub(super) async fn run(o: &NodeQuery) -> anyhow::Result<Exit> {
    let mut c = operator::connect(&o.conn).await?;
    let node = operator::resolve_node(&mut c, o.query()).await?;
    let r = c
        .call(
            Method::NodePairRemove,
            NodeRef {
                node_id: node.node_id.clone(),
            },
        )
        .await?;
    c.close().await;
    if o.conn.json {
        println!("{r}");
    } else {
        let label = node.display_name.as_deref().unwrap_or(&node.node_id);
        println!(
            "Removed {label} ({}); its token no longer verifies.",
            node.node_id
        );
    }
    Ok(Exit::Ok)
}
