//! `openclaw node pair`: a real node asking a gateway to pair it.
//!
//! It proves its Ed25519 device key, sends one `node.pair.request`, shows the verification code, and
//! waits for the targeted `node.pair.resolved` event. If the connection drops it reconnects with backoff
//! and sends the same request again (the gateway answers with the same requestId). Right after each
//! `hello-ok` it makes one cheap round trip first, so a decision the gateway held for this node while it
//! was away is read before anything is re-sent — re-sending after an approval would open a re-pair.

use super::NodeConnArgs;
use crate::client::read;
use crate::client::{Backoff, Client, Event, GatewayError, Role};
use crate::endpoint::{self, GatewayUrl, Sources};
use crate::exit::Exit;
use crate::identity::{self, Identity, NodeToken, hostname};
use anyhow::{Context, anyhow, bail};
use clap::Args;
use pairing_core::Event as EventName;
use pairing_core::Method;
use pairing_core::NodeMeta;
use pairing_core::format::{countdown, decision_word, short_id};
use pairing_core::protocol::ErrorCode;
use pairing_core::protocol::params::{PairRequestParams, VerifyParams};
use pairing_core::protocol::{Decision, PairResolved, RequestResult};
use pairing_host::clock::now_ms;
use serde_json::{Value, json};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

/// How long after the request's expiry a disconnected node keeps trying to learn the decision.
const GIVE_UP_AFTER_EXPIRY_MS: u64 = 10 * 60_000;

/// The long help of the subcommand (set on its variant, whose doc comment would override it here).
pub(super) const LONG_ABOUT: &str = "Ask a gateway to pair this machine as a node.\n\n\
        Creates the device identity <state>/identity/device.json (Ed25519, 0600) on first use, proves it \
        to the gateway, and sends one pairing request. Prints the verification code: the operator sees \
        the same code in `openclaw nodes pending` and approves with it. Waits until the request is \
        approved (the token is stored in <state>/node/token.json, 0600), rejected or expired; if the \
        connection drops it reconnects and keeps waiting for the same request.";

/// `openclaw node pair`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
        openclaw node pair --url ws://127.0.0.1:18789/ --name kitchen-pi\n  \
        openclaw node pair --json > result.json      # progress on stderr, result as JSON\n  \
        openclaw node pair --setup-code 'oc-pair://…'  # a code from `openclaw qr`: no approval step\n\n\
        Exit codes: 0 approved, 1 failure or superseded, 2 rejected, 3 expired, 64 usage error.")]
pub struct Opt {
    /// Name to show the operator [default: the name this node paired with before (a re-pair keeps
    /// it), else this machine's hostname].
    #[arg(long)]
    pub name: Option<String>,
    /// Mark the request silent: a hint that an automated approver (`openclaw nodes watch
    /// --auto-approve-silent`) may approve it without asking a person.
    #[arg(long)]
    pub silent: bool,
    /// Pair with a setup code or enrollment key (`openclaw qr`, `openclaw keys create`), as the code or
    /// its oc-pair:// link: no approval step. The code names the gateway's URL; --url overrides it.
    #[arg(
        long,
        value_name = "CODE",
        env = "OPENCLAW_SETUP_CODE",
        hide_env_values = true,
        conflicts_with = "silent"
    )]
    pub setup_code: Option<String>,
    /// Connection flags.
    #[command(flatten)]
    pub conn: NodeConnArgs,
}

/// How the wait ended.
#[derive(Debug)]
enum Outcome {
    Approved { request_id: String, token: String },
    Rejected(String),
    Expired(String),
    Superseded(String),
}

/// Whether an error ends the command or is worth reconnecting for.
enum Failure {
    Fatal(anyhow::Error),
    Retry(anyhow::Error, Option<Duration>),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::Retry(e, None)
    }
}

/// The pending request as the gateway reported it.
#[derive(Clone, Debug)]
struct Request {
    id: String,
    expires_at: u64,
}

/// The state of one `node pair` run.
struct Pairing {
    identity: Identity,
    url: GatewayUrl,
    name: String,
    silent: bool,
    timeout: u64,
    request: Option<Request>,
    progress: Progress,
}

