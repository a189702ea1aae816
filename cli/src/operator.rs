//! The operator's connection, shared by every operator command: connect with the resolved URL and
//! token ([`connect`]), and find the node a `--node` query names ([`resolve_node`]).

use crate::args::ConnArgs;
use crate::client::{Client, Role};
use crate::endpoint::{self, Sources};
use crate::resolve::{Candidate, resolve};
use pairing_core::Method;
use pairing_core::protocol::params::NoParams;
use pairing_core::protocol::{NodeList, NodePairList};

/// Connects as an operator with the resolved URL and token.
pub(crate) async fn connect(conn: &ConnArgs) -> anyhow::Result<Client> {
    let ep = endpoint::resolve_operator(&Sources::gather(conn)?)?;
    let token = ep.token.as_deref().unwrap_or_default();
    Client::connect(&ep.url, Role::Operator { token }, conn.timeout).await
}

/// Resolves `--node` against `node.list`, falling back to the paired nodes of `node.pair.list`.
pub(crate) async fn resolve_node(c: &mut Client, query: &str) -> anyhow::Result<Candidate> {
    let candidates: Vec<Candidate> = match c
        .call_as::<NodeList, _>(Method::NodeList, NoParams {})
        .await
    {
        Ok(list) => list.nodes.iter().map(Candidate::from_entry).collect(),
        Err(e) => {
            tracing::debug!("node.list failed ({e:#}); using node.pair.list");
            let list: NodePairList = c.call_as(Method::NodePairList, NoParams {}).await?;
            list.paired.iter().map(Candidate::from_paired).collect()
        }
    };
    resolve(query, &candidates).cloned()
}
