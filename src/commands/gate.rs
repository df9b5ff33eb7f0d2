use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};

use super::Env;
use crate::cli::GateArgs;
use crate::gate::evals::{self, EvalFormat};
use crate::gate::{CiMethod, GateOptions};
use crate::pricing::Pricer;
use crate::reports::gate as report;
use crate::reports::print::{self, OutputFormat};

/// The levers a recorded gate run can be about (as the lever lab names them).
pub const LEVERS: [&str; 4] = ["compression", "routing", "caching", "policy"];

pub fn run(env: &Env, a: &GateArgs, out: &mut dyn Write) -> Result<ExitCode> {
    if a.history {
        return history(env, a, out);
    }
    if a.workflow.is_some() && !a.record {
        bail!("--workflow needs --record (or --history)");
    }
    let forced = a.format.as_deref().map(str::parse::<EvalFormat>).transpose().map_err(|e| anyhow!("--format: {e}"))?;
    let margin = match a.margin {
        Some(m) if !(m.is_finite() && (0.0..100.0).contains(&m)) => {
            bail!("--margin must be between 0 and 100 points, not {m}")
        }
        m => m.map(|p| p / 100.0),
    };
    let ci = match a.ci.as_deref() {
        None | Some("delta-log") => CiMethod::DeltaLog,
        Some(s) if s.starts_with("bootstrap") => {
            let seed = s
                .split_once(':')
                .map(|(_, v)| v.parse::<u64>())
                .transpose()
                .map_err(|_| anyhow!("--ci bootstrap:SEED"))?;
            CiMethod::Bootstrap(seed.unwrap_or(1))
        }
        Some(other) => bail!("--ci '{other}': use delta-log (the default) or bootstrap[:SEED]"),
    };
    if let Some(l) = &a.lever
        && !LEVERS.contains(&l.as_str())
    {
        bail!("--lever '{l}': use one of {}", LEVERS.join(", "));
    }
    let mut pricer = Pricer::new(env.catalog()?);
    let mut rows = Vec::new();
    let mut inputs = xxhash_rust::xxh3::Xxh3::new();
    for f in &a.evals {
        rows.extend(evals::read(f, forced, &mut pricer)?);
        inputs.update(&std::fs::read(f).unwrap_or_default());
    }
    let opts = GateOptions { baseline: a.baseline.clone(), candidate: a.candidate.clone(), margin, ci };
    let result = crate::gate::evaluate(&rows, &opts)?;
    if a.record {
        let conn = crate::store::open_rw(&env.db)?;
        let now = crate::domain::time::now_ms();
        let files: Vec<String> = a.evals.iter().map(|p| p.display().to_string()).collect();
        let ev = report::run_event(&result, a.workflow.as_deref(), a.lever.as_deref(), &files, inputs.digest(), now);
        crate::store::events::record(&conn, &ev, now)?;
    }
    match a.output.format() {
        OutputFormat::Json => print::json(&mut *out, &report::json(&result))?,
        OutputFormat::Csv => print::csv(&mut *out, &report::table(&report::json(&result)))?,
        OutputFormat::Table => {
            let j = report::json(&result);
            out.write_all(print::text(&report::table(&j)).as_bytes())?;
            out.write_all(print::text(&report::comparisons_table(&j)).as_bytes())?;
            if a.record {
                writeln!(out, "recorded in {}", crate::domain::sanitize::clean(&env.db.display().to_string()))?;
            }
        }
    }
    Ok(if result.all_promoted() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `aifin gate --history`: the recorded runs.
fn history(env: &Env, a: &GateArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let events = if env.db.exists() {
        let conn = crate::store::open_read(&env.db)?;
        crate::store::events::list(&conn, report::GATE_RUN, i64::MIN)?
    } else {
        Vec::new()
    };
    let rows = report::history(&events, a.workflow.as_deref());
    match a.output.format() {
        OutputFormat::Json => print::json(&mut *out, &report::HistoryJson { runs: &rows })?,
        OutputFormat::Csv => print::csv(&mut *out, &report::history_table(&rows))?,
        OutputFormat::Table => out.write_all(print::text(&report::history_table(&rows)).as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
