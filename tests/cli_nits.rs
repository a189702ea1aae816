//! Issue #16's CLI points, as a new user met them: usage errors exit 64 with a hint for `node`/`nodes`
//! slips; short request ids and name prefixes accepted everywhere, "did you mean" on a miss; tables
//! within 80 columns; a second approval says who approved and when; `openclaw dashboard`; `openclaw
//! doctor` on the gateway host. The built binary against a real gateway over loopback.

use pairing_tests::process::{GatewayProcess, NodePair, openclaw, run_cli};
use std::os::unix::fs::PermissionsExt;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Stops the gateway when the test ends, however it ends.
struct Gateway(Option<GatewayProcess>);

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(gw) = self.0.take() {
            let _ = gw.kill();
        }
    }
}

impl std::ops::Deref for Gateway {
    type Target = GatewayProcess;
    fn deref(&self) -> &GatewayProcess {
        self.0.as_ref().expect("running")
    }
}

fn assert_fits_80(what: &str, out: &str) {
    for line in out.lines() {
        assert!(
            line.chars().count() <= 80,
            "{what}: a {}-column line: {line}\n{out}",
            line.chars().count()
        );
    }
}

#[test]
fn usage_errors_exit_64_and_slips_get_a_hint() -> anyhow::Result<()> {
    let state = tempfile::tempdir()?;
    let slip = run_cli(state.path(), &["node", "list"])?;
    assert_eq!(slip.status.code(), Some(64), "{}", text(&slip.stderr));
    assert!(
        text(&slip.stderr).contains("hint: `openclaw nodes list`"),
        "{}",
        text(&slip.stderr)
    );
    let other = run_cli(state.path(), &["nodes", "pair"])?;
    assert_eq!(other.status.code(), Some(64));
    assert!(text(&other.stderr).contains("`openclaw node pair`"));
    for args in [
        &["nodes", "describe"][..],
        &["node", "pair", "--bogus"],
        &["nodes", "pending", "--timeout", "5"],
    ] {
        let out = run_cli(state.path(), args)?;
        assert_eq!(
            out.status.code(),
            Some(64),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    // Help and version still exit 0, and every help that has an exit-code table names 64.
    let help = run_cli(state.path(), &["--help"])?;
    assert_eq!(help.status.code(), Some(0));
    assert!(
        text(&help.stdout).contains("64  usage error"),
        "{}",
        text(&help.stdout)
    );
    for args in [
        &["node", "pair", "--help"][..],
        &["doctor", "--help"],
        &["nodes", "audit", "--help"],
    ] {
        let out = run_cli(state.path(), args)?;
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out.stdout).contains("64 usage error"), "{args:?}");
    }
    Ok(())
}

#[test]
fn short_ids_positional_nodes_name_prefixes_and_a_second_approval() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw = Gateway(Some(GatewayProcess::start(&state, &[])?));
    let name = "Living Room iPad Pro (second floor)";
    let mut node = NodePair::start(&root.path().join("n"), &gw.url, &["--name", name])?;
    let code = node.code()?;

    let pending = run_cli(&state, &["nodes", "pending"])?;
    let out = text(&pending.stdout);
    assert_fits_80("nodes pending", &out);
    let list = run_cli(&state, &["nodes", "pending", "--json"])?;
    let v: serde_json::Value = serde_json::from_slice(&list.stdout)?;
    let request_id = v[0]["requestId"].as_str().unwrap_or_default().to_owned();
    let short = &request_id[..8];
    assert!(out.contains(short) && !out.contains(&request_id), "{out}");

    // A typo: nothing decided, "did you mean" names the request.
    let miss = run_cli(&state, &["nodes", "approve", "livng"])?;
    assert_eq!(miss.status.code(), Some(1));
    let err = text(&miss.stderr);
    assert!(err.contains("did you mean") && err.contains(short), "{err}");

    // The short id the table prints approves it; the line prints short ids, never a 64-hex one.
    let ok = run_cli(&state, &["nodes", "approve", short])?;
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let line = text(&ok.stdout);
    assert!(
        line.starts_with(&format!("Approved request {short}: {name} (")),
        "{line}"
    );
    assert!(
        !line
            .split(|c: char| !c.is_ascii_hexdigit())
            .any(|w| w.len() >= 32),
        "no long ids: {line}"
    );
    assert_eq!(node.exit_code()?, 0);

    // Again, by short id and by code: already approved, by whom and when.
    for again in [short, code.as_str()] {
        let twice = run_cli(&state, &["nodes", "approve", again])?;
        assert_eq!(twice.status.code(), Some(1));
        let err = text(&twice.stderr);
        assert!(
            err.contains(&format!("request {short} was already approved"))
                && err.contains("by operator cli@127.0.0.1"),
            "{again}: {err}"
        );
        assert!(!err.contains("unknown"), "{err}");
    }
    // From another machine (no audit trail to read): the gateway's answer says who, by code.
    let elsewhere = root.path().join("elsewhere");
    let token = gw.token();
    let remote = [
        "nodes",
        "approve",
        code.as_str(),
        "--url",
        &gw.url,
        "--token",
        &token,
    ];
    let twice = run_cli(&elsewhere, &remote)?;
    assert_eq!(twice.status.code(), Some(1));
    let err = text(&twice.stderr);
    assert!(
        err.contains(&format!("request {short} was already approved"))
            && err.contains("by operator cli@127.0.0.1"),
        "elsewhere: {err}"
    );

    // describe / rename / remove take the node positionally, by the start of its name; --node stays.
    let d = run_cli(&state, &["nodes", "describe", "living"])?;
    assert!(d.status.success(), "{}", text(&d.stderr));
    assert!(text(&d.stdout).contains(name));
    let r = run_cli(
        &state,
        &["nodes", "rename", "living", "--name", "Kitchen iPad"],
    )?;
    assert!(r.status.success(), "{}", text(&r.stderr));
    let d = run_cli(&state, &["nodes", "describe", "--node", "kitchen"])?;
    assert!(
        text(&d.stdout).contains("Kitchen iPad"),
        "{}",
        text(&d.stdout)
    );
    let typo = run_cli(&state, &["nodes", "describe", "kitchn-ipad"])?;
    assert!(
        text(&typo.stderr).contains("did you mean Kitchen iPad"),
        "{}",
        text(&typo.stderr)
    );
    for args in [&["nodes", "list"][..], &["nodes", "status"]] {
        let out = run_cli(&state, args)?;
        assert!(out.status.success());
        assert_fits_80(&args.join(" "), &text(&out.stdout));
    }
    let gone = run_cli(&state, &["nodes", "remove", "kitchen"])?;
    assert!(gone.status.success(), "{}", text(&gone.stderr));
    Ok(())
}

