//! TLS without ceremony: `openclaw gateway --bind lan` with no certificate generates its own in the
//! state directory and prints its SHA-256 fingerprint; a node pairs over `wss://` pinning it with
//! `--tls-fingerprint` (no CA), the CLI on the gateway's machine finds it with no flag, a wrong pin
//! is refused, a restart reuses the certificate, and
//! `gateway renew-cert` (refused while the gateway runs) changes the fingerprint and is audited.

use anyhow::Context;
use pairing_tests::process::{GatewayProcess, NodePair, run_cli};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A gateway started with `--bind lan` and no certificate, and what it printed about TLS.
struct Started {
    gw: GatewayProcess,
    fingerprint: String,
    /// The `self-signed, …` line.
    how: String,
}

/// `openclaw gateway --port 0 --bind lan`; waits for the URL and the fingerprint lines.
fn start(state: &Path) -> anyhow::Result<Started> {
    let gw = GatewayProcess::start(state, &["--bind", "lan"])?;
    let fingerprint = gw.printed_after("TLS fingerprint (SHA-256): ")?;
    let how = gw
        .printed_line(|l| {
            let l = l.trim();
            l.starts_with("self-signed, ").then(|| l.to_owned())
        })
        .context("the gateway printed no \"self-signed, …\" line")?;
    Ok(Started {
        gw,
        fingerprint,
        how,
    })
}

/// SHA-256 of the PEM certificate's DER, 64 lower-case hex digits, computed here independently.
fn fingerprint_of(pem: &Path) -> anyhow::Result<String> {
    use base64::Engine;
    use sha2::Digest;
    let text = std::fs::read_to_string(pem)?;
    let b64: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64)?;
    Ok(sha2::Sha256::digest(&der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
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

#[test]
fn a_generated_certificate_is_pinned_reused_and_renewed_with_an_audit_entry() -> anyhow::Result<()>
{
    let root = tempfile::tempdir()?;
    let (gw_state, node_state, op_state) = (
        root.path().join("gw"),
        root.path().join("node"),
        root.path().join("op"),
    );
    let s = start(&gw_state)?;
    assert!(s.gw.url.starts_with("wss://127.0.0.1:"), "{}", s.gw.url);
    assert!(s.how.contains("generated now"), "{}", s.how);
    // The files: in the state directory, the key private, the fingerprint printed is the file's.
    let cert = gw_state.join("gateway/tls/gateway-cert.pem");
    let key = gw_state.join("gateway/tls/gateway-key.pem");
    assert_eq!(std::fs::metadata(&key)?.permissions().mode() & 0o777, 0o600);
    let first = fingerprint_of(&cert)?;
    assert_eq!(s.fingerprint, first);

    // A node pairs over wss:// pinning the fingerprint, with no CA; the operator pins it too.
    let token = s.gw.token();
    let wss = s.gw.url.clone();
    let op = |pin: &str, args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--url", &wss, "--token", &token, "--tls-fingerprint", pin]);
        run_cli(&op_state, &all)
    };
    let mut node = NodePair::start(&node_state, &wss, &["--tls-fingerprint", &first])?;
    let code = node.code()?;
    // The operator pinned by hand sees it; the CLI on the gateway's machine needs no flag at all
    // (the gateway recorded the fingerprint beside its token).
    let listed = ok_stdout(
        &op(&first, &["nodes", "pending", "--json"])?,
        "nodes pending",
    )?;
    assert!(listed.contains(&code), "{listed}");
    ok_stdout(
        &run_cli(&gw_state, &["nodes", "approve", &code])?,
        "nodes approve",
    )?;
    assert_eq!(node.exit_code()?, 0, "{:#?}", node.seen);

    // A wrong pin is refused in one line naming the certificate's real fingerprint.
    let wrong = "0".repeat(64);
    let out = op(&wrong, &["nodes", "pending", "--json"])?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let presented: Vec<String> = first
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    assert!(
        err.contains("does not match --tls-fingerprint") && err.contains(&presented.join(":")),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    // Renewing under a running gateway is refused and changes nothing.
    let out = run_cli(&gw_state, &["gateway", "renew-cert"])?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("a gateway is running") && err.contains("not renewed"),
        "{err}"
    );
    assert_eq!(fingerprint_of(&cert)?, first);
    assert!(s.gw.stop()?.success());

    // A restart serves the same certificate.
    let s = start(&gw_state)?;
    assert_eq!(s.fingerprint, first);
    assert!(s.how.contains("reused"), "{}", s.how);
    assert!(s.gw.stop()?.success());

    // Renewed while stopped: a new fingerprint, and an audit entry naming it.
    let out = run_cli(&gw_state, &["gateway", "renew-cert", "--json"])?;
    let v: serde_json::Value = serde_json::from_str(&ok_stdout(&out, "renew-cert")?)?;
    let second = v["fingerprint"].as_str().context("fingerprint")?.to_owned();
    assert_ne!(second, first);
    assert_eq!(v["previous"].as_str(), Some(first.as_str()));
    assert_eq!(fingerprint_of(&cert)?, second);
    let trail = std::fs::read_to_string(gw_state.join("nodes/audit.jsonl"))?;
    let renewed: Vec<serde_json::Value> = trail
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["action"] == "tls-cert-renewed")
        .collect();
    assert_eq!(renewed.len(), 1, "{trail}");
    assert!(
        renewed[0]["displayName"]
            .as_str()
            .is_some_and(|d| d.contains(&second)),
        "{trail}"
    );
    // The chain still verifies with the new entry in it.
    let out = run_cli(&gw_state, &["nodes", "audit", "--verify"])?;
    ok_stdout(&out, "nodes audit --verify")?;

    // The gateway now serves the new certificate: the old pin is refused, the new one works.
    let s = start(&gw_state)?;
    assert_eq!(s.fingerprint, second);
    let wss = s.gw.url.clone();
    let pending = |pin: &str| {
        run_cli(
            &op_state,
            &[
                "nodes",
                "pending",
                "--json",
                "--url",
                &wss,
                "--token",
                &token,
                "--tls-fingerprint",
                pin,
            ],
        )
    };
    assert_eq!(pending(&first)?.status.code(), Some(1));
    assert_eq!(ok_stdout(&pending(&second)?, "the new pin")?.trim(), "[]");
    assert!(s.gw.stop()?.success());
    Ok(())
}
