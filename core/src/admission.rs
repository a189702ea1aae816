//! Device pairing at `connect` (SPEC §11): a node that proved its key and presents the shared gateway
//! token or a device token is admitted, refused, or admitted to wait, by what the store says about its
//! device — never by a method call of its own, since real OpenClaw node hosts make none.
//!
//! ```text
//!  credential ok? ──no──▶ UNAUTHORIZED (AUTH_TOKEN_MISMATCH / AUTH_DEVICE_TOKEN_MISMATCH)
//!       │yes     └─ only a bootstrap token ──▶ a live setup code or key pairs it now (module `redeem`),
//!       │                                      else AUTH_BOOTSTRAP_TOKEN_INVALID
//!  paired with this key? ──yes──▶ admitted with the approved surface (+ a device token if it holds
//!       │no                       no working one; + a re-pair request if it declares more commands)
//!  --auto-approve-local and loopback? ──yes──▶ approved now (approvedVia "local"), admitted
//!       │no
//!  request made or reused ──▶ v4: NOT_PAIRED + PAIRING_REQUIRED details, close 1008 (the client retries)
//!                             v3: admitted to wait; approval upgrades the connection in place
//! ```

use crate::audit::Actor;
use crate::gateway::{Admission, Gateway};
use crate::handshake::{Connect, Refusal};
use crate::ids::NodeId;
use crate::pairing::{Ask, Via};
use crate::protocol::{DetailCode, PairingRequired};
use crate::record::{DeviceClient, NodeMeta, PairedNode};
use crate::secret::Token;
use crate::store::Store;
use crate::wire::{ApiError, ErrorCode};
use serde_json::json;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// How often `lastSeenAtMs` is written for a device that keeps reconnecting.
pub(crate) const LAST_SEEN_RESOLUTION_MS: u64 = 60_000;

/// A refused credential, with the details OpenClaw clients decide on: `details.code`, `authReason`,
/// `canRetryWithDeviceToken` (invites their one retry with a stored device token) and
/// `recommendedNextStep`.
fn unauthorized(message: &str, code: DetailCode, can_retry_with_device_token: bool) -> Refusal {
    let (reason, next) = match code {
        DetailCode::AuthTokenMismatch if can_retry_with_device_token => {
            ("token_mismatch", "retry_with_device_token")
        }
        DetailCode::AuthTokenMismatch => ("token_mismatch", "update_auth_credentials"),
        DetailCode::AuthDeviceTokenMismatch => ("device_token_mismatch", "update_auth_credentials"),
        _ => ("bootstrap_token_invalid", "update_auth_configuration"),
    };
    Refusal(
        ApiError::new(ErrorCode::Unauthorized, message).with_details(json!({
            "code": code,
            "authReason": reason,
            "canRetryWithDeviceToken": can_retry_with_device_token,
            "recommendedNextStep": next,
        })),
        1008,
        "unauthorized".into(),
    )
}

/// A request the limits would not take (`RATE_LIMITED`): refused with the error, closed.
fn refused(e: ApiError) -> Refusal {
    Refusal(e, 1008, "pairing request refused".into())
}

/// Whether `declared` asks for a capability or command that `approved` lacks.
fn wider(declared: &Option<Vec<String>>, approved: &Option<Vec<String>>) -> bool {
    let approved: BTreeSet<&str> = approved.iter().flatten().map(String::as_str).collect();
    declared
        .iter()
        .flatten()
        .any(|c| !approved.contains(c.as_str()))
}

