//! Shared by the benchmarks (`core-bench`, `load`): paired OpenClaw-style node devices as the gateway
//! stores them (SPEC §11), and the `connect` with which such a device comes back.
//!
//! A device here is what the gateway keeps after an owner approved an OpenClaw 2026.9.6 node host
//! (`openclaw node run`): a [`PairedNode`] keyed by its device id, with its raw Ed25519 public key,
//! the hash of the device token it was given, role `node`, client `node-host`/`node`, the approved caps
//! and commands (exactly those the node declares, so a reconnect asks for nothing new), `approvedVia`
//! `owner`, and a `lastSeenAtMs` (by default an hour old, [`LAST_SEEN_AGO_MS`]: its next admission
//! then writes the record once, as for devices that come back after a while). Its `connect` is the real node host's frame (tests/fixtures/real_node_host_2026_9_6.json):
//! protocol 4, the same client block, caps, commands and `pathEnv`, `auth.token` = the gateway token
//! or `auth.deviceToken` = its device token, and a v3 device proof whose signed token is that
//! credential.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use pairing_core::proof::{SignedFields, payload_v3};
use pairing_core::protocol::{ClientInfo, ConnectAuth, ConnectDevice, ConnectParams};
use pairing_core::record::{DeviceClient, NodeMeta, PairedNode};
use pairing_core::{Method, NodeId, TokenHash, wire};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The caps an OpenClaw 2026.9.6 node host on Linux declares.
pub const CAPS: &[&str] = &["browser", "file", "local-inference", "mcp", "system"];

/// The commands an OpenClaw 2026.9.6 node host on Linux declares.
pub const COMMANDS: &[&str] = &[
    "browser.proxy",
    "browser.proxy.upload.v1",
    "desktop.stream",
    "dir.fetch",
    "dir.list",
    "file.create",
    "file.fetch",
    "file.stat",
    "file.write",
    "fs.listDir",
    "mcp.tools.call.v1",
    "ollama.chat",
    "ollama.models",
    "system.execApprovals.get",
    "system.execApprovals.set",
    "system.run",
    "system.run.prepare",
    "system.which",
    "terminal.upload",
    "workspace.memory",
    "workspace.skills",
];

/// How long before "now" a device was last seen, by default: an hour, so that its next admission
/// writes `lastSeenAtMs` (the gateway writes it at most once a minute).
pub const LAST_SEEN_AGO_MS: u64 = 3_600_000;

const CLIENT_ID: &str = "node-host";
const CLIENT_MODE: &str = "node";
const PLATFORM: &str = "linux";
const DEVICE_FAMILY: &str = "Linux";
const VERSION: &str = "2026.9.6";

/// Which credential a reconnecting node presents (the signature covers it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeAuth {
    /// `auth.token` = the shared gateway token, as OpenClaw node hosts send it.
    GatewayToken,
    /// `auth.deviceToken` = the device token the gateway issued to this device.
    DeviceToken,
}

impl NodeAuth {
    /// Both variants, in report order.
    pub const ALL: [NodeAuth; 2] = [NodeAuth::GatewayToken, NodeAuth::DeviceToken];

    /// The name on the command line and in reports: `token` or `device-token`.
    pub fn name(self) -> &'static str {
        match self {
            NodeAuth::GatewayToken => "token",
            NodeAuth::DeviceToken => "device-token",
        }
    }

    /// Parses [`NodeAuth::name`].
    pub fn parse(text: &str) -> Option<NodeAuth> {
        NodeAuth::ALL.into_iter().find(|a| a.name() == text)
    }
}

/// One paired device: its key, id, public key and the device token it holds.
pub struct Device {
    /// The Ed25519 signing key (its public half precomputed).
    pub key: SigningKey,
    /// Device id: hex SHA-256 of the raw public key (the `nodeId`).
    pub id: String,
    /// Raw public key, base64url without padding.
    pub public_key: String,
    /// The device token the gateway gave it (only its hash is stored).
    pub token: String,
    /// Its display name.
    pub name: String,
}

impl Device {
    /// The `i`-th device of a run named `seed`: key and token derived from both (deterministic).
    pub fn new(seed: &str, i: u64) -> Device {
        let secret: [u8; 32] = Sha256::digest(format!("{seed}-key-{i}").as_bytes()).into();
        let key = SigningKey::from_bytes(&secret);
        let raw = key.verifying_key().to_bytes();
        let token_bytes: [u8; 32] = Sha256::digest(format!("{seed}-token-{i}").as_bytes()).into();
        Device {
            id: pairing_core::secret::sha256_hex(&raw),
            public_key: URL_SAFE_NO_PAD.encode(raw),
            token: URL_SAFE_NO_PAD.encode(token_bytes),
            name: format!("node-box-{i}"),
            key,
        }
    }

    /// `n` devices of a run named `seed`.
    pub fn many(seed: &str, n: u64) -> Vec<Device> {
        (0..n).map(|i| Device::new(seed, i)).collect()
    }

