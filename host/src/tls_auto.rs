//! TLS without ceremony: the gateway's own self-signed certificate.
//!
//! `openclaw gateway --bind lan` with neither `--tls-cert` nor `--allow-plaintext` serves the
//! certificate kept in `<state>/gateway/tls/` (`gateway-cert.pem`, `gateway-key.pem`: the paths
//! OpenClaw's gateway uses), generating it on first start: an ECDSA P-256 key (0600, written
//! atomically, never through a link) and a certificate naming `localhost`, the machine's host name,
//! its loopback and outbound addresses and every `--allowed-host`. Later starts reuse it, so the
//! fingerprint clients pinned stays valid; `openclaw gateway renew-cert` replaces it ([`renew`]).
//!
//! Clients trust it by its SHA-256 fingerprint (`--tls-fingerprint`, OpenClaw's flag), not by a CA:
//! the names in it only matter to clients that check them, and an address that changes later
//! (DHCP) does not break a pinned client.

use crate::fsutil::{create_private, describe, private_subdir, read_private, write_atomic};
use crate::tls::{TlsFiles, fingerprint};
use anyhow::{Context, anyhow, bail};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};
use std::path::{Path, PathBuf};

/// The directory of the generated certificate, inside the state directory.
pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("gateway").join("tls")
}

/// The generated certificate and key files.
pub fn files(state_dir: &Path) -> TlsFiles {
    let d = dir(state_dir);
    TlsFiles {
        cert: d.join("gateway-cert.pem"),
        key: d.join("gateway-key.pem"),
    }
}

/// The fingerprint of the leaf (first) certificate of a PEM chain.
pub fn fingerprint_of_pem(pem: &[u8]) -> anyhow::Result<String> {
    let leaf = CertificateDer::pem_slice_iter(pem)
        .next()
        .ok_or_else(|| anyhow!("no certificate in the PEM text"))?
        .map_err(|e| anyhow!("the certificate is not valid PEM: {e}"))?;
    Ok(fingerprint(&leaf))
}

/// What the generated certificate is made for: the names and addresses it lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    /// DNS names (`localhost`, the host name, `--allowed-host` names).
    pub dns: Vec<String>,
    /// IP addresses (loopback and the outbound ones).
    pub ips: Vec<IpAddr>,
}

impl Names {
    /// `localhost`, this machine's host name, 127.0.0.1, ::1, the addresses the machine sends from
    /// (found without sending anything), and `extra` names (`--allowed-host`; an address among them
    /// goes to the IP list). Sorted and without duplicates.
    pub fn of_this_machine(extra: &[String]) -> Names {
        let mut names = Names {
            dns: vec!["localhost".to_owned()],
            ips: vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ],
        };
        if let Some(h) = host_name() {
            names.dns.push(h);
        }
        names.ips.extend(outbound_ips());
        for e in extra {
            match e.trim().parse::<IpAddr>() {
                Ok(ip) => names.ips.push(ip),
                Err(_) if !e.trim().is_empty() => names.dns.push(e.trim().to_ascii_lowercase()),
                Err(_) => {}
            }
        }
        names.dns.sort();
        names.dns.dedup();
        names.ips.sort();
        names.ips.dedup();
        names
    }
}

/// The kernel's host name, if it is a usable DNS name.
fn host_name() -> Option<String> {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let h = h.trim().to_ascii_lowercase();
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    ok.then_some(h)
}

/// The local addresses of the default routes: a UDP socket "connected" to a documentation address
/// (RFC 5737 / RFC 3849) picks its source address without sending a packet.
fn outbound_ips() -> Vec<IpAddr> {
    let probe = |bind: &str, to: &str| -> Option<IpAddr> {
        let s = UdpSocket::bind(bind).ok()?;
        s.connect(to).ok()?;
        let ip = s.local_addr().ok()?.ip();
        (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
    };
    [
        probe("0.0.0.0:0", "192.0.2.1:9"),
        probe("[::]:0", "[2001:db8::1]:9"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A new key and a self-signed certificate for `names`, both PEM.
pub fn generate(names: &Names) -> anyhow::Result<(String, zeroize::Zeroizing<String>)> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
        .map_err(|e| anyhow!("cannot make a certificate: {e}"))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "openclaw-gateway");
    for d in &names.dns {
        // A name rcgen refuses (not IA5) is left out rather than failing the start.
        if let Ok(n) = d.clone().try_into() {
            params.subject_alt_names.push(rcgen::SanType::DnsName(n));
        }
    }
    for ip in &names.ips {
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(*ip));
    }
    let key = rcgen::KeyPair::generate().map_err(|e| anyhow!("cannot make a TLS key: {e}"))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| anyhow!("cannot sign the certificate: {e}"))?;
    Ok((cert.pem(), zeroize::Zeroizing::new(key.serialize_pem())))
}

