//! `openclaw gateway rotate-token`: a new operator token replaces the old one.
//!
//! With the gateway running, the CLI asks it (`gateway.token.rotate`, `operator.admin`): the gateway
//! writes the new token to `openclaw.json`, audits `token-rotated`, closes every operator connection
//! naming the rotation and answers the new token once. With the gateway stopped, the CLI does the same
//! in-process on the state directory — the same core and file store, so the same audit entry — but only
//! when no gateway owns the directory ([`lock_state_dir`]).

use crate::args::ConnArgs;
use crate::client::{Client, NotTheGateway, Role};
use crate::endpoint::{self, GatewayUrl, Sources};
use crate::exit::Exit;
use anyhow::{Context, anyhow, bail};
use clap::Args;
use pairing_core::Method;
use pairing_core::protocol::GatewayTokenRotated;
use pairing_core::protocol::params::NoParams;
use pairing_core::{Config, Gateway, Token};
use pairing_host::file_store::FileStore;
use pairing_host::gateway_config;
use pairing_host::lock::StateLock;
use serde_json::json;
use std::path::Path;

/// The long help.
pub(super) const LONG_ABOUT: &str = "Replace the operator token with a new random one (256 bits from the OS \
        random source) and print the new approval page link.\n\n\
        With the gateway running, it asks the gateway (an operator.admin call): the gateway writes the \
        new token to <state>/openclaw.json, closes every operator connection (open pages, `nodes watch`) \
        with \"the operator token was rotated\", and from then on refuses the old token with that \
        message; the page asks for the new link. With the gateway stopped, it rewrites openclaw.json \
        itself (never while a gateway owns the state directory). Either way the audit trail gets a \
        token-rotated entry (never the token), and the old token's hash is kept so it is refused as \
        rotated, also after a restart.\n\n\
        Rotate after the page link was opened in a browser (its history keeps the link), shown to \
        someone, or pasted somewhere. The CLI on the gateway's machine reads the new token from \
        openclaw.json by itself; elsewhere pass it with --token or OPENCLAW_GATEWAY_TOKEN.";

/// The examples.
pub(super) const AFTER_HELP: &str = "Examples:\n  \
        openclaw gateway rotate-token                # the running gateway, or this machine's stopped one\n  \
        openclaw gateway rotate-token --json         # {\"page\": …, \"gateway\": \"running\"|\"stopped\"}\n  \
        openclaw gateway rotate-token --url wss://gw.lan:18789/ --token OLD";

/// `openclaw gateway rotate-token`.
#[derive(Debug, Args)]
pub struct Opt {
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// The approval page link for a gateway URL (`ws://H:P/` → `http://H:P/#token=…`, `wss` → `https`).
pub(super) fn page_link(url: &GatewayUrl, token: &str) -> String {
    let base = match url.url.strip_prefix("wss://") {
        Some(rest) => format!("https://{rest}"),
        None => url.url.replacen("ws://", "http://", 1),
    };
    let base = base.split('#').next().unwrap_or_default();
    format!("{base}#token={token}")
}

/// Runs the command.
pub(super) async fn run(opt: Opt) -> anyhow::Result<Exit> {
    let src = Sources::gather(&opt.conn)?;
    let ep = endpoint::resolve_operator(&src)?;
    let token = ep.token.as_deref().unwrap_or_default();
    // Only the gateway of this machine's state directory may be rotated offline: the URL must be the
    // one openclaw.json records.
    let own_gateway = src.flag_url.is_none() && src.env_url.is_none();
    let (new, running) =
        match Client::connect(&ep.url, Role::Operator { token }, opt.conn.timeout).await {
            Ok(mut c) => {
                let answer: GatewayTokenRotated<'static> = c
                    .call_as(Method::GatewayTokenRotate, NoParams {})
                    .await
                    .map_err(|e| {
                        e.context(format!(
                            "the gateway at {} did not rotate the token",
                            ep.url.url
                        ))
                    })?;
                c.close().await;
                (Token::new(answer.token.expose()), true)
            }
            Err(e)
                if own_gateway
                    && matches!(
                        e.downcast_ref::<NotTheGateway>(),
                        Some(NotTheGateway::NotListening(_) | NotTheGateway::Unproven(_))
                    ) =>
            {
                (rotate_stopped(&pairing_host::paths::state_dir())?, false)
            }
            Err(e) => return Err(e),
        };
    let link = page_link(&ep.url, new.expose());
    if opt.conn.json {
        let state = if running { "running" } else { "stopped" };
        println!("{}", json!({ "page": link, "gateway": state }));
    } else {
        println!("Approval page: {link}");
        eprintln!(
            "The operator token was rotated{}: old links, open pages and CLIs with the old token stop \
             working. The CLI on this machine reads the new one from openclaw.json.",
            if running {
                ""
            } else {
                " (the gateway was not running)"
            }
        );
    }
    Ok(Exit::Ok)
}

/// Rotates the token of a stopped gateway: the core runs in-process on the state directory (the file
/// store writes `openclaw.json` and the audit entry), as the gateway would.
fn rotate_stopped(state_dir: &Path) -> anyhow::Result<Token> {
    let _lock = lock_state_dir(state_dir)?;
    let file = gateway_config::read(state_dir)?.ok_or_else(|| {
        anyhow!(
            "no gateway on this machine: {} does not exist (start `openclaw gateway` once to create \
             the token)",
            gateway_config::path(state_dir).display()
        )
    })?;
    let old = file.token.ok_or_else(|| {
        anyhow!(
            "{} holds no token (the gateway creates one when it starts)",
            gateway_config::path(state_dir).display()
        )
    })?;
    let mut config = Config::new(Token::new(old));
    config.retired_operator_tokens = gateway_config::read_retired(state_dir)?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow!("OS random source failed: {e}"))?;
    let now = pairing_host::driver::now_ms();
    let mut gw = Gateway::new(config, seed, FileStore::new(state_dir), now)
        .map_err(|e| anyhow!("cannot load the state in {}: {e}", state_dir.display()))?;
    let token = gw.rotate_operator_token(None);
    gw.commit()
        .map_err(|e| anyhow!("the token was not rotated: {e}"))?;
    Ok(token)
}

/// Makes sure no gateway owns the state directory while it is changed from outside, and keeps it so
/// until the returned guard is dropped: the lock a running gateway holds for its whole life
/// ([`pairing_host::lock::StateLock`]). Never waits; refuses naming the owner's pid and port.
fn lock_state_dir(state_dir: &Path) -> anyhow::Result<StateLock> {
    if !state_dir.is_dir() {
        bail!(
            "no gateway on this machine: the state directory {} does not exist",
            state_dir.display()
        );
    }
    match StateLock::try_acquire(state_dir).context("the token was not rotated")? {
        Ok(lock) => Ok(lock),
        Err(owner) => bail!(
            "a gateway owns the state directory {} ({owner}) but does not answer on the port \
             openclaw.json records; the token was not rotated — stop that gateway, or rotate through \
             it with --url",
            state_dir.display()
        ),
    }
}

#[cfg(test)]
mod tests;
