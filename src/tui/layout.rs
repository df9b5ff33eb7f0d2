//! Screen geometry, as pure functions of the terminal size and a few
//! numbers of state, shared by rendering and mouse hit-testing.
//!
//! ```text
//! ┌ header: today · month to date · month end ·········· runaways · ? help ┐
//! │ tabs: 1 Live  2 Ledger  3 Sources  4 Forecast  5 Gate                  │
//! │ body (the tab)                                                         │
//! │ notice (demo, errors)                                                  │
//! └ status: ingest rate · tokenizer · db · window · tz · age               ┘
//! ```

use ratatui::layout::{Constraint, Layout, Rect};

/// The smallest terminal the cockpit draws in.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

pub fn too_small(width: u16, height: u16) -> bool {
    width < MIN_WIDTH || height < MIN_HEIGHT
}

pub struct Areas {
    pub header: Rect,
    pub tabs: Rect,
    pub body: Rect,
    pub notice: Rect,
    pub status: Rect,
}

pub fn areas(area: Rect, notice: bool) -> Areas {
    let [header, tabs, body, notice_r, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(if notice { 1 } else { 0 }),
        Constraint::Length(1),
    ])
    .areas(area);
    Areas { header, tabs, body, notice: notice_r, status }
}

/// The label of a tab in the tab bar.
pub fn tab_label(i: usize, title: &str) -> String {
    format!(" {} {} ", i + 1, title)
}

/// Where each tab label is drawn.
pub fn tab_rects(tabs: Rect, titles: &[&str]) -> Vec<Rect> {
    let mut x = tabs.x + 1;
    titles
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let w = tab_label(i, t).chars().count() as u16;
            let r = Rect { x, y: tabs.y, width: w.min(tabs.right().saturating_sub(x)), height: 1 };
            x += w;
            r
        })
        .collect()
}

/// The smallest height of a workflow pane in the Live tab (borders and
/// two lines of text); taller panes get a taller sparkline.
pub const PANE_HEIGHT: u16 = 4;
/// The tallest pane.
pub const PANE_MAX_HEIGHT: u16 = 9;

/// The Live tab's panes: (workflow index, area), scrolled so that the
/// selected pane is visible, and how many are not shown. Two columns from
/// 120 columns up; panes grow to use the height. The last line of the
/// body is left for what is not shown and the day's runaways.
pub fn live_panes(body: Rect, n: usize, selected: usize) -> (Vec<(usize, Rect)>, usize) {
    let cols: usize = if body.width >= 120 { 2 } else { 1 };
    let rows_needed = n.div_ceil(cols).max(1);
    let avail = body.height.saturating_sub(1);
    let fits = rows_needed as u16 * PANE_HEIGHT <= avail;
    let pane_h = if fits { (avail / rows_needed as u16).clamp(PANE_HEIGHT, PANE_MAX_HEIGHT) } else { PANE_HEIGHT };
    let rows_visible = ((avail / pane_h).max(1) as usize).min(rows_needed);
    let per_page = rows_visible * cols;
    let sel_row = selected / cols;
    let first_row = sel_row.saturating_sub(rows_visible - 1);
    let first = first_row * cols;
    let col_w = body.width / cols as u16;
    let shown: Vec<(usize, Rect)> = (first..n.min(first + per_page))
        .map(|i| {
            let k = i - first;
            let (r, c) = (k / cols, k % cols);
            let x = body.x + c as u16 * col_w;
            let w = if c + 1 == cols { body.right() - x } else { col_w };
            (i, Rect { x, y: body.y + r as u16 * pane_h, width: w, height: pane_h })
        })
        .collect();
    let hidden = n - shown.len();
    (shown, hidden)
}

/// The line under the Live panes that says which are shown.
pub fn live_more_line(body: Rect) -> Rect {
    Rect { x: body.x, y: body.bottom().saturating_sub(1), width: body.width, height: 1 }
}

/// The ledger table and the drill-down panel (if open).
pub fn ledger_split(body: Rect, drill: bool) -> (Rect, Option<Rect>) {
    if !drill {
        return (body, None);
    }
    if body.width >= 150 {
        let [t, d] = Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(body);
        (t, Some(d))
    } else {
        let [t, d] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
        (t, Some(d))
    }
}

/// The sources table and the rejects list below it.
pub fn sources_split(body: Rect) -> (Rect, Rect) {
    let [t, r] = Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
    (t, r)
}

/// The Gate tab: the recorded runs above (as tall as they need, up to
/// two fifths of the body), the selected run below.
pub fn gate_split(body: Rect, rows: usize) -> (Rect, Rect) {
    let most = (body.height * 2 / 5).max(5.min(body.height));
    let top = (rows as u16).saturating_add(3).clamp(5.min(body.height), most);
    let [t, d] = Layout::vertical([Constraint::Length(top), Constraint::Min(0)]).areas(body);
    (t, d)
}

/// Lines above the first data row of a bordered table with a header.
pub const TABLE_TOP: u16 = 2;