#[test]
fn dashboard_prints_and_opens_the_link_without_the_token_in_arguments() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let none = run_cli(&state, &["dashboard", "--no-open"])?;
    assert_eq!(none.status.code(), Some(1));
    assert!(
        text(&none.stderr).contains("no gateway state")
            && text(&none.stderr).contains("openclaw gateway"),
        "{}",
        text(&none.stderr)
    );

    let gw = Gateway(Some(GatewayProcess::start(&state, &[])?));
    let token = gw.token();
    let port = gw
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let link = format!("http://127.0.0.1:{port}/#token={token}");
    let printed = run_cli(&state, &["dashboard", "--no-open"])?;
    assert!(printed.status.success());
    assert_eq!(
        text(&printed.stdout).trim(),
        format!("Approval page: {link}")
    );

    // A stand-in xdg-open records its arguments; the browser gets a private file that forwards.
    let bin = root.path().join("bin");
    std::fs::create_dir(&bin)?;
    let args_file = root.path().join("args");
    let fake = bin.join("xdg-open");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > {}\n",
            args_file.display()
        ),
    )?;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755))?;
    let out = std::process::Command::new(openclaw())
        .arg("dashboard")
        .env("OPENCLAW_STATE_DIR", &state)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("DISPLAY", ":0")
        .env_remove("OPENCLAW_GATEWAY_URL")
        .env_remove("OPENCLAW_GATEWAY_TOKEN")
        .output()?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut waited = 0;
    while !args_file.exists() && waited < 100 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        waited += 1;
    }
    let args = std::fs::read_to_string(&args_file)?;
    assert!(
        !args.contains(&token),
        "the token is not in the opener's arguments: {args}"
    );
    let page = std::path::PathBuf::from(args.trim());
    let forward = std::fs::read_to_string(&page)?;
    assert!(forward.contains(&format!("url={link}")), "{forward}");
    let mode = std::fs::metadata(&page)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the forwarding file is private");
    Ok(())
}

#[test]
fn doctor_on_the_gateway_host_checks_the_gateway() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let mut gw = Gateway(Some(GatewayProcess::start(&state, &[])?));
    let ok = run_cli(&state, &["doctor"])?;
    let out = text(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{out}{}", text(&ok.stderr));
    for want in [
        "the gateway is running (pid",
        "answers",
        "mode 600",
        "accepts that token",
        "audit chain verifies",
    ] {
        assert!(out.contains(want), "{want} missing:\n{out}");
    }
    assert!(
        !out.contains("node pair"),
        "no advice to pair the gateway as a node:\n{out}"
    );
    let json = run_cli(&state, &["doctor", "--json"])?;
    let v: serde_json::Value = serde_json::from_slice(&json.stdout)?;
    assert_eq!(v["ok"], true, "{v}");

    if let Some(g) = gw.0.take() {
        assert!(g.stop()?.success());
    }
    let down = run_cli(&state, &["doctor"])?;
    let out = text(&down.stdout);
    assert_eq!(down.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL no gateway is running"), "{out}");
    assert!(out.contains("Next: start it: openclaw gateway"), "{out}");
    Ok(())
}
