//! Rendering: `render(frame, &app)` lays out view models; it reads state
//! and never changes it, never queries, never formats numbers itself.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Cell, Clear, Paragraph, Row, Sparkline, Table, Wrap};

use super::app::{App, Tab};
use super::layout::{self, Areas};
use super::theme::Theme;
use super::view::{self, TableVm};

pub fn render(f: &mut Frame, app: &App, theme: &Theme) {
    let a = layout::areas(f.area(), app.status.notice.is_some());
    header(f, app, theme, &a);
    tabs(f, app, theme, &a);
    match app.tab {
        Tab::Live => live(f, app, theme, a.body),
        Tab::Ledger => ledger(f, app, theme, a.body),
        Tab::Sources => sources(f, app, theme, a.body),
        Tab::Forecast => forecast(f, app, theme, a.body),
    }
    if let Some(n) = &app.status.notice {
        f.render_widget(Paragraph::new(Span::styled(format!(" {n}"), theme.warn())), a.notice);
    }
    f.render_widget(Paragraph::new(Span::styled(view::status_line(app), theme.dim())), a.status);
    if app.help {
        help(f, theme, f.area());
    }
}

fn header(f: &mut Frame, app: &App, theme: &Theme, a: &Areas) {
    let mut spans = vec![Span::styled(" aifin ", theme.title())];
    match &app.snapshot {
        Some(s) => {
            let h = view::header_vm(&s.live, app.now_ms);
            spans.extend([
                Span::raw("│ today "),
                Span::styled(h.today, theme.money()),
                Span::raw(" │ month to date "),
                Span::styled(h.month, theme.money()),
                Span::raw(" │ month-end projection "),
                Span::styled(h.projection, theme.money()),
            ]);
            if h.alerts > 0 {
                spans.push(Span::raw(" │ "));
                spans.push(Span::styled(format!("{} runaway", h.alerts), theme.alert()));
            }
        }
        None => spans.push(Span::styled("│ loading the ledger…", theme.dim())),
    }
    f.render_widget(Paragraph::new(Line::from(spans)), a.header);
}

fn tabs(f: &mut Frame, app: &App, theme: &Theme, a: &Areas) {
    for (i, (t, r)) in Tab::ALL.iter().zip(layout::tab_rects(a.tabs)).enumerate() {
        let style = if *t == app.tab { theme.tab_active() } else { theme.dim() };
        f.render_widget(Paragraph::new(Span::styled(layout::tab_label(i, *t), style)), r);
    }
}

fn live(f: &mut Frame, app: &App, theme: &Theme, body: Rect) {
    let Some(s) = &app.snapshot else { return };
    if s.live.workflows.is_empty() {
        let msg = if app.status.catching_up {
            format!("Reading the sources… {} lines so far", crate::output::thousands(app.status.ingest_lines as i64))
        } else {
            "No calls today yet. Waiting for new lines in the followed sources…".to_string()
        };
        f.render_widget(Paragraph::new(Span::styled(msg, theme.dim())).block(Block::bordered()), body);
        return;
    }
    let wide = body.width >= 100;
    for (i, r) in layout::live_panes(body, s.live.workflows.len(), app.live_selected) {
        let vm = view::pane_vm(&s.live.workflows[i], s.live.today.cost_nano, wide && r.width >= 90);
        let selected = i == app.live_selected;
        let mut block = Block::bordered().title(Span::styled(format!(" {} ", vm.title), theme.bold()));
        if let Some(badge) = &vm.badge {
            block = block
                .border_style(theme.alert())
                .title_top(Line::from(Span::styled(badge.clone(), theme.alert())).right_aligned());
        } else if selected {
            block = block.border_style(theme.title());
        }
        if selected && vm.badge.is_some() {
            block = block.title_bottom(Line::from(Span::styled(" selected ", theme.alert())));
        }
        let inner = block.inner(r);
        f.render_widget(block, r);
        let [l1, l2] = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(inner);
        f.render_widget(Paragraph::new(vm.line1), l1);
        let (text, style) = match &vm.alert {
            Some(reason) => (reason.clone(), theme.alert()),
            None => (vm.line2.clone(), theme.dim()),
        };
        let text_w = (text.chars().count() as u16 + 2).min(l2.width.saturating_sub(12));
        let [t2, spark] = Layout::horizontal([Constraint::Length(text_w), Constraint::Min(0)]).areas(l2);
        f.render_widget(Paragraph::new(Span::styled(text, style)), t2);
        let n = spark.width as usize;
        let data: Vec<u64> = vm.spark.iter().skip(vm.spark.len().saturating_sub(n)).copied().collect();
        f.render_widget(
            Sparkline::default().data(data).style(if vm.alert.is_some() { theme.alert() } else { theme.spark() }),
            spark,
        );
    }
}

