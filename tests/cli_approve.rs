//! Issue #14 item 7, the CLI's part: a request re-sent with `system.run` added between `nodes pending`
//! and `nodes approve CODE` shows the same code (it comes from the key). Approving by code or `--node`
//! (either family) then says what changed and, without a terminal and without `--yes`, refuses: the node
//! stays pending. `--yes` approves it, and every approval prints the surface it granted. Approving by
//! requestId is exact and is not asked about. `nodes pending` marks the changed request.

use pairing_core::NodeMeta;
use pairing_core::protocol::{NodePairList, NodePending, PairRequestParams};
use pairing_tests::client::{Client, by_node, device_id};
use pairing_tests::process::{GatewayProcess, run_cli};
use std::path::Path;
use std::process::Output;

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `nodes pending --json` of the gateway's operator.
fn pending(gw_state: &Path) -> anyhow::Result<Vec<NodePending>> {
    let o = run_cli(gw_state, &["nodes", "pending", "--json"])?;
    anyhow::ensure!(o.status.success(), "nodes pending: {}", err(&o));
    Ok(serde_json::from_slice(&o.stdout)?)
}

/// The pending request of `node`.
fn request_of(gw_state: &Path, node: &str) -> anyhow::Result<NodePending> {
    pending(gw_state)?
        .into_iter()
        .find(|p| p.node_id.as_str() == node)
        .ok_or_else(|| anyhow::anyhow!("{node} has no pending request"))
}

/// Asserts the one-line refusal of an approval of a request that changed, and that nothing was granted.
fn assert_refused(o: &Output, family: &str, request_id: &str) {
    assert_eq!(o.status.code(), Some(1), "{}{}", out(o), err(o));
    assert_eq!(out(o), "", "nothing approved");
    let e = err(o);
    assert_eq!(e.lines().count(), 1, "{e}");
    for want in [
        "changed after it was first listed",
        "commands added: system.run",
        &format!(
            "approve it by requestId (`openclaw {family} approve {}`)",
            &request_id[..8]
        ),
        "or pass --yes",
    ] {
        assert!(e.contains(want), "{want:?} missing: {e}");
    }
}

#[test]
fn approving_by_code_or_name_a_request_that_gained_system_run_needs_a_second_look()
-> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let gw_state = root.path().join("gw");
    let gw = GatewayProcess::start(&gw_state, &[])?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (ka, kb) = ([7u8; 32], [8u8; 32]);
    let (a, b) = (device_id(&ka), device_id(&kb));
    let ask = |n: &mut Client, id: &str, name: &str, commands: &[&str]| {
        let params = PairRequestParams {
            meta: NodeMeta {
                display_name: Some(name.to_owned()),
                commands: Some(commands.iter().map(|c| (*c).to_owned()).collect()),
                ..NodeMeta::default()
            },
            ..by_node(id)
        };
        rt.block_on(n.pair_request_with(&params))?
            .map_err(anyhow::Error::new)
    };
    let mut na = rt.block_on(Client::node(&gw.url, &ka, "runner"))?;
    let mut nb = rt.block_on(Client::node(&gw.url, &kb, "builder"))?;
    ask(&mut na, &a, "runner", &["canvas.present"])?;
    ask(&mut nb, &b, "builder", &["canvas.present"])?;

    // The operator reads the list: runner asks for canvas.present, code C.
    let seen = request_of(&gw_state, &a)?;
    assert_eq!(
        seen.meta.commands.as_deref(),
        Some(&["canvas.present".to_owned()][..]),
        "{seen:?}"
    );
    assert!(seen.supersedes.is_none(), "{seen:?}");
    let code = seen.verification_code.to_string();

    // Both nodes re-send their requests with system.run added: new requests, the same codes.
    ask(&mut na, &a, "runner", &["canvas.present", "system.run"])?;
    ask(&mut nb, &b, "builder", &["canvas.present", "system.run"])?;
    let now = request_of(&gw_state, &a)?;
    assert_eq!(now.verification_code, code.as_str());
    assert_ne!(now.request_id, seen.request_id);
    assert_eq!(
        now.supersedes.as_ref().map(|s| &s.request_id),
        Some(&*seen.request_id),
        "{now:?}"
    );
    let rid = now.request_id.as_str().to_owned();
    // Reading the list again shows it, next to the code.
    let o = run_cli(&gw_state, &["nodes", "pending"])?;
    // The row shows the short request id and the code; the note under it what changed.
    let listed = out(&o);
    let mut lines = listed.lines();
    let row = lines
        .by_ref()
        .find(|l| l.starts_with(&rid[..8]))
        .unwrap_or_default()
        .to_owned();
    let note = lines.next().unwrap_or_default();
    assert!(
        row.contains(&code) && note.contains("changed: commands added: system.run"),
        "{}",
        out(&o)
    );

    // Approving by the code read before, by name, or through `devices`, without a terminal: refused.
    let o = run_cli(&gw_state, &["nodes", "approve", &code])?;
    assert_refused(&o, "nodes", &rid);
    let o = run_cli(&gw_state, &["nodes", "approve", "--node", "runner"])?;
    assert_refused(&o, "nodes", &rid);
    let o = run_cli(&gw_state, &["devices", "approve", &code])?;
    assert_refused(&o, "devices", &rid);
    assert_eq!(
        request_of(&gw_state, &a)?.request_id.as_str(),
        rid.as_str(),
        "still pending"
    );
    let o = run_cli(&gw_state, &["nodes", "list", "--json"])?;
    let list: NodePairList = serde_json::from_slice(&o.stdout)?;
    assert!(list.paired.is_empty(), "nothing paired");

    // The old request id is exact: it answers `superseded` and grants nothing.
    let old = seen.request_id.as_str();
    let o = run_cli(&gw_state, &["nodes", "approve", old])?;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("superseded")
            && err(&o)
                .contains("check the new one with `openclaw nodes pending` before approving it"),
        "{}",
        err(&o)
    );

    // With --yes the code approves it, and the output says what was granted.
    let o = run_cli(&gw_state, &["nodes", "approve", &code, "--yes"])?;
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out(&o));
    assert!(
        lines[0].starts_with(&format!("Approved request {}: runner", &rid[..8])),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("Granted caps: ")
            && lines[1].ends_with("; commands: canvas.present, system.run."),
        "{}",
        lines[1]
    );

    // By requestId the approval is exact: no question, and the surface is printed too.
    let rb = request_of(&gw_state, &b)?;
    assert!(rb.supersedes.is_some(), "{rb:?}");
    let rb = rb.request_id.as_str().to_owned();
    let o = run_cli(&gw_state, &["devices", "approve", &rb])?;
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains("\nGranted caps: ")
            && out(&o).ends_with("; commands: canvas.present, system.run.\n"),
        "{}",
        out(&o)
    );
    assert!(pending(&gw_state)?.is_empty());
    drop((na, nb));
    assert!(gw.stop()?.success());
    Ok(())
}
