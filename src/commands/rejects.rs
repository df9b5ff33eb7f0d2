use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use super::Env;
use crate::cli::RejectsArgs;
use crate::domain::time;
use crate::output::{self, OutputFormat, left, thousands};
use crate::store::queries;

#[derive(Serialize)]
struct RejectJson {
    file: String,
    line: u64,
    byte_offset: u64,
    reason: String,
    excerpt: String,
    rejected_at: String,
}

pub fn run(env: &Env, args: &RejectsArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let conn = env.read_conn()?;
    let rows = queries::rejects(&conn, args.limit, args.source.as_deref())?;
    let total = queries::reject_count(&conn)?;
    let json: Vec<RejectJson> = rows
        .iter()
        .map(|r| RejectJson {
            file: r.path.clone(),
            line: r.line_no,
            byte_offset: r.byte_offset,
            reason: r.reason.clone(),
            excerpt: r.excerpt.clone(),
            rejected_at: time::format_utc(r.at_ms),
        })
        .collect();
    match args.output.format() {
        OutputFormat::Json => output::json(&mut *out, &json)?,
        OutputFormat::Csv => {
            let rows: Vec<Vec<String>> = json
                .iter()
                .map(|r| {
                    vec![
                        r.file.clone(),
                        r.line.to_string(),
                        r.byte_offset.to_string(),
                        r.reason.clone(),
                        r.excerpt.clone(),
                        r.rejected_at.clone(),
                    ]
                })
                .collect();
            output::csv(&mut *out, &["file", "line", "byte_offset", "reason", "excerpt", "rejected_at"], &rows)?;
        }
        OutputFormat::Table => {
            if json.is_empty() {
                writeln!(out, "No rejected lines.")?;
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = json
                .iter()
                .map(|r| {
                    vec![
                        format!("{}:{}", r.file, r.line),
                        r.reason.clone(),
                        crate::domain::sanitize::clean_truncated(&r.excerpt, 60),
                    ]
                })
                .collect();
            let cols = [left("File:line"), left("Reason"), left("Excerpt")];
            out.write_all(output::table(&cols, &rows, None).as_bytes())?;
            writeln!(out, "{} shown of {} rejected lines", json.len(), thousands(total as i64))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