/// Runs `node pair`.
pub(super) async fn run(opt: Opt) -> anyhow::Result<Exit> {
    if let Some(code) = &opt.setup_code {
        return super::setup::run(code, opt.name.as_deref(), &opt.conn).await;
    }
    let state = pairing_host::paths::state_dir();
    let (identity, created) = identity::load_or_create(&state)?;
    let url = endpoint::resolve_url(&Sources::gather(&opt.conn.as_conn())?)?;
    let progress = Progress::new(opt.conn.json);
    if created {
        progress.note(&format!(
            "Created device identity {} ({})",
            identity::identity_path(&state).display(),
            short_id(&identity.device_id)
        ));
    }
    let name = match opt.name.clone() {
        Some(n) => n,
        None => paired_name(&state, &identity).unwrap_or_else(hostname),
    };
    let mut p = Pairing {
        identity,
        url,
        name,
        silent: opt.silent,
        timeout: opt.conn.timeout,
        request: None,
        progress,
    };
    let outcome = tokio::select! {
        r = p.pair() => r,
        _ = tokio::signal::ctrl_c() => {
            p.progress.clear();
            p.progress.note("Interrupted. The request stays pending until it expires; run `openclaw node pair` again to keep waiting.");
            return Ok(Exit::Failure);
        }
    };
    p.progress.clear();
    p.finish(&state, outcome?)
}

/// The name this node paired with last time (stored with its token), if the token is this device's.
/// A re-pair without `--name` keeps it: the name goes out in `connect` and in the request, and the
/// gateway records what the approved request says, so falling back to the hostname would rename the
/// node on every re-pair. (An operator's rename wins over either at the gateway.)
/// A token file that does not read is no reason to refuse pairing again (that replaces it).
fn paired_name(state: &std::path::Path, identity: &Identity) -> Option<String> {
    let token = identity::load_token(state)
        .inspect_err(|e| tracing::warn!("{e:#}; the name defaults to the hostname"))
        .ok()??;
    token
        .node_id
        .eq_ignore_ascii_case(&identity.device_id)
        .then_some(token.display_name?)
        .filter(|n| !n.trim().is_empty())
}

