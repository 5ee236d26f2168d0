//! Files that hold health data: SQLite databases are made private (0600) before they are opened,
//! by the peer, the clinic node and the wallet alike. No feature gate: the wallet, which takes the
//! ledger without its server, uses it too.

/// Makes an SQLite database file private before it is opened: creates it with mode 0600 when it
/// is missing (SQLite then gives its `-wal` and `-shm` files the same mode) and tightens an
/// existing file and its `-wal`, `-shm` and `-journal` to 0600. They hold health data.
#[cfg(unix)]
pub fn private_sqlite_file(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let name = path.to_string_lossy();
    if name.is_empty() || name.contains(":memory:") {
        return Ok(());
    }
    if !path.exists() {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let p = std::path::PathBuf::from(p);
        if p.exists() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

/// Elsewhere the platform's defaults apply (per-user app directories on Windows, Android, iOS).
#[cfg(not(unix))]
pub fn private_sqlite_file(_path: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}
