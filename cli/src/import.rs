//! `openclaw import --from DIR`: the node devices an OpenClaw 2026.7+ gateway paired (its
//! `state/openclaw.sqlite`, table `device_pairing_paired`) become this gateway's paired records, so a
//! user switches without re-pairing anything.
//!
//! A dry run by default: what would be imported and every row skipped, with why. `--apply` (or
//! `--yes`) writes, with the gateway stopped: the import takes the state directory's lock, as a
//! gateway does, so none can start meanwhile, and one that runs makes it refuse — a running gateway
//! holds its records in memory and would not see records written beside it. The records go in as one
//! durable batch with one `imported` audit entry each (`approvedVia` and `approvedBy` `import`); their
//! tokens are hashed on the way in. OpenClaw's files are only read, from a private copy
//! ([`source`]). Devices held here already are left as they are, so importing twice adds nothing.

mod source;

use crate::exit::Exit;
use crate::render::Table;
use anyhow::{Context, anyhow, bail};
use clap::Args;
use pairing_core::PairedNode;
use pairing_core::format::{ago, node_label, short_id};
use pairing_core::import::{Imported, openclaw_sqlite_paired};
use pairing_core::store::Store;
use pairing_host::clock::now_ms;
use pairing_host::file_store::FileStore;
use pairing_host::lock::StateLock;
use serde_json::json;
use std::path::{Path, PathBuf};

pub(crate) const LONG_ABOUT: &str = "Import the node devices of an OpenClaw 2026.7+ state directory \
    (DIR/state/openclaw.sqlite, table device_pairing_paired) so they stay paired here. Nothing is \
    written without --apply: the devices that would be imported are listed, and every row that \
    cannot be (not a node, no public key, a device id that is not its key's hash, malformed JSON) is \
    named with why. With --apply the gateway must be stopped; each device is audited `imported`, its \
    token kept only as a hash. OpenClaw's files are only read (from a private copy), never written; \
    stop OpenClaw's gateway first so the copy is consistent.";

pub(crate) const AFTER_HELP: &str = "Examples:\n  openclaw import --from ~/.openclaw-old          # dry run\n  \
    openclaw import --from ~/.openclaw-old --apply  # write (gateway stopped)\n  \
    openclaw import --from ~/.openclaw-old --json | jq '.skipped'";

/// `openclaw import`.
#[derive(Debug, Args)]
pub struct Opt {
    /// The OpenClaw state directory (the one holding state/openclaw.sqlite).
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// Write the import (without it: a dry run that changes nothing).
    #[arg(long, visible_alias = "yes")]
    pub apply: bool,
    /// Print only JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `openclaw import`.
pub(crate) fn run(opt: &Opt) -> anyhow::Result<Exit> {
    let db = source::locate(&opt.from)?;
    let rows = source::paired_rows(&db)?;
    let now = now_ms();
    let Imported {
        paired, skipped, ..
    } = openclaw_sqlite_paired(&rows, now);
    let state = pairing_host::paths::state_dir();
    let added = if opt.apply {
        Some(apply(&state, paired.clone(), now)?)
    } else {
        None
    };
    if opt.json {
        let devices: Vec<_> = paired
            .iter()
            .map(|p| {
                json!({
                    "nodeId": p.node_id, "displayName": p.meta.display_name,
                    "clientId": p.device.as_ref().and_then(|d| d.client_id.clone()),
                    "approvedAtMs": p.approved_at_ms, "lastSeenAtMs": p.last_seen_at_ms,
                    "commands": p.meta.commands.clone().unwrap_or_default(),
                    "hasToken": p.token_issued_at_ms.is_some(),
                })
            })
            .collect();
        let skipped: Vec<_> = skipped
            .iter()
            .map(|s| json!({"row": s.key, "why": s.why}))
            .collect();
        println!(
            "{}",
            json!({
                "source": db.display().to_string(), "rows": rows.len(), "applied": opt.apply,
                "devices": devices, "imported": added, "skipped": skipped,
            })
        );
        return Ok(Exit::Ok);
    }
    println!(
        "OpenClaw state: {} ({} rows in {}; read from a private copy, never written)",
        db.display(),
        rows.len(),
        source::TABLE
    );
    if !paired.is_empty() {
        print!("{}", table(&paired, now));
    }
    if !skipped.is_empty() {
        println!("Skipped {} rows:", skipped.len());
        for s in &skipped {
            println!("  {}: {}", s.key, s.why);
        }
    }
    match added {
        Some(n) => println!(
            "Imported {n} paired node devices into {} ({} held here already); each is audited \
             `imported`.",
            state.display(),
            paired.len() - n
        ),
        None => println!(
            "Dry run: {} node devices would be imported; nothing was written. Run again with \
             --apply (with the gateway stopped) to import them.",
            paired.len()
        ),
    }
    Ok(Exit::Ok)
}

fn table(paired: &[PairedNode], now: u64) -> String {
    let mut t = Table::new(&["NODE", "ID", "CLIENT", "APPROVED", "LAST SEEN", "TOKEN"]);
    for p in paired {
        t.row(vec![
            node_label(p.meta.display_name.as_deref(), p.node_id.as_str()),
            short_id(p.node_id.as_str()).to_owned(),
            p.device
                .as_ref()
                .and_then(|d| d.client_id.clone())
                .unwrap_or_else(|| "-".into()),
            ago(p.approved_at_ms, now),
            p.last_seen_at_ms
                .map_or_else(|| "-".into(), |t| ago(t, now)),
            if p.token_issued_at_ms.is_some() {
                "kept (hashed)".into()
            } else {
                "none: new one at next connect".into()
            },
        ]);
    }
    t.render()
}

/// Writes `paired` into the store of `state` under its lock; how many were added.
fn apply(state: &Path, paired: Vec<PairedNode>, now: u64) -> anyhow::Result<usize> {
    let _lock = match StateLock::try_acquire(state).context("nothing was imported")? {
        Ok(lock) => lock,
        Err(owner) => bail!(
            "the gateway is running on {} ({owner}); stop it, then import (a running gateway would \
             not see records written beside it); nothing was imported",
            state.display()
        ),
    };
    let mut store = FileStore::new(state);
    store
        .load()
        .map_err(|e| anyhow!("cannot load the state in {}: {e}", state.display()))?;
    let (added, _) = store
        .import_records(paired, Vec::new(), now)
        .map_err(|e| anyhow!("nothing was imported: {e}"))?;
    Ok(added)
}
