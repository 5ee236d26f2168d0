//! Files that hold keys or health data, written and read one way by every Spondon program.
//!
//! - [`write_private`] replaces a file atomically with one readable by its owner only (0600): a
//!   temporary file beside it, written and synced, renamed over the old one, and the directory
//!   synced, so a crash leaves the old file or the new one, never half of either.
//! - [`create_private`] does the same for a file that must not exist yet (a key made at `init`, a
//!   document saved for the patient): it never overwrites, even when two writers race.
//! - [`write_public`] is [`write_private`] with mode 0644, for what is published (a trust list).
//! - [`read_private`] reads a secret back, refusing one that group or others can read and one
//!   larger than the caller expects.
//! - [`private_sqlite_file`] makes an SQLite database and its side files private before it is
//!   opened.
//!
//! On platforms without Unix modes (Windows, and the app's per-user directories on phones) the
//! modes are left to the platform; everything else is the same.

#![warn(missing_docs)]

use std::fs::{self, File};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

/// What went wrong with a file. Each error names the file; none holds its contents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The operating system refused an operation on the file.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done ("create", "write", "read", …).
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// [`create_private`] found the file already there.
    #[error("{} already exists; it is not overwritten", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// [`read_private`] or [`read_limited`] found no file.
    #[error("there is no file at {}", path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// The file is larger than its reader accepts.
    #[error("{} is larger than {max} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The most the reader accepts.
        max: u64,
    },
    /// A secret that group or others can read.
    #[error("{} is readable by group or others (mode {mode:o}); chmod 600 it", path.display())]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

impl FileError {
    /// A stable, machine-readable name of the error's kind.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "file_io",
            Self::Exists { .. } => "file_exists",
            Self::NotFound { .. } => "file_not_found",
            Self::TooLarge { .. } => "file_too_large",
            Self::Exposed { .. } => "file_exposed",
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. }
            | Self::Exists { path }
            | Self::NotFound { path }
            | Self::TooLarge { path, .. }
            | Self::Exposed { path, .. } => path,
        }
    }

    fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |source| Self::Io { op, path, source }
    }
}

#[derive(Clone, Copy)]
enum Mode {
    Private,
    Public,
}

/// Replaces `path` atomically with `bytes`, readable by its owner only (0600).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write(path, bytes, Mode::Private, true)
}

/// Replaces `path` atomically with `bytes`, readable by everyone (0644): for what is published.
pub fn write_public(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write(path, bytes, Mode::Public, true)
}

/// Writes `bytes` to `path`, readable by its owner only (0600), only if `path` does not exist:
/// [`FileError::Exists`] otherwise, and nothing is changed. Atomic too: a reader never sees half
/// the file.
pub fn create_private(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write(path, bytes, Mode::Private, false)
}

fn write(path: &Path, bytes: &[u8], mode: Mode, replace: bool) -> Result<(), FileError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".");
    // The temporary file is made 0600 by `tempfile` and removed if anything below fails.
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(FileError::io("create a temporary file in", dir))?;
    #[cfg(unix)]
    if let Mode::Public = mode {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(FileError::io("set the mode of", tmp.path()))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(bytes)
        .map_err(FileError::io("write", tmp.path()))?;
    tmp.as_file()
        .sync_all()
        .map_err(FileError::io("sync", tmp.path()))?;
    if replace {
        tmp.persist(path)
            .map_err(|e| FileError::io("replace", path)(e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                FileError::Exists {
                    path: path.to_owned(),
                }
            } else {
                FileError::io("create", path)(e.error)
            }
        })?;
    }
    sync_dir(dir)
}

/// Makes a rename durable: the directory entry is synced too (Unix; elsewhere a no-op).
fn sync_dir(dir: &Path) -> Result<(), FileError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(FileError::io("sync the directory", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads a secret: refuses a file that group or others can read ([`FileError::Exposed`]) and one
/// larger than `max` bytes.
pub fn read_private(path: &Path, max: u64) -> Result<Vec<u8>, FileError> {
    let file = open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file
            .metadata()
            .map_err(FileError::io("read the mode of", path))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(FileError::Exposed {
                path: path.to_owned(),
                mode: mode & 0o777,
            });
        }
    }
    read_open(file, path, max)
}

/// Reads a file of at most `max` bytes ([`FileError::TooLarge`] otherwise, without reading more).
pub fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>, FileError> {
    read_open(open(path)?, path, max)
}

