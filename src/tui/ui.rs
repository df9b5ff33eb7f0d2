//! Rendering: `render(frame, &app)` lays out view models; it reads state
//! and never changes it, never queries, never formats numbers itself.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Cell, Clear, Paragraph, Row, Sparkline, Table, Wrap};

use super::app::{App, PromptKind, Tab};
use super::layout::{self, Areas};
use super::theme::Theme;
use super::view::{self, TableVm};
use crate::domain::sanitize::{clean, clean_truncated};
use crate::reports::table::{Align, thousands};

pub fn render(f: &mut Frame, app: &App, theme: &Theme) {
    let area = f.area();
    if layout::too_small(area.width, area.height) {
        let msg = format!(
            "terminal too small: need {}x{} (now {}x{})",
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT,
            area.width,
            area.height
        );
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    }
    let notice = app.notice();
    let a = layout::areas(area, notice.is_some());
    header(f, app, theme, &a);
    tabs(f, app, theme, &a);
    match app.tab {
        Tab::Live => live(f, app, theme, a.body),
        Tab::Ledger => ledger(f, app, theme, a.body),
        Tab::Sources => sources(f, app, theme, a.body),
        Tab::Forecast => forecast(f, app, theme, a.body),
        Tab::Gate => gate(f, app, theme, a.body),
        Tab::Raci => raci(f, app, theme, a.body),
        Tab::Kpis => kpis(f, app, theme, a.body),
        Tab::Levers => levers(f, app, theme, a.body),
    }
    if let Some(n) = notice {
        let style = if app.query_error.is_some() { theme.alert() } else { theme.warn() };
        let text = clean_truncated(&format!(" {}", clean(&n)), a.notice.width as usize);
        f.render_widget(Paragraph::new(Span::styled(text, style)), a.notice);
    }
    let status = clean_truncated(&view::status_line(app), a.status.width as usize);
    f.render_widget(Paragraph::new(Span::styled(status, theme.dim())), a.status);
    if let Some(p) = &app.prompt {
        prompt(f, theme, p, a.body);
    }
    if app.help {
        help(f, theme, area);
    }
}

/// The header: the figures on the left (cut with `…` when short of room),
/// the runaway count and `? help` always at the right end.
fn header(f: &mut Frame, app: &App, theme: &Theme, a: &Areas) {
    let mut right = Vec::new();
    let runaways = app.snapshot.as_ref().map(|s| s.live.runaways().count()).unwrap_or(0);
    if runaways > 0 {
        right.push(Span::styled(
            format!(" ▲ {runaways} runaway{} ", if runaways == 1 { "" } else { "s" }),
            theme.alert(),
        ));
    }
    if let Some((page, text)) = view::budget_status(app) {
        right.push(Span::styled(text, if page { theme.alert() } else { theme.dim() }));
    }
    right.push(Span::styled(" ? help ", theme.dim()));
    let right_w: u16 = right.iter().map(|s| s.content.chars().count() as u16).sum();
    let [left_r, right_r] = Layout::horizontal([Constraint::Min(0), Constraint::Length(right_w)]).areas(a.header);
    let width = left_r.width as usize;
    let spans: Vec<(String, Style)> = match &app.snapshot {
        Some(s) => {
            let h = crate::reports::live::header(&s.live);
            let sep = || (" │ ".to_string(), Style::default());
            let month_end = |band: bool| {
                if band && !h.band.is_empty() { format!("{} ({})", h.month_end, h.band) } else { h.month_end.clone() }
            };
            // The fullest form that fits: the run rate goes first, then
            // the band, then the long labels.
            let variants: Vec<Vec<(String, Style)>> =
                [(true, true, true), (true, true, false), (true, false, false), (false, false, false)]
                    .iter()
                    .map(|(long, band, rate)| {
                        let mut v = vec![
                            (" aifin ".into(), theme.title()),
                            ("│ today ".into(), Style::default()),
                            (h.today.clone(), theme.money()),
                            (if *long { " │ month to date " } else { " │ mtd " }.to_string(), Style::default()),
                            (h.month.clone(), theme.money()),
                            sep(),
                            (month_end(*band), theme.money()),
                        ];
                        if *rate {
                            v.push(sep());
                            v.push((h.run_rate.clone(), theme.dim()));
                        }
                        v
                    })
                    .collect();
            let len = |v: &Vec<(String, Style)>| v.iter().map(|(t, _)| t.chars().count()).sum::<usize>();
            let n = variants.len();
            variants
                .into_iter()
                .enumerate()
                .find(|(i, v)| len(v) <= width || *i == n - 1)
                .map(|(_, v)| v)
                .unwrap_or_default()
        }
        None => match &app.query_error {
            Some(e) => vec![(" aifin ".into(), theme.title()), (format!("│ {}", clean(e)), theme.alert())],
            None => vec![(" aifin ".into(), theme.title()), ("│ loading the ledger…".into(), theme.dim())],
        },
    };
    f.render_widget(Paragraph::new(Line::from(cut_spans(spans, width))), left_r);
    f.render_widget(Paragraph::new(Line::from(right)), right_r);
}

