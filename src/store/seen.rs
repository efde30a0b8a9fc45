//! The `seen_events` database: dedupe keys (`ev:<event_id>`, `env:<envelope_id>`) with their
//! first-seen time (u64 big-endian Unix ms), pruned past the TTL. At start the shell loads the
//! unexpired keys into the socket machine, so a redelivery after a restart is still dropped.

use super::error::{KindResult, StoreError, StoreErrorKind, StoreOp};
use super::{Dbs, Store, db};
use crate::engine::UnixMs;
use heed::RwTxn;
use std::time::Duration;

/// LMDB's default key size limit.
const MAX_KEY_BYTES: usize = 511;

/// The first-seen time `seen_events` keeps when `key`, already held with `stored`, is
/// remembered again at `at`: the later one. The socket machine remembers a key again only after
/// its window forgot it (TTL or capacity) and dispatched it anew, so the later time starts the
/// window that counts; keeping the earlier one let a restart forget the key within the TTL of
/// its last dispatch and dispatch a redelivery again (found by the `socket_sequence` fuzz
/// target). A wall clock that stepped back never shortens what is kept.
pub fn kept_seen_time(stored: Option<UnixMs>, at: UnixMs) -> UnixMs {
    stored.map_or(at, |stored| stored.max(at))
}

/// Record `key` as seen at `at` (see [`kept_seen_time`]).
pub(crate) fn put(dbs: &Dbs, wtxn: &mut RwTxn<'_>, key: &str, at: UnixMs) -> KindResult<()> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(StoreErrorKind::Invalid {
            what: "dedupe key",
            detail: format!("{} bytes; must be 1 to {MAX_KEY_BYTES}", key.len()),
        });
    }
    let stored = dbs.seen.get(wtxn, key.as_bytes())?.and_then(decode);
    let kept = kept_seen_time(stored, at);
    if stored != Some(kept) {
        dbs.seen.put(wtxn, key.as_bytes(), &kept.0.to_be_bytes())?;
    }
    Ok(())
}

fn decode(bytes: &[u8]) -> Option<UnixMs> {
    <[u8; 8]>::try_from(bytes)
        .ok()
        .map(|b| UnixMs(u64::from_be_bytes(b)))
}

fn expired(first_seen: UnixMs, now: UnixMs, ttl: Duration) -> bool {
    now.0.saturating_sub(first_seen.0) >= crate::engine::time::duration_ms(ttl)
}

fn warn_corrupt(key: &[u8], bytes: &[u8]) {
    let e = StoreErrorKind::Corrupt {
        db: db::SEEN_EVENTS,
        key: String::from_utf8_lossy(key).into_owned(),
        detail: format!("value is {} bytes, expected 8", bytes.len()),
    };
    tracing::warn!(error = %e, "skipping a corrupt dedupe key (prune deletes it)");
}

impl Store {
    /// Persist a dedupe key (the socket machine's `Remember` command). Committed without
    /// waiting for the disk, like socket-mode journal rows.
    pub fn remember(&self, key: &str, at_unix: UnixMs) -> Result<(), StoreError> {
        self.write(StoreOp::SeenWrite, |dbs, wtxn| put(dbs, wtxn, key, at_unix))
    }

    /// Persist many dedupe keys in one transaction (the runtime's group commit: an ack never
    /// waits for this). Committed without waiting for the disk.
    pub fn remember_batch(&self, keys: &[(String, UnixMs)]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.write(StoreOp::SeenWrite, |dbs, wtxn| {
            keys.iter()
                .try_for_each(|(key, at)| put(dbs, wtxn, key, *at))
        })
    }

    /// Every key first seen less than `ttl` before `now_unix`, oldest first. Corrupt values
    /// are skipped and logged with their key.
    pub fn load_unexpired(
        &self,
        now_unix: UnixMs,
        ttl: Duration,
    ) -> Result<Vec<(String, UnixMs)>, StoreError> {
        let mut keys = self.read(|dbs, rtxn| {
            let mut keys = Vec::new();
            for item in dbs.seen.iter(rtxn)? {
                let (key, bytes) = item?;
                match decode(bytes) {
                    Some(at) if !expired(at, now_unix, ttl) => {
                        keys.push((String::from_utf8_lossy(key).into_owned(), at));
                    }
                    Some(_) => {}
                    None => warn_corrupt(key, bytes),
                }
            }
            Ok(keys)
        })?;
        keys.sort_by_key(|(key, at)| (*at, key.clone()));
        Ok(keys)
    }

    /// Delete every key first seen `ttl` or more before `now_unix`, and every corrupt one;
    /// returns how many were deleted.
    pub fn prune_seen(&self, now_unix: UnixMs, ttl: Duration) -> Result<usize, StoreError> {
        self.write(StoreOp::SeenWrite, |dbs, wtxn| {
            let mut doomed = Vec::new();
            for item in dbs.seen.iter(wtxn)? {
                let (key, bytes) = item?;
                if decode(bytes).is_none_or(|at| expired(at, now_unix, ttl)) {
                    doomed.push(key.to_vec());
                }
            }
            for key in &doomed {
                dbs.seen.delete(wtxn, key)?;
            }
            Ok(doomed.len())
        })
    }
}