fn open(path: &Path) -> Result<File, FileError> {
    File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            FileError::NotFound {
                path: path.to_owned(),
            }
        } else {
            FileError::io("open", path)(e)
        }
    })
}

fn read_open(file: File, path: &Path, max: u64) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::new();
    // One byte more than the limit, so that an oversized file is seen as such.
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(FileError::io("read", path))?;
    if bytes.len() as u64 > max {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
            max,
        });
    }
    Ok(bytes)
}

/// Makes an SQLite database file private before it is opened: creates it with mode 0600 when it
/// is missing (SQLite then gives its `-wal` and `-shm` files the same mode) and tightens an
/// existing file and its `-wal`, `-shm` and `-journal` to 0600. They hold health data. An
/// in-memory database (`:memory:`) is left alone. Elsewhere than Unix the platform's defaults
/// apply (per-user app directories on Windows, Android, iOS).
#[cfg_attr(
    not(unix),
    expect(unused_variables, reason = "the platform's defaults apply")
)]
pub fn private_sqlite_file(path: &Path) -> Result<(), FileError> {
    #[cfg(unix)]
    {
        use std::fs::OpenOptions;
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let name = path.to_string_lossy();
        if name.is_empty() || name.contains(":memory:") {
            return Ok(());
        }
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(FileError::io("create", path)(e)),
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let p = PathBuf::from(p);
            match fs::set_permissions(&p, fs::Permissions::from_mode(0o600)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(FileError::io("set the mode of", &p)(e)),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn write_private_replaces_atomically_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key.pem");
        write_private(&p, b"first").unwrap();
        write_private(&p, b"second, longer").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second, longer");
        #[cfg(unix)]
        assert_eq!(mode(&p), 0o600);
        assert_eq!(entries(dir.path()), ["key.pem"]);
    }

    #[cfg(unix)]
    #[test]
    fn write_private_tightens_a_file_that_was_readable_by_others() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("backup");
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&p, b"new").unwrap();
        assert_eq!(mode(&p), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn write_public_is_readable_by_all() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trust-list.json");
        write_public(&p, b"{}").unwrap();
        assert_eq!(mode(&p), 0o644);
        assert_eq!(fs::read(&p).unwrap(), b"{}");
    }

    #[test]
    fn create_private_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("record.key");
        create_private(&p, b"mine").unwrap();
        let e = create_private(&p, b"theirs").unwrap_err();
        assert!(matches!(e, FileError::Exists { .. }), "{e}");
        assert_eq!(e.code(), "file_exists");
        assert_eq!(fs::read(&p).unwrap(), b"mine");
        assert_eq!(entries(dir.path()), ["record.key"]);
    }

    #[test]
    fn a_write_into_a_missing_directory_fails_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gone").join("f");
        let e = write_private(&p, b"x").unwrap_err();
        assert_eq!(e.code(), "file_io");
        assert!(e.to_string().contains("gone"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn read_private_refuses_a_secret_others_can_read() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.key");
        write_private(&p, b"seed").unwrap();
        assert_eq!(read_private(&p, 64).unwrap(), b"seed");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        let e = read_private(&p, 64).unwrap_err();
        assert!(matches!(e, FileError::Exposed { mode: 0o640, .. }), "{e}");
        assert!(e.to_string().contains("chmod 600"), "{e}");
    }

    #[test]
    fn reads_refuse_what_is_too_large_or_missing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_private(&p, &[7; 65]).unwrap();
        assert_eq!(read_limited(&p, 65).unwrap().len(), 65);
        let e = read_limited(&p, 64).unwrap_err();
        assert!(matches!(e, FileError::TooLarge { max: 64, .. }), "{e}");
        let e = read_private(&dir.path().join("nope"), 64).unwrap_err();
        assert_eq!(e.code(), "file_not_found");
    }

    #[cfg(unix)]
    #[test]
    fn sqlite_files_are_made_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("peer.db");
        private_sqlite_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        let wal = dir.path().join("peer.db-wal");
        fs::write(&wal, b"").unwrap();
        fs::set_permissions(&wal, fs::Permissions::from_mode(0o644)).unwrap();
        private_sqlite_file(&db).unwrap();
        assert_eq!(mode(&wal), 0o600);
        private_sqlite_file(Path::new(":memory:")).unwrap();
    }
}
