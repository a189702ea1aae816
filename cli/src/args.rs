//! The command tree (`Cli`) and the flags every gateway-talking command shares (`ConnArgs`).

use clap::{Args, Parser, Subcommand};

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
    "  openclaw doctor                        # why is this node not paired, and what next\n",
    "  openclaw nodes audit --since 1h        # every pairing decision, from the gateway host's files\n",
    "  source <(openclaw completions zsh)     # tab completion (see openclaw completions --help)\n\n",
    "Exit codes:\n",
    "  0  success (node pair: approved)\n",
    "  1  failure: bad arguments, gateway unreachable or refusing, not paired, superseded\n",
    "  2  node pair: the operator rejected the request\n",
    "  3  node pair: the request expired before anyone approved it"
);

/// The top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pairing gateway (WebSocket server) until Ctrl-C.
    #[command(long_about = crate::gateway::LONG_ABOUT)]
    Gateway(crate::gateway::Opt),
    /// Act as a node: pair with a gateway, verify the stored token, stay connected.
    Node(crate::node::Opt),
    /// Act as an operator: list, approve, reject, rename and remove nodes; watch pairing events.
    Nodes(crate::nodes::Opt),
    /// OpenClaw's `devices` commands: list, approve, reject, remove, rotate and revoke devices.
    #[command(
        long_about = "OpenClaw's `devices` commands, for people used to them: list, approve, \
        reject and remove devices, rotate and revoke their tokens. They work on the same requests and \
        records as `openclaw nodes` (the gateway keeps one store): a device is a node that proved its key."
    )]
    Devices(crate::devices::Opt),
    /// Explain why a node is not paired, and print the command to type next.
    #[command(after_help = crate::doctor::AFTER_HELP)]
    Doctor(crate::doctor::Opt),
    /// Print a shell completion script (bash, zsh or fish) on stdout.
    #[command(after_help = crate::completions::AFTER_HELP)]
    Completions(crate::completions::Opt),
}

/// Flags shared by every command that talks to a gateway.
#[derive(Clone, Debug, Default, Args)]
pub struct ConnArgs {
    /// Gateway WebSocket URL [default: $OPENCLAW_GATEWAY_URL, else ws://127.0.0.1:PORT/ with PORT from
    /// openclaw.json in the state directory, else 18789].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Operator token [default: $OPENCLAW_GATEWAY_TOKEN, else the token in openclaw.json in the state
    /// directory, which is sent only to a loopback URL].
    #[arg(long, value_name = "TOKEN", allow_hyphen_values = true)]
    pub token: Option<String>,
    /// How long to wait for the gateway to connect or answer a call: 10s, 1m, 500ms (a unit is
    /// required).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: u64,
    /// Print only JSON on stdout (for scripts).
    #[arg(long)]
    pub json: bool,
    /// Allow plaintext ws:// to a host that is not loopback (anyone on the path can read it).
    #[arg(long)]
    pub allow_plaintext: bool,
    /// For wss:// URLs: trust the certificates in this PEM file (e.g. a self-signed gateway's
    /// certificate) instead of the system's roots.
    /// A self-signed certificate given here is trusted as it is (pinned), whatever its CA flag.
    #[arg(long, value_name = "FILE", env = "OPENCLAW_GATEWAY_CA")]
    pub ca: Option<std::path::PathBuf>,
    /// For wss:// URLs: accept only a gateway certificate with this SHA-256 fingerprint (64 hex
    /// digits, colons and a sha256: prefix optional; `openssl x509 -noout -fingerprint -sha256 -in
    /// cert.pem` prints it).
    #[arg(long, value_name = "SHA256", env = "OPENCLAW_GATEWAY_TLS_FINGERPRINT", value_parser = crate::tls::parse_fingerprint)]
    pub tls_fingerprint: Option<crate::tls::Fingerprint>,
}

/// Parses `10s`, `5m`, `300000ms`, `2d` into milliseconds; a bare number is refused with a hint.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    pairing_host::duration::parse_ms(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_has_an_example_in_its_help() {
        fn walk(cmd: &clap::Command, path: &str) {
            let path = format!("{path} {}", cmd.get_name());
            if cmd.get_subcommands().next().is_none() {
                let help = cmd
                    .get_after_help()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                assert!(
                    help.contains("Example"),
                    "{path} lacks an example in its help"
                );
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &path);
            }
        }
        walk(&Cli::command(), "");
    }

    #[test]
    fn common_flags_parse_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "openclaw",
            "nodes",
            "pending",
            "--json",
            "--timeout",
            "2s",
            "--url",
            "ws://127.0.0.1:1/",
        ])
        .unwrap();
        let Command::Nodes(opt) = cli.command else {
            panic!("nodes")
        };
        let conn = opt.conn().expect("pending has connection flags");
        assert!(conn.json);
        assert_eq!(conn.timeout, 2000);
        assert_eq!(conn.url.as_deref(), Some("ws://127.0.0.1:1/"));
    }

    /// Tokens are base64url: one in 64 starts with '-', which must still be taken as the value.
    #[test]
    fn a_token_starting_with_a_dash_is_a_value() {
        let cli =
            Cli::try_parse_from(["openclaw", "nodes", "pending", "--token", "-uAbc_-x"]).unwrap();
        let Command::Nodes(opt) = cli.command else {
            panic!("nodes")
        };
        assert_eq!(opt.conn().unwrap().token.as_deref(), Some("-uAbc_-x"));
    }

    #[test]
    fn devices_take_openclaws_syntax() {
        let parse = |args: &[&str]| {
            let mut all = vec!["openclaw", "devices"];
            all.extend_from_slice(args);
            match Cli::try_parse_from(all).map(|c| c.command) {
                Ok(Command::Devices(o)) => Ok(o),
                Ok(_) => panic!("devices"),
                Err(e) => Err(e),
            }
        };
        use crate::devices::DevicesCommand as D;
        assert!(parse(&["list", "--json"]).unwrap().conn().json);
        let Ok(crate::devices::Opt {
            command: D::Approve(o),
        }) = parse(&["approve", "1234-5678"])
        else {
            panic!("approve")
        };
        assert_eq!(o.target.as_deref(), Some("1234-5678"));
        let Ok(crate::devices::Opt {
            command: D::Reject(o),
        }) = parse(&["reject", "--node", "pi"])
        else {
            panic!("reject")
        };
        assert_eq!(o.node.as_deref(), Some("pi"));
        let Ok(crate::devices::Opt {
            command: D::Remove(o),
        }) = parse(&["remove", "kitchen-pi"])
        else {
            panic!("remove")
        };
        assert_eq!(o.device, "kitchen-pi");
        for verb in ["rotate", "revoke"] {
            let o = parse(&[verb, "--device", "pi", "--role", "node", "--timeout", "2s"]).unwrap();
            assert_eq!(o.conn().timeout, 2000);
            assert!(
                parse(&[verb, "--role", "node"]).is_err(),
                "{verb} needs --device"
            );
        }
        assert!(parse(&["approve", "1234-5678", "--node", "pi"]).is_err());
    }
}
