//! TLS for the gateway (`wss://` and `https://` on one port): loading the certificate and key.
//!
//! warp 0.4 has no working TLS support, so the gateway terminates TLS itself: [`crate::accept::serve`]
//! accepts TCP, runs the rustls handshake (tokio-rustls, the `ring` provider) under a deadline, and
//! serves each TLS stream with hyper, as it does plaintext ones, so the same filter answers the page
//! and upgrades the WebSocket.

use anyhow::{Context, anyhow};
use rustls::ServerConfig;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The certificate chain and private key files (`--tls-cert`, `--tls-key`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`), RSA (`BEGIN RSA PRIVATE KEY`) or SEC1
    /// (`BEGIN EC PRIVATE KEY`).
    pub key: PathBuf,
}

/// The crypto provider of every TLS configuration here: `ring`, chosen explicitly (rustls' default,
/// aws-lc-rs, needs cmake and a C toolchain to build).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads the certificate chain and key and builds the server configuration (TLS 1.2 and 1.3, ALPN
/// `http/1.1`: the WebSocket upgrade is an HTTP/1.1 affair). Every error is one line naming the file.
pub fn load(files: &TlsFiles) -> anyhow::Result<Arc<ServerConfig>> {
    load_served(files, Links::Follow).map(|(config, _)| config)
}

/// Whether reading the files may follow a symbolic link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Links {
    /// Files the user named (`--tls-cert`): certbot's `live/` files are links, for one.
    Follow,
    /// Files of the state directory (the generated certificate): a link in their place is refused
    /// ([`crate::fsutil::open_private`]).
    Refuse,
}

/// [`load`], also returning the fingerprint of the certificate served (the leaf's SHA-256 as
/// [`fingerprint`] writes it).
pub fn load_served(files: &TlsFiles, links: Links) -> anyhow::Result<(Arc<ServerConfig>, String)> {
    let certs = parse_certs(&files.cert, &read_file(&files.cert, "certificate", links)?)?;
    let key_pem = zeroize::Zeroizing::new(read_file(&files.key, "key", links)?);
    let key = parse_key(&files.key, &key_pem)?;
    let fingerprint = fingerprint(&certs[0]);
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("TLS setup failed: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => anyhow!(
                "the TLS key {} does not belong to the certificate {}",
                files.key.display(),
                files.cert.display()
            ),
            e => anyhow!(
                "cannot use the TLS certificate {} with the key {}: {e}",
                files.cert.display(),
                files.key.display()
            ),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), fingerprint))
}

fn read_file(path: &Path, what: &str, links: Links) -> anyhow::Result<Vec<u8>> {
    let context = || format!("cannot read the TLS {what} {}", path.display());
    match links {
        Links::Follow => std::fs::read(path).with_context(context),
        Links::Refuse => match crate::fsutil::read_private(path) {
            Ok(Some(b)) => Ok(b),
            Ok(None) => Err(anyhow!("{}: no such file", context())),
            Err(e) => Err(anyhow!("{}", crate::fsutil::describe(path, &context(), &e))),
        },
    }
}

/// The PEM certificate chain in `path`; an empty or malformed file is an error naming it.
pub fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    parse_certs(path, &read_file(path, "certificate", Links::Follow)?)
}

fn parse_certs(path: &Path, bytes: &[u8]) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            anyhow!(
                "the TLS certificate {} is not valid PEM: {e}",
                path.display()
            )
        })?;
    if certs.is_empty() {
        return Err(anyhow!(
            "the TLS certificate {} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

/// The first PEM private key (PKCS#8, RSA or SEC1) in `path`.
pub fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    parse_key(
        path,
        &zeroize::Zeroizing::new(read_file(path, "key", Links::Follow)?),
    )
}

fn parse_key(path: &Path, bytes: &[u8]) -> anyhow::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => anyhow!(
            "the TLS key {} holds no private key (expected PEM: -----BEGIN PRIVATE KEY-----, \
             RSA PRIVATE KEY or EC PRIVATE KEY)",
            path.display()
        ),
        e => anyhow!("the TLS key {} is not valid PEM: {e}", path.display()),
    })
}

/// The SHA-256 of a DER certificate in the form OpenClaw normalises fingerprints to (and setup
/// codes carry as `tlsFingerprint`): 64 lower-case hex digits, no colons. `--tls-fingerprint`
/// (ours and OpenClaw's) takes it as printed.
pub fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests;
