//! TLS end to end: the real `openclaw gateway --bind lan --tls-cert --tls-key` with a self-signed
//! certificate made here (rcgen; SAN 127.0.0.1 and localhost). It listens on every interface, but the
//! tests connect to 127.0.0.1 only: a node pairs over `wss://` with `--ca`, the operator approves over
//! `wss://`, the page is served over `https://`, a wrong CA fails with the clear line, a half-open TLS
//! handshake is dropped, and bad certificate files are refused (`--bind lan` without one generates its
//! own: `tls_selfsigned.rs`). A CA-flagged self-signed
//! certificate (what `openssl req -x509` makes) given with `--ca` is pinned, and `--tls-fingerprint`
//! pins the gateway's certificate by its SHA-256.

use anyhow::Context;
use pairing_core::protocol::{NodePairList, NodePending};
use pairing_tests::process::{GatewayProcess, NodePair, run_cli};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A self-signed certificate for 127.0.0.1 and localhost, written as `NAME.pem` and `NAME-key.pem`.
fn self_signed(dir: &Path, name: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    self_signed_as(dir, name, false)
}

/// Like [`self_signed`]; `ca`: marked a CA (basic constraints CA:TRUE), as `openssl req -x509` makes
/// it by default.
fn self_signed_as(dir: &Path, name: &str, ca: bool) -> anyhow::Result<(PathBuf, PathBuf)> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    if ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    params.subject_alt_names = vec![
        rcgen::SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        rcgen::SanType::DnsName("localhost".try_into()?),
    ];
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("openclaw test {name}"));
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let (cert_path, key_path) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}-key.pem")),
    );
    std::fs::write(&cert_path, cert.pem())?;
    std::fs::write(&key_path, key.serialize_pem())?;
    Ok((cert_path, key_path))
}

/// `openclaw gateway --port 0 --bind lan --tls-cert CERT --tls-key KEY`; returns the process (its
/// `url` is the `wss://` one) and the printed page link.
fn start_tls_gateway(
    state: &Path,
    cert: &Path,
    key: &Path,
    envs: &[(&str, &str)],
) -> anyhow::Result<(GatewayProcess, String)> {
    let (cert, key) = (
        cert.to_str().context("utf-8 path")?,
        key.to_str().context("utf-8 path")?,
    );
    let args = ["--bind", "lan", "--tls-cert", cert, "--tls-key", key];
    let gw = GatewayProcess::start_with_env(state, &args, envs)?;
    let page = gw.printed_after("Approval page: ")?;
    Ok((gw, page))
}

fn port_of(url: &str) -> anyhow::Result<u16> {
    let authority = url.split("://").nth(1).context("scheme")?;
    let authority = authority.split('/').next().context("authority")?;
    Ok(authority.rsplit_once(':').context("port")?.1.parse()?)
}

