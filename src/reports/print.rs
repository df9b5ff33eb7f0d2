//! Printers for the command line: a report's [`Table`] as aligned text for
//! people or as CSV for scripts, and any report model as JSON. Printers
//! only format; every number comes from the report.
//!
//! Log text is hostile: every text cell is stripped of control characters
//! and escape sequences, and a CSV text cell that a spreadsheet would run
//! as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage
//! return) is prefixed with `'`. Numbers are never altered.

use std::borrow::Cow;
use std::io::{self, Write};

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{Cell as TCell, CellAlignment, ContentArrangement, Table as TTable};

use super::table::{Align, Cell, Table};
use crate::domain::sanitize;

/// How a report is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
    Csv,
}

/// The table as aligned text: its title, the table, then its notes.
pub fn text(t: &Table) -> String {
    let t = &t.for_people();
    let mut tt = TTable::new();
    tt.load_style(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(t.columns.iter().map(|c| TCell::new(sanitize::clean(&c.title))));
    let mk = |cells: &[Cell]| -> Vec<TCell> {
        cells
            .iter()
            .zip(&t.columns)
            .map(|(v, c)| {
                let cell = TCell::new(sanitize::clean(&v.human()));
                if c.align == Align::Right { cell.set_alignment(CellAlignment::Right) } else { cell }
            })
            .collect()
    };
    for r in &t.rows {
        tt.add_row(mk(&r.cells));
    }
    if let Some(tot) = &t.total {
        tt.add_row(mk(tot));
    }
    for (i, c) in t.columns.iter().enumerate() {
        if c.align == Align::Right
            && let Some(col) = tt.column_mut(i)
        {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut s = String::new();
    if !t.title.is_empty() {
        s.push_str(&sanitize::clean(&t.title));
        s.push('\n');
    }
    s.push_str(&tt.to_string());
    s.push('\n');
    for n in &t.notes {
        s.push_str(&sanitize::clean(n));
        s.push('\n');
    }
    s
}

/// A text cell made safe for a spreadsheet: no control characters, and no
/// leading character that would make it a formula.
pub fn csv_text(s: &str) -> Cow<'_, str> {
    let c = sanitize::clean(s);
    match c.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{c}")),
        _ => c,
    }
}

fn csv_cell(c: &Cell) -> String {
    if c.is_text() { csv_text(&c.machine()).into_owned() } else { c.machine() }
}

/// The table as CSV: a header of column keys, the rows, and the total
/// (its first cell `TOTAL`).
pub fn csv<W: Write>(out: W, t: &Table) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(t.columns.iter().map(|c| c.key)).map_err(csv_io)?;
    for r in &t.rows {
        w.write_record(r.cells.iter().map(csv_cell)).map_err(csv_io)?;
    }
    if let Some(tot) = &t.total {
        let mut cells: Vec<String> = tot.iter().map(csv_cell).collect();
        if let Some(first) = cells.first_mut() {
            *first = "TOTAL".into();
        }
        w.write_record(cells).map_err(csv_io)?;
    }
    w.flush()
}

/// Rows of strings as CSV under a header (for lists that are not tables
/// of cells); text is sanitized and guarded like [`csv`].
pub fn csv_rows<W: Write>(out: W, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(header).map_err(csv_io)?;
    for r in rows {
        w.write_record(r.iter().map(|v| csv_text(v).into_owned())).map_err(csv_io)?;
    }
    w.flush()
}

/// Writes pretty JSON followed by a newline.
pub fn json<W: Write, T: serde::Serialize>(mut out: W, value: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut out, value).map_err(|e| match e.io_error_kind() {
        Some(kind) => io::Error::from(kind),
        None => io::Error::other(e),
    })?;
    out.write_all(b"\n")
}

/// Prints a table in the chosen format (JSON is the caller's model).
pub fn table_or_csv(out: &mut dyn Write, t: &Table, format: OutputFormat) -> io::Result<()> {
    match format {
        OutputFormat::Csv => csv(out, t),
        _ => out.write_all(text(t).as_bytes()),
    }
}

/// Keeps the I/O error kind (a closed pipe must stay recognisable).
fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Nanos;
    use crate::reports::table::{Column, Row};

    fn hostile() -> Table {
        Table {
            title: "t\u{1b}[2J".into(),
            columns: vec![Column::left("k", "Key", 0), Column::right("cost_usd", "Cost", 1)],
            rows: ["=HYPERLINK(\"http://x\")", "\u{1b}[31mred", "-1+2", "@SUM(A1)", "\tx", "plain"]
                .iter()
                .map(|k| Row { id: k.to_string(), cells: vec![Cell::text(*k), Cell::Usd(Nanos(-1_500_000_000))] })
                .collect(),
            total: Some(vec![Cell::Label("Total"), Cell::Usd(Nanos(-9_000_000_000))]),
            notes: vec!["note \u{7}".into()],
        }
    }

    #[test]
    fn text_tables_are_aligned_and_sanitized() {
        let s = text(&hostile());
        assert!(!s.contains('\u{1b}') && !s.contains('\u{7}'), "{s}");
        assert!(s.starts_with("t\n"), "{s}");
        assert!(s.contains("-$1.50"), "{s}");
        assert!(s.contains("Total"));
    }

    #[test]
    fn csv_guards_formulas_but_never_numbers() {
        let mut buf = Vec::new();
        csv(&mut buf, &hostile()).unwrap();
        let s = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "k,cost_usd");
        assert_eq!(lines[1], "\"'=HYPERLINK(\"\"http://x\"\")\",-1.500000000");
        assert_eq!(lines[2], "red,-1.500000000");
        assert_eq!(lines[3], "'-1+2,-1.500000000");
        assert_eq!(lines[4], "'@SUM(A1),-1.500000000");
        // A tab is cleaned to a space, so the cell no longer starts a formula.
        assert_eq!(lines[5], " x,-1.500000000");
        assert_eq!(lines[6], "plain,-1.500000000");
        assert_eq!(lines[7], "TOTAL,-9.000000000");
    }
}
