//! Calls waiting for their usage to be counted from their prompt text
//! ("pending") survive a crash: each keeps its source and byte offset, and
//! every run with a tokenizer reads those lines again and counts them. A
//! line that cannot be read again as it was (the file is gone, or its head
//! fingerprint changed) makes its call unpriced, with a warning saying so.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use rusqlite::Connection;

use super::Pipeline;
use super::file::{FINGERPRINT_LEN, MAX_LINE, fingerprint};
use crate::domain::record::{CallRecord, Format};
use crate::formats::Detector;
use crate::store::writer::{Writer, WriterError};
use crate::tokenize::{Job, TokenizerWorker};

/// A pending call and where its line is.
struct Pending {
    dedupe_ts: i64,
    dedupe_key: i64,
    byte_offset: u64,
    format: Option<Format>,
    batch: bool,
}

/// What a retry did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retried {
    /// Lines read again and sent to be counted.
    pub counted: u64,
    /// Calls given up on (their text is gone): now unpriced.
    pub gone: u64,
}

/// The source file of each pending call, with its stored fingerprint.
type BySource = BTreeMap<(String, Option<i64>, u64), Vec<Pending>>;

/// The pending calls with their source. `CROSS JOIN` keeps the (small)
/// pending table outside: without statistics SQLite would otherwise walk
/// every stored call looking for the pending ones.
const PENDING_SQL: &str =
    "SELECT p.dedupe_ts, p.dedupe_key, p.byte_offset, c.format, c.batch, COALESCE(s.path, ''), s.fingerprint,
            COALESCE(s.fp_len, 0)
     FROM pending_counts p CROSS JOIN calls c ON c.dedupe_ts = p.dedupe_ts AND c.dedupe_key = p.dedupe_key
     LEFT JOIN sources s ON s.id = p.source_id
     WHERE c.pending = 1 ORDER BY s.path, p.byte_offset";

fn pending(conn: &Connection) -> rusqlite::Result<BySource> {
    let mut stmt = conn.prepare(PENDING_SQL)?;
    let mut out: BySource = BTreeMap::new();
    let rows = stmt.query_map([], |r| {
        Ok((
            (r.get::<_, String>(5)?, r.get::<_, Option<i64>>(6)?, r.get::<_, i64>(7)? as u64),
            Pending {
                dedupe_ts: r.get(0)?,
                dedupe_key: r.get(1)?,
                byte_offset: r.get::<_, i64>(2)? as u64,
                format: r.get::<_, Option<i64>>(3)?.and_then(Format::from_code),
                batch: r.get::<_, i64>(4)? != 0,
            },
        ))
    })?;
    for row in rows {
        let (k, p) = row?;
        out.entry(k).or_default().push(p);
    }
    Ok(out)
}

/// The file, at its start, if it still begins as it did when it was read.
pub fn same_file(path: &Path, fp: Option<i64>, fp_len: u64) -> Option<File> {
    let mut f = File::open(path).ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut head = vec![0u8; (fp_len as usize).min(FINGERPRINT_LEN)];
    f.read_exact(&mut head).ok()?;
    f.seek(SeekFrom::Start(0)).ok()?;
    (fp == Some(fingerprint(&head, head.len()))).then_some(f)
}

/// The line at `offset` (without its newline).
pub fn line_at(f: &mut File, offset: u64) -> Option<Vec<u8>> {
    f.seek(SeekFrom::Start(offset)).ok()?;
    let mut r = BufReader::new(f.take(MAX_LINE as u64 + 1));
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line).ok()?;
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    Some(line)
}

/// The call of `p` parsed again from its line, priced as it was.
fn reread(f: &mut File, p: &Pending, path: &str, pipe: &mut Pipeline) -> Option<CallRecord> {
    let line = line_at(f, p.byte_offset)?;
    let mut out = Vec::new();
    Detector::new(p.format).parse_line(&line, &mut out).ok()?;
    let mut rec = out.into_iter().find(|r| r.dedupe_key == p.dedupe_key && r.usage_missing)?;
    rec.batch = p.batch;
    pipe.finish(&mut rec, path, &Default::default());
    Some(rec)
}

/// Reads every pending call's line again and sends it to be counted;
/// gives up (unpriced, with a warning) on those whose text is gone.
pub fn retry(
    conn: &Connection,
    writer: &Writer,
    tokenizer: &TokenizerWorker,
    pipe: &mut Pipeline,
) -> Result<Retried, WriterError> {
    let mut done = Retried::default();
    for ((path, fp, fp_len), calls) in pending(conn)? {
        let mut file = same_file(Path::new(&path), fp, fp_len);
        let mut gone = Vec::new();
        for p in calls {
            match file.as_mut().and_then(|f| reread(f, &p, &path, pipe)) {
                Some(mut rec) => match rec.prompt.take().filter(|t| !t.is_empty()) {
                    Some(text) => {
                        tokenizer.submit(Job {
                            dedupe_ts: p.dedupe_ts,
                            dedupe_key: p.dedupe_key,
                            model: rec.model.clone(),
                            text,
                            fill: Some(Box::new(rec)),
                            given: None,
                        });
                        done.counted += 1;
                    }
                    None => gone.push((p.dedupe_ts, p.dedupe_key)),
                },
                None => gone.push((p.dedupe_ts, p.dedupe_key)),
            }
        }
        done.gone += gone.len() as u64;
        if !gone.is_empty() {
            writer.give_up(gone)?;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_calls_are_found_without_walking_the_calls_table() {
        let conn = crate::store::open_memory().unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {PENDING_SQL}"))
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(plan.iter().any(|d| d.starts_with("SCAN p")), "{plan:?}");
        assert!(plan.iter().any(|d| d.starts_with("SEARCH c USING INDEX calls_dedupe")), "{plan:?}");
    }
}
