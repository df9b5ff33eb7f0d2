use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use super::Env;
use crate::cli::RejectsArgs;
use crate::domain::sanitize::clean;
use crate::domain::time;
use crate::reports::print::{self, OutputFormat};
use crate::reports::table::{Cell, Column, Row, Table, thousands};
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
    let format = args.output.format();
    if format == OutputFormat::Json {
        let json: Vec<RejectJson> = rows
            .iter()
            .map(|r| RejectJson {
                file: clean(&r.path).into_owned(),
                line: r.line_no,
                byte_offset: r.byte_offset,
                reason: clean(&r.reason).into_owned(),
                excerpt: clean(&r.excerpt).into_owned(),
                rejected_at: time::format_utc(r.at_ms),
            })
            .collect();
        print::json(&mut *out, &json)?;
        return Ok(ExitCode::SUCCESS);
    }
    let full = format == OutputFormat::Csv;
    let columns = if full {
        vec![
            Column::left("file", "File", 0),
            Column::right("line", "Line", 0),
            Column::right("byte_offset", "Byte offset", 0),
            Column::left("reason", "Reason", 0),
            Column::left("excerpt", "Excerpt", 0),
            Column::left("rejected_at", "Rejected at", 0),
        ]
    } else {
        vec![
            Column::left("file", "File:line", 0),
            Column::left("reason", "Reason", 0),
            Column::left("excerpt", "Excerpt", 0),
        ]
    };
    let table = Table {
        title: String::new(),
        columns,
        rows: rows
            .iter()
            .map(|r| Row {
                id: format!("{}:{}", r.path, r.line_no),
                cells: if full {
                    vec![
                        Cell::text(&r.path),
                        Cell::Count(r.line_no as i64),
                        Cell::Count(r.byte_offset as i64),
                        Cell::text(&r.reason),
                        Cell::text(&r.excerpt),
                        Cell::Time(r.at_ms),
                    ]
                } else {
                    vec![
                        Cell::text(format!("{}:{}", r.path, r.line_no)),
                        Cell::text(&r.reason),
                        Cell::text(crate::domain::sanitize::clean_truncated(&r.excerpt, 60)),
                    ]
                },
            })
            .collect(),
        total: None,
        notes: if full {
            vec![]
        } else if rows.is_empty() {
            vec!["No rejected lines.".into()]
        } else {
            vec![format!("{} shown of {} rejected lines", rows.len(), thousands(total as i64))]
        },
    };
    if !full && rows.is_empty() {
        writeln!(out, "No rejected lines.")?;
        return Ok(ExitCode::SUCCESS);
    }
    print::table_or_csv(out, &table, format)?;
    Ok(ExitCode::SUCCESS)
}
