//! Parse throughput per format (criterion): bytes of one line to records.
//!
//! `cargo bench --bench parse`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use aifin::bench::Detector;
use aifin::bench::{Rng, bulk};

fn corpus_native(n: u64) -> Vec<Vec<u8>> {
    let mut buf = Vec::new();
    bulk(&mut buf, n, 30, 1_790_000_000_000, 7).unwrap();
    buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

fn corpus_openai(n: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(3);
    (0..n)
        .map(|k| {
            format!(
                r#"{{"ts":"2026-10-01T08:00:00.123Z","workflow":"support","metadata":{{"customer":"acme","env":"prod"}},"latency_ms":812,"request":{{"model":"gpt-4o","user":"u_{k}"}},"response":{{"id":"chatcmpl-{}","object":"chat.completion","created":1790000000,"model":"gpt-4o-2024-08-06","choices":[{{"index":0,"message":{{"role":"assistant","content":"Sure, here is the summary you asked for."}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":{},"completion_tokens":{},"total_tokens":0,"prompt_tokens_details":{{"cached_tokens":1024}}}}}}}}"#,
                rng.hex(24),
                2000 + rng.below(3000),
                rng.below(800)
            )
            .into_bytes()
        })
        .collect()
}

fn corpus_anthropic(n: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(4);
    (0..n)
        .map(|_| {
            format!(
                r#"{{"id":"msg_{}","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","timestamp":"2026-10-01T08:00:00Z","content":[{{"type":"text","text":"Quantum computing uses qubits."}}],"stop_reason":"end_turn","usage":{{"input_tokens":{},"cache_creation_input_tokens":2089,"cache_read_input_tokens":16399,"cache_creation":{{"ephemeral_5m_input_tokens":2089,"ephemeral_1h_input_tokens":0}},"output_tokens":{},"service_tier":"standard"}}}}"#,
                rng.hex(24),
                rng.below(3000),
                rng.below(900)
            )
            .into_bytes()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    for (name, corpus) in [
        ("aifin", corpus_native(20_000)),
        ("openai-wrapped", corpus_openai(20_000)),
        ("anthropic", corpus_anthropic(20_000)),
    ] {
        let bytes: usize = corpus.iter().map(Vec::len).sum();
        g.throughput(Throughput::Elements(corpus.len() as u64));
        g.bench_function(format!("{name} lines ({} B avg)", bytes / corpus.len()), |b| {
            let mut out = Vec::with_capacity(4);
            b.iter(|| {
                let mut d = Detector::new(None);
                for line in &corpus {
                    out.clear();
                    black_box(d.parse_line(black_box(line), &mut out).unwrap());
                }
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
