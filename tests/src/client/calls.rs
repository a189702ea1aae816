//! Typed calls and events: the method a [`Method`], the params are the core's records ([`DecideParams`], [`VerifyParams`],
//! …), the results and events read back as the core's records ([`RequestResult`], [`NodeApproved`],
//! [`PairResolved`], …), and a refusal as the core's [`ApiError`] with its
//! [`ErrorCode`](pairing_core::protocol::ErrorCode) and
//! [`DetailCode`](pairing_core::protocol::DetailCode): a test decides by those, never by words.

use super::Client;
use anyhow::Context;
use pairing_core::Method;
use pairing_core::protocol::{
    ApiError, DecideParams, NoParams, NodeApproved, NodeList, NodePairList, NodePending,
    NodeRejected, NodeRemoved, NodeVerified, PairRequestParams, PairResolved, RequestResult,
    VerifyParams,
};
use pairing_core::wire::Incoming;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The answer to a call: its result read as `T`, or the gateway's refusal.
pub type Reply<T> = Result<T, ApiError>;

/// Event names, and telling a kept event by its name.
pub mod event {
    use pairing_core::wire::Incoming;

    /// A pending request was made (or changed); to operators.
    pub const REQUESTED: &str = pairing_core::Event::NodePairRequested.as_str();
    /// A request ended or a node was removed; to operators and the node that asked.
    pub const RESOLVED: &str = pairing_core::Event::NodePairResolved.as_str();
    /// The gateway's clock.
    pub const TICK: &str = pairing_core::Event::Tick.as_str();

    /// Whether `frame` is the event `name`.
    pub fn is(frame: &Incoming, name: &str) -> bool {
        matches!(frame, Incoming::Event { event, .. } if event == name)
    }
}

impl Client {
    /// Sends `method` with typed `params`; the result read as `T`, or the gateway's refusal. Fails
    /// (`Err`) only when there is no answer or the result does not read as `T`.
    pub async fn reply<T: DeserializeOwned>(
        &mut self,
        method: Method,
        params: &impl Serialize,
    ) -> anyhow::Result<Reply<T>> {
        let method = method.as_str();
        let frame = self.request(method, params).await?;
        match serde_json::from_value::<Incoming>(frame.clone())
            .with_context(|| format!("the answer to {method} is no response: {frame}"))?
        {
            Incoming::Response { ok: true, .. } => Ok(Ok(T::deserialize(&frame["payload"])
                .with_context(|| format!("the result of {method}: {frame}"))?)),
            Incoming::Response { error: Some(e), .. } => Ok(Err(e)),
            _ => anyhow::bail!("the answer to {method} is neither a result nor an error: {frame}"),
        }
    }

    /// Like [`Client::reply`], failing on a refusal too.
    pub async fn call_as<T: DeserializeOwned>(
        &mut self,
        method: Method,
        params: &impl Serialize,
    ) -> anyhow::Result<T> {
        self.reply(method, params)
            .await?
            .map_err(|e| anyhow::anyhow!("{} failed: {e}", method.as_str()))
    }

    /// `node.pair.request` for `node_id` (nothing else said about it).
    pub async fn pair_request(&mut self, node_id: &str) -> anyhow::Result<RequestResult> {
        self.call_as(Method::NodePairRequest, &by_node(node_id))
            .await
    }

    /// `node.pair.request` with `params`, refusals returned.
    pub async fn pair_request_with(
        &mut self,
        params: &PairRequestParams,
    ) -> anyhow::Result<Reply<RequestResult>> {
        self.reply(Method::NodePairRequest, params).await
    }

    /// `node.pair.list`.
    pub async fn pair_list(&mut self) -> anyhow::Result<NodePairList> {
        self.call_as(Method::NodePairList, &NoParams {}).await
    }

    /// `node.pair.approve`, refusals returned.
    pub async fn approve(&mut self, which: &DecideParams) -> anyhow::Result<Reply<NodeApproved>> {
        self.reply(Method::NodePairApprove, which).await
    }

    /// `node.pair.approve` of the request `request_id`, failing on a refusal.
    pub async fn approve_id(&mut self, request_id: &str) -> anyhow::Result<NodeApproved> {
        self.call_as(Method::NodePairApprove, &DecideParams::by_id(request_id))
            .await
    }

    /// `node.pair.reject`, refusals returned.
    pub async fn reject(&mut self, which: &DecideParams) -> anyhow::Result<Reply<NodeRejected>> {
        self.reply(Method::NodePairReject, which).await
    }

    /// `node.pair.verify`: whether `token` is `node_id`'s current token.
    pub async fn verify(&mut self, node_id: &str, token: &str) -> anyhow::Result<NodeVerified> {
        let params = VerifyParams {
            node_id: node_id.to_owned(),
            token: token.to_owned(),
        };
        self.call_as(Method::NodePairVerify, &params).await
    }

    /// `node.pair.remove`.
    pub async fn remove(&mut self, node_id: &str) -> anyhow::Result<NodeRemoved> {
        let params = pairing_core::protocol::NodeRef {
            node_id: node_id.to_owned(),
        };
        self.call_as(Method::NodePairRemove, &params).await
    }

    /// `node.list`.
    pub async fn node_list(&mut self) -> anyhow::Result<NodeList> {
        self.call_as(Method::NodeList, &NoParams {}).await
    }

    /// Waits for the next `node.pair.requested` (kept ones first): the pending request.
    pub async fn requested(&mut self) -> anyhow::Result<NodePending> {
        self.event_as(event::REQUESTED).await
    }

    /// Waits for the next `node.pair.resolved` (kept ones first).
    pub async fn resolved(&mut self) -> anyhow::Result<PairResolved> {
        self.event_as(event::RESOLVED).await
    }

    /// Waits for the event `name` (kept ones first) and reads its payload as `T`.
    pub async fn event_as<T: DeserializeOwned>(&mut self, name: &str) -> anyhow::Result<T> {
        let e = self.event(name).await?;
        e.payload_as()
            .with_context(|| format!("the payload of {name}: {e:?}"))
    }

    /// How many kept events are named `name`.
    pub fn kept(&self, name: &str) -> usize {
        self.events.iter().filter(|e| event::is(e, name)).count()
    }
}

/// `node.pair.request` params naming only the node.
pub fn by_node(node_id: &str) -> PairRequestParams {
    PairRequestParams {
        node_id: node_id.to_owned(),
        ..PairRequestParams::default()
    }
}