impl Pairing {
    /// Connects, requests and waits, reconnecting until a decision arrives.
    async fn pair(&mut self) -> anyhow::Result<Outcome> {
        let mut backoff = Backoff::default();
        loop {
            let err = match self.attempt(&mut backoff).await {
                Ok(outcome) => return Ok(outcome),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry(e, _)) if self.request.is_none() => return Err(e),
                Err(Failure::Retry(e, after)) => (e, after),
            };
            let expires_at = self.request.as_ref().map_or(0, |r| r.expires_at);
            if now_ms() > expires_at.saturating_add(GIVE_UP_AFTER_EXPIRY_MS) {
                return Err(err.0.context(
                    "gave up: the gateway stayed unreachable long after the request expired",
                ));
            }
            let delay = err.1.unwrap_or_else(|| backoff.next_delay());
            self.progress.clear();
            self.progress.note(&format!(
                "Connection lost ({:#}); reconnecting in {:.1}s",
                err.0,
                delay.as_secs_f32()
            ));
            tokio::time::sleep(delay).await;
        }
    }

    /// One connection: handshake, barrier, (re-)send the request, wait.
    async fn attempt(&mut self, backoff: &mut Backoff) -> Result<Outcome, Failure> {
        let role = Role::Node {
            identity: &self.identity,
            display_name: &self.name,
        };
        let mut client = match Client::connect(&self.url, role, self.timeout).await {
            Ok(c) => c,
            Err(e)
                if e.chain()
                    .any(|c| c.downcast_ref::<GatewayError>().is_some()) =>
            {
                return Err(Failure::Fatal(e));
            }
            Err(e) => return Err(Failure::Retry(e, None)),
        };
        // Any decision held for this node follows hello-ok; one round trip makes sure it is read.
        let node_id = self.identity.device_id.clone();
        client
            .call(
                Method::NodePairVerify,
                VerifyParams {
                    node_id,
                    token: String::new(),
                },
            )
            .await?;
        while let Some(ev) = client.take_queued() {
            if let Some(outcome) = self.decision(&ev, true) {
                return Ok(outcome);
            }
        }
        let request = self.request(&mut client).await?;
        backoff.reset();
        self.wait(&mut client, &request).await
    }

    /// Sends `node.pair.request` and reports the request.
    async fn request(&mut self, client: &mut Client) -> Result<Request, Failure> {
        let params = PairRequestParams {
            node_id: self.identity.device_id.clone(),
            meta: NodeMeta {
                display_name: Some(self.name.clone()),
                platform: Some(std::env::consts::OS.to_owned()),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
                ..NodeMeta::default()
            },
            silent: self.silent,
        };
        let result = match client.call(Method::NodePairRequest, params).await {
            Ok(r) => r,
            Err(e) => {
                return Err(match e.downcast_ref::<GatewayError>() {
                    Some(GatewayError(g)) if g.code == ErrorCode::RateLimited => {
                        let after = g.retry_after_ms.map(Duration::from_millis);
                        Failure::Retry(e.context(Method::NodePairRequest.as_str()), after)
                    }
                    Some(_) => Failure::Fatal(e.context("the gateway refused the pairing request")),
                    None => Failure::Retry(e, None),
                });
            }
        };
        let r = read::<RequestResult>(&result)
            .map_err(|_| Failure::Fatal(anyhow!("node.pair.request returned no requestId")))?
            .request;
        let id = r.request_id.as_str().to_owned();
        let request = Request {
            id: id.clone(),
            expires_at: Some(r.expires_at_ms)
                .filter(|at| *at > 0)
                .unwrap_or_else(|| now_ms() + 300_000),
        };
        let code = self.identity.verification_code();
        if let Some(theirs) =
            Some(r.verification_code.as_ref()).filter(|c| !c.is_empty() && *c != code)
        {
            self.progress.note(&format!(
                "warning: the gateway shows code {theirs} but this device computes {code}; do not approve \
                 until you know why"
            ));
        }
        match &self.request {
            None => self.progress.show_request(&code, &id, &self.url.url, &self.name),
            Some(old) if old.id != id => self.progress.note(&format!(
                "The earlier request {} ended while this node was away; the gateway opened request {id} \
                 (same code {code}).",
                old.id
            )),
            Some(_) => self.progress.note("Reconnected; the request is still pending."),
        }
        self.request = Some(request.clone());
        Ok(request)
    }

    /// Waits for the decision on `request`, redrawing the countdown.
    async fn wait(&mut self, client: &mut Client, request: &Request) -> Result<Outcome, Failure> {
        let mut redraw = tokio::time::interval(Duration::from_millis(120));
        loop {
            tokio::select! {
                ev = client.next_event() => {
                    let ev = ev?;
                    if ev.event == EventName::Tick.as_str() {
                        tracing::debug!("tick");
                    } else if let Some(outcome) = self.decision(&ev, false) {
                        return Ok(outcome);
                    }
                }
                _ = redraw.tick() => {
                    let left = request.expires_at.saturating_sub(now_ms());
                    self.progress.waiting(left);
                    if now_ms() > request.expires_at + 60_000 {
                        return Err(Failure::Retry(anyhow!("no decision arrived after the request expired"), None));
                    }
                }
            }
        }
    }

    /// Reads a `node.pair.resolved` event meant for this node. `before_request`: it arrived right after
    /// hello-ok, so it may be about a request from an earlier run — only an approval (carrying this
    /// device's token) or a decision on the request this run made counts then.
    fn decision(&self, ev: &Event, before_request: bool) -> Option<Outcome> {
        if ev.event != EventName::NodePairResolved.as_str() {
            return None;
        }
        let p = ev.payload_as::<PairResolved>()?;
        if p.node_id.as_str() != self.identity.device_id {
            return None;
        }
        let rid = p.request_id;
        let ours = self.request.as_ref().is_some_and(|r| r.id == rid);
        if let (Decision::Approved, Some(token)) = (p.decision, &p.token) {
            return Some(Outcome::Approved {
                request_id: rid,
                token: token.expose().to_owned(),
            });
        }
        if !ours {
            tracing::debug!(request = %rid, decision = decision_word(p.decision), before_request, "ignoring a decision about another request");
            return None;
        }
        match p.decision {
            Decision::Rejected => Some(Outcome::Rejected(rid)),
            Decision::Expired => Some(Outcome::Expired(rid)),
            Decision::Superseded => Some(Outcome::Superseded(rid)),
            Decision::Approved => {
                tracing::warn!("approval arrived without a token");
                None
            }
            Decision::Removed => None,
        }
    }

    /// Stores the token on approval, reports the outcome, and picks the exit code.
    fn finish(&self, state: &std::path::Path, outcome: Outcome) -> anyhow::Result<Exit> {
        let code = self.identity.verification_code();
        let (decision, request_id, file, exit): (&str, String, Option<PathBuf>, Exit) =
            match outcome {
                Outcome::Approved { request_id, token } => {
                    let file = identity::store_token(
                        state,
                        &NodeToken {
                            node_id: self.identity.device_id.clone(),
                            token,
                            url: self.url.url.clone(),
                            approved_at_ms: now_ms(),
                            display_name: Some(self.name.clone()),
                        },
                    )
                    .context("approved, but the token could not be saved")?;
                    ("approved", request_id, Some(file), Exit::Ok)
                }
                Outcome::Rejected(r) => ("rejected", r, None, Exit::Rejected),
                Outcome::Expired(r) => ("expired", r, None, Exit::Expired),
                Outcome::Superseded(r) => ("superseded", r, None, Exit::Failure),
            };
        if self.progress.json {
            let mut v = json!({
                "decision": decision,
                "requestId": request_id,
                "nodeId": self.identity.device_id,
                "verificationCode": code,
            });
            if let Some(f) = &file {
                v["tokenFile"] = Value::from(f.display().to_string());
            }
            println!("{v}");
            return Ok(exit);
        }
        match (decision, &file) {
            ("approved", Some(f)) => println!(
                "Approved. This node is paired; token stored in {}.",
                f.display()
            ),
            // Not paired: the command failed (exit 2 or 3), so the line is an error, on stderr.
            ("rejected", _) => eprintln!(
                "openclaw: rejected: the operator declined request {request_id}; this node is not paired"
            ),
            ("expired", _) => eprintln!(
                "openclaw: expired: nobody approved request {request_id} in time; run `openclaw node pair` \
                 again"
            ),
            _ => bail!("request {request_id} was superseded by a newer request for this node"),
        }
        Ok(exit)
    }
}