    /// The record the gateway keeps for this device, approved by an owner at `now_ms` minus a day,
    /// last seen `last_seen_ago_ms` before `now_ms`, its current token issued at approval.
    pub fn record(&self, now_ms: u64, last_seen_ago_ms: u64) -> PairedNode {
        let approved = now_ms.saturating_sub(86_400_000);
        let list = |l: &[&str]| Some(l.iter().map(|s| (*s).to_owned()).collect());
        PairedNode {
            node_id: NodeId(self.id.clone()),
            token_hash: TokenHash::of(&self.token),
            meta: NodeMeta {
                display_name: Some(self.name.clone()),
                platform: Some(PLATFORM.into()),
                version: Some(VERSION.into()),
                device_family: Some(DEVICE_FAMILY.into()),
                caps: list(CAPS),
                commands: list(COMMANDS),
                ..NodeMeta::default()
            },
            remote_ip: Some("127.0.0.1".into()),
            public_key: Some(self.public_key.clone()),
            created_at_ms: approved,
            approved_at_ms: approved,
            renamed_at_ms: None,
            last_connected_at_ms: None,
            device: Some(DeviceClient {
                role: "node".into(),
                client_id: Some(CLIENT_ID.into()),
                client_mode: Some(CLIENT_MODE.into()),
            }),
            approved_via: Some("owner".into()),
            approved_by: Some("operator bench@127.0.0.1".into()),
            description: None,
            last_seen_at_ms: Some(now_ms.saturating_sub(last_seen_ago_ms)),
            token_issued_at_ms: Some(approved),
            token_revoked_at_ms: None,
            extra: Map::new(),
        }
    }

    /// The `connect` params of an OpenClaw 2026.9.6 node host coming back: protocol 4, its client
    /// block, caps and commands, the credential `auth` names, and a v3 proof over the challenge
    /// `nonce` signed at `signed_at` (the signed token is the credential presented).
    pub fn connect_params(
        &self,
        auth: NodeAuth,
        gateway_token: &str,
        nonce: &str,
        signed_at: u64,
    ) -> ConnectParams {
        let (credential, auth_block) = match auth {
            NodeAuth::GatewayToken => (
                gateway_token,
                ConnectAuth {
                    token: Some(gateway_token.to_owned()),
                    ..ConnectAuth::default()
                },
            ),
            NodeAuth::DeviceToken => (
                self.token.as_str(),
                ConnectAuth {
                    device_token: Some(self.token.clone()),
                    ..ConnectAuth::default()
                },
            ),
        };
        let fields = SignedFields {
            client_id: CLIENT_ID,
            client_mode: CLIENT_MODE,
            role: "node",
            scopes: &[],
            token: credential,
            platform: PLATFORM,
            device_family: DEVICE_FAMILY,
        };
        let payload = payload_v3(&self.id, &fields, signed_at, nonce);
        let signature = URL_SAFE_NO_PAD.encode(self.key.sign(payload.as_bytes()).to_bytes());
        let client = ClientInfo {
            device_family: Some(DEVICE_FAMILY.into()),
            ..ClientInfo::new(CLIENT_ID, CLIENT_MODE, VERSION, PLATFORM).named(&self.name)
        };
        let device = ConnectDevice {
            id: self.id.clone(),
            public_key: self.public_key.clone(),
            signature,
            signed_at,
            nonce: Some(nonce.to_owned()),
        };
        ConnectParams {
            auth: Some(auth_block),
            ..ConnectParams::node(client, device)
                .protocol(4)
                .declaring(CAPS, COMMANDS)
        }
    }

    /// The whole `connect` request frame with request id `id`.
    pub fn connect_frame(
        &self,
        id: &str,
        auth: NodeAuth,
        gateway_token: &str,
        nonce: &str,
        signed_at: u64,
    ) -> String {
        let params = self.connect_params(auth, gateway_token, nonce, signed_at);
        wire::request_frame(id, Method::Connect.as_str(), &real_host_params(&params))
    }
}

/// `params` as the real node host sends them: with `client.instanceId` and `pathEnv`, which it sends
/// and this gateway ignores (they are not in [`ConnectParams`]).
fn real_host_params(params: &ConnectParams) -> Value {
    let mut v = params.to_value();
    if let Some(p) = v.as_object_mut() {
        p.insert("pathEnv".into(), json!("/usr/local/bin:/usr/bin:/bin"));
        if let Some(Value::Object(client)) = p.get_mut("client") {
            client.insert(
                "instanceId".into(),
                json!("00000000-0000-4000-8000-000000000001"),
            );
        }
    }
    v
}

/// A device's `connect` frame prepared ahead (the same bytes as [`Device::connect_frame`] with
/// request id `1`): at connect time only the nonce, the time and the signature are filled in, with no
/// JSON tree built. For the load generator, which shares the machine's cores with the gateway.
pub struct ConnectTemplate {
    /// `v3|id|node-host|node|node||` — the signed payload up to `signedAt`.
    payload_head: String,
    /// The credential presented (and signed).
    credential: String,
    /// The frame up to the signature.
    head: String,
}

