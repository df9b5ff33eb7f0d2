//! Screen geometry, as pure functions of the terminal size and the state,
//! shared by rendering and mouse hit-testing.
//!
//! ```text
//! ┌ header: today · month to date · projection ───────────────┐
//! │ tabs: 1 Live  2 Ledger  3 Sources  4 Forecast              │
//! │ body (the tab)                                             │
//! │ notice (demo, errors)                                      │
//! └ status: ingest rate · tokenizer · db · window · tz · age ─┘
//! ```

use ratatui::layout::{Constraint, Layout, Rect};

use super::app::{App, Tab};

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
pub fn tab_label(i: usize, t: Tab) -> String {
    format!(" {} {} ", i + 1, t.title())
}

/// Where each tab label is drawn.
pub fn tab_rects(tabs: Rect) -> Vec<Rect> {
    let mut x = tabs.x + 1;
    Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let w = tab_label(i, *t).chars().count() as u16;
            let r = Rect { x, y: tabs.y, width: w.min(tabs.right().saturating_sub(x)), height: 1 };
            x += w + 1;
            r
        })
        .collect()
}

/// Height of one workflow pane in the Live tab.
pub const PANE_HEIGHT: u16 = 4;

/// The Live tab's panes: (workflow index, area), scrolled so that the
/// selected pane is visible. Two columns from 120 columns up.
pub fn live_panes(body: Rect, n: usize, selected: usize) -> Vec<(usize, Rect)> {
    let cols: usize = if body.width >= 120 { 2 } else { 1 };
    let rows_visible = (body.height / PANE_HEIGHT).max(1) as usize;
    let per_page = rows_visible * cols;
    let sel_row = selected / cols;
    let first_row = sel_row.saturating_sub(rows_visible - 1);
    let first = first_row * cols;
    let col_w = body.width / cols as u16;
    (first..n.min(first + per_page))
        .map(|i| {
            let k = i - first;
            let (r, c) = (k / cols, k % cols);
            let x = body.x + c as u16 * col_w;
            let w = if c + 1 == cols { body.right() - x } else { col_w };
            (i, Rect { x, y: body.y + r as u16 * PANE_HEIGHT, width: w, height: PANE_HEIGHT })
        })
        .collect()
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

pub fn hit(app: &App, x: u16, y: u16) -> Hit {
    let area = Rect { x: 0, y: 0, width: app.size.0, height: app.size.1 };
    let a = areas(area, app.status.notice.is_some());
    let inside = |r: Rect| x >= r.x && x < r.right() && y >= r.y && y < r.bottom();
    for (i, r) in tab_rects(a.tabs).into_iter().enumerate() {
        if inside(r) {
            return Hit::Tab(i);
        }
    }
    if !inside(a.body) {
        return Hit::None;
    }
    match app.tab {
        Tab::Live => {
            let n = app.snapshot.as_ref().map(|s| s.live.workflows.len()).unwrap_or(0);
            live_panes(a.body, n, app.live_selected)
                .into_iter()
                .find(|(_, r)| inside(*r))
                .map(|(i, _)| Hit::Row(i))
                .unwrap_or(Hit::None)
        }
        Tab::Ledger => {
            let (table, _) = ledger_split(a.body, app.ledger.drill.is_some());
            table_row_hit(table, true, app.ledger.selected, x, y)
        }
        Tab::Sources => {
            let (table, _) = sources_split(a.body);
            table_row_hit(table, false, app.sources_selected, x, y)
        }
        Tab::Forecast => Hit::None,
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
    let list_w = (body.width / 4).clamp(20, 36);
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

/// A rectangle centred in `area` (for the help overlay).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}
