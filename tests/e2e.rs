//! End to end with real processes: the built `openclaw` binary as gateway, operator CLI and node, each
//! with a fresh `OPENCLAW_STATE_DIR`, over loopback.

use pairing_core::PairedNode;
use pairing_core::protocol::NodePending;
use pairing_tests::client::Client;
use pairing_tests::process::{GatewayProcess, NodePair, run_cli};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// The fields of an audit line these tests look at beyond [`pairing_host::audit_log`]'s reading.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditLine {
    actor: AuditActor,
    key_fingerprint: Option<String>,
}

/// An audit line's actor (a connection's; the gateway's own decisions have a bare string instead).
#[derive(Deserialize)]
struct AuditActor {
    role: String,
}

/// `openclaw nodes pending --json`: the pending requests, as the gateway lists them.
fn pending_requests(state: &Path) -> anyhow::Result<Vec<NodePending>> {
    let args = ["nodes", "pending", "--json"];
    let out = run_cli(state, &args)?;
    anyhow::ensure!(
        out.status.success(),
        "openclaw {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn node_token(node_state: &Path) -> anyhow::Result<String> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(
        node_state.join("node/token.json"),
    )?)?;
    Ok(v["token"]
        .as_str()
        .expect("token.json has the token")
        .to_owned())
}

fn tree_contains(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            hits.extend(tree_contains(&p, needle));
        } else if String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default()).contains(needle) {
            hits.push(p.display().to_string());
        }
    }
    hits
}

fn mode(p: &Path) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).expect("exists").permissions())
        & 0o777
}

#[test]
fn a_person_pairs_a_headless_node_from_two_terminals() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let (gw_state, node_state) = (root.path().join("gw"), root.path().join("node"));
    let gw = GatewayProcess::start(&gw_state, &[])?;

    // Terminal 1: the node asks and shows its code.
    let mut node = NodePair::start(&node_state, &gw.url, &["--name", "headless box"])?;
    let code = node.code()?;
    // Terminal 2: the operator sees the same code and approves by it.
    let pending = pending_requests(&gw_state)?;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].verification_code, code.as_str());
    assert_eq!(
        pending[0].meta.display_name.as_deref(),
        Some("headless box")
    );
    let out = run_cli(&gw_state, &["nodes", "approve", &code])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(node.exit_code()?, 0, "node output: {:#?}", node.seen);
    let token = node_token(&node_state)?;
    assert_eq!(mode(&node_state.join("node/token.json")), 0o600);
    assert_eq!(mode(&node_state.join("identity/device.json")), 0o600);
    let verify = run_cli(&node_state, &["node", "verify", "--url", &gw.url])?;
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    // Restart: still paired.
    assert!(gw.stop()?.success(), "SIGTERM exits 0");
    let gw = GatewayProcess::start(&gw_state, &[])?;
    let verify = run_cli(&node_state, &["node", "verify", "--url", &gw.url])?;
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    // Re-pair by requestId rotates the token.
    let mut node = NodePair::start(&node_state, &gw.url, &["--name", "headless box"])?;
    node.code()?;
    let pending = pending_requests(&gw_state)?;
    assert!(pending[0].is_repair);
    let rid = pending[0].request_id.as_str().to_owned();
    assert!(
        run_cli(&gw_state, &["nodes", "approve", &rid])?
            .status
            .success()
    );
    assert_eq!(node.exit_code()?, 0);
    let rotated = node_token(&node_state)?;
    assert_ne!(rotated, token);
    let rt = tokio::runtime::Runtime::new()?;
    let node_id = pending[0].node_id.as_str().to_owned();
    rt.block_on(async {
        let mut op = Client::operator(&gw.url, &gw.token(), &["operator.pairing"]).await?;
        let old = op.verify(&node_id, &token).await?;
        assert!(!old.ok, "the old token stops working");
        anyhow::Ok(())
    })?;

    // Remove kills the token.
    let out = run_cli(&gw_state, &["nodes", "remove", "--node", &node_id])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verify = run_cli(&node_state, &["node", "verify", "--url", &gw.url])?;
    assert!(!verify.status.success());

    // No token in the gateway's state or logs; private modes.
    let log = gw.log.clone();
    assert!(gw.stop()?.success());
    for t in [&token, &rotated, &gw_token_of(&gw_state)] {
        assert_eq!(
            tree_contains(&gw_state, t).len(),
            usize::from(t == &gw_token_of(&gw_state)),
            "token found in state"
        );
        assert!(
            !std::fs::read_to_string(&log)?.contains(t.as_str()),
            "token found in the gateway log"
        );
    }
    assert_eq!(mode(&gw_state.join("nodes")), 0o700);
    for f in [
        "nodes/pending.json",
        "nodes/paired.json",
        "nodes/audit.jsonl",
        "openclaw.json",
    ] {
        assert_eq!(mode(&gw_state.join(f)), 0o600, "{f}");
    }

    // Every decision is in the audit trail, by whom, and the chain verifies across the restart.
    let nodes = gw_state.join("nodes");
    let v = pairing_host::audit_log::verify(&nodes)?;
    assert_eq!((v.entries, &v.broken, &v.torn), (5, &None, &None));
    let (entries, _) = pairing_host::audit_log::read_all(&nodes)?;
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["requested", "approved", "requested", "approved", "removed"]
    );
    let requested: AuditLine = serde_json::from_value(entries[0].json.clone())?;
    assert_eq!(requested.actor.role, "node");
    assert_eq!(entries[0].display_name.as_deref(), Some("headless box"));
    assert!(
        requested
            .key_fingerprint
            .is_some_and(|f| f.starts_with("SHA256:"))
    );
    let approved: AuditLine = serde_json::from_value(entries[1].json.clone())?;
    assert_eq!(approved.actor.role, "operator");
    assert_eq!(entries[3].request_id.as_deref(), Some(rid.as_str()));
    assert!(entries.iter().all(|e| e.node_id == node_id));
    Ok(())
}

