//! `openclaw`: the command-line tool of gateway-owned node pairing.
//!
//! `main` stays thin, as in ripgrep: parse the arguments ([`Cli`], the command tree), set up logging,
//! dispatch to the subcommand, and turn its outcome into an exit code — an error becomes one line on
//! stderr (`openclaw: …`). Each command lives in its own module with its `Opt` and `run`, and imports
//! no other command, only the shared modules below:
//!
//! - [`gateway`]: `openclaw gateway`, the pairing gateway itself (from `pairing-host`), and
//!   `gateway rotate-token`;
//! - [`node`]: `openclaw node pair | verify | connect | identity`, acting as a node;
//! - [`nodes`]: `openclaw nodes …`, acting as an operator, one module per subcommand (`watch`,
//!   `audit` among them);
//! - [`devices`]: `openclaw devices …`, OpenClaw's device commands over the same store;
//! - [`decide`]: approve and reject, for both `nodes` and `devices`;
//! - [`enroll`]: `openclaw qr` and `openclaw keys`, setup codes and enrollment keys (pairing with no
//!   approval step);
//! - [`doctor`]: `openclaw doctor`, why a node is not paired and what to type next;
//! - [`completions`]: `openclaw completions bash|zsh|fish`, the shell completion scripts.
//!
//! Shared pieces (they import no command): [`args`] (the common flags), [`endpoint`] (which URL and
//! token), [`client`] (the WebSocket RPC client), [`operator`] (the operator's connection and `--node`
//! lookups), [`identity`] (the node's private files, written with `pairing_host::fsutil`), [`tls`] (trust for `wss://`),
//! [`resolve`] (`--node` queries), [`request`] (a pending request as it is checked before a decision),
//! [`trail`] (the audit trail on this machine), [`ssh_proof`] (the key proof behind `watch
//! --auto-approve-silent`), [`render`] (tables and relative ages), [`prompt`] (terminal questions),
//! [`exit`] (exit codes).

#[macro_use]
mod exit;
mod args;
mod client;
mod completions;
mod dashboard;
mod decide;
mod devices;
mod doctor;
mod endpoint;
mod enroll;
mod gateway;
mod host_state;
mod identity;
mod import;
mod node;
mod nodes;
mod operator;
mod prompt;
mod render;
mod request;
mod resolve;
mod ssh_proof;
#[cfg(test)]
mod testdata;
mod tls;
mod trail;

use clap::{CommandFactory, Parser, Subcommand};
use exit::Exit;

