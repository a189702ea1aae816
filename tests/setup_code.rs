//! Setup codes and enrollment keys with real processes over loopback (issue #16): `openclaw qr` and
//! `openclaw keys` on the gateway's host, `openclaw node pair --setup-code` on the devices. A code
//! pairs one device with no approval step and never a second; a key pairs exactly N devices however
//! many try at once; an expired or revoked one pairs nothing (even for a client that ignores the
//! expiry the code states); a code survives a gateway restart; the terminal QR code decodes to the
//! code.

use pairing_core::enroll::SetupPayload;
use pairing_core::protocol::{EnrollIssued, EnrollList, NodeList};
use pairing_tests::process::{GatewayProcess, run_cli};
use std::path::Path;
use std::process::Output;

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `openclaw ARGS` on the gateway's state; panics unless it exits 0; its stdout.
fn operator(gw: &GatewayProcess, args: &[&str]) -> String {
    let o = run_cli(&gw.state, args).unwrap();
    assert!(o.status.success(), "openclaw {args:?}: {}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// `openclaw node pair --setup-code CODE` as a node with its own state directory under `dir`.
fn pair(dir: &Path, name: &str, code: &str, extra: &[&str]) -> Output {
    let state = dir.join(name);
    let mut args = vec!["node", "pair", "--setup-code", code, "--name", name];
    args.extend_from_slice(extra);
    run_cli(&state, &args).unwrap()
}

/// Reads a terminal QR code (`█▀▄ `, light modules drawn, two rows per line) back into pixels and
/// decodes it.
fn decode_terminal_qr(block: &str) -> String {
    let lines: Vec<Vec<char>> = block.lines().map(|l| l.chars().collect()).collect();
    let (w, h) = (lines[0].len(), lines.len() * 2);
    let light = |x: usize, y: usize| -> bool {
        let c = lines[y / 2][x];
        matches!((c, y % 2), ('█', _) | ('▀', 0) | ('▄', 1))
    };
    const SCALE: usize = 4;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w * SCALE, h * SCALE, |x, y| {
        if light(x / SCALE, y / SCALE) { 255 } else { 0 }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the terminal output");
    grids[0].decode().expect("the QR code decodes").1
}

#[test]
fn a_setup_code_pairs_one_node_without_approval_and_its_qr_decodes_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let gw = GatewayProcess::start(&dir.path().join("gw"), &[]).unwrap();
    let out = operator(&gw, &["qr"]);
    let (qr, rest) = out.split_once("Setup code: ").expect("a setup code line");
    let code = rest.lines().next().unwrap().trim().to_owned();
    assert_eq!(
        decode_terminal_qr(qr),
        code,
        "the QR code carries the setup code"
    );
    assert!(
        rest.contains("openclaw node run --pair 'oc-pair://"),
        "{out}"
    );
    let payload = SetupPayload::decode(&code, 0).unwrap();
    assert_eq!(payload.url, gw.url.trim_end_matches('/'));

    let first = pair(dir.path(), "box-a", &code, &[]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(String::from_utf8_lossy(&first.stdout).contains("Paired by setup code as box-a"));
    let verify = run_cli(&dir.path().join("box-a"), &["node", "verify"]).unwrap();
    assert!(verify.status.success(), "{}", text(&verify));

    let second = pair(dir.path(), "box-b", &code, &[]);
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already used"),
        "{}",
        text(&second)
    );

    let list: EnrollList =
        serde_json::from_str(&operator(&gw, &["keys", "list", "--all", "--json"])).unwrap();
    let e = &list.enrollments[0];
    assert_eq!((e.uses, e.status.as_str()), (1, "used-up"));
    assert_eq!(e.redeemed_by[0].display_name.as_deref(), Some("box-a"));
    let nodes: NodeList =
        serde_json::from_str(&operator(&gw, &["nodes", "status", "--json"])).unwrap();
    let names: Vec<_> = nodes
        .nodes
        .iter()
        .filter_map(|n| n.meta.display_name.as_deref())
        .collect();
    assert_eq!(names, ["box-a"]);
    assert_eq!(nodes.nodes[0].approved_via.as_deref(), Some("setup-code"));
    // Listing never shows a secret.
    let listed = operator(&gw, &["keys", "list", "--all", "--json"]);
    assert!(!listed.contains(&payload.bootstrap_token));
    gw.stop().unwrap();
}

#[test]
fn codes_survive_a_restart_and_expired_ones_are_refused_by_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let gw_state = dir.path().join("gw");
    let gw = GatewayProcess::start(&gw_state, &[]).unwrap();
    let issued: EnrollIssued = serde_json::from_str(&operator(&gw, &["qr", "--json"])).unwrap();
    let short: EnrollIssued =
        serde_json::from_str(&operator(&gw, &["qr", "--json", "--expires", "10s"])).unwrap();
    gw.stop().unwrap();
    let gw = GatewayProcess::start(&gw_state, &[]).unwrap();
    // The code names the old port; --url points the node at the restarted gateway.
    let ok = pair(
        dir.path(),
        "after-restart",
        &issued.link,
        &["--url", &gw.url],
    );
    assert!(ok.status.success(), "{}", text(&ok));

    // A client that ignores the expiry the code states is still refused: the gateway knows it.
    let mut tampered = SetupPayload::decode(&short.setup_code, 0).unwrap();
    tampered.expires_at_ms = None;
    std::thread::sleep(std::time::Duration::from_millis(
        short
            .expires_at_ms
            .saturating_sub(pairing_host::clock::now_ms())
            + 200,
    ));
    let late = pair(
        dir.path(),
        "too-late",
        &tampered.encode(),
        &["--url", &gw.url],
    );
    assert_eq!(late.status.code(), Some(1), "{}", text(&late));
    assert!(
        String::from_utf8_lossy(&late.stderr).contains("expired"),
        "{}",
        text(&late)
    );
    // Our own client refuses the untampered expired code before dialling.
    let local = pair(
        dir.path(),
        "too-late-2",
        &short.setup_code,
        &["--url", &gw.url],
    );
    assert!(
        String::from_utf8_lossy(&local.stderr).contains("expired"),
        "{}",
        text(&local)
    );
    gw.stop().unwrap();
}

#[test]
fn a_key_admits_exactly_n_of_many_concurrent_devices_and_revocation_keeps_them_paired() {
    let dir = tempfile::tempdir().unwrap();
    let gw = GatewayProcess::start(&dir.path().join("gw"), &[]).unwrap();
    let key: EnrollIssued = serde_json::from_str(&operator(
        &gw,
        &[
            "keys",
            "create",
            "--uses",
            "3",
            "--name-prefix",
            "ci-",
            "--json",
        ],
    ))
    .unwrap();
    let outcomes: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..7)
            .map(|i| {
                let (dir, code) = (dir.path(), key.setup_code.as_str());
                s.spawn(move || pair(dir, &format!("runner-{i}"), code, &[]))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let admitted = outcomes.iter().filter(|o| o.status.success()).count();
    let refused = outcomes
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stderr).contains("already used"))
        .count();
    assert_eq!(
        (admitted, refused),
        (3, 4),
        "{:#?}",
        outcomes.iter().map(text).collect::<Vec<_>>()
    );
    let nodes: NodeList =
        serde_json::from_str(&operator(&gw, &["nodes", "status", "--json"])).unwrap();
    assert_eq!(nodes.nodes.len(), 3);
    assert!(nodes.nodes.iter().all(|n| {
        n.meta
            .display_name
            .as_deref()
            .is_some_and(|d| d.starts_with("ci-runner-"))
            && n.approved_via.as_deref() == Some("key")
    }));

    // A second key, revoked after one use: the device it paired stays paired, nobody else gets in.
    let fleet: EnrollIssued = serde_json::from_str(&operator(
        &gw,
        &[
            "keys", "create", "--uses", "10", "--label", "fleet", "--json",
        ],
    ))
    .unwrap();
    assert!(
        pair(dir.path(), "fleet-1", &fleet.setup_code, &[])
            .status
            .success()
    );
    let revoked = operator(&gw, &["keys", "revoke", &fleet.setup_id[..6]]);
    assert!(
        revoked.contains("the device it paired stays paired"),
        "{revoked}"
    );
    let after = pair(dir.path(), "fleet-2", &fleet.setup_code, &[]);
    assert!(
        String::from_utf8_lossy(&after.stderr).contains("revoked"),
        "{}",
        text(&after)
    );
    let verify = run_cli(&dir.path().join("fleet-1"), &["node", "verify"]).unwrap();
    assert!(verify.status.success(), "{}", text(&verify));
    let audit = operator(&gw, &["nodes", "audit", "--json"]);
    assert!(
        audit.contains("enroll-revoked") && audit.contains("enroll-created"),
        "{audit}"
    );
    assert!(
        !audit.contains(
            &SetupPayload::decode(&fleet.setup_code, 0)
                .unwrap()
                .bootstrap_token
        )
    );
    gw.stop().unwrap();
}

