//! The OpenClaw 2026.4 device store import, against real files in a temporary state directory.

use super::MARKER;
use crate::FileStore;
use pairing_core::NodeId;
use pairing_core::proof::{self, SignedFields};
use pairing_core::store::Store;
use serde_json::{Value, json};
use std::path::Path;

const KEY: [u8; 32] = [5; 32];
const NODE_TOKEN: &str = "node-device-token-from-openclaw-000000000000";

fn public_key() -> String {
    proof::sign(&KEY, &SignedFields::node("x", "node", "", ""), 0, "n").public_key
}

fn write(path: &Path, v: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// An OpenClaw 2026.4 state directory: a paired node device, a paired operator device (its CLI), a
/// pending request of another node device.
fn openclaw_state(dir: &Path) -> (String, Vec<u8>, Vec<u8>) {
    let id = proof::device_id(&KEY);
    let other = proof::sign(&[6; 32], &SignedFields::node("x", "node", "", ""), 0, "n");
    let paired = json!({
        id.clone(): {
            "deviceId": id, "publicKey": public_key(), "displayName": "kitchen-pi",
            "platform": "linux", "clientId": "node-host", "clientMode": "node", "role": "node",
            "roles": ["node"], "scopes": [], "approvedScopes": [],
            "tokens": {"node": {"token": NODE_TOKEN, "role": "node", "scopes": [], "createdAtMs": 1000}},
            "createdAtMs": 1000, "approvedAtMs": 1000
        },
        "25ab11cb96744ab01ac183f26f003da1eaf10c3595175b70ce996192ae97451f": {
            "deviceId": "25ab11cb96744ab01ac183f26f003da1eaf10c3595175b70ce996192ae97451f",
            "publicKey": "NKXkSxc4_24Xcj_WJZY3rwwDiPNAysRN3wpkKMDY-cE", "clientId": "cli",
            "clientMode": "cli", "role": "operator", "roles": ["operator"],
            "tokens": {"operator": {"token": "operator-device-token", "role": "operator"}},
            "createdAtMs": 1, "approvedAtMs": 1
        }
    });
    let pending = json!({
        "req-1": {
            "requestId": "req-1", "deviceId": other.id, "publicKey": other.public_key,
            "displayName": "garage", "platform": "linux", "clientId": "node-host",
            "clientMode": "node", "role": "node", "roles": ["node"], "scopes": [],
            "silent": false, "isRepair": false, "ts": 2000
        }
    });
    write(&dir.join("devices/paired.json"), &paired);
    write(&dir.join("devices/pending.json"), &pending);
    (
        id,
        std::fs::read(dir.join("devices/paired.json")).unwrap(),
        std::fs::read(dir.join("devices/pending.json")).unwrap(),
    )
}

#[test]
fn node_devices_are_imported_once_hashed_and_audited_and_the_source_is_untouched() {
    let d = tempfile::tempdir().unwrap();
    let (id, paired_before, pending_before) = openclaw_state(d.path());
    let mut s = FileStore::new(d.path());
    let snap = s.load().unwrap();
    let node = snap
        .paired
        .iter()
        .find(|n| n.node_id.0 == id)
        .expect("the node device is paired");
    assert!(
        node.token_hash.matches(NODE_TOKEN),
        "its token keeps working"
    );
    assert_eq!(node.approved_via.as_deref(), Some("import"));
    assert_eq!(node.public_key.as_deref(), Some(public_key().as_str()));
    assert_eq!(snap.paired.len(), 1, "the operator device is not a node");
    assert_eq!(snap.pending.len(), 1);
    assert_eq!(snap.pending[0].request_id.0, "req-1");
    // Never in plaintext on our side; the source files are byte for byte what they were.
    let ours = std::fs::read_to_string(s.paired_path()).unwrap();
    assert!(!ours.contains(NODE_TOKEN) && ours.contains("tokenHash"));
    assert_eq!(
        std::fs::read(d.path().join("devices/paired.json")).unwrap(),
        paired_before
    );
    assert_eq!(
        std::fs::read(d.path().join("devices/pending.json")).unwrap(),
        pending_before
    );
    // Audited: one entry per imported record, by the gateway.
    let audit = std::fs::read_to_string(s.audit_path()).unwrap();
    let lines: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines
            .iter()
            .all(|l| l["action"] == "imported" && l["actor"] == "gateway")
    );
    assert!(!audit.contains(NODE_TOKEN));
    let marker: Value =
        serde_json::from_str(&std::fs::read_to_string(s.import_marker_path()).unwrap()).unwrap();
    assert_eq!(
        (marker["paired"].clone(), marker["pending"].clone()),
        (json!(1), json!(1))
    );
    assert!(marker["skipped"][0].as_str().unwrap().contains("operator"));

    // Removed here, it is not brought back by the next start.
    let change = pairing_core::Change::DeletePaired(NodeId(id));
    s.commit(&pairing_core::Batch {
        changes: std::slice::from_ref(&change),
        audit: &[],
    })
    .unwrap();
    drop(s);
    let snap = FileStore::new(d.path()).load().unwrap();
    assert!(snap.paired.is_empty(), "{:?}", snap.paired);
}

