//! `openclaw doctor` on the gateway host: the state directory holds a gateway (`openclaw.json`,
//! `gateway.lock`) and no node of its own, so the doctor checks the gateway rather than suggest pairing
//! it as a node: is it running (the lock's pid and port), does its port answer, is the token file
//! there and private, does the gateway accept that token, do the state files read, and does the audit
//! chain verify. Gathering ([`gather`]) is apart from judging ([`report`]), a pure function.

use crate::host_state::HostState;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;

/// What was found on this machine and from the gateway.
#[derive(Debug)]
pub(super) struct HostFacts {
    /// The state directory.
    pub dir: String,
    /// A gateway holds the lock, and its pid and port.
    pub running: Option<(Option<u32>, Option<u16>)>,
    /// The port the gateway uses, and whether it accepts TCP connections.
    pub port: (u16, bool),
    /// `openclaw.json`: present with a token, its mode bits, or why it does not read.
    pub token_file: Result<Option<u32>, String>,
    /// The gateway's answer to the token: `Ok` accepted, `Err(why)` refused or unreachable.
    pub token_accepted: Result<(), String>,
    /// State files that do not read, with why.
    pub unreadable: Vec<String>,
    /// The audit chain: `Ok(entries)` verified, `Err(why)` broken or unreadable.
    pub audit: Result<u64, String>,
}

/// One check: what it found, and what to do when it failed.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Check {
    /// It passed.
    pub ok: bool,
    /// What was found.
    pub text: String,
    /// The next step, when it failed.
    pub next: Option<String>,
}

fn check(ok: bool, text: String, next: &str) -> Check {
    Check {
        ok,
        text,
        next: (!ok).then(|| next.to_owned()),
    }
}

/// Judges the facts: one [`Check`] per question, in the order a person fixes them.
pub(super) fn report(f: &HostFacts) -> Vec<Check> {
    let mut out = Vec::new();
    out.push(match f.running {
        Some((pid, port)) => check(
            true,
            format!(
                "the gateway is running (pid {}, port {})",
                pid.map_or("unknown".to_owned(), |p| p.to_string()),
                port.map_or("not yet listening".to_owned(), |p| p.to_string())
            ),
            "",
        ),
        None => check(
            false,
            format!("no gateway is running on {}", f.dir),
            "start it: openclaw gateway",
        ),
    });
    let (port, answers) = f.port;
    out.push(check(
        answers,
        if answers {
            format!("port {port} on 127.0.0.1 answers")
        } else {
            format!("nothing answers on 127.0.0.1:{port}")
        },
        "start the gateway (openclaw gateway), or check that nothing else took the port",
    ));
    out.push(match &f.token_file {
        Ok(Some(mode)) => check(
            mode & 0o077 == 0,
            format!(
                "openclaw.json holds the operator token (mode {:o})",
                mode & 0o777
            ),
            "make it private: chmod 600 openclaw.json (then rotate: openclaw gateway rotate-token)",
        ),
        Ok(None) => check(
            false,
            "openclaw.json has no operator token".to_owned(),
            "start the gateway once (openclaw gateway): it writes a token",
        ),
        Err(e) => check(
            false,
            format!("openclaw.json does not read: {e}"),
            "fix or remove it",
        ),
    });
    if answers {
        out.push(match &f.token_accepted {
            Ok(()) => check(true, "the gateway accepts that token".to_owned(), ""),
            Err(e) => check(
                false,
                format!("the gateway refused or did not answer: {e}"),
                "restart the gateway, or rotate the token: openclaw gateway rotate-token",
            ),
        });
    }
    out.push(check(
        f.unreadable.is_empty(),
        if f.unreadable.is_empty() {
            "the state files read".to_owned()
        } else {
            format!("state files do not read: {}", f.unreadable.join("; "))
        },
        "check their owner and mode (the gateway's user, 0600)",
    ));
    out.push(match &f.audit {
        Ok(n) => check(true, format!("the audit chain verifies ({n} entries)"), ""),
        Err(e) => check(
            false,
            format!("the audit chain does not verify: {e}"),
            "see openclaw nodes audit --verify",
        ),
    });
    out
}

/// Gathers the facts about the gateway of `host`.
pub(super) async fn gather(host: &HostState, conn: &crate::args::ConnArgs) -> HostFacts {
    let dir = &host.dir;
    let cfg = pairing_host::gateway_config::path(dir);
    let token_file = match (&host.config_error, &host.config) {
        (Some(e), _) => Err(e.clone()),
        (None, Some(c)) if c.token.is_some() => Ok(std::fs::symlink_metadata(&cfg)
            .map(|m| m.permissions().mode())
            .ok()),
        _ => Ok(None),
    };
    let answers = host.port_answers();
    let token_accepted = if answers {
        match crate::operator::connect(conn).await {
            Ok(c) => {
                c.close().await;
                Ok(())
            }
            Err(e) => Err(crate::exit::one_line(&e)),
        }
    } else {
        Err("not reachable".to_owned())
    };
    let nodes = pairing_host::paths::nodes_dir(dir);
    let unreadable = ["pending.json", "paired.json"]
        .iter()
        .map(|f| nodes.join(f))
        .filter_map(|p| match pairing_host::fsutil::read_private(&p) {
            Ok(_) => None,
            Err(e) => Some(pairing_host::fsutil::describe(&p, "cannot read", &e)),
        })
        .collect();
    let audit = match pairing_host::audit_log::verify(&nodes) {
        Ok(v) => match v.broken {
            None => Ok(v.entries),
            Some((place, why)) => Err(format!("{place}: {why}")),
        },
        Err(e) => Err(e.to_string()),
    };
    HostFacts {
        dir: dir.display().to_string(),
        running: host.alive.then(|| {
            host.owner
                .as_ref()
                .map(|o| (o.pid, o.port))
                .unwrap_or_default()
        }),
        port: (host.port(), answers),
        token_file,
        token_accepted,
        unreadable,
        audit,
    }
}

/// The text for a person: `ok`/`FAIL` lines, then the next steps.
pub(super) fn text(checks: &[Check]) -> String {
    let mut out = String::from("This machine runs the gateway (its state is here); checking it:\n");
    for c in checks {
        out.push_str(&format!(
            "- {} {}\n",
            if c.ok { "ok  " } else { "FAIL" },
            c.text
        ));
    }
    let next: Vec<&String> = checks.iter().filter_map(|c| c.next.as_ref()).collect();
    match next.first() {
        Some(n) => out.push_str(&format!("\nNext: {n}\n")),
        None => out.push_str(
            "\nAll good. Why is a node not paired? openclaw doctor --node NAME; open the page: openclaw dashboard\n",
        ),
    }
    out
}

/// The `--json` object: `{gateway: true, ok, checks: [{ok, text, next}]}`.
pub(super) fn json(checks: &[Check]) -> Value {
    json!({
        "gateway": true,
        "ok": checks.iter().all(|c| c.ok),
        "checks": checks.iter().map(|c| json!({"ok": c.ok, "text": c.text, "next": c.next})).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests;
