//! The cockpit without a terminal: `update` driven by actions, and every
//! tab rendered into ratatui's `TestBackend` at 80x24 and 120x40 on a fixed
//! ledger (insta snapshots in `src/tui/snapshots/`).

use jiff::tz::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rusqlite::Connection;

use super::app::{Action, App, Effect, SortCol, Status, Tab};
use super::data::{self, QueryParams, Snapshot, WindowKind};

use super::theme::Theme;
use super::ui;
use crate::domain::money::Nanos;
use crate::domain::record::{CallRecord, TokenSource, Tokens};
use crate::domain::time::{MS_PER_DAY, parse_ts_str};
use crate::store::queries::GroupBy;
use crate::store::rollup::Delta;
use crate::store::writer::{CallInserter, insert_parts};

/// 2026-11-28T12:00:30Z
fn now() -> i64 {
    parse_ts_str("2026-11-28T12:00:30Z").unwrap()
}

#[allow(clippy::too_many_arguments)]
fn call(
    ts: i64,
    key: i64,
    wf: &str,
    team: Option<&str>,
    model: &str,
    customer: &str,
    cost: Option<i64>,
    input: u64,
) -> CallRecord {
    CallRecord {
        ts_ms: ts,
        dedupe_key: key,
        model: model.into(),
        provider: Some(if model.starts_with("claude") { "anthropic" } else { "openai" }.into()),
        price_key: cost.map(|_| model.to_string()),
        workflow: (!wf.is_empty()).then(|| wf.to_string()),
        team: team.map(Into::into),
        customer: Some(customer.into()),
        tokens: Tokens { uncached_input: input, cache_read: input / 4, output: input / 20, ..Default::default() },
        cost: cost.map(Nanos),
        latency_ms: Some(900),
        ..Default::default()
    }
}

/// A deterministic ledger: steady traffic for six workflows over the last
/// 70 minutes and the past 10 days, a runaway in the last five minutes,
/// an unpriced call, two sources and a reject.
pub fn fixture() -> Connection {
    let mut conn = crate::store::open_memory().unwrap();
    let n = now();
    let wfs: [(&str, &str, &str, i64, u64); 6] = [
        ("support-copilot", "CX", "claude-opus-4-5", 33_700_000, 6800),
        ("contract-extraction", "Legal Ops", "gpt-5", 115_200_000, 12_400),
        ("sales-research-agent", "Revenue", "o3-deep-research", 183_300_000, 9100),
        ("internal-knowledge-bot", "IT", "gpt-4o", 17_500_000, 3200),
        ("marketing-drafting", "Brand", "claude-sonnet-4-5", 47_100_000, 2400),
        ("everything-else", "Various", "gpt-4.1", 13_700_000, 1900),
    ];
    let customers = ["acme-corp", "globex", "initech"];
    let mut recs = Vec::new();
    let mut key = 0i64;
    for minute in 0..70i64 {
        for (i, (wf, team, model, cost, input)) in wfs.iter().enumerate() {
            let per_min = [4, 1, 1, 3, 1, 1][i];
            let spike = i == 2 && minute < 5;
            for k in 0..(if spike { 12 } else { per_min }) {
                key += 1;
                let ts = n - minute * 60_000 - 1_000 * k as i64 - 500;
                recs.push(call(ts, key, wf, Some(team), model, customers[key as usize % 3], Some(*cost), *input));
            }
        }
    }
    for day in 1..=10i64 {
        for (i, (wf, team, model, cost, input)) in wfs.iter().enumerate() {
            for k in 0..(3 + i as i64) {
                key += 1;
                let ts = n - day * MS_PER_DAY + k * 3_600_000;
                recs.push(call(ts, key, wf, Some(team), model, customers[(key as usize) % 3], Some(*cost), *input));
            }
        }
    }
    key += 1;
    recs.push(call(n - 3_000_000, key, "", None, "ft:gpt-4o-mini:acme::x1", "acme-corp", None, 1000));
    // Two workflows log their prompt composition.
    for r in recs.iter_mut() {
        let input = r.tokens.uncached_input + r.tokens.cache_read;
        let shares = match r.workflow.as_deref() {
            Some("support-copilot") => [15, 10, 50, 18],
            Some("sales-research-agent") => [8, 12, 60, 15],
            _ => continue,
        };
        let [a, b, c, d] = shares.map(|s| input * s / 100);
        r.parts = Some(([a, b, c, d, input - a - b - c - d, r.tokens.output], TokenSource::Reported));
    }
    let tx = conn.transaction().unwrap();
    let mut d = Delta::of(&recs);
    {
        let mut ins = CallInserter::new(&tx).unwrap();
        for r in &recs {
            assert!(ins.insert(Some(1), r).unwrap());
            if let Some((p, src)) = &r.parts {
                assert!(insert_parts(&tx, r.ts_ms, r.dedupe_key, p, *src).unwrap());
            }
        }
    }
    d.flush(&tx).unwrap();
    tx.execute_batch(&format!(
        "INSERT INTO sources (id, path, format, offset, size, lines, calls, rejects, last_line_ts, first_seen)
           VALUES (1, '/var/log/gateway/gw.jsonl', 'aifin', 1000, 1000, {n_lines}, {n_lines}, 1, {last}, 0),
                  (2, '/home/dev/.claude/projects/-work-app/s1.jsonl', 'claude-code', 500, 500, 12, 4, 0, {old}, 0);
         INSERT INTO rejects (source_id, path, line_no, byte_offset, reason, excerpt, at)
           VALUES (1, '/var/log/gateway/gw.jsonl', 42, 4100, 'negative token count -5 at line 1 column 80',
                   '{{\"ts\":\"2026-11-28T11:00:00Z\",\"model\":\"m\",\"usage\":…', {last});",
        n_lines = recs.len(),
        last = n - 10_000,
        old = n - 3 * 3_600_000,
    ))
    .unwrap();
    tx.commit().unwrap();
    conn
}

