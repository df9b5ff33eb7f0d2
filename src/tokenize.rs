//! The tokenizer worker: counts prompt components off the ingest and UI
//! threads.
//!
//! Readers hand it the prompt text of calls whose logs carry messages
//! (after the call's batch went to the writer); it counts each component
//! and sends the counts to the writer, which stores them (never the text)
//! and adds them to the rollups. A call whose log had text but no usage
//! gets the counts as its usage, priced, and marked estimated (or counted).
//!
//! Encodings: `o200k_base` for gpt-4o / 4.1 / 4.5 / 5 and the o-series,
//! `cl100k_base` for gpt-4 / 3.5: exact counts. There is no public
//! tokenizer for Claude or Gemini: their counts use `o200k_base` and are
//! labelled estimates. Encoders are built once per process (singletons);
//! building one costs a few hundred milliseconds.
//!
//! Counting uses `tiktoken-rs`, which also picks the encoding for a
//! model. `bpe-openai` counts about 1.6 times as fast with identical
//! results (the tokenizer benchmark), but it embeds 47 MB of prebuilt
//! tables for the two encodings beside tiktoken's own 5 MB vocabularies;
//! it is kept as the second implementation the tests and the benchmark
//! compare against, not shipped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use tiktoken_rs::tokenizer::{Tokenizer as TkTokenizer, get_tokenizer};

use crate::domain::record::{CallRecord, Parts, PromptText, TokenSource, Tokens};
use crate::pricing::{Catalog, Pricer};
use crate::store::writer::{Fill, PartsUpdate, WriterSender};

/// Jobs waiting before submitters block (back-pressure).
const QUEUE: usize = 2048;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    O200k,
    Cl100k,
}

/// The encoding for a model and whether its counts are exact.
pub fn encoding_for(model: &str) -> (Encoding, TokenSource) {
    let m = model.rsplit('/').next().unwrap_or(model).to_ascii_lowercase();
    let m = m.strip_prefix("ft:").unwrap_or(&m);
    match get_tokenizer(m) {
        Some(TkTokenizer::O200kBase) | Some(TkTokenizer::O200kHarmony) => (Encoding::O200k, TokenSource::Counted),
        Some(TkTokenizer::Cl100kBase) => (Encoding::Cl100k, TokenSource::Counted),
        Some(_) => (Encoding::Cl100k, TokenSource::Estimated),
        None => (Encoding::O200k, TokenSource::Estimated),
    }
}

/// Counts the tokens of `text` (no special tokens).
pub fn count(enc: Encoding, text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    let bpe = match enc {
        Encoding::O200k => tiktoken_rs::o200k_base_singleton(),
        Encoding::Cl100k => tiktoken_rs::cl100k_base_singleton(),
    };
    bpe.count_ordinary(text) as u64
}

/// Counts every component of a prompt for a model.
pub fn count_parts(model: &str, text: &PromptText) -> (Parts, TokenSource) {
    let (enc, source) = encoding_for(model);
    (std::array::from_fn(|i| count(enc, &text.parts[i])), source)
}

/// One call to count.
pub struct Job {
    pub dedupe_ts: i64,
    pub dedupe_key: i64,
    pub model: String,
    pub text: Box<PromptText>,
    /// The call, when its log had no usage: the counts become its usage.
    pub fill: Option<Box<CallRecord>>,
    /// The components as the log already counted them: only the
    /// fingerprints are made (the text is not counted again).
    pub given: Option<(Parts, TokenSource)>,
}

/// Progress, readable while the worker runs (status bar).
#[derive(Debug, Default)]
pub struct TokenizerStats {
    pub queued: AtomicU64,
    pub done: AtomicU64,
    /// Jobs whose components were counted (not given by the log).
    pub counted: AtomicU64,
    pub tokens: AtomicU64,
    /// Calls whose usage came from the count (their logs had none).
    pub usage_filled: AtomicU64,
}

pub struct TokenizerWorker {
    tx: SyncSender<Job>,
    join: JoinHandle<()>,
    stats: Arc<TokenizerStats>,
}

impl TokenizerWorker {
    /// Starts the worker; results go to the writer through `writer`.
    pub fn spawn(writer: WriterSender, catalog: Arc<Catalog>) -> TokenizerWorker {
        TokenizerWorker::spawn_with_stats(writer, catalog, Arc::new(TokenizerStats::default()))
    }

