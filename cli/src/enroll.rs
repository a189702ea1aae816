//! `openclaw qr` and `openclaw keys`: setup codes and enrollment keys, which pair a device with no
//! approval step (the operator approves by issuing one). Both are enrollments at the gateway
//! (`enroll.*`); a setup code pairs one device within ten minutes, a key as many as it is given, for
//! fleets. The secret is shown once, when issued: the gateway keeps only its hash, so listing or
//! looking at one never shows or consumes it.

mod issue;
mod qr_text;

use crate::args::{ConnArgs, parse_duration};
use crate::client::read;
use crate::exit::Exit;
use crate::operator;
use crate::render::Table;
use clap::{Args, Subcommand};
use pairing_core::Method;
use pairing_core::enroll::Status;
use pairing_core::format::{ago, expires_in};
use pairing_core::protocol::{EnrollEntry, EnrollList, EnrollRef};

pub(crate) use qr_text::render as render_qr;

/// What a new setup code or key grants, and where it points.
#[derive(Clone, Debug, Default, Args)]
pub struct GrantArgs {
    /// Never grant the admin-sensitive commands (system.run, browser.proxy, …): OpenClaw's --limited.
    #[arg(long)]
    pub limited: bool,
    /// Grant only these commands (of those the device declares), comma-separated.
    #[arg(long, value_name = "CMD,…", value_delimiter = ',')]
    pub commands: Option<Vec<String>>,
    /// The gateway URL the device should dial, when the gateway's own (ws://127.0.0.1:… on a loopback
    /// bind) is not reachable from it: ws://HOST:PORT or wss://HOST:PORT.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// What to call it in lists.
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
}

