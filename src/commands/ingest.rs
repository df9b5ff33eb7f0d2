use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use serde::Serialize;

use super::Env;
use crate::cli::IngestArgs;
use crate::ingest::follow::{FollowOptions, follow};
use crate::ingest::{IngestOptions, IngestReport, Progress, SourceOptions, SourceSpec, ingest_files};
use crate::reports::print;
use crate::reports::table::{self, thousands};

#[derive(Serialize)]
struct Summary {
    files: usize,
    unchanged_files: usize,
    lines: u64,
    calls: u64,
    stored: u64,
    duplicates: u64,
    rejected: u64,
    skipped: u64,
    /// Skipped lines by reason (blank line, eval results, ...).
    skipped_by_reason: std::collections::BTreeMap<&'static str, u64>,
    unpriced: u64,
    partial_lines_waiting: u64,
    bytes: u64,
    transactions: u64,
    tokenized: u64,
    usage_from_text: u64,
    /// Calls still waiting for their usage to be counted (not in the cost).
    pending: u64,
    /// Outcomes stored for the first time, changed by a later event, and
    /// (in the whole ledger) still waiting for their call.
    outcomes_stored: u64,
    outcomes_updated: u64,
    outcomes_unjoined: u64,
    /// Pending calls of earlier runs read again and counted.
    pending_retried: u64,
    /// Pending calls whose text was gone: now unpriced.
    pending_given_up: u64,
    elapsed_s: f64,
    lines_per_s: f64,
    interrupted: bool,
    database: String,
    file_errors: Vec<String>,
}

/// Sets a flag on SIGINT and SIGTERM (a second Ctrl-C still kills).
pub(super) fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&stop))?;
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    Ok(stop)
}

/// What to read: the paths given, else the config's sources, else Claude
/// Code's transcript directories.
pub(super) fn specs(env: &Env, args: &IngestArgs) -> Result<Vec<SourceSpec>> {
    if !args.paths.is_empty() {
        let options = SourceOptions { format: args.format, batch: args.batch.then_some(true), ..Default::default() };
        return args
            .paths
            .iter()
            .map(|p| SourceSpec::with_symlinks(p.clone(), options.clone(), args.symlinks).map_err(Into::into))
            .collect();
    }
    let mut s = SourceSpec::from_config(&env.config)?;
    if s.is_empty() {
        s = SourceSpec::claude_code_defaults();
    }
    if s.is_empty() {
        return Err(anyhow!(
            "nothing to ingest: give PATH..., add [[source]] entries to aifin.toml, or run where Claude Code keeps transcripts (~/.claude/projects)"
        ));
    }
    if let Some(f) = args.format {
        for spec in &mut s {
            spec.options.format = Some(f);
        }
    }
    Ok(s)
}

