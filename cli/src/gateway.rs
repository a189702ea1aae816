//! `openclaw gateway`: runs the pairing gateway until SIGINT or SIGTERM.

use crate::exit::Exit;
use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use pairing_host::server::{self, Bind, Options, Started};
use pairing_host::tls::TlsFiles;
use std::path::PathBuf;

mod renew_cert;
mod rotate_token;

/// The long help of the subcommand (set on its variant, whose doc comment would override it here).
pub(crate) const LONG_ABOUT: &str = "Run the pairing gateway: the WebSocket endpoint nodes and operators connect to, and the \
        browser approval page on the same port. It prints the page's link (with the operator token in \
        its #fragment) and the WebSocket URL.\n\n\
        --bind lan serves TLS (https:// and wss://) from --tls-cert and --tls-key (PEM certificate chain; \
        PEM PKCS#8, RSA or SEC1 key). Without them it serves its own self-signed certificate, made on \
        first start in <state>/gateway/tls/ (key 0600) and reused after, and prints its SHA-256 \
        fingerprint: clients pin it with --tls-fingerprint, no CA needed. `openclaw gateway \
        renew-cert` replaces it. --allow-plaintext serves plaintext ws:// instead. Clients that do \
        not trust a given certificate's issuer pass it with --ca FILE.\n\n\
        State lives in $OPENCLAW_STATE_DIR (default ~/.openclaw): pairing state under nodes/, and \
        openclaw.json with the port and the operator token (created on first start, 0600), which \
        `openclaw nodes …` on this machine reads. Stops cleanly on Ctrl-C or SIGTERM.\n\n\
        --auto-approve-local approves devices (OpenClaw node hosts and apps connecting with the gateway \
        token) that connect from 127.0.0.1 or ::1 at once, without a person; the audit trail records \
        them with approvedVia \"local\". It is off by default because loopback is not trusted: an SSH \
        port-forward, or another user of this machine, connects from loopback too.";

/// `openclaw gateway`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  \
        openclaw gateway\n  \
        openclaw gateway --port 18790 --pending-ttl 10m\n  \
        OPENCLAW_STATE_DIR=/tmp/gw openclaw gateway --port 0   # any free port\n  \
        openclaw gateway --bind lan                            # wss:// on the LAN, self-signed\n  \
        openclaw gateway --bind lan --tls-cert cert.pem --tls-key key.pem   # wss://, your certificate\n  \
        openclaw gateway --bind lan --allow-plaintext          # LAN without TLS (trusted networks only)\n  \
        openclaw gateway --auto-approve-local                  # pair this machine's own devices unasked\n  \
        openclaw gateway --audit-max-bytes 1MiB --audit-keep 3  # at most 4 MiB of audit trail\n  \
        openclaw gateway rotate-token                          # a new operator token and page link\n  \
        openclaw gateway renew-cert                            # a new self-signed certificate\n  \
        openclaw gateway --notify-webhook https://ntfy.sh/TOPIC  # a phone buzzes when a device asks",
    args_conflicts_with_subcommands = true
)]
pub struct Opt {
    /// Instead of running the gateway: manage it.
    #[command(subcommand)]
    pub action: Option<Action>,
    /// TCP port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 18789)]
    pub port: u16,
    /// Listen on loopback only, or on every interface.
    #[arg(long, value_enum, default_value_t = BindArg::Loopback)]
    pub bind: BindArg,
    /// With --bind lan and no certificate: serve plaintext ws:// (anyone on the network can read it)
    /// instead of the generated self-signed certificate.
    #[arg(long)]
    pub allow_plaintext: bool,
    /// Serve TLS (https://, wss://) with this PEM certificate chain (leaf first); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, RSA or SEC1) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Refuse node.pair.request ("pairing disabled").
    #[arg(long)]
    pub no_pairing: bool,
    /// Approve devices connecting from 127.0.0.1 or ::1 without a person (audited approvedVia
    /// "local"). Off by default: loopback is not trusted — an SSH port-forward or another user of this
    /// machine connects from loopback too.
    #[arg(long)]
    pub auto_approve_local: bool,
    /// How long a pending request lives: 20s, 5m, 300000ms (a unit is required).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = crate::args::parse_duration)]
    pub pending_ttl: u64,
    /// Rotate the audit trail (nodes/audit.jsonl) into a numbered file before it passes this size:
    /// 10MiB, 512KiB, 1GiB, or bytes.
    #[arg(long, value_name = "SIZE", default_value = "10MiB", value_parser = parse_size)]
    pub audit_max_bytes: u64,
    /// Rotated audit files kept; older ones are deleted. The trail takes at most
    /// (KEEP + 1) × --audit-max-bytes on disk (50 MiB by default), however many requests arrive.
    #[arg(long, value_name = "KEEP", default_value_t = pairing_host::audit_log::KEEP,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub audit_keep: u64,
    /// Sockets open at once (default 16384, kept 256 below the open-file limit, which is raised to
    /// its hard limit). Beyond it the oldest socket that has not finished its handshake makes room;
    /// 64 stay reserved for operators.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
    /// Sockets open at once from one address (default 512; HTTP 503 beyond). Node connections from
    /// one address get this minus 64.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections_per_ip: Option<u64>,
    /// Also accept requests whose Host header is NAME (a DNS name this gateway is reached by);
    /// repeatable. Its own addresses and localhost are always accepted; other names are refused
    /// against DNS rebinding.
    #[arg(long, value_name = "NAME")]
    pub allowed_host: Vec<String>,
    /// POST pairing requests and decisions to URL as JSON (Slack-style `text`; ntfy: point it at
    /// <https://ntfy.sh/TOPIC>). Retried with backoff; never carries a token.
    #[arg(long, value_name = "URL")]
    pub notify_webhook: Option<String>,
    /// Sign webhooks with the secret in FILE (HMAC-SHA256 over "TIMESTAMP.BODY", headers
    /// X-OpenClaw-Timestamp and X-OpenClaw-Signature).
    #[arg(long, value_name = "FILE", requires = "notify_webhook")]
    pub notify_secret_file: Option<PathBuf>,
}

