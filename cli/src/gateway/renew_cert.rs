//! `openclaw gateway renew-cert`: a new self-signed certificate replaces the one `--bind lan`
//! generated ([`pairing_host::tls_auto`]), audited `tls-cert-renewed`.
//!
//! Only with the gateway stopped: a running gateway keeps serving the certificate it loaded, so
//! renewing under it would print a fingerprint no client sees until a restart. The refusal says so
//! and names the running gateway.

use crate::exit::Exit;
use anyhow::{Context, anyhow, bail};
use clap::Args;
use pairing_core::{Config, Gateway, Token};
use pairing_host::file_store::FileStore;
use pairing_host::gateway_config;
use pairing_host::lock::StateLock;
use pairing_host::tls_auto::{self, Names, Served};
use serde_json::json;
use std::path::Path;

/// The long help.
pub(super) const LONG_ABOUT: &str = "Replace the self-signed TLS certificate the gateway made for --bind lan \
        (<state>/gateway/tls/gateway-cert.pem and gateway-key.pem) with a new one and a new key, and \
        print its SHA-256 fingerprint. The audit trail gets a tls-cert-renewed entry naming the new \
        fingerprint.\n\n\
        Run it with the gateway stopped (it refuses while one runs on this state directory: a running \
        gateway serves the certificate it loaded until it stops). Clients pinned to the old \
        fingerprint (--tls-fingerprint, setup codes) must be given the new one. Renew when the key may \
        have leaked, or to add names with --allowed-host.";

/// The examples.
pub(super) const AFTER_HELP: &str = "Examples:\n  \
        openclaw gateway renew-cert\n  \
        openclaw gateway renew-cert --allowed-host gw.example.lan\n  \
        openclaw gateway renew-cert --json     # {\"fingerprint\": …, \"previous\": …, \"cert\": …}";

/// `openclaw gateway renew-cert`.
#[derive(Debug, Args)]
pub struct Opt {
    /// Also name NAME (a DNS name or address the gateway is reached by) in the certificate;
    /// repeatable. localhost, the host name and this machine's addresses are always in it.
    #[arg(long, value_name = "NAME")]
    pub allowed_host: Vec<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// What the gateway prints about the certificate it serves: its fingerprint, and for its own
/// certificate where it lives and how clients pin it.
pub(crate) fn fingerprint_lines(tls: &Served) -> String {
    let mut s = format!("TLS fingerprint (SHA-256): {}", tls.fingerprint);
    if let Some(cert) = &tls.generated {
        let how = if tls.created {
            "generated now"
        } else {
            "reused"
        };
        s.push_str(&format!(
            "\n  self-signed, {how}: {}\n  clients pin it: --tls-fingerprint {}",
            cert.display(),
            tls.fingerprint
        ));
    }
    s
}

/// Runs the command.
pub(super) fn run(opt: &Opt) -> anyhow::Result<Exit> {
    let state_dir = pairing_host::paths::state_dir();
    let cert = tls_auto::files(&state_dir).cert;
    let (previous, fingerprint) = renew(&state_dir, &opt.allowed_host)?;
    if opt.json {
        println!(
            "{}",
            json!({ "fingerprint": fingerprint, "previous": previous, "cert": cert })
        );
    } else {
        println!("TLS fingerprint (SHA-256): {fingerprint}");
        eprintln!(
            "A new self-signed certificate is in {}{}. The gateway serves it from its next start; \
             clients pinned to the old fingerprint need the new one (--tls-fingerprint {fingerprint}).",
            cert.display(),
            previous
                .map(|p| format!(" (it replaced {p})"))
                .unwrap_or_default()
        );
    }
    Ok(Exit::Ok)
}

/// Renews the certificate of a stopped gateway and audits it through the core, in-process on the
/// state directory (the same file store the gateway uses, so the same chained trail).
fn renew(state_dir: &Path, allowed_hosts: &[String]) -> anyhow::Result<(Option<String>, String)> {
    if !state_dir.is_dir() {
        bail!(
            "no gateway on this machine: the state directory {} does not exist (start `openclaw \
             gateway --bind lan` once; it makes the certificate)",
            state_dir.display()
        );
    }
    let _lock = match StateLock::try_acquire(state_dir)
        .context("the certificate was not renewed")?
    {
        Ok(lock) => lock,
        Err(owner) => bail!(
            "a gateway is running on {} ({owner}) and serves the current certificate until it stops; \
             the certificate was not renewed — stop the gateway, run `openclaw gateway renew-cert`, \
             and start it again",
            state_dir.display()
        ),
    };
    let token = gateway_config::read(state_dir)?
        .and_then(|f| f.token)
        .ok_or_else(|| {
            anyhow!(
                "no gateway on this machine: {} holds no token (start `openclaw gateway --bind lan` \
                 once)",
                gateway_config::path(state_dir).display()
            )
        })?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow!("OS random source failed: {e}"))?;
    let now = pairing_host::clock::now_ms();
    let mut gw = Gateway::new(
        Config::new(Token::new(token)),
        seed,
        FileStore::new(state_dir),
        now,
    )
    .map_err(|e| anyhow!("cannot load the state in {}: {e}", state_dir.display()))?;
    let (previous, fingerprint) =
        tls_auto::renew(state_dir, &Names::of_this_machine(allowed_hosts))?;
    gw.audit_tls_cert_renewed(&fingerprint);
    gw.commit().map_err(|e| {
        anyhow!("the certificate was renewed (fingerprint {fingerprint}) but not audited: {e}")
    })?;
    Ok((previous, fingerprint))
}
