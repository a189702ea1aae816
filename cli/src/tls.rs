//! The client side of `wss://`: which certificates to trust, and turning a failed handshake into one
//! clear line.
//!
//! Trust ([`Trust`]):
//! - `--ca FILE` (PEM; `OPENCLAW_GATEWAY_CA`): a gateway certificate equal byte for byte to one in the
//!   file is trusted as a pinned certificate — the self-signed certificate most people make
//!   (`openssl req -x509 …` marks it a CA, which chain validation refuses as a server certificate,
//!   "CaUsedAsEndEntity"); otherwise the file's certificates are the roots its chain must lead to.
//! - `--tls-fingerprint SHA256` (`OPENCLAW_GATEWAY_TLS_FINGERPRINT`): the SHA-256 of the gateway's
//!   certificate must be this one, as OpenClaw's node host pins it; alone it is the whole check, with
//!   `--ca` both must hold.
//! - neither: the operating system's roots (rustls-native-certs: the same store `curl` and the browsers
//!   on this machine use, so a certificate the administrator installed or a corporate CA is honoured,
//!   and no root bundle is compiled into the binary).
//!
//! A pinned certificate is trusted whatever its names and dates say: the person named that very
//! certificate. The handshake signature is checked in every case, so only the holder of its key passes.
//! The crypto provider is `ring`, as on the gateway.

use anyhow::{Context, anyhow, bail};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The SHA-256 of a certificate (its DER bytes), as `--tls-fingerprint` names it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER certificate.
    pub fn of(der: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(der).into())
    }

    /// Reads a fingerprint as people copy it: 64 hex digits, upper or lower case, with or without
    /// colons or spaces between the bytes, optionally after `sha256:`, `SHA-256 ` or openssl's
    /// `sha256 Fingerprint=` (OpenClaw takes the same forms).
    pub fn parse(text: &str) -> Result<Fingerprint, String> {
        let bad = || {
            format!(
                "--tls-fingerprint {text:?}: expected the certificate's SHA-256 as 64 hex digits, colons \
                 optional (`openssl x509 -noout -fingerprint -sha256 -in cert.pem` prints it)"
            )
        };
        let t = text.trim();
        let lower = t.to_ascii_lowercase();
        let mut rest = t;
        for prefix in ["sha256 fingerprint=", "sha-256", "sha256"] {
            if lower.starts_with(prefix) {
                rest = &t[prefix.len()..];
                break;
            }
        }
        let rest = rest.trim_start().trim_start_matches(':').trim();
        let mut hex = String::with_capacity(64);
        for c in rest.chars() {
            match c {
                ':' | ' ' => {}
                c if c.is_ascii_hexdigit() => hex.push(c.to_ascii_lowercase()),
                _ => return Err(bad()),
            }
        }
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Fingerprint(out))
    }
}

/// `AB:CD:…`, the form openssl prints.
impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// The clap parser of `--tls-fingerprint`.
pub(crate) fn parse_fingerprint(text: &str) -> Result<Fingerprint, String> {
    Fingerprint::parse(text)
}

/// What a `wss://` connection trusts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Trust {
    /// `--ca FILE`: certificates pinned as they are, and roots for chains.
    pub ca: Option<PathBuf>,
    /// `--tls-fingerprint`: the SHA-256 the gateway's certificate must have.
    pub fingerprint: Option<Fingerprint>,
}

/// The gateway's certificate is not the one `--tls-fingerprint` names.
#[derive(Debug)]
pub(crate) struct PinMismatch {
    /// The fingerprint of the certificate the gateway presented.
    pub presented: Fingerprint,
    /// The fingerprint asked for.
    pub expected: Fingerprint,
}

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the gateway's TLS certificate does not match --tls-fingerprint: it presented SHA-256 {}, \
             expected {}",
            self.presented, self.expected
        )
    }
}

impl std::error::Error for PinMismatch {}

