//! Switching from OpenClaw 2026.4: the real gateway binary started on a state directory holding
//! OpenClaw's `devices/` store keeps its node devices paired — the device connects with the device
//! token OpenClaw gave it (as a 2026.4 node host without the gateway token does) and is admitted with
//! no approval; OpenClaw's files are left as they were; the import is audited and happens once.

use pairing_core::protocol::{DetailCode, NodeList};
use pairing_tests::client::{Client, NodeHost, device_id, hello_auth, pairing_required};
use pairing_tests::process::{GatewayProcess, run_cli};
use serde_json::json;

const KEY: [u8; 32] = [77; 32];
const OPENCLAW_DEVICE_TOKEN: &str = "aW1wb3J0ZWQtZGV2aWNlLXRva2VuLWZyb20tb3BlbmNsYXc";

fn public_key(key: &[u8; 32]) -> String {
    let vk = ed25519_dalek::SigningKey::from_bytes(key).verifying_key();
    base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        vk.to_bytes(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openclaw_device_store_is_imported_and_its_node_keeps_connecting() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state");
    let id = device_id(&KEY);
    let devices = state.join("devices");
    std::fs::create_dir_all(&devices)?;
    let paired = json!({ id.clone(): {
        "deviceId": id, "publicKey": public_key(&KEY), "displayName": "kitchen-pi",
        "platform": "linux", "clientId": "node-host", "clientMode": "node", "role": "node",
        "roles": ["node"], "scopes": [], "approvedScopes": [],
        "tokens": {"node": {"token": OPENCLAW_DEVICE_TOKEN, "role": "node", "scopes": [], "createdAtMs": 1796233909130_u64}},
        "createdAtMs": 1796233909130_u64, "approvedAtMs": 1796233909130_u64
    }});
    std::fs::write(
        devices.join("paired.json"),
        serde_json::to_vec_pretty(&paired)?,
    )?;
    std::fs::write(devices.join("pending.json"), b"{}")?;
    let source = std::fs::read(devices.join("paired.json"))?;

    let gw = GatewayProcess::start(&state, &[])?;
    // OpenClaw 2026.4's node host without the gateway token: the device token as auth.token (and as
    // auth.deviceToken, which the test client leaves out: auth.token alone must do).
    let host = NodeHost {
        token: OPENCLAW_DEVICE_TOKEN,
        protocol: 3,
        display_name: "kitchen-pi",
        commands: &[],
    };
    let (device, answer) = Client::node_host(&gw.url, &KEY, &host).await?;
    let auth = hello_auth(&answer)?;
    assert_eq!(auth.method.as_deref(), Some("device-token"));
    assert_eq!(auth.device_token, None, "the token it holds keeps working");

    let status: NodeList =
        serde_json::from_slice(&run_cli(&state, &["nodes", "status", "--json"])?.stdout)?;
    let node = &status.nodes[0];
    assert_eq!((node.paired, node.connected), (true, true));
    assert_eq!(node.approved_via.as_deref(), Some("import"));

    // Audited, never in plaintext here, OpenClaw's file as it was.
    let audit = String::from_utf8(run_cli(&state, &["nodes", "audit", "--json"])?.stdout)?;
    assert!(
        audit.lines().any(|l| l.contains("\"action\":\"imported\"")),
        "{audit}"
    );
    let ours = std::fs::read_to_string(state.join("nodes/paired.json"))?;
    assert!(!ours.contains(OPENCLAW_DEVICE_TOKEN) && ours.contains("tokenHash"));
    assert_eq!(std::fs::read(devices.join("paired.json"))?, source);
    let log = std::fs::read_to_string(&gw.log)?;
    assert!(log.contains("imported 1 paired node devices"), "{log}");
    assert!(!log.contains(OPENCLAW_DEVICE_TOKEN));

    // Removed here, it stays removed across a restart: its next connect is a new request.
    let removed = run_cli(&state, &["devices", "remove", &id])?;
    assert!(
        removed.status.success(),
        "{}",
        String::from_utf8_lossy(&removed.stderr)
    );
    drop(device);
    gw.stop()?;
    let gw = GatewayProcess::start(&state, &[])?;
    let host = NodeHost {
        token: &gw.token(),
        protocol: 4,
        ..host
    };
    let (device, answer) = Client::node_host(&gw.url, &KEY, &host).await?;
    assert_eq!(pairing_required(&answer)?.code, DetailCode::PairingRequired);
    drop(device);
    gw.stop()?;
    Ok(())
}