impl<S: Store> Gateway<S> {
    /// Decides a node `connect` that carries a credential. Returns how the connection is admitted and
    /// the device token to hand over in `hello-ok`, or the refusal.
    pub(crate) fn admit_device(
        &mut self,
        by: &Actor,
        conn: crate::ConnId,
        c: &Connect,
        protocol: u64,
        device_id: &NodeId,
        public_key: &str,
    ) -> Result<(Admission, Option<Token>, &'static str), Refusal> {
        let record = self
            .state
            .paired(device_id)
            .filter(|r| r.public_key.as_deref() == Some(public_key))
            .cloned();
        let gateway_token = &self.config.gateway_token;
        let shared = c.token.as_deref().is_some_and(|t| gateway_token.matches(t));
        let device_token_ok = |t: &Option<String>| {
            t.as_deref()
                .is_some_and(|t| record.as_ref().is_some_and(|r| r.token_hash.matches(t)))
        };
        // OpenClaw clients without the gateway token present their device token as `auth.token`
        // (2026.4) or `auth.deviceToken` (both, or the latter alone).
        let token_is_device_token = !shared && device_token_ok(&c.token);
        let explicit_device_token_ok = device_token_ok(&c.device_token);
        if c.device_token.is_some() && !explicit_device_token_ok && (record.is_some() || !shared) {
            return Err(unauthorized(
                "unauthorized: device token mismatch (rotated or revoked); reconnect with the gateway token to get a new one",
                DetailCode::AuthDeviceTokenMismatch,
                false,
            ));
        }
        // Only a bootstrap token (a setup code or enrollment key): redeemed below, once the device's
        // request is known.
        let bootstrap = if shared || token_is_device_token || explicit_device_token_ok {
            None
        } else if c.token.is_none() && c.device_token.is_none() {
            c.bootstrap_token.as_deref()
        } else {
            None
        };
        if !(shared || token_is_device_token || explicit_device_token_ok) && bootstrap.is_none() {
            return Err(if c.token.is_some() {
                // A paired device may hold a device token: OpenClaw clients retry once with it.
                let retry = record.is_some() && c.device_token.is_none();
                unauthorized(
                    "unauthorized: gateway token mismatch",
                    DetailCode::AuthTokenMismatch,
                    retry,
                )
            } else {
                // No credential at all (the handshake refuses that earlier): as OpenClaw words it.
                unauthorized(
                    "unauthorized: bootstrap token invalid or expired",
                    DetailCode::AuthBootstrapTokenInvalid,
                    false,
                )
            });
        }
        let method = match (shared, bootstrap) {
            (true, _) => "token",
            (false, Some(_)) => "bootstrap-token",
            (false, None) => "device-token",
        };
        let ip = self.conns.get(&conn).map(|x| (x.ip, x.ip_text.clone()));
        let (ip, ip_text) = ip.unwrap_or((IpAddr::from([0, 0, 0, 0]), String::new()));
        let device = DeviceClient {
            role: "node".into(),
            client_id: Some(c.client.id.clone()),
            client_mode: Some(c.client.mode.clone()),
        };
        let meta = NodeMeta {
            display_name: c.client.display_name.clone(),
            platform: c.client.platform.clone(),
            version: c.client.version.clone(),
            device_family: c.client.device_family.clone(),
            model_identifier: c.client.model_identifier.clone(),
            caps: c.client.caps.clone(),
            commands: c.client.commands.clone(),
            ..NodeMeta::default()
        };
        let ask = Ask {
            node_id: device_id.clone(),
            meta,
            silent: false,
            key: Some(public_key.to_owned()),
            device: Some(device),
            ip: ip_text,
        };

        if let Some(secret) = bootstrap {
            let (admission, token) = self.redeem(by, ask, record, secret)?;
            return Ok((admission, token, method));
        }
        if let Some(record) = record {
            // A device holds no working token after an approval made at connect (nothing was handed
            // over yet) or a rotation or revocation: it gets one now. Otherwise the one it was given
            // still works, presented or not (OpenClaw node hosts present the gateway token only).
            let issue = record.token_issued_at_ms.is_none();
            if wider(&ask.meta.caps, &record.meta.caps)
                || wider(&ask.meta.commands, &record.meta.commands)
            {
                // The wider surface waits for an operator; the device keeps what was approved. A
                // limit reached here only means no new request: the connection is still admitted.
                let _ = self.ask(by, ask);
            }
            let token = self.seen(record, issue);
            return Ok((Admission::Paired, token, method));
        }

        if !self.config.pairing_enabled {
            return Err(Refusal(
                ApiError::pairing_disabled(),
                1008,
                "pairing disabled".into(),
            ));
        }
        if self.config.auto_approve_local && ip.is_loopback() {
            // The gateway approves by its policy; the request stays the device's.
            let node = self.approve_now(by, ask, Via::Local)?;
            let token = self.seen(node, true);
            return Ok((Admission::Paired, token, method));
        }
        if self.rejections.take(device_id) {
            // Rejected since it last asked: tell it to stop retrying (it waits for a person, as
            // OpenClaw's own refusal makes it); restarting it asks again.
            let details = PairingRequired {
                code: DetailCode::PairingRequired,
                reason: "rejected".into(),
                request_id: String::new(),
                device_id: device_id.0.clone(),
                verification_code: String::new(),
                recommended_next_step: "review_auth_configuration".into(),
                pause_reconnect: true,
                retryable: false,
                wait_for_resolution: false,
                remediation_hint:
                    "An operator rejected this device's pairing request; restart it to ask again."
                        .into(),
                requested_role: "node".into(),
                requested_scopes: Vec::new(),
            };
            let error = ApiError::new(ErrorCode::NotPaired, "pairing rejected")
                .with_details(serde_json::to_value(&details).unwrap_or_default());
            return Err(Refusal(error, 1008, "pairing rejected".into()));
        }
        let (request_id, _) = self.ask(by, ask).map_err(refused)?;
        if protocol >= 4 {
            let code = self.state.code(&request_id).unwrap_or_default().to_owned();
            let details = PairingRequired {
                code: DetailCode::PairingRequired,
                reason: "not-paired".into(),
                request_id: request_id.0.clone(),
                device_id: device_id.0.clone(),
                verification_code: code.clone(),
                recommended_next_step: "wait_then_retry".into(),
                pause_reconnect: false,
                retryable: true,
                wait_for_resolution: true,
                remediation_hint: format!(
                    "Approve this device on the gateway: openclaw nodes approve {code}"
                ),
                requested_role: "node".into(),
                requested_scopes: Vec::new(),
            };
            let mut error = ApiError::new(ErrorCode::NotPaired, "pairing required")
                .with_details(serde_json::to_value(&details).unwrap_or_default());
            error.retryable = Some(true);
            return Err(Refusal(
                error,
                1008,
                format!("pairing required (requestId: {request_id})").into(),
            ));
        }
        Ok((Admission::Waiting, None, method))
    }

