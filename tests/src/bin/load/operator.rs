//! The operators of the load generator: a signed device identity like the OpenClaw CLI's, one
//! [`RawSocket`] each, events dropped unparsed while a call waits.

use crate::raw::{RawSocket, looks_like_event};
use anyhow::{Context, bail};
use pairing_tests::client::{WAIT, operator_device_params};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The scopes the OpenClaw CLI asks for (`CLI_DEFAULT_OPERATOR_SCOPES`).
const CLI_SCOPES: &[&str] = &[
    "operator.admin",
    "operator.read",
    "operator.write",
    "operator.approvals",
    "operator.pairing",
    "operator.talk.secrets",
];

/// An operator connection for the load generator. Every operator with pairing scopes receives every
/// `node.pair.requested`/`resolved` broadcast (2 × C frames per flow at C connections), and this
/// process shares the machine's cores with the gateway: while it waits for a response, events are
/// recognised by their first bytes and dropped unparsed. (The one event a flow waits for, OpenClaw's
/// `node.pair.requested` for the worker's own node, can only arrive after the worker's previous
/// calls are answered: the node connects after them.)
pub struct Operator {
    ws: RawSocket,
    next_id: u64,
}

impl Operator {
    /// Connects as an operator that proves a device identity like the OpenClaw CLI (client id `cli`,
    /// mode `cli`, a signed v3 `device` block over role, scopes and token): OpenClaw clears the scopes
    /// of an operator without one; our gateway accepts and ignores it.
    pub async fn connect(url: &str, token: &str, key: &[u8; 32]) -> anyhow::Result<Operator> {
        let ws = tokio::time::timeout(WAIT, RawSocket::connect(url))
            .await
            .context("connect timed out")??;
        let mut op = Operator { ws, next_id: 0 };
        let challenge = tokio::time::timeout(WAIT, op.ws.next_message())
            .await
            .context("no challenge within the wait")??;
        let challenge: Value = serde_json::from_slice(&op.ws.buf[challenge])?;
        let nonce = challenge["payload"]["nonce"]
            .as_str()
            .context("first frame is connect.challenge")?;
        let params = operator_device_params(token, CLI_SCOPES, key, nonce);
        let hello = op.request("connect", params).await?;
        anyhow::ensure!(hello["ok"] == true, "operator connect failed: {hello}");
        Ok(op)
    }

    /// Sends a request and returns its whole response frame; events meanwhile are dropped unparsed.
    /// One time limit for the whole exchange.
    pub async fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        self.next_id += 1;
        let id = self.next_id.to_string();
        let frame = json!({"type":"req","id":id,"method":method,"params":params});
        self.ws.send_text(&frame.to_string()).await?;
        let wait = async {
            loop {
                let m = self.ws.next_message().await?;
                let text = &self.ws.buf[m];
                if looks_like_event(text) {
                    continue;
                }
                let f: Value = serde_json::from_slice(text)?;
                if f["type"] == "res" && f["id"] == id.as_str() {
                    return Ok(f);
                }
            }
        };
        tokio::time::timeout(WAIT, wait)
            .await
            .with_context(|| format!("no response to {method} within the wait"))?
    }

    /// Sends a request and returns its payload, failing on an error response.
    pub async fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let f = self.request(method, params).await?;
        if f["ok"] != true {
            bail!("{method} failed: {}", f["error"]);
        }
        Ok(f["payload"].clone())
    }

    /// Waits for the first frame for which `matches` holds; only frames that contain `hint` are
    /// parsed.
    pub async fn event_where(
        &mut self,
        hint: &str,
        matches: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let wait = async {
            loop {
                let m = self.ws.next_message().await?;
                let text = &self.ws.buf[m];
                if text.windows(hint.len()).any(|w| w == hint.as_bytes()) {
                    let f: Value = serde_json::from_slice(text)?;
                    if matches(&f) {
                        return Ok(f);
                    }
                }
            }
        };
        tokio::time::timeout(WAIT, wait)
            .await
            .context("no matching event within the wait")?
    }
}

/// This run's operator device key (one per run: OpenClaw pairs it once).
fn operator_key() -> [u8; 32] {
    let seed = format!(
        "load-operator-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    );
    Sha256::digest(seed.as_bytes()).into()
}

/// Connects `n` operators, one after another, all with this run's device key.
pub async fn operators(url: &str, token: &str, n: usize) -> anyhow::Result<Vec<Operator>> {
    let key = operator_key();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        // One after another: OpenClaw pairs the device on the first connection.
        out.push(Operator::connect(url, token, &key).await?);
    }
    Ok(out)
}