/// Spans cut to `width` characters, the last one ending with `…`.
fn cut_spans(spans: Vec<(String, Style)>, width: usize) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut used = 0;
    for (text, style) in spans {
        let n = text.chars().count();
        if used + n <= width {
            used += n;
            out.push(Span::styled(text, style));
        } else {
            let room = width.saturating_sub(used);
            if room > 0 {
                out.push(Span::styled(clean_truncated(&text, room), style));
            }
            break;
        }
    }
    out
}

fn tabs(f: &mut Frame, app: &App, theme: &Theme, a: &Areas) {
    for (i, (t, r)) in Tab::ALL.iter().zip(layout::tab_rects(a.tabs, &layout::TAB_TITLES)).enumerate() {
        let style = if *t == app.tab { theme.tab_active() } else { theme.dim() };
        f.render_widget(Paragraph::new(Span::styled(layout::tab_label(i, t.title()), style)), r);
    }
}

fn live(f: &mut Frame, app: &App, theme: &Theme, body: Rect) {
    let Some(s) = &app.snapshot else { return };
    // Firing budget alerts first, with the people to call.
    let alerts = view::alert_lines(app);
    let body = if alerts.is_empty() {
        body
    } else {
        let n = alerts.len().min(3) as u16;
        let [top, rest] = Layout::vertical([Constraint::Length(n), Constraint::Min(0)]).areas(body);
        let mut lines: Vec<Line> = alerts
            .iter()
            .take(n as usize)
            .map(|(page, t)| {
                Line::from(Span::styled(
                    clean_truncated(&format!(" {t}"), top.width as usize),
                    if *page { theme.alert() } else { theme.warn() },
                ))
            })
            .collect();
        if alerts.len() > n as usize {
            lines.pop();
            lines.push(Line::from(Span::styled(
                format!(" … {} more budget alerts (aifin alerts)", alerts.len() - n as usize + 1),
                theme.warn(),
            )));
        }
        f.render_widget(Paragraph::new(lines), top);
        rest
    };
    let ids = app.list_ids();
    if ids.is_empty() {
        let msg = if app.filter.is_some() {
            "No workflow matches the filter (Esc clears it).".to_string()
        } else if app.status.catching_up {
            format!("Reading the sources… {} lines so far", thousands(app.status.ingest_lines as i64))
        } else {
            "No calls in the last 24 hours. Waiting for new lines in the followed sources…".to_string()
        };
        f.render_widget(Paragraph::new(Span::styled(msg, theme.dim())).block(Block::bordered()), body);
        return;
    }
    let panes: Vec<&crate::reports::live::LiveWorkflow> =
        ids.iter().filter_map(|id| s.live.workflows.iter().find(|w| &w.workflow == id)).collect();
    let selected = app.selected_index();
    let (shown, hidden) = layout::live_panes(body, panes.len(), selected);
    let wide = body.width >= 100;
    for (i, r) in &shown {
        let inside = usize::from(r.width.saturating_sub(2));
        let vm = view::pane_vm(
            panes[*i],
            s.live.last_24h,
            wide && r.width >= 90,
            inside,
            s.operate.owner_of(&panes[*i].workflow),
        );
        let is_sel = *i == selected;
        let mut block = Block::bordered().title(Span::styled(format!(" {} ", vm.title), theme.bold()));
        if let Some(badge) = &vm.badge {
            block = block
                .border_style(theme.alert())
                .title_top(Line::from(Span::styled(badge.clone(), theme.alert())).right_aligned());
            if let Some(reason) = &vm.alert {
                block = block.title_bottom(Line::from(Span::styled(format!(" {reason} "), theme.alert())));
            }
        } else if is_sel {
            block = block.border_style(theme.title());
        }
        if is_sel {
            block = block.title_bottom(Line::from(Span::styled(" selected ", theme.title())).right_aligned());
        }
        let inner = block.inner(*r);
        f.render_widget(block, *r);
        let [l1, l2, spark] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        f.render_widget(Paragraph::new(vm.line1), l1);
        // Short panes put the sparkline beside the second line.
        let (l2, spark) = if spark.height == 0 {
            let text_w = (vm.line2.chars().count() as u16 + 2).min(l2.width.saturating_sub(12));
            let [t, s] = Layout::horizontal([Constraint::Length(text_w), Constraint::Min(0)]).areas(l2);
            (t, s)
        } else {
            (l2, spark)
        };
        f.render_widget(Paragraph::new(Span::styled(vm.line2.clone(), theme.dim())), l2);
        let n = spark.width as usize;
        let data: Vec<u64> = vm.spark.iter().skip(vm.spark.len().saturating_sub(n)).copied().collect();
        f.render_widget(
            Sparkline::default().data(data).max(vm.spark_max.max(1)).style(if vm.alert.is_some() {
                theme.alert()
            } else {
                theme.spark()
            }),
            spark,
        );
    }
    let mut bottom: Vec<Span> = Vec::new();
    if hidden > 0 {
        let first = shown.first().map(|(i, _)| i + 1).unwrap_or(0);
        let last = shown.last().map(|(i, _)| i + 1).unwrap_or(0);
        let hidden_runaways =
            panes.iter().enumerate().filter(|(i, w)| w.runaway.is_some() && !shown.iter().any(|(j, _)| j == i)).count();
        let mut text = format!(" [{first}–{last}/{}] · {hidden} more (↑ ↓ to scroll)", panes.len());
        let style = if hidden_runaways > 0 {
            text.push_str(&format!(" · {hidden_runaways} runaway not shown"));
            theme.alert()
        } else {
            theme.dim()
        };
        bottom.push(Span::styled(text, style));
    }
    if !s.live.runaway_events.is_empty() {
        let list: Vec<String> =
            s.live.runaway_events.iter().rev().map(|e| crate::reports::live::runaway_line(e, &app.tz)).collect();
        bottom.push(Span::styled(format!(" runaways in 24 h: {}", clean(&list.join(" · "))), theme.warn()));
    }
    if !bottom.is_empty() {
        let spans = bottom.into_iter().map(|s| (s.content.to_string(), s.style)).collect();
        f.render_widget(
            Paragraph::new(Line::from(cut_spans(spans, body.width as usize))),
            layout::live_more_line(body),
        );
    }
}

