//! The eval gate over a large eval file: reading and judging 1 million
//! rows (two configurations of 500,000 cases), as `aifin gate` does.
//!
//! ```text
//! cargo bench --bench gate                 # 1,000,000 rows
//! cargo bench --bench gate -- --rows 200000
//! ```

use std::io::Write;
use std::time::Instant;

use aifin::bench::{GateOptions, Pricer, evaluate, read_evals};

mod common;
use common::{arg, bench_dir, catalog, peak_rss_mib};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let rows: u64 = arg("--rows").and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let path = bench_dir().join(format!("evals-{rows}.jsonl"));
    if !path.exists() {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut rng = aifin::bench::Rng::new(5);
        for config in ["baseline", "candidate"] {
            for case in 0..rows / 2 {
                let passed = rng.below(100) < if config == "baseline" { 95 } else { 94 };
                let cost = 0.01 + rng.below(30_000) as f64 / 1e6;
                writeln!(
                    f,
                    r#"{{"config":"{config}","case":"c{case}","passed":{passed},"score":0.{},"cost_usd":{cost:.6},"latency_ms":{}}}"#,
                    rng.below(100),
                    200 + rng.below(3000)
                )
                .unwrap();
            }
        }
    }
    let bytes = std::fs::metadata(&path).unwrap().len();
    let mut pricer = Pricer::new(catalog());
    let mut best = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        let t = Instant::now();
        let evals = read_evals(&path, None, &mut pricer).unwrap();
        let read = t.elapsed().as_secs_f64();
        let r = evaluate(&evals, &GateOptions::default()).unwrap();
        let total = t.elapsed().as_secs_f64();
        assert_eq!(r.configs.len(), 2);
        best = (best.0.min(read), best.1.min(total));
    }
    println!(
        "gate: {rows} eval rows ({:.0} MB): read {:.2} s, read + judge {:.2} s ({:.0} rows/s), peak RSS {:.0} MiB",
        bytes as f64 / 1e6,
        best.0,
        best.1,
        rows as f64 / best.1,
        peak_rss_mib()
    );
}
