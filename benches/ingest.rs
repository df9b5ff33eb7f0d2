//! End-to-end benchmarks that print throughput (no criterion: each run
//! takes seconds to minutes).
//!
//! ```text
//! cargo bench --bench ingest                      # all, default sizes
//! cargo bench --bench ingest -- --lines 1000000   # ingest size
//! cargo bench --bench ingest -- --only ingest --runs 5   # median of 5
//! cargo bench --bench ingest -- --ledger-rows 10000000 --only ledger
//! ```
//!
//! * **ingest**: N native JSONL lines (generated, not timed) read, parsed,
//!   priced, attributed and committed to a fresh database with dedupe and
//!   rollups; then the same file again (nothing new: offsets only).
//! * **ledger**: a database of M calls (built once through the writer and
//!   kept under `target/aifin-bench/`), then `aifin ledger` run as a
//!   process, the way a user runs it.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use aifin::bench::Attributor;
use aifin::bench::now_ms;
use aifin::bench::{Rng, bulk};

mod common;
use common::{arg, bench_dir, catalog, ingest_file, ledger_db, peak_rss_mib};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn ingest_bench(lines: u64, runs: usize) {
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
    let mut rates = Vec::new();
    for i in 0..runs {
        // Each first import into a fresh database, after the disk has
        // written what others left dirty (a build just before leaves
        // hundreds of MB, and the import would wait behind them).
        let _ = Command::new("sync").status();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("bench.db");
        let run = |label: &str| {
            let (cpu0, t) = (cpu_seconds(), Instant::now());
            let r = ingest_file(&log, &db, true);
            let (s, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
            // CPU time and the disk's pressure tell a slow phase of the
            // machine from a slower build.
            println!(
                "ingest {label}: {} lines, {:.1} MB in {:.2} s = {:.0} lines/s, {:.1} MB/s, CPU {:.2} s, I/O pressure {} (stored {}, duplicates {})",
                r.lines,
                bytes as f64 / 1e6,
                s,
                r.lines as f64 / s,
                bytes as f64 / 1e6 / s,
                cpu,
                io_pressure().unwrap_or_else(|| "n/a".into()),
                r.totals.stored,
                r.totals.duplicates
            );
            r.lines as f64 / s
        };
        rates.push(run(&format!("first import ({}/{runs})", i + 1)));
        run("again, no new data");
    }
    rates.sort_by(f64::total_cmp);
    if runs > 1 {
        println!(
            "ingest first imports: median {:.0}, min {:.0}, max {:.0} lines/s over {runs} runs",
            rates[runs / 2],
            rates[0],
            rates[runs - 1]
        );
    }
    println!("ingest peak RSS: {:.0} MiB", peak_rss_mib());
}

/// User plus system CPU seconds of this process so far (all threads).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest.split_whitespace().map(|v| v.parse().unwrap_or(0.0)).collect();
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks
    // (100 a second on Linux).
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// The share of the last 10 s some task waited on I/O (`/proc/pressure/io`).
fn io_pressure() -> Option<String> {
    let p = std::fs::read_to_string("/proc/pressure/io").ok()?;
    let some = p.lines().find(|l| l.starts_with("some"))?;
    some.split_whitespace().find_map(|f| f.strip_prefix("avg10=")).map(|v| format!("{v}%"))
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

/// Appends `n` lines one write at a time to a followed file and measures
/// the time from each write to the commit that contains it.
fn follow_bench(n: usize) {
    use aifin::bench::{FollowOptions, follow};
    use aifin::bench::{SourceOptions, SourceSpec};
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("live.jsonl");
    std::fs::write(&log, "").unwrap();
    let db = dir.path().join("follow.db");
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let spec = SourceSpec::new(log.clone(), SourceOptions::default()).unwrap();
    let (db2, stop2) = (db.clone(), Arc::clone(&stop));
    let follower = std::thread::spawn(move || {
        follow(
            &[spec],
            FollowOptions {
                db: &db2,
                catalog: catalog(),
                attributor: Arc::new(Attributor::default()),
                stop: stop2,
                rescan: std::time::Duration::from_secs(2),
                events: Some(tx),
                progress: None,
                on_round: None,
                tokenizer: None,
            },
        )
        .unwrap()
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut rng = Rng::new(5);
    let mut sent: Vec<Instant> = Vec::with_capacity(n);
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        let mut times = Vec::with_capacity(n);
        for k in 0..n {
            let line = serde_json::to_string(&aifin::bench::random_line(&mut rng, now_ms() + k as i64)).unwrap() + "\n";
            times.push(Instant::now());
            f.write_all(line.as_bytes()).unwrap();
            // About 500 lines/s with jitter, in bursts now and then.
            if k % 100 != 0 {
                std::thread::sleep(std::time::Duration::from_micros(1000 + rng.below(2000)));
            }
        }
        times
    });
    let mut committed = 0usize;
    let mut lat_ms: Vec<f64> = Vec::with_capacity(n);
    let mut commits = Vec::new();
    while committed < n {
        let ev = rx.recv_timeout(std::time::Duration::from_secs(10)).expect("commit events");
        let at = Instant::now();
        committed += ev.stored as usize;
        commits.push((committed, at));
    }
    sent.extend(writer.join().unwrap());
    let mut done = 0usize;
    for (upto, at) in commits {
        for t in &sent[done..upto.min(n)] {
            lat_ms.push(at.duration_since(*t).as_secs_f64() * 1000.0);
        }
        done = upto.min(n);
    }
    stop.store(true, Ordering::Relaxed);
    follower.join().unwrap();
    lat_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| lat_ms[((lat_ms.len() as f64 * p) as usize).min(lat_ms.len() - 1)];
    println!(
        "follow: {n} appended lines, append-to-commit latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.50),
        pct(0.99),
        lat_ms[lat_ms.len() - 1]
    );
}

fn main() {
    let only = arg("--only");
    let lines: u64 = arg("--lines").and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let rows: u64 = arg("--ledger-rows").and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let runs: usize = arg("--runs").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    if only.as_deref().is_none_or(|o| o == "ingest") {
        ingest_bench(lines, runs);
    }
    if only.as_deref().is_none_or(|o| o == "ledger") {
        ledger_bench(rows);
    }
    if only.as_deref() == Some("build") {
        ledger_db(rows);
    }
    if only.as_deref().is_none_or(|o| o == "follow") {
        follow_bench(1000);
    }
}
