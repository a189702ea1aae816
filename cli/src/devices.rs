//! `openclaw devices …`: OpenClaw's `devices` commands — list, approve, reject, remove, rotate, revoke —
//! over the same requests and records as `openclaw nodes` (the gateway keeps one store), through the
//! `device.pair.*` and `device.token.*` methods and their typed records in
//! [`pairing_core::protocol`]. Approve and reject share [`crate::decide`] with `nodes`; the tables are in
//! [`table`].

use crate::args::{ConnArgs, ConnOnly};
use crate::client::Client;
use crate::decide::{Family, Verb};
use crate::exit::Exit;
use crate::operator;
use crate::render::abbrev;
use crate::resolve::{Candidate, resolve};
use anyhow::Context;
use clap::{Args, Subcommand};
use pairing_core::Method;
use pairing_core::protocol::params::{DeviceRef, DeviceTokenParams, NoParams};
use pairing_core::protocol::{
    DevicePairList, DevicePaired, DeviceRemoved, DeviceTokenRevoked, DeviceTokenRotated,
};
use pairing_host::clock::now_ms;
use serde::Serialize;
use serde::de::DeserializeOwned;
use table::{named, paired_table, pending_table};

mod table;

/// `openclaw devices`.
#[derive(Debug, Args)]
pub struct Opt {
    /// What to do with devices.
    #[command(subcommand)]
    pub command: DevicesCommand,
}

/// The `devices` subcommands.
#[derive(Debug, Subcommand)]
pub enum DevicesCommand {
    /// List devices: pending pairing requests and paired devices (device.pair.list).
    #[command(
        long_about = "List pending pairing requests of devices (OpenClaw node hosts and apps, and \
            `openclaw node pair`) with their verification codes, and the paired devices: how and when each \
            was approved, its client, when it was last seen and the state of its token. The same requests \
            and records `openclaw nodes list` shows, in device shape.",
        after_help = "Examples:\n  openclaw devices list\n  \
            openclaw devices list --json | jq -r '.pending[].verificationCode'\n  \
            openclaw devices list --json | jq '.paired[] | {deviceId, approvedVia, lastSeenAtMs}'"
    )]
    List(ConnOnly),
    /// Approve a device's pending request by requestId, verification code, or --node.
    #[command(
        long_about = "Approve a device's pending pairing request: the device and the commands it declared \
            are approved together. Name it by the verification code the device shows (compare it with \
            the device's screen first), by its requestId, or with --node when exactly one pending request \
            matches. With no argument, the only pending request is meant, after a y/N question on a \
            terminal (--yes skips it; without a terminal --yes is required). A request that replaced an \
            earlier one (other caps, commands or key; with the same key it shows the same code) is, when \
            named by code or --node, shown with what changed and asked about, or refused without a terminal unless --yes \
            is given; by requestId it is approved as named. The caps and commands granted are printed. \
            A device that connected \
            through device pairing gets its device token when it (re)connects; a protocol-v3 connection \
            waiting for the approval is paired in place.",
        after_help = "Examples:\n  openclaw devices approve 1234-5678\n  \
            openclaw devices approve 6f1c0c2e-8a8e-4f0e-9a55-2b8d3c1e7a10\n  \
            openclaw devices approve --node kitchen-pi\n  \
            openclaw devices approve --yes        # the only pending request, without asking"
    )]
    Approve(crate::decide::Opt),
    /// Reject a device's pending request by requestId, verification code, or --node.
    #[command(
        long_about = "Reject a device's pending pairing request, named like for approve. A device that \
            keeps reconnecting is told to stop asking until it is restarted; an existing pairing of the \
            device is not touched.",
        after_help = "Examples:\n  openclaw devices reject 6f1c0c2e-8a8e-4f0e-9a55-2b8d3c1e7a10\n  \
            openclaw devices reject 1234-5678\n  openclaw devices reject --node 192.168.1.23"
    )]
    Reject(crate::decide::Opt),
    /// Unpair a device: its tokens stop working and its live connections are closed.
    #[command(after_help = "Examples:\n  openclaw devices remove kitchen-pi\n  \
            openclaw devices remove 3f1c2a0b9d8e        # an id prefix of at least 6 characters\n  \
            openclaw devices remove 192.168.1.23 --json")]
    Remove(RemoveOpt),
    /// Give a paired device a new token: the old one stops working, its connections close, and it gets
    /// the new one when it reconnects.
    #[command(
        after_help = "Examples:\n  openclaw devices rotate --device kitchen-pi --role node\n  \
            openclaw devices rotate --device 3f1c2a0b9d8e --json"
    )]
    Rotate(TokenOpt),
    /// End a paired device's token and close its connections; it stays paired.
    #[command(
        long_about = "Revoke a paired device's token: it stops working at once and the device's live \
            connections are closed. The device stays paired: connecting with the gateway token gets it a \
            new device token. To unpair it, use `openclaw devices remove`.",
        after_help = "Examples:\n  openclaw devices revoke --device kitchen-pi --role node\n  \
            openclaw devices revoke --device 192.168.1.23 --json"
    )]
    Revoke(TokenOpt),
}

