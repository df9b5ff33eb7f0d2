//! First import of a Claude Code tree, then `aifin ledger`, timed as a
//! user runs them (whole processes, release build), against ccusage on the
//! same tree when it is available.
//!
//! ```text
//! cargo bench --bench claude_code                     # 540,000 lines (~360 MB)
//! cargo bench --bench claude_code -- --lines 100000
//! cargo bench --bench claude_code -- --ccusage /path/to/ccusage
//! ```
//! ccusage is looked up in `--ccusage`, `$CCUSAGE_BIN`, then
//! `/tmp/ccusage/node_modules/@ccusage/ccusage-linux-x64/bin/ccusage`
//! (`npm install ccusage@20.0.24 @ccusage/ccusage-linux-x64@20.0.24`).
//! Peak memory comes from GNU time (`/usr/bin/time -v`) when installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

struct Run {
    secs: f64,
    peak_mib: Option<f64>,
    stdout: String,
}

/// Runs a command under GNU time when available; returns wall time, peak RSS and stdout.
fn run(cmd: &[&str], envs: &[(&str, &str)]) -> Run {
    let gnu_time = Path::new("/usr/bin/time").exists();
    let mut c = if gnu_time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-v").args(cmd);
        c
    } else {
        let mut c = Command::new(cmd[0]);
        c.args(&cmd[1..]);
        c
    };
    for (k, v) in envs {
        c.env(k, v);
    }
    let t = Instant::now();
    let out = c.output().expect("run command");
    let secs = t.elapsed().as_secs_f64();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let peak_mib = stderr
        .lines()
        .find(|l| l.contains("Maximum resident set size"))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0);
    Run { secs, peak_mib, stdout: String::from_utf8_lossy(&out.stdout).to_string() }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn max_mib(runs: &[&Run]) -> String {
    let m = runs.iter().filter_map(|r| r.peak_mib).fold(f64::NAN, f64::max);
    if m.is_nan() { "n/a".into() } else { format!("{m:.0} MiB") }
}

/// Generates (once) the tree of `lines` lines in the given shape.
fn tree(aifin: &str, lines: u64, dense: bool) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("aifin-bench");
    let name = if dense { format!("claude-tree-dense-{lines}") } else { format!("claude-tree-{lines}") };
    let tree = dir.join(&name);
    if !tree.join("projects").exists() {
        let tmp = dir.join(format!("{name}.tmp"));
        let _ = std::fs::remove_dir_all(&tmp);
        let t = Instant::now();
        let mut args = vec!["sim", "claude-tree", "--lines"];
        let n = lines.to_string();
        args.push(&n);
        if dense {
            args.push("--dense");
        }
        let st = Command::new(aifin).args(&args).arg("--out").arg(&tmp).status().unwrap();
        assert!(st.success());
        std::fs::rename(&tmp, &tree).unwrap();
        eprintln!("generated {name} in {:.1} s", t.elapsed().as_secs_f64());
    }
    tree
}

