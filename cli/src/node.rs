//! `openclaw node …`: act as a node — pair with a gateway ([`pair`]), check the stored token
//! (`verify`), or stay connected as the paired node (`connect`).

use crate::args::{ConnArgs, parse_duration};
use crate::client::{Backoff, Client, Role, read};
use crate::endpoint::{self, GatewayUrl, Sources};
use crate::exit::Exit;
use crate::identity::{self, Identity, NodeToken};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pairing_core::Event as EventName;
use pairing_core::Method;
use pairing_core::protocol::params::VerifyParams;
use pairing_core::protocol::{NodeVerified, Tick};
use serde_json::Value;
use std::path::Path;

mod pair;
mod setup;

/// `openclaw node`.
#[derive(Debug, Args)]
pub struct Opt {
    /// What to do as a node.
    #[command(subcommand)]
    pub command: NodeCommand,
}

/// The `node` subcommands.
#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Ask a gateway to pair this machine as a node, show the verification code, wait for the decision.
    #[command(long_about = pair::LONG_ABOUT)]
    Pair(pair::Opt),
    /// Check that the gateway still accepts this node's stored token.
    Verify(VerifyOpt),
    /// Verify, then stay connected as the paired node until Ctrl-C.
    Connect(VerifyOpt),
    /// Print this node's device id and public key (read only: never creates the identity).
    #[command(long_about = IDENTITY_ABOUT)]
    Identity(IdentityOpt),
}

/// The long help of `node identity`.
const IDENTITY_ABOUT: &str = "Print this machine's node identity: its device id and its Ed25519 public key, \
    as <state>/identity/device.json holds them (state: $OPENCLAW_STATE_DIR, default ~/.openclaw). Read \
    only: it never creates or changes the identity, and never prints the secret key.\n\n\
    `openclaw nodes watch --auto-approve-silent --ssh HOST` runs `openclaw node identity --json` on HOST \
    over SSH and approves a silent request only when the key it prints is the request's key — proof \
    that the request comes from the node on HOST.";

/// `node identity`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    openclaw node identity\n  \
    openclaw node identity --json        # {\"deviceId\":\"…\",\"publicKey\":\"…\"}\n  \
    ssh gw-node openclaw node identity --json   # what nodes watch --auto-approve-silent checks")]
pub struct IdentityOpt {
    /// Print one JSON object: `{"deviceId", "publicKey"}` (the key raw Ed25519, base64url).
    #[arg(long)]
    pub json: bool,
}

/// Flags of node commands that talk to a gateway (a node presents no operator token).
#[derive(Clone, Debug, Args)]
pub struct NodeConnArgs {
    /// Gateway WebSocket URL [default: $OPENCLAW_GATEWAY_URL, else the URL stored with the token,
    /// else ws://127.0.0.1:PORT/ with PORT from openclaw.json
    /// in the state directory, else 18789].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// How long to wait for the gateway to connect or answer a call: 10s, 1m, 500ms (a unit is
    /// required).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: u64,
    /// Print only JSON on stdout (progress goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Allow plaintext ws:// to a host that is not loopback.
    #[arg(long)]
    pub allow_plaintext: bool,
    /// For wss:// URLs: trust the certificates in this PEM file instead of the system's roots.
    /// A self-signed certificate given here is trusted as it is (pinned), whatever its CA flag.
    #[arg(long, value_name = "FILE", env = "OPENCLAW_GATEWAY_CA")]
    pub ca: Option<std::path::PathBuf>,
    /// For wss:// URLs: accept only a gateway certificate with this SHA-256 fingerprint (64 hex
    /// digits, colons and a sha256: prefix optional).
    #[arg(long, value_name = "SHA256", env = "OPENCLAW_GATEWAY_TLS_FINGERPRINT", value_parser = crate::tls::parse_fingerprint)]
    pub tls_fingerprint: Option<crate::tls::Fingerprint>,
}

impl NodeConnArgs {
    /// The shared flag set, without a token.
    pub fn as_conn(&self) -> ConnArgs {
        ConnArgs {
            url: self.url.clone(),
            token: None,
            timeout: self.timeout,
            json: self.json,
            allow_plaintext: self.allow_plaintext,
            ca: self.ca.clone(),
            tls_fingerprint: self.tls_fingerprint,
        }
    }
}

/// `node verify` and `node connect`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    openclaw node verify                      # exit 0 if paired, 1 if not\n  \
    openclaw node connect --url ws://127.0.0.1:18789/   # stay online as the paired node")]
pub struct VerifyOpt {
    /// Name to show the gateway while connected [default: the name it paired with, else the hostname].
    #[arg(long)]
    pub name: Option<String>,
    /// Connection flags.
    #[command(flatten)]
    pub conn: NodeConnArgs,
}

/// Runs a `node` subcommand.
pub(crate) async fn run(opt: Opt) -> anyhow::Result<Exit> {
    match opt.command {
        NodeCommand::Pair(o) => pair::run(o).await,
        NodeCommand::Verify(o) => verify(o).await,
        NodeCommand::Connect(o) => connect(o).await,
        NodeCommand::Identity(o) => show_identity(&o),
    }
}

