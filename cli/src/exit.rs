//! Exit codes and how an error becomes one line on stderr.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (for `node pair`: approved) |
//! | 1 | any failure |
//! | 2 | `node pair`: the operator rejected the request |
//! | 3 | `node pair`: the request expired before anyone decided |

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

/// The whole error chain on one line (`outer: inner: cause`), newlines folded into spaces.
pub(crate) fn one_line(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