/// `openclaw qr`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
#[command(after_help = "Examples:\n  \
    openclaw qr                                  # a setup code for one device, as a QR code\n  \
    openclaw qr --public-url wss://gw.lan:18789  # when the device cannot reach 127.0.0.1\n  \
    openclaw qr --setup-code-only                # just the code, for a script or a paste\n  \
    openclaw qr list                             # setup codes and keys issued, and who used them\n  \
    openclaw qr revoke 3f9a2c1b                  # end one now (devices it paired stay paired)\n\n\
    On the device: `openclaw node run --pair CODE` (OpenClaw's node host) or `openclaw node pair \
    --setup-code CODE`.")]
pub struct QrOpt {
    /// `list` or `revoke`; without one, issue a setup code.
    #[command(subcommand)]
    pub command: Option<QrCommand>,
    /// How long the code works: 10m, 1h (a unit is required).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub expires: u64,
    /// Print only the setup code (no QR, no help text).
    #[arg(long)]
    pub setup_code_only: bool,
    /// What the code grants.
    #[command(flatten)]
    pub grant: GrantArgs,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `list` and `revoke`, the same under `openclaw qr` and `openclaw keys`: both kinds live in one list.
#[derive(Debug, Subcommand)]
pub enum QrCommand {
    /// List setup codes and keys: status, uses, expiry, and the devices they paired.
    #[command(after_help = "Examples:\n  \
        openclaw keys list           # active setup codes and keys, and the devices they paired\n  \
        openclaw keys list --all     # also used-up, expired and revoked ones\n  \
        openclaw keys list --json    # for scripts (never a secret)")]
    List(ListOpt),
    /// Revoke a setup code or key now; the devices it paired stay paired (remove them separately).
    #[command(after_help = "Examples:\n  \
        openclaw keys revoke 3f9a2c1b   # by the id `keys list` shows\n  \
        openclaw keys revoke 3f9a       # or a prefix of 4+ characters that only it has")]
    Revoke(RevokeOpt),
}

/// `openclaw keys`.
#[derive(Debug, Args)]
pub struct KeysOpt {
    /// What to do.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// `openclaw keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Issue an enrollment key: it pairs up to --uses devices until it expires, no approval step.
    #[command(after_help = "Examples:\n  \
        openclaw keys create --uses 20 --expires 24h --limited --name-prefix ci-\n  \
        # then on each container:  OPENCLAW_SETUP_CODE=… openclaw node pair\n  \
        #                      or: openclaw node run --pair CODE   (OpenClaw's node host)")]
    Create(CreateOpt),
    /// `list` and `revoke`.
    #[command(flatten)]
    Manage(QrCommand),
}

/// `openclaw keys create`.
#[derive(Debug, Args)]
pub struct CreateOpt {
    /// How many devices it may pair.
    #[arg(long, default_value_t = 1)]
    pub uses: u32,
    /// How long it works: 24h, 7d, 30m (a unit is required).
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_duration)]
    pub expires: u64,
    /// Put this before each paired device's name (ci- → ci-runner-7).
    #[arg(long, value_name = "PREFIX")]
    pub name_prefix: Option<String>,
    /// Also show the code as a QR code.
    #[arg(long)]
    pub qr: bool,
    /// What the key grants.
    #[command(flatten)]
    pub grant: GrantArgs,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `list`.
#[derive(Debug, Args)]
pub struct ListOpt {
    /// Also show ended ones (used up, expired, revoked).
    #[arg(long)]
    pub all: bool,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `revoke ID`.
#[derive(Debug, Args)]
pub struct RevokeOpt {
    /// The id `list` shows (or a prefix of 4+ characters).
    pub id: String,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Runs `openclaw qr`.
pub(crate) async fn run_qr(opt: QrOpt) -> anyhow::Result<Exit> {
    match opt.command {
        Some(c) => manage(c).await,
        None => issue::setup_code(&opt).await,
    }
}

/// Runs `openclaw keys`.
pub(crate) async fn run_keys(opt: KeysOpt) -> anyhow::Result<Exit> {
    match opt.command {
        KeysCommand::Create(o) => issue::key(&o).await,
        KeysCommand::Manage(c) => manage(c).await,
    }
}

async fn manage(c: QrCommand) -> anyhow::Result<Exit> {
    match c {
        QrCommand::List(o) => list(&o).await,
        QrCommand::Revoke(o) => revoke(&o).await,
    }
}

/// The table of `list`: fits 80 columns.
fn table(entries: &[EnrollEntry], now: u64) -> String {
    let mut t = Table::new(&["ID", "KIND", "STATUS", "USES", "EXPIRES", "ACCESS", "LABEL"]);
    for e in entries {
        let expires = match e.status {
            Status::Active => expires_in(e.expires_at_ms, now).replace("expires in ", "in "),
            Status::Expired => ago(e.expires_at_ms, now),
            _ => "-".to_owned(),
        };
        let label: String = e.label.as_deref().unwrap_or("").chars().take(20).collect();
        t.row(vec![
            e.id.clone(),
            e.kind.as_str().to_owned(),
            e.status.as_str().to_owned(),
            format!("{}/{}", e.uses, e.max_uses),
            expires,
            e.access.clone(),
            label,
        ]);
    }
    t.render()
}

async fn list(o: &ListOpt) -> anyhow::Result<Exit> {
    let mut c = operator::connect(&o.conn).await?;
    let r = c
        .call(Method::EnrollList, pairing_core::protocol::NoParams {})
        .await?;
    c.close().await;
    let mut l: EnrollList = read(&r)?;
    if !o.all {
        l.enrollments.retain(|e| e.status == Status::Active);
    }
    if o.conn.json {
        println!("{}", serde_json::to_string(&l)?);
        return Ok(Exit::Ok);
    }
    if l.enrollments.is_empty() {
        println!(
            "No {}setup codes or keys. Issue one: openclaw qr (one device) or openclaw keys create \
             --uses N (a fleet).",
            if o.all { "" } else { "active " }
        );
        return Ok(Exit::Ok);
    }
    print!("{}", table(&l.enrollments, l.ts));
    for e in &l.enrollments {
        for r in &e.redeemed_by {
            let name = r.display_name.as_deref().unwrap_or("(no name)");
            println!(
                "  {} used by {name} ({}) {}",
                e.id,
                pairing_core::format::short_id(r.device_id.as_str()),
                ago(r.at_ms, l.ts)
            );
        }
    }
    Ok(Exit::Ok)
}

async fn revoke(o: &RevokeOpt) -> anyhow::Result<Exit> {
    let mut c = operator::connect(&o.conn).await?;
    let r = c
        .call(
            Method::EnrollRevoke,
            EnrollRef {
                id: Some(o.id.clone()),
                setup_id: None,
            },
        )
        .await?;
    c.close().await;
    if o.conn.json {
        println!("{r}");
        return Ok(Exit::Ok);
    }
    let e: EnrollEntry = read(&r)?;
    let paired = match e.uses {
        0 => "it paired no device".to_owned(),
        1 => "the device it paired stays paired (openclaw nodes remove to remove it)".to_owned(),
        n => {
            format!("the {n} devices it paired stay paired (openclaw nodes remove to remove them)")
        }
    };
    println!(
        "Revoked {} {}: it pairs nothing more; {paired}.",
        e.kind.as_str(),
        e.id
    );
    Ok(Exit::Ok)
}
