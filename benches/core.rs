//! Micro benchmarks of the hot path, each beside the baseline it is judged against, measured in
//! the same run: frame decoding against a bare `serde_json` parse of the same bytes; the Socket
//! Mode machine (envelope in, outputs drained) bare and with the telemetry and status
//! observers; journal appends and a group commit of 1,000 dedupe keys against a bare heed
//! put + commit loop on the same disk, synced and unsynced.
//!
//! Run: `cargo bench --bench core`; `bash benches/ratios.sh` prints each figure as a ratio to
//! its baseline (see docs/performance.md).

use criterion::{BatchSize, Criterion, black_box, criterion_group, criterion_main};
use heed::types::Bytes;
use heed::{CommitOrAbort, Database, Env, EnvFlags, EnvOpenOptions, WithoutTls};
use phantom_fsm::engine::{Machine, Now, Snapshot, Transition, UnixMs};
use phantom_fsm::runtime::StatusBoard;
use phantom_fsm::socket::{
    Hello, Input, LinkId, OpenOutcome, ServerFrame, SocketConfig, SocketMode, decode_text,
};
use phantom_fsm::store::{Store, StoreConfig};
use phantom_fsm::telemetry::Telemetry;
use std::cell::Cell;
use std::path::Path;

/// An `events_api` envelope whose `payload.event.text` pads it to about `bytes`.
fn envelope_text(id: u64, bytes: usize) -> String {
    let head = format!(
        r#"{{"envelope_id":"env-{id:012}","type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":"","payload":{{"token":"x","team_id":"T0SIMTEAM1","api_app_id":"A0SIMAPP01","type":"event_callback","event_id":"Ev{id:012}","event_time":1764600000,"authorizations":[{{"team_id":"T0SIMTEAM1","user_id":"U0SIMBOT01","is_bot":true}}],"event":{{"type":"app_mention","user":"U0SIMUSER1","channel":"C0SIMCHAN1","ts":"1764600000.000100","event_ts":"1764600000.000100","text":""#
    );
    let tail = r#""}}}"#;
    let pad = bytes.saturating_sub(head.len() + tail.len());
    format!("{head}{}{tail}", "a".repeat(pad))
}

const HELLO: &str = r#"{"type":"hello","num_connections":1,"debug_info":{"host":"applink-1","build_number":10,"approximate_connection_time":18060},"connection_info":{"app_id":"A0SIMAPP01"}}"#;
const DISCONNECT: &str =
    r#"{"type":"disconnect","reason":"refresh_requested","debug_info":{"host":"applink-1"}}"#;

fn decode(c: &mut Criterion) {
    let max = 1 << 20;
    let frames = [
        ("hello", HELLO.to_string()),
        ("disconnect", DISCONNECT.to_string()),
        ("envelope_1k", envelope_text(1, 1024)),
        ("envelope_64k", envelope_text(1, 64 * 1024)),
    ];
    for (name, text) in &frames {
        let mut g = c.benchmark_group(format!("decode/{name}"));
        g.bench_function("phantom", |b| {
            b.iter(|| decode_text(black_box(text), max).expect("a valid frame"))
        });
        g.bench_function("baseline_serde_json", |b| {
            b.iter(|| {
                serde_json::from_slice::<serde_json::Value>(black_box(text.as_bytes()))
                    .expect("valid JSON")
            })
        });
        g.finish();
    }
}

/// A machine in `connected` on link 1 at time 0.
fn connected() -> (SocketMode, Now, LinkId) {
    let mut m = SocketMode::new(SocketConfig::default());
    let now = Now::fake(0);
    m.handle(now, Input::Start);
    let request = m.in_flight().expect("a call in flight after Start");
    let url = OpenOutcome::Url("wss://example.invalid/link".into());
    m.handle(
        now,
        Input::OpenResult {
            request,
            outcome: url,
        },
    );
    let link = LinkId(1);
    m.handle(now, Input::LinkOpened { link });
    m.handle(
        now,
        Input::Frame {
            link,
            frame: ServerFrame::Hello(Hello::default()),
        },
    );
    m.drain();
    assert_eq!(m.state_name(), "connected");
    (m, now, link)
}

