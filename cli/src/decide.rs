//! `nodes approve` and `nodes reject`: decide a pending request named by its requestId, by the
//! verification code the node shows (`1234-5678`), or by a `--node` query matching exactly one pending
//! request (SPEC §9). If the request already ended, the gateway's `details.reason` says how.
//!
//! With no argument at all, the one pending request is meant: on a terminal the operator confirms it
//! after seeing its name, IP and code (`--yes` skips the question); without a terminal `--yes` is
//! required. Several pending requests, or none, are refused with exit 1 (the list says which exist).

use crate::args::ConnArgs;
use crate::client::{Client, GatewayError};
use crate::exit::Exit;
use crate::nodes::operator;
use crate::render::{ip, node_label, scopes, text};
use crate::resolve::{Candidate, resolve};
use anyhow::{anyhow, bail};
use clap::Args;
use serde_json::{Value, json};
use std::io::IsTerminal;

/// `nodes approve` / `nodes reject`.
#[derive(Debug, Args)]
pub struct Opt {
    /// The requestId, or the verification code shown on the node (1234-5678 or 12345678).
    #[arg(value_name = "REQUEST|CODE")]
    pub target: Option<String>,
    /// Instead: the node (id, IP, name, id prefix ≥ 6) whose single pending request to decide.
    #[arg(long, value_name = "Q", conflicts_with = "target")]
    pub node: Option<String>,
    /// With no request named: decide the only pending request without asking for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
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

    /// The command word: `approve` or `reject`.
    fn word(self) -> &'static str {
        match self {
            Verb::Approve => "approve",
            Verb::Reject => "reject",
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
    /// Nothing named: the only pending request, if there is exactly one.
    Sole,
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
        (None, None) => Ok(Target::Sole),
        _ => bail!(
            "say which request: its requestId, the verification code shown on the node (1234-5678), or \
             --node Q (see `openclaw nodes pending`)"
        ),
    }
}

/// A pending request as the operator should check it: name, IP, code, and markers.
fn request_line(p: &Value) -> String {
    let mut line = format!(
        "{} ({}), code {}, request {}",
        node_label(p),
        ip(p),
        p["verificationCode"].as_str().unwrap_or("-"),
        text(p, "requestId")
    );
    if p["isRepair"].as_bool() == Some(true) {
        line.push_str(", re-pair: the node's token rotates");
    }
    let scopes = scopes(p);
    if scopes != "-" {
        line.push_str(&format!(", needs scopes {scopes}"));
    }
    line
}

/// What to do when no request was named.
#[derive(Clone, Debug, PartialEq)]
pub enum Sole {
    /// Decide this request without asking (`--yes`).
    Decide(Value),
    /// Ask the person at the terminal about this request first.
    Ask(Value),
}

