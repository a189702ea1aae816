//! `nodes watch`: stream pairing events, and optionally approve `silent` requests that prove they
//! come from the node on an SSH host ([`crate::ssh_proof`]: `openclaw node identity --json` run on the
//! host over SSH prints the request's own device key). Requests that are not approved that way are
//! left for a person, with the reason on the watcher's output — on a terminal, the watcher asks.
//!
//! It reconnects with backoff when the connection drops, and re-syncs with `node.pair.list` on
//! (re)connect and whenever the broadcast `seq` skips, so no request goes unseen.
//!
//! Output is one line per event as it arrives: a human line whose first word (`requested`, `approved`,
//! `rejected`, …) is coloured when stdout is a terminal and `NO_COLOR` is unset or empty, or with
//! `--json` the event frame itself as one JSON object per line (NDJSON), never coloured. Requests
//! already pending at (re)connect come first, once each: `pending …` lines, or with `--json`
//! [`pending_json`] lines (`"type":"sync"`, `"event":"node.pair.pending"`).

use crate::args::ConnArgs;
use crate::client::{Backoff, Client, Event};
use crate::exit::Exit;
use crate::operator;
use crate::render::bare_ip;
use crate::ssh_proof::{self, Verdict};
use anyhow::bail;
use clap::Args;
use pairing_core::Event as EventName;
use pairing_core::Method;
use pairing_core::format::{decision_word, expires_in, short_id};
use pairing_core::protocol::params::{DecideParams, NoParams};
use pairing_core::protocol::{NodePairList, NodePending, PairResolved};
use pairing_core::resync::SeqTracker;
use pairing_host::clock::now_ms;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;

mod exec;

/// `nodes watch`.
#[derive(Debug, Args)]
pub struct Opt {
    /// Approve a silent first-pairing request only when the node on the --ssh host holds its device
    /// key (`ssh HOST openclaw node identity --json` prints the request's key); others are left for a
    /// person, with the reason.
    #[arg(long, requires = "ssh")]
    pub auto_approve_silent: bool,
    /// The host whose node identity is checked over SSH (as the current user, without prompts, with
    /// a known host key).
    #[arg(long, value_name = "HOST", requires = "auto_approve_silent")]
    pub ssh: Option<String>,
    /// Run CMD with `sh -c` once per pairing event (node.pair.requested, node.pair.resolved, and
    /// node.pair.pending for requests already waiting at connect), one at a time: the event as JSON
    /// on stdin, OPENCLAW_EVENT, OPENCLAW_REQUEST_ID, OPENCLAW_NODE_ID, OPENCLAW_DISPLAY_NAME,
    /// OPENCLAW_VERIFICATION_CODE and OPENCLAW_DECISION in its environment. A failure is reported
    /// and the watch goes on.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// How long one --exec run may take before it is killed: 30s, 2m (a unit is required).
    #[arg(long, value_name = "DURATION", default_value = "30s",
          value_parser = crate::args::parse_duration, requires = "exec")]
    pub exec_timeout: u64,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Checks `--ssh HOST`: not an option in disguise, and no other user than the current one.
pub(super) fn check_ssh_host(host: &str, current_user: Option<&str>) -> anyhow::Result<()> {
    let host = host.trim();
    if host.is_empty() || host.starts_with('-') || host.chars().any(char::is_whitespace) {
        bail!("--ssh {host:?}: expected a host name like gateway.local");
    }
    if let Some((user, _)) = host.split_once('@')
        && current_user.is_some_and(|me| me != user)
    {
        bail!(
            "--ssh {host}: the check runs as the current user, so the host must not name another user ({user})"
        );
    }
    Ok(())
}

/// What the watcher remembers between events.
struct Watcher {
    opt: Opt,
    /// Labels by requestId and by nodeId, so a `resolved` line can name the node.
    labels: HashMap<String, String>,
    /// Requests already printed, so a re-sync does not repeat them.
    shown: HashSet<String>,
    /// Requests already handled by the auto-approver (each is tried once).
    tried: HashSet<String>,
    interactive: bool,
    /// Colour the human lines (stdout is a terminal, `NO_COLOR` unset or empty, not `--json`).
    colour: bool,
}

/// Whether to colour: only on a terminal, and not when `NO_COLOR` is set to anything but "" (no-color.org).
pub(super) fn use_colour(
    stdout_is_tty: bool,
    json: bool,
    no_color: Option<&std::ffi::OsStr>,
) -> bool {
    stdout_is_tty && !json && no_color.is_none_or(|v| v.is_empty())
}

/// The ANSI style of an event word: pending and requested yellow, approved green, rejected and
/// removed red, superseded magenta, expired dim.
fn style(word: &str) -> Option<&'static str> {
    Some(match word {
        "requested" | "pending" => "1;33",
        "approved" => "1;32",
        "rejected" | "removed" => "1;31",
        "superseded" => "35",
        "expired" => "2",
        _ => return None,
    })
}

