//! `--notify-webhook URL`: POSTs pairing requests and their resolution ([`pairing_core::webhook`]
//! builds, signs and schedules them; this module does the HTTP).
//!
//! The core's thread hands each notice to a [`Notifier`] (a bounded channel, never blocking the
//! core); one task owns the delivery [`Queue`] and makes one request at a time over hyper's HTTP/1
//! client, with rustls (the system's roots) for `https://`, under
//! [`queue::REQUEST_TIMEOUT_MS`] for connecting, the TLS handshake and the response's head.
//! Redirects are not followed and the response body is not read. Failures are logged once per
//! episode and once on recovery; [`Status`] is kept in `<state>/notify-status.json` for
//! `openclaw doctor`. When the gateway stops, what still waits gets one last attempt within
//! [`SHUTDOWN_BUDGET`] (the server awaits the task); what that cannot deliver is logged as lost.
//!
//! The URL's path and query are treated as a secret (Slack's and ntfy's URLs are the credential):
//! logs and the status file name only the scheme and host.

use crate::clock::now_ms;
use crate::fsutil::{describe, read_private_text, write_atomic};
use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use hyper::header::{CONTENT_TYPE, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use pairing_core::Notice;
use pairing_core::webhook::queue::{self, Episode, Queue, Status};
use pairing_core::webhook::{self, MIN_SECRET_BYTES, Payload};
use rustls_pki_types::ServerName;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use zeroize::Zeroizing;

/// `--notify-webhook` and `--notify-secret-file`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyOptions {
    /// Where to POST (`https://…`, or `http://…`).
    pub url: String,
    /// A file holding the signing secret (at least [`MIN_SECRET_BYTES`] bytes, surrounding
    /// whitespace ignored); without it requests are not signed.
    pub secret_file: Option<PathBuf>,
}

/// The status file, read by `openclaw doctor`.
pub fn status_path(state_dir: &Path) -> PathBuf {
    state_dir.join("notify-status.json")
}

/// Notices waiting between the core's thread and the delivery task at most; beyond it they are
/// dropped (the queue behind it is bounded too).
const CHANNEL: usize = 1024;

/// How long a stopping gateway keeps delivering what waits (one last attempt each).
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(5);

/// The core's side: hands webhook-worthy notices to the delivery task without blocking.
#[derive(Debug)]
pub struct Notifier {
    tx: mpsc::Sender<Payload>,
    /// Notifications are being dropped (the channel is full): logged once per such episode.
    dropping: std::sync::atomic::AtomicBool,
}

impl Notifier {
    /// Queues the webhook of `notice`, if it makes one.
    pub fn notice(&self, notice: &Notice) {
        use std::sync::atomic::Ordering::Relaxed;
        let Some(p) = webhook::payload(notice, now_ms()) else {
            return;
        };
        if self.tx.try_send(p).is_ok() {
            self.dropping.store(false, Relaxed);
        } else if !self.dropping.swap(true, Relaxed) {
            tracing::warn!("webhook queue full: pairing notifications are being dropped");
        }
    }
}

/// The parsed URL.
#[derive(Clone, Debug)]
struct Target {
    https: bool,
    host: String,
    port: u16,
    authority: String,
    path: String,
    /// `scheme://host[:port]/…`, for logs.
    shown: String,
}

fn parse(url: &str) -> anyhow::Result<Target> {
    let uri: hyper::Uri = url
        .trim()
        .parse()
        .map_err(|_| anyhow!("--notify-webhook {url:?} is not a URL"))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => bail!("--notify-webhook {url:?}: expected an https:// (or http://) URL"),
    };
    let host = uri
        .host()
        .ok_or_else(|| anyhow!("--notify-webhook {url:?} names no host"))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
    let path = uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.to_string());
    let scheme = if https { "https" } else { "http" };
    Ok(Target {
        https,
        shown: format!("{scheme}://{authority}/…"),
        host,
        port,
        authority,
        path,
    })
}