fn snap(conn: &Connection, p: &QueryParams) -> Snapshot {
    let mut pricer = crate::pricing::Pricer::new(std::sync::Arc::new(crate::pricing::Catalog::embedded()));
    data::snapshot(conn, p, &mut pricer).unwrap()
}

fn app_with(conn: &Connection, size: (u16, u16)) -> App {
    let status = Status {
        db_path: "/home/dev/.local/share/aifin/aifin.db".into(),
        tz_name: "UTC".into(),
        following: 2,
        ingest_rate: 42.0,
        ..Status::default()
    };
    let mut app = App::new(now(), TimeZone::UTC, status);
    app.update(Action::Resize(size.0, size.1));
    app.update(Action::DataReady(Box::new(snap(conn, &app.params()))));
    app
}

fn render(app: &App) -> String {
    let backend = TestBackend::new(app.size.0, app.size.1);
    let mut t = Terminal::new(backend).unwrap();
    t.draw(|f| ui::render(f, app, &Theme::plain())).unwrap();
    t.backend().to_string()
}

/// Applies actions, answering each query effect from the fixture.
fn drive(app: &mut App, conn: &Connection, actions: &[Action]) {
    for a in actions {
        for e in app.update(a.clone()) {
            let Effect::Query(p) = e;
            app.update(Action::DataReady(Box::new(snap(conn, &p))));
        }
    }
}

