//! Tables as data: columns declared once (key, title, alignment, how
//! important they are when space is short) and typed cells. Printers turn
//! them into text for people (CLI tables, the cockpit, Markdown, HTML) or
//! for machines (CSV); a cell never carries preformatted text except log
//! strings, which every printer sanitizes for its target.

use std::borrow::Cow;

use crate::domain::money::{Nanos, div_round, group_thousands};
use crate::domain::time;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A column of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Machine name: the CSV header and the JSON field.
    pub key: &'static str,
    /// What people read.
    pub title: Cow<'static, str>,
    pub align: Align,
    /// 0 = always shown; larger numbers are dropped first when the width
    /// is short.
    pub priority: u8,
    /// People do not see it while none of its cells says anything (all
    /// zero or empty); machines (CSV, JSON) always do.
    pub quiet: bool,
}

impl Column {
    pub const fn left(key: &'static str, title: &'static str, priority: u8) -> Column {
        Column { key, title: Cow::Borrowed(title), align: Align::Left, priority, quiet: false }
    }

    pub const fn right(key: &'static str, title: &'static str, priority: u8) -> Column {
        Column { key, title: Cow::Borrowed(title), align: Align::Right, priority, quiet: false }
    }

    /// A column whose title is made at run time.
    pub fn titled(key: &'static str, title: String, align: Align, priority: u8) -> Column {
        Column { key, title: Cow::Owned(title), align, priority, quiet: false }
    }

    /// A right-aligned [`Column::quiet`] column.
    pub const fn quiet_right(key: &'static str, title: &'static str, priority: u8) -> Column {
        Column { key, title: Cow::Borrowed(title), align: Align::Right, priority, quiet: true }
    }
}

