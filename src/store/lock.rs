//! The writer's exclusive lock on the data dir.
//!
//! LMDB itself lets several processes write one environment; phantom-fsm does not: the running
//! service owns its ledger, and an operator command that rewrites a row behind its back would
//! be overwritten by the service's next stamp. The writer therefore holds an advisory `flock`
//! on `<dir>/writer.lock` for the life of its [`Store`](super::Store); the kernel drops it
//! when the process exits, however it exits (SIGKILL included), so a stale lock cannot exist.

use super::error::{KindResult, StoreErrorKind};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// File name of the lock inside the data dir.
pub(crate) const LOCK_FILE: &str = "writer.lock";

/// A held writer lock; released on drop (or process exit).
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Take the lock without waiting, or report who holds it.
    pub(crate) fn acquire(dir: &Path) -> KindResult<DirLock> {
        let path = dir.join(LOCK_FILE);
        let io = |source| StoreErrorKind::Io {
            path: path.clone(),
            source,
        };
        let mut file = open_lock_file(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreErrorKind::Held {
                    dir: dir.to_path_buf(),
                    pid: read_pid(&mut file),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // The pid is only for the message another process shows; failing to write it is fine.
        let _ = write_pid(&mut file);
        Ok(DirLock { _file: file })
    }
}

fn open_lock_file(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

fn write_pid(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{}", std::process::id())?;
    file.flush()
}
