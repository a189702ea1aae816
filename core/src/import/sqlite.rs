//! Rows of OpenClaw 2026.7+'s `device_pairing_paired` table (`<state>/state/openclaw.sqlite`) as this
//! gateway's paired records. The host reads each row into a JSON object keyed by column name (any
//! SQLite value: NULL, integer, real, text; a blob as null); this decides what each becomes.
//!
//! Tolerant by design (OpenClaw's own migration crash-looped on one bad record, #134340): a row is
//! never a reason to stop. A row without a device id or a usable public key, whose id is not the key's
//! SHA-256, that is not a node, or whose `tokens_json`, `roles_json` or `node_surface_json` is not
//! JSON of the right shape is skipped, named by its device id (or row number) with why. Missing or
//! mistyped times fall back as the 2026.4 importer's do. The row's column names are OpenClaw's
//! (2026.9.6: `device_id`, `public_key`, `display_name`, `operator_label`, `platform`,
//! `device_family`, `client_id`, `client_mode`, `role`, `roles_json`, `tokens_json`,
//! `node_surface_json`, `remote_ip`, `created_at_ms`, `approved_at_ms`, `last_seen_at_ms`, …).

use super::{Imported, Skipped, paired_device};
use serde_json::{Map, Value};

/// A list of at most 128 strings of at most 128 characters each, as a client's caps and commands are
/// bounded; anything else in the list is dropped.
fn bounded_list(v: Option<&Value>) -> Option<Vec<String>> {
    let items = v?.as_array()?;
    Some(
        items
            .iter()
            .filter_map(Value::as_str)
            .map(|s| crate::params::strip_hidden(s).trim().to_owned())
            .filter(|s| !s.is_empty() && s.chars().count() <= 128)
            .take(128)
            .collect(),
    )
}

/// A JSON column: absent or NULL is `Ok(None)`; text that does not parse is an error naming it.
fn json_column(row: &Map<String, Value>, column: &str) -> Result<Option<Value>, String> {
    match row.get(column) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map(Some)
            .map_err(|_| format!("{column} is not valid JSON")),
        Some(_) => Err(format!("{column} is not JSON text")),
    }
}

/// The row as the 2026.4 store's device entry (camelCase, `roles` and `tokens` parsed), which
/// [`paired_device`] reads.
fn as_device(row: &Map<String, Value>) -> Result<Value, String> {
    let text = |c: &str| row.get(c).filter(|v| v.is_string()).cloned();
    let int = |c: &str| row.get(c).filter(|v| v.is_u64()).cloned();
    let mut d = Map::new();
    for (column, field) in [
        ("device_id", "deviceId"),
        ("public_key", "publicKey"),
        ("display_name", "displayName"),
        ("platform", "platform"),
        ("device_family", "deviceFamily"),
        ("client_id", "clientId"),
        ("client_mode", "clientMode"),
        ("role", "role"),
        ("remote_ip", "remoteIp"),
    ] {
        if let Some(v) = text(column) {
            d.insert(field.into(), v);
        }
    }
    for (column, field) in [
        ("created_at_ms", "createdAtMs"),
        ("approved_at_ms", "approvedAtMs"),
        ("last_seen_at_ms", "lastSeenAtMs"),
    ] {
        if let Some(v) = int(column) {
            d.insert(field.into(), v);
        }
    }
    match json_column(row, "roles_json")? {
        None => {}
        Some(Value::Array(roles)) => {
            d.insert("roles".into(), Value::Array(roles));
        }
        Some(_) => return Err("roles_json is not a JSON array".into()),
    }
    match json_column(row, "tokens_json")? {
        None => {}
        Some(Value::Object(tokens)) => {
            d.insert("tokens".into(), Value::Object(tokens));
        }
        Some(_) => return Err("tokens_json is not a JSON object".into()),
    }
    Ok(Value::Object(d))
}

/// Approved capabilities and commands, each absent when the source says nothing.
type Surface = (Option<Vec<String>>, Option<Vec<String>>);

/// The approved caps and commands of `node_surface_json` (`{caps, commands, …}`), if any.
fn surface(row: &Map<String, Value>) -> Result<Surface, String> {
    match json_column(row, "node_surface_json")? {
        None => Ok((None, None)),
        Some(v @ Value::Object(_)) => {
            Ok((bounded_list(v.get("caps")), bounded_list(v.get("commands"))))
        }
        Some(_) => Err("node_surface_json is not a JSON object".into()),
    }
}

/// What a device's name is when an operator labelled it in OpenClaw (`operator_label`): that label,
/// kept as a rename here (a name the device sends later does not replace it).
fn operator_label(row: &Map<String, Value>) -> Option<String> {
    let label = row.get("operator_label")?.as_str()?;
    let label = crate::params::strip_hidden(label).trim().to_owned();
    (!label.is_empty() && label.chars().count() <= 256).then_some(label)
}

/// Reads the rows of `device_pairing_paired` (each a JSON object keyed by column name). `now` stands
/// in for missing times. Skipped rows are named `device_pairing_paired <device id>` (or `row N` when
/// the id is missing).
pub fn openclaw_sqlite_paired(rows: &[Map<String, Value>], now: u64) -> Imported {
    let mut out = Imported::default();
    for (i, row) in rows.iter().enumerate() {
        let id = row
            .get("device_id")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let key = id.map_or_else(|| format!("row {}", i + 1), str::to_owned);
        match paired_row(id, row, now) {
            Ok(p) => out.paired.push(p),
            Err(why) => out.skipped.push(Skipped {
                key: format!(
                    "device_pairing_paired {}",
                    crate::params::strip_hidden(&key)
                ),
                why,
            }),
        }
    }
    out
}

fn paired_row(
    id: Option<&str>,
    row: &Map<String, Value>,
    now: u64,
) -> Result<crate::record::PairedNode, String> {
    let id = id.ok_or("no device_id")?;
    let device = as_device(row)?;
    let key = device.get("publicKey").and_then(Value::as_str);
    if key.is_none_or(|k| k.trim().is_empty()) {
        return Err("no public_key".into());
    }
    if !super::is_node(&device) {
        let role = device.get("role").and_then(Value::as_str).unwrap_or("none");
        return Err(format!("not a node (role {role})"));
    }
    let (caps, commands) = surface(row)?;
    let mut node = paired_device(id, &device, now)?;
    node.meta.caps = caps;
    node.meta.commands = commands;
    if let Some(label) = operator_label(row) {
        node.meta.display_name = Some(label);
        node.renamed_at_ms = Some(node.approved_at_ms);
    }
    Ok(node)
}

#[cfg(test)]
mod tests;