/// `--retry-rejects`: the rejected lines, read again where they are.
fn retry_rejects(env: &Env, args: &IngestArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let conn = crate::store::open_rw(&env.db)?;
    let read = crate::store::open_read(&env.db)?;
    let writer = crate::store::writer::Writer::spawn(conn, 8, None);
    let mut pipe = crate::ingest::Pipeline::new(env.catalog()?, env.attributor()?);
    let r = crate::ingest::retry::retry_rejects(&read, &writer, &mut pipe, args.format)?;
    let totals = writer.finish()?;
    #[derive(Serialize)]
    struct Retried {
        read_now: u64,
        stored: u64,
        duplicates: u64,
        still_rejected: u64,
        file_changed: u64,
    }
    let j = Retried {
        read_now: r.read,
        stored: totals.stored,
        duplicates: totals.duplicates,
        still_rejected: r.still,
        file_changed: r.file_changed,
    };
    if args.json {
        print::json(&mut *out, &j)?;
    } else {
        writeln!(
            out,
            "read now    {}  rejected lines read again ({} stored, {} duplicates)",
            j.read_now, j.stored, j.duplicates
        )?;
        writeln!(out, "still       {}  rejected", j.still_rejected)?;
        if j.file_changed > 0 {
            writeln!(
                out,
                "not read    {}  lines whose file changed or is gone since (they stay in `aifin rejects`)",
                j.file_changed
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(env: &Env, args: &IngestArgs, out: &mut dyn Write) -> Result<ExitCode> {
    if args.retry_rejects {
        return retry_rejects(env, args, out);
    }
    let specs = specs(env, args)?;
    let stop = stop_flag()?;
    let tty = std::io::stderr().is_terminal();
    // One expansion for every source; what it skipped is said once.
    let mut files: Vec<(PathBuf, SourceOptions)> = Vec::new();
    for s in &specs {
        let e = s.expand();
        for w in &e.warnings {
            eprintln!("warning: {}", crate::domain::sanitize::clean(w));
        }
        if e.files.is_empty() && !args.paths.is_empty() {
            match (args.follow, s.pattern.expand_required()) {
                (false, Err(err)) => return Err(err.into()),
                (true, Err(_)) => {
                    eprintln!(
                        "warning: waiting for '{}' to appear",
                        crate::domain::sanitize::clean(&s.pattern.path.to_string_lossy())
                    )
                }
                _ => {}
            }
        }
        // A file two sources cover is read once, with the first's options.
        for f in e.files {
            if !files.iter().any(|(g, _)| *g == f) {
                files.push((f, s.options.clone()));
            }
        }
    }
    let report = if args.follow {
        run_follow(env, args, &specs, stop, tty)?
    } else {
        let total: u64 = files.iter().filter_map(|(f, _)| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
        let progress = Arc::new(Progress::default());
        let done = Arc::new(AtomicBool::new(false));
        let display =
            (tty && total > 32 << 20).then(|| spawn_progress(Arc::clone(&progress), Arc::clone(&done), total));
        let r = ingest_files(
            &files,
            IngestOptions {
                db: &env.db,
                catalog: env.catalog()?,
                attributor: env.attributor()?,
                stop: Some(&stop),
                progress: Some(&progress),
                tokenize: !args.no_tokenize,
            },
        );
        done.store(true, Ordering::Relaxed);
        if let Some(h) = display {
            let _ = h.join();
        }
        r?
    };
    let s = summary(env, &report);
    if args.json {
        print::json(&mut *out, &s)?;
    } else {
        print_text(out, &s)?;
    }
    for e in &report.file_errors {
        eprintln!("error: {}", crate::domain::sanitize::clean(e));
    }
    Ok(if report.file_errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

fn run_follow(
    env: &Env,
    args: &IngestArgs,
    specs: &[SourceSpec],
    stop: Arc<AtomicBool>,
    tty: bool,
) -> Result<IngestReport> {
    if tty {
        eprintln!("following {} source(s); Ctrl-C to stop", specs.len());
    }
    let mut last = Instant::now() - Duration::from_secs(10);
    let mut status = |r: &IngestReport, t: &crate::store::writer::WriterTotals| {
        if tty && last.elapsed() >= Duration::from_millis(500) {
            last = Instant::now();
            eprint!(
                "\r{} lines · {} stored · {} duplicates · {} rejected · {} files     ",
                thousands(r.lines as i64),
                thousands(t.stored as i64),
                thousands(t.duplicates as i64),
                thousands(t.rejects as i64),
                r.files
            );
        }
    };
    let rescan = Duration::try_from_secs_f64(args.rescan.max(0.05)).map_err(|e| anyhow!("--rescan: {e}"))?;
    let report = follow(
        specs,
        FollowOptions {
            db: &env.db,
            catalog: env.catalog()?,
            attributor: env.attributor()?,
            stop,
            rescan,
            events: None,
            progress: None,
            on_round: Some(&mut status),
            tokenizer: (!args.no_tokenize).then(Default::default),
        },
    )?;
    if tty {
        eprintln!();
    }
    Ok(report)
}

/// Prints `lines · MB of MB · MB/s · ETA` on stderr until `done`.
fn spawn_progress(p: Arc<Progress>, done: Arc<AtomicBool>, total: u64) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let start = Instant::now();
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(250));
            let bytes = p.bytes.load(Ordering::Relaxed).min(total);
            let secs = start.elapsed().as_secs_f64().max(1e-3);
            let rate = bytes as f64 / secs;
            let eta = if rate > 0.0 { (total - bytes) as f64 / rate } else { 0.0 };
            eprint!(
                "\r{} lines · {} of {} · {}/s · ETA {:.0} s     ",
                thousands(p.lines.load(Ordering::Relaxed) as i64),
                table::bytes(bytes),
                table::bytes(total),
                table::bytes(rate as u64),
                eta
            );
        }
        eprint!("\r{:80}\r", "");
    })
}

fn summary(env: &Env, r: &IngestReport) -> Summary {
    Summary {
        files: r.files,
        unchanged_files: r.unchanged_files,
        lines: r.lines,
        calls: r.calls,
        stored: r.totals.stored,
        duplicates: r.totals.duplicates,
        rejected: r.totals.rejects,
        skipped: r.skipped,
        skipped_by_reason: r.skip_reasons.clone(),
        unpriced: r.totals.unpriced,
        partial_lines_waiting: r.partial_waiting,
        bytes: r.bytes,
        transactions: r.totals.transactions,
        tokenized: r.tokenized,
        usage_from_text: r.usage_filled,
        pending: crate::store::open_read(&env.db)
            .ok()
            .and_then(|c| c.query_row("SELECT COUNT(*) FROM pending_counts", [], |r| r.get::<_, i64>(0)).ok())
            .unwrap_or(0) as u64,
        outcomes_stored: r.totals.outcomes.stored,
        outcomes_updated: r.totals.outcomes.updated,
        outcomes_unjoined: crate::store::open_read(&env.db)
            .ok()
            .and_then(|c| {
                c.query_row("SELECT COUNT(*) FROM outcomes WHERE call_ts IS NULL", [], |r| r.get::<_, i64>(0)).ok()
            })
            .unwrap_or(0) as u64,
        pending_retried: r.retried.counted,
        pending_given_up: r.retried.gone,
        elapsed_s: r.elapsed.as_secs_f64(),
        lines_per_s: r.lines_per_sec(),
        interrupted: r.interrupted,
        database: crate::domain::sanitize::clean(&env.db.display().to_string()).into_owned(),
        file_errors: r.file_errors.iter().map(|e| crate::domain::sanitize::clean(e).into_owned()).collect(),
    }
}

fn print_text(out: &mut dyn Write, s: &Summary) -> std::io::Result<()> {
    let n = |v: u64| thousands(v as i64);
    let files = if s.unchanged_files > 0 {
        format!("{} ({} unchanged)", s.files, s.unchanged_files)
    } else {
        s.files.to_string()
    };
    writeln!(out, "files       {files}")?;
    writeln!(out, "lines       {}  ({})", n(s.lines), table::bytes(s.bytes))?;
    writeln!(out, "stored      {}", n(s.stored))?;
    writeln!(out, "duplicates  {}", n(s.duplicates))?;
    writeln!(out, "rejected    {}{}", n(s.rejected), if s.rejected > 0 { "  (see `aifin rejects`)" } else { "" })?;
    writeln!(out, "skipped     {}  (valid lines that are not billable calls)", n(s.skipped))?;
    let mut reasons: Vec<_> = s.skipped_by_reason.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let width = n(s.skipped).len();
    for (why, count) in reasons {
        writeln!(out, "            {:>width$}  {why}", n(*count))?;
    }
    writeln!(out, "unpriced    {}{}", n(s.unpriced), if s.unpriced > 0 { "  (see `aifin prices`)" } else { "" })?;
    if s.outcomes_stored > 0 || s.outcomes_updated > 0 {
        writeln!(
            out,
            "outcomes    {} new, {} changed{}  (see `aifin outcomes`)",
            n(s.outcomes_stored),
            n(s.outcomes_updated),
            if s.outcomes_unjoined > 0 {
                format!("; {} not joined to a call yet", n(s.outcomes_unjoined))
            } else {
                String::new()
            }
        )?;
    }
    if s.tokenized > 0 {
        writeln!(out, "tokenized   {}  (calls whose prompt components were counted)", n(s.tokenized))?;
    }
    if s.usage_from_text > 0 {
        writeln!(
            out,
            "usage from  {}  calls logged without usage: tokens counted from their text",
            n(s.usage_from_text)
        )?;
    }
    if s.pending_retried > 0 || s.pending_given_up > 0 {
        writeln!(
            out,
            "recounted   {}  pending calls of earlier runs{}",
            n(s.pending_retried),
            if s.pending_given_up > 0 {
                format!("; {} whose text is gone are now unpriced", n(s.pending_given_up))
            } else {
                String::new()
            }
        )?;
    }
    if s.pending > 0 {
        writeln!(out, "pending     {}  calls wait for their usage to be counted (not in the cost)", n(s.pending))?;
    }
    if s.partial_lines_waiting > 0 {
        writeln!(out, "waiting     {} unterminated last line(s), read when complete", s.partial_lines_waiting)?;
    }
    if s.interrupted {
        writeln!(out, "stopped     early on request; everything above is committed")?;
    }
    writeln!(out, "elapsed     {:.2} s  ({} lines/s)", s.elapsed_s, thousands(s.lines_per_s.round() as i64))?;
    writeln!(out, "database    {}", crate::domain::sanitize::clean(&s.database))
}
