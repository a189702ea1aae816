//! Private files: written atomically (temp file in the same directory, fsync, rename, fsync
//! directory), and opened without following links.
//!
//! Every file of the state directory is opened with `O_NOFOLLOW` ([`open_private`], [`read_private`]):
//! a symbolic link planted in its place (to truncate its target, or to make the gateway adopt a
//! token someone else wrote) is refused with an error naming it. A file that others may read or write
//! (a copy with `cp`, an editor, a `umask 000` shell) is tightened to 0600 when opened, with a warning.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Opens `path` with `options` plus `O_NOFOLLOW`; refuses anything but a regular file, and tightens
/// a file others may read or write to 0600. A symbolic link (or a directory, a FIFO…) is an error of
/// kind [`io::ErrorKind::InvalidInput`] that names the file and says what to do (its `Display` is the
/// whole message; [`describe`] adds no "cannot open" in front of it).
pub fn open_private(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    let file = match options.custom_flags(libc::O_NOFOLLOW).open(path) {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(symlink_error(path)),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(refused(format!(
            "{} is not a regular file; move it away (the gateway keeps its state in plain files)",
            path.display()
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        tracing::warn!(
            "{} was open to other users (mode {mode:04o}); it is now 0600",
            path.display()
        );
    }
    Ok(file)
}

/// Reads the whole of `path` through [`open_private`]; `None` when it does not exist.
pub fn read_private(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let mut file = match open_private(path, OpenOptions::new().read(true)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// A file refused by [`open_private`]; its message names the file and says what to do.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn refused(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, Refused(message))
}

fn symlink_error(path: &Path) -> io::Error {
    refused(format!(
        "{} is a symbolic link, and the gateway does not follow links in its state directory; \
         replace it with the file itself (or move it away)",
        path.display()
    ))
}

/// `"<what> <path>: <error>"`, or just the error when it already names the file (a refused link or
/// special file from [`open_private`]).
pub fn describe(path: &Path, what: &str, e: &io::Error) -> String {
    if e.get_ref().is_some_and(|r| r.is::<Refused>()) {
        e.to_string()
    } else {
        format!("{what} {}: {e}", path.display())
    }
}

/// Creates `dir` (and parents) with mode 0700, and makes sure `dir` itself is 0700.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let mode = fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode != 0o700 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Like [`private_dir`] for a directory inside the state directory (`nodes/`): a symbolic link in
/// its place is refused (the state directory itself may be a link the user made).
pub fn private_subdir(dir: &Path) -> io::Result<()> {
    if fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(symlink_error(dir));
    }
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Err(symlink_error(dir));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode != 0o700 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Flushes a directory's entries (a rename inside it) to disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Replaces `path` with `bytes` atomically and durably, as a 0600 file: after a crash the file holds
/// either the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("file has no parent directory"))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_is_private_and_replaces() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let f = dir.join("x.json");
        write_atomic(&f, b"one").unwrap();
        write_atomic(&f, b"two").unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "no temp file left behind"
        );
    }
}