/// The certificate a gateway serves, as its caller is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// Its SHA-256, as [`crate::tls::fingerprint`] writes it.
    pub fingerprint: String,
    /// The generated certificate's file, when it is the gateway's own (`None`: `--tls-cert`).
    pub generated: Option<PathBuf>,
    /// It was generated at this start.
    pub created: bool,
}

impl Served {
    /// A certificate the user gave.
    pub fn given(fingerprint: String) -> Served {
        Served {
            fingerprint,
            generated: None,
            created: false,
        }
    }
}

/// The generated certificate of `state_dir` (made now if there is none, for this machine's names and
/// `allowed_hosts`), loaded for serving. The caller holds the state directory's lock.
pub fn serve(
    state_dir: &Path,
    allowed_hosts: &[String],
) -> anyhow::Result<(std::sync::Arc<rustls::ServerConfig>, Served)> {
    let (files, created) = ensure(state_dir, &Names::of_this_machine(allowed_hosts))?;
    let (config, fingerprint) = crate::tls::load_served(&files, crate::tls::Links::Refuse)?;
    if created {
        tracing::info!(cert = %files.cert.display(), "generated a self-signed TLS certificate");
    }
    Ok((
        config,
        Served {
            fingerprint,
            generated: Some(files.cert),
            created,
        },
    ))
}

/// The generated certificate of `state_dir`, made now if there is none; `true` when it was made.
/// A key without its certificate (or the reverse) is an error naming both, not silently replaced:
/// clients pinned the old fingerprint.
pub fn ensure(state_dir: &Path, names: &Names) -> anyhow::Result<(TlsFiles, bool)> {
    let f = files(state_dir);
    let has = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    match (has(&f.cert), has(&f.key)) {
        (true, true) => return Ok((f, false)),
        (false, false) => {}
        _ => bail!(
            "{} and {} must both exist; run `openclaw gateway renew-cert` for a new pair (clients \
             pinned to the old fingerprint must then be given the new one)",
            f.cert.display(),
            f.key.display()
        ),
    }
    make_dir(state_dir)?;
    let (cert, key) = generate(names)?;
    // The key first: a certificate never exists without its key. Created only if absent.
    let made_key = create_private(&f.key, key.as_bytes())
        .map_err(|e| anyhow!("{}", describe(&f.key, "cannot write", &e)))?;
    let made_cert = create_private(&f.cert, cert.as_bytes())
        .map_err(|e| anyhow!("{}", describe(&f.cert, "cannot write", &e)))?;
    if !(made_key && made_cert) {
        bail!(
            "{} or {} appeared while it was being created; start the gateway again",
            f.cert.display(),
            f.key.display()
        );
    }
    Ok((f, true))
}

/// `<state>/gateway/tls`, 0700, with no link in the place of either directory.
fn make_dir(state_dir: &Path) -> anyhow::Result<()> {
    let d = dir(state_dir);
    for p in [state_dir.join("gateway"), d.clone()] {
        private_subdir(&p).map_err(|e| anyhow!("{}", describe(&p, "cannot create", &e)))?;
    }
    Ok(())
}

/// The fingerprint of the certificate in `state_dir`, if there is one (read without following a
/// link).
pub fn current_fingerprint(state_dir: &Path) -> anyhow::Result<Option<String>> {
    let f = files(state_dir);
    match read_private(&f.cert) {
        Ok(Some(pem)) => fingerprint_of_pem(&pem)
            .map(Some)
            .with_context(|| format!("cannot read {}", f.cert.display())),
        Ok(None) => Ok(None),
        Err(e) => bail!("{}", describe(&f.cert, "cannot read", &e)),
    }
}

/// Replaces the generated certificate and key with new ones for `names` (each file atomically, the
/// key first); returns the old fingerprint (if any) and the new one. The caller holds the state
/// directory's lock: a running gateway keeps serving what it loaded.
pub fn renew(state_dir: &Path, names: &Names) -> anyhow::Result<(Option<String>, String)> {
    let old = current_fingerprint(state_dir)?;
    make_dir(state_dir)?;
    let f = files(state_dir);
    let (cert, key) = generate(names)?;
    write_atomic(&f.key, key.as_bytes())
        .map_err(|e| anyhow!("{}", describe(&f.key, "cannot write", &e)))?;
    write_atomic(&f.cert, cert.as_bytes())
        .map_err(|e| anyhow!("{}", describe(&f.cert, "cannot write", &e)))?;
    Ok((old, fingerprint_of_pem(cert.as_bytes())?))
}

#[cfg(test)]
mod tests;
