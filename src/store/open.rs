//! Opening a store: the data dir, the writer lock, the environment and its databases.

use super::error::{KindResult, StoreError, StoreErrorKind, StoreOp};
use super::grow::round_map_size;
use super::lock::DirLock;
use super::{Dbs, Handle, Store, StoreConfig, db};
use heed::{CommitOrAbort, Env, EnvFlags, EnvOpenOptions, WithoutTls};
use std::path::Path;
use std::sync::RwLock;
use std::sync::atomic::AtomicU64;

/// Named databases in the environment (ours plus headroom for documented additions).
const MAX_DBS: u32 = 8;

impl Store {
    /// Open (creating it if needed) the data dir for writing and take its lock.
    ///
    /// Fails with [`StoreErrorKind::Held`] while another process (or another `Store` in this
    /// one) holds the dir.
    pub fn open(config: StoreConfig) -> Result<Store, StoreError> {
        open_writer(config).map_err(|k| StoreError::new(StoreOp::Open, k))
    }

    /// Like [`Store::open`], but for a data dir that must already hold a store: never creates
    /// anything (operator commands use it, so a typo in `--data-dir` is an error, not a new
    /// empty store).
    pub fn open_existing(config: StoreConfig) -> Result<Store, StoreError> {
        check_existing_store(&config.dir)
            .and_then(|()| open_writer(config))
            .map_err(|k| StoreError::new(StoreOp::Open, k))
    }

    /// Open an existing data dir for reading only. Takes no lock, so it works beside the
    /// running service (LMDB readers never block the writer). Never creates anything.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Store, StoreError> {
        open_reader(dir.as_ref()).map_err(|k| StoreError::new(StoreOp::Open, k))
    }
}

fn open_writer(mut config: StoreConfig) -> KindResult<Store> {
    validate(&config)?;
    config.map_size = round_map_size(config.map_size);
    create_private_dir(&config.dir)?;
    let lock = DirLock::acquire(&config.dir)?;
    let handle = writer_handle(&config.dir, config.map_size)?;
    Ok(Store::from_parts(handle, config, Some(lock)))
}

/// The writer's environment and databases (created when missing), mapped at `map_size`.
pub(super) fn writer_handle(dir: &Path, map_size: usize) -> KindResult<Handle> {
    let mut options = EnvOpenOptions::new().read_txn_without_tls();
    options.map_size(map_size).max_dbs(MAX_DBS);
    // SAFETY: NO_META_SYNC keeps LMDB's integrity (data pages are synced before the meta page
    // is written); an OS crash may undo the last commit unless it was followed by
    // `force_sync`, which every durable write does (see docs/storage.md).
    unsafe { options.flags(EnvFlags::NO_META_SYNC) };
    let env = open_env(&options, dir)?;
    let wtxn = env.write_txn()?;
    let dbs = env
        .create_databases_and_commit(wtxn, |opener, wtxn| -> heed::Result<_> {
            Ok(CommitOrAbort::<_, ()>::Commit((
                opener.create_database(wtxn, Some(db::JOURNAL))?,
                opener.create_database(wtxn, Some(db::SNAPSHOTS))?,
                opener.create_database(wtxn, Some(db::LEDGER))?,
                opener.create_database(wtxn, Some(db::LEDGER_RETRY))?,
                opener.create_database(wtxn, Some(db::SEEN_EVENTS))?,
            )))
        })?
        .unwrap_commit();
    let (journal, snapshots, ledger, ledger_retry, seen) = dbs;
    Ok(Handle {
        env,
        dbs: Dbs {
            journal,
            snapshots,
            ledger,
            ledger_retry,
            seen,
        },
    })
}

fn open_reader(dir: &Path) -> KindResult<Store> {
    let handle = reader_handle(dir)?;
    let map_size = handle.env.info().map_size;
    let config = StoreConfig {
        map_size,
        ..StoreConfig::new(dir)
    };
    Ok(Store::from_parts(handle, config, None))
}