/// `node identity`: the device id and public key, without creating anything.
fn show_identity(opt: &IdentityOpt) -> anyhow::Result<Exit> {
    let state = pairing_host::paths::state_dir();
    let file = identity::identity_path(&state);
    let Some(id) = identity::load(&file)? else {
        bail!(
            "this machine has no node identity yet ({} does not exist); `openclaw node pair` creates it",
            file.display()
        );
    };
    if opt.json {
        println!("{}", serde_json::to_value(id.public())?);
    } else {
        println!("Device id:         {}", id.device_id);
        println!("Public key:        {}", id.public_key);
        println!("Verification code: {}", id.verification_code());
    }
    Ok(Exit::Ok)
}

/// What `verify` and `connect` need: identity, token, URL.
struct Paired {
    identity: Identity,
    token: NodeToken,
    url: GatewayUrl,
    name: String,
}

fn load_paired(state: &Path, opt: &VerifyOpt) -> anyhow::Result<Paired> {
    let Some(token) = identity::load_token(state)? else {
        bail!(
            "this node is not paired yet ({} does not exist); pair it first: openclaw node pair --url URL",
            identity::token_path(state).display()
        );
    };
    let (identity, _) = identity::load_or_create(state)?;
    if !token.node_id.eq_ignore_ascii_case(&identity.device_id) {
        bail!(
            "{} belongs to node {} but this device is {}; pair again with `openclaw node pair`",
            identity::token_path(state).display(),
            token.node_id,
            identity.device_id
        );
    }
    let mut src = Sources::gather(&opt.conn.as_conn())?;
    src.remembered_url = Some(token.url.clone());
    let url = endpoint::resolve_url(&src)?;
    let name = opt
        .name
        .clone()
        .or_else(|| token.display_name.clone())
        .unwrap_or_else(identity::hostname);
    Ok(Paired {
        identity,
        token,
        url,
        name,
    })
}

/// Connects as the node and calls `node.pair.verify` with the stored token.
async fn connect_verified(p: &Paired, timeout: u64) -> anyhow::Result<(Client, Value)> {
    let mut client = Client::connect(
        &p.url,
        Role::Node {
            identity: &p.identity,
            display_name: &p.name,
        },
        timeout,
    )
    .await?;
    let result = client
        .call(
            Method::NodePairVerify,
            VerifyParams {
                node_id: p.identity.device_id.clone(),
                token: p.token.token.clone(),
            },
        )
        .await
        .context(Method::NodePairVerify.as_str())?;
    Ok((client, result))
}

async fn verify(opt: VerifyOpt) -> anyhow::Result<Exit> {
    let state = pairing_host::paths::state_dir();
    let p = load_paired(&state, &opt)?;
    let (client, result) = connect_verified(&p, opt.conn.timeout).await?;
    client.close().await;
    let verified = read::<NodeVerified>(&result).ok();
    let ok = verified.as_ref().is_some_and(|v| v.ok);
    if opt.conn.json {
        // The result is the answer either way; the exit code tells success from failure.
        println!("{result}");
    } else if ok {
        let name = verified
            .and_then(|v| v.node)
            .map(|n| n.name())
            .unwrap_or_default();
        println!(
            "ok: paired with {} as {name} ({})",
            p.url.url, p.identity.device_id
        );
    }
    if !ok {
        // A failure is an error like any other: one line on stderr, nothing on stdout but --json's
        // result.
        eprintln!(
            "openclaw: not paired: the gateway at {} does not accept this node's token; pair again with \
             `openclaw node pair`",
            p.url.url
        );
    }
    Ok(if ok { Exit::Ok } else { Exit::Failure })
}

async fn connect(opt: VerifyOpt) -> anyhow::Result<Exit> {
    let state = pairing_host::paths::state_dir();
    let p = load_paired(&state, &opt)?;
    let stay = async {
        let mut backoff = Backoff::default();
        let mut first = true;
        loop {
            match connect_verified(&p, opt.conn.timeout).await {
                Ok((mut client, result)) => {
                    if !read::<NodeVerified>(&result).is_ok_and(|v| v.ok) {
                        eprintln!(
                            "openclaw: not paired: the gateway at {} no longer accepts this node's token; \
                             pair again with `openclaw node pair`",
                            p.url.url
                        );
                        return Ok(Exit::Failure);
                    }
                    backoff.reset();
                    if first && opt.conn.json {
                        println!("{result}");
                    }
                    eprintln!(
                        "Connected to {} as paired node {}; Ctrl-C to disconnect.",
                        p.url.url, p.name
                    );
                    first = false;
                    loop {
                        match client.next_event().await {
                            Ok(ev) if ev.event == EventName::Tick.as_str() => {
                                let ts = ev.payload_as::<Tick>().map(|t| t.ts);
                                tracing::debug!(?ts, "tick")
                            }
                            Ok(ev) => tracing::debug!(event = %ev.event, "event"),
                            Err(e) => {
                                eprintln!("connection lost: {e:#}; reconnecting");
                                break;
                            }
                        }
                    }
                }
                Err(e) if first => return Err(e),
                Err(e) => eprintln!("reconnect failed: {e:#}"),
            }
            tokio::time::sleep(backoff.next_delay()).await;
        }
    };
    tokio::select! {
        r = stay => r,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("Disconnected.");
            Ok(Exit::Ok)
        }
    }
}
