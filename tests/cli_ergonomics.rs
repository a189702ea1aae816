//! The operator's everyday ergonomics (issue 8): shell completions, `nodes approve` with no argument,
//! and `nodes watch` output — the built binary, against a real gateway over loopback where one is needed.

use pairing_tests::process::{GatewayProcess, NodePair, run_cli};

#[test]
fn completions_name_the_subcommands_in_every_shell() -> anyhow::Result<()> {
    let state = tempfile::tempdir()?;
    for shell in ["bash", "zsh", "fish"] {
        let out = run_cli(state.path(), &["completions", shell])?;
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let script = String::from_utf8(out.stdout)?;
        assert!(!script.trim().is_empty(), "{shell}: empty script");
        for word in ["nodes", "approve"] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
    }
    let help = run_cli(state.path(), &["completions", "--help"])?;
    let help = String::from_utf8(help.stdout)?;
    for how in [
        "/etc/bash_completion.d/openclaw",
        "source <(openclaw completions zsh)",
        "~/.config/fish/completions/openclaw.fish",
    ] {
        assert!(help.contains(how), "help lacks {how}:\n{help}");
    }
    let bad = run_cli(state.path(), &["completions", "tcsh"])?;
    assert!(!bad.status.success());
    Ok(())
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn approve_with_no_argument_takes_only_the_sole_request() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw = GatewayProcess::start(&state, &[])?;

    // Nothing pending: said so, exit 1.
    let none = run_cli(&state, &["nodes", "approve", "--yes"])?;
    assert_eq!(none.status.code(), Some(1), "{}", stderr(&none));
    assert!(
        stderr(&none).contains("no pairing requests are pending"),
        "{}",
        stderr(&none)
    );

    // One pending, no terminal, no --yes: refused, showing the request; nothing decided.
    let mut pi = NodePair::start(&root.path().join("pi"), &gw.url, &["--name", "kitchen-pi"])?;
    let code = pi.code()?;
    for verb in ["approve", "reject"] {
        let out = run_cli(&state, &["nodes", verb])?;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        for want in ["--yes", "kitchen-pi", code.as_str(), "127.0.0.1"] {
            assert!(err.contains(want), "{verb}: {want} missing: {err}");
        }
    }

    // Two pending: refused, both listed with their codes.
    let mut mac = NodePair::start(&root.path().join("mac"), &gw.url, &["--name", "mac-mini"])?;
    let mac_code = mac.code()?;
    let two = run_cli(&state, &["nodes", "approve", "--yes"])?;
    let err = stderr(&two);
    assert_eq!(two.status.code(), Some(1), "{err}");
    for want in [
        "2 requests are pending",
        "kitchen-pi",
        "mac-mini",
        code.as_str(),
        mac_code.as_str(),
    ] {
        assert!(err.contains(want), "{want} missing: {err}");
    }

    // Reject one by its code; the other is now the only one and --yes approves it.
    assert!(
        run_cli(&state, &["nodes", "reject", &mac_code])?
            .status
            .success()
    );
    assert_eq!(mac.exit_code()?, 2, "{:#?}", mac.seen);
    let yes = run_cli(&state, &["nodes", "approve", "--yes"])?;
    assert!(yes.status.success(), "{}", stderr(&yes));
    assert!(
        String::from_utf8_lossy(&yes.stdout).contains("kitchen-pi"),
        "{}",
        String::from_utf8_lossy(&yes.stdout)
    );
    assert_eq!(pi.exit_code()?, 0, "{:#?}", pi.seen);
    Ok(())
}