fn main() {
    let lines: u64 = arg("--lines").and_then(|v| v.parse().ok()).unwrap_or(540_000);
    let rounds: usize = arg("--runs").and_then(|v| v.parse().ok()).unwrap_or(5);
    let aifin = env!("CARGO_BIN_EXE_aifin");
    let ccusage = arg("--ccusage").or_else(|| std::env::var("CCUSAGE_BIN").ok()).or_else(|| {
        let p = "/tmp/ccusage/node_modules/@ccusage/ccusage-linux-x64/bin/ccusage";
        Path::new(p).exists().then(|| p.to_string())
    });
    let shapes: Vec<bool> = match arg("--shape").as_deref() {
        Some("sessions") => vec![false],
        Some("dense") => vec![true],
        _ => vec![false, true],
    };
    for dense in shapes {
        let tree = tree(aifin, lines, dense);
        let (mut bytes, mut count) = (0u64, 0u64);
        for e in walkdir::WalkDir::new(&tree).into_iter().flatten().filter(|e| e.file_type().is_file()) {
            bytes += e.metadata().unwrap().len();
            count += 1;
        }
        let mb = bytes as f64 / 1e6;
        let shape = if dense { "dense (400 files of streamed responses)" } else { "sessions (user turns, sub-agents)" };
        println!("tree {shape}: {count} files, {mb:.1} MB, about {lines} lines");
        let tree_s = tree.to_str().unwrap();
        // Alternating runs: aifin (a fresh ledger, import + report), then
        // ccusage, `rounds` times; medians.
        let (mut ours, mut theirs, mut agains) = (Vec::new(), Vec::new(), Vec::new());
        let mut cpu = Vec::new();
        let (mut our_total, mut cc_total, mut summary) = (f64::NAN, f64::NAN, serde_json::Value::Null);
        for _ in 0..rounds {
            let db_dir = tempfile::tempdir().unwrap();
            let db = db_dir.path().join("bench.db");
            let db = db.to_str().unwrap();
            let t0 = rusage_children();
            let ingest = run(&[aifin, "--db", db, "ingest", "--json", tree_s], &[]);
            let ledger = run(&[aifin, "--db", db, "ledger", "--by", "day", "--json", "--tz", "UTC"], &[]);
            cpu.push(rusage_children() - t0);
            summary = serde_json::from_str(&ingest.stdout).unwrap();
            let l: serde_json::Value = serde_json::from_str(&ledger.stdout).unwrap();
            our_total = l["total"]["cost_usd"].as_f64().unwrap();
            let again = run(&[aifin, "--db", db, "ingest", "--json", tree_s], &[]);
            agains.push(again.secs);
            ours.push((ingest.secs + ledger.secs, ingest, ledger));
            if let Some(cc) = &ccusage {
                let r = run(&[cc, "claude", "daily", "--json", "--offline"], &[("CLAUDE_CONFIG_DIR", tree_s)]);
                let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_default();
                cc_total = v["totals"]["totalCost"].as_f64().unwrap_or(f64::NAN);
                theirs.push(r);
            }
        }
        let ours_s = median(ours.iter().map(|o| o.0).collect());
        let ingest_s = median(ours.iter().map(|o| o.1.secs).collect());
        let peaks: Vec<&Run> = ours.iter().flat_map(|o| [&o.1, &o.2]).collect();
        println!(
            "aifin import + ledger --by day: median {ours_s:.2} s ({:.0} MB/s; import {ingest_s:.2} s, {:.0} lines/s), CPU {:.2} s, peak {} ({} calls stored, {} duplicate copies, {} skipped, {} rejected)",
            mb / ours_s,
            summary["lines"].as_f64().unwrap_or(0.0) / ingest_s,
            median(cpu),
            max_mib(&peaks),
            summary["stored"],
            summary["duplicates"],
            summary["skipped"],
            summary["rejected"]
        );
        println!("aifin again, no new data: median {:.3} s", median(agains.clone()));
        println!("aifin total cost: ${our_total:.6}");
        if theirs.is_empty() {
            println!("ccusage not found (see the header of benches/claude_code.rs); skipped the comparison");
            continue;
        }
        let cc_s = median(theirs.iter().map(|r| r.secs).collect());
        let cc_refs: Vec<&Run> = theirs.iter().collect();
        println!(
            "ccusage claude daily: median {cc_s:.2} s ({:.0} MB/s), peak {}, total cost ${cc_total:.6}",
            mb / cc_s,
            max_mib(&cc_refs)
        );
        println!(
            "aifin / ccusage wall time: {:.2} (re-run {:.3}); cost difference ${:.6}",
            ours_s / cc_s,
            median(agains) / cc_s,
            (our_total - cc_total).abs()
        );
    }
}

/// CPU seconds (user + system) used by finished child processes so far.
fn rusage_children() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // cutime and cstime (fields 16 and 17 of stat, 14 and 15 after the name).
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(13) + t(14)) / 100.0
}