/// A typed cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Text from a log or the user (sanitized by every printer).
    Text(String),
    /// Fixed text of aifin's own ("Total", "(unattributed)").
    Label(&'static str),
    /// No value: `-` for people, empty for machines.
    Empty,
    /// A count: `1,240` / `1240`.
    Count(i64),
    /// A count where zero means "none": `-` for people, `0` for machines.
    Tally(i64),
    /// Money to the cent: `$41.80` / `41.800000000`.
    Usd(Nanos),
    /// Small money to a hundredth of a cent (per call): `$0.0337`.
    UsdFine(Nanos),
    /// A fraction shown as a percentage: `38.0%` / `0.380000`.
    Share(f64),
    /// A coverage fraction: shown rounded down, so that anything short of
    /// complete never reads 100%.
    Coverage(f64),
    /// A value already in percent (`-55.9`), signed for people.
    Pct(f64),
    /// A plain number with this many decimals.
    Num(f64, usize),
    /// A price or rate in USD with six decimals (per 1K tokens).
    Rate(f64),
    /// An average count: rounded for people (`6,800`), one decimal for
    /// machines (`6800.0`).
    Avg(f64),
    /// Bytes: `1.5 KiB` / `1536`.
    Bytes(u64),
    /// A point in time (epoch ms): RFC 3339 UTC.
    Time(i64),
    /// How long ago (ms): `5 s ago` / the milliseconds.
    Ago(i64),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// `Text` or, when missing, the label.
    pub fn text_or(s: Option<&str>, missing: &'static str) -> Cell {
        match s {
            Some(v) if !v.is_empty() => Cell::Text(v.to_string()),
            _ => Cell::Label(missing),
        }
    }

    /// Money per unit (cost per call), rounded to the nano, or empty.
    pub fn per(total: Nanos, n: i64) -> Cell {
        if n <= 0 { Cell::Empty } else { Cell::UsdFine(Nanos(div_round(total.0 as i128, n as i128) as i64)) }
    }

    /// Whether the cell says nothing (zero or empty).
    pub fn is_nothing(&self) -> bool {
        matches!(self, Cell::Empty | Cell::Tally(0) | Cell::Count(0))
    }

    /// Whether the cell holds text from outside (to sanitize or guard).
    pub fn is_text(&self) -> bool {
        matches!(self, Cell::Text(_) | Cell::Label(_))
    }

    /// The text people read (not yet sanitized; printers do that).
    pub fn human(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Label(s) => (*s).to_string(),
            Cell::Empty => "-".into(),
            Cell::Count(n) => thousands(*n),
            Cell::Tally(0) => "-".into(),
            Cell::Tally(n) => thousands(*n),
            Cell::Usd(n) => n.format_usd(2),
            Cell::UsdFine(n) => n.format_usd(4),
            Cell::Share(f) => percent(*f, 1),
            Cell::Coverage(f) => coverage(*f),
            Cell::Pct(p) => signed_pct(*p),
            Cell::Num(v, d) => format!("{v:.d$}"),
            Cell::Avg(v) => thousands(v.round() as i64),
            Cell::Rate(v) => format!("${v:.6}"),
            Cell::Bytes(b) => bytes(*b),
            Cell::Time(ms) => time::format_utc(*ms),
            Cell::Ago(ms) => ago(*ms),
        }
    }

    /// The text machines read: plain numbers, no separators or units.
    pub fn machine(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Label(s) => (*s).to_string(),
            Cell::Empty => String::new(),
            Cell::Count(n) | Cell::Tally(n) => n.to_string(),
            Cell::Usd(n) | Cell::UsdFine(n) => n.format_plain(9),
            Cell::Share(f) | Cell::Coverage(f) => format!("{f:.6}"),
            Cell::Pct(p) => format!("{p:.1}"),
            Cell::Num(v, d) => format!("{v:.d$}"),
            Cell::Avg(v) => format!("{v:.1}"),
            Cell::Rate(v) => format!("{v:.6}"),
            Cell::Bytes(b) => b.to_string(),
            Cell::Time(ms) => time::format_utc(*ms),
            Cell::Ago(ms) => ms.to_string(),
        }
    }

    /// An order for sorting a column: numbers by value, text by text.
    pub fn sort_key(&self) -> SortKey {
        match self {
            Cell::Text(s) => SortKey::Text(s.to_lowercase()),
            Cell::Label(s) => SortKey::Text(s.to_lowercase()),
            Cell::Empty => SortKey::Num(f64::NEG_INFINITY),
            Cell::Count(n) | Cell::Tally(n) => SortKey::Num(*n as f64),
            Cell::Usd(n) | Cell::UsdFine(n) => SortKey::Num(n.0 as f64),
            Cell::Share(f) | Cell::Coverage(f) | Cell::Pct(f) | Cell::Num(f, _) | Cell::Avg(f) | Cell::Rate(f) => {
                SortKey::Num(*f)
            }
            Cell::Bytes(b) => SortKey::Num(*b as f64),
            Cell::Time(ms) => SortKey::Num(*ms as f64),
            Cell::Ago(ms) => SortKey::Num(-(*ms as f64)),
        }
    }
}

/// See [`Cell::sort_key`].
#[derive(Clone, Debug, PartialEq)]
pub enum SortKey {
    Num(f64),
    Text(String),
}

impl SortKey {
    /// Numbers by value (NaN last), text by text, numbers before text.
    pub fn order(&self, other: &SortKey) -> std::cmp::Ordering {
        match (self, other) {
            (SortKey::Num(a), SortKey::Num(b)) => a.total_cmp(b),
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            (SortKey::Num(_), SortKey::Text(_)) => std::cmp::Ordering::Less,
            (SortKey::Text(_), SortKey::Num(_)) => std::cmp::Ordering::Greater,
        }
    }
}

/// A row: its identity (what a selection follows) and its cells.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub id: String,
    pub cells: Vec<Cell>,
}

/// A report as a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub title: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    pub total: Option<Vec<Cell>>,
    /// Lines under the table (coverage, notes).
    pub notes: Vec<String>,
}

