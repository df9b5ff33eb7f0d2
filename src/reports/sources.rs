//! The files the ledger has read: lines, calls, rejects, how far behind,
//! and the latest rejected lines.

use serde::Serialize;

use super::table::{Cell, Column, Row, Table};
use crate::domain::time;
use crate::store::queries::{RejectView, SourceView};

/// One source file with its size on disk now.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceLine {
    pub view: SourceView,
    /// The file's size now (`None`: the file is gone).
    pub on_disk: Option<u64>,
    /// Lines per second read lately (the cockpit measures it).
    pub rate: Option<f64>,
}

impl SourceLine {
    pub fn of(view: SourceView) -> SourceLine {
        // A source merged from another machine's ledger is not a file here.
        let on_disk = if view.machine.is_empty() { std::fs::metadata(&view.path).ok().map(|m| m.len()) } else { None };
        SourceLine { view, on_disk, rate: None }
    }

    /// Bytes on disk not yet read.
    pub fn lag_bytes(&self) -> u64 {
        if !self.view.machine.is_empty() {
            return 0;
        }
        self.on_disk.unwrap_or(self.view.size).saturating_sub(self.view.offset)
    }

    /// `ok`, `behind` (unread bytes), `missing` (the file is gone) or
    /// `merged` (read on another machine, merged from its ledger).
    pub fn status(&self) -> &'static str {
        if !self.view.machine.is_empty() {
            return "merged";
        }
        match self.on_disk {
            None => "missing",
            Some(_) if self.lag_bytes() > 0 => "behind",
            Some(_) => "ok",
        }
    }

    fn lag_cell(&self) -> Cell {
        match self.status() {
            "missing" => Cell::Label("missing"),
            "merged" => Cell::Label("merged"),
            "behind" => Cell::Bytes(self.lag_bytes()),
            _ => Cell::Tally(0),
        }
    }
}

/// How much a table says: everything (command line, exports) or what fits
/// a screen (ages instead of times, the read rate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    Full,
    Screen,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SourcesReport {
    pub sources: Vec<SourceLine>,
    pub now_ms: i64,
}

#[derive(Serialize)]
pub struct SourceJson {
    path: String,
    /// The ledger that read it, for a source merged from another machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    machine: Option<String>,
    format: Option<String>,
    lines: u64,
    calls: u64,
    duplicates: u64,
    rejects: u64,
    skipped: u64,
    /// Skipped lines that carried usage (spend the ledger may not see).
    skipped_with_usage: u64,
    bytes_read: u64,
    size: u64,
    /// Bytes on disk not yet read (from the file's size now).
    lag_bytes: u64,
    status: &'static str,
    last_line_time: Option<String>,
    last_read: Option<String>,
}

impl SourcesReport {
    pub fn columns(detail: Detail) -> Vec<Column> {
        match detail {
            Detail::Full => vec![
                Column::left("path", "Path", 0),
                Column::left("format", "Format", 4),
                Column::right("lines", "Lines", 2),
                Column::right("calls", "Calls", 3),
                Column::right("duplicates", "Dups", 8),
                Column::right("rejects", "Rejects", 1),
                Column::right("skipped", "Skipped", 9),
                Column::quiet_right("skipped_with_usage", "Skipped w/ usage", 6),
                Column::right("bytes_read", "Read", 10),
                Column::right("size", "Size", 11),
                Column::right("lag_bytes", "Lag", 5),
                Column::left("status", "Status", 12),
                Column::left("last_line_time", "Last line", 7),
                Column::left("last_read", "Last read", 13),
            ],
            Detail::Screen => vec![
                Column::left("path", "Path", 0),
                Column::left("format", "Format", 4),
                Column::right("lines", "Lines", 2),
                Column::right("calls", "Calls", 3),
                Column::right("rejects", "Rejects", 1),
                Column::right("lag_bytes", "Lag", 5),
                Column::right("rate", "Rate", 6),
                Column::right("last_line_age", "Last line", 7),
            ],
        }
    }

