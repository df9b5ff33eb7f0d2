//! End-to-end benchmarks that print throughput (no criterion: each run
//! takes seconds to minutes).
//!
//! ```text
//! cargo bench --bench ingest                      # all, default sizes
//! cargo bench --bench ingest -- --lines 1000000   # ingest size
//! cargo bench --bench ingest -- --ledger-rows 10000000 --only ledger
//! ```
//!
//! * **ingest**: N native JSONL lines (generated, not timed) read, parsed,
//!   priced, attributed and committed to a fresh database with dedupe and
//!   rollups; then the same file again (nothing new: offsets only).
//! * **ledger**: a database of M calls (built once through the writer and
//!   kept under `target/aifin-bench/`), then `aifin ledger` run as a
//!   process, the way a user runs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use aifin::attribution::Attributor;
use aifin::domain::money::Nanos;
use aifin::domain::record::{CallRecord, Tokens};
use aifin::domain::time::{MS_PER_DAY, now_ms};
use aifin::ingest::{IngestOptions, SourceOptions, ingest_paths};
use aifin::pricing::Catalog;
use aifin::sim::{Rng, bulk};
use aifin::store::writer::{Batch, Writer};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn bench_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("aifin-bench");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ingest_bench(lines: u64) {
    let dir = tempfile::tempdir().unwrap();
    // The generated log is kept between runs (generation is not timed).
    let log = bench_dir().join(format!("gateway-{lines}.jsonl"));
    if !log.exists() {
        let tmp = log.with_extension("tmp");
        let f = std::fs::File::create(&tmp).unwrap();
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        bulk(&mut w, lines, 30, now_ms(), 42).unwrap();
        drop(w);
        std::fs::rename(&tmp, &log).unwrap();
    }
    let bytes = std::fs::metadata(&log).unwrap().len();
    let db = dir.path().join("bench.db");
    let catalog = Arc::new(Catalog::embedded());
    let attributor = Arc::new(Attributor::default());
    let run = |label: &str| {
        let t = Instant::now();
        let r = ingest_paths(
            std::slice::from_ref(&log),
            &SourceOptions::default(),
            IngestOptions {
                db: &db,
                catalog: Arc::clone(&catalog),
                attributor: Arc::clone(&attributor),
                stop: None,
                progress: None,
            },
        )
        .unwrap();
        let s = t.elapsed().as_secs_f64();
        println!(
            "ingest {label}: {} lines, {:.1} MB in {:.2} s = {:.0} lines/s, {:.1} MB/s (stored {}, duplicates {})",
            r.lines,
            bytes as f64 / 1e6,
            s,
            r.lines as f64 / s,
            bytes as f64 / 1e6 / s,
            r.totals.stored,
            r.totals.duplicates
        );
    };
    run("first import");
    run("again, no new data");
    println!("ingest peak RSS: {:.0} MiB", peak_rss_mib());
}

/// Builds (once) a database of `rows` calls spread over 60 days.
fn ledger_db(rows: u64) -> PathBuf {
    let db = bench_dir().join(format!("ledger-{rows}.db"));
    if db.exists() {
        return db;
    }
    let tmp = db.with_extension("building");
    let _ = std::fs::remove_file(&tmp);
    let conn = aifin::store::open_rw(&tmp).unwrap();
    let writer = Writer::spawn(conn, 4, None);
    let src = writer.source("bench://synthetic").unwrap();
    let mut rng = Rng::new(9);
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

fn time_cli(db: &Path, args: &[&str]) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let out =
            Command::new(env!("CARGO_BIN_EXE_aifin")).arg("--db").arg(db).args(args).env("TZ", "UTC").output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

fn ledger_bench(rows: u64) {
    let db = ledger_db(rows);
    for args in [
        vec!["ledger", "--by", "workflow"],
        vec!["ledger", "--by", "workflow", "--since", "30d"],
        vec!["ledger", "--by", "customer", "--since", "today", "--tz", "UTC"],
        vec!["ledger", "--by", "model", "--json"],
        vec!["ledger", "--by", "day", "--tz", "UTC"],
    ] {
        let s = time_cli(&db, &args);
        println!("`aifin {}` over {rows} calls: {:.0} ms (best of 5, whole process)", args.join(" "), s * 1000.0);
    }
}

fn main() {
    let only = arg("--only");
    let lines: u64 = arg("--lines").and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let rows: u64 = arg("--ledger-rows").and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    if only.as_deref().is_none_or(|o| o == "ingest") {
        ingest_bench(lines);
    }
    if only.as_deref().is_none_or(|o| o == "ledger") {
        ledger_bench(rows);
    }
    if only.as_deref() == Some("build") {
        ledger_db(rows);
    }
}