fn machine(c: &mut Criterion) {
    let mut g = c.benchmark_group("socket/envelope_891b");
    // Distinct envelope ids and event ids, so no envelope is a duplicate.
    let counter = Cell::new(0u64);
    let next = || {
        counter.set(counter.get() + 1);
        envelope_text(counter.get(), 891)
    };
    let frame = |text: &str| decode_text(text, 1 << 20).expect("a valid frame");
    {
        let (mut m, now, link) = connected();
        g.bench_function("baseline_bare_dispatch", |b| {
            b.iter_batched(
                || frame(&next()),
                |frame| {
                    m.handle(now, Input::Frame { link, frame });
                    m.drain()
                },
                BatchSize::SmallInput,
            )
        });
    }
    {
        let (mut m, now, link) = connected();
        let telemetry = Telemetry::new();
        let status = StatusBoard::new("bench", now);
        g.bench_function("with_observers", |b| {
            b.iter_batched(
                || frame(&next()),
                |frame| {
                    m.handle(now, Input::Frame { link, frame });
                    let outs = m.drain();
                    for o in &outs {
                        telemetry.observe(o);
                        status.observe(o);
                    }
                    outs
                },
                BatchSize::SmallInput,
            )
        });
    }
    {
        let (mut m, now, link) = connected();
        g.bench_function("decode_and_dispatch", |b| {
            b.iter_batched(
                next,
                |text| {
                    m.handle_text(now, link, &text);
                    m.drain()
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// A scratch dir on the same disk as the build (not /tmp, which may be tmpfs).
fn scratch(name: &str) -> tempfile::TempDir {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-scratch");
    std::fs::create_dir_all(&base).expect("create target/bench-scratch");
    tempfile::Builder::new()
        .prefix(name)
        .tempdir_in(base)
        .expect("a scratch dir")
}

/// A bare heed environment with the store's flags and one `bytes -> bytes` database.
fn bare_env(dir: &Path) -> (Env<WithoutTls>, Database<'static, Bytes, Bytes>) {
    let mut options = EnvOpenOptions::new().read_txn_without_tls();
    // Room for criterion's default 5 s of 1,000-key batches: the baseline never deletes, and
    // a full map (`MapFull`) would end the run (the store grows its own map).
    options.map_size(4 << 30).max_dbs(4);
    // SAFETY: the same flag the store opens with; the env is private to this benchmark.
    unsafe { options.flags(EnvFlags::NO_META_SYNC) };
    // SAFETY: a fresh dir that nothing else opens.
    let env = unsafe { options.open(dir) }.expect("open a bare env");
    let wtxn = env.write_txn().expect("write txn");
    let db = env
        .create_databases_and_commit(wtxn, |opener, wtxn| -> heed::Result<_> {
            Ok(CommitOrAbort::<_, ()>::Commit(
                opener.create_database(wtxn, Some("db"))?,
            ))
        })
        .expect("create db")
        .unwrap_commit();
    (env, db)
}

fn store(c: &mut Criterion) {
    let now = Now::fake(1_764_600_000_000);
    let t = Transition::new(
        "socket_mode",
        "default",
        ("connected", "reconnecting"),
        "frame",
        now,
    );
    let snapshot = Snapshot {
        state: "reconnecting".into(),
        data: serde_json::json!({"attempt": 1}),
    };
    let row = serde_json::to_vec(&(&t, &snapshot)).expect("encode a row");
    for synced in [false, true] {
        let label = if synced { "synced" } else { "unsynced" };
        let mut g = c.benchmark_group(format!("store/journal_append_{label}"));
        g.sample_size(if synced { 20 } else { 100 });
        {
            let dir = scratch("journal");
            let store = Store::open(StoreConfig::new(dir.path())).expect("open the store");
            let rows = [(t.clone(), snapshot.clone())];
            g.bench_function("phantom", |b| {
                b.iter(|| {
                    store.record_socket_batch(&rows).expect("append");
                    if synced {
                        store.force_sync().expect("sync");
                    }
                })
            });
        }
        {
            let dir = scratch("bare");
            let (env, db) = bare_env(dir.path());
            let mut key = 0u64;
            g.bench_function("baseline_heed", |b| {
                b.iter(|| {
                    key += 1;
                    let mut wtxn = env.write_txn().expect("write txn");
                    db.put(&mut wtxn, &key.to_be_bytes(), &row).expect("put");
                    wtxn.commit().expect("commit");
                    if synced {
                        env.force_sync().expect("sync");
                    }
                })
            });
        }
        g.finish();

        let mut g = c.benchmark_group(format!("store/seen_1000_{label}"));
        g.sample_size(20);
        let counter = Cell::new(0u64);
        let keys = || -> Vec<(String, UnixMs)> {
            (0..1000)
                .map(|_| {
                    counter.set(counter.get() + 1);
                    (
                        format!("event:Ev{:012}", counter.get()),
                        UnixMs(1_764_600_000_000),
                    )
                })
                .collect()
        };
        {
            let dir = scratch("seen");
            let store = Store::open(StoreConfig::new(dir.path())).expect("open the store");
            g.bench_function("phantom", |b| {
                b.iter_batched(
                    keys,
                    |batch| {
                        store.remember_batch(&batch).expect("remember");
                        if synced {
                            store.force_sync().expect("sync");
                        }
                    },
                    BatchSize::SmallInput,
                )
            });
        }
        {
            let dir = scratch("bare_seen");
            let (env, db) = bare_env(dir.path());
            g.bench_function("baseline_heed", |b| {
                b.iter_batched(
                    keys,
                    |batch| {
                        let mut wtxn = env.write_txn().expect("write txn");
                        for (k, at) in &batch {
                            db.put(&mut wtxn, k.as_bytes(), &at.0.to_be_bytes())
                                .expect("put");
                        }
                        wtxn.commit().expect("commit");
                        if synced {
                            env.force_sync().expect("sync");
                        }
                    },
                    BatchSize::SmallInput,
                )
            });
        }
        g.finish();
    }
}

criterion_group!(benches, decode, machine, store);
criterion_main!(benches);