    /// Starts the worker, reporting progress into `stats`.
    pub fn spawn_with_stats(
        writer: WriterSender,
        catalog: Arc<Catalog>,
        stats: Arc<TokenizerStats>,
    ) -> TokenizerWorker {
        let (tx, rx) = sync_channel::<Job>(QUEUE);
        let s = Arc::clone(&stats);
        let key = writer.fingerprint_key();
        let join = std::thread::Builder::new()
            .name("aifin-tokenizer".into())
            .spawn(move || {
                let mut pricer = Pricer::new(catalog);
                for job in rx {
                    let counted = job.given.is_none() || job.fill.is_some();
                    let (parts, source) = match job.given {
                        Some(given) if job.fill.is_none() => given,
                        _ => count_parts(&job.model, &job.text),
                    };
                    if job.fill.is_some() {
                        s.usage_filled.fetch_add(1, Ordering::Relaxed);
                    }
                    let fill = job.fill.map(|mut rec| {
                        rec.tokens =
                            Tokens { uncached_input: parts[..5].iter().sum(), output: parts[5], ..Tokens::default() };
                        pricer.price(&mut rec);
                        Fill { tokens: rec.tokens, cost: rec.cost, price_key: rec.price_key }
                    });
                    // Keyed fingerprints (never the text) for the lever lab.
                    let hashes = key.as_ref().and_then(|k| k.prompt(&job.text));
                    let update = PartsUpdate {
                        dedupe_ts: job.dedupe_ts,
                        dedupe_key: job.dedupe_key,
                        parts,
                        source,
                        fill,
                        hashes,
                    };
                    if counted {
                        s.counted.fetch_add(1, Ordering::Relaxed);
                        s.tokens.fetch_add(parts.iter().sum::<u64>(), Ordering::Relaxed);
                    }
                    s.done.fetch_add(1, Ordering::Relaxed);
                    s.queued.fetch_sub(1, Ordering::Relaxed);
                    if writer.parts(update).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn tokenizer");
        TokenizerWorker { tx, join, stats }
    }

    pub fn stats(&self) -> &Arc<TokenizerStats> {
        &self.stats
    }

    /// Queues a job; blocks while the queue is full.
    pub fn submit(&self, job: Job) {
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(job).is_err() {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Counts what is queued, then stops.
    pub fn finish(self) {
        drop(self.tx);
        let _ = self.join.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_by_model() {
        assert_eq!(encoding_for("gpt-4o-2024-08-06"), (Encoding::O200k, TokenSource::Counted));
        assert_eq!(encoding_for("openai/gpt-5"), (Encoding::O200k, TokenSource::Counted));
        assert_eq!(encoding_for("o3-mini"), (Encoding::O200k, TokenSource::Counted));
        assert_eq!(encoding_for("gpt-4-0613"), (Encoding::Cl100k, TokenSource::Counted));
        assert_eq!(encoding_for("gpt-3.5-turbo"), (Encoding::Cl100k, TokenSource::Counted));
        assert_eq!(encoding_for("claude-sonnet-4-5"), (Encoding::O200k, TokenSource::Estimated));
        assert_eq!(encoding_for("gemini-2.5-pro"), (Encoding::O200k, TokenSource::Estimated));
    }

    #[test]
    fn counts_known_strings() {
        // Reference counts from OpenAI's tiktoken for these encodings.
        assert_eq!(count(Encoding::Cl100k, "hello world"), 2);
        assert_eq!(count(Encoding::O200k, "hello world"), 2);
        assert_eq!(count(Encoding::O200k, ""), 0);
        let p = PromptText {
            parts: [
                "You are terse.".into(),
                String::new(),
                String::new(),
                String::new(),
                "hello world".into(),
                "Hi!".into(),
            ],
        };
        let (parts, src) = count_parts("gpt-4o", &p);
        assert_eq!(src, TokenSource::Counted);
        assert_eq!(parts[4], 2);
        assert!(parts[0] > 0 && parts[5] > 0 && parts[1] == 0);
    }

    /// A second implementation (`bpe-openai`) agrees token for token on
    /// prose, code, JSON, whitespace runs, emoji, mixed scripts and
    /// special-token look-alikes.
    #[test]
    fn counts_match_a_second_implementation_on_varied_text() {
        let mut rng = crate::sim::Rng::new(3);
        let mut texts: Vec<String> = vec![
            "   leading and trailing spaces   ".into(),
            "\n\n\n\t\tindented\r\n".into(),
            "<|endoftext|> is text here, not a special token <|im_start|>".into(),
            "数据 データ 데이터 данные بيانات 🚀🚀🚀 👩‍💻 naïve café".into(),
            r#"{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}"#.into(),
            "fn main() {\n    println!(\"{}\", 1 + 2);\n}\n".into(),
            "1234567890 3.14159 -42 0x1F 1e-9 $41,800.00".into(),
            "a".repeat(5000),
            " ".repeat(300),
        ];
        for i in 0..200 {
            let line = crate::sim::text_line(&mut rng, 0, true);
            let p = line.prompt.unwrap();
            texts.push(match i % 3 {
                0 => p.context,
                1 => format!("{}\n\n{}", p.system, p.user),
                _ => line.output_text.unwrap(),
            });
        }
        // An independent implementation of the same encodings.
        let (o200k, cl100k) = (bpe_openai::o200k_base(), bpe_openai::cl100k_base());
        for t in &texts {
            assert_eq!(count(Encoding::O200k, t), o200k.count(t) as u64, "o200k: {t:?}");
            assert_eq!(count(Encoding::Cl100k, t), cl100k.count(t) as u64, "cl100k: {t:?}");
        }
    }
}
