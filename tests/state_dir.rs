//! The state directory belongs to one gateway, and its files are its own: a second gateway on the same
//! directory stops without touching anything, planted symbolic links are refused, loose modes are
//! tightened (issue #14, items 1 and 10).

use pairing_tests::process::{GatewayProcess, run_cli};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Every file under `dir` with its bytes and mode (links as their target), for byte-for-byte
/// comparisons.
fn files(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(e.path()).unwrap();
                out.insert(e.path(), (target.into_os_string().into_encoded_bytes(), 0));
            } else {
                let mode = meta.permissions().mode() & 0o777;
                out.insert(e.path(), (std::fs::read(e.path()).unwrap(), mode));
            }
        }
    }
    out
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_second_gateway_on_the_same_state_dir_exits_naming_the_owner_and_touches_nothing()
-> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let first = GatewayProcess::start(&state, &[])?;
    let port: u16 = first
        .url
        .trim_start_matches("ws://127.0.0.1:")
        .trim_end_matches('/')
        .parse()?;
    // A looser directory (the owner's business) stays as it is when a second gateway is refused.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o750))?;
    let before = files(&state);
    assert!(before.keys().any(|p| p.ends_with("openclaw.json")));

    // Another port, so the port cannot be what stops it.
    let out = run_cli(&state, &["gateway", "--port", "0"])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the second gateway ran: {stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("openclaw: "))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    assert!(
        line.contains(&format!("pid {}, port {port}", first.child.id())),
        "{line}"
    );
    assert!(line.contains(&state.display().to_string()), "{line}");
    assert!(
        String::from_utf8_lossy(&out.stdout).is_empty(),
        "no link printed"
    );
    assert_eq!(files(&state), before, "the second gateway changed files");
    assert_eq!(mode(&state), 0o750, "nor the directory's mode");

    // The first one still serves, and after it stops the directory can be taken over.
    let pending = run_cli(&state, &["nodes", "pending", "--json"])?;
    assert!(pending.status.success());
    first.stop()?;
    let second = GatewayProcess::start(&state, &[])?;
    second.stop()?;
    Ok(())
}

#[test]
fn a_symlinked_openclaw_json_is_refused_and_its_token_not_adopted() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    std::fs::create_dir_all(&state)?;
    let planted = root.path().join("planted.json");
    let text = r#"{"gateway":{"port":1,"auth":{"token":"chosen-by-someone-else"}}}"#;
    std::fs::write(&planted, text)?;
    std::os::unix::fs::symlink(&planted, state.join("openclaw.json"))?;

    let out = run_cli(&state, &["gateway", "--port", "0"])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started over a linked openclaw.json");
    assert!(
        stderr.contains("openclaw.json is a symbolic link"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&planted)?, text);
    // The CLI does not send a token read through the link either.
    let out = run_cli(&state, &["nodes", "pending"])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("openclaw.json is a symbolic link"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn a_symlinked_journal_is_refused_and_its_target_left_alone() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    GatewayProcess::start(&state, &[])?.stop()?;
    for name in ["journal.jsonl", "paired.json", "audit.jsonl"] {
        let victim = root.path().join(format!("victim-{name}"));
        std::fs::write(&victim, "precious\n")?;
        let link = state.join("nodes").join(name);
        let saved = std::fs::read(&link).ok();
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&victim, &link)?;

        let out = run_cli(&state, &["gateway", "--port", "0"])?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "started over a linked {name}");
        assert!(
            stderr.contains(&format!("{name} is a symbolic link")),
            "{name}: {stderr}"
        );
        assert_eq!(std::fs::read_to_string(&victim)?, "precious\n", "{name}");
        std::fs::remove_file(&link)?;
        if let Some(bytes) = saved {
            std::fs::write(&link, bytes)?;
        }
    }
    Ok(())
}

#[test]
fn loose_modes_are_tightened() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    GatewayProcess::start(&state, &[])?.stop()?;
    let loose = [
        state.join("openclaw.json"),
        state.join("nodes/journal.jsonl"),
        state.join("nodes/pending.json"),
        state.join("nodes/paired.json"),
    ];
    for f in &loose {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o666))?;
    }
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755))?;
    std::fs::set_permissions(state.join("nodes"), std::fs::Permissions::from_mode(0o777))?;
    let gw = GatewayProcess::start(&state, &[])?;
    for f in &loose {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("nodes")), 0o700);
    assert_eq!(mode(&state.join("gateway.lock")), 0o600);
    gw.stop()?;
    Ok(())
}
