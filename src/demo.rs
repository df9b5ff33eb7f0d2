//! The built-in demo: a temporary ledger seeded from the sample data (the
//! white paper's month, re-timed to end now, plus the OpenAI and Anthropic
//! samples) and a traffic simulator that appends realistic lines to a log
//! file that the real tailer follows. About a minute in, one workflow (the
//! sales research agent) runs away for two minutes, so the runaway
//! highlight can be seen.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::domain::time::{MS_PER_DAY, MS_PER_HOUR, days_from_civil, format_utc, now_ms, parse_ts_str};
use crate::ingest::{SourceOptions, SourceSpec};
use crate::sim::{self, PAPER_WORKFLOWS, Rng};

pub const SAMPLE_CONFIG: &str = include_str!("../sample-data/aifin.toml");
const SAMPLE_MONTH: &str = include_str!("../sample-data/gateway/2026-10.jsonl");
const SAMPLE_OPENAI_CHAT: &str = include_str!("../sample-data/openai/chat-completions.jsonl");
const SAMPLE_OPENAI_RESPONSES: &str = include_str!("../sample-data/openai/responses.jsonl");
const SAMPLE_ANTHROPIC: &str = include_str!("../sample-data/anthropic/messages.jsonl");

/// Seconds before the runaway starts, and how long it lasts.
pub const SPIKE_AFTER: Duration = Duration::from_secs(60);
pub const SPIKE_FOR: Duration = Duration::from_secs(120);
/// The workflow that runs away.
pub const SPIKE_WORKFLOW: usize = 2;
/// Lines per second of normal traffic.
pub const BASE_RATE: f64 = 1.0;
/// The workflow whose simulated SDK logs prompt text for the tokenizer.
const TEXT_WORKFLOW: usize = 3;
/// Minutes of simulated history written before the demo starts, so the
/// live panes have a trailing hour to compare with.
pub const WARMUP_MINUTES: i64 = 70;

pub struct Demo {
    dir: tempfile::TempDir,
    pub db: PathBuf,
    pub specs: Vec<SourceSpec>,
    pub config: Config,
}

impl Demo {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Shifts every timestamp field of a log line by `delta_ms`.
fn shift_line(line: &str, delta_ms: i64) -> Option<String> {
    let mut v: serde_json::Value = serde_json::from_str(line).ok()?;
    fn shift(v: &mut serde_json::Value, delta_ms: i64) {
        if let Some(obj) = v.as_object_mut() {
            for key in ["ts", "timestamp", "created", "created_at"] {
                match obj.get(key) {
                    Some(serde_json::Value::String(s)) => {
                        if let Some(ms) = parse_ts_str(s) {
                            obj.insert(key.into(), serde_json::Value::String(format_utc(ms + delta_ms)));
                        }
                    }
                    Some(serde_json::Value::Number(n)) => {
                        if let Some(secs) = n.as_i64() {
                            obj.insert(key.into(), serde_json::Value::from(secs + delta_ms / 1000));
                        }
                    }
                    _ => {}
                }
            }
            if let Some(r) = obj.get_mut("response") {
                shift(r, delta_ms);
            }
        }
    }
    shift(&mut v, delta_ms);
    serde_json::to_string(&v).ok()
}

fn write_shifted(path: &Path, text: &str, delta_ms: i64) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(s) = shift_line(line, delta_ms) {
            out.write_all(s.as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()
}

/// Creates the demo's directory, seed files and config.
pub fn prepare() -> std::io::Result<Demo> {
    let dir = tempfile::Builder::new().prefix("aifin-demo-").tempdir()?;
    let seed = dir.path().join("seed");
    let live = dir.path().join("live");
    std::fs::create_dir_all(&seed)?;
    std::fs::create_dir_all(&live)?;
    let this_hour = now_ms().div_euclid(MS_PER_HOUR) * MS_PER_HOUR;
    // The sample month (October 2026) ends at the current hour...
    let month_end = days_from_civil(2026, 11, 1) * MS_PER_DAY;
    write_shifted(&seed.join("gateway-month.jsonl"), SAMPLE_MONTH, this_hour - month_end)?;
    // ...and the provider samples (3-15 November 2026) end yesterday.
    let samples_end = days_from_civil(2026, 11, 16) * MS_PER_DAY;
    let d2 = this_hour - MS_PER_DAY - samples_end;
    write_shifted(&seed.join("openai-chat.jsonl"), SAMPLE_OPENAI_CHAT, d2)?;
    write_shifted(&seed.join("openai-responses.jsonl"), SAMPLE_OPENAI_RESPONSES, d2)?;
    write_shifted(&seed.join("anthropic-messages.jsonl"), SAMPLE_ANTHROPIC, d2)?;
    write_warmup(&seed.join("warmup.jsonl"), now_ms())?;
    std::fs::write(live.join("gateway.jsonl"), "")?;
    let config = Config::from_str(SAMPLE_CONFIG, None).map_err(std::io::Error::other)?;
    let spec = |p: PathBuf| SourceSpec::new(p, SourceOptions::default()).map_err(std::io::Error::other);
    Ok(Demo { db: dir.path().join("demo.db"), specs: vec![spec(seed)?, spec(live)?], config, dir })
}

/// Normal traffic for the [`WARMUP_MINUTES`] before `now`.
fn write_warmup(path: &Path, now: i64) -> std::io::Result<()> {
    let mut rng = Rng::new(now as u64 ^ 0xfeed);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let base = rates(Duration::ZERO);
    let start = now - WARMUP_MINUTES * 60_000;
    let step_ms = 1000;
    let mut t = start;
    while t < now {
        for (w, rate) in base.iter().enumerate() {
            let n = (rate * step_ms as f64 / 1000.0 + rng.f64()).floor() as usize;
            for _ in 0..n {
                let ts = t + rng.below(step_ms as u64) as i64;
                serde_json::to_writer(&mut out, &sim::paper_line(&mut rng, w, ts, false))?;
                out.write_all(b"\n")?;
            }
        }
        t += step_ms;
    }
    out.flush()
}

/// Lines per second of each paper workflow at a moment of the demo.
pub fn rates(elapsed: Duration) -> Vec<f64> {
    let total: u64 = PAPER_WORKFLOWS.iter().map(|w| w.calls).sum();
    PAPER_WORKFLOWS
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let base = BASE_RATE * w.calls as f64 / total as f64;
            let spiking = i == SPIKE_WORKFLOW && elapsed >= SPIKE_AFTER && elapsed < SPIKE_AFTER + SPIKE_FOR;
            if spiking { base * 25.0 } else { base }
        })
        .collect()
}

