//! Helpers shared by the benchmark binaries.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use aifin::bench::Attributor;
use aifin::bench::Catalog;
use aifin::bench::Nanos;
use aifin::bench::Rng;
use aifin::bench::{Batch, Writer};
use aifin::bench::{CallRecord, Tokens};
use aifin::bench::{IngestOptions, IngestReport, SourceOptions, ingest_paths};
use aifin::bench::{MS_PER_DAY, now_ms};

pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub fn bench_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("aifin-bench");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Builds (once) a database of `rows` calls spread over 60 days.
/// A ledger built by an older version, upgraded to this schema (opened
/// for writing once).
pub fn upgraded(db: PathBuf) -> PathBuf {
    drop(aifin::bench::open_rw(&db).unwrap());
    db
}

pub fn ledger_db(rows: u64) -> PathBuf {
    ledger_db_seeded(rows, 9)
}

/// [`ledger_db`] with calls drawn from another seed (another machine's
/// ledger: no call in common with seed 9's).
pub fn ledger_db_seeded(rows: u64, seed: u64) -> PathBuf {
    let name = if seed == 9 { format!("ledger-{rows}.db") } else { format!("ledger-{rows}-seed{seed}.db") };
    let db = bench_dir().join(name);
    if db.exists() {
        return upgraded(db);
    }
    let tmp = db.with_extension("building");
    let _ = std::fs::remove_file(&tmp);
    let conn = aifin::bench::open_rw(&tmp).unwrap();
    let writer = Writer::spawn(conn, 4, None);
    let src = writer.source("bench://synthetic").unwrap();
    let mut rng = Rng::new(seed);
    let end = now_ms();
    let span = 60 * MS_PER_DAY;
    let t = Instant::now();
    let workflows: Vec<String> = (0..12).map(|i| format!("workflow-{i:02}")).collect();
    let teams: Vec<String> = (0..7).map(|i| format!("team-{i}")).collect();
    let customers: Vec<String> = (0..13).map(|i| format!("customer-{i:02}")).collect();
    let models = [
        "claude-opus-4-5",
        "claude-sonnet-4-5",
        "claude-haiku-4-5",
        "gpt-5",
        "gpt-4.1",
        "gpt-4o-mini",
        "gemini-2.5-pro",
        "gemini-2.5-flash",
    ];
    let mut sent = 0u64;
    while sent < rows {
        let n = 10_000.min(rows - sent);
        let mut batch = Batch { source_id: src.id, path: "bench://synthetic".into(), lines: n, ..Batch::default() };
        let records: Vec<CallRecord> = (0..n)
            .map(|k| {
                let i = sent + k;
                let w = rng.below(12) as usize;
                CallRecord {
                    ts_ms: end - span + (i as i128 * span as i128 / rows as i128) as i64,
                    dedupe_key: rng.next_u64() as i64,
                    line_no: i + 1,
                    model: models[rng.below(8) as usize].to_string(),
                    provider: Some("bench".into()),
                    price_key: Some("bench".into()),
                    workflow: Some(workflows[w].clone()),
                    team: Some(teams[w % 7].clone()),
                    customer: Some(customers[rng.below(13) as usize].clone()),
                    request_id: Some(format!("req_{}", rng.hex(24))),
                    tokens: Tokens {
                        uncached_input: 500 + rng.below(5000),
                        cache_read: rng.below(2000),
                        output: 50 + rng.below(800),
                        ..Tokens::default()
                    },
                    cost: Some(Nanos(1_000 + rng.below(50_000_000) as i64)),
                    latency_ms: Some(200 + rng.below(5000)),
                    ..CallRecord::default()
                }
            })
            .collect();
        sent += n;
        for r in records {
            batch.push(r);
        }
        batch.end_offset = sent;
        batch.end_line = sent;
        batch.seal();
        writer.send(batch).unwrap();
        if sent.is_multiple_of(1_000_000) {
            eprintln!("  built {sent} rows ({:.0} rows/s)", sent as f64 / t.elapsed().as_secs_f64());
        }
    }
    writer.finish().unwrap();
    println!(
        "ledger db: inserted {rows} rows through the writer in {:.1} s = {:.0} rows/s",
        t.elapsed().as_secs_f64(),
        rows as f64 / t.elapsed().as_secs_f64()
    );
    std::fs::rename(&tmp, &db).unwrap();
    for ext in ["building-wal", "building-shm"] {
        let _ = std::fs::remove_file(db.with_extension(ext));
    }
    db
}

/// The embedded catalog, parsed once per process (not inside a timing).
pub fn catalog() -> Arc<Catalog> {
    static C: OnceLock<Arc<Catalog>> = OnceLock::new();
    Arc::clone(C.get_or_init(|| Arc::new(Catalog::embedded())))
}

/// Reads `log` into the ledger at `db` once, as `aifin ingest` does.
pub fn ingest_file(log: &Path, db: &Path, tokenize: bool) -> IngestReport {
    ingest_paths(
        &[log.to_path_buf()],
        &SourceOptions::default(),
        IngestOptions {
            db,
            catalog: catalog(),
            attributor: Arc::new(Attributor::default()),
            stop: None,
            progress: None,
            tokenize,
        },
    )
    .unwrap()
}
