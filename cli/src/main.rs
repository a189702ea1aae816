//! `openclaw`: the command-line tool of gateway-owned node pairing.
//!
//! `main` stays thin, as in ripgrep: parse the arguments, set up logging, run the subcommand, and turn
//! its outcome into an exit code — an error becomes one line on stderr (`openclaw: …`). Each
//! subcommand lives in its own module with its `Opt` and `run`:
//!
//! - [`gateway`]: `openclaw gateway`, the pairing gateway itself (from `pairing-host`);
//! - [`node`] and [`node_pair`]: `openclaw node pair | verify | connect`, acting as a node;
//! - [`nodes`], [`decide`], [`watch`]: `openclaw nodes …`, acting as an operator ([`ssh_proof`]:
//!   the key proof behind `watch --auto-approve-silent`);
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
mod ssh_proof;
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
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    /// Counts the events that reach it, and remembers their messages.
    #[derive(Clone, Default)]
    struct Seen(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Seen {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let mut target = event.metadata().target().to_owned();
            target.push(' ');
            target.push_str(event.metadata().level().as_str());
            self.0.lock().expect("lock").push(target);
        }
    }

    #[test]
    fn frame_printing_targets_stay_at_debug_whatever_rust_log_says() {
        for rust_log in [
            "trace",
            "tungstenite::protocol=trace",
            "tungstenite::protocol::frame=trace,tokio_tungstenite=trace,hyper=trace,rustls=trace",
            "[conn]=trace,trace",
        ] {
            let seen = Seen::default();
            let subscriber = tracing_subscriber::registry()
                .with(payload_cap())
                .with(tracing_subscriber::EnvFilter::new(rust_log))
                .with(seen.clone());
            tracing::subscriber::with_default(subscriber, || {
                let span = tracing::info_span!("conn", conn = 1);
                let _in = span.enter();
                tracing::trace!(target: "tungstenite::protocol::frame", "received frame <token>");
                tracing::trace!(target: "tokio_tungstenite::compat", "read");
                tracing::trace!(target: "hyper::proto::h1::io", "bytes");
                tracing::trace!(target: "rustls::client", "cert");
                tracing::debug!(target: "tungstenite::protocol", "Received close frame");
                tracing::trace!(target: "pairing_host::driver", "ours");
            });
            let seen = seen.0.lock().expect("lock").clone();
            assert!(
                seen.iter()
                    .all(|s| !s.ends_with("TRACE") || s.starts_with("pairing_host")),
                "{rust_log}: {seen:?}"
            );
            if !rust_log.contains("frame") {
                assert!(
                    seen.iter().any(|s| s == "tungstenite::protocol DEBUG"),
                    "{rust_log}: debug still passes: {seen:?}"
                );
            }
        }
    }
}
