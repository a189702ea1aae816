//! Reading OpenClaw's `state/openclaw.sqlite` without touching it: the database (and its `-wal`, which
//! holds the latest commits until OpenClaw checkpoints — a cleanly stopped 2026.9.6 gateway leaves one)
//! is copied, each opened read-only without following a link and bounded in size, into a private
//! temporary directory, and SQLite opens the copy. Opening the source itself, even read-only, would
//! let SQLite create or update `-shm` and `-wal` files next to it; `immutable=1` would avoid that but
//! ignore the commits still in the `-wal`.

use anyhow::{Context, bail};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest source file copied (the database, and its `-wal` separately).
const MAX_SOURCE_BYTES: u64 = 1 << 30;
/// The most rows of `device_pairing_paired` read.
const MAX_ROWS: usize = 100_000;
/// The table OpenClaw 2026.7 and later keep paired devices in.
pub(super) const TABLE: &str = "device_pairing_paired";

/// Where the database of the OpenClaw state directory `from` is: `from/state/openclaw.sqlite`; also
/// `from/openclaw.sqlite` (pointed at `state/`) or `from` itself when it is the file.
pub(super) fn locate(from: &Path) -> anyhow::Result<PathBuf> {
    let candidates = [
        from.join("state").join("openclaw.sqlite"),
        from.join("openclaw.sqlite"),
    ];
    if from.is_file() {
        return Ok(from.to_owned());
    }
    if let Some(found) = candidates.iter().find(|p| p.exists()) {
        return Ok(found.clone());
    }
    let legacy = from.join("devices").join("paired.json");
    let hint = if legacy.exists() {
        format!(
            "; {} is OpenClaw 2026.4's store: start the gateway with OPENCLAW_STATE_DIR on that \
             directory once and it is imported",
            legacy.display()
        )
    } else {
        String::new()
    };
    bail!(
        "{} not found: --from takes an OpenClaw state directory (2026.7 and later keep devices in \
         state/openclaw.sqlite){hint}",
        candidates[0].display()
    )
}

/// Opens `path` for reading: no link followed, a regular file, at most [`MAX_SOURCE_BYTES`]. `None`
/// when it does not exist.
fn open_source(path: &Path) -> anyhow::Result<Option<(File, u64)>> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            bail!("{} is a symbolic link; give the real path", path.display())
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    if meta.size() > MAX_SOURCE_BYTES {
        bail!(
            "{} is {} bytes, more than the {} this import reads",
            path.display(),
            meta.size(),
            MAX_SOURCE_BYTES
        );
    }
    Ok(Some((file, meta.size())))
}

/// Copies `src` (opened by [`open_source`]) to the new private file `dst`, at most its size then.
fn copy_into(src: (File, u64), dst: &Path) -> anyhow::Result<()> {
    let (file, size) = src;
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dst)
        .with_context(|| format!("cannot create {}", dst.display()))?;
    let copied = std::io::copy(&mut file.take(size), &mut out)?;
    if copied != size {
        bail!("the source changed size while it was read; stop OpenClaw's gateway and try again");
    }
    out.flush()?;
    Ok(())
}

/// A JSON value for one SQLite cell: text as a string (invalid UTF-8 replaced), integers and reals
/// as numbers, NULL and blobs as null.
fn cell(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null | ValueRef::Blob(_) => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
    }
}

/// The rows of `device_pairing_paired` in the database at `db`, each keyed by column name, read
/// from a private copy (see the module docs).
pub(super) fn paired_rows(db: &Path) -> anyhow::Result<Vec<Map<String, Value>>> {
    let main = open_source(db)?.with_context(|| format!("{} not found", db.display()))?;
    let wal_path = PathBuf::from(format!("{}-wal", db.display()));
    let wal = open_source(&wal_path)?;
    let tmp = tempfile::Builder::new()
        .prefix("openclaw-import-")
        .tempdir()
        .context("cannot create a private temporary directory")?;
    let copy = tmp.path().join("openclaw.sqlite");
    copy_into(main, &copy)?;
    if let Some(wal) = wal {
        copy_into(wal, &tmp.path().join("openclaw.sqlite-wal"))?;
    }
    // The copy is ours: SQLite may fold the copied -wal into it.
    let conn = Connection::open_with_flags(
        &copy,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open a copy of {} as SQLite", db.display()))?;
    let has_table: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [TABLE],
            |r| r.get::<_, i64>(0),
        )
        .with_context(|| format!("{} is not a SQLite database", db.display()))?
        > 0;
    if !has_table {
        bail!(
            "{} has no {TABLE} table: not the state of OpenClaw 2026.7 or later",
            db.display()
        );
    }
    let mut stmt = conn.prepare(&format!("SELECT * FROM {TABLE} LIMIT {}", MAX_ROWS + 1))?;
    let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        if out.len() == MAX_ROWS {
            bail!("{TABLE} has more than {MAX_ROWS} rows; nothing was imported");
        }
        let mut m = Map::new();
        for (i, name) in names.iter().enumerate() {
            m.insert(name.clone(), cell(row.get_ref(i)?));
        }
        out.push(m);
    }
    Ok(out)
}