/// `devices remove`.
#[derive(Debug, Args)]
pub struct RemoveOpt {
    /// The device: id, IP, display name, or an id prefix of at least 6 characters.
    #[arg(value_name = "DEVICE|QUERY")]
    pub device: String,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `devices rotate` / `devices revoke`.
#[derive(Debug, Args)]
pub struct TokenOpt {
    /// The device: id, IP, display name, or an id prefix of at least 6 characters.
    #[arg(long, value_name = "DEVICE|QUERY")]
    pub device: String,
    /// The role whose token changes (devices here pair as nodes).
    #[arg(long, default_value = "node")]
    pub role: String,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

impl Opt {
    /// The connection flags of whichever subcommand was chosen.
    #[cfg(test)]
    pub fn conn(&self) -> &ConnArgs {
        match &self.command {
            DevicesCommand::List(o) => &o.conn,
            DevicesCommand::Approve(o) | DevicesCommand::Reject(o) => &o.conn,
            DevicesCommand::Remove(o) => &o.conn,
            DevicesCommand::Rotate(o) | DevicesCommand::Revoke(o) => &o.conn,
        }
    }
}

/// Runs a `devices` subcommand; failures are prefixed `devices <name> failed:`.
pub(crate) async fn run(opt: Opt) -> anyhow::Result<Exit> {
    let label = match &opt.command {
        DevicesCommand::List(_) => "list",
        DevicesCommand::Approve(_) => "approve",
        DevicesCommand::Reject(_) => "reject",
        DevicesCommand::Remove(_) => "remove",
        DevicesCommand::Rotate(_) => "rotate",
        DevicesCommand::Revoke(_) => "revoke",
    };
    let result = match opt.command {
        DevicesCommand::List(o) => list(&o.conn).await,
        DevicesCommand::Approve(o) => crate::decide::run(o, Verb::Approve, Family::Devices).await,
        DevicesCommand::Reject(o) => crate::decide::run(o, Verb::Reject, Family::Devices).await,
        DevicesCommand::Remove(o) => remove(&o).await,
        DevicesCommand::Rotate(o) => token(&o, Change::Rotate).await,
        DevicesCommand::Revoke(o) => token(&o, Change::Revoke).await,
    };
    result.with_context(|| format!("devices {label} failed"))
}

/// Calls `method` and reads its result as `T`.
async fn typed<T: DeserializeOwned, P: Serialize>(
    c: &mut Client,
    method: Method,
    params: P,
) -> anyhow::Result<T> {
    let v = c.call(method, params).await?;
    serde_json::from_value(v)
        .with_context(|| format!("the gateway's {method} result is not understood"))
}

/// Prints `value` as JSON on one line.
fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

async fn list(conn: &ConnArgs) -> anyhow::Result<Exit> {
    let mut c = operator::connect(conn).await?;
    let list: DevicePairList = typed(&mut c, Method::DevicePairList, NoParams {}).await?;
    c.close().await;
    if conn.json {
        print_json(&list)?;
        return Ok(Exit::Ok);
    }
    let now = now_ms();
    println!(
        "Pending: {} · Paired: {}",
        list.pending.len(),
        list.paired.len()
    );
    if !list.pending.is_empty() {
        println!("\nPending");
        print!("{}", pending_table(&list.pending, now));
        println!(
            "\nApprove: openclaw devices approve CODE|REQUEST  (check the code on the device first)"
        );
    }
    if !list.paired.is_empty() {
        println!("\nPaired");
        print!("{}", paired_table(&list.paired, now));
    }
    Ok(Exit::Ok)
}

/// Resolves a device query among the paired devices.
async fn paired_device(c: &mut Client, query: &str) -> anyhow::Result<DevicePaired> {
    let list: DevicePairList = typed(c, Method::DevicePairList, NoParams {}).await?;
    let candidates: Vec<Candidate> = list.paired.iter().map(Candidate::from_device).collect();
    let id = resolve(query, &candidates)
        .map_err(|e| {
            anyhow::anyhow!("{e:#} among the paired devices (see `openclaw devices list`)")
        })?
        .node_id
        .clone();
    list.paired
        .into_iter()
        .find(|d| d.device_id == id)
        .context("the resolved device vanished from the list")
}

async fn remove(o: &RemoveOpt) -> anyhow::Result<Exit> {
    let mut c = operator::connect(&o.conn).await?;
    let device = paired_device(&mut c, &o.device).await?;
    let r: DeviceRemoved = typed(
        &mut c,
        Method::DevicePairRemove,
        DeviceRef {
            device_id: device.device_id.clone(),
        },
    )
    .await?;
    c.close().await;
    if o.conn.json {
        print_json(&r)?;
    } else {
        println!(
            "Removed {}: its token stopped working and its live connections were closed; its next \
             connect asks to pair again.",
            named(&device)
        );
    }
    Ok(Exit::Ok)
}

/// Which token change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    Rotate,
    Revoke,
}

/// `its 1 live connection was closed` / `its 2 live connections were closed` / `it is not connected`.
fn closed(n: usize) -> String {
    match n {
        0 => "it is not connected now".to_owned(),
        1 => "its 1 live connection was closed".to_owned(),
        n => format!("its {n} live connections were closed"),
    }
}

/// The line printed after a rotation.
fn rotated_line(who: &str, r: &DeviceTokenRotated) -> String {
    let when = if r.closed_connections > 0 {
        "reconnects"
    } else {
        "next connects"
    };
    format!(
        "Rotated the {} token of {who}; {} and it gets its new token when it {when}.",
        r.role,
        closed(r.closed_connections)
    )
}

/// The line printed after a revocation.
fn revoked_line(who: &str, r: &DeviceTokenRevoked) -> String {
    format!(
        "Revoked the {} token of {who}; {}. It stays paired: connecting with the gateway token gets it a \
         new one (to unpair it: openclaw devices remove {}).",
        r.role,
        closed(r.closed_connections),
        abbrev(&r.device_id).trim_end_matches('…')
    )
}

async fn token(o: &TokenOpt, change: Change) -> anyhow::Result<Exit> {
    let role = o.role.trim();
    if role.is_empty() {
        anyhow::bail!("--role must not be blank (devices here pair as `node`)");
    }
    let mut c = operator::connect(&o.conn).await?;
    let device = paired_device(&mut c, &o.device).await?;
    let params = DeviceTokenParams {
        device_id: device.device_id.clone(),
        role: role.to_owned(),
        scopes: None,
    };
    let line = match change {
        Change::Rotate => {
            let r: DeviceTokenRotated = typed(&mut c, Method::DeviceTokenRotate, params).await?;
            if o.conn.json {
                serde_json::to_string(&r)?
            } else {
                rotated_line(&named(&device), &r)
            }
        }
        Change::Revoke => {
            let r: DeviceTokenRevoked = typed(&mut c, Method::DeviceTokenRevoke, params).await?;
            if o.conn.json {
                serde_json::to_string(&r)?
            } else {
                revoked_line(&named(&device), &r)
            }
        }
    };
    c.close().await;
    println!("{line}");
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests;
