//! `openclaw completions bash|zsh|fish`: the shell completion script, generated from the command tree
//! by `clap_complete`, on stdout.

use crate::exit::Exit;
use clap::{Args, ValueEnum};

/// How to install each script, shown at the end of `openclaw completions --help`.
pub(crate) const AFTER_HELP: &str = concat!(
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

/// The completion script for `shell`, for the command tree `cmd` (`main` passes it in, so this module
/// imports no command).
pub(crate) fn script(shell: Shell, mut cmd: clap::Command) -> Vec<u8> {
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

/// Writes the script for the command tree `cmd` to stdout.
pub(crate) fn run(opt: &Opt, cmd: clap::Command) -> anyhow::Result<Exit> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&script(opt.shell, cmd))?;
    stdout.flush()?;
    Ok(Exit::Ok)
}
