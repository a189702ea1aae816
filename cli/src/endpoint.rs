//! Which gateway to talk to and with which token.
//!
//! URL: `--url`, else `OPENCLAW_GATEWAY_URL`, else `ws://127.0.0.1:<port>/` with the port from
//! `<state>/openclaw.json` (default 18789) — `wss://`, pinned to the certificate's fingerprint, when
//! the gateway recorded one there (it serves TLS). Token: `--token`, else `OPENCLAW_GATEWAY_TOKEN`, else the
//! config file's token — which is sent only to a loopback URL, so pointing the CLI at another host never
//! leaks this machine's gateway secret. Plaintext `ws://` to a non-loopback host is refused unless
//! `--allow-plaintext` is given; `wss://` goes anywhere, trusting `--ca FILE` (else
//! `OPENCLAW_GATEWAY_CA`), `--tls-fingerprint` (else `OPENCLAW_GATEWAY_TLS_FINGERPRINT`) or the
//! system's roots ([`crate::tls`]).

use crate::tls::{Fingerprint, Trust};
use anyhow::{Context, bail};
use pairing_host::gateway_config::GatewayFile;
use std::net::IpAddr;
use std::path::PathBuf;

/// The port a gateway uses when the config file names none.
pub(crate) const DEFAULT_PORT: u16 = 18789;

/// Everything the resolution looks at, gathered first so the rules can be tested without a process
/// environment.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sources {
    /// `--url`.
    pub flag_url: Option<String>,
    /// `OPENCLAW_GATEWAY_URL`.
    pub env_url: Option<String>,
    /// A URL the command remembers (`node verify` uses the one stored with its token).
    pub remembered_url: Option<String>,
    /// `--token`.
    pub flag_token: Option<String>,
    /// `OPENCLAW_GATEWAY_TOKEN`.
    pub env_token: Option<String>,
    /// `<state>/openclaw.json`, if readable.
    pub config: Option<GatewayFile>,
    /// `--allow-plaintext`.
    pub allow_plaintext: bool,
    /// `--ca` (or `OPENCLAW_GATEWAY_CA`): the certificates a `wss://` gateway is checked against.
    pub ca: Option<PathBuf>,
    /// `--tls-fingerprint` (or `OPENCLAW_GATEWAY_TLS_FINGERPRINT`): the pinned certificate hash.
    pub tls_fingerprint: Option<Fingerprint>,
}

impl Sources {
    /// Gathers the sources from the flags, the environment and `<state>/openclaw.json`.
    pub(crate) fn gather(conn: &crate::args::ConnArgs) -> anyhow::Result<Sources> {
        let state = pairing_host::paths::state_dir();
        let config = pairing_host::gateway_config::read(&state)?;
        Ok(Sources {
            flag_url: conn.url.clone(),
            env_url: non_blank_env("OPENCLAW_GATEWAY_URL"),
            remembered_url: None,
            flag_token: conn.token.clone(),
            env_token: non_blank_env("OPENCLAW_GATEWAY_TOKEN"),
            config,
            allow_plaintext: conn.allow_plaintext,
            ca: conn.ca.clone(),
            tls_fingerprint: conn.tls_fingerprint,
        })
    }
}

fn non_blank_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn non_blank(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A checked gateway URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GatewayUrl {
    /// The URL as it will be dialled.
    pub url: String,
    /// The host part, without brackets.
    pub host: String,
    /// Whether the host is loopback (127.0.0.0/8, ::1, localhost).
    pub loopback: bool,
    /// `wss://`.
    pub tls: bool,
    /// For `wss://`: what to trust ([`crate::tls`]).
    pub trust: Trust,
}

/// Where to connect, and (for operators) the token to present.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    /// The gateway URL.
    pub url: GatewayUrl,
    /// The operator token, if one could be chosen.
    pub token: Option<String>,
}

