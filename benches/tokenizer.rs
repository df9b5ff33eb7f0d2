//! Tokenizer benchmarks that print throughput.
//!
//! ```text
//! cargo bench --bench tokenizer                    # both parts
//! cargo bench --bench tokenizer -- --mb 10 --only encoders
//! cargo bench --bench tokenizer -- --lines 20000 --only worker
//! ```
//!
//! * **encoders**: `tiktoken-rs` and `bpe-openai` counting the same
//!   prompts (prose, JSON tool schemas, code, non-Latin text), with the
//!   counts compared prompt by prompt.
//! * **worker**: a log of calls that carry prompt text (half without
//!   usage) ingested with and without the tokenizer worker.

use std::time::Instant;

use aifin::bench::now_ms;
use aifin::bench::{Rng, text_line};

mod common;
use common::ingest_file;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

const TOOLS: &str = r#"[{"type":"function","function":{"name":"search_kb","description":"Search the knowledge base","parameters":{"type":"object","properties":{"query":{"type":"string"},"top_k":{"type":"integer","minimum":1,"maximum":20}},"required":["query"]}}}]"#;
const CODE: &str =
    "fn main() {\n    let xs: Vec<u64> = (0..10).map(|i| i * i).collect();\n    println!(\"{xs:?}\");\n}\n";
const OTHER: &str = "Übersicht der Kosten: 費用の内訳は次のとおりです。Стоимость вызова — 0,42 $. 🚀 ✓ naïve café";

/// Prompts of about `mb` megabytes in all.
pub fn corpus(mb: usize) -> Vec<String> {
    let mut rng = Rng::new(7);
    let mut out = Vec::new();
    let mut bytes = 0;
    let mut i = 0u64;
    while bytes < mb * 1_000_000 {
        let line = text_line(&mut rng, now_ms(), true);
        let p = line.prompt.unwrap();
        let text = match i % 4 {
            0 => format!("{}\n{}\n{}", p.system, p.context, p.user),
            1 => format!("{TOOLS}\n{}", p.user),
            2 => format!("{}\n```rust\n{}```\n{}", p.user, CODE.repeat(1 + (i % 7) as usize), p.context),
            _ => format!("{OTHER} {} {OTHER}", p.context),
        };
        bytes += text.len();
        out.push(text);
        i += 1;
    }
    out
}

fn encoders(mb: usize) {
    let prompts = corpus(mb);
    let bytes: usize = prompts.iter().map(String::len).sum();
    let t = Instant::now();
    let tk = tiktoken_rs::o200k_base_singleton();
    println!("encoders: tiktoken-rs o200k built in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let fast = bpe_openai::o200k_base();
    println!("encoders: bpe-openai o200k built in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);

    // Three alternating rounds; the best time of each counts.
    let (mut s_tk, mut s_fast, mut s_ours) = (f64::MAX, f64::MAX, f64::MAX);
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        let t = Instant::now();
        a = prompts.iter().map(|p| tk.count_ordinary(p)).collect::<Vec<usize>>();
        s_tk = s_tk.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        b = prompts.iter().map(|p| fast.count(p.as_str())).collect::<Vec<usize>>();
        s_fast = s_fast.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        c = prompts.iter().map(|p| aifin::bench::count(aifin::bench::Encoding::O200k, p)).collect::<Vec<u64>>();
        s_ours = s_ours.min(t.elapsed().as_secs_f64());
    }
    let tokens: usize = a.iter().sum();
    let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    let ours_differ = a.iter().zip(&c).filter(|(x, y)| **x as u64 != **y).count();
    let line = |name: &str, s: f64| {
        println!(
            "encoders: {name:<22} {} prompts, {:.1} MB, {tokens} tokens in {:.2} s = {:.2}M tokens/s, {:.1} MB/s",
            prompts.len(),
            bytes as f64 / 1e6,
            s,
            tokens as f64 / s / 1e6,
            bytes as f64 / 1e6 / s
        )
    };
    line("tiktoken-rs o200k", s_tk);
    line("bpe-openai o200k", s_fast);
    line("aifin::bench::count", s_ours);
    println!("encoders: counts differing from tiktoken-rs: bpe-openai {differ}, aifin {ours_differ}");
}

fn worker(lines: u64) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sdk.jsonl");
    let mut rng = Rng::new(11);
    let mut text = String::new();
    for i in 0..lines {
        let l = text_line(&mut rng, now_ms() - 1000 * (lines - i) as i64, i % 2 == 0);
        text.push_str(&serde_json::to_string(&l).unwrap());
        text.push('\n');
    }
    std::fs::write(&log, &text).unwrap();
    for tokenize in [false, true] {
        let db = dir.path().join(format!("w-{tokenize}.db"));
        let t = Instant::now();
        let r = ingest_file(&log, &db, tokenize);
        let s = t.elapsed().as_secs_f64();
        println!(
            "worker: tokenize={tokenize:<5} {} lines, {:.1} MB in {:.2} s = {:.0} lines/s, {:.1} MB/s; {} calls tokenized",
            r.lines,
            text.len() as f64 / 1e6,
            s,
            r.lines as f64 / s,
            text.len() as f64 / 1e6 / s,
            r.tokenized
        );
    }
}

fn main() {
    let only = arg("--only");
    let mb: usize = arg("--mb").and_then(|v| v.parse().ok()).unwrap_or(10);
    let lines: u64 = arg("--lines").and_then(|v| v.parse().ok()).unwrap_or(20_000);
    if only.as_deref().is_none_or(|o| o == "encoders") {
        encoders(mb);
    }
    if only.as_deref().is_none_or(|o| o == "worker") {
        worker(lines);
    }
}
