//! `openclaw import --from DIR` on OpenClaw 2026.7+ state (`state/openclaw.sqlite`): a database built
//! here with OpenClaw 2026.9.6's exact `device_pairing_paired` schema and the malformed rows its own
//! migration crashed on (#134340), imported by the real binary: a dry run writes nothing, every bad
//! row is named with why, `--apply` is refused while the gateway runs and then imports the good rows
//! hashed and audited, the imported node connects with its OpenClaw device token without a new
//! approval, and OpenClaw's files are byte for byte as they were (no `-shm`/`-journal` beside them).
//! The real `openclaw@2026.9.6` making such a state is in `cli_import_real.rs`.

use pairing_core::protocol::{NodeList, NodePairList};
use pairing_tests::client::{Client, NodeHost, device_id, hello_auth};
use pairing_tests::process::{GatewayProcess, dir_contents, run_cli};
use rusqlite::Connection;
use serde_json::Value;

/// `device_pairing_paired` as `openclaw@2026.9.6` creates it (from its dist, verbatim).
pub(crate) const SCHEMA_2026_9_6: &str = "CREATE TABLE IF NOT EXISTS device_pairing_paired (
  device_id TEXT NOT NULL PRIMARY KEY, public_key TEXT NOT NULL, display_name TEXT,
  operator_label TEXT, platform TEXT, device_family TEXT, client_id TEXT, client_mode TEXT,
  browser_origin TEXT, role TEXT, roles_json TEXT, scopes_json TEXT, approved_scopes_json TEXT,
  remote_ip TEXT, tokens_json TEXT, approved_via TEXT, node_surface_json TEXT,
  pending_node_surface_json TEXT, created_at_ms INTEGER NOT NULL, approved_at_ms INTEGER NOT NULL,
  last_seen_at_ms INTEGER, last_seen_reason TEXT
) STRICT;";

const GOOD_KEY: [u8; 32] = [91; 32];
const TOKEN: &str = "b3BlbmNsYXctc3FsaXRlLWRldmljZS10b2tlbi0yMDI2";

fn public_key(key: &[u8; 32]) -> String {
    let vk = ed25519_dalek::SigningKey::from_bytes(key).verifying_key();
    base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        vk.to_bytes(),
    )
}

fn tokens(token: &str) -> String {
    format!(
        r#"{{"node":{{"token":"{token}","role":"node","scopes":[],"createdAtMs":1796274859759}}}}"#
    )
}