    pub fn table(&self, detail: Detail) -> Table {
        let opt_time = |t: Option<i64>| t.map(Cell::Time).unwrap_or(Cell::Empty);
        let rows = self
            .sources
            .iter()
            .map(|s| {
                let v = &s.view;
                let fmt = Cell::text_or(v.format.as_deref(), "-");
                let cells = match detail {
                    Detail::Full => vec![
                        Cell::text(&v.path),
                        fmt,
                        Cell::Count(v.lines as i64),
                        Cell::Count(v.calls as i64),
                        Cell::Count(v.duplicates as i64),
                        Cell::Count(v.rejects as i64),
                        Cell::Count(v.skipped as i64),
                        Cell::Tally(v.skipped_usage as i64),
                        Cell::Bytes(v.offset),
                        Cell::Bytes(s.on_disk.unwrap_or(v.size)),
                        s.lag_cell(),
                        Cell::Label(s.status()),
                        opt_time(v.last_line_ts),
                        opt_time(v.last_read),
                    ],
                    Detail::Screen => vec![
                        Cell::text(&v.path),
                        fmt,
                        Cell::Count(v.lines as i64),
                        Cell::Count(v.calls as i64),
                        Cell::Count(v.rejects as i64),
                        s.lag_cell(),
                        s.rate.map(|r| Cell::Num(r, 0)).unwrap_or(Cell::Empty),
                        v.last_line_ts.map(|t| Cell::Ago(self.now_ms - t)).unwrap_or(Cell::Empty),
                    ],
                };
                Row { id: v.path.clone(), cells }
            })
            .collect();
        Table {
            title: format!("Sources · {} files", self.sources.len()),
            columns: SourcesReport::columns(detail),
            rows,
            total: None,
            notes: if self.sources.is_empty() {
                vec!["No sources yet; run `aifin ingest PATH...`.".into()]
            } else {
                vec![]
            },
        }
    }

    pub fn json(&self) -> Vec<SourceJson> {
        self.sources
            .iter()
            .map(|s| {
                let v = &s.view;
                SourceJson {
                    path: crate::domain::sanitize::clean(&v.path).into_owned(),
                    machine: (!v.machine.is_empty()).then(|| v.machine.clone()),
                    format: v.format.clone(),
                    lines: v.lines,
                    calls: v.calls,
                    duplicates: v.duplicates,
                    rejects: v.rejects,
                    skipped: v.skipped,
                    skipped_with_usage: v.skipped_usage,
                    bytes_read: v.offset,
                    size: v.size,
                    lag_bytes: s.lag_bytes(),
                    status: s.status(),
                    last_line_time: v.last_line_ts.map(time::format_utc),
                    last_read: v.last_read.map(time::format_utc),
                }
            })
            .collect()
    }
}

/// A rejected line in one line of text: file, line, reason, excerpt.
pub fn reject_line(r: &RejectView, reason_chars: usize) -> String {
    use crate::domain::sanitize::{clean, clean_truncated};
    let file = r.path.rsplit('/').next().unwrap_or(&r.path);
    format!(
        "{}:{}  {}  · {}",
        clean(file),
        r.line_no,
        clean_truncated(&r.reason, reason_chars),
        clean_truncated(&r.excerpt, reason_chars)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(path: &str, offset: u64, size: u64) -> SourceView {
        SourceView {
            id: 1,
            path: path.into(),
            format: Some("aifin".into()),
            offset,
            size,
            lines: 10,
            calls: 9,
            duplicates: 0,
            rejects: 1,
            skipped: 0,
            skipped_usage: 0,
            last_line_ts: Some(1_000),
            last_read: None,
            machine: String::new(),
        }
    }

    #[test]
    fn every_row_has_one_cell_per_column() {
        let r = SourcesReport {
            sources: vec![
                SourceLine { view: view("/a", 10, 10), on_disk: Some(30), rate: Some(2.0) },
                SourceLine { view: view("/b", 10, 10), on_disk: None, rate: None },
            ],
            now_ms: 61_000,
        };
        for d in [Detail::Full, Detail::Screen] {
            let t = r.table(d);
            assert!(t.rows.iter().all(|row| row.cells.len() == t.columns.len()), "{d:?}");
        }
        let t = r.table(Detail::Screen);
        let lag = t.column("lag_bytes").unwrap();
        assert_eq!(t.rows[0].cells[lag].human(), "20 B");
        assert_eq!(t.rows[1].cells[lag].human(), "missing");
        assert_eq!(t.rows[0].cells[t.column("last_line_age").unwrap()].human(), "1 min ago");
    }
}
