//! The tables of `openclaw devices list`: pending requests and paired devices, read from the typed
//! records of `device.pair.list`.

use crate::render::{
    Table, abbrev, ago, approved, bare_ip, client, expires_in, label, last_seen, scope_list,
    short_id,
};
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
/// a new one comes at the next connect) or `none until reconnect` (approved, not yet connected).
pub fn token_cell(tokens: &[DeviceTokenSummary], role: &str, now: u64) -> String {
    let Some(t) = tokens.iter().find(|t| t.role == role).or(tokens.first()) else {
        return "-".into();
    };
    match (t.created_at_ms, t.revoked_at_ms) {
        (Some(at), _) => format!("issued {}", ago(at, now)),
        (None, Some(at)) => format!("revoked {}", ago(at, now)),
        (None, None) => "none until reconnect".into(),
    }
}

/// The `Pending` table: REQUEST, DEVICE (name · ip), CLIENT, CODE, REQUESTED, EXPIRES, COMMANDS,
/// SCOPES NEEDED. A re-pair (a paired device asking for more) is marked in the DEVICE cell.
pub fn pending_table(pending: &[DevicePending], now: u64) -> String {
    let mut t = Table::new(&[
        "REQUEST",
        "DEVICE",
        "CLIENT",
        "CODE",
        "REQUESTED",
        "EXPIRES",
        "COMMANDS",
        "SCOPES NEEDED",
    ]);
    for p in pending {
        let mut device = device_cell(
            p.display_name.as_deref(),
            &p.device_id,
            p.remote_ip.as_deref(),
        );
        if p.is_repair {
            device.push_str(" · re-pair");
        }
        // The code stays the same when caps or commands change: say so where the code is read.
        if let Some(changed) = crate::request::Request::from_device(p).changed() {
            device.push_str(&format!(" · changed: {changed}"));
        }
        t.row(vec![
            p.request_id.clone(),
            device,
            client(
                p.client_id.as_deref(),
                p.client_mode.as_deref(),
                p.version.as_deref(),
            ),
            p.verification_code.clone(),
            ago(p.ts, now),
            expires_in(p.expires_at_ms, now),
            commands_cell(&p.commands),
            scope_list(&p.required_approve_scopes),
        ]);
    }
    t.render()
}

/// The `Paired` table: DEVICE, ID (short), CLIENT, APPROVED (age · via), LAST SEEN, TOKEN.
pub fn paired_table(paired: &[DevicePaired], now: u64) -> String {
    let mut t = Table::new(&["DEVICE", "ID", "CLIENT", "APPROVED", "LAST SEEN", "TOKEN"]);
    for d in paired {
        t.row(vec![
            device_cell(
                d.display_name.as_deref(),
                &d.device_id,
                d.remote_ip.as_deref(),
            ),
            short_id(&d.device_id),
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
pub fn named(d: &DevicePaired) -> String {
    format!(
        "{} ({})",
        label(d.display_name.as_deref(), &d.device_id),
        abbrev(&d.device_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 100_000_000;

    fn pending() -> DevicePending {
        DevicePending {
            request_id: "r1".into(),
            device_id: "3f1c2a0b9d8e7f6a5b4c".into(),
            display_name: Some("kitchen-pi".into()),
            remote_ip: Some("::ffff:192.168.1.23".into()),
            client_id: Some("node-host".into()),
            client_mode: Some("node".into()),
            version: Some("2026.9.6".into()),
            verification_code: "1234-5678".into(),
            commands: vec!["camera.snap".into(), "system.run".into()],
            required_approve_scopes: vec!["operator.pairing".into(), "operator.admin".into()],
            ts: NOW - 120_000,
            expires_at_ms: NOW + 180_000,
            ..DevicePending::default()
        }
    }

    #[test]
    fn pending_rows_name_the_device_client_code_and_commands() {
        let out = pending_table(&[pending()], NOW);
        let (header, row) = (out.lines().next().unwrap(), out.lines().nth(1).unwrap());
        for want in [
            "r1",
            "kitchen-pi · 192.168.1.23",
            "node-host/node v2026.9.6",
            "1234-5678",
            "2m ago",
            "expires in 3m",
            "camera.snap,system.run",
            "pairing,admin",
        ] {
            assert!(row.contains(want), "{want} missing in {row}");
        }
        // Columns align by characters (the `·` is two bytes).
        let col = |line: &str, what: &str| line.find(what).map(|i| line[..i].chars().count());
        assert_eq!(col(header, "CODE"), col(row, "1234-5678"));
        let many = DevicePending {
            commands: (0..5).map(|i| format!("c{i}")).collect(),
            is_repair: true,
            ..pending()
        };
        let out = pending_table(&[many], NOW);
        assert!(
            out.contains("5 commands") && out.contains("· re-pair"),
            "{out}"
        );
        let replaced = DevicePending {
            supersedes: Some(pairing_core::Supersedes {
                request_id: pairing_core::RequestId("r0".into()),
                caps: vec![],
                commands: vec!["camera.snap".into()],
                key_changed: false,
            }),
            ..pending()
        };
        let out = pending_table(&[replaced], NOW);
        assert!(
            out.contains("kitchen-pi · 192.168.1.23 · changed: commands added: system.run"),
            "{out}"
        );
    }

    fn paired(token: DeviceTokenSummary) -> DevicePaired {
        DevicePaired {
            device_id: "3f1c2a0b9d8e7f6a5b4c".into(),
            display_name: Some("kitchen-pi".into()),
            remote_ip: Some("127.0.0.1".into()),
            client_id: Some("node-host".into()),
            client_mode: Some("node".into()),
            role: "node".into(),
            approved_at_ms: NOW - 3_600_000,
            approved_via: Some("owner".into()),
            last_seen_at_ms: Some(NOW - 60_000),
            tokens: vec![token],
            ..DevicePaired::default()
        }
    }

    #[test]
    fn paired_rows_show_approval_last_seen_and_token() {
        let token = |created: Option<u64>, revoked: Option<u64>| DeviceTokenSummary {
            role: "node".into(),
            scopes: vec![],
            created_at_ms: created,
            revoked_at_ms: revoked,
        };
        let out = paired_table(&[paired(token(Some(NOW - 30_000), None))], NOW);
        let row = out.lines().nth(1).unwrap();
        for want in [
            "kitchen-pi · 127.0.0.1",
            "3f1c2a0b9d8e ",
            "node-host/node",
            "1h ago · owner",
            "1m ago",
            "issued 30s ago",
        ] {
            assert!(row.contains(want), "{want} missing in {row}");
        }
        let out = paired_table(&[paired(token(None, None))], NOW);
        assert!(out.contains("none until reconnect"), "{out}");
        let out = paired_table(&[paired(token(None, Some(NOW - 5_000)))], NOW);
        assert!(out.contains("revoked 5s ago"), "{out}");
        assert_eq!(token_cell(&[], "node", NOW), "-");
        assert_eq!(
            named(&paired(token(None, None))),
            "kitchen-pi (3f1c2a0b9d8e…)"
        );
    }
}