fn table(f: &mut Frame, theme: &Theme, area: Rect, vm: &TableVm, selected: Option<usize>) {
    table_styled(f, theme, area, vm, selected, &|_, _| None);
}

/// A table whose cells may carry a style of their own (row, column).
fn table_styled(
    f: &mut Frame,
    theme: &Theme,
    area: Rect,
    vm: &TableVm,
    selected: Option<usize>,
    style_of: &dyn Fn(usize, usize) -> Option<Style>,
) {
    let visible = layout::table_rows_visible(area, vm.total.is_some());
    let offset = selected.map(|s| layout::scroll_offset(s, visible)).unwrap_or(0);
    let cell = |text: &str, right: bool| -> Cell<'static> {
        let line = Line::from(text.to_string());
        Cell::from(if right { line.right_aligned() } else { line })
    };
    let header = Row::new(vm.headers.iter().zip(&vm.right).map(|(h, r)| cell(h, *r))).style(theme.bold());
    let mut rows: Vec<Row> = vm
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(visible)
        .map(|(i, r)| {
            let row = Row::new(r.iter().zip(&vm.right).enumerate().map(|(j, (c, ri))| match style_of(i, j) {
                Some(st) => cell(c, *ri).style(st),
                None => cell(c, *ri),
            }));
            if Some(i) == selected { row.style(theme.selected()) } else { row }
        })
        .collect();
    if let Some(t) = &vm.total {
        rows.push(Row::new(t.iter().zip(&vm.right).map(|(c, ri)| cell(c, *ri))).style(theme.bold()));
    }
    let widths: Vec<Constraint> = vm
        .widths
        .iter()
        .enumerate()
        .map(|(i, w)| if i == 0 { Constraint::Min(*w) } else { Constraint::Length(*w) })
        .collect();
    let room = area.width.saturating_sub(4) as usize;
    let below = vm.rows.len().saturating_sub(offset + visible);
    let more = match (offset, below) {
        (0, 0) => String::new(),
        (0, b) => format!(" {b} more below "),
        (a, 0) => format!(" {a} more above "),
        (a, b) => format!(" {a} above · {b} below "),
    };
    let title_room = room.saturating_sub(more.chars().count());
    let mut block =
        Block::bordered().title(Span::styled(format!(" {} ", clean_truncated(&vm.title, title_room)), theme.title()));
    if !more.is_empty() {
        block = block.title_top(Line::from(Span::styled(more, theme.warn())).right_aligned());
    }
    if !vm.footer.is_empty() {
        block = block
            .title_bottom(Line::from(Span::styled(format!(" {} ", clean_truncated(&vm.footer, room)), theme.dim())));
    }
    f.render_widget(Table::new(rows, widths).header(header).block(block).column_spacing(1), area);
}