/// The rustls client configuration for a `wss://` gateway, trusting what `trust` says.
pub(crate) fn client_config(trust: &Trust) -> anyhow::Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = GatewayVerifier::new(trust, &provider)?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("TLS setup failed: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Checks the gateway's certificate as [`Trust`] says; the handshake signature with rustls' own
/// functions, whatever made the certificate trusted.
#[derive(Debug)]
struct GatewayVerifier {
    /// `--tls-fingerprint`.
    fingerprint: Option<Fingerprint>,
    /// The certificates of `--ca`, each trusted as it is.
    pinned: Vec<CertificateDer<'static>>,
    /// Chain validation: to `--ca`'s roots, or to the system's. `None` when only pins decide (a
    /// fingerprint alone, or a `--ca` file none of whose certificates is a usable root).
    chains: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl GatewayVerifier {
    fn new(trust: &Trust, provider: &Arc<CryptoProvider>) -> anyhow::Result<GatewayVerifier> {
        let (pinned, roots) = match (&trust.ca, &trust.fingerprint) {
            (Some(path), _) => {
                let certs = certs_from_file(path)?;
                let mut roots = RootCertStore::empty();
                roots.add_parsable_certificates(certs.iter().cloned());
                (certs, Some(roots))
            }
            (None, Some(_)) => (Vec::new(), None),
            (None, None) => (Vec::new(), Some(system_roots()?)),
        };
        let chains = match roots.filter(|r| !r.is_empty()) {
            Some(roots) => Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| anyhow!("TLS setup failed: {e}"))?,
            ),
            None => None,
        };
        Ok(GatewayVerifier {
            fingerprint: trust.fingerprint,
            pinned,
            chains,
            algorithms: provider.signature_verification_algorithms,
        })
    }
}

impl ServerCertVerifier for GatewayVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(expected) = self.fingerprint {
            let presented = Fingerprint::of(end_entity);
            if presented != expected {
                return Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::Other(rustls::OtherError(Arc::new(PinMismatch {
                        presented,
                        expected,
                    }))),
                ));
            }
            if self.pinned.is_empty() && self.chains.is_none() {
                return Ok(ServerCertVerified::assertion());
            }
        }
        if self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.chains {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Every PEM certificate in `path`; at least one.
fn certs_from_file(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
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
    Ok(certs)
}

fn system_roots() -> anyhow::Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        bail!(
            "no trusted root certificates found on this system{}; pass the gateway's certificate with \
             --ca FILE or pin it with --tls-fingerprint",
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
pub(crate) fn explain(err: &tokio_tungstenite::tungstenite::Error, url: &str) -> Option<String> {
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
        Tls::InvalidCertificate(CertificateError::Other(other))
            if other.0.downcast_ref::<PinMismatch>().is_some() =>
        {
            format!("{} ({url})", other.0)
        }
        Tls::InvalidCertificate(why) => {
            let why = match why {
                // webpki's own error, which rustls passes on as `Other`.
                CertificateError::Other(other) if is_ca_used_as_end_entity(other) => {
                    "it is a CA certificate used as the server's own (as `openssl req -x509` makes \
                     them); pass that very certificate with --ca FILE to pin it, or pin it with \
                     --tls-fingerprint"
                        .to_owned()
                }
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
            format!(
                "the gateway's TLS certificate is not trusted: {why} ({url}; use --ca FILE or \
                 --tls-fingerprint SHA256)"
            )
        }
        other => format!("TLS handshake with {url} failed: {other}"),
    })
}

/// Whether rustls' `Other` certificate error is webpki's `CaUsedAsEndEntity` (told by its type,
/// not by its text).
fn is_ca_used_as_end_entity(other: &rustls::OtherError) -> bool {
    matches!(
        other.0.downcast_ref::<webpki::Error>(),
        Some(webpki::Error::CaUsedAsEndEntity)
    )
}

#[cfg(test)]
mod tests;
