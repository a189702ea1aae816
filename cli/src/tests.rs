use super::*;
use clap::CommandFactory;
use tracing_subscriber::layer::SubscriberExt;

/// Counts the events that reach it, and remembers their messages.
#[derive(Clone, Default)]
struct Seen(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Seen {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
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
    let cli = Cli::try_parse_from(["openclaw", "nodes", "pending", "--token", "-uAbc_-x"]).unwrap();
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

#[test]
fn every_shell_gets_a_script_naming_the_subcommands() {
    for shell in [
        crate::completions::Shell::Bash,
        crate::completions::Shell::Zsh,
        crate::completions::Shell::Fish,
    ] {
        let s = String::from_utf8(crate::completions::script(shell, Cli::command())).unwrap();
        assert!(!s.is_empty(), "{shell:?}");
        for word in ["nodes", "approve", "completions"] {
            assert!(s.contains(word), "{shell:?} script lacks {word}");
        }
    }
}
