//! The operator's everyday ergonomics (issue 8): shell completions, `nodes approve` with no argument,
//! and `nodes watch` output — the built binary, against a real gateway over loopback where one is needed.

use pairing_tests::process::run_cli;

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