/// An event line: `word` padded to 10 columns (coloured when `colour`), then the rest.
fn line(word: &str, rest: &str, colour: bool) -> String {
    let padded = format!("{word:<10}");
    match style(word).filter(|_| colour) {
        Some(sgr) => format!("\x1b[{sgr}m{word}\x1b[0m{} {rest}", &padded[word.len()..]),
        None => format!("{padded} {rest}"),
    }
}

/// Runs `nodes watch` until Ctrl-C.
pub(super) async fn run(opt: Opt) -> anyhow::Result<Exit> {
    if let Some(host) = &opt.ssh {
        check_ssh_host(host, std::env::var("USER").ok().as_deref())?;
    }
    let interactive =
        !opt.conn.json && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let colour = use_colour(
        std::io::stdout().is_terminal(),
        opt.conn.json,
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let mut w = Watcher {
        opt,
        labels: HashMap::new(),
        shown: HashSet::new(),
        tried: HashSet::new(),
        interactive,
        colour,
    };
    tokio::select! {
        r = w.watch() => r,
        _ = tokio::signal::ctrl_c() => Ok(Exit::Ok),
    }
}

impl Watcher {
    async fn watch(&mut self) -> anyhow::Result<Exit> {
        let mut backoff = Backoff::default();
        let mut first = true;
        loop {
            let err = match operator::connect(&self.opt.conn).await {
                Ok(mut c) => {
                    backoff.reset();
                    eprintln!("Watching pairing events on {} (Ctrl-C to stop)", c.url());
                    first = false;
                    self.session(&mut c).await
                }
                Err(e) if first => return Err(e),
                // A rotated token never works again: say so once and stop rather than retry.
                Err(e)
                    if matches!(
                        e.downcast_ref::<crate::client::NotTheGateway>(),
                        Some(crate::client::NotTheGateway::Rotated(_))
                    ) =>
                {
                    return Err(e);
                }
                Err(e) => e,
            };
            let delay = backoff.next_delay();
            eprintln!(
                "Connection lost ({err:#}); reconnecting in {:.1}s",
                delay.as_secs_f32()
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One connection: sync, then follow events until the connection fails.
    async fn session(&mut self, c: &mut Client) -> anyhow::Error {
        if let Err(e) = self.sync(c).await {
            return e;
        }
        let mut seq = SeqTracker::new();
        loop {
            let ev = match c.next_event().await {
                Ok(ev) => ev,
                Err(e) => return e,
            };
            if ev.event == EventName::Tick.as_str() {
                tracing::debug!("tick");
                continue;
            }
            let missed = ev.seq.and_then(|s| seq.missed(s));
            if seq.observe(ev.seq) {
                tracing::info!(?missed, "event sequence skipped; re-syncing");
                if let Err(e) = self.sync(c).await {
                    return e;
                }
            }
            self.print(&ev);
            if matches!(
                EventName::parse(&ev.event),
                Some(EventName::NodePairRequested | EventName::NodePairResolved)
            ) {
                self.hook(&ev.event, &ev.payload, &ev.to_json().to_string())
                    .await;
            }
            if ev.event == EventName::NodePairRequested.as_str()
                && let Some(p) = ev.payload_as::<NodePending>()
                && let Err(e) = self.consider(c, &p).await
            {
                return e;
            }
        }
    }

    /// Reads the pending list; in auto-approve mode, considers every request not tried yet.
    async fn sync(&mut self, c: &mut Client) -> anyhow::Result<()> {
        let NodePairList { pending, paired } = c.call_as(Method::NodePairList, NoParams {}).await?;
        for n in &paired {
            self.labels.insert(n.node_id.as_str().to_owned(), n.name());
        }
        for p in &pending {
            let rid = p.request_id.as_str().to_owned();
            self.labels.insert(rid.clone(), p.name());
            if self.shown.insert(rid) {
                let sync_line = pending_json(p)?;
                if self.opt.conn.json {
                    println!("{sync_line}");
                } else {
                    println!(
                        "{}",
                        line("pending", &describe_request(p, now_ms()), self.colour)
                    );
                }
                let event = sync_line["event"].as_str().unwrap_or_default().to_owned();
                self.hook(&event, &sync_line["payload"], &sync_line.to_string())
                    .await;
            }
        }
        for p in &pending {
            self.consider(c, p).await?;
        }
        Ok(())
    }

    /// Prints one event: NDJSON with `--json`, else a human line.
    fn print(&mut self, ev: &Event) {
        if self.opt.conn.json {
            if ev.event == EventName::NodePairRequested.as_str()
                && let Some(p) = ev.payload_as::<NodePending>()
            {
                self.shown.insert(p.request_id.as_str().to_owned());
            }
            println!("{}", ev.to_json());
            return;
        }
        let p = &ev.payload;
        match EventName::parse(&ev.event) {
            Some(EventName::NodePairRequested) if let Some(p) = ev.payload_as::<NodePending>() => {
                let rid = p.request_id.as_str().to_owned();
                self.labels.insert(rid.clone(), p.name());
                self.labels.insert(p.node_id.as_str().to_owned(), p.name());
                self.shown.insert(rid);
                println!(
                    "{}",
                    line("requested", &describe_request(&p, now_ms()), self.colour)
                );
            }
            Some(EventName::NodePairResolved) if let Some(r) = ev.payload_as::<PairResolved>() => {
                let rid = r.request_id.as_str();
                let label = self
                    .labels
                    .get(rid)
                    .or_else(|| self.labels.get(r.node_id.as_str()))
                    .cloned()
                    .unwrap_or_else(|| short_id(r.node_id.as_str()).to_owned());
                let what = if rid.is_empty() {
                    String::new()
                } else {
                    format!("{rid}  ")
                };
                println!(
                    "{}",
                    line(
                        decision_word(r.decision),
                        &format!("{what}{label}"),
                        self.colour
                    )
                );
            }
            // The same decisions in OpenClaw's device vocabulary: already shown as node events.
            Some(EventName::DevicePairRequested | EventName::DevicePairResolved) => {}
            _ => println!("{}  {p}", ev.event),
        }
    }

    /// `--exec`: runs the command for one event; a failure is reported, never fatal.
    async fn hook(&self, event: &str, payload: &Value, line: &str) {
        let Some(cmd) = &self.opt.exec else { return };
        let deadline = std::time::Duration::from_millis(self.opt.exec_timeout);
        let env = exec::env_of(event, payload);
        if let Err(e) = exec::run(cmd, line, &env, deadline, self.opt.conn.json).await {
            let rid = payload["requestId"].as_str().unwrap_or_default();
            eprintln!("openclaw: --exec for {event} {rid} failed: {e}; watching on");
        }
    }

    /// The auto-approver: silent requests pass the SSH check or go to a person.
    async fn consider(&mut self, c: &mut Client, p: &NodePending) -> anyhow::Result<()> {
        let Some(host) = self
            .opt
            .ssh
            .clone()
            .filter(|_| self.opt.auto_approve_silent)
        else {
            return Ok(());
        };
        let rid = p.request_id.as_str().to_owned();
        if rid.is_empty() || !self.tried.insert(rid.clone()) {
            return Ok(());
        }
        let label = p.name();
        if p.silent {
            // No SSH call for a request that cannot qualify anyway.
            let verdict = match ssh_proof::precheck(p) {
                Some(why) => Verdict::Refused(why),
                None => ssh_proof::judge(&host, p, ssh_proof::probe(&host).await),
            };
            match verdict {
                Verdict::Proven => {
                    self.decide(
                        c,
                        &rid,
                        Method::NodePairApprove,
                        &format!(
                            "auto-approved {rid} ({label}): the node on {host} holds its device key \
                             (checked over ssh)"
                        ),
                    )
                    .await?;
                    return Ok(());
                }
                Verdict::Refused(why) => {
                    self.note(&format!("left {rid} ({label}) for a person: {why}"));
                }
            }
        }
        if self.interactive {
            let question = format!(
                "Approve {label} ({}, code {})? [a]pprove / [r]eject / [l]ater: ",
                bare_ip(p.remote_ip.as_deref()),
                p.verification_code
            );
            match crate::prompt::ask(question).await.as_deref() {
                Some("a" | "approve") => {
                    self.decide(c, &rid, Method::NodePairApprove, &format!("approved {rid}"))
                        .await?
                }
                Some("r" | "reject") => {
                    self.decide(c, &rid, Method::NodePairReject, &format!("rejected {rid}"))
                        .await?
                }
                _ => self.note(&format!("left {rid} pending")),
            }
        }
        Ok(())
    }

    /// Calls approve or reject; a gateway refusal (already decided elsewhere) is reported, not fatal.
    async fn decide(
        &self,
        c: &mut Client,
        rid: &str,
        method: Method,
        done: &str,
    ) -> anyhow::Result<()> {
        match c.call(method, DecideParams::by_id(rid)).await {
            Ok(_) => self.note(done),
            // An error, so stderr in either mode; the watcher goes on.
            Err(e) if e.downcast_ref::<crate::client::GatewayError>().is_some() => {
                eprintln!("openclaw: {method} {rid} failed: {e}");
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// A remark from the watcher itself: stderr in JSON mode, stdout otherwise.
    fn note(&self, line: &str) {
        if self.opt.conn.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
}

/// A request already pending when the watcher (re)connects, as an NDJSON line:
/// `{"type":"sync","event":"node.pair.pending","payload":<the request as node.pair.list gives it>}`.
/// `type` tells it from the gateway's live events (`"type":"event"`), which it precedes.
pub(super) fn pending_json(p: &NodePending) -> anyhow::Result<Value> {
    let payload = serde_json::to_value(p)?;
    Ok(json!({ "type": "sync", "event": "node.pair.pending", "payload": payload }))
}

/// A pending request on one line.
fn describe_request(p: &NodePending, now: u64) -> String {
    let mut line = format!(
        "{}  {} ({})  code {}",
        p.request_id.as_str(),
        p.name(),
        bare_ip(p.remote_ip.as_deref()),
        p.verification_code
    );
    if p.silent {
        line.push_str("  silent");
    }
    if p.is_repair {
        line.push_str("  re-pair");
    }
    line.push_str(&format!("  {}", expires_in(p.expires_at_ms, now)));
    line
}

#[cfg(test)]
mod tests;