fn ledger(f: &mut Frame, app: &App, theme: &Theme, body: Rect) {
    let Some(s) = &app.snapshot else { return };
    let (t, d) = layout::ledger_split(body, app.ledger.drill.is_some());
    let vm = view::ledger_vm(&s.ledger, &app.ledger, app.filter.as_deref(), t.width);
    table(f, theme, t, &vm, Some(app.selected_index()));
    let (Some(area), Some(drill)) = (d, &s.drill) else { return };
    let block = Block::bordered();
    let inner = block.inner(area);
    // Two rows when there is height; else the breakdowns, then the
    // composition, and the chart only when it has room. Names get the
    // width first.
    let tall = inner.height >= 16;
    let n = drill.breakdowns.len().max(1) as u16;
    let [summary, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let (breakdown_area, lower) = if tall {
        let [b, l] = Layout::vertical([Constraint::Length(10), Constraint::Min(0)]).areas(rest);
        (b, l)
    } else {
        let [b, l] = Layout::horizontal([Constraint::Percentage(64), Constraint::Percentage(36)]).areas(rest);
        (b, l)
    };
    let dv = view::drill_vm(drill, s.ledger.by(), breakdown_area.width / n);
    f.render_widget(block.title(Span::styled(format!(" {} ", dv.title), theme.title())), area);
    f.render_widget(Paragraph::new(Span::styled(dv.summary.clone(), theme.bold())), summary);
    let section = |title: &str, lines: &[String]| -> Paragraph<'static> {
        let mut text = vec![Line::from(Span::styled(title.to_string(), theme.bold()))];
        text.extend(lines.iter().map(|l| Line::from(l.clone())));
        Paragraph::new(text)
    };
    let cols = Layout::horizontal(vec![Constraint::Ratio(1, n as u32); n as usize]).split(breakdown_area);
    for ((title, lines), col) in dv.sections.iter().zip(cols.iter()) {
        f.render_widget(section(title, lines), *col);
    }
    let [comp, trend] = Layout::horizontal([Constraint::Length(24), Constraint::Min(0)]).areas(lower);
    f.render_widget(section(&dv.composition.0, &dv.composition.1), comp);
    if trend.width < 16 {
        return;
    }
    // The whole window's days; when they do not fit, the latest.
    let fit = (trend.width / 3).max(1) as usize;
    let bars: Vec<Bar> = dv
        .daily
        .iter()
        .skip(dv.daily.len().saturating_sub(fit))
        .map(|(label, v)| Bar::default().value(*v).label(Line::from(label.clone())).text_value(String::new()))
        .collect();
    let per_bar = (trend.width / (bars.len().max(1) as u16)).clamp(3, 6);
    let title = if dv.daily.len() > fit {
        format!("Cost per day · last {fit} of {} days", dv.daily.len())
    } else {
        format!("Cost per day · {} days", dv.daily.len())
    };
    let chart = BarChart::default()
        .block(
            Block::default()
                .borders(Borders::NONE)
                .title(Span::styled(clean_truncated(&title, trend.width as usize), theme.bold())),
        )
        .data(BarGroup::default().bars(&bars))
        .bar_width(per_bar - 1)
        .bar_gap(1)
        .bar_style(theme.spark());
    f.render_widget(chart, trend);
}

fn sources(f: &mut Frame, app: &App, theme: &Theme, body: Rect) {
    let Some(s) = &app.snapshot else { return };
    let (t, r) = layout::sources_split(body);
    let vm = view::sources_vm(&s.sources.report, app.filter.as_deref(), t.width);
    table(f, theme, t, &vm, Some(app.selected_index()));
    let title = format!(" Latest rejected lines · {} in all ", thousands(s.sources.reject_total as i64));
    let reason_w = (r.width as usize).saturating_sub(30).clamp(20, 80) / 2;
    let lines: Vec<Line> = if s.sources.rejects.is_empty() {
        vec![Line::from(Span::styled("No rejected lines.", theme.dim()))]
    } else {
        s.sources.rejects.iter().map(|x| Line::from(crate::reports::sources::reject_line(x, reason_w))).collect()
    };
    f.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(title, theme.title())))
            .wrap(Wrap { trim: true }),
        r,
    );
}

/// A slider track `width` cells wide: the zero mark and the knob.
fn track(s: &view::SliderVm, width: usize) -> String {
    let cells = width.max(3);
    let at = |x: f64| ((x * (cells - 1) as f64).round() as usize).min(cells - 1);
    let (knob, zero) = (at(s.pos), at(s.zero));
    (0..cells)
        .map(|i| {
            if i == knob {
                '●'
            } else if i == zero {
                '┼'
            } else {
                '─'
            }
        })
        .collect()
}