/// Picks the only pending request, or refuses: none, several (listed), or no terminal and no `--yes`.
pub fn sole(pending: &[Value], verb: Verb, yes: bool, tty: bool) -> anyhow::Result<Sole> {
    let word = verb.word();
    match pending {
        [] => bail!(
            "no pairing requests are pending, so there is nothing to {word} (a node asks with `openclaw node \
             pair`; see `openclaw nodes pending`)"
        ),
        [p] if yes => Ok(Sole::Decide(p.clone())),
        [p] if tty => Ok(Sole::Ask(p.clone())),
        [p] => bail!(
            "one request is pending ({}), but stdin is not a terminal to confirm it: pass --yes to {word} \
             it, or name it by its code or requestId (`openclaw nodes {word} CODE`)",
            request_line(p)
        ),
        many => bail!(
            "{} requests are pending; name the one to {word} by its code or requestId (`openclaw nodes \
             {word} CODE`): {}",
            many.len(),
            many.iter()
                .map(|p| format!(
                    "{} ({}, code {})",
                    text(p, "requestId"),
                    node_label(p),
                    p["verificationCode"].as_str().unwrap_or("-")
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Reads a yes/no answer: only `y` or `yes` (any case) is yes.
pub fn is_yes(answer: Option<&str>) -> bool {
    matches!(
        answer
            .map(str::trim)
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("y" | "yes")
    )
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
        // Chosen (and confirmed) before the call; see `run`.
        Target::Sole => bail!("no request named"),
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
    let mut t = target(opt.target.as_deref(), opt.node.as_deref())?;
    let mut c = operator(&opt.conn).await?;
    if t == Target::Sole {
        let list = pending(&mut c).await?;
        let tty = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        let p = match sole(&list, verb, opt.yes, tty)? {
            Sole::Decide(p) => p,
            Sole::Ask(p) => {
                // Do not hold the connection open while a person thinks.
                c.close().await;
                let word = verb.word();
                let question = format!(
                    "One request is pending: {}.\nCompare the code with the node's screen. {}{} it? [y/N] ",
                    request_line(&p),
                    word[..1].to_ascii_uppercase(),
                    &word[1..]
                );
                if !is_yes(crate::watch::ask(question).await.as_deref()) {
                    eprintln!(
                        "Not {word}d; request {} is still pending.",
                        text(&p, "requestId")
                    );
                    return Ok(Exit::Failure);
                }
                c = operator(&opt.conn).await?;
                p
            }
        };
        t = Target::Request(text(&p, "requestId").to_owned());
    }
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
        assert_eq!(target(None, None).unwrap(), Target::Sole);
        assert!(
            target(Some(" "), None)
                .unwrap_err()
                .to_string()
                .contains("verification code")
        );
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

    fn req(rid: &str, name: &str, code: &str) -> Value {
        json!({"requestId": rid, "nodeId": format!("node-{rid}"), "displayName": name,
               "remoteIp": "::ffff:10.0.0.2", "verificationCode": code,
               "requiredApproveScopes": ["operator.pairing"], "isRepair": true})
    }

    #[test]
    fn no_argument_means_the_only_pending_request() {
        let one = [req("r1", "pi", "1111-2222")];
        assert_eq!(
            sole(&one, Verb::Approve, true, false).unwrap(),
            Sole::Decide(one[0].clone())
        );
        assert_eq!(
            sole(&one, Verb::Approve, false, true).unwrap(),
            Sole::Ask(one[0].clone())
        );
        let refused = sole(&one, Verb::Reject, false, false)
            .unwrap_err()
            .to_string();
        for want in [
            "--yes",
            "pi (10.0.0.2), code 1111-2222",
            "re-pair",
            "nodes reject CODE",
        ] {
            assert!(refused.contains(want), "{want} missing: {refused}");
        }
        let none = sole(&[], Verb::Approve, true, true)
            .unwrap_err()
            .to_string();
        assert!(none.contains("no pairing requests are pending"), "{none}");
        let two = [req("r1", "pi", "1111-2222"), req("r2", "mac", "3333-4444")];
        let many = sole(&two, Verb::Approve, true, true)
            .unwrap_err()
            .to_string();
        for want in [
            "2 requests are pending",
            "r1 (pi, code 1111-2222)",
            "r2 (mac, code 3333-4444)",
        ] {
            assert!(many.contains(want), "{want} missing: {many}");
        }
    }

    #[test]
    fn only_y_or_yes_confirms() {
        for yes in ["y", "Y", "yes", " YES\n"] {
            assert!(is_yes(Some(yes)), "{yes:?}");
        }
        for no in ["", "n", "no", "yep", "approve"] {
            assert!(!is_yes(Some(no)), "{no:?}");
        }
        assert!(!is_yes(None));
    }

    #[test]
    fn the_confirmation_shows_name_ip_code_and_markers() {
        assert_eq!(
            request_line(&req("r1", "pi", "1111-2222")),
            "pi (10.0.0.2), code 1111-2222, request r1, re-pair: the node's token rotates, needs scopes pairing"
        );
    }
}