/// Rows that fit in a bordered table area (minus header and total row).
pub fn table_rows_visible(area: Rect, total_row: bool) -> usize {
    area.height.saturating_sub(TABLE_TOP + 1 + total_row as u16).max(1) as usize
}

/// First row shown so that `selected` is visible.
pub fn scroll_offset(selected: usize, visible: usize) -> usize {
    selected.saturating_sub(visible.saturating_sub(1))
}

/// What a mouse click at (x, y) is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hit {
    Tab(usize),
    Row(usize),
    None,
}

/// What hit-testing needs to know of the screen.
#[derive(Clone, Debug)]
pub struct Geometry {
    pub width: u16,
    pub height: u16,
    pub notice: bool,
    /// The tab shown (its index).
    pub tab: usize,
    /// The ledger has a drill-down open.
    pub drill: bool,
    /// Rows in the current list and the selected one.
    pub rows: usize,
    pub selected: usize,
}

/// Tab titles in order (kept here so that hit-testing and drawing agree).
pub const TAB_TITLES: [&str; 8] = ["Live", "Ledger", "Sources", "Forecast", "Gate", "RACI", "KPIs", "Levers"];

pub fn hit(g: &Geometry, x: u16, y: u16) -> Hit {
    let area = Rect { x: 0, y: 0, width: g.width, height: g.height };
    if too_small(g.width, g.height) {
        return Hit::None;
    }
    let a = areas(area, g.notice);
    let inside = |r: Rect| x >= r.x && x < r.right() && y >= r.y && y < r.bottom();
    for (i, r) in tab_rects(a.tabs, &TAB_TITLES).into_iter().enumerate() {
        if inside(r) {
            return Hit::Tab(i);
        }
    }
    if !inside(a.body) {
        return Hit::None;
    }
    match g.tab {
        0 => live_panes(a.body, g.rows, g.selected)
            .0
            .into_iter()
            .find(|(_, r)| inside(*r))
            .map(|(i, _)| Hit::Row(i))
            .unwrap_or(Hit::None),
        1 => {
            let (table, _) = ledger_split(a.body, g.drill);
            table_row_hit(table, true, g.selected, x, y)
        }
        2 => {
            let (table, _) = sources_split(a.body);
            table_row_hit(table, false, g.selected, x, y)
        }
        4 => {
            let (table, _) = gate_split(a.body, g.rows);
            table_row_hit(table, false, g.selected, x, y)
        }
        _ => Hit::None,
    }
}

/// The forecast tab: workflows | sliders and result, then saved
/// scenarios | daily spend with the trend.
pub struct ForecastAreas {
    pub list: Rect,
    pub scenario: Rect,
    pub saved: Rect,
    pub chart: Rect,
}

pub fn forecast_split(body: Rect) -> ForecastAreas {
    let top_h = 14.min(body.height.saturating_sub(6)).max(body.height.min(8));
    let [top, bottom] = Layout::vertical([Constraint::Length(top_h), Constraint::Min(0)]).areas(body);
    let list_w = (body.width / 3).clamp(24, 40);
    let [list, scenario] = Layout::horizontal([Constraint::Length(list_w), Constraint::Min(0)]).areas(top);
    let saved_pct = if body.width < 100 { 50 } else { 40 };
    let [saved, chart] =
        Layout::horizontal([Constraint::Percentage(saved_pct), Constraint::Percentage(100 - saved_pct)]).areas(bottom);
    ForecastAreas { list, scenario, saved, chart }
}

fn table_row_hit(table: Rect, total_row: bool, selected: usize, x: u16, y: u16) -> Hit {
    let visible = table_rows_visible(table, total_row);
    let first_y = table.y + TABLE_TOP;
    if x < table.x || x >= table.right() || y < first_y || y >= first_y + visible as u16 {
        return Hit::None;
    }
    Hit::Row(scroll_offset(selected, visible) + (y - first_y) as usize)
}

/// A rectangle centred in `area` (for overlays).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(w: u16, h: u16) -> Rect {
        Rect { x: 0, y: 2, width: w, height: h }
    }

    #[test]
    fn panes_use_the_height_and_say_what_is_hidden() {
        // 6 panes in two columns at 120x40 (body 36 rows, 35 for panes):
        // 3 rows of 9.
        let (shown, hidden) = live_panes(body(120, 36), 6, 0);
        assert_eq!((shown.len(), hidden), (6, 0));
        assert_eq!(shown[0].1.height, 9);
        // 6 panes in one column at 80x24 (body 20 rows): 4 shown, a line left.
        let (shown, hidden) = live_panes(body(80, 20), 6, 0);
        assert_eq!((shown.len(), hidden), (4, 2));
        assert!(shown.iter().all(|(_, r)| r.bottom() <= live_more_line(body(80, 20)).y));
        // Selecting the last scrolls to it.
        let (shown, _) = live_panes(body(80, 20), 6, 5);
        assert_eq!(shown.last().unwrap().0, 5);
    }

    #[test]
    fn small_terminals_are_refused() {
        assert!(too_small(59, 24));
        assert!(too_small(80, 15));
        assert!(!too_small(60, 16));
    }
}