#[test]
fn a_crash_before_the_marker_imports_again_without_duplicates() {
    let d = tempfile::tempdir().unwrap();
    openclaw_state(d.path());
    let mut s = FileStore::new(d.path());
    s.load().unwrap();
    std::fs::remove_file(d.path().join("nodes").join(MARKER)).unwrap();
    drop(s);
    let mut again = FileStore::new(d.path());
    let snap = again.load().unwrap();
    assert_eq!((snap.paired.len(), snap.pending.len()), (1, 1));
    let audit = std::fs::read_to_string(again.audit_path()).unwrap();
    assert_eq!(audit.lines().count(), 2, "no entry twice: {audit}");
}

#[test]
fn openclaws_node_record_keeps_its_commands_and_gets_the_device_key_and_token() {
    let d = tempfile::tempdir().unwrap();
    let (id, ..) = openclaw_state(d.path());
    // OpenClaw 2026.4's node pairing store (this gateway's own files), with a plaintext node token.
    write(
        &d.path().join("nodes/paired.json"),
        &json!({ id.clone(): {
            "nodeId": id, "token": "old-node-pair-token", "displayName": "Kitchen Pi",
            "commands": ["canvas.present"], "createdAtMs": 500, "approvedAtMs": 600
        }}),
    );
    let mut s = FileStore::new(d.path());
    let snap = s.load().unwrap();
    let node = snap.paired.iter().find(|n| n.node_id.0 == id).unwrap();
    assert_eq!(
        node.meta.commands.as_deref(),
        Some(&["canvas.present".to_owned()][..])
    );
    assert!(node.token_hash.matches(NODE_TOKEN));
    assert_eq!(node.created_at_ms, 500);
    assert!(node.public_key.is_some());
}

#[test]
fn a_corrupt_source_stops_the_start_naming_the_file_and_how_to_skip() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("devices")).unwrap();
    std::fs::write(d.path().join("devices/paired.json"), "{ not json").unwrap();
    let e = FileStore::new(d.path()).load().unwrap_err().to_string();
    assert!(
        e.contains("devices/paired.json") && e.contains(MARKER),
        "{e}"
    );
}

#[test]
fn a_linked_source_is_not_followed() {
    let d = tempfile::tempdir().unwrap();
    let elsewhere = d.path().join("elsewhere.json");
    std::fs::write(&elsewhere, "{}").unwrap();
    std::fs::create_dir_all(d.path().join("devices")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, d.path().join("devices/paired.json")).unwrap();
    let e = FileStore::new(d.path()).load().unwrap_err().to_string();
    assert!(e.contains("paired.json"), "{e}");
}
