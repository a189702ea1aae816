//! Exit codes and how an error becomes one line on stderr.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (for `node pair`: approved) |
//! | 1 | any failure |
//! | 2 | `node pair`: the operator rejected the request |
//! | 3 | `node pair`: the request expired before anyone decided |
//! | 64 | usage error: an unknown command or flag, a bad or missing argument (BSD's `EX_USAGE`) |
//!
//! Usage errors get their own code so that a script calling `node pair` never reads a typo as "the
//! operator rejected it" (clap's default for them is 2).

/// The exit-code table as `--help` shows it (`openclaw --help`, and the README repeats it).
macro_rules! exit_codes_table {
    () => {
        concat!(
            "  0   success (node pair: approved)\n",
            "  1   failure: gateway unreachable or refusing, not paired, unknown node or request, superseded\n",
            "  2   node pair: the operator rejected the request\n",
            "  3   node pair: the request expired before anyone approved it\n",
            "  64  usage error: unknown command or flag, bad or missing argument"
        )
    };
}

/// BSD's `EX_USAGE`: the command line itself was wrong.
pub(crate) const USAGE: i32 = 64;

/// How a command that did not fail ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Success: exit 0.
    Ok,
    /// A failure already reported on screen (not paired, superseded): exit 1.
    Failure,
    /// `node pair`: rejected, exit 2.
    Rejected,
    /// `node pair`: expired, exit 3.
    Expired,
}

impl Exit {
    /// The process exit code.
    pub(crate) fn code(self) -> i32 {
        match self {
            Exit::Ok => 0,
            Exit::Failure => 1,
            Exit::Rejected => 2,
            Exit::Expired => 3,
        }
    }
}

/// Prints clap's error (or the help or version it was asked for) with a hint for a likely slip, and
/// returns the exit code: 0 for `--help` and `--version`, [`USAGE`] for anything clap refused.
pub(crate) fn usage(e: clap::Error, argv: &[String]) -> i32 {
    let asked = matches!(
        e.kind(),
        clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayVersion
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) && e.exit_code() == 0;
    let _ = e.print();
    if asked {
        return 0;
    }
    if let Some(hint) = slip_hint(argv) {
        eprintln!("\nhint: {hint}");
    }
    USAGE
}

/// Subcommands of `openclaw nodes` (the operator) and `openclaw node` (the node itself).
const OPERATOR: [&str; 10] = [
    "pending", "approve", "reject", "status", "list", "describe", "rename", "remove", "watch",
    "audit",
];
const NODE: [&str; 4] = ["pair", "verify", "connect", "identity"];

/// A hint for the slips people make between `node` (acting as a node) and `nodes` (acting as an
/// operator), and the singular `device`.
pub(crate) fn slip_hint(argv: &[String]) -> Option<String> {
    let words: Vec<&str> = argv
        .iter()
        .skip(1)
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .take(2)
        .collect();
    match words.as_slice() {
        ["node", sub, ..] if OPERATOR.contains(sub) && !NODE.contains(sub) => Some(format!(
            "`openclaw nodes {sub}` is the operator's command (`nodes`, plural); `openclaw node …` acts as \
             the node itself (pair, verify, connect, identity)"
        )),
        ["nodes", sub, ..] if NODE.contains(sub) => Some(format!(
            "`openclaw node {sub}` is run on the node (`node`, singular); `openclaw nodes …` is for the \
             operator (pending, approve, list, …)"
        )),
        ["device", ..] => Some("OpenClaw's device commands are `openclaw devices …`".to_owned()),
        _ => None,
    }
}

/// The whole error chain on one line (`outer: inner: cause`), newlines folded into spaces.
pub(crate) fn one_line(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
