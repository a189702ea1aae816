//! `nodes approve` and `nodes reject`: decide a pending request named by its requestId, by the
//! verification code the node shows (`1234-5678`), or by a `--node` query matching exactly one pending
//! request (SPEC §9). If the request already ended, the gateway's `details.reason` says how.

use crate::args::ConnArgs;
use crate::client::{Client, GatewayError};
use crate::exit::Exit;
use crate::nodes::operator;
use crate::render::{node_label, text};
use crate::resolve::{Candidate, resolve};
use anyhow::{anyhow, bail};
use clap::Args;
use serde_json::{Value, json};

/// `nodes approve` / `nodes reject`.
#[derive(Debug, Args)]
pub struct Opt {
    /// The requestId, or the verification code shown on the node (1234-5678 or 12345678).
    #[arg(value_name = "REQUEST|CODE")]
    pub target: Option<String>,
    /// Instead: the node (id, IP, name, id prefix ≥ 6) whose single pending request to decide.
    #[arg(long, value_name = "Q", conflicts_with = "target")]
    pub node: Option<String>,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Which decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    /// `node.pair.approve`.
    Approve,
    /// `node.pair.reject`.
    Reject,
}

impl Verb {
    fn method(self) -> &'static str {
        match self {
            Verb::Approve => "node.pair.approve",
            Verb::Reject => "node.pair.reject",
        }
    }
}

/// What the operator named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A requestId.
    Request(String),
    /// A verification code, normalised to `1234-5678`.
    Code(String),
    /// A `--node` query.
    Node(String),
}

/// Reads the positional argument or `--node`.
pub fn target(positional: Option<&str>, node: Option<&str>) -> anyhow::Result<Target> {
    match (positional.map(str::trim), node.map(str::trim)) {
        (Some(t), None) if !t.is_empty() => Ok(match pairing_core::code::parse_code(t) {
            Some(code) => Target::Code(code),
            None => Target::Request(t.to_owned()),
        }),
        (None, Some(q)) if !q.is_empty() => Ok(Target::Node(q.to_owned())),
        (Some(_), Some(_)) => bail!("give a requestId or code, or --node, not both"),
        _ => bail!(
            "say which request: its requestId, the verification code shown on the node (1234-5678), or \
             --node Q (see `openclaw nodes pending`)"
        ),
    }
}

/// One line naming the pending requests, for errors that need the operator to pick again.
fn pending_summary(pending: &[Value]) -> String {
    if pending.is_empty() {
        return "no requests are pending".to_owned();
    }
    let items: Vec<String> = pending
        .iter()
        .map(|p| {
            format!(
                "{} (code {}, {})",
                text(p, "requestId"),
                p["verificationCode"].as_str().unwrap_or("-"),
                node_label(p)
            )
        })
        .collect();
    format!("pending now: {}", items.join(", "))
}

async fn pending(c: &mut Client) -> anyhow::Result<Vec<Value>> {
    let list = c.call("node.pair.list", json!({})).await?;
    Ok(list["pending"].as_array().cloned().unwrap_or_default())
}

/// The params of the call, resolving `--node` among the pending requests.
async fn params(c: &mut Client, t: &Target) -> anyhow::Result<Value> {
    Ok(match t {
        Target::Request(id) => json!({ "requestId": id }),
        Target::Code(code) => json!({ "code": code }),
        Target::Node(q) => {
            let pending = pending(c).await?;
            let candidates: Vec<Candidate> = pending.iter().map(Candidate::from_json).collect();
            let found = resolve(q, &candidates).map_err(|e| {
                anyhow!(
                    "no single pending request matches: {e:#}; {}",
                    pending_summary(&pending)
                )
            })?;
            json!({ "requestId": found.request_id })
        }
    })
}

/// Runs `nodes approve` or `nodes reject`.
pub async fn run(opt: Opt, verb: Verb) -> anyhow::Result<Exit> {
    let t = target(opt.target.as_deref(), opt.node.as_deref())?;
    let mut c = operator(&opt.conn).await?;
    let params = params(&mut c, &t).await?;
    let result = match c.call(verb.method(), params).await {
        Ok(r) => r,
        Err(e) => {
            // An id or code that matches nothing: show what is pending, so the operator can pick again.
            let unknown = e
                .downcast_ref::<GatewayError>()
                .is_some_and(|g| g.message.starts_with("unknown") && g.reason() == Some("unknown"));
            if unknown && let Ok(p) = pending(&mut c).await {
                return Err(anyhow!("{e}; {}", pending_summary(&p)));
            }
            return Err(e);
        }
    };
    c.close().await;
    if opt.conn.json {
        println!("{result}");
        return Ok(Exit::Ok);
    }
    let rid = text(&result, "requestId");
    match verb {
        Verb::Approve => {
            let node = &result["node"];
            println!(
                "Approved request {rid}: {} ({}) is paired; the node receives its new token.",
                node_label(node),
                text(node, "nodeId")
            );
            if node.get("token").is_some() {
                println!(
                    "This request was made by an operator, so the gateway returned the node's token in the \
                     result; it is printed only with --json."
                );
            }
        }
        Verb::Reject => println!("Rejected request {rid} (node {}).", text(&result, "nodeId")),
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_ids_and_queries_are_told_apart() {
        assert_eq!(
            target(Some("1234-5678"), None).unwrap(),
            Target::Code("1234-5678".into())
        );
        assert_eq!(
            target(Some("12345678"), None).unwrap(),
            Target::Code("1234-5678".into())
        );
        let uuid = "6f1c0c2e-8a8e-4f0e-9a55-2b8d3c1e7a10";
        assert_eq!(
            target(Some(uuid), None).unwrap(),
            Target::Request(uuid.into())
        );
        assert_eq!(
            target(None, Some(" pi ")).unwrap(),
            Target::Node("pi".into())
        );
        assert!(
            target(None, None)
                .unwrap_err()
                .to_string()
                .contains("verification code")
        );
        assert!(target(Some(" "), None).is_err());
        assert!(target(Some("x"), Some("y")).is_err());
    }

    #[test]
    fn pending_summary_names_ids_codes_and_nodes() {
        assert_eq!(pending_summary(&[]), "no requests are pending");
        let p = json!({"requestId": "r1", "verificationCode": "1111-2222", "nodeId": "n", "displayName": "pi"});
        assert_eq!(
            pending_summary(&[p]),
            "pending now: r1 (code 1111-2222, pi)"
        );
    }
}