/// Parses and checks a gateway URL: `ws://HOST[:PORT][/path]` or `wss://…`.
pub(crate) fn parse_url(text: &str, allow_plaintext: bool) -> anyhow::Result<GatewayUrl> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let (rest, tls) = if lower.starts_with("wss://") {
        (&text[6..], true)
    } else if lower.starts_with("ws://") {
        (&text[5..], false)
    } else {
        bail!("{text}: not a gateway URL; expected ws://HOST:PORT/ or wss://HOST:PORT/");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed
            .split_once(']')
            .map(|(h, _)| h)
            .with_context(|| format!("{text}: unclosed [ in the host"))?
    } else {
        authority.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        bail!("{text}: the URL names no host");
    }
    let loopback = is_loopback_host(host);
    if !tls && !loopback && !allow_plaintext {
        bail!(
            "refusing plaintext ws:// to {host}, which is not loopback: anyone on the network path could \
             read the token; use wss:// (a gateway started with --tls-cert/--tls-key), or pass \
             --allow-plaintext to do it anyway"
        );
    }
    let url = if rest.contains('/') {
        text.to_owned()
    } else {
        format!("{text}/")
    };
    Ok(GatewayUrl {
        url,
        host: host.to_owned(),
        loopback,
        tls,
        trust: Trust::default(),
    })
}

/// Loopback means 127.0.0.0/8, ::1 and `localhost`; `0.0.0.0` is not loopback.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => v6.is_loopback(),
        Err(_) => false,
    }
}

/// Chooses the URL (never a token): for node commands, which present no operator token.
pub(crate) fn resolve_url(src: &Sources) -> anyhow::Result<GatewayUrl> {
    let given = non_blank(&src.flag_url)
        .or_else(|| non_blank(&src.env_url))
        .or_else(|| non_blank(&src.remembered_url));
    // This machine's gateway serving TLS (its own certificate, say) is reached over wss:// pinned
    // to the fingerprint it recorded beside its token.
    let local_pin = src
        .config
        .as_ref()
        .and_then(|c| c.tls_fingerprint.as_deref())
        .and_then(|f| Fingerprint::parse(f).ok())
        .filter(|_| given.is_none());
    let text = given.unwrap_or_else(|| {
        let port = src
            .config
            .as_ref()
            .and_then(|c| c.port)
            .unwrap_or(DEFAULT_PORT);
        let scheme = if local_pin.is_some() { "wss" } else { "ws" };
        format!("{scheme}://127.0.0.1:{port}/")
    });
    let mut url = parse_url(&text, src.allow_plaintext)?;
    url.trust = Trust {
        ca: src.ca.clone(),
        fingerprint: src.tls_fingerprint.or(local_pin),
    };
    Ok(url)
}

/// Chooses URL and operator token. The config file's token goes only to a loopback URL.
pub(crate) fn resolve(src: &Sources) -> anyhow::Result<Endpoint> {
    let url = resolve_url(src)?;
    let explicit = non_blank(&src.flag_token).or_else(|| non_blank(&src.env_token));
    let token = match explicit {
        Some(t) => Some(t),
        None if url.loopback => src.config.as_ref().and_then(|c| c.token.clone()),
        None => None,
    };
    Ok(Endpoint { url, token })
}

/// Like [`resolve`], but an operator needs a token: say where to get one when there is none.
pub(crate) fn resolve_operator(src: &Sources) -> anyhow::Result<Endpoint> {
    let ep = resolve(src)?;
    if ep.token.is_none() {
        if ep.url.loopback {
            bail!(
                "no gateway token: pass --token, set OPENCLAW_GATEWAY_TOKEN, or run `openclaw gateway` on \
                 this machine (it writes the token to <state>/openclaw.json)"
            );
        }
        bail!(
            "no gateway token for {}: the token in openclaw.json is sent only to loopback URLs; pass \
             --token or set OPENCLAW_GATEWAY_TOKEN",
            ep.url.host
        );
    }
    Ok(ep)
}

#[cfg(test)]
mod tests;
