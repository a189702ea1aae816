//! The operator's connection, shared by every operator command: connect with the resolved URL and
//! token ([`connect`]), and find the node a `--node` query names ([`resolve_node`]).

use crate::args::ConnArgs;
use crate::client::{Client, Role};
use crate::endpoint::{self, Sources};
use crate::resolve::{Candidate, resolve};
use serde_json::{Value, json};

/// Connects as an operator with the resolved URL and token.
pub async fn connect(conn: &ConnArgs) -> anyhow::Result<Client> {
    let ep = endpoint::resolve_operator(&Sources::gather(conn)?)?;
    let token = ep.token.as_deref().unwrap_or_default();
    Client::connect(&ep.url, Role::Operator { token }, conn.timeout).await
}

/// The elements of a JSON array, or none when `v` is not one.
pub fn array(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// Resolves `--node` against `node.list`, falling back to the paired nodes of `node.pair.list`.
pub async fn resolve_node(c: &mut Client, query: &str) -> anyhow::Result<Candidate> {
    let nodes = match c.call("node.list", json!({})).await {
        Ok(r) => array(&r["nodes"]),
        Err(e) => {
            tracing::debug!("node.list failed ({e:#}); using node.pair.list");
            array(&c.call("node.pair.list", json!({})).await?["paired"])
        }
    };
    let candidates: Vec<Candidate> = nodes.iter().map(Candidate::from_json).collect();
    resolve(query, &candidates).cloned()
}