#[test]
fn every_tab_renders_at_two_sizes() {
    let conn = fixture();
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        let mut app = app_with(&conn, (w, h));
        insta::assert_snapshot!(format!("live_{w}x{h}"), render(&app));
        drive(&mut app, &conn, &[Action::SelectTab(1)]);
        insta::assert_snapshot!(format!("ledger_{w}x{h}"), render(&app));
        drive(&mut app, &conn, &[Action::CycleWindow, Action::CycleWindow, Action::Enter]);
        insta::assert_snapshot!(format!("ledger_drill_{w}x{h}"), render(&app));
        drive(&mut app, &conn, &[Action::Back, Action::SelectTab(2)]);
        insta::assert_snapshot!(format!("sources_{w}x{h}"), render(&app));
        drive(&mut app, &conn, &[Action::SelectTab(3)]);
        insta::assert_snapshot!(format!("forecast_{w}x{h}"), render(&app));
        // Growth +40%, input reduction 30%, then a saved scenario.
        let moves = [
            Action::BigRight,
            Action::Right,
            Action::Right,
            Action::Right,
            Action::Down,
            Action::Down,
            Action::Down,
            Action::BigRight,
            Action::Right,
            Action::SaveScenario,
        ];
        drive(&mut app, &conn, &moves);
        insta::assert_snapshot!(format!("forecast_moved_{w}x{h}"), render(&app));
        drive(&mut app, &conn, &[Action::ToggleHelp]);
        insta::assert_snapshot!(format!("help_{w}x{h}"), render(&app));
    }
}

#[test]
fn the_runaway_is_flagged_with_its_reason() {
    let conn = fixture();
    let app = app_with(&conn, (120, 40));
    let screen = render(&app);
    assert!(screen.contains("RUNAWAY"), "{screen}");
    assert!(screen.contains("trailing hour"), "{screen}");
    let live = &app.snapshot.as_ref().unwrap().live;
    let flagged: Vec<&str> =
        live.workflows.iter().filter(|w| super::view::runaway(w).is_some()).map(|w| w.workflow.as_str()).collect();
    assert_eq!(flagged, ["sales-research-agent"]);
}

#[test]
fn views_agree_with_the_ledger_to_the_cent() {
    let conn = fixture();
    let app = app_with(&conn, (120, 40));
    let s = app.snapshot.as_ref().unwrap();
    // Live's "today" per workflow sums to the ledger's total for today.
    let live_sum: i64 = s.live.workflows.iter().map(|w| w.today.cost_nano).sum();
    assert_eq!(live_sum, s.live.today.cost_nano);
    assert_eq!(s.ledger.total.cost_nano, s.live.today.cost_nano);
    let cli = crate::store::queries::ledger(
        &conn,
        GroupBy::Workflow,
        WindowKind::Today.window(now(), &TimeZone::UTC),
        &TimeZone::UTC,
    )
    .unwrap();
    assert_eq!(cli.total, s.ledger.total);
}

#[test]
fn keys_switch_tabs_sort_group_and_drill() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    assert_eq!(app.tab, Tab::Live);
    assert!(app.update(Action::NextTab).is_empty(), "switching tabs needs no query");
    assert_eq!(app.tab, Tab::Ledger);
    app.update(Action::PrevTab);
    let e = app.update(Action::PrevTab);
    assert_eq!(app.tab, Tab::Forecast);
    assert!(matches!(&e[..], [Effect::Query(p)] if p.forecast), "the forecast tab asks for its data once");
    app.update(Action::Left);
    assert_eq!(app.tab, Tab::Forecast, "on the forecast, arrows move sliders");
    assert_eq!(app.forecast.values[0], -5.0);
    app.update(Action::SelectTab(2));
    app.update(Action::Left);
    assert_eq!(app.tab, Tab::Ledger, "elsewhere, arrows switch tabs");
    app.update(Action::Right);
    assert_eq!(app.tab, Tab::Sources);
    app.update(Action::SelectTab(1));
    // Grouping and windows ask for new data; sorting does not.
    let e = app.update(Action::CycleGroup);
    assert!(matches!(&e[..], [Effect::Query(p)] if p.group == GroupBy::Team));
    let e = app.update(Action::CycleWindow);
    assert!(matches!(&e[..], [Effect::Query(p)] if p.window == WindowKind::Days7));
    assert!(app.update(Action::CycleSort).is_empty());
    assert_eq!(app.ledger.sort, SortCol::Calls);
    // Enter drills into the selected row in display order.
    drive(&mut app, &conn, &[Action::CycleGroup, Action::CycleGroup, Action::CycleGroup]);
    assert_eq!(app.ledger.group, GroupBy::Workflow);
    drive(&mut app, &conn, &[Action::Home, Action::Down, Action::Enter]);
    let key = app.ledger.drill.clone().unwrap();
    let order = super::view::ledger_order(&app.snapshot.as_ref().unwrap().ledger, SortCol::Calls, true);
    assert_eq!(app.snapshot.as_ref().unwrap().ledger.rows[order[1]].key, key);
    assert_eq!(app.snapshot.as_ref().unwrap().drill.as_ref().unwrap().key, key);
    drive(&mut app, &conn, &[Action::Back]);
    assert_eq!(app.ledger.drill, None);
    // From Live, Enter opens the selected workflow in the ledger for today.
    drive(&mut app, &conn, &[Action::SelectTab(0), Action::Down, Action::Enter]);
    assert_eq!(app.tab, Tab::Ledger);
    assert_eq!(app.ledger.window, WindowKind::Today);
    assert_eq!(app.ledger.drill.as_deref(), Some(app.snapshot.as_ref().unwrap().live.workflows[1].workflow.as_str()));
    app.update(Action::Quit);
    assert!(app.quit);
}

