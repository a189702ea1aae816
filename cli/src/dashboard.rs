//! `openclaw dashboard`: prints the approval page's link (with the operator token in its `#token=`
//! fragment, which browsers never send to a server) and opens it in the browser where there is a
//! display. The browser is started on a private (0600) file in the state directory that forwards to
//! the link, so the token never appears in a process's arguments, which other users can list.

use crate::args::ConnArgs;
use crate::endpoint::{self, Sources};
use crate::exit::Exit;
use crate::host_state::HostState;
use anyhow::bail;
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};

/// The examples.
pub(crate) const AFTER_HELP: &str = "Examples:\n  \
    openclaw dashboard                 # print the link and open it in the browser\n  \
    openclaw dashboard --no-open       # only print it (e.g. over SSH)\n  \
    openclaw dashboard --json          # {\"page\": …, \"running\": true|false}\n\n\
    The link carries the operator token: anyone with it can approve nodes. `openclaw gateway \
    rotate-token` replaces it.";

/// `openclaw dashboard`.
#[derive(Debug, Args)]
pub struct Opt {
    /// Only print the link; do not start a browser.
    #[arg(long)]
    pub no_open: bool,
    /// Connection flags (a remote gateway: --url and --token).
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// The approval page link for a gateway URL (`ws://H:P/` → `http://H:P/#token=…`, `wss` → `https`).
pub(crate) fn page_link(url: &str, token: &str) -> String {
    let base = match url.strip_prefix("wss://") {
        Some(rest) => format!("https://{rest}"),
        None => url.replacen("ws://", "http://", 1),
    };
    let base = base.split('#').next().unwrap_or_default();
    format!("{base}#token={token}")
}

/// The file the browser is started on: it forwards to the link at once.
fn forwarding_page(link: &str) -> String {
    let attr = link
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    format!(
        "<!doctype html><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">\
         <meta http-equiv=\"refresh\" content=\"0; url={attr}\"><title>OpenClaw</title>\
         <a href=\"{attr}\">Open the approval page</a>\n"
    )
}

/// The program that opens a file in the desktop's browser, when there is a display to show it on.
fn opener() -> Option<&'static str> {
    if cfg!(target_os = "macos") {
        return Some("open");
    }
    let has = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    (has("DISPLAY") || has("WAYLAND_DISPLAY")).then_some("xdg-open")
}

/// Starts `program file` without waiting for the browser, its output discarded.
fn open(program: &str, file: &Path) -> anyhow::Result<()> {
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {program}: {e}"))?;
    // xdg-open hands the file to the browser and exits; reap it in the background.
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// Runs `openclaw dashboard`.
pub(crate) fn run(opt: &Opt) -> anyhow::Result<Exit> {
    let dir = pairing_host::paths::state_dir();
    let host = HostState::read(&dir);
    let remote = opt.conn.url.is_some() || std::env::var_os("OPENCLAW_GATEWAY_URL").is_some();
    if !remote && host.config.is_none() {
        if let Some(e) = &host.config_error {
            bail!("cannot read the gateway's settings: {e}");
        }
        bail!(
            "no gateway state in {} (no openclaw.json): start the gateway on this machine with \
             `openclaw gateway` (it prints the link too), set OPENCLAW_STATE_DIR to its state \
             directory, or give a remote gateway's --url and --token",
            dir.display()
        );
    }
    let src = Sources::gather(&opt.conn)?;
    let ep = endpoint::resolve_operator(&src)?;
    let link = page_link(&ep.url.url, ep.token.as_deref().unwrap_or_default());
    let running = remote || host.alive;
    if opt.conn.json {
        println!("{}", json!({ "page": link, "running": running }));
    } else {
        println!("Approval page: {link}");
        if !running {
            eprintln!(
                "The gateway of {} is not running: start it with `openclaw gateway` before opening the page.",
                dir.display()
            );
        }
    }
    if opt.no_open || opt.conn.json {
        return Ok(Exit::Ok);
    }
    let Some(program) = opener() else {
        eprintln!(
            "No display here (DISPLAY and WAYLAND_DISPLAY are unset): open the link above in a browser."
        );
        return Ok(Exit::Ok);
    };
    let file: PathBuf = dir.join("dashboard.html");
    pairing_host::fsutil::write_private(&file, forwarding_page(&link).as_bytes())?;
    match open(program, &file) {
        Ok(()) => eprintln!("Opening it in your browser ({program})."),
        Err(e) => eprintln!("{e:#}; open the link above in a browser."),
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests;