fn table(f: &mut Frame, theme: &Theme, area: Rect, vm: &TableVm, selected: Option<usize>) {
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
            let row = Row::new(r.iter().zip(&vm.right).map(|(c, ri)| cell(c, *ri)));
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
    let mut block = Block::bordered().title(Span::styled(format!(" {} ", vm.title), theme.title()));
    if !vm.footer.is_empty() {
        block = block.title_bottom(Line::from(Span::styled(format!(" {} ", vm.footer), theme.dim())));
    }
    f.render_widget(Table::new(rows, widths).header(header).block(block).column_spacing(1), area);
}

fn ledger(f: &mut Frame, app: &App, theme: &Theme, body: Rect) {
    let Some(s) = &app.snapshot else { return };
    let (t, d) = layout::ledger_split(body, app.ledger.drill.is_some());
    let vm = view::ledger_vm(&s.ledger, &app.ledger, t.width);
    table(f, theme, t, &vm, Some(app.ledger.selected));
    if let (Some(area), Some(drill)) = (d, &s.drill) {
        let block = Block::bordered();
        let inner = block.inner(area);
        let n_cols = drill.breakdowns.len() as u16 + 2;
        let dv = view::drill_vm(drill, s.ledger.by, inner.width / n_cols);
        let block = block.title(Span::styled(format!(" {} ", dv.title), theme.title()));
        f.render_widget(block, area);
        let [summary, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        f.render_widget(Paragraph::new(Span::styled(dv.summary, theme.bold())), summary);
        let n = dv.sections.len() + 1;
        let cols = Layout::horizontal(vec![Constraint::Ratio(1, n as u32); n]).split(rest);
        for ((title, lines), col) in dv.sections.iter().zip(cols.iter()) {
            let mut text = vec![Line::from(Span::styled(title.clone(), theme.bold()))];
            text.extend(lines.iter().map(|l| Line::from(l.clone())));
            f.render_widget(Paragraph::new(text), *col);
        }
        let trend = cols[n - 1];
        // The most recent days that fit, three columns per bar.
        let fit = (trend.width / 3).max(1) as usize;
        let bars: Vec<Bar> = dv
            .daily
            .iter()
            .skip(dv.daily.len().saturating_sub(fit))
            .map(|(label, v)| Bar::default().value(*v).label(Line::from(label.clone())).text_value(String::new()))
            .collect();
        let per_bar = (trend.width / (bars.len().max(1) as u16)).clamp(3, 6);
        let chart = BarChart::default()
            .block(Block::default().borders(Borders::NONE).title(Span::styled("Cost per day", theme.bold())))
            .data(BarGroup::default().bars(&bars))
            .bar_width(per_bar - 1)
            .bar_gap(1)
            .bar_style(theme.spark());
        f.render_widget(chart, trend);
    }
}

fn sources(f: &mut Frame, app: &App, theme: &Theme, body: Rect) {
    let Some(s) = &app.snapshot else { return };
    let (t, r) = layout::sources_split(body);
    let (vm, rejects) = view::sources_vm(&s.sources, &app.source_rates, app.now_ms, t.width);
    table(f, theme, t, &vm, Some(app.sources_selected));
    let title = format!(" Latest rejected lines · {} in all ", crate::output::thousands(s.sources.reject_total as i64));
    let lines: Vec<Line> = if rejects.is_empty() {
        vec![Line::from(Span::styled("No rejected lines.", theme.dim()))]
    } else {
        rejects.into_iter().map(Line::from).collect()
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
            "No calls in the last 30 days to forecast from."
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
            let text = format!("{:<name_w$} {cost:>10}", crate::domain::sanitize::clean_truncated(name, name_w));
            if i == vm.selected_item { Line::styled(text, theme.selected()) } else { Line::raw(text) }
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(Span::styled(" Workflows [ ] ", theme.title()))),
        a.list,
    );

    // Sliders and the projection.
    let block = Block::bordered().title(Span::styled(format!(" {} ", vm.title), theme.title()));
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
    let mut out: Vec<Line> =
        vec![Line::from(Span::styled(format!("{:<15}{:>14}{:>14}", "", "Today", "Scenario"), theme.bold()))];
    for [label, t, sc] in &vm.rows {
        out.push(Line::from(vec![
            Span::raw(format!("{label:<15}{t:>14}")),
            Span::styled(format!("{sc:>14}"), theme.money()),
        ]));
    }
    if let Some(last) = out.last_mut() {
        last.push_span(Span::styled(format!("  {}", vm.delta), theme.bold()));
    }
    out.push(Line::from(Span::styled(vm.levers.clone(), theme.dim())));
    f.render_widget(Paragraph::new(out), res);

    // Saved scenarios: a comparison table with a bar per row.
    let block = Block::bordered().title(Span::styled(" Saved scenarios (a: save, x: clear) ", theme.title()));
    let inner = block.inner(a.saved);
    f.render_widget(block, a.saved);
    let w = inner.width as usize;
    // Cost (9) and delta (5) with their spaces take 17 cells; the rest is
    // shared by the label, the changes and the bar.
    let rest = w.saturating_sub(17);
    let label_w = (rest * 35 / 100).clamp(4, 20);
    let changes_w = (rest * 35 / 100).clamp(4, 22);
    let bar_w = rest.saturating_sub(label_w + changes_w);
    let lines: Vec<Line> = vm
        .saved
        .iter()
        .map(|r| {
            let label = crate::domain::sanitize::clean_truncated(&r.label, label_w);
            let changes = crate::domain::sanitize::clean_truncated(&r.changes, changes_w);
            let bar = "█".repeat((r.frac * bar_w as f64).round() as usize);
            Line::from(vec![
                Span::raw(format!("{label:<label_w$} {changes:<changes_w$} ")),
                Span::styled(format!("{:>9}", r.cost), theme.money()),
                Span::raw(format!(" {:>5} ", r.delta)),
                Span::styled(bar, theme.spark()),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);

    // Daily spend, the trend and its band.
    let title = Span::styled(" Daily spend · trend to month end (P10–P90) ", theme.title());
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
            let block = Block::bordered()
                .title(title)
                .title_bottom(Line::from(Span::styled(format!(" {} ", c.summary), theme.dim())));
            let inner = block.inner(a.chart);
            f.render_widget(block, a.chart);
            let [plot, acc] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
            let chart = Chart::new(sets)
                .x_axis(Axis::default().bounds([0.0, c.x_max]).labels(c.x_labels.iter().map(|l| Span::raw(l.clone()))))
                .y_axis(Axis::default().bounds([0.0, c.y_max]).labels(c.y_labels.iter().map(|l| Span::raw(l.clone()))))
                .hidden_legend_constraints((Constraint::Ratio(1, 1), Constraint::Ratio(1, 1)));
            f.render_widget(chart, plot);
            f.render_widget(Paragraph::new(Span::styled(c.accuracy.clone(), theme.dim())), acc);
        }
        None => f.render_widget(
            Paragraph::new(Span::styled("No daily history yet.", theme.dim())).block(Block::bordered().title(title)),
            a.chart,
        ),
    }
}

fn help(f: &mut Frame, theme: &Theme, area: Rect) {
    let width = 74;
    let r = layout::centered(area, width, view::HELP.len() as u16 + 4);
    let mut lines = vec![Line::from("")];
    for (k, what) in view::HELP {
        lines.push(Line::from(vec![Span::styled(format!(" {k:<23}"), theme.bold()), Span::raw(*what)]));
    }
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(" Keys ", theme.title())).title_bottom(" Esc or ? closes "))
            .style(Style::default()),
        r,
    );
}