/// Appends simulated traffic to `file` until `stop` is set.
pub fn simulate(file: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("aifin-demo-traffic".into())
        .spawn(move || {
            let mut rng = Rng::new(now_ms() as u64);
            let started = Instant::now();
            let Ok(f) = std::fs::OpenOptions::new().append(true).open(&file) else { return };
            let mut out = std::io::BufWriter::new(f);
            let step = Duration::from_millis(200);
            while !stop.load(Ordering::Relaxed) {
                let elapsed = started.elapsed();
                let spiking = elapsed >= SPIKE_AFTER && elapsed < SPIKE_AFTER + SPIKE_FOR;
                for (w, rate) in rates(elapsed).into_iter().enumerate() {
                    let expected = rate * step.as_secs_f64();
                    let n = (expected + rng.f64()).floor() as usize;
                    for _ in 0..n {
                        let heavy = spiking && w == SPIKE_WORKFLOW;
                        // The knowledge bot's SDK logs prompt text (and,
                        // for some calls, no usage): the tokenizer's work.
                        let line = if w == TEXT_WORKFLOW && !heavy && rng.f64() < 0.3 {
                            let with_usage = rng.f64() < 0.5;
                            sim::text_line(&mut rng, now_ms(), with_usage)
                        } else {
                            sim::paper_line(&mut rng, w, now_ms(), heavy)
                        };
                        if serde_json::to_writer(&mut out, &line).is_err() || out.write_all(b"\n").is_err() {
                            return;
                        }
                    }
                }
                let _ = out.flush();
                std::thread::sleep(step);
            }
        })
        .expect("spawn demo traffic")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_every_time_field() {
        let l = shift_line(r#"{"ts":"2026-10-01T00:00:00Z","response":{"created":1790000000}}"#, 3_600_000).unwrap();
        assert!(l.contains("2026-10-01T01:00:00.000Z"), "{l}");
        assert!(l.contains("1790003600"), "{l}");
    }

    #[test]
    fn the_spike_multiplies_one_workflow() {
        let calm = rates(Duration::from_secs(10));
        let spike = rates(SPIKE_AFTER + Duration::from_secs(5));
        assert!((calm.iter().sum::<f64>() - BASE_RATE).abs() < 1e-9);
        assert!(calm.iter().all(|r| *r > 0.0));
        assert_eq!(spike[SPIKE_WORKFLOW], calm[SPIKE_WORKFLOW] * 25.0);
        assert_eq!(spike[0], calm[0]);
    }

    #[test]
    fn prepared_demo_has_seed_files_and_a_live_log() {
        let d = prepare().unwrap();
        assert!(d.path().join("seed/gateway-month.jsonl").exists());
        assert!(d.path().join("live/gateway.jsonl").exists());
        let warm = std::fs::read_to_string(d.path().join("seed/warmup.jsonl")).unwrap();
        let n = warm.lines().count() as f64;
        let expected = BASE_RATE * WARMUP_MINUTES as f64 * 60.0;
        assert!((n - expected).abs() / expected < 0.1, "{n} warm-up lines, expected about {expected}");
        assert_eq!(d.specs.len(), 2);
        assert!(!d.config.file.attribution.rules.is_empty());
    }
}
