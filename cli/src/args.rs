//! The flags every gateway-talking command shares (`ConnArgs`, `ConnOnly`) and the parsers they use.
//! The command tree itself (`Cli`) is in `main`, which dispatches; this module imports no command.

use clap::Args;

/// Flags shared by every command that talks to a gateway.
#[derive(Clone, Debug, Default, Args)]
pub struct ConnArgs {
    /// Gateway WebSocket URL [default: $OPENCLAW_GATEWAY_URL, else ws://127.0.0.1:PORT/ with PORT from
    /// openclaw.json in the state directory, else 18789].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Operator token [default: $OPENCLAW_GATEWAY_TOKEN, else the token in openclaw.json in the state
    /// directory, which is sent only to a loopback URL].
    #[arg(long, value_name = "TOKEN", allow_hyphen_values = true)]
    pub token: Option<String>,
    /// How long to wait for the gateway to connect or answer a call: 10s, 1m, 500ms (a unit is
    /// required).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: u64,
    /// Print only JSON on stdout (for scripts).
    #[arg(long)]
    pub json: bool,
    /// Allow plaintext ws:// to a host that is not loopback (anyone on the path can read it).
    #[arg(long)]
    pub allow_plaintext: bool,
    /// For wss:// URLs: trust the certificates in this PEM file (e.g. a self-signed gateway's
    /// certificate) instead of the system's roots.
    /// A self-signed certificate given here is trusted as it is (pinned), whatever its CA flag.
    #[arg(long, value_name = "FILE", env = "OPENCLAW_GATEWAY_CA")]
    pub ca: Option<std::path::PathBuf>,
    /// For wss:// URLs: accept only a gateway certificate with this SHA-256 fingerprint (64 hex
    /// digits, colons and a sha256: prefix optional; `openssl x509 -noout -fingerprint -sha256 -in
    /// cert.pem` prints it).
    #[arg(long, value_name = "SHA256", env = "OPENCLAW_GATEWAY_TLS_FINGERPRINT", value_parser = crate::tls::parse_fingerprint)]
    pub tls_fingerprint: Option<crate::tls::Fingerprint>,
}

/// Parses `10s`, `5m`, `300000ms`, `2d` into milliseconds; a bare number is refused with a hint.
pub(crate) fn parse_duration(text: &str) -> Result<u64, String> {
    pairing_host::duration::parse_ms(text)
}

/// Only the connection flags.
#[derive(Debug, Args)]
pub struct ConnOnly {
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}
