//! The client side of `wss://`: which certificates to trust, and turning a failed handshake into one
//! clear line.
//!
//! Trust: `--ca FILE` (PEM; `OPENCLAW_GATEWAY_CA`) when given — then only those certificates, which is
//! how a self-signed gateway is reached — else the operating system's roots (rustls-native-certs: the
//! same store `curl` and the browsers on this machine use, so a certificate the administrator installed
//! or a corporate CA is honoured, and no root bundle is compiled into the binary). The crypto provider
//! is `ring`, as on the gateway.

use anyhow::{Context, anyhow, bail};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;

/// The rustls client configuration for a `wss://` gateway: roots from `ca`, else from the system.
pub fn client_config(ca: Option<&Path>) -> anyhow::Result<Arc<ClientConfig>> {
    let roots = match ca {
        Some(path) => roots_from_file(path)?,
        None => system_roots()?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Every PEM certificate in `path` becomes a trust anchor.
fn roots_from_file(path: &Path) -> anyhow::Result<RootCertStore> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the CA file {}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("the CA file {} is not valid PEM: {e}", path.display()))?;
    if certs.is_empty() {
        bail!(
            "the CA file {} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)",
            path.display()
        );
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| {
            anyhow!(
                "the CA file {} holds an unusable certificate: {e}",
                path.display()
            )
        })?;
    }
    Ok(roots)
}

fn system_roots() -> anyhow::Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        bail!(
            "no trusted root certificates found on this system{}; pass the gateway's CA with --ca FILE",
            found
                .errors
                .first()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
    }
    Ok(roots)
}

/// If `err` is a failed TLS handshake, the one line to show for it.
pub fn explain(err: &tokio_tungstenite::tungstenite::Error, url: &str) -> Option<String> {
    use rustls::{CertificateError, Error as Tls};
    use tokio_tungstenite::tungstenite::Error as Ws;
    use tokio_tungstenite::tungstenite::error::TlsError;
    let tls = match err {
        Ws::Io(io) => io.get_ref()?.downcast_ref::<Tls>()?,
        Ws::Tls(TlsError::Rustls(e)) => &**e,
        Ws::Tls(TlsError::InvalidDnsName) => {
            return Some(format!(
                "cannot connect to {url}: its host is not a valid TLS server name"
            ));
        }
        _ => return None,
    };
    Some(match tls {
        Tls::InvalidCertificate(why) => {
            let why = match why {
                CertificateError::UnknownIssuer => {
                    "it is signed by an unknown authority".to_owned()
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => {
                    "it is not valid for this host name or address".to_owned()
                }
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    "it has expired".to_owned()
                }
                other => other.to_string(),
            };
            format!("the gateway's TLS certificate is not trusted: {why} ({url}; use --ca FILE)")
        }
        other => format!("TLS handshake with {url} failed: {other}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_files_are_read_or_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let good = dir.path().join("ca.pem");
        std::fs::write(&good, cert.cert.pem()).unwrap();
        assert!(client_config(Some(&good)).is_ok());
        let key_only = dir.path().join("key.pem");
        std::fs::write(&key_only, cert.signing_key.serialize_pem()).unwrap();
        let missing = dir.path().join("missing.pem");
        for bad in [key_only, missing] {
            let e = format!("{:#}", client_config(Some(&bad)).unwrap_err());
            assert!(e.contains(&bad.display().to_string()), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn untrusted_certificates_get_the_clear_line() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let line = explain(
            &tokio_tungstenite::tungstenite::Error::Io(io),
            "wss://127.0.0.1:1/",
        )
        .unwrap();
        assert!(
            line.starts_with("the gateway's TLS certificate is not trusted: ")
                && line.ends_with("use --ca FILE)"),
            "{line}"
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            explain(&tokio_tungstenite::tungstenite::Error::Io(refused), "x"),
            None
        );
    }
}
