use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use super::Env;
use crate::cli::SourcesArgs;
use crate::domain::time;
use crate::output::{self, OutputFormat, left, right, thousands};
use crate::store::queries;

#[derive(Serialize)]
struct SourceJson {
    path: String,
    format: Option<String>,
    lines: u64,
    calls: u64,
    duplicates: u64,
    rejects: u64,
    skipped: u64,
    bytes_read: u64,
    size: u64,
    /// Bytes on disk not yet read (from the file's size now).
    lag_bytes: u64,
    /// `ok`, `behind` (unread bytes) or `missing` (the file is gone).
    status: &'static str,
    last_line_time: Option<String>,
    last_read: Option<String>,
}

pub fn run(env: &Env, args: &SourcesArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let conn = env.read_conn()?;
    let list: Vec<SourceJson> = queries::sources(&conn)?
        .into_iter()
        .map(|s| {
            let now_size = std::fs::metadata(&s.path).ok().map(|m| m.len());
            let lag = now_size.unwrap_or(s.size).saturating_sub(s.offset);
            SourceJson {
                lag_bytes: lag,
                status: match now_size {
                    None => "missing",
                    Some(_) if lag > 0 => "behind",
                    Some(_) => "ok",
                },
                path: s.path,
                format: s.format,
                lines: s.lines,
                calls: s.calls,
                duplicates: s.duplicates,
                rejects: s.rejects,
                skipped: s.skipped,
                bytes_read: s.offset,
                size: s.size,
                last_line_time: s.last_line_ts.map(time::format_utc),
                last_read: s.last_read.map(time::format_utc),
            }
        })
        .collect();
    match args.output.format() {
        OutputFormat::Json => output::json(&mut *out, &list)?,
        OutputFormat::Csv => {
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|s| {
                    vec![
                        s.path.clone(),
                        s.format.clone().unwrap_or_default(),
                        s.lines.to_string(),
                        s.calls.to_string(),
                        s.duplicates.to_string(),
                        s.rejects.to_string(),
                        s.skipped.to_string(),
                        s.bytes_read.to_string(),
                        s.size.to_string(),
                        s.lag_bytes.to_string(),
                        s.status.to_string(),
                        s.last_line_time.clone().unwrap_or_default(),
                        s.last_read.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            output::csv(
                &mut *out,
                &[
                    "path",
                    "format",
                    "lines",
                    "calls",
                    "duplicates",
                    "rejects",
                    "skipped",
                    "bytes_read",
                    "size",
                    "last_line_time",
                    "last_read",
                ],
                &rows,
            )?;
        }
        OutputFormat::Table => {
            if list.is_empty() {
                writeln!(out, "No sources yet; run `aifin ingest PATH...`.")?;
                return Ok(ExitCode::SUCCESS);
            }
            let cols = [
                left("Path"),
                left("Format"),
                right("Lines"),
                right("Calls"),
                right("Dups"),
                right("Rejects"),
                right("Read"),
                right("Lag"),
                left("Last line"),
            ];
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|s| {
                    vec![
                        s.path.clone(),
                        s.format.clone().unwrap_or_else(|| "-".into()),
                        thousands(s.lines as i64),
                        thousands(s.calls as i64),
                        thousands(s.duplicates as i64),
                        thousands(s.rejects as i64),
                        format!("{}/{}", output::bytes(s.bytes_read), output::bytes(s.size)),
                        match s.status {
                            "missing" => "missing".to_string(),
                            _ if s.lag_bytes == 0 => "-".to_string(),
                            _ => output::bytes(s.lag_bytes),
                        },
                        s.last_line_time.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            out.write_all(output::table(&cols, &rows, None).as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
