//! `openclaw completions bash|zsh|fish`: the shell completion script, generated from the command tree
//! by `clap_complete`, on stdout.

use crate::exit::Exit;
use clap::{Args, CommandFactory, ValueEnum};

/// How to install each script, shown at the end of `openclaw completions --help`.
pub const AFTER_HELP: &str = concat!(
    "Install (pick your shell):\n",
    "  bash:  openclaw completions bash > /etc/bash_completion.d/openclaw\n",
    "         (or, for one user: openclaw completions bash > ~/.local/share/bash-completion/completions/openclaw)\n",
    "  zsh:   source <(openclaw completions zsh)       # add this line to ~/.zshrc\n",
    "  fish:  openclaw completions fish > ~/.config/fish/completions/openclaw.fish\n\n",
    "Examples:\n",
    "  openclaw completions bash > /etc/bash_completion.d/openclaw\n",
    "  source <(openclaw completions zsh)\n",
    "  openclaw completions fish > ~/.config/fish/completions/openclaw.fish"
);

/// The shells a script can be generated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// GNU bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}

/// `openclaw completions`.
#[derive(Debug, Args)]
pub struct Opt {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut cmd = crate::args::Cli::command();
    let mut out = Vec::new();
    let name = "openclaw";
    match shell {
        Shell::Bash => {
            clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, name, &mut out)
        }
        Shell::Zsh => clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, name, &mut out),
        Shell::Fish => {
            clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, name, &mut out)
        }
    }
    out
}

/// Writes the script to stdout.
pub fn run(opt: &Opt) -> anyhow::Result<Exit> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&script(opt.shell))?;
    stdout.flush()?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let s = String::from_utf8(script(shell)).unwrap();
            assert!(!s.is_empty(), "{shell:?}");
            for word in ["nodes", "approve", "completions"] {
                assert!(s.contains(word), "{shell:?} script lacks {word}");
            }
        }
    }
}
