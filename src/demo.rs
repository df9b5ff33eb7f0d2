//! The built-in demo tells one story: the sample month (the white paper's
//! ledger at 1/1000 scale, October 2026) replayed as the 31 days before
//! now, the OpenAI and Anthropic samples the day before, and simulated
//! traffic that continues at the sample month's own daily rate, appended
//! to a log file the real tailer follows. So the 30 d ledger shows the
//! paper's six workflows in the paper's proportions, and the header's
//! month end, the Live panes and the forecast agree. About a minute in,
//! the sales research agent runs away for two minutes (a few long calls a
//! minute, three times the tokens per call), so the runaway can be seen
//! start and end. The simulator's random draws come from a fixed seed.

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
const SAMPLE_OUTCOMES: &str = include_str!("../sample-data/outcomes/2026-10.jsonl");
const SAMPLE_EVALS: [(&str, &str); 3] = [
    ("baseline.jsonl", include_str!("../sample-data/evals/baseline.jsonl")),
    ("aggressive-compression.jsonl", include_str!("../sample-data/evals/aggressive-compression.jsonl")),
    ("gated-compression-routing.jsonl", include_str!("../sample-data/evals/gated-compression-routing.jsonl")),
];
const SAMPLE_OPENAI_CHAT: &str = include_str!("../sample-data/openai/chat-completions.jsonl");
const SAMPLE_OPENAI_RESPONSES: &str = include_str!("../sample-data/openai/responses.jsonl");
const SAMPLE_ANTHROPIC: &str = include_str!("../sample-data/anthropic/messages.jsonl");

/// Seconds before the runaway starts, and how long it lasts.
pub const SPIKE_AFTER: Duration = Duration::from_secs(60);
pub const SPIKE_FOR: Duration = Duration::from_secs(120);
/// The workflow that runs away.
pub const SPIKE_WORKFLOW: usize = 2;
/// Calls per second of the runaway (three a minute).
pub const SPIKE_RATE: f64 = 0.05;
/// The sample month's length in days: the traffic's rate is its calls
/// over these days.
const SAMPLE_DAYS: f64 = 31.0;
/// The workflow whose simulated SDK logs prompt text for the tokenizer.
const TEXT_WORKFLOW: usize = 3;
/// The simulator's seed (the demo is the same every time).
pub const SEED: u64 = 2026;

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
    let now = now_ms();
    // The sample month (October 2026) ends now...
    let month_end = days_from_civil(2026, 11, 1) * MS_PER_DAY;
    write_shifted(&seed.join("sample-month.jsonl"), SAMPLE_MONTH, now - month_end)?;
    write_shifted(&seed.join("sample-outcomes.jsonl"), SAMPLE_OUTCOMES, now - month_end)?;
    // ...and the provider samples (3-15 November 2026) end yesterday.
    let samples_end = days_from_civil(2026, 11, 16) * MS_PER_DAY;
    let d2 = now.div_euclid(MS_PER_HOUR) * MS_PER_HOUR - MS_PER_DAY - samples_end;
    write_shifted(&seed.join("openai-chat.jsonl"), SAMPLE_OPENAI_CHAT, d2)?;
    write_shifted(&seed.join("openai-responses.jsonl"), SAMPLE_OPENAI_RESPONSES, d2)?;
    write_shifted(&seed.join("anthropic-messages.jsonl"), SAMPLE_ANTHROPIC, d2)?;
    std::fs::write(live.join("gateway.jsonl"), "")?;
    let config = Config::from_str(SAMPLE_CONFIG, None).map_err(std::io::Error::other)?;
    let spec = |p: PathBuf| SourceSpec::new(p, SourceOptions::default()).map_err(std::io::Error::other);
    Ok(Demo { db: dir.path().join("demo.db"), specs: vec![spec(seed)?, spec(live)?], config, dir })
}

/// Records the paper's two gate runs (table VI) for the support copilot,
/// two and one day ago, so that the Gate tab has a history.
pub fn record_gate_runs(demo: &Demo, catalog: Arc<crate::pricing::Catalog>) -> Result<(), Box<dyn std::error::Error>> {
    let dir = demo.path().join("evals");
    std::fs::create_dir_all(&dir)?;
    let mut pricer = crate::pricing::Pricer::new(catalog);
    let mut read = |name: &str, text: &str| -> Result<Vec<crate::gate::evals::EvalRow>, Box<dyn std::error::Error>> {
        let p = dir.join(name);
        std::fs::write(&p, text)?;
        Ok(crate::gate::evals::read(&p, None, &mut pricer)?)
    };
    let base = read(SAMPLE_EVALS[0].0, SAMPLE_EVALS[0].1)?;
    let conn = crate::store::open_rw(&demo.db)?;
    let now = now_ms();
    for (i, (lever, (name, text))) in
        [("compression", SAMPLE_EVALS[1]), ("routing", SAMPLE_EVALS[2])].into_iter().enumerate()
    {
        let mut rows = base.clone();
        rows.extend(read(name, text)?);
        let r = crate::gate::evaluate(&rows, &crate::gate::GateOptions::default())?;
        let at = now - (2 - i as i64) * MS_PER_DAY;
        let files = vec![SAMPLE_EVALS[0].0.to_string(), name.to_string()];
        let hash = xxhash_rust::xxh3::xxh3_64(text.as_bytes());
        let ev = crate::reports::gate::run_event(&r, Some("support-copilot"), Some(lever), &files, hash, at);
        crate::store::events::record(&conn, &ev, now)?;
    }
    Ok(())
}