#[test]
fn selection_is_bounded_and_mouse_selects() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    app.update(Action::SelectTab(1));
    for _ in 0..50 {
        app.update(Action::Down);
    }
    assert_eq!(app.ledger.selected, app.ledger_rows() - 1);
    app.update(Action::PageUp);
    assert_eq!(app.ledger.selected, 0);
    // Click the third data row of the ledger table (y = body + border + header).
    app.update(Action::Click(10, 2 + super::layout::TABLE_TOP + 2));
    assert_eq!(app.ledger.selected, 2);
    // Click the Sources tab label.
    let tabs = super::layout::tab_rects(ratatui::layout::Rect { x: 0, y: 1, width: 120, height: 1 });
    app.update(Action::Click(tabs[2].x + 1, 1));
    assert_eq!(app.tab, Tab::Sources);
}

#[test]
fn refreshes_are_throttled_and_follow_commits() {
    let conn = fixture();
    let mut app = app_with(&conn, (80, 24));
    let t0 = app.now_ms;
    app.last_query_ms = t0;
    app.waiting = false;
    assert!(app.update(Action::Tick(t0 + 100)).is_empty(), "nothing new, too soon");
    app.update(Action::Committed);
    assert!(app.update(Action::Tick(t0 + 200)).is_empty(), "commits refresh at most twice a second");
    assert_eq!(app.update(Action::Tick(t0 + 600)).len(), 1);
    app.update(Action::DataReady(Box::new(snap(&conn, &app.params()))));
    assert!(app.update(Action::Tick(t0 + 1_000)).is_empty());
    assert_eq!(app.update(Action::Tick(t0 + 600 + super::app::REFRESH_MS)).len(), 1, "time alone refreshes every 5 s");
}

#[test]
fn hostile_text_never_reaches_the_screen() {
    let mut conn = fixture();
    let tx = conn.transaction().unwrap();
    let r = call(
        now() - 1_000,
        999_999,
        "\u{1b}]0;pwned\u{7}evil\u{1b}[2Jflow",
        None,
        "gpt-4o",
        "\u{1b}[31mred",
        Some(1_000),
        10,
    );
    let mut d = Delta::of(std::slice::from_ref(&r));
    CallInserter::new(&tx).unwrap().insert(Some(1), &r).unwrap();
    d.flush(&tx).unwrap();
    tx.commit().unwrap();
    let mut app = app_with(&conn, (120, 40));
    for tab in 0..3 {
        drive(&mut app, &conn, &[Action::SelectTab(tab)]);
        let screen = render(&app);
        assert!(!screen.contains('\u{1b}') && !screen.contains('\u{7}'), "{screen}");
    }
}