/// Reads the secret file (not through a link; tightened to 0600).
fn read_secret(file: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let text = match read_private_text(file) {
        Ok(Some(t)) => Zeroizing::new(t),
        Ok(None) => bail!("--notify-secret-file {}: no such file", file.display()),
        Err(e) => bail!("{}", describe(file, "cannot read", &e)),
    };
    let secret = Zeroizing::new(text.trim().as_bytes().to_vec());
    if secret.len() < MIN_SECRET_BYTES {
        bail!(
            "--notify-secret-file {}: the secret must be at least {MIN_SECRET_BYTES} bytes (try \
             `head -c 32 /dev/urandom | base64 > FILE`)",
            file.display()
        );
    }
    Ok(secret)
}

/// Checks the options, reads the secret and starts the delivery task (on the current tokio
/// runtime). When the returned [`Notifier`] is dropped the task drains what waits (within
/// [`SHUTDOWN_BUDGET`]) and ends: await its handle before the runtime stops.
pub fn start(
    opts: &NotifyOptions,
    state_dir: &Path,
) -> anyhow::Result<(Notifier, tokio::task::JoinHandle<()>)> {
    let target = parse(&opts.url)?;
    let secret = opts.secret_file.as_deref().map(read_secret).transpose()?;
    if !target.https {
        tracing::warn!(
            url = %target.shown,
            "the webhook is plain http://: anyone on the path can read the notifications"
        );
    }
    let tls = if target.https {
        Some(client_tls().context("--notify-webhook: cannot set up TLS")?)
    } else {
        None
    };
    let (tx, rx) = mpsc::channel(CHANNEL);
    let d = Deliverer {
        target,
        secret,
        tls,
        status_file: status_path(state_dir),
    };
    let (file, text) = d.status_text(&Status::default());
    write_atomic(&file, text.as_bytes())
        .map_err(|e| anyhow!("{}", describe(&file, "cannot write", &e)))?;
    let task = tokio::spawn(d.run(rx));
    let notifier = Notifier {
        tx,
        dropping: false.into(),
    };
    Ok((notifier, task))
}

