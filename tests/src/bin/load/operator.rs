//! The operators of the load generator: a signed device identity like the OpenClaw CLI's, one
//! [`RawSocket`] each, events dropped unparsed while a call waits.

use crate::raw::{RawSocket, looks_like_event};
use anyhow::{Context, bail};
use pairing_core::Method;
use pairing_core::protocol::{Challenge, HelloOk};
use pairing_core::wire::{Incoming, request_frame};
use pairing_tests::client::{Reply, WAIT, operator_device_params};
use serde::Serialize;
use serde::de::DeserializeOwned;
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
pub(crate) struct Operator {
    ws: RawSocket,
    next_id: u64,
}

impl Operator {
    /// Connects as an operator that proves a device identity like the OpenClaw CLI (client id `cli`,
    /// mode `cli`, a signed v3 `device` block over role, scopes and token): OpenClaw clears the scopes
    /// of an operator without one; our gateway accepts and ignores it.
    pub(crate) async fn connect(
        url: &str,
        token: &str,
        key: &[u8; 32],
    ) -> anyhow::Result<Operator> {
        let ws = tokio::time::timeout(WAIT, RawSocket::connect(url))
            .await
            .context("connect timed out")??;
        let mut op = Operator { ws, next_id: 0 };
        let challenge = tokio::time::timeout(WAIT, op.ws.next_message())
            .await
            .context("no challenge within the wait")??;
        let challenge: Challenge = serde_json::from_slice::<Incoming>(&op.ws.buf[challenge])
            .ok()
            .and_then(|f| f.payload_as())
            .context("first frame is connect.challenge")?;
        let params = operator_device_params(token, CLI_SCOPES, key, &challenge.nonce);
        if let Err(e) = op.reply::<HelloOk>(Method::Connect, &params).await? {
            bail!("operator connect failed: {e}");
        }
        Ok(op)
    }

    /// Sends a request and returns its whole response frame; events meanwhile are dropped unparsed.
    /// One time limit for the whole exchange.
    pub(crate) async fn request(
        &mut self,
        method: &str,
        params: &impl Serialize,
    ) -> anyhow::Result<Incoming> {
        self.next_id += 1;
        let id = self.next_id.to_string();
        let frame = request_frame(&id, method, params);
        self.ws.send_text(&frame).await?;
        let wait = async {
            loop {
                let m = self.ws.next_message().await?;
                let text = &self.ws.buf[m];
                if looks_like_event(text) {
                    continue;
                }
                let f: Incoming = serde_json::from_slice(text)?;
                if matches!(&f, Incoming::Response { id: got, .. } if *got == id) {
                    return Ok(f);
                }
            }
        };
        tokio::time::timeout(WAIT, wait)
            .await
            .with_context(|| format!("no response to {method} within the wait"))?
    }

    /// Sends a request; its result read as `T`, or the gateway's refusal.
    pub(crate) async fn reply<T: DeserializeOwned>(
        &mut self,
        method: Method,
        params: &impl Serialize,
    ) -> anyhow::Result<Reply<T>> {
        let method = method.as_str();
        match self.request(method, params).await? {
            Incoming::Response {
                ok: true, payload, ..
            } => Ok(Ok(
                T::deserialize(payload).with_context(|| format!("the result of {method}"))?
            )),
            Incoming::Response { error: Some(e), .. } => Ok(Err(e)),
            other => bail!("the answer to {method} is neither a result nor an error: {other:?}"),
        }
    }

    /// Sends a request; its result read as `T`, failing on a refusal.
    pub(crate) async fn call<T: DeserializeOwned>(
        &mut self,
        method: Method,
        params: &impl Serialize,
    ) -> anyhow::Result<T> {
        self.reply(method, params)
            .await?
            .map_err(|e| anyhow::anyhow!("{} failed: {e}", method.as_str()))
    }

    /// Waits for the first frame for which `matches` holds; only frames that contain `hint` are
    /// parsed.
    pub(crate) async fn event_where(
        &mut self,
        hint: &str,
        matches: impl Fn(&Incoming) -> bool,
    ) -> anyhow::Result<Incoming> {
        let wait = async {
            loop {
                let m = self.ws.next_message().await?;
                let text = &self.ws.buf[m];
                if text.windows(hint.len()).any(|w| w == hint.as_bytes()) {
                    let f: Incoming = serde_json::from_slice(text)?;
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
pub(crate) async fn operators(url: &str, token: &str, n: usize) -> anyhow::Result<Vec<Operator>> {
    let key = operator_key();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        // One after another: OpenClaw pairs the device on the first connection.
        out.push(Operator::connect(url, token, &key).await?);
    }
    Ok(out)
}
