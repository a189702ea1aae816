//! Issuing: `openclaw qr` (a setup code for one device) and `openclaw keys create` (a key for many).
//! The secret is printed once, here; the gateway keeps only its hash.

use super::{CreateOpt, GrantArgs, QrOpt, render_qr};
use crate::args::ConnArgs;
use crate::client::read;
use crate::exit::Exit;
use crate::operator;
use pairing_core::Method;
use pairing_core::enroll::EnrollKind;
use pairing_core::format::{countdown_to, expires_in, short_id};
use pairing_core::protocol::{EnrollIssued, EnrollParams};
use pairing_host::clock::now_ms;

/// Asks the gateway to issue one.
async fn create(conn: &ConnArgs, params: EnrollParams) -> anyhow::Result<EnrollIssued> {
    let mut c = operator::connect(conn).await?;
    let r = c.call(Method::EnrollCreate, params).await?;
    c.close().await;
    read(&r)
}

fn params(kind: EnrollKind, uses: u32, expires: u64, grant: &GrantArgs) -> EnrollParams {
    EnrollParams {
        kind: Some(kind),
        uses: Some(uses),
        expires_in_ms: Some(expires),
        commands: grant.commands.clone(),
        limited: grant.limited,
        name_prefix: None,
        label: grant.label.clone(),
        public_url: grant.public_url.clone(),
        include_qr: false,
    }
}

/// Whether every URL in the code is loopback: only a device on this machine can use it.
fn loopback_only(i: &EnrollIssued) -> bool {
    i.gateway_urls.iter().all(|u| {
        let host = u
            .split("://")
            .nth(1)
            .unwrap_or_default()
            .split(['/', ':'])
            .next()
            .unwrap_or_default();
        host == "127.0.0.1" || host == "localhost" || host.starts_with("[::1]") || host.is_empty()
    })
}

/// The lines under a code: what it is, where it points, how to use and revoke it.
fn describe(i: &EnrollIssued, what: &str) -> String {
    let now = now_ms();
    // A countdown within the hour (`9m 58s`), the rounded span beyond it (`24h`, `7d`).
    let left = match i.expires_at_ms.saturating_sub(now) {
        ms if ms >= 3_600_000 => expires_in(i.expires_at_ms, now).replace("expires in ", ""),
        _ => countdown_to(i.expires_at_ms, now).unwrap_or_else(|| "0s".into()),
    };
    let mut s = String::new();
    let uses = match i.max_uses {
        1 => "pairs one device".to_owned(),
        n => format!("pairs up to {n} devices"),
    };
    s += &format!(
        "{what} {} — {uses} with no approval step, {} access, expires in {left}\n",
        i.setup_id, i.access
    );
    s += &format!("Gateway in the code: {}", i.gateway_url);
    if i.gateway_urls.len() > 1 {
        s += &format!(" (+{} more)", i.gateway_urls.len() - 1);
    }
    if i.tls_fingerprint.is_some() {
        s += " (certificate pinned)";
    }
    s.push('\n');
    if loopback_only(i) {
        s += "Note: only a device on this machine can reach that URL; pass --public-url for others.\n";
    }
    if let Some(why) = &i.downgraded {
        s += &format!("Limited: {why}.\n");
    }
    s += "On the device:\n";
    s += &format!(
        "  openclaw node run --pair '{}'   (OpenClaw's node host)\n",
        i.link
    );
    s += &format!("  openclaw node pair --setup-code '{}'\n", i.link);
    s += &format!(
        "Revoke: openclaw keys revoke {}    List: openclaw keys list\n",
        short_id(&i.setup_id)
    );
    s
}

/// `openclaw qr`.
pub(super) async fn setup_code(o: &QrOpt) -> anyhow::Result<Exit> {
    let i = create(
        &o.conn,
        params(EnrollKind::SetupCode, 1, o.expires, &o.grant),
    )
    .await?;
    if o.conn.json {
        println!("{}", serde_json::to_string(&i)?);
    } else if o.setup_code_only {
        println!("{}", i.setup_code);
    } else {
        print!("{}", render_qr(&i.setup_code)?);
        println!("Setup code: {}", i.setup_code);
        print!("{}", describe(&i, "Setup code"));
    }
    Ok(Exit::Ok)
}

/// `openclaw keys create`.
pub(super) async fn key(o: &CreateOpt) -> anyhow::Result<Exit> {
    let mut p = params(EnrollKind::Key, o.uses, o.expires, &o.grant);
    p.name_prefix = o.name_prefix.clone();
    let i = create(&o.conn, p).await?;
    if o.conn.json {
        println!("{}", serde_json::to_string(&i)?);
        return Ok(Exit::Ok);
    }
    if o.qr {
        print!("{}", render_qr(&i.setup_code)?);
    }
    println!(
        "Key (a setup code for {} devices): {}",
        i.max_uses, i.setup_code
    );
    print!("{}", describe(&i, "Key"));
    println!("Shown once: the gateway keeps only its hash.");
    Ok(Exit::Ok)
}