/// `--audit-max-bytes`: a number of bytes, or one with a binary unit (KiB, MiB, GiB; K, M, G).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(digits);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a size; write it like 10MiB, 512KiB or 1048576"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        _ => return Err(format!("unknown unit in {s:?}; use KiB, MiB or GiB")),
    };
    let bytes = n
        .checked_mul(scale)
        .ok_or_else(|| format!("{s:?} is too large"))?;
    if bytes < 4096 {
        return Err(format!("{s:?} is too small: at least 4KiB"));
    }
    Ok(bytes)
}

/// `openclaw gateway <action>`.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// Replace the operator token: old links, open pages and CLIs stop working at once.
    #[command(
        long_about = rotate_token::LONG_ABOUT,
        after_help = rotate_token::AFTER_HELP
    )]
    RotateToken(rotate_token::Opt),
    /// Replace the self-signed TLS certificate `--bind lan` generated (gateway stopped).
    #[command(
        long_about = renew_cert::LONG_ABOUT,
        after_help = renew_cert::AFTER_HELP
    )]
    RenewCert(renew_cert::Opt),
}

/// `--bind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BindArg {
    /// 127.0.0.1 only.
    Loopback,
    /// All interfaces.
    Lan,
}

/// Checks the flags and turns them into server options.
fn options(opt: &Opt) -> anyhow::Result<Options> {
    let tls = match (&opt.tls_cert, &opt.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        (None, None) => None,
        _ => bail!("--tls-cert and --tls-key go together"),
    };
    if opt.pending_ttl == 0 {
        bail!("--pending-ttl must be longer than 0");
    }
    Ok(Options {
        state_dir: pairing_host::paths::state_dir(),
        port: opt.port,
        bind: match opt.bind {
            BindArg::Loopback => Bind::Loopback,
            BindArg::Lan => Bind::Lan,
        },
        allow_plaintext: opt.allow_plaintext,
        tls,
        pairing_enabled: !opt.no_pairing,
        auto_approve_local: opt.auto_approve_local,
        pending_ttl_ms: opt.pending_ttl,
        audit: pairing_host::audit_log::AuditLimits {
            max_bytes: opt.audit_max_bytes,
            keep: opt.audit_keep,
        },
        net: server::NetOptions {
            max_connections: opt.max_connections.map(|n| n as usize),
            max_connections_per_ip: opt.max_connections_per_ip.map(|n| n as usize),
            allowed_hosts: opt.allowed_host.clone(),
        },
        notify: opt
            .notify_webhook
            .as_ref()
            .map(|url| pairing_host::webhook::NotifyOptions {
                url: url.clone(),
                secret_file: opt.notify_secret_file.clone(),
            }),
    })
}

/// Runs the gateway until a signal arrives.
pub(crate) async fn run(opt: Opt) -> anyhow::Result<Exit> {
    match opt.action {
        Some(Action::RotateToken(o)) => return rotate_token::run(o).await,
        Some(Action::RenewCert(o)) => return renew_cert::run(&o),
        None => {}
    }
    let opts = options(&opt)?;
    let on_ready = |s: &Started| {
        use std::io::Write;
        // Written without println!: a closed stdout (`openclaw gateway | head -1`) must not stop the
        // gateway.
        let mut out = std::io::stdout().lock();
        // The page link carries the operator token: it goes to stdout for the person, never to the
        // log (stderr), which records only the address.
        let _ = writeln!(
            out,
            "Approval page: {}\n\
             Gateway: {}",
            s.page_url(),
            s.ws_url
        );
        if let Some(tls) = &s.tls {
            let _ = writeln!(out, "{}", renew_cert::fingerprint_lines(tls));
        }
        let _ = out.flush();
        tracing::info!(addr = %s.addr, "gateway listening");
    };
    // The handlers are installed before the gateway says it is ready: a SIGTERM right after the URL
    // is printed (a supervisor, a test) must be a clean shutdown, not the default action's kill.
    let shutdown = shutdown_signal()?;
    server::run(opts, on_ready, shutdown).await?;
    Ok(Exit::Ok)
}

/// Installs the SIGINT and SIGTERM handlers now; the future resolves on either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use anyhow::Context;
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        }
    })
}

#[cfg(test)]
mod tests;
