//! `openclaw devices …` (OpenClaw's syntax) and `openclaw gateway --auto-approve-local`, with the built
//! binary against a real gateway over loopback, and devices that connect the way OpenClaw node hosts do
//! (the gateway token and a signed device proof, protocol 4 or 3; see `NodeHost`). Results are read
//! with the typed records of `pairing_core::protocol`, as the CLI reads them.

use anyhow::Context;
use pairing_core::audit::{Action, ReadEntry, read_line};
use pairing_core::protocol::{
    DetailCode, DevicePairList, DeviceTokenRevoked, DeviceTokenRotated, HelloOk, NodeEntry,
    NodeList, PairingRequired,
};
use pairing_core::wire::Incoming;
use pairing_tests::client::{Client, NodeHost, device_id, hello_auth, pairing_required};
use pairing_tests::process::{GatewayProcess, run_cli};
use std::path::{Path, PathBuf};
use std::process::Output;

/// Runs `openclaw ARGS…` off the async workers (it blocks until the process exits).
async fn cli(state: &Path, args: &[&str]) -> anyhow::Result<Output> {
    let state = state.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_cli(&state, &args)
    })
    .await?
}

/// Runs `openclaw ARGS…`, which must succeed, and returns its stdout.
async fn ok(state: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = cli(state, args).await?;
    anyhow::ensure!(
        out.status.success(),
        "openclaw {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// `devices list --json`, parsed.
async fn devices(state: &Path) -> anyhow::Result<DevicePairList> {
    Ok(serde_json::from_str(
        &ok(state, &["devices", "list", "--json"]).await?,
    )?)
}

/// The `node.list` entry of `node` in `nodes status --json`.
async fn status_of(state: &Path, node: &str) -> anyhow::Result<NodeEntry> {
    let status: NodeList = serde_json::from_str(&ok(state, &["nodes", "status", "--json"]).await?)?;
    status
        .nodes
        .into_iter()
        .find(|n| n.node_id.as_str() == node)
        .with_context(|| format!("{node} missing in nodes status"))
}

/// An OpenClaw 2026.9 node host named `name` (protocol 4, no commands).
fn v4<'a>(token: &'a str, name: &'a str) -> NodeHost<'a> {
    NodeHost {
        token,
        protocol: 4,
        display_name: name,
        commands: &[],
    }
}

/// A gateway started on a fresh state directory under `root`.
fn gateway(root: &Path, args: &[&str]) -> anyhow::Result<(GatewayProcess, PathBuf, String)> {
    let state = root.join("gw");
    let gw = GatewayProcess::start(&state, args)?;
    let token = gw.token();
    Ok((gw, state, token))
}

/// Connects `key` as `host` and expects the refusal of a device that is not paired.
async fn refused(
    url: &str,
    key: &[u8; 32],
    host: &NodeHost<'_>,
) -> anyhow::Result<PairingRequired> {
    let (_, answer) = Client::node_host(url, key, host).await?;
    pairing_required(&answer)
}

/// Connects `key` as `host`, expects `hello-ok`, and returns the open client and its device token.
async fn admitted(
    url: &str,
    key: &[u8; 32],
    host: &NodeHost<'_>,
) -> anyhow::Result<(Client, Option<String>)> {
    let (c, answer) = Client::node_host(url, key, host).await?;
    Ok((c, hello_auth(&answer)?.device_token))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_list_approve_and_reject_a_v4_node_host() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let (gw, state, token) = gateway(root.path(), &[])?;
    let (kitchen, hall) = ([11u8; 32], [12u8; 32]);
    let kitchen_host = NodeHost {
        commands: &["camera.snap"],
        ..v4(&token, "kitchen-pi")
    };

    // A v4 node host is told to wait; its request is listed, in device shape, with its client.
    let asked = refused(&gw.url, &kitchen, &kitchen_host).await?;
    assert_eq!(
        (asked.code, asked.device_id.as_str()),
        (DetailCode::PairingRequired, device_id(&kitchen).as_str())
    );
    let list = devices(&state).await?;
    let p = list
        .pending
        .iter()
        .find(|p| p.request_id == asked.request_id)
        .context("the request is listed")?;
    assert_eq!(p.verification_code, asked.verification_code);
    assert_eq!(
        (p.client_id.as_deref(), p.client_mode.as_deref()),
        (Some("node-host"), Some("node"))
    );
    assert_eq!(p.commands, ["camera.snap"]);
    let human = ok(&state, &["devices", "list"]).await?;
    for want in [
        "Pending: 1 · Paired: 0",
        "REQUEST",
        "NEEDS",
        &asked.request_id.as_str()[..8],
        asked.verification_code.as_str(),
        "kitchen-pi · 127.0.0.1",
        "node-ho",
        "↳ commands: camera.snap",
        "write",
    ] {
        assert!(human.contains(want), "{want} missing:\n{human}");
    }

    // Approved by the code it shows: paired, and told it gets its token when it (re)connects.
    let said = ok(
        &state,
        &["devices", "approve", asked.verification_code.as_str()],
    )
    .await?;
    assert!(
        said.contains("is paired; it gets its device token when it (re)connects"),
        "{said}"
    );
    assert!(!said.contains("receives its new token"), "{said}");
    let (_kitchen_conn, device_token) = admitted(&gw.url, &kitchen, &kitchen_host).await?;
    assert!(
        device_token.is_some(),
        "the first connect after approval carries hello-ok.auth.deviceToken"
    );
    let entry = status_of(&state, &device_id(&kitchen)).await?;
    assert_eq!(entry.approved_via.as_deref(), Some("owner"), "{entry:?}");
    assert!(entry.last_seen_at_ms.is_some(), "{entry:?}");
    assert_eq!(entry.client_id.as_deref(), Some("node-host"), "{entry:?}");

    // One pending and one paired: what a person reads.
    let hall_asked = refused(&gw.url, &hall, &v4(&token, "hall-tv")).await?;
    let human = ok(&state, &["devices", "list"]).await?;
    insta::with_settings!({ filters => crate::cli_output::redactions(), snapshot_suffix => "list" }, {
        insta::assert_snapshot!("devices", format!("$ openclaw devices list\n{human}"));
    });

    // Rejected by requestId: gone from the list, and the device is told to stop asking.
    let said = ok(
        &state,
        &["devices", "reject", hall_asked.request_id.as_str()],
    )
    .await?;
    assert!(
        said.starts_with(&format!(
            "Rejected request {} of hall-tv",
            &hall_asked.request_id.as_str()[..8]
        )),
        "{said}"
    );
    assert!(devices(&state).await?.pending.is_empty());
    let told = refused(&gw.url, &hall, &v4(&token, "hall-tv")).await?;
    assert_eq!(
        (told.reason.as_str(), told.pause_reconnect),
        ("rejected", true)
    );

    // A code that names nothing: one line, exit 1, what is pending (nothing).
    let out = cli(&state, &["devices", "approve", "0000-0000"]).await?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("openclaw: devices approve failed: unknown code 0000-0000")
            && err.contains("no requests are pending"),
        "{err}"
    );
    assert!(gw.stop()?.success());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_revoke_and_remove_close_the_devices_connections() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let (gw, state, token) = gateway(root.path(), &[])?;
    let key = [21u8; 32];
    let host = v4(&token, "kitchen-pi");
    let id = device_id(&key);
    refused(&gw.url, &key, &host).await?;
    ok(&state, &["devices", "approve", "--node", "kitchen-pi"]).await?;
    let (mut conn, first) = admitted(&gw.url, &key, &host).await?;

    // Rotate: the live connection closes with 4001 and the next connect carries a new token.
    let rotated: DeviceTokenRotated = serde_json::from_str(
        &ok(
            &state,
            &[
                "devices",
                "rotate",
                "--device",
                "kitchen-pi",
                "--role",
                "node",
                "--json",
            ],
        )
        .await?,
    )?;
    assert_eq!(
        (rotated.device_id.as_str(), rotated.role.as_str()),
        (id.as_str(), "node")
    );
    assert_eq!(
        (rotated.closed_connections, rotated.token_delivery.as_str()),
        (1, "on-reconnect")
    );
    assert_eq!(conn.closed().await?, Some(4001));
    let (mut conn, second) = admitted(&gw.url, &key, &host).await?;
    assert!(
        second.is_some() && second != first,
        "a new token after rotation"
    );

    // Revoke, by an id prefix: closed with 4001; it stays paired and its token shows as revoked.
    let revoked: DeviceTokenRevoked = serde_json::from_str(
        &ok(
            &state,
            &[
                "devices",
                "revoke",
                "--device",
                &id[..12],
                "--role",
                "node",
                "--json",
            ],
        )
        .await?,
    )?;
    assert_eq!(
        (revoked.device_id.as_str(), revoked.closed_connections),
        (id.as_str(), 1)
    );
    assert_eq!(conn.closed().await?, Some(4001));
    let list = devices(&state).await?;
    let tokens = &list.paired.first().context("still paired")?.tokens;
    assert!(
        tokens[0].created_at_ms.is_none() && tokens[0].revoked_at_ms.is_some(),
        "{tokens:?}"
    );
    assert!(ok(&state, &["devices", "list"]).await?.contains("revoked "));

    // The human lines say what happened to the connection.
    let (mut conn, _) = admitted(&gw.url, &key, &host).await?;
    let said = ok(&state, &["devices", "rotate", "--device", "kitchen-pi"]).await?;
    assert!(
        said.starts_with("Rotated the node token of kitchen-pi (")
            && said.contains(
                "its 1 live connection was closed and it gets its new token when it reconnects"
            ),
        "{said}"
    );
    assert_eq!(conn.closed().await?, Some(4001));
    let (mut conn, _) = admitted(&gw.url, &key, &host).await?;
    let said = ok(&state, &["devices", "revoke", "--device", "127.0.0.1"]).await?;
    assert!(
        said.starts_with("Revoked the node token of kitchen-pi (") && said.contains("stays paired"),
        "{said}"
    );
    assert_eq!(conn.closed().await?, Some(4001));

    // Remove: unpaired, the connection closed, and its next connect asks again.
    let (mut conn, _) = admitted(&gw.url, &key, &host).await?;
    let said = ok(&state, &["devices", "remove", "kitchen-pi"]).await?;
    assert!(said.starts_with("Removed kitchen-pi ("), "{said}");
    assert_eq!(conn.closed().await?, Some(1008));
    assert!(devices(&state).await?.paired.is_empty());
    let again = refused(&gw.url, &key, &host).await?;
    assert_eq!(again.reason, "not-paired");
    let out = cli(&state, &["devices", "remove", "kitchen-pi"]).await?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("openclaw: devices remove failed: unknown node: kitchen-pi"),
        "{err}"
    );
    assert!(gw.stop()?.success());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_v3_node_host_is_paired_in_place() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let (gw, state, token) = gateway(root.path(), &[])?;
    let key = [31u8; 32];
    let host = NodeHost {
        protocol: 3,
        ..v4(&token, "garage-pi")
    };
    // OpenClaw 2026.4 stops for good on a refusal, so it is admitted to wait.
    let (conn, answer) = Client::node_host(&gw.url, &key, &host).await?;
    let hello: HelloOk = match serde_json::from_value(answer.clone())? {
        Incoming::Response { payload, .. } => serde_json::from_value(payload)?,
        other => anyhow::bail!("not an answer: {other:?}"),
    };
    assert_eq!(hello.protocol, 3, "{answer}");
    assert!(hello_auth(&answer)?.device_token.is_none());
    let code = devices(&state)
        .await?
        .pending
        .first()
        .context("its request is pending")?
        .verification_code
        .clone();
    let said = ok(&state, &["nodes", "approve", &code]).await?;
    assert!(
        said.contains("is paired in place on its open connection"),
        "{said}"
    );
    let entry = status_of(&state, &device_id(&key)).await?;
    assert_eq!(
        (entry.paired, entry.connected, entry.approved_via.as_deref()),
        (true, true, Some("owner")),
        "{entry:?}"
    );
    drop(conn);
    assert!(gw.stop()?.success());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_approve_local_pairs_a_loopback_device_at_once() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let (gw, state, token) = gateway(root.path(), &["--auto-approve-local"])?;
    let key = [41u8; 32];
    let (_conn, device_token) = admitted(&gw.url, &key, &v4(&token, "desk-mac")).await?;
    assert!(device_token.is_some(), "paired and given its token at once");
    let list = devices(&state).await?;
    assert!(list.pending.is_empty());
    assert_eq!(
        list.paired.first().and_then(|d| d.approved_via.as_deref()),
        Some("local")
    );
    let audit = ok(&state, &["nodes", "audit", "--json"]).await?;
    // The core's audit reader (its `AuditEntry` is write-only: `Serialize`, no `Deserialize`).
    let entries: Vec<ReadEntry> = audit.lines().map(read_line).collect::<Result<_, _>>()?;
    let approvals: Vec<&ReadEntry> = entries
        .iter()
        .filter(|e| {
            Action::parse(&e.action) == Some(Action::Approved) && e.node_id == device_id(&key)
        })
        .collect();
    assert_eq!(approvals.len(), 1, "{audit}");
    // `ReadEntry` has no accessor for `approvedVia`: read from the entry's JSON.
    assert_eq!(approvals[0].json["approvedVia"], "local", "{audit}");
    assert!(ok(&state, &["nodes", "list"]).await?.contains("· local"));
    assert!(gw.stop()?.success());
    Ok(())
}
