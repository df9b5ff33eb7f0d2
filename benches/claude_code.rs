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

fn mib(r: &Run) -> String {
    r.peak_mib.map(|m| format!("{m:.0} MiB")).unwrap_or_else(|| "n/a".into())
}

fn main() {
    let lines: u64 = arg("--lines").and_then(|v| v.parse().ok()).unwrap_or(540_000);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("aifin-bench");
    let tree = dir.join(format!("claude-tree-{lines}"));
    let aifin = env!("CARGO_BIN_EXE_aifin");
    if !tree.join("projects").exists() {
        let tmp = dir.join(format!("claude-tree-{lines}.tmp"));
        let _ = std::fs::remove_dir_all(&tmp);
        let t = Instant::now();
        let st = Command::new(aifin)
            .args(["sim", "claude-tree", "--lines", &lines.to_string(), "--out"])
            .arg(&tmp)
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::rename(&tmp, &tree).unwrap();
        eprintln!("generated the tree in {:.1} s", t.elapsed().as_secs_f64());
    }
    let (mut bytes, mut count) = (0u64, 0u64);
    for e in walkdir::WalkDir::new(&tree).into_iter().flatten().filter(|e| e.file_type().is_file()) {
        bytes += e.metadata().unwrap().len();
        count += 1;
    }
    let mb = bytes as f64 / 1e6;
    println!("tree: {count} files, {mb:.1} MB, about {lines} lines");

    let db_dir = tempfile::tempdir().unwrap();
    let db = db_dir.path().join("bench.db");
    let db = db.to_str().unwrap();
    let tree_s = tree.to_str().unwrap();
    let ingest = run(&[aifin, "--db", db, "ingest", "--json", tree_s], &[]);
    let summary: serde_json::Value = serde_json::from_str(&ingest.stdout).unwrap();
    let ledger = run(&[aifin, "--db", db, "ledger", "--by", "day", "--json", "--tz", "UTC"], &[]);
    let l: serde_json::Value = serde_json::from_str(&ledger.stdout).unwrap();
    let total = ingest.secs + ledger.secs;
    println!(
        "aifin first import: {:.2} s = {:.0} MB/s, {:.0} lines/s, peak {} ({} calls stored, {} duplicate copies, {} rejected)",
        ingest.secs,
        mb / ingest.secs,
        summary["lines"].as_f64().unwrap() / ingest.secs,
        mib(&ingest),
        summary["stored"],
        summary["duplicates"],
        summary["rejected"]
    );
    println!("aifin ledger --by day: {:.3} s, peak {}", ledger.secs, mib(&ledger));
    println!("aifin import + ledger: {total:.2} s = {:.0} MB/s end to end", mb / total);
    let again = run(&[aifin, "--db", db, "ingest", "--json", tree_s], &[]);
    println!("aifin again, no new data: {:.3} s", again.secs);
    let our_total = l["total"]["cost_usd"].as_f64().unwrap();
    println!("aifin total cost: ${our_total:.6}");

    let ccusage = arg("--ccusage").or_else(|| std::env::var("CCUSAGE_BIN").ok()).or_else(|| {
        let p = "/tmp/ccusage/node_modules/@ccusage/ccusage-linux-x64/bin/ccusage";
        Path::new(p).exists().then(|| p.to_string())
    });
    match ccusage {
        Some(cc) => {
            let r = run(&[&cc, "claude", "daily", "--json", "--offline"], &[("CLAUDE_CONFIG_DIR", tree_s)]);
            let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_default();
            let cc_total = v["totals"]["totalCost"].as_f64().unwrap_or(f64::NAN);
            println!(
                "ccusage claude daily: {:.2} s = {:.0} MB/s, peak {}, total cost ${cc_total:.6}",
                r.secs,
                mb / r.secs,
                mib(&r)
            );
            println!(
                "aifin / ccusage time: {:.2}x faster; cost difference ${:.6}",
                r.secs / total,
                (our_total - cc_total).abs()
            );
        }
        None => println!("ccusage not found (see the header of benches/claude_code.rs); skipped the comparison"),
    }
}