/// A client configuration trusting the system's roots.
fn client_tls() -> anyhow::Result<tokio_rustls::TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for cert in found.certs {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        bail!("no system root certificates found");
    }
    let config = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("{e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

struct Deliverer {
    target: Target,
    secret: Option<Zeroizing<Vec<u8>>>,
    tls: Option<tokio_rustls::TlsConnector>,
    status_file: PathBuf,
}

impl Deliverer {
    async fn run(self, mut rx: mpsc::Receiver<Payload>) {
        let mut q = Queue::new();
        loop {
            while let Some(attempt) = q.poll_send(now_ms()) {
                let deadline = Duration::from_millis(queue::REQUEST_TIMEOUT_MS);
                self.attempt(&mut q, &attempt, deadline).await;
            }
            let wait = q
                .poll_timeout()
                .map(|t| Duration::from_millis(t.saturating_sub(now_ms())));
            tokio::select! {
                p = rx.recv() => match p {
                    Some(p) => q.push(p, now_ms()),
                    None => return self.drain(q).await,
                },
                () = sleep_or_forever(wait) => {}
            }
        }
    }

    /// The gateway is stopping: one last attempt for each delivery still waiting, all within
    /// [`SHUTDOWN_BUDGET`]; what is left is logged as lost.
    async fn drain(&self, mut q: Queue) {
        let end = tokio::time::Instant::now() + SHUTDOWN_BUDGET;
        let waiting = q.status().queued;
        if waiting == 0 {
            return;
        }
        q.closing(now_ms());
        let delivered = q.status().delivered;
        while let Some(attempt) = q.poll_send(now_ms()) {
            let left = end.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            let deadline = left.min(Duration::from_millis(queue::REQUEST_TIMEOUT_MS));
            self.attempt(&mut q, &attempt, deadline).await;
        }
        let sent = q.status().delivered - delivered;
        // Given up on its last attempt, or never tried within the budget.
        let lost = waiting.saturating_sub(usize::try_from(sent).unwrap_or(usize::MAX));
        if lost == 0 {
            tracing::info!(url = %self.target.shown, "delivered the {sent} waiting webhook notifications before stopping");
        } else {
            tracing::warn!(
                url = %self.target.shown,
                "stopping with {lost} webhook notifications undelivered ({sent} delivered in the last {} s)",
                SHUTDOWN_BUDGET.as_secs()
            );
        }
    }

    /// Makes `attempt` under `deadline`, reports it to `q`, logs an episode's first and last line
    /// and writes the status file.
    async fn attempt(&self, q: &mut Queue, attempt: &queue::Attempt, deadline: Duration) {
        let result = match tokio::time::timeout(deadline, self.post(&attempt.payload)).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {} s", deadline.as_secs_f32())),
        };
        let mut random = [0u8; 2];
        let _ = getrandom::fill(&mut random);
        let failed = result.as_ref().err().cloned();
        match q.on_result(now_ms(), result, u16::from_le_bytes(random)) {
            Some(Episode::Failing { error }) => tracing::warn!(
                url = %self.target.shown,
                "webhook delivery failed: {error}; retrying with backoff (up to {} attempts \
                 each); one more line follows when deliveries work again",
                queue::MAX_ATTEMPTS
            ),
            Some(Episode::Recovered { since, failures }) => tracing::info!(
                url = %self.target.shown,
                "webhook deliveries work again after {} s ({failures} failed attempts)",
                now_ms().saturating_sub(since) / 1000
            ),
            None => {
                if let Some(e) = failed {
                    tracing::debug!("webhook delivery still failing: {e}");
                }
            }
        }
        self.write_status(q.status()).await;
    }

    /// One POST: 2xx is `Ok`, anything else an error line (never the URL's path).
    async fn post(&self, payload: &Payload) -> Result<(), String> {
        let body = serde_json::to_vec(payload).map_err(|e| e.to_string())?;
        let t = &self.target;
        let tcp = tokio::net::TcpStream::connect((t.host.as_str(), t.port))
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", t.authority))?;
        let _ = tcp.set_nodelay(true);
        let mut req = Request::post(t.path.as_str())
            .header(HOST, t.authority.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("openclaw-pairing/", env!("CARGO_PKG_VERSION")),
            );
        for (name, value) in webhook::ntfy_headers(payload) {
            req = req.header(name, value);
        }
        if let Some(secret) = &self.secret {
            let ts = now_ms() / 1000;
            req = req
                .header(webhook::TIMESTAMP_HEADER, ts.to_string())
                .header(webhook::SIGNATURE_HEADER, webhook::sign(secret, ts, &body));
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let status = match &self.tls {
            Some(tls) => {
                let name = ServerName::try_from(t.host.clone())
                    .map_err(|_| format!("{} is not a valid TLS name", t.host))?;
                let stream = tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS with {} failed: {e}", t.authority))?;
                send(stream, req).await?
            }
            None => send(tcp, req).await?,
        };
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered HTTP {status}"))
        }
    }

    /// The status file's path and text: the queue's counters, the URL without its path, and
    /// whether requests are signed.
    fn status_text(&self, status: &Status) -> (PathBuf, String) {
        let mut v = serde_json::to_value(status).unwrap_or_default();
        v["url"] = self.target.shown.clone().into();
        v["signed"] = self.secret.is_some().into();
        let text = serde_json::to_string_pretty(&v).unwrap_or_default();
        (self.status_file.clone(), text)
    }

    /// Writes the status file off the async workers, one write at a time.
    async fn write_status(&self, status: &Status) {
        let (file, text) = self.status_text(status);
        let _ = tokio::task::spawn_blocking(move || {
            if let Err(e) = write_atomic(&file, text.as_bytes()) {
                tracing::debug!("{}", describe(&file, "cannot write", &e));
            }
        })
        .await;
    }
}

/// Sends one request on a fresh HTTP/1.1 connection and returns the response's status.
async fn send<S>(stream: S, req: Request<Full<Bytes>>) -> Result<hyper::StatusCode, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let conn = tokio::spawn(conn);
    let result = sender.send_request(req).await;
    conn.abort();
    result
        .map(|r| r.status())
        .map_err(|e| format!("the request failed: {e}"))
}

async fn sleep_or_forever(wait: Option<Duration>) {
    match wait {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