fn ok_stdout(out: &std::process::Output, what: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `GET /` over TLS to 127.0.0.1:`port`, trusting only `ca`; the whole response as text.
async fn https_get(port: u16, ca: &Path) -> anyhow::Result<(String, Option<Vec<u8>>)> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca)? {
        roots.add(cert?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await?;
    let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?;
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    tls.write_all(
        format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut body = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut body)).await??;
    Ok((String::from_utf8_lossy(&body).into_owned(), alpn))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

#[test]
fn a_node_pairs_over_wss_and_the_page_is_served_over_https() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let (cert, key) = self_signed(root.path(), "gateway")?;
    let (other_ca, _) = self_signed(root.path(), "stranger")?;
    let (gw_state, node_state, op_state) = (
        root.path().join("gw"),
        root.path().join("node"),
        root.path().join("op"),
    );
    let (gw, page) = start_tls_gateway(&gw_state, &cert, &key, &[])?;
    let port = port_of(&gw.url)?;
    let wss = format!("wss://127.0.0.1:{port}/");
    // What it prints: the page over https, the WebSocket over wss, both on 127.0.0.1 and one port.
    assert_eq!(gw.url, wss);
    assert!(
        page.starts_with(&format!("https://127.0.0.1:{port}/#token=")),
        "{page}"
    );
    let token = gw.token();
    let ca = cert.to_str().context("utf-8 path")?;

    // The node pairs over wss, trusting the self-signed certificate with --ca.
    let mut node = NodePair::start(&node_state, &wss, &["--ca", ca, "--name", "tls node"])?;
    let code = node.code()?;
    // The operator (another state directory: nothing from the gateway's openclaw.json) over wss.
    let op = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--url", &wss, "--ca", ca, "--token", &token]);
        run_cli(&op_state, &all)
    };
    let pending: Vec<NodePending> = serde_json::from_str(&ok_stdout(
        &op(&["nodes", "pending", "--json"])?,
        "nodes pending",
    )?)?;
    assert_eq!(pending[0].verification_code, code.as_str(), "{pending:?}");
    // The peer address reaches the core through the TLS path too.
    assert_eq!(
        pending[0].remote_ip.as_deref(),
        Some("127.0.0.1"),
        "{pending:?}"
    );
    ok_stdout(&op(&["nodes", "approve", &code])?, "nodes approve")?;
    assert_eq!(node.exit_code()?, 0, "node output: {:#?}", node.seen);
    let verify = run_cli(&node_state, &["node", "verify", "--url", &wss, "--ca", ca])?;
    assert!(ok_stdout(&verify, "node verify")?.starts_with("ok: paired with wss://"));

    // The approval page over https, same port, HTTP/1.1 negotiated.
    let (response, alpn) = runtime()?.block_on(https_get(port, &cert))?;
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "{}",
        &response[..response.len().min(300)]
    );
    assert!(response.contains("<html"), "the page");
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));

    // A CA that did not sign the gateway's certificate: one clear line, exit 1 — for the operator…
    let ca_flag = other_ca.to_str().context("utf-8 path")?;
    let out = run_cli(
        &op_state,
        &[
            "nodes", "pending", "--url", &wss, "--ca", ca_flag, "--token", &token,
        ],
    )?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("openclaw: ")
            && err.contains("the gateway's TLS certificate is not trusted: ")
            && err.contains("use --ca FILE"),
        "{err}"
    );
    // …for a pairing node…
    let out = run_cli(
        &root.path().join("node2"),
        &["node", "pair", "--url", &wss, "--ca", ca_flag],
    )?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("TLS certificate is not trusted"), "{err}");
    // …and without --ca, against the system roots.
    let out = run_cli(
        &op_state,
        &["nodes", "pending", "--url", &wss, "--token", &token],
    )?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("TLS certificate is not trusted") || err.contains("no trusted root"),
        "{err}"
    );
    // The untrusted attempts never reached the core: still one paired node, nothing pending.
    let list: NodePairList = serde_json::from_str(&ok_stdout(
        &op(&["nodes", "list", "--json"])?,
        "nodes list",
    )?)?;
    assert_eq!(list.paired.len(), 1, "{list:?}");
    assert!(list.pending.is_empty(), "{list:?}");

    let log = gw.log.clone();
    assert!(gw.stop()?.success(), "SIGTERM exits 0 on the TLS path too");
    // No secret in the log at trace level, TLS layers included.
    let node_token: Value = serde_json::from_str(&std::fs::read_to_string(
        node_state.join("node/token.json"),
    )?)?;
    let node_token = node_token["token"].as_str().context("node token")?;
    let log = std::fs::read_to_string(log)?;
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "a verbose log"
    );
    assert!(!log.contains(&token), "the operator token is in the log");
    assert!(!log.contains(node_token), "the node token is in the log");
    Ok(())
}

#[test]
fn a_tls_handshake_that_never_completes_is_dropped() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let (cert, key) = self_signed(root.path(), "gateway")?;
    let (gw, _) = start_tls_gateway(
        &root.path().join("gw"),
        &cert,
        &key,
        &[("OPENCLAW_HANDSHAKE_TIMEOUT_MS", "1500")],
    )?;
    let port = port_of(&gw.url)?;
    runtime()?.block_on(async {
        // A socket that says nothing, and one that stops half-way through a ClientHello.
        let mut silent = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await?;
        let mut partial = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await?;
        partial.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).await?;
        let start = Instant::now();
        for s in [&mut silent, &mut partial] {
            let mut buf = [0u8; 64];
            let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
                .await
                .context("the gateway kept a silent TLS socket open")?;
            // EOF, or a reset: either way the gateway let go.
            assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
        }
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(1000) && waited < Duration::from_secs(8),
            "{waited:?}"
        );
        anyhow::Ok(())
    })?;
    // The gateway still serves a fresh client.
    let (response, _) = runtime()?.block_on(https_get(port, &cert))?;
    assert!(response.starts_with("HTTP/1.1 200"));
    assert!(gw.stop()?.success());
    Ok(())
}