fn forecast(f: &mut Frame, app: &App, theme: &Theme, body: Rect) {
    let a = layout::forecast_split(body);
    let Some(vm) = view::forecast_vm(app) else {
        let msg = if app.snapshot.as_ref().is_some_and(|s| s.forecast.is_some()) {
            if app.filter.is_some() {
                "No workflow matches the filter (Esc clears it)."
            } else {
                "No calls in the last 30 days to forecast from."
            }
        } else {
            "Loading the forecast…"
        };
        f.render_widget(Paragraph::new(Span::styled(msg, theme.dim())).block(Block::bordered()), body);
        return;
    };
    // Workflows.
    let visible = a.list.height.saturating_sub(2) as usize;
    let offset = layout::scroll_offset(vm.selected_item, visible);
    let name_w = (a.list.width as usize).saturating_sub(13).max(4);
    let lines: Vec<Line> = vm
        .items
        .iter()
        .enumerate()
        .skip(offset)
        .take(visible)
        .map(|(i, (name, cost))| {
            let text = format!("{:<name_w$} {cost:>10}", clean_truncated(name, name_w));
            if i == vm.selected_item { Line::styled(text, theme.selected()) } else { Line::raw(text) }
        })
        .collect();
    let mut list_block = Block::bordered().title(Span::styled(" Workflows [ ] ", theme.title()));
    let below = vm.items.len().saturating_sub(offset + visible);
    if below > 0 {
        list_block = list_block.title_bottom(Line::from(Span::styled(format!(" {below} more below "), theme.warn())));
    }
    f.render_widget(Paragraph::new(lines).block(list_block), a.list);

    // Sliders and the projection.
    let block = Block::bordered().title(Span::styled(
        format!(" {} ", clean_truncated(&vm.title, a.scenario.width.saturating_sub(4) as usize)),
        theme.title(),
    ));
    let inner = block.inner(a.scenario);
    f.render_widget(block, a.scenario);
    let n = vm.sliders.len() as u16;
    let [sl, res] = Layout::vertical([Constraint::Length(n + 1), Constraint::Min(0)]).areas(inner);
    let note_w = vm.sliders.iter().map(|s| s.note.chars().count()).max().unwrap_or(0) + 1;
    let track_w = (sl.width as usize).saturating_sub(25 + note_w).clamp(6, 40);
    let mut lines: Vec<Line> = vm
        .sliders
        .iter()
        .map(|s| {
            let mark = if s.selected { "▶ " } else { "  " };
            let style = if s.selected { theme.bold() } else { Style::default() };
            Line::from(vec![
                Span::styled(format!("{mark}{:<16}{:>6} ", s.name, s.value), style),
                Span::styled(track(s, track_w), if s.selected { theme.spark() } else { theme.dim() }),
                Span::styled(format!(" {}", s.note), theme.dim()),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    f.render_widget(Paragraph::new(lines), sl);
    // The projection table: label, current, scenario.
    let t = &vm.table;
    let label_w = t.rows.iter().map(|r| r.cells[0].human().chars().count()).max().unwrap_or(0);
    let cur_w = t.columns[1].title.chars().count().max(12);
    let mut out: Vec<Line> = vec![Line::from(Span::styled(
        format!("{:<label_w$} {:>cur_w$} {:>12}", "", t.columns[1].title, t.columns[2].title),
        theme.bold(),
    ))];
    for r in &t.rows {
        let cells: Vec<String> = r.cells.iter().map(|c| c.human()).collect();
        let style = if r.id == "projected_monthly_cost_usd" { theme.money() } else { Style::default() };
        out.push(Line::from(vec![
            Span::raw(format!("{:<label_w$} {:>cur_w$} ", cells[0], cells[1])),
            Span::styled(format!("{:>12}", cells[2]), style),
        ]));
    }
    debug_assert!(t.columns.iter().skip(1).all(|c| c.align == Align::Right));
    out.push(Line::from(Span::styled(vm.levers.clone(), theme.dim())));
    f.render_widget(Paragraph::new(out), res);

    // Saved scenarios: a comparison table with a bar per row.
    let block = Block::bordered().title(Span::styled(" Saved scenarios (a: save, x: clear) ", theme.title()));
    let inner = block.inner(a.saved);
    f.render_widget(block, a.saved);
    let w = inner.width as usize;
    // Cost (9) and delta (6) with their spaces take 18 cells; the rest is
    // shared by the label, the changes and the bar.
    let rest = w.saturating_sub(18);
    let label_w = (rest * 35 / 100).clamp(4, 20);
    let changes_w = (rest * 35 / 100).clamp(4, 22);
    let bar_w = rest.saturating_sub(label_w + changes_w);
    let lines: Vec<Line> = vm
        .saved
        .iter()
        .map(|r| {
            let label = clean_truncated(&r.label, label_w);
            let changes = clean_truncated(&r.changes, changes_w);
            let bar = "█".repeat((r.frac * bar_w as f64).round() as usize);
            Line::from(vec![
                Span::raw(format!("{label:<label_w$} {changes:<changes_w$} ")),
                Span::styled(format!("{:>9}", r.cost), theme.money()),
                Span::raw(format!(" {:>6} ", r.delta)),
                Span::styled(bar, theme.spark()),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);

    // Daily spend, the trend and its band.
    let title = Span::styled(
        format!(
            " {} ",
            clean_truncated(
                "Daily spend · trend to month end (line), P10 and P90 (dots)",
                a.chart.width.saturating_sub(4) as usize
            )
        ),
        theme.title(),
    );
    match &vm.chart {
        Some(c) => {
            use ratatui::symbols::Marker;
            use ratatui::widgets::{Axis, Chart, Dataset, GraphType};
            let sets = vec![
                Dataset::default()
                    .name("spend")
                    .marker(Marker::Braille)
                    .graph_type(GraphType::Line)
                    .style(theme.money())
                    .data(&c.actual),
                Dataset::default()
                    .name("trend")
                    .marker(Marker::Braille)
                    .graph_type(GraphType::Line)
                    .style(theme.bold())
                    .data(&c.expected),
                Dataset::default()
                    .name("P10")
                    .marker(Marker::Dot)
                    .graph_type(GraphType::Scatter)
                    .style(theme.dim())
                    .data(&c.p10),
                Dataset::default()
                    .name("P90")
                    .marker(Marker::Dot)
                    .graph_type(GraphType::Scatter)
                    .style(theme.dim())
                    .data(&c.p90),
            ];
            let room = a.chart.width.saturating_sub(4) as usize;
            let block = Block::bordered().title(title).title_bottom(Line::from(Span::styled(
                format!(" {} ", clean_truncated(&c.summary, room)),
                theme.dim(),
            )));
            let inner = block.inner(a.chart);
            f.render_widget(block, a.chart);
            let [plot, acc] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
            let chart = Chart::new(sets)
                .x_axis(Axis::default().bounds([0.0, c.x_max]).labels(c.x_labels.iter().map(|l| Span::raw(l.clone()))))
                .y_axis(Axis::default().bounds([0.0, c.y_max]).labels(c.y_labels.iter().map(|l| Span::raw(l.clone()))))
                .legend_position(None);
            f.render_widget(chart, plot);
            f.render_widget(
                Paragraph::new(Span::styled(clean_truncated(&c.accuracy, acc.width as usize), theme.dim())),
                acc,
            );
        }
        None => f.render_widget(
            Paragraph::new(Span::styled("No daily history yet.", theme.dim())).block(Block::bordered().title(title)),
            a.chart,
        ),
    }
}

fn gate(f: &mut Frame, app: &App, theme: &Theme, body: Rect) {
    let Some(vm) = view::gate_vm(app, body.width) else { return };
    let (top, bottom) = layout::gate_split(body, vm.history.rows.len());
    if vm.history.rows.is_empty() {
        let msg = if app.filter.is_some() {
            "No gate run matches the filter (Esc clears it)."
        } else {
            "No gate run recorded yet: aifin gate --evals FILE... --record [--workflow W] [--lever L]"
        };
        let block = Block::bordered().title(Span::styled(format!(" {} ", vm.history.title), theme.title()));
        f.render_widget(Paragraph::new(Span::styled(msg, theme.dim())).block(block).wrap(Wrap { trim: true }), body);
        return;
    }
    let decision_col = vm.history.headers.iter().position(|h| h == "Decision");
    let history = &vm.history;
    let style_of = |i: usize, j: usize| -> Option<Style> {
        (Some(j) == decision_col).then(|| match history.rows[i][j].as_str() {
            "Promote" => theme.good(),
            _ => theme.alert(),
        })
    };
    table_styled(f, theme, top, history, Some(app.selected_index()), &style_of);
    let Some(d) = &vm.detail else { return };
    if let Some(cases) = &d.cases {
        table(f, theme, bottom, cases, None);
        return;
    }
    let rows_h = (d.configs.rows.len() as u16 + 3).min(bottom.height);
    let [t, r] = Layout::vertical([Constraint::Length(rows_h), Constraint::Min(0)]).areas(bottom);
    let col = d.configs.headers.iter().position(|h| h == "Decision");
    let style_of = |i: usize, j: usize| -> Option<Style> {
        if Some(j) != col {
            return None;
        }
        d.decisions.get(i).copied().flatten().map(|ok| if ok { theme.good() } else { theme.alert() })
    };
    table_styled(f, theme, t, &d.configs, d.candidate_row, &style_of);
    let lines: Vec<Line> = d
        .reasons
        .iter()
        .map(|x| {
            Line::from(Span::styled(
                clean(x).into_owned(),
                if x.starts_with("  ") { theme.dim() } else { Style::default() },
            ))
        })
        .chain(std::iter::once(Line::from(Span::styled(
            "Enter: the cases the candidate lost · Esc: back",
            theme.dim(),
        ))))
        .collect();
    f.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(" Why ", theme.title())))
            .wrap(Wrap { trim: false }),
        r,
    );
}

fn raci(f: &mut Frame, app: &App, theme: &Theme, body: Rect) {
    let Some(vm) = view::raci_vm(app, body.width) else { return };
    let matrix_h = (vm.matrix.rows.len() as u16 + 3).min(body.height);
    let msg_h = (vm.messages.len() as u16).min(body.height.saturating_sub(matrix_h + 4) / 2);
    let [m, msgs, owners] =
        Layout::vertical([Constraint::Length(matrix_h), Constraint::Length(msg_h), Constraint::Min(0)]).areas(body);
    // Letters in colour and in text, so NO_COLOR loses nothing.
    let letters = &vm.letters;
    let style_of = |i: usize, j: usize| -> Option<Style> {
        let l = letters.get(i)?.get(j.checked_sub(1)?)?.as_ref()?;
        Some(match *l {
            "A" => theme.alert(),
            "R" => theme.good(),
            "C" => theme.warn(),
            _ => theme.dim(),
        })
    };
    table_styled(f, theme, m, &vm.matrix, None, &style_of);
    let lines: Vec<Line> = vm
        .messages
        .iter()
        .take(msg_h as usize)
        .map(|(bad, t)| {
            Line::from(Span::styled(
                clean_truncated(&format!(" {t}"), msgs.width as usize),
                if *bad { theme.warn() } else { theme.dim() },
            ))
        })
        .collect();
    f.render_widget(Paragraph::new(lines), msgs);
    table(f, theme, owners, &vm.owners, Some(app.selected_index()));
}

fn kpis(f: &mut Frame, app: &App, theme: &Theme, body: Rect) {
    let Some(vm) = view::kpis_vm(app, body.width) else {
        let msg = "Reading the KPI board…";
        f.render_widget(Paragraph::new(Span::styled(msg, theme.dim())).block(Block::bordered()), body);
        return;
    };
    let status_style = |s: &str| match s {
        "ok" | "done" => Some(theme.good()),
        "warn" | "in_progress" => Some(theme.warn()),
        "breach" => Some(theme.alert()),
        _ => Some(theme.dim()),
    };
    let kpi_h = (vm.kpis.rows.len() as u16 + 3).min(body.height);
    let rollout_h = (vm.rollout.rows.len() as u16 + 3).min(body.height.saturating_sub(kpi_h));
    let budgets_h = vm.budgets.as_ref().map(|b| b.rows.len() as u16 + 3).unwrap_or(0);
    let budgets_h = if body.height >= kpi_h + rollout_h + budgets_h { budgets_h } else { 0 };
    let [k, r, b] =
        Layout::vertical([Constraint::Length(kpi_h), Constraint::Length(rollout_h), Constraint::Length(budgets_h)])
            .areas(body);
    let col = vm.kpis.headers.iter().position(|h| h == "Status");
    let statuses = &vm.statuses;
    let kstyle = |i: usize, j: usize| if Some(j) == col { statuses.get(i).and_then(|s| status_style(s)) } else { None };
    table_styled(f, theme, k, &vm.kpis, Some(app.selected_index()), &kstyle);
    let col = vm.rollout.headers.iter().position(|h| h == "Status");
    let steps = &vm.steps;
    let rstyle = |i: usize, j: usize| if Some(j) == col { steps.get(i).and_then(|s| status_style(s)) } else { None };
    table_styled(f, theme, r, &vm.rollout, None, &rstyle);
    if let Some(bt) = &vm.budgets
        && budgets_h > 0
    {
        table(f, theme, b, bt, None);
    }
}

/// The Levers tab: each lever's switch, setting, saving alone and
/// evidence; the composed saving against the naive sum as bars; the
/// replay per workflow. The last result stays while a new one runs.
fn levers(f: &mut Frame, app: &App, theme: &Theme, body: Rect) {
    let vm = view::levers_vm(app, body.width);
    let bars_h = if vm.bars.is_empty() { 0 } else { vm.bars.len() as u16 + 2 };
    let [top, bars, rest] =
        Layout::vertical([Constraint::Length(6), Constraint::Length(bars_h), Constraint::Min(0)]).areas(body);
    let w = top.width.saturating_sub(2) as usize;
    let sw = vm.rows.iter().map(|r| r.setting.chars().count()).max().unwrap_or(0);
    let vw = vm.rows.iter().map(|r| r.saving.chars().count()).max().unwrap_or(0);
    let lines: Vec<Line> = vm
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mark = if i == vm.selected { "▶" } else { " " };
            let check = if r.on { "[x]" } else { "[ ]" };
            let ev_style = match r.evidence {
                "proven" => theme.good(),
                "rejected" => theme.alert(),
                _ => theme.dim(),
            };
            let head = format!("{mark} {check} {:<11} {:<sw$}  {:<vw$} ", r.name, r.setting, r.saving);
            let spans = vec![
                (head, if i == vm.selected { theme.selected() } else { Style::default() }),
                (r.evidence.to_string(), ev_style),
            ];
            Line::from(cut_spans(spans, w))
        })
        .collect();
    let title = clean_truncated(&format!(" Levers · {} ", vm.status), w);
    let style = if vm.running { theme.warn() } else { theme.title() };
    f.render_widget(Paragraph::new(lines).block(Block::bordered().title(Span::styled(title, style))), top);
    if bars_h > 0 {
        let inner = bars.width.saturating_sub(2) as usize;
        let room = inner.saturating_sub(12 + 24).max(4);
        let lines: Vec<Line> = vm
            .bars
            .iter()
            .map(|b| {
                let n = (b.share * room as f64).round() as usize;
                let text = format!("{:<10} {:<room$} {}", b.label, "█".repeat(n), b.text);
                Line::from(Span::raw(clean_truncated(&text, inner)))
            })
            .collect();
        let block = Block::bordered().title(Span::styled(" Saving: composed vs naive sum ", theme.title()));
        f.render_widget(Paragraph::new(lines).block(block), bars);
    }
    match &vm.table {
        Some(t) => table(f, theme, rest, t, None),
        None => {
            f.render_widget(Paragraph::new(Span::styled(vm.status.clone(), theme.dim())).block(Block::bordered()), rest)
        }
    }
}

fn prompt(f: &mut Frame, theme: &Theme, p: &super::app::Prompt, body: Rect) {
    let (title, hint) = match p.kind {
        PromptKind::Filter => (" Filter ", "type to filter · Enter keeps it · Esc clears"),
        PromptKind::Range => (" Window ", "SINCE..UNTIL, e.g. 2026-10-01..2026-10-31 or 7d..now · Enter · Esc"),
        PromptKind::Export => return export_dialog(f, theme, p, body),
    };
    let r = Rect { x: body.x, y: body.bottom().saturating_sub(3), width: body.width, height: 3.min(body.height) };
    let mut block = Block::bordered().title(Span::styled(title, theme.title()));
    block = match &p.error {
        Some(e) => block.title_bottom(Line::from(Span::styled(format!(" {} ", clean(e)), theme.alert()))),
        None => block.title_bottom(Line::from(Span::styled(format!(" {hint} "), theme.dim()))),
    };
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(format!("{}▏", clean(&p.text))).block(block), r);
}

/// The `E` dialog: the formats as a list, the chosen one highlighted.
fn export_dialog(f: &mut Frame, theme: &Theme, p: &super::app::Prompt, body: Rect) {
    use super::app::{EXPORT_FORMAT_HELP, EXPORT_FORMATS};
    let lines: Vec<Line> = EXPORT_FORMATS
        .iter()
        .zip(EXPORT_FORMAT_HELP)
        .map(|(fmt, what)| {
            let chosen = *fmt == p.text;
            let style = if chosen { theme.selected() } else { Style::default() };
            Line::from(vec![
                Span::styled(if chosen { " ▶ " } else { "   " }, style),
                Span::styled(format!("{fmt:<5}"), if chosen { style } else { theme.bold() }),
                Span::styled(format!(" {what} "), style),
            ])
        })
        .collect();
    let hint = " ↑↓ choose · Enter or m/h/j/c writes it here · Esc ";
    let width = lines.iter().map(Line::width).max().unwrap_or(0).max(hint.chars().count()) as u16 + 2;
    let r = layout::centered(body, width.min(body.width), (lines.len() as u16 + 2).min(body.height));
    let mut block = Block::bordered().title(Span::styled(" Export what this tab shows ", theme.title()));
    block = match &p.error {
        Some(e) => block.title_bottom(Line::from(Span::styled(format!(" {} ", clean(e)), theme.alert()))),
        None => block.title_bottom(Line::from(Span::styled(hint, theme.dim()))),
    };
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(block), r);
}