impl ConnectTemplate {
    /// The frame for challenge `nonce`, signed at `signed_at`.
    pub fn frame(&self, key: &SigningKey, nonce: &str, signed_at: u64) -> String {
        let payload = format!(
            "{}{signed_at}|{}|{nonce}|{PLATFORM}|{}",
            self.payload_head,
            self.credential,
            pairing_core::proof::normalize_metadata(DEVICE_FAMILY)
        );
        let signature = URL_SAFE_NO_PAD.encode(key.sign(payload.as_bytes()).to_bytes());
        // Nonces are the gateway's UUIDs: nothing to escape.
        format!(
            r#"{}"signature":"{signature}","signedAt":{signed_at},"nonce":"{nonce}"}}}}}}"#,
            self.head
        )
    }
}

impl Device {
    /// This device's [`ConnectTemplate`] for `auth`.
    pub fn connect_template(&self, auth: NodeAuth, gateway_token: &str) -> ConnectTemplate {
        let mut params = self.connect_params(auth, gateway_token, "", 0);
        let device = params
            .device
            .take()
            .expect("connect params have a device block");
        let params = real_host_params(&params).to_string();
        let quoted = |s: &str| Value::from(s).to_string();
        // The device block goes last, its signature, time and nonce appended at connect time.
        let head = format!(
            r#"{{"type":"req","id":"1","method":"connect","params":{},"device":{{"id":{},"publicKey":{},"#,
            params.strip_suffix('}').expect("an object"),
            quoted(&device.id),
            quoted(&device.public_key)
        );
        ConnectTemplate {
            payload_head: format!("v3|{}|{CLIENT_ID}|{CLIENT_MODE}|node||", self.id),
            credential: match auth {
                NodeAuth::GatewayToken => gateway_token.to_owned(),
                NodeAuth::DeviceToken => self.token.clone(),
            },
            head,
        }
    }
}

/// Writes `<state>/nodes/paired.json` (every device, keyed by device id, serialised from
/// [`PairedNode`], see [`Device::record`]) and an empty `<state>/nodes/pending.json`, as a gateway
/// that paired them would have left them; `nodes/` is created 0700 and the files 0600. Nothing else is
/// written: the gateway creates `openclaw.json` with its token when it starts.
pub fn write_state(
    state_dir: &Path,
    devices: &[Device],
    now_ms: u64,
    last_seen_ago_ms: u64,
) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = state_dir.join("nodes");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    let mut paired = Map::new();
    for d in devices {
        paired.insert(
            d.id.clone(),
            serde_json::to_value(d.record(now_ms, last_seen_ago_ms))?,
        );
    }
    for (name, body) in [
        (
            "paired.json",
            serde_json::to_vec_pretty(&Value::Object(paired))?,
        ),
        ("pending.json", b"{}".to_vec()),
    ] {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dir.join(name))?;
        std::io::Write::write_all(&mut f, &body)?;
        f.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pairing_core::proof::{DeviceProof, verify};

    #[test]
    fn the_proof_signs_the_presented_credential_and_the_record_round_trips() {
        let d = Device::new("t", 1);
        for auth in NodeAuth::ALL {
            let p = d.connect_params(auth, "gw-token", "n0nce", 1_000);
            let presented = p.auth.clone().unwrap();
            let credential = match auth {
                NodeAuth::GatewayToken => presented.token.unwrap(),
                NodeAuth::DeviceToken => presented.device_token.unwrap(),
            };
            let dev = p.device.clone().unwrap();
            assert_eq!(dev.nonce.as_deref(), Some("n0nce"));
            let proof = DeviceProof {
                id: dev.id,
                public_key: dev.public_key,
                signature: dev.signature,
                signed_at: dev.signed_at,
                nonce: dev.nonce,
            };
            let fields = SignedFields {
                client_id: CLIENT_ID,
                client_mode: CLIENT_MODE,
                role: "node",
                scopes: &[],
                token: &credential,
                platform: PLATFORM,
                device_family: DEVICE_FAMILY,
            };
            assert!(
                verify(&proof, &fields, "n0nce", 1_000, 1).is_ok(),
                "{auth:?}"
            );
        }
        for auth in NodeAuth::ALL {
            let from_template: Value = serde_json::from_str(
                &d.connect_template(auth, "gw-token")
                    .frame(&d.key, "n0nce", 7),
            )
            .unwrap();
            let direct: Value =
                serde_json::from_str(&d.connect_frame("1", auth, "gw-token", "n0nce", 7)).unwrap();
            assert_eq!(from_template, direct, "{auth:?}");
        }
        let stored = serde_json::to_value(d.record(5_000_000_000, LAST_SEEN_AGO_MS)).unwrap();
        assert_eq!(stored["tokenHash"], TokenHash::of(&d.token).to_base64url());
        assert_eq!(stored["publicKey"], d.public_key);
        assert_eq!(stored["role"], "node");
        assert_eq!(stored["clientId"], "node-host");
        assert_eq!(stored["approvedVia"], "owner");
        let (back, legacy) = PairedNode::from_stored(stored).unwrap();
        assert!(!legacy);
        assert_eq!(back, d.record(5_000_000_000, LAST_SEEN_AGO_MS));
    }
}