/// Calls per second of each paper workflow at a moment of the demo: the
/// sample month's rate, and the runaway's during the spike.
pub fn rates(elapsed: Duration) -> Vec<f64> {
    PAPER_WORKFLOWS
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let base = w.calls as f64 / (SAMPLE_DAYS * 86_400.0);
            let spiking = i == SPIKE_WORKFLOW && elapsed >= SPIKE_AFTER && elapsed < SPIKE_AFTER + SPIKE_FOR;
            if spiking { SPIKE_RATE } else { base }
        })
        .collect()
}

/// Appends simulated traffic to `file` until `stop` is set.
pub fn simulate(file: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("aifin-demo-traffic".into())
        .spawn(move || {
            let mut rng = Rng::new(SEED);
            let started = Instant::now();
            let Ok(f) = std::fs::OpenOptions::new().append(true).open(&file) else { return };
            let mut out = std::io::BufWriter::new(f);
            let step = Duration::from_millis(200);
            // The runaway's calls come like clockwork (one every
            // 1 / SPIKE_RATE seconds), so that it always costs about the
            // same and the budget alert it raises is the same every time.
            let mut spike_sent = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let elapsed = started.elapsed();
                let spiking = elapsed >= SPIKE_AFTER && elapsed < SPIKE_AFTER + SPIKE_FOR;
                for (w, rate) in rates(elapsed).into_iter().enumerate() {
                    let n = if spiking && w == SPIKE_WORKFLOW {
                        let due = ((elapsed - SPIKE_AFTER).as_secs_f64() * SPIKE_RATE).floor() as usize + 1;
                        let n = due.saturating_sub(spike_sent);
                        spike_sent += n;
                        n
                    } else {
                        // Poisson arrivals: at most one per step at these rates.
                        usize::from(rng.f64() < rate * step.as_secs_f64())
                    };
                    for _ in 0..n {
                        let heavy = spiking && w == SPIKE_WORKFLOW;
                        // The knowledge bot's SDK logs prompt text (and,
                        // for some calls, no usage): the tokenizer's work.
                        let line = if w == TEXT_WORKFLOW && !heavy && rng.f64() < 0.5 {
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
    fn traffic_runs_at_the_sample_months_rate_and_the_spike_is_one_workflow() {
        let calm = rates(Duration::from_secs(10));
        let spike = rates(SPIKE_AFTER + Duration::from_secs(5));
        // 2,886 calls in 31 days, by hand: 0.0010775 a second.
        let per_day = calm.iter().sum::<f64>() * 86_400.0;
        assert!((per_day - 2886.0 / 31.0).abs() < 1e-6, "{per_day}");
        assert!(calm.iter().all(|r| *r > 0.0));
        assert_eq!(spike[SPIKE_WORKFLOW], SPIKE_RATE);
        assert_eq!(spike[0], calm[0]);
        assert_eq!(rates(SPIKE_AFTER + SPIKE_FOR), calm, "the spike ends");
    }

    #[test]
    fn prepared_demo_has_the_sample_month_ending_now_and_a_live_log() {
        let before = now_ms();
        let d = prepare().unwrap();
        let month = std::fs::read_to_string(d.path().join("seed/sample-month.jsonl")).unwrap();
        assert_eq!(month.lines().count(), 2886);
        let last = month
            .lines()
            .filter_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                parse_ts_str(v["ts"].as_str()?)
            })
            .max()
            .unwrap();
        // October's last call (21:38:43 on the 31st) is the same distance
        // from the month's end as it now is from now.
        let oct_last = parse_ts_str("2026-10-31T21:38:43.865Z").unwrap();
        let gap = days_from_civil(2026, 11, 1) * MS_PER_DAY - oct_last;
        assert!((before - gap - last).abs() < 5_000, "{}", format_utc(last));
        assert!(d.path().join("live/gateway.jsonl").exists());
        assert_eq!(d.specs.len(), 2);
        assert!(!d.config.file.attribution.rules.is_empty());
    }
}