#[test]
fn lan_with_bad_certificate_files_is_refused_in_one_line() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let (cert, _) = self_signed(root.path(), "gateway")?;
    let junk = root.path().join("junk.pem");
    std::fs::write(&junk, "not a key\n")?;
    let (cert, junk) = (
        cert.to_str().context("utf-8")?,
        junk.to_str().context("utf-8")?,
    );
    let cases: [(&[&str], &str); 2] = [
        (
            &["--bind", "lan", "--tls-cert", cert, "--tls-key", junk],
            junk,
        ),
        (
            &["--bind", "lan", "--tls-cert", junk, "--tls-key", junk],
            junk,
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["gateway", "--port", "0"];
        all.extend_from_slice(args);
        let out = run_cli(&state, &all)?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    Ok(())
}

/// `OpenClaw`-style fingerprint text of a PEM certificate: `sha256:AB:CD:…`.
fn fingerprint_of(pem: &Path) -> anyhow::Result<String> {
    use sha2::Digest;
    let der = CertificateDer::from_pem_file(pem)?;
    let hex: Vec<String> = sha2::Sha256::digest(der.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    Ok(format!("sha256:{}", hex.join(":")))
}

#[test]
fn a_ca_flagged_self_signed_certificate_is_pinned_and_fingerprints_pin() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let (cert, key) = self_signed_as(root.path(), "gateway", true)?;
    let (gw, _) = start_tls_gateway(&root.path().join("gw"), &cert, &key, &[])?;
    let token = gw.token();
    let wss = gw.url.clone();
    let op_state = root.path().join("op");
    let pending = |extra: &[&str]| {
        let mut all = vec![
            "nodes", "pending", "--json", "--url", &wss, "--token", &token,
        ];
        all.extend_from_slice(extra);
        run_cli(&op_state, &all)
    };
    // The certificate itself with --ca: trusted as it is, although chain validation refuses a CA
    // certificate as a server's own.
    let ca = cert.to_str().context("utf-8 path")?;
    let out = pending(&["--ca", ca])?;
    assert_eq!(
        ok_stdout(&out, "--ca with a CA-flagged certificate")?.trim(),
        "[]"
    );

    // The right fingerprint alone (no --ca, no system roots): connects; upper case with colons and a
    // sha256: prefix, or bare lower-case hex.
    let right = fingerprint_of(&cert)?;
    let bare = right
        .trim_start_matches("sha256:")
        .replace(':', "")
        .to_lowercase();
    for pin in [&right, &bare] {
        let out = pending(&["--tls-fingerprint", pin])?;
        assert_eq!(ok_stdout(&out, "the right fingerprint")?.trim(), "[]");
    }
    // A node pairs with the pin too.
    let node_state = root.path().join("node");
    let mut node = NodePair::start(&node_state, &wss, &["--tls-fingerprint", &right])?;
    let code = node.code()?;
    let out = run_cli(
        &op_state,
        &[
            "nodes", "approve", &code, "--url", &wss, "--token", &token, "--ca", ca,
        ],
    )?;
    ok_stdout(&out, "nodes approve")?;
    assert_eq!(node.exit_code()?, 0, "{:#?}", node.seen);

    // A wrong fingerprint: refused in one clear line naming both, with --ca or without.
    let wrong = format!("sha256:{}", "00:".repeat(31) + "00");
    for extra in [
        vec!["--tls-fingerprint", wrong.as_str()],
        vec!["--tls-fingerprint", wrong.as_str(), "--ca", ca],
    ] {
        let out = pending(&extra)?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("openclaw: ")
                && err.contains(
                    "the gateway's TLS certificate does not match --tls-fingerprint: it presented \
                     SHA-256 "
                )
                && err.contains(right.trim_start_matches("sha256:")),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
    // A malformed one is refused before anything is sent.
    let out = pending(&["--tls-fingerprint", "abc"])?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("64 hex digits"));
    assert!(gw.stop()?.success());
    Ok(())
}
