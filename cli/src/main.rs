//! `openclaw`: the command-line tool of gateway-owned node pairing.
//!
//! `main` stays thin, as in ripgrep: parse the arguments, set up logging, run the subcommand, and turn
//! its outcome into an exit code — an error becomes one line on stderr (`openclaw: …`). Each
//! subcommand lives in its own module with its `Opt` and `run`:
//!
//! - [`gateway`]: `openclaw gateway`, the pairing gateway itself (from `pairing-host`);
//! - [`node`] and [`node_pair`]: `openclaw node pair | verify | connect`, acting as a node;
//! - [`nodes`], [`decide`], [`watch`]: `openclaw nodes …`, acting as an operator;
//! - [`devices`] and [`device_table`]: `openclaw devices …`, OpenClaw's device commands over the same
//!   store ([`decide`] approves and rejects for both);
//! - [`audit`] and [`audit_verify`]: `openclaw nodes audit [--verify]`, the audit trail from local files;
//! - [`doctor`]: `openclaw doctor`, why a node is not paired and what to type next;
//! - [`completions`]: `openclaw completions bash|zsh|fish`, the shell completion scripts.
//!
//! Shared pieces: [`args`] (the command tree and common flags), [`endpoint`] (which URL and token),
//! [`client`] (the WebSocket RPC client), [`identity`] and [`files`] (the node's private files),
//! [`tls`] (trust for `wss://`), [`resolve`] (`--node` queries), [`request`] (a pending request as it is checked before a decision), [`render`] (tables and relative ages), [`exit`] (exit codes).

mod args;
mod audit;
mod audit_verify;
mod client;
mod completions;
mod decide;
mod device_table;
mod devices;
mod doctor;
mod endpoint;
mod exit;
mod files;
mod gateway;
mod identity;
mod node;
mod node_pair;
mod nodes;
mod render;
mod request;
mod resolve;
mod rotate_token;
mod tls;
mod watch;

use clap::Parser;
use exit::Exit;

fn main() {
    let cli = args::Cli::parse();
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
fn run(cli: args::Cli) -> anyhow::Result<Exit> {
    // Needs no runtime: print the script and leave.
    if let args::Command::Completions(opt) = &cli.command {
        return completions::run(opt);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(async move {
        match cli.command {
            args::Command::Gateway(opt) => gateway::run(opt).await,
            args::Command::Node(opt) => node::run(opt).await,
            args::Command::Nodes(opt) => nodes::run(opt).await,
            args::Command::Devices(opt) => devices::run(opt).await,
            args::Command::Doctor(opt) => doctor::run(opt).await,
            args::Command::Completions(opt) => completions::run(&opt),
        }
    });
    // A prompt may still be blocked reading stdin; do not wait for it.
    runtime.shutdown_background();
    result
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`), so stdout carries only results.
fn init_logging() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // The WebSocket layers log whole frames at trace level, and frames carry tokens (the operator's
    // `connect`, a node's approved event). Whatever RUST_LOG asks, they never log below info.
    for quiet in [
        "tungstenite=info",
        "tokio_tungstenite=info",
        "warp::filters::ws=info",
    ] {
        if let Ok(d) = quiet.parse() {
            filter = filter.add_directive(d);
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
