//! `openclaw nodes watch --auto-approve-silent --ssh HOST` against a real gateway, with a stand-in
//! `ssh` first on PATH (a script in the test's temporary directory): it runs the remote command on
//! this machine against a chosen node's state, prints a chosen identity, or fails as ssh does. A
//! silent request is approved only when the identity on HOST has the request's own key; a request
//! with another key (a `system.run` node elsewhere), with none (made by an operator), or an ssh that
//! fails is left pending, and the watcher says why.

use pairing_core::Method;
use pairing_core::protocol::{NodePending, PairRequestParams, RequestResult};
use pairing_core::record::NodeMeta;
use pairing_tests::client::Client;
use pairing_tests::process::{GatewayProcess, NodePair, openclaw, run_cli};
use serde_json::Value;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// The stand-in for ssh. It skips ssh's options and the host, logs the call, then acts as the file
/// `mode` beside it says: `local` runs the command (`openclaw …`) with this build's binary on the
/// state directory named in `node-state`; `print` prints the file `identity`; `fail` fails like an
/// unreachable host.
const FAKE_SSH: &str = r#"#!/bin/sh
here=$(dirname "$0")
while [ $# -gt 0 ]; do
  case "$1" in
    -o) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
  esac
done
host="$1"; shift
echo "$host $*" >> "$here/calls"
case "$(cat "$here/mode")" in
  local) shift; OPENCLAW_STATE_DIR="$(cat "$here/node-state")" exec "$OPENCLAW_TEST_BIN" "$@" ;;
  print) cat "$here/identity" ;;
  *) echo "ssh: connect to host $host port 22: Connection refused" >&2; exit 255 ;;
esac
"#;