#[test]
fn an_audit_line_cut_short_is_reported_and_kept_aside() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw = GatewayProcess::start(&state, &[])?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let mut op = Client::operator(&gw.url, &gw.token(), &["operator.pairing"]).await?;
        for node in ["a", "b"] {
            op.pair_request(node).await?;
        }
        anyhow::Ok(())
    })?;
    // A clean stop empties the journal; then the last line is cut in half. (When a crash cuts it, the
    // journal still holds the entry and the store restores it: host/src/file_store/tests.rs.)
    assert!(gw.stop()?.success());
    let path = state.join("nodes/audit.jsonl");
    let whole = std::fs::read_to_string(&path)?;
    let last = whole.lines().last().unwrap_or_default();
    let cut = whole.len() - last.len() / 2 - 1;
    std::fs::write(&path, &whole[..cut])?;
    let gw = GatewayProcess::start(&state, &[])?;
    let log = gw.log.clone();
    assert!(gw.stop()?.success());
    let log = std::fs::read_to_string(log)?;
    assert!(log.contains("was cut short"), "{log}");
    assert!(log.contains("the cut line is kept in audit.torn"), "{log}");
    let kept = std::fs::read_to_string(state.join("nodes/audit.torn"))?;
    assert_eq!(
        kept,
        format!("{}\n", &whole[whole.len() - last.len() - 1..cut])
    );
    let v = pairing_host::audit_log::verify(&state.join("nodes"))?;
    assert_eq!((v.entries, &v.broken, &v.torn), (1, &None, &None));
    Ok(())
}

fn gw_token_of(state: &Path) -> String {
    pairing_host::gateway_config::read(state)
        .ok()
        .flatten()
        .and_then(|g| g.token)
        .unwrap_or_default()
}

#[test]
fn rejected_and_expired_nodes_exit_with_their_own_codes() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let gw_state = root.path().join("gw");
    let gw = GatewayProcess::start(&gw_state, &["--pending-ttl", "1500ms"])?;

    let mut node = NodePair::start(&root.path().join("n1"), &gw.url, &["--name", "one"])?;
    node.code()?;
    let pending = pending_requests(&gw_state)?;
    let rid = pending[0].request_id.as_str().to_owned();
    assert!(
        run_cli(&gw_state, &["nodes", "reject", &rid])?
            .status
            .success()
    );
    assert_eq!(node.exit_code()?, 2, "rejected: {:#?}", node.seen);

    let mut node = NodePair::start(&root.path().join("n2"), &gw.url, &["--name", "two"])?;
    let code = node.code()?;
    assert_eq!(node.exit_code()?, 3, "expired: {:#?}", node.seen);
    let late = run_cli(&gw_state, &["nodes", "approve", &code])?;
    assert!(!late.status.success());
    assert!(
        String::from_utf8_lossy(&late.stderr).contains("expired"),
        "{}",
        String::from_utf8_lossy(&late.stderr)
    );
    assert!(gw.stop()?.success());
    Ok(())
}

#[test]
fn corrupt_state_refuses_to_start_and_leaves_the_file_alone() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    std::fs::create_dir_all(state.join("nodes"))?;
    let garbage = b"{\"a1\": {\"requestId\": \"a1\", \"nodeId\": 7}}".to_vec();
    std::fs::write(state.join("nodes/pending.json"), &garbage)?;
    let err = GatewayProcess::start(&state, &[]).err().expect("refused");
    assert!(err.to_string().contains("pending.json"), "{err}");
    assert_eq!(std::fs::read(state.join("nodes/pending.json"))?, garbage);
    Ok(())
}

#[test]
fn legacy_openclaw_plaintext_tokens_keep_verifying_and_are_rewritten_hashed() -> anyhow::Result<()>
{
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    std::fs::create_dir_all(state.join("nodes"))?;
    let legacy = "q3J0legacyLegacyLEGACYlegacy0123456789abcd";
    std::fs::write(
        state.join("nodes/paired.json"),
        format!(
            "{{\n  \"old-box\": {{\n    \"nodeId\": \"old-box\",\n    \"token\": \"{legacy}\",\n    \"displayName\": \"Old box\",\n    \"createdAtMs\": 1776000000000,\n    \"approvedAtMs\": 1776000030000,\n    \"bins\": [\"git\"]\n  }}\n}}"
        ),
    )?;
    let gw = GatewayProcess::start(&state, &[])?;
    assert!(
        tree_contains(&state, legacy).is_empty(),
        "plaintext token left on disk"
    );
    // Rewritten as our records (with a token hash), the fields OpenClaw had and we do not kept.
    let paired: BTreeMap<String, PairedNode> =
        serde_json::from_str(&std::fs::read_to_string(state.join("nodes/paired.json"))?)?;
    assert_eq!(paired["old-box"].node_id.as_str(), "old-box");
    assert_eq!(paired["old-box"].extra.get("bins"), Some(&json!(["git"])));
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let mut op = Client::operator(&gw.url, &gw.token(), &["operator.pairing"]).await?;
        let v = op.verify("old-box", legacy).await?;
        assert!(v.ok);
        anyhow::Ok(())
    })?;
    assert!(gw.stop()?.success());
    Ok(())
}