/// `openclaw`: run a pairing gateway, pair a node with it, and approve nodes from a shell.
#[derive(Debug, Parser)]
#[command(
    name = "openclaw",
    version,
    about = "Gateway-owned node pairing: run the gateway, pair nodes, approve them",
    long_about = "Gateway-owned node pairing.\n\n\
        The gateway is the source of truth for which nodes may connect. A node asks to pair \
        (`openclaw node pair`), shows a verification code, and waits; an operator compares the code and \
        approves it (`openclaw nodes approve 1234-5678`); the node receives its token and is paired.",
    after_help = TOP_HELP,
    propagate_version = true
)]
pub struct Cli {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Examples and the exit-code table, shown at the end of `openclaw --help`.
const TOP_HELP: &str = concat!(
    "Examples:\n",
    "  openclaw gateway                       # terminal 1: run the gateway\n",
    "  openclaw node pair --url ws://127.0.0.1:18789/ --name kitchen-pi   # terminal 2: the node\n",
    "  openclaw nodes pending                 # terminal 3: see the request and its code\n",
    "  openclaw nodes approve 1234-5678       # approve by the code the node shows\n",
    "  openclaw devices list                  # the same, as OpenClaw's `devices` commands show it\n",
    "  openclaw qr                            # a setup code: the device pairs with no approval step\n",
    "  openclaw doctor                        # why is this node not paired, and what next\n",
    "  openclaw dashboard                     # open the approval page (prints its link)\n",
    "  openclaw nodes audit --since 1h        # every pairing decision, from the gateway host's files\n",
    "  source <(openclaw completions zsh)     # tab completion (see openclaw completions --help)\n\n",
    "Exit codes:\n",
    exit_codes_table!()
);

/// The top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pairing gateway (WebSocket server) until Ctrl-C.
    #[command(long_about = gateway::LONG_ABOUT)]
    Gateway(gateway::Opt),
    /// Act as a node: pair with a gateway, verify the stored token, stay connected.
    Node(node::Opt),
    /// Act as an operator: list, approve, reject, rename and remove nodes; watch pairing events.
    Nodes(nodes::Opt),
    /// OpenClaw's `devices` commands: list, approve, reject, remove, rotate and revoke devices.
    #[command(
        long_about = "OpenClaw's `devices` commands, for people used to them: list, approve, \
        reject and remove devices, rotate and revoke their tokens. They work on the same requests and \
        records as `openclaw nodes` (the gateway keeps one store): a device is a node that proved its key."
    )]
    Devices(devices::Opt),
    /// Print the approval page's link (with the token) and open it in the browser.
    #[command(after_help = dashboard::AFTER_HELP)]
    Dashboard(dashboard::Opt),
    /// Explain why a node is not paired, and print the command to type next.
    #[command(after_help = doctor::AFTER_HELP)]
    Doctor(doctor::Opt),
    /// Issue a setup code for one device (shown as a QR code): it pairs with no approval step.
    Qr(enroll::QrOpt),
    /// Enrollment keys for fleets: create (N devices, no approval step), list, revoke.
    Keys(enroll::KeysOpt),
    /// Print a shell completion script (bash, zsh or fish) on stdout.
    #[command(after_help = completions::AFTER_HELP)]
    Completions(completions::Opt),
    /// Bring the paired node devices of an OpenClaw 2026.7+ state directory here (a dry run first).
    #[command(long_about = import::LONG_ABOUT, after_help = import::AFTER_HELP)]
    Import(import::Opt),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => std::process::exit(exit::usage(e, &std::env::args().collect::<Vec<_>>())),
    };
    init_logging();
    let code = match run(cli) {
        Ok(exit) => exit.code(),
        Err(err) => {
            eprintln!("openclaw: {}", exit::one_line(&err));
            Exit::Failure.code()
        }
    };
    std::process::exit(code);
}

/// Builds the runtime and dispatches to the subcommand.
fn run(cli: Cli) -> anyhow::Result<Exit> {
    // Needs no runtime: print the script and leave.
    if let Command::Completions(opt) = &cli.command {
        return completions::run(opt, Cli::command());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Gateway(opt) => gateway::run(opt).await,
            Command::Node(opt) => node::run(opt).await,
            Command::Nodes(opt) => nodes::run(opt).await,
            Command::Devices(opt) => devices::run(opt).await,
            Command::Doctor(opt) => doctor::run(opt).await,
            Command::Qr(opt) => enroll::run_qr(opt).await,
            Command::Keys(opt) => enroll::run_keys(opt).await,
            Command::Dashboard(opt) => dashboard::run(&opt),
            Command::Completions(opt) => completions::run(&opt, Cli::command()),
            Command::Import(opt) => import::run(&opt),
        }
    });
    // A prompt may still be blocked reading stdin; do not wait for it.
    runtime.shutdown_background();
    result
}

/// Log targets of the libraries under the gateway and the CLI that print what passes through them at
/// trace level: tungstenite prints every WebSocket frame (`received frame …`, `Sending frame …`) and
/// the client's handshake request, tokio-tungstenite and warp wrap it, hyper and rustls print buffers,
/// headers and certificates. Frames carry tokens — an operator's `connect`, a node's approval — so
/// these targets never log below `debug`, whatever `RUST_LOG` asks (their `debug` lines name events,
/// not payloads).
const PAYLOAD_TARGETS: [&str; 8] = [
    "tungstenite",
    "tokio_tungstenite",
    "warp",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "tokio_rustls",
];

/// The cap on [`PAYLOAD_TARGETS`]: everything else passes, so `RUST_LOG` alone decides for them.
fn payload_cap() -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    PAYLOAD_TARGETS.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |t, target| t.with_target(*target, LevelFilter::DEBUG),
    )
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`), so stdout carries only results.
///
/// The cap is a second filter that every event must also pass, not a directive added to the
/// `RUST_LOG` filter: there the most specific directive wins, so a user's
/// `tungstenite::protocol=trace` would beat an added `tungstenite=debug`, and a span directive
/// (`[conn]=trace`) would enable frames inside our own spans.
fn init_logging() {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    tracing_subscriber::registry()
        .with(payload_cap())
        .with(filter)
        .with(fmt)
        .init();
}

#[cfg(test)]
mod tests;
