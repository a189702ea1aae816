//! The tables of `openclaw devices list`: pending requests and paired devices, read from the typed
//! records of `device.pair.list`.

use crate::render::{Table, abbrev, approved, bare_ip, client, last_seen, needs};
use pairing_core::format::{ago, expires_in, node_label as label, short_id};
use pairing_core::protocol::{DevicePaired, DevicePending, DeviceTokenSummary};

/// Commands listed by name up to this many; more are counted.
const COMMANDS_LISTED: usize = 3;

/// `kitchen-pi · 192.168.1.23`: the name (else the short id) and the address.
fn device_cell(name: Option<&str>, id: &str, ip: Option<&str>) -> String {
    let name = label(name, id);
    match bare_ip(ip).as_str() {
        "-" => name,
        ip => format!("{name} · {ip}"),
    }
}

/// The declared commands: `-`, a short list, or a count.
fn commands_cell(commands: &[String]) -> String {
    match commands.len() {
        0 => "-".into(),
        n if n <= COMMANDS_LISTED => commands.join(","),
        n => format!("{n} commands"),
    }
}

/// The state of the device's token for `role`: `issued 2m ago`, `revoked 5m ago` (rotated or revoked,
/// a new one comes at the next connect) or `next connect` (approved, not yet connected).
pub(super) fn token_cell(tokens: &[DeviceTokenSummary], role: &str, now: u64) -> String {
    let Some(t) = tokens.iter().find(|t| t.role == role).or(tokens.first()) else {
        return "-".into();
    };
    match (t.created_at_ms, t.revoked_at_ms) {
        (Some(at), _) => format!("issued {}", ago(at, now)),
        (None, Some(at)) => format!("revoked {}", ago(at, now)),
        (None, None) => "next connect".into(),
    }
}

/// The `Pending` table: REQUEST, DEVICE (name · ip), CLIENT, CODE, REQUESTED, EXPIRES, COMMANDS,
/// SCOPES NEEDED. A re-pair (a paired device asking for more) is marked in the DEVICE cell.
pub(super) fn pending_table(pending: &[DevicePending], now: u64) -> String {
    let mut t = Table::new(&[
        "REQUEST",
        "DEVICE",
        "CLIENT",
        "CODE",
        "REQUESTED",
        "EXPIRES",
        "NEEDS",
    ]);
    for p in pending {
        let device = device_cell(
            p.display_name.as_deref(),
            &p.device_id,
            p.remote_ip.as_deref(),
        );
        let mut notes = vec![format!("commands: {}", commands_cell(&p.commands))];
        if p.is_repair {
            notes.push("re-pair".to_owned());
        }
        // The code stays the same when caps or commands change: say so where the code is read.
        if let Some(changed) = crate::request::Request::from_device(p).changed() {
            notes.push(format!("changed: {changed}"));
        }
        t.row(vec![
            pairing_core::format::short_request(&p.request_id).to_owned(),
            device,
            client(
                p.client_id.as_deref(),
                p.client_mode.as_deref(),
                p.version.as_deref(),
            ),
            p.verification_code.clone(),
            ago(p.ts, now),
            expires_in(p.expires_at_ms, now)
                .trim_start_matches("expires ")
                .to_owned(),
            needs(&p.required_approve_scopes),
        ]);
        t.note(notes.join(" · "));
    }
    t.render()
}

/// The `Paired` table: DEVICE (its name; the address is in `--json`), ID (short), CLIENT, APPROVED (age · via), LAST SEEN, TOKEN.
pub(super) fn paired_table(paired: &[DevicePaired], now: u64) -> String {
    let mut t = Table::new(&["DEVICE", "ID", "CLIENT", "APPROVED", "LAST SEEN", "TOKEN"]);
    for d in paired {
        t.row(vec![
            label(d.display_name.as_deref(), &d.device_id),
            short_id(&d.device_id).to_owned(),
            client(
                d.client_id.as_deref(),
                d.client_mode.as_deref(),
                d.version.as_deref(),
            ),
            approved(Some(d.approved_at_ms), d.approved_via.as_deref(), now),
            last_seen(&[d.last_seen_at_ms], now),
            token_cell(&d.tokens, &d.role, now),
        ]);
    }
    t.render()
}

/// `kitchen-pi (3f1c2a0b9d8e…)`, for one-line messages about a device.
pub(super) fn named(d: &DevicePaired) -> String {
    format!(
        "{} ({})",
        label(d.display_name.as_deref(), &d.device_id),
        abbrev(&d.device_id)
    )
}

#[cfg(test)]
mod tests;