#[test]
fn a_lan_gateway_puts_its_certificate_pin_in_the_code_and_a_wrong_pin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let gw = GatewayProcess::start(&dir.path().join("gw"), &["--bind", "lan"]).unwrap();
    assert!(gw.url.starts_with("wss://127.0.0.1:"), "{}", gw.url);
    let issued: EnrollIssued = serde_json::from_str(&operator(&gw, &["qr", "--json"])).unwrap();
    let payload = SetupPayload::decode(&issued.setup_code, 0).unwrap();
    let pin = payload
        .tls_fingerprint
        .clone()
        .expect("a pin for the generated certificate");
    assert_eq!(pin.len(), 64, "{pin}");
    assert!(payload.url.starts_with("wss://"), "{}", payload.url);
    assert_eq!(
        issued.gateway_urls.last().map(String::as_str),
        Some(gw.url.trim_end_matches('/'))
    );

    // The same code with another pin: the node refuses the gateway before presenting anything.
    let mut wrong = payload.clone();
    wrong.tls_fingerprint = Some("ab".repeat(32));
    let refused = pair(
        dir.path(),
        "wrong-pin",
        &wrong.encode(),
        &["--url", &gw.url],
    );
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("fingerprint"),
        "{}",
        text(&refused)
    );

    // Loopback here (tests stay on loopback): the pin comes from the code, no --tls-fingerprint.
    let ok = pair(
        dir.path(),
        "pinned",
        &issued.setup_code,
        &["--url", &gw.url],
    );
    assert!(ok.status.success(), "{}", text(&ok));
    let list: EnrollList =
        serde_json::from_str(&operator(&gw, &["keys", "list", "--all", "--json"])).unwrap();
    assert_eq!(list.enrollments[0].uses, 1, "the wrong pin used nothing up");
    gw.stop().unwrap();
}