#[test]
fn sliders_answer_from_memory_without_touching_sqlite() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    drive(&mut app, &conn, &[Action::SelectTab(3)]);
    let data = app.snapshot.as_ref().unwrap().forecast.clone().unwrap();
    assert_eq!(data.items[0].measured.workflow, None, "all workflows first");
    let total: i64 = data.items[1..].iter().map(|i| i.measured.cost_nanousd).sum();
    assert_eq!(data.items[0].measured.cost_nanousd, total, "the workflows add up to the whole");
    // The forecast's "today" is the ledger tab's 30 d total, to the nano.
    let mut thirty = app.params();
    thirty.window = WindowKind::Days30;
    thirty.forecast = false;
    assert_eq!(data.items[0].measured.drivers.monthly_cost_nanos, snap(&conn, &thirty).ledger.total.cost_nano);
    // The connection is gone: whatever follows cannot query.
    drop(conn);
    let before = super::view::forecast_vm(&app).unwrap();
    let moves = [
        Action::Right,
        Action::Right,
        Action::BigRight,
        Action::Down,
        Action::BigLeft,
        Action::NextItem,
        Action::PrevItem,
        Action::SaveScenario,
    ];
    for a in moves {
        assert!(app.update(a.clone()).is_empty(), "{a:?} asked for a query");
    }
    assert_eq!(app.forecast.values, [35.0, -25.0, 0.0, 0.0, 0.0]);
    let after = super::view::forecast_vm(&app).unwrap();
    assert_ne!(before.rows, after.rows);
    let d = &data.items[0].measured.drivers;
    let p = crate::forecast::project(d, &super::app::scenario_of(&app.forecast.values));
    assert_eq!(after.rows[3][2], super::view::usd(p.projected_monthly_cost_nanousd));
    assert_eq!(after.rows[3][1], super::view::usd(d.monthly_cost_nanos));
    // Growth 35% and 25% fewer tokens: 1.35 x 0.75 of today.
    let want = (d.monthly_cost_nanos as f64 * 1.35 * 0.75).round() as i64;
    assert!((p.projected_monthly_cost_nanousd - want).abs() <= 1, "{} vs {want}", p.projected_monthly_cost_nanousd);
    assert_eq!(app.forecast.saved.len(), 1);
    assert_eq!(app.forecast.saved[0].cost_nanos, p.projected_monthly_cost_nanousd);
    assert_eq!(after.saved.len(), 2, "today and the saved scenario");
    assert_eq!(after.saved[1].changes, "g+35 t-25");
    assert_eq!(after.saved[1].cost, after.rows[3][2]);
    assert_eq!(super::view::scenario_changes(&[0.0, 0.0, -10.0, 30.0, 60.0]), "r-10 i30 c60");
    // Sliders stop at their bounds; reset puts them back.
    for _ in 0..100 {
        app.update(Action::BigLeft);
    }
    assert_eq!(app.forecast.values[1], super::app::SLIDERS[1].min);
    app.update(Action::ResetSlider);
    assert_eq!(app.forecast.values[1], 0.0);
    app.update(Action::ResetAll);
    assert_eq!(app.forecast.values, [0.0; 5]);
    assert_eq!(super::view::forecast_vm(&app).unwrap().rows, before.rows);
}

#[test]
fn an_empty_ledger_says_whether_the_sources_are_still_being_read() {
    let conn = crate::store::open_memory().unwrap();
    let status = Status { following: 1, catching_up: true, ingest_lines: 12_345, ..Status::default() };
    let mut app = App::new(now(), TimeZone::UTC, status);
    app.update(Action::Resize(100, 20));
    app.update(Action::DataReady(Box::new(snap(&conn, &app.params()))));
    let screen = render(&app);
    assert!(screen.contains("Reading the sources… 12,345 lines so far"), "{screen}");
    assert!(screen.contains("catching up"), "{screen}");
    let done = Status { following: 1, ..Status::default() };
    app.update(Action::Status(Box::new(done)));
    assert!(render(&app).contains("No calls today yet"));
}
