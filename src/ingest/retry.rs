//! `aifin ingest --retry-rejects`: rejected lines read again where they
//! are (their file and byte offset), for instance after a wrong
//! `--format` or a fixed price. A line that now reads is stored (exactly
//! once, as always) and leaves the rejects; a file that changed since is
//! not read again, and the run says so.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::Connection;

use super::Pipeline;
use super::pending::{line_at, same_file};
use super::source::SourceOptions;
use crate::domain::record::Format;
use crate::formats::{Detector, Parsed};
use crate::store::writer::{Batch, Writer, WriterError};

/// What a retry did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetriedRejects {
    /// Lines that read now and left the rejects.
    pub read: u64,
    /// Lines still rejected.
    pub still: u64,
    /// Lines whose file is gone or changed since: not read again.
    pub file_changed: u64,
}

struct Reject {
    id: i64,
    line_no: u64,
    byte_offset: u64,
}

/// Reads every rejected line again, with `format` forced if given.
pub fn retry_rejects(
    conn: &Connection,
    writer: &Writer,
    pipe: &mut Pipeline,
    format: Option<Format>,
) -> Result<RetriedRejects, WriterError> {
    let mut by_source: BTreeMap<(i64, String, Option<i64>, u64), Vec<Reject>> = BTreeMap::new();
    {
        let mut stmt = conn.prepare(
            "SELECT r.id, r.line_no, r.byte_offset, s.id, s.path, s.fingerprint, s.fp_len
             FROM rejects r JOIN sources s ON s.id = r.source_id WHERE s.machine = '' ORDER BY s.id, r.byte_offset",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                (r.get::<_, i64>(3)?, r.get::<_, String>(4)?, r.get::<_, Option<i64>>(5)?, r.get::<_, i64>(6)? as u64),
                Reject { id: r.get(0)?, line_no: r.get::<_, i64>(1)? as u64, byte_offset: r.get::<_, i64>(2)? as u64 },
            ))
        })?;
        for row in rows {
            let (k, v) = row?;
            by_source.entry(k).or_default().push(v);
        }
    }
    let mut done = RetriedRejects::default();
    let options = SourceOptions { format, ..SourceOptions::default() };
    for ((source_id, path, fp, fp_len), rejects) in by_source {
        let Some(mut file) = same_file(Path::new(&path), fp, fp_len) else {
            done.file_changed += rejects.len() as u64;
            continue;
        };
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut batch = Batch { source_id, path: path.clone(), size, ..Batch::default() };
        let mut detector = Detector::new(format);
        for rj in rejects {
            let Some(line) = line_at(&mut file, rj.byte_offset) else {
                done.still += 1;
                continue;
            };
            let mut out = Vec::new();
            match detector.parse_line(&line, &mut out) {
                Ok(Parsed::Calls(f, _)) => {
                    batch.format = Some(f);
                    for mut rec in out {
                        rec.line_no = rj.line_no;
                        rec.byte_offset = rj.byte_offset;
                        pipe.finish(&mut rec, &path, &options);
                        rec.prompt = None;
                        batch.push(rec);
                    }
                    batch.retire_rejects.push(rj.id);
                    done.read += 1;
                }
                Ok(Parsed::Outcome) => {
                    if let Some(mut e) = detector.take_outcome() {
                        e.line_no = rj.line_no;
                        batch.outcomes.push(e);
                    }
                    batch.retire_rejects.push(rj.id);
                    done.read += 1;
                }
                Ok(Parsed::Skip(_)) => {
                    batch.retire_rejects.push(rj.id);
                    done.read += 1;
                }
                Err(_) => done.still += 1,
            }
        }
        if !batch.retire_rejects.is_empty() {
            batch.seal();
            writer.send(batch)?;
        }
    }
    writer.flush()?;
    Ok(done)
}