/// A background `openclaw nodes watch` whose stdout and stderr lines arrive on a channel.
struct Watch {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Watch {
    fn start(state: &Path, bin: &Path, args: &[&str]) -> anyhow::Result<Watch> {
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut child = Command::new(openclaw())
            .args(["nodes", "watch"])
            .args(args)
            .env("OPENCLAW_STATE_DIR", state)
            .env("OPENCLAW_TEST_BIN", openclaw())
            .env("PATH", path)
            .env_remove("OPENCLAW_GATEWAY_URL")
            .env_remove("OPENCLAW_GATEWAY_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (tx, lines) = std::sync::mpsc::channel();
        let out = child.stdout.take().expect("piped");
        let err = child.stderr.take().expect("piped");
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx2.send(format!("stderr: {l}"));
            }
        });
        Ok(Watch {
            child,
            lines,
            seen: Vec::new(),
        })
    }

    /// Waits (at most 20 s) for a line containing every one of `words`.
    fn wait_for(&mut self, words: &[&str]) -> anyhow::Result<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(l) = self
                .seen
                .iter()
                .find(|l| words.iter().all(|w| l.contains(w)))
            {
                return Ok(l.clone());
            }
            let left = deadline
                .checked_duration_since(Instant::now())
                .ok_or_else(|| anyhow::anyhow!("{words:?} not seen in {:#?}", self.seen))?;
            if let Ok(l) = self.lines.recv_timeout(left) {
                self.seen.push(l);
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn set(bin: &Path, file: &str, text: &str) -> anyhow::Result<()> {
    Ok(std::fs::write(bin.join(file), text)?)
}

/// `openclaw node identity --json` of a node's state directory.
fn identity(state: &Path) -> anyhow::Result<Value> {
    let out = run_cli(state, &["node", "identity", "--json"])?;
    anyhow::ensure!(
        out.status.success(),
        "node identity: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn pending(gw_state: &Path) -> anyhow::Result<Vec<NodePending>> {
    let out = run_cli(gw_state, &["nodes", "pending", "--json"])?;
    anyhow::ensure!(out.status.success(), "nodes pending");
    Ok(serde_json::from_slice(&out.stdout)?)
}

#[test]
fn silent_approval_needs_the_requests_own_key_on_the_ssh_host() -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir()?;
    let gw_state = root.path().join("gw");
    let gw = GatewayProcess::start(&gw_state, &[])?;
    let bin = root.path().join("bin");
    std::fs::create_dir(&bin)?;
    std::fs::write(bin.join("ssh"), FAKE_SSH)?;
    std::fs::set_permissions(bin.join("ssh"), std::fs::Permissions::from_mode(0o755))?;
    set(&bin, "mode", "fail")?;

    let mut watch = Watch::start(
        &gw_state,
        &bin,
        &["--auto-approve-silent", "--ssh", "testhost"],
    )?;
    watch.wait_for(&["stderr: Watching pairing events"])?;

    // 1. ssh fails: left pending, ssh's own words shown.
    let mut a = NodePair::start(
        &root.path().join("a"),
        &gw.url,
        &["--silent", "--name", "node-a"],
    )?;
    a.code()?;
    let line = watch.wait_for(&["left", "node-a", "for a person"])?;
    assert!(
        line.contains(
            "`ssh testhost openclaw node identity --json` failed (exit 255): ssh: connect to host \
             testhost port 22: Connection refused"
        ),
        "{line}"
    );

    // 2. A node elsewhere asking for system.run, silently; testhost's node is node-a: another key.
    set(&bin, "mode", "print")?;
    set(
        &bin,
        "identity",
        &identity(&root.path().join("a"))?.to_string(),
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let token = gw.token();
    rt.block_on(async {
        let key = [9u8; 32];
        let mut n = Client::node(&gw.url, &key, "runner").await?;
        let id = pairing_tests::client::device_id(&key);
        let params = PairRequestParams {
            node_id: id,
            meta: NodeMeta {
                display_name: Some("runner".into()),
                commands: Some(vec!["system.run".into()]),
                ..NodeMeta::default()
            },
            silent: true,
        };
        n.call_as::<RequestResult>(Method::NodePairRequest, &params)
            .await?;
        anyhow::Ok(())
    })?;
    let line = watch.wait_for(&["left", "runner", "for a person"])?;
    assert!(
        line.contains("the node on testhost has another device key"),
        "{line}"
    );

    // 3. A silent request an operator made carries no key: never silently approved, even though the
    //    ssh call would now succeed.
    set(&bin, "mode", "local")?;
    set(
        &bin,
        "node-state",
        &root.path().join("a").display().to_string(),
    )?;
    rt.block_on(async {
        let mut op = Client::operator(&gw.url, &token, &["operator.admin"]).await?;
        let params = PairRequestParams {
            node_id: "made-by-an-operator".into(),
            meta: NodeMeta {
                display_name: Some("keyless".into()),
                ..NodeMeta::default()
            },
            silent: true,
        };
        op.call_as::<RequestResult>(Method::NodePairRequest, &params)
            .await?;
        anyhow::Ok(())
    })?;
    let line = watch.wait_for(&["left", "keyless", "for a person"])?;
    assert!(line.contains("it carries no device key"), "{line}");

    // 4. The node on testhost is the one asking: approved, and it gets its token.
    let d_state = root.path().join("d");
    set(&bin, "node-state", &d_state.display().to_string())?;
    let mut d = NodePair::start(&d_state, &gw.url, &["--silent", "--name", "node-d"])?;
    d.code()?;
    let line = watch.wait_for(&["auto-approved", "node-d"])?;
    assert!(
        line.contains("the node on testhost holds its device key (checked over ssh)"),
        "{line}"
    );
    assert_eq!(d.exit_code()?, 0, "{:#?}", d.seen);

    // The other three are still pending; node-d is paired.
    let names: Vec<String> = pending(&gw_state)?
        .iter()
        .map(|p| p.meta.display_name.clone().unwrap_or_default())
        .collect();
    for name in ["node-a", "runner", "keyless"] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} not pending: {names:?}"
        );
    }
    assert!(!names.iter().any(|n| n == "node-d"), "{names:?}");
    // ssh was called for the three requests with a key, never for the keyless one.
    let calls = std::fs::read_to_string(bin.join("calls"))?;
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        ["testhost openclaw node identity --json"; 3],
        "{calls}"
    );
    let _ = a.child.kill();
    let _ = a.child.wait();
    Ok(())
}

#[test]
fn node_identity_prints_the_key_and_creates_nothing() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("n");
    let out = run_cli(&state, &["node", "identity", "--json"])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("openclaw: this machine has no node identity yet")
            && err.lines().count() == 1,
        "{err}"
    );
    assert!(!state.join("identity").exists(), "it created the identity");
    // Once `node pair` made one, it prints it: the id is the hash of the key.
    let _ = run_cli(
        &state,
        &[
            "node",
            "pair",
            "--url",
            "ws://127.0.0.1:9/",
            "--timeout",
            "1s",
        ],
    )?;
    let v = identity(&state)?;
    let file: Value = serde_json::from_str(&std::fs::read_to_string(
        state.join("identity/device.json"),
    )?)?;
    assert_eq!(v["deviceId"], file["deviceId"]);
    assert_eq!(v["publicKey"], file["publicKey"]);
    assert_eq!(v.as_object().map(|o| o.len()), Some(2), "{v}");
    Ok(())
}