/// What the waiting node shows: the code and request on stdout (stderr with `--json`), and a spinner
/// with a countdown on a terminal, or a plain line a minute otherwise.
struct Progress {
    json: bool,
    tty: bool,
    frame: usize,
    drawn: bool,
    last_plain: Option<std::time::Instant>,
}

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

impl Progress {
    fn new(json: bool) -> Progress {
        Progress {
            json,
            tty: std::io::stderr().is_terminal(),
            frame: 0,
            drawn: false,
            last_plain: None,
        }
    }

    /// A line for the person: stdout normally, stderr when stdout is reserved for JSON.
    fn say(&self, line: &str) {
        if self.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    /// A side remark, always on stderr.
    fn note(&self, line: &str) {
        eprintln!("{line}");
    }

    fn show_request(&self, code: &str, request_id: &str, url: &str, name: &str) {
        self.say(&format!("Pairing request sent to {url} as \"{name}\"."));
        self.say("");
        self.say(&format!(
            "    Verification code: {code} — check the approver sees the same code"
        ));
        self.say("");
        self.say(&format!("Request: {request_id}"));
        self.say(&format!(
            "The operator approves it with: openclaw nodes approve {code}"
        ));
    }

    fn waiting(&mut self, left_ms: u64) {
        if self.tty {
            self.frame = (self.frame + 1) % SPINNER.len();
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r\x1b[2K{} Waiting for approval… expires in {}",
                SPINNER[self.frame],
                countdown(left_ms)
            );
            let _ = err.flush();
            self.drawn = true;
        } else if self
            .last_plain
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(60))
        {
            self.last_plain = Some(std::time::Instant::now());
            eprintln!("Waiting for approval (expires in {})…", countdown(left_ms));
        }
    }

    /// Erases the spinner line before other output.
    fn clear(&mut self) {
        if self.drawn {
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
            self.drawn = false;
        }
    }
}
