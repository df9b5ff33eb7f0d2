use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use super::Env;
use crate::cli::IngestArgs;
use crate::ingest::{IngestOptions, IngestReport, ingest_paths};
use crate::output::{self, thousands};

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
    unpriced: u64,
    partial_lines_waiting: u64,
    bytes: u64,
    elapsed_s: f64,
    lines_per_s: f64,
    database: String,
    file_errors: Vec<String>,
}

pub fn run(env: &Env, args: &IngestArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let report = ingest_paths(
        &args.paths,
        IngestOptions {
            db: &env.db,
            catalog: env.catalog()?,
            attributor: env.attributor()?,
            forced: args.format,
            on_file: None,
        },
    )?;
    let s = summary(env, &report);
    if args.json {
        output::json(&mut *out, &s)?;
    } else {
        print_text(out, &s)?;
    }
    for e in &report.file_errors {
        eprintln!("error: {}", crate::domain::sanitize::clean(e));
    }
    Ok(if report.file_errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
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
        unpriced: r.totals.unpriced,
        partial_lines_waiting: r.partial_waiting,
        bytes: r.bytes,
        elapsed_s: r.elapsed.as_secs_f64(),
        lines_per_s: r.lines_per_sec(),
        database: env.db.display().to_string(),
        file_errors: r.file_errors.clone(),
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
    writeln!(out, "lines       {}  ({})", n(s.lines), output::bytes(s.bytes))?;
    writeln!(out, "stored      {}", n(s.stored))?;
    writeln!(out, "duplicates  {}", n(s.duplicates))?;
    writeln!(out, "rejected    {}{}", n(s.rejected), if s.rejected > 0 { "  (see `aifin rejects`)" } else { "" })?;
    writeln!(out, "skipped     {}  (valid lines that are not billable calls)", n(s.skipped))?;
    writeln!(out, "unpriced    {}{}", n(s.unpriced), if s.unpriced > 0 { "  (see `aifin prices`)" } else { "" })?;
    if s.partial_lines_waiting > 0 {
        writeln!(out, "waiting     {} unterminated last line(s), read when complete", s.partial_lines_waiting)?;
    }
    writeln!(out, "elapsed     {:.2} s  ({} lines/s)", s.elapsed_s, thousands(s.lines_per_s.round() as i64))?;
    writeln!(out, "database    {}", crate::domain::sanitize::clean(&s.database))
}
