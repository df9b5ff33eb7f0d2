//! Report output: aligned tables for people, JSON and CSV for scripts.
//! Every cell is sanitized: log text never reaches the terminal raw.

use std::io::{self, Write};

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use crate::domain::sanitize;

/// How a report is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
    Csv,
}

/// A column of a text table.
#[derive(Clone, Debug)]
pub struct Col {
    pub title: String,
    pub right: bool,
}

pub fn left(title: impl Into<String>) -> Col {
    Col { title: title.into(), right: false }
}

pub fn right(title: impl Into<String>) -> Col {
    Col { title: title.into(), right: true }
}

/// Renders rows as a table; the last row can be set apart as a total.
pub fn table(cols: &[Col], rows: &[Vec<String>], total: Option<&[String]>) -> String {
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(cols.iter().map(|c| Cell::new(&c.title)));
    let mk = |row: &[String]| -> Vec<Cell> {
        row.iter()
            .zip(cols)
            .map(|(v, c)| {
                let cell = Cell::new(sanitize::clean(v));
                if c.right { cell.set_alignment(CellAlignment::Right) } else { cell }
            })
            .collect()
    };
    for r in rows {
        t.add_row(mk(r));
    }
    if let Some(tot) = total {
        t.add_row(mk(tot));
    }
    for (i, c) in cols.iter().enumerate() {
        if c.right
            && let Some(col) = t.column_mut(i)
        {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut s = t.to_string();
    s.push('\n');
    s
}

/// Writes CSV with a header row; values are sanitized.
pub fn csv<W: Write>(out: W, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(header).map_err(csv_io)?;
    for r in rows {
        w.write_record(r.iter().map(|v| sanitize::clean(v).into_owned())).map_err(csv_io)?;
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

/// Keeps the I/O error kind (a closed pipe must stay recognisable).
fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// `1234567` → `1,234,567`.
/// A projected (not measured) dollar amount, to the cent.
pub fn usd_f64(v: f64) -> String {
    crate::domain::money::Nanos::from_usd_f64(v).map(|n| n.format_usd(2)).unwrap_or_else(|| format!("${v:.2}"))
}

pub fn thousands(n: i64) -> String {
    let grouped = crate::domain::money::group_thousands(&n.unsigned_abs().to_string());
    if n < 0 { format!("-{grouped}") } else { grouped }
}

/// A ratio as a percentage with `decimals` places.
pub fn percent(r: f64, decimals: usize) -> String {
    format!("{:.*}%", decimals, r * 100.0)
}

/// A coverage ratio as a percentage rounded *down*, so that anything short
/// of complete never shows as 100%.
pub fn coverage(r: f64) -> String {
    let tenths = (r * 1000.0).floor() / 10.0;
    format!("{tenths:.1}%")
}

/// Bytes in human units.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[u]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_240_000), "1,240,000");
        assert_eq!(thousands(-1234), "-1,234");
        assert_eq!(percent(0.38, 0), "38%");
        assert_eq!(coverage(0.99986), "99.9%");
        assert_eq!(coverage(1.0), "100.0%");
        assert_eq!(bytes(1536), "1.5 KiB");
    }

    #[test]
    fn tables_sanitize_cells() {
        let s = table(&[left("a"), right("b")], &[vec!["\u{1b}[31mx".into(), "1".into()]], None);
        assert!(!s.contains('\u{1b}'));
        assert!(s.contains('x'));
    }

    #[test]
    fn csv_has_header_and_sanitized_rows() {
        let mut buf = Vec::new();
        csv(&mut buf, &["k", "v"], &[vec!["a\u{7}b".into(), "1".into()]]).unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), "k,v\nab,1\n");
    }
}
