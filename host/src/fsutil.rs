//! Private files: written atomically (temp file in the same directory, fsync, rename — or a link, to
//! create a file only if it is absent — fsync the directory), and opened without following links.
//! The gateway's state directory and the CLI's own files both use these:
//!
//! - reading: [`open_private`], [`read_private`], [`read_private_text`];
//! - writing: [`write_atomic`] (in an existing directory), [`write_private`] (creating the directory
//!   0700), [`create_private`] (only if the file is absent);
//! - directories: [`private_dir`], [`private_subdir`] (no link in its place), [`sync_dir`];
//! - errors: [`describe`], one line naming the file.
//!
//! Every file of the state directory is opened with `O_NOFOLLOW` ([`open_private`], [`read_private`]):
//! a symbolic link planted in its place (to truncate its target, or to make the gateway adopt a
//! token someone else wrote) is refused with an error naming it. A file that others may read or write
//! (a copy with `cp`, an editor, a `umask 000` shell) is tightened to 0600 when opened, with a warning.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

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

/// [`read_private`] for a text file: content that is not UTF-8 is an error of kind
/// [`io::ErrorKind::InvalidData`] naming the file ([`describe`] adds nothing to it).
pub fn read_private_text(path: &Path) -> io::Result<Option<String>> {
    match read_private(path)? {
        Some(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
            refused_as(
                io::ErrorKind::InvalidData,
                format!("{} is not UTF-8 text", path.display()),
            )
        }),
        None => Ok(None),
    }
}

/// A file refused by [`open_private`] (or text that is not UTF-8); its message names the file and
/// says what to do.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn refused(message: String) -> io::Error {
    refused_as(io::ErrorKind::InvalidInput, message)
}

fn refused_as(kind: io::ErrorKind, message: String) -> io::Error {
    io::Error::new(kind, Refused(message))
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

/// The directory `path` is in (`.` for a bare file name).
fn parent(path: &Path) -> io::Result<&Path> {
    match path.parent() {
        Some(p) if p.as_os_str().is_empty() => Ok(Path::new(".")),
        Some(p) => Ok(p),
        None => Err(io::Error::other(format!(
            "{} has no parent directory",
            path.display()
        ))),
    }
}

/// Writes `bytes` to a fresh 0600 temp file beside `path` (`.<name>.<pid>.<random>.tmp`), synced;
/// returns its path. A random part, not a counter: a temp file a crashed process left behind never
/// blocks a later one that got the same pid.
fn write_temp(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let dir = parent(path)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| io::Error::other(e.to_string()))?;
    let tmp = dir.join(format!(
        ".{name}.{}.{:016x}.tmp",
        std::process::id(),
        u64::from_le_bytes(nonce)
    ));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    if let Err(e) = f.write_all(bytes).and_then(|()| f.sync_all()) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

/// Replaces `path` with `bytes` atomically and durably, as a 0600 file: after a crash the file holds
/// either the old or the new content, never a mix. The directory must exist (see [`write_private`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = write_temp(path, bytes)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(parent(path)?)
}

/// [`write_atomic`] into a directory created (with its missing parents) 0700 if need be, and
/// tightened to 0700 ([`private_dir`]): for files outside the state directory, such as a CLI's key.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    private_dir(parent(path)?)?;
    write_atomic(path, bytes)
}

/// Creates `path` with `bytes`, as a 0600 file, only if it does not exist yet, atomically and
/// durably (the content is written to a temp file first, then linked in place), in a directory
/// created 0700 if need be. Returns `false`, leaving the file alone, when it exists already (another
/// process created it first).
pub fn create_private(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    let dir = parent(path)?;
    private_dir(dir)?;
    let tmp = write_temp(path, bytes)?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(dir)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