fn help(f: &mut Frame, theme: &Theme, area: Rect) {
    // (is a heading, keys, what they do)
    let mut entries: Vec<(bool, String, String)> = Vec::new();
    for (scope, lines) in super::keys::help_groups() {
        entries.push((true, scope.to_string(), String::new()));
        entries.extend(lines.into_iter().map(|(k, h)| (false, k, h)));
    }
    let key_w = entries.iter().filter(|e| !e.0).map(|e| e.1.chars().count()).max().unwrap_or(0) + 1;
    let text_w = entries.iter().map(|e| e.2.chars().count()).max().unwrap_or(0);
    // As many columns as the height needs (the terminal may be short).
    let rows_fit = area.height.saturating_sub(4).max(1) as usize;
    let cols = entries.len().div_ceil(rows_fit).max(1);
    let rows = entries.len().div_ceil(cols);
    let width = ((key_w + text_w + 3) * cols + 2).min(area.width as usize) as u16;
    let r = layout::centered(area, width, rows as u16 + 2);
    f.render_widget(Clear, r);
    let block = Block::bordered().title(Span::styled(" Keys ", theme.title())).title_bottom(" Esc or ? closes ");
    let inner = block.inner(r);
    f.render_widget(block, r);
    let areas = Layout::horizontal(vec![Constraint::Ratio(1, cols as u32); cols]).split(inner);
    for (c, chunk) in entries.chunks(rows).enumerate() {
        let Some(a) = areas.get(c) else { continue };
        let col_w = a.width as usize;
        let kw = key_w.min(col_w / 2);
        let lines: Vec<Line> = chunk
            .iter()
            .map(|(heading, k, what)| {
                if *heading {
                    Line::from(Span::styled(format!(" {k}"), theme.title()))
                } else {
                    Line::from(vec![
                        Span::styled(format!(" {:<kw$} ", clean_truncated(k, kw)), theme.bold()),
                        Span::raw(clean_truncated(what, col_w.saturating_sub(kw + 3))),
                    ])
                }
            })
            .collect();
        f.render_widget(Paragraph::new(lines), *a);
    }
}