impl Table {
    pub fn column(&self, key: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.key == key)
    }

    /// The table people see: quiet columns with nothing to say left out.
    pub fn for_people(&self) -> Table {
        let keep: Vec<bool> = (0..self.columns.len())
            .map(|i| {
                !self.columns[i].quiet
                    || self.rows.iter().any(|r| !r.cells[i].is_nothing())
                    || self.total.as_ref().is_some_and(|t| !t[i].is_nothing())
            })
            .collect();
        let pick = |cells: &[Cell]| -> Vec<Cell> {
            cells.iter().zip(&keep).filter(|(_, k)| **k).map(|(c, _)| c.clone()).collect()
        };
        Table {
            title: self.title.clone(),
            columns: self.columns.iter().zip(&keep).filter(|(_, k)| **k).map(|(c, _)| c.clone()).collect(),
            rows: self.rows.iter().map(|r| Row { id: r.id.clone(), cells: pick(&r.cells) }).collect(),
            total: self.total.as_deref().map(pick),
            notes: self.notes.clone(),
        }
    }

    /// The row indices in the order of column `col`.
    pub fn order_by(&self, col: usize, descending: bool) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.rows.len()).collect();
        let key = |i: &usize| self.rows[*i].cells.get(col).map(Cell::sort_key).unwrap_or(SortKey::Num(0.0));
        idx.sort_by(|a, b| {
            let o = key(a).order(&key(b));
            // Ties keep the report's own order.
            if descending { o.reverse() } else { o }.then(a.cmp(b))
        });
        idx
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: i64) -> String {
    let grouped = group_thousands(&n.unsigned_abs().to_string());
    if n < 0 { format!("-{grouped}") } else { grouped }
}

/// A fraction as a percentage with `decimals` places.
pub fn percent(r: f64, decimals: usize) -> String {
    format!("{:.*}%", decimals, r * 100.0)
}

/// A percent value with its sign: `+40.0%`, `-31.8%`, `0.0%`.
pub fn signed_pct(p: f64) -> String {
    if p.abs() < 0.05 { "0.0%".into() } else { format!("{p:+.1}%") }
}

/// A coverage fraction as a percentage rounded *down*.
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

/// Milliseconds ago in words.
pub fn ago(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_differently_for_people_and_machines() {
        // (cell, human, machine), written out by hand.
        let cases = [
            (Cell::Count(1_240_000), "1,240,000", "1240000"),
            (Cell::Tally(0), "-", "0"),
            (Cell::Tally(3), "3", "3"),
            (Cell::Usd(Nanos(41_800_000_000)), "$41.80", "41.800000000"),
            (Cell::UsdFine(Nanos(33_714_999)), "$0.0337", "0.033714999"),
            (Cell::Share(0.38), "38.0%", "0.380000"),
            (Cell::Coverage(0.99986), "99.9%", "0.999860"),
            (Cell::Pct(-31.84), "-31.8%", "-31.8"),
            (Cell::Pct(40.0), "+40.0%", "40.0"),
            (Cell::Empty, "-", ""),
            (Cell::Bytes(1536), "1.5 KiB", "1536"),
            (Cell::Avg(6799.6), "6,800", "6799.6"),
            (Cell::Ago(125_000), "2 min ago", "125000"),
        ];
        for (c, h, m) in cases {
            assert_eq!((c.human().as_str(), c.machine().as_str()), (h, m), "{c:?}");
        }
        assert_eq!(Cell::per(Nanos(10), 3), Cell::UsdFine(Nanos(3)));
        assert_eq!(Cell::per(Nanos(10), 0), Cell::Empty);
    }

    #[test]
    fn tables_sort_by_any_column_keeping_ties_in_report_order() {
        let t = Table {
            title: String::new(),
            columns: vec![Column::left("k", "K", 0), Column::right("n", "N", 1)],
            rows: [("b", 2), ("a", 5), ("c", 2)]
                .iter()
                .map(|(k, n)| Row { id: k.to_string(), cells: vec![Cell::text(*k), Cell::Count(*n)] })
                .collect(),
            total: None,
            notes: vec![],
        };
        assert_eq!(t.order_by(1, true), [1, 0, 2]);
        assert_eq!(t.order_by(1, false), [0, 2, 1]);
        assert_eq!(t.order_by(0, false), [1, 0, 2]);
    }
}