/// Inserts a node row; `edit` changes columns (SQL expressions) before it goes in.
fn insert(db: &Connection, key: &[u8; 32], edit: &[(&str, &str)]) -> anyhow::Result<()> {
    let id = device_id(key);
    let mut cols: Vec<(&str, String)> = vec![
        ("device_id", format!("'{id}'")),
        ("public_key", format!("'{}'", public_key(key))),
        ("display_name", "'kitchen-pi'".into()),
        ("platform", "'linux'".into()),
        ("client_id", "'node-host'".into()),
        ("client_mode", "'node'".into()),
        ("role", "'node'".into()),
        ("roles_json", "'[\"node\"]'".into()),
        ("tokens_json", format!("'{}'", tokens(TOKEN))),
        ("approved_via", "'owner'".into()),
        (
            "node_surface_json",
            "'{\"caps\":[\"system\"],\"commands\":[\"system.which\"]}'".into(),
        ),
        ("created_at_ms", "1796274859759".into()),
        ("approved_at_ms", "1796274859759".into()),
        ("last_seen_at_ms", "1796274860000".into()),
    ];
    for (c, v) in edit {
        match cols.iter_mut().find(|(n, _)| n == c) {
            Some(slot) => slot.1 = (*v).to_owned(),
            None => cols.push((c, (*v).to_owned())),
        }
    }
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let values: Vec<&str> = cols.iter().map(|c| c.1.as_str()).collect();
    db.execute(
        &format!(
            "INSERT INTO device_pairing_paired ({}) VALUES ({})",
            names.join(", "),
            values.join(", ")
        ),
        [],
    )?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_rows_are_named_and_the_good_one_keeps_connecting() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let from = dir.path().join("openclaw-old");
    let db_dir = from.join("state");
    std::fs::create_dir_all(&db_dir)?;
    let db = Connection::open(db_dir.join("openclaw.sqlite"))?;
    db.execute_batch("PRAGMA journal_mode=WAL;")?;
    db.execute_batch(SCHEMA_2026_9_6)?;
    insert(&db, &GOOD_KEY, &[])?;
    // What the schema lets through but no device can use.
    insert(&db, &[1; 32], &[("public_key", "''")])?;
    insert(&db, &[2; 32], &[("tokens_json", "'{not json'")])?;
    insert(
        &db,
        &[3; 32],
        &[("roles_json", "'[\"operator\"]'"), ("role", "'operator'")],
    )?;
    insert(&db, &[4; 32], &[("device_id", "'0000'")])?;
    insert(&db, &[5; 32], &[("node_surface_json", "'[1,2'")])?;
    insert(&db, &[6; 32], &[("public_key", "'not base64 at all'")])?;
    insert(&db, &[7; 32], &[("role", "NULL"), ("roles_json", "NULL")])?;
    // The rows #134340 was about need a laxer table: a copy of the schema without NOT NULL (an older
    // or hand-edited database), with NULL keys and times.
    db.execute_batch(
        "ALTER TABLE device_pairing_paired RENAME TO strict_rows;
         CREATE TABLE device_pairing_paired AS SELECT * FROM strict_rows WHERE 0;
         INSERT INTO device_pairing_paired SELECT * FROM strict_rows;
         DROP TABLE strict_rows;",
    )?;
    insert(&db, &[8; 32], &[("public_key", "NULL")])?;
    insert(&db, &[9; 32], &[("device_id", "NULL")])?;
    insert(
        &db,
        &[10; 32],
        &[("created_at_ms", "NULL"), ("approved_at_ms", "'soon'")],
    )?;
    // Left open, so the newest rows may still be in the -wal as a running OpenClaw leaves them.
    let source_files = dir_contents(&db_dir)?;
    let state = dir.path().join("state");

    // Dry run: nothing written anywhere; each bad row named with why.
    let dry = run_cli(
        &state,
        &["import", "--from", from.to_str().unwrap(), "--json"],
    )?;
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let v: Value = serde_json::from_slice(&dry.stdout)?;
    assert_eq!(v["rows"], 11, "{v}");
    assert_eq!(v["applied"], false);
    let imported: Vec<&str> = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["nodeId"].as_str().unwrap())
        .collect();
    assert_eq!(imported.len(), 2, "{v}");
    assert!(imported.contains(&device_id(&GOOD_KEY).as_str()));
    assert!(
        imported.contains(&device_id(&[10; 32]).as_str()),
        "NULL times fall back: {v}"
    );
    let skipped = v["skipped"].as_array().unwrap();
    let why = |key: &[u8; 32]| {
        let id = device_id(key);
        skipped
            .iter()
            .find(|s| s["row"].as_str().unwrap().ends_with(&id))
            .map(|s| s["why"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert!(why(&[1; 32]).contains("no public_key"), "{v}");
    assert!(
        why(&[2; 32]).contains("tokens_json is not valid JSON"),
        "{v}"
    );
    assert!(why(&[3; 32]).contains("not a node (role operator)"), "{v}");
    assert!(why(&[5; 32]).contains("node_surface_json"), "{v}");
    assert!(why(&[6; 32]).contains("32-byte"), "{v}");
    assert!(why(&[7; 32]).contains("not a node"), "{v}");
    assert!(why(&[8; 32]).contains("no public_key"), "{v}");
    assert!(
        skipped
            .iter()
            .any(|s| s["row"] == "device_pairing_paired 0000"
                && s["why"].as_str().unwrap().contains("SHA-256")),
        "{v}"
    );
    assert!(
        skipped
            .iter()
            .any(|s| s["row"].as_str().unwrap().ends_with("row 10") && s["why"] == "no device_id"),
        "{v}"
    );
    assert_eq!(skipped.len(), 9, "{v}");
    assert!(!state.exists(), "a dry run creates nothing here");
    let human =
        String::from_utf8(run_cli(&state, &["import", "--from", from.to_str().unwrap()])?.stdout)?;
    assert!(
        human.contains("Skipped 9 rows") && human.contains("Dry run"),
        "{human}"
    );
    assert!(!human.contains(TOKEN));

    // --apply while our gateway runs: refused, nothing imported.
    let gw = GatewayProcess::start(&state, &[])?;
    let refused = run_cli(
        &state,
        &["import", "--from", from.to_str().unwrap(), "--apply"],
    )?;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("the gateway is running"),
        "{refused:?}"
    );
    let list: NodePairList =
        serde_json::from_slice(&run_cli(&state, &["nodes", "list", "--json"])?.stdout)?;
    assert!(list.paired.is_empty());
    gw.stop()?;

    // Stopped: imported, hashed, audited; twice adds nothing.
    let applied = run_cli(
        &state,
        &["import", "--from", from.to_str().unwrap(), "--yes"],
    )?;
    let out = String::from_utf8(applied.stdout)?;
    assert!(
        applied.status.success() && out.contains("Imported 2 paired node devices"),
        "{out}"
    );
    let again = run_cli(
        &state,
        &[
            "import",
            "--from",
            from.to_str().unwrap(),
            "--apply",
            "--json",
        ],
    )?;
    assert_eq!(
        serde_json::from_slice::<Value>(&again.stdout)?["imported"],
        0
    );
    for f in ["paired.json", "audit.jsonl"] {
        let text = std::fs::read_to_string(state.join("nodes").join(f))?;
        assert!(!text.contains(TOKEN), "{f} holds the token");
    }
    let audit = std::fs::read_to_string(state.join("nodes/audit.jsonl"))?;
    let entries: Vec<Value> = audit
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(entries.len(), 2, "{audit}");
    assert!(
        entries
            .iter()
            .all(|e| e["action"] == "imported" && e["approvedVia"] == "import")
    );

    // The device connects with the token OpenClaw gave it: paired, no new request.
    let gw = GatewayProcess::start(&state, &[])?;
    let host = NodeHost {
        token: TOKEN,
        protocol: 4,
        display_name: "kitchen-pi",
        commands: &["system.which"],
    };
    let (_device, answer) = Client::node_host(&gw.url, &GOOD_KEY, &host).await?;
    assert_eq!(
        hello_auth(&answer)?.method.as_deref(),
        Some("device-token"),
        "{answer}"
    );
    let status: NodeList =
        serde_json::from_slice(&run_cli(&state, &["nodes", "status", "--json"])?.stdout)?;
    let node = status
        .nodes
        .iter()
        .find(|n| n.node_id.0 == device_id(&GOOD_KEY))
        .expect("listed");
    assert_eq!((node.paired, node.connected), (true, true));
    assert_eq!(node.approved_by.as_deref(), Some("import"));
    let list: NodePairList =
        serde_json::from_slice(&run_cli(&state, &["nodes", "list", "--json"])?.stdout)?;
    assert!(list.pending.is_empty(), "no new approval: {list:?}");
    gw.stop()?;

    // OpenClaw's files: only read, byte for byte as they were, nothing created beside them.
    assert!(
        dir_contents(&db_dir)? == source_files,
        "the source directory changed"
    );
    drop(db);
    Ok(())
}
