//! `openclaw nodes prune --unseen 30d` against the real gateway binary: the gateway starts on a state
//! directory whose paired nodes were last seen 40 days ago, never (approved 50 days ago), a day ago
//! and never (approved an hour ago). The preview names the first two and removes nothing; `--yes`
//! removes exactly those, each with its own `removed` audit entry by the operator; a description set
//! with `nodes set-description` shows in `nodes list`.

use pairing_core::protocol::{NodeList, NodePairList};
use pairing_tests::process::{GatewayProcess, run_cli};
use serde_json::{Value, json};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

const DAY: u64 = 86_400_000;

fn now_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis(),
    )
    .expect("fits")
}

fn record(id: &str, approved: u64, seen: Option<u64>) -> Value {
    let mut r = json!({
        "nodeId": id, "displayName": id, "tokenHash": "A".repeat(43),
        "createdAtMs": approved, "approvedAtMs": approved, "approvedVia": "owner",
    });
    if let Some(seen) = seen {
        r["lastSeenAtMs"] = json!(seen);
    }
    r
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn paired_ids(state: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let out = run_cli(state, &["nodes", "list", "--json"])?;
    let list: NodePairList = serde_json::from_slice(&out.stdout)?;
    let mut ids: Vec<String> = list.paired.iter().map(|p| p.node_id.0.clone()).collect();
    ids.sort();
    Ok(ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_previews_stale_nodes_and_removes_them_only_with_yes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state");
    let nodes = state.join("nodes");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&nodes)?;
    let now = now_ms();
    let paired = json!({
        "old-box": record("old-box", now - 90 * DAY, Some(now - 40 * DAY)),
        "never-box": record("never-box", now - 50 * DAY, None),
        "recent-box": record("recent-box", now - 60 * DAY, Some(now - DAY)),
        "new-box": record("new-box", now - 3_600_000, None),
    });
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(nodes.join("paired.json"))?;
    std::io::Write::write_all(&mut f, &serde_json::to_vec(&paired)?)?;
    drop(f);
    let gw = GatewayProcess::start(&state, &[])?;

    // A bare number is refused: durations need a unit.
    let bad = run_cli(&state, &["nodes", "prune", "--unseen", "30"])?;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("30 what?"));

    // The preview names the two stale nodes and removes nothing.
    let preview = run_cli(&state, &["nodes", "prune", "--unseen", "30d"])?;
    let text = stdout(&preview);
    assert!(preview.status.success(), "{text}");
    assert!(
        text.contains("old-box") && text.contains("never-box"),
        "{text}"
    );
    assert!(
        !text.contains("recent-box") && !text.contains("new-box"),
        "{text}"
    );
    assert!(
        text.contains("2 of 4 paired nodes") && text.contains("--yes"),
        "{text}"
    );
    let json = run_cli(&state, &["nodes", "prune", "--unseen", "30d", "--json"])?;
    let v: Value = serde_json::from_slice(&json.stdout)?;
    let judged: Vec<(&str, &str)> = v["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            (
                n["nodeId"].as_str().unwrap(),
                n["judgedBy"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        judged,
        [("never-box", "approval"), ("old-box", "lastSeen")],
        "{v}"
    );
    assert_eq!(v["removed"], 0);
    assert_eq!(paired_ids(&state)?.len(), 4, "a preview removes nothing");

    // An operator's description shows in the list.
    let set = run_cli(
        &state,
        &[
            "nodes",
            "set-description",
            "recent-box",
            "garage door sensor",
        ],
    )?;
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let list = stdout(&run_cli(&state, &["nodes", "list"])?);
    assert!(
        list.contains("DESCRIPTION") && list.contains("garage door sensor"),
        "{list}"
    );
    let status: NodeList =
        serde_json::from_slice(&run_cli(&state, &["nodes", "status", "--json"])?.stdout)?;
    let recent = status.nodes.iter().find(|n| n.node_id.0 == "recent-box");
    assert_eq!(
        recent.and_then(|n| n.description.as_deref()),
        Some("garage door sensor")
    );

    // --yes removes exactly the stale ones, one audited removal each, by the operator.
    let pruned = run_cli(&state, &["nodes", "prune", "--unseen", "30d", "--yes"])?;
    let text = stdout(&pruned);
    assert!(pruned.status.success(), "{text}");
    assert!(text.contains("Removed 2 of 4"), "{text}");
    assert_eq!(paired_ids(&state)?, ["new-box", "recent-box"]);
    let audit = stdout(&run_cli(&state, &["nodes", "audit", "--json"])?);
    let removed: Vec<Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["action"] == "removed")
        .collect();
    let mut ids: Vec<&str> = removed
        .iter()
        .map(|e| e["nodeId"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["never-box", "old-box"], "{audit}");
    assert!(
        removed.iter().all(|e| e["actor"]["role"] == "operator"),
        "{audit}"
    );
    assert!(audit.contains("\"action\":\"described\""), "{audit}");
    let again = run_cli(&state, &["nodes", "prune", "--unseen", "30d"])?;
    assert!(
        stdout(&again).contains("No paired node unseen for 30d"),
        "{}",
        stdout(&again)
    );
    gw.stop()?;
    Ok(())
}