/// A read-only environment of an existing store and its databases.
pub(super) fn reader_handle(dir: &Path) -> KindResult<Handle> {
    check_existing_store(dir)?;
    let mut options = EnvOpenOptions::new().read_txn_without_tls();
    options.max_dbs(MAX_DBS);
    // SAFETY: READ_ONLY only restricts this handle; the writer's own flags are unaffected.
    unsafe { options.flags(EnvFlags::READ_ONLY) };
    let env = open_env(&options, dir)?;
    let rtxn = env.read_txn()?;
    let dbs = env
        .open_databases_and_commit(rtxn, |opener, rtxn| -> heed::Result<_> {
            Ok(CommitOrAbort::<_, ()>::Commit((
                opener.open_database(rtxn, Some(db::JOURNAL))?,
                opener.open_database(rtxn, Some(db::SNAPSHOTS))?,
                opener.open_database(rtxn, Some(db::LEDGER))?,
                opener.open_database(rtxn, Some(db::LEDGER_RETRY))?,
                opener.open_database(rtxn, Some(db::SEEN_EVENTS))?,
            )))
        })?
        .unwrap_commit();
    let (Some(journal), Some(snapshots), Some(ledger), Some(ledger_retry), Some(seen)) = dbs else {
        return Err(StoreErrorKind::NotAStore {
            dir: dir.to_path_buf(),
        });
    };
    Ok(Handle {
        env,
        dbs: Dbs {
            journal,
            snapshots,
            ledger,
            ledger_retry,
            seen,
        },
    })
}

impl Store {
    fn from_parts(handle: Handle, config: StoreConfig, lock: Option<DirLock>) -> Store {
        Store {
            gate: RwLock::new(Some(handle)),
            config,
            lock,
            reopens: AtomicU64::new(0),
            #[cfg(any(test, feature = "fuzzing"))]
            failing_syncs: std::sync::atomic::AtomicU32::new(0),
            #[cfg(any(test, feature = "fuzzing"))]
            failing_reads: std::sync::atomic::AtomicU32::new(0),
        }
    }
}

fn open_env(options: &EnvOpenOptions<WithoutTls>, dir: &Path) -> KindResult<Env<WithoutTls>> {
    // SAFETY: the map is only modified through LMDB; the writer lock keeps a second writer
    // process out, and this process opens each dir once (heed refuses a second open).
    unsafe { options.open(dir) }.map_err(|e| match e {
        heed::Error::Io(source) => StoreErrorKind::Io {
            path: dir.to_path_buf(),
            source,
        },
        other => other.into(),
    })
}

fn validate(config: &StoreConfig) -> KindResult<()> {
    let invalid = |detail: String| StoreErrorKind::Invalid {
        what: "config",
        detail,
    };
    if config.journal_max_rows == 0 {
        return Err(invalid("journal_max_rows must be at least 1".into()));
    }
    if config.map_ceiling < config.map_size {
        return Err(invalid(format!(
            "map_ceiling ({}) is below map_size ({})",
            config.map_ceiling, config.map_size
        )));
    }
    Ok(())
}

/// Create the data dir (and missing parents) with mode `0700`; an existing dir keeps the
/// permissions its owner gave it.
fn create_private_dir(dir: &Path) -> KindResult<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| StoreErrorKind::Io {
        path: dir.to_path_buf(),
        source,
    })
}

fn check_existing_store(dir: &Path) -> KindResult<()> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(StoreErrorKind::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::other("not a directory"),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreErrorKind::MissingDir {
                dir: dir.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(StoreErrorKind::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    }
    let data = dir.join("data.mdb");
    match std::fs::File::open(&data) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreErrorKind::NotAStore {
            dir: dir.to_path_buf(),
        }),
        Err(source) => Err(StoreErrorKind::Io { path: data, source }),
    }
}