    /// Makes the device's request (the limits apply) and approves it at once, by the gateway's policy
    /// (`via`): `--auto-approve-local`, or a setup code or key the device presented.
    fn approve_now(&mut self, by: &Actor, ask: Ask, via: Via<'_>) -> Result<PairedNode, Refusal> {
        let (request_id, _) = self.ask(by, ask).map_err(refused)?;
        let req = self
            .state
            .pending(&request_id)
            .cloned()
            .expect("just asked");
        Ok(self.approve_request(&Actor::Gateway, &req, via).0)
    }

    /// Records that a paired device connected now (at most once a minute), and issues it a new token
    /// when `issue`. The token's hash replaces the old one in the same change; the plaintext lives only
    /// until `hello-ok` is framed.
    fn seen(&mut self, mut record: PairedNode, issue: bool) -> Option<Token> {
        let stale = record
            .last_seen_at_ms
            .is_none_or(|t| self.now.saturating_sub(t) >= LAST_SEEN_RESOLUTION_MS);
        if !issue && !stale {
            return None;
        }
        if !issue {
            // Informational only: skipped while the store fails, so the device is not refused for it.
            if !self.store_is_failing() {
                self.state.set_seen(&record.node_id, self.now);
            }
            return None;
        }
        record.last_seen_at_ms = Some(self.now);
        let token = issue.then(|| self.rng.token());
        if let Some(t) = &token {
            record.token_hash = t.hash();
            record.token_issued_at_ms = Some(self.now);
            // It holds a working token again: the rotation or revocation is behind it.
            record.token_revoked_at_ms = None;
        }
        self.state.put_paired(record);
        token
    }
}

mod redeem;

#[cfg(test)]
mod tests;
