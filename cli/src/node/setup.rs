//! `openclaw node pair --setup-code CODE`: pairing with a setup code or enrollment key an operator
//! issued (`openclaw qr`, `openclaw keys create`), with no approval step — as OpenClaw's `node run
//! --pair` does.
//!
//! The code carries the gateway's URL (and, for a certificate the gateway serves itself, its
//! fingerprint) and the secret; `--url`, `--ca` and `--tls-fingerprint` override what it says. The
//! node proves its key and presents the secret as `auth.bootstrapToken`; the gateway pairs it and
//! hands over its token in `hello-ok`, which is stored as `node pair` stores an approved one.

use super::NodeConnArgs;
use crate::client::{Client, Role};
use crate::endpoint::{self, Sources};
use crate::exit::Exit;
use crate::identity::{self, NodeToken, hostname};
use anyhow::{Context, bail};
use pairing_core::enroll::SetupPayload;
use pairing_core::format::short_id;
use pairing_host::clock::now_ms;
use serde_json::json;

/// Pairs this node with the setup code `code`, named `name` (or the hostname).
pub(super) async fn run(
    code: &str,
    name: Option<&str>,
    conn: &NodeConnArgs,
) -> anyhow::Result<Exit> {
    let payload = SetupPayload::decode(code, now_ms())?;
    let state = pairing_host::paths::state_dir();
    let (identity, created) = identity::load_or_create(&state)?;
    let mut flags = conn.as_conn();
    flags.url = flags.url.or_else(|| Some(payload.url.clone()));
    let mut src = Sources::gather(&flags)?;
    if src.tls_fingerprint.is_none()
        && src.ca.is_none()
        && let Some(pin) = &payload.tls_fingerprint
    {
        src.tls_fingerprint = Some(
            crate::tls::parse_fingerprint(pin)
                .map_err(|e| anyhow::anyhow!("the setup code's tlsFingerprint: {e}"))?,
        );
    }
    let url = endpoint::resolve_url(&src)?;
    let name = name.map_or_else(hostname, str::to_owned);
    if created && !conn.json {
        eprintln!(
            "Created device identity {} ({})",
            identity::identity_path(&state).display(),
            short_id(&identity.device_id)
        );
    }
    let client = Client::connect(
        &url,
        Role::Enrolling {
            identity: &identity,
            display_name: &name,
            secret: &payload.bootstrap_token,
        },
        conn.timeout,
    )
    .await?;
    let auth = client.hello_auth()?;
    client.close().await;
    let Some(token) = auth.device_token else {
        bail!(
            "the gateway at {} admitted this node but handed over no token; it may be paired \
             already (openclaw node verify)",
            url.url
        );
    };
    let file = identity::store_token(
        &state,
        &NodeToken {
            node_id: identity.device_id.clone(),
            token,
            url: url.url.clone(),
            approved_at_ms: now_ms(),
            display_name: Some(name.clone()),
        },
    )
    .context("storing the node token")?;
    if conn.json {
        println!(
            "{}",
            json!({
                "status": "approved",
                "approvedVia": "setup-code",
                "nodeId": identity.device_id,
                "displayName": name,
                "tokenFile": file.display().to_string(),
                "url": url.url,
            })
        );
    } else {
        println!(
            "Paired by setup code as {} ({}); token stored in {}.",
            name,
            short_id(&identity.device_id),
            file.display()
        );
    }
    Ok(Exit::Ok)
}
