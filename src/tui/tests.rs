//! The cockpit without a terminal: `update` driven by actions, and every
//! tab rendered into ratatui's `TestBackend` at 80x24 and 120x40 (and one
//! size too small) on a fixed ledger (insta snapshots in
//! `src/tui/snapshots/`). Expected values come from the fixture's own
//! calls, summed here, or from hand arithmetic; never from the functions
//! the views use.

use jiff::tz::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rusqlite::Connection;

use super::app::{Action, App, Effect, Status, Tab};
use super::data::{self, QueryParams, Snapshot};
use super::theme::Theme;
use super::ui;
use crate::domain::dims::Dimension;
use crate::domain::money::Nanos;
use crate::domain::record::{CallRecord, TokenSource, Tokens};
use crate::domain::time::{MS_PER_DAY, parse_ts_str};
use crate::reports::window::WindowKind;
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

const WORKFLOWS: [(&str, &str, &str, i64, u64); 6] = [
    ("support-copilot", "CX", "claude-opus-4-5", 33_700_000, 6800),
    ("contract-extraction", "Legal Ops", "gpt-5", 115_200_000, 12_400),
    ("sales-research-agent", "Revenue", "o3-deep-research", 183_300_000, 9100),
    ("internal-knowledge-bot", "IT", "gpt-4o", 17_500_000, 3200),
    ("marketing-drafting", "Brand", "claude-sonnet-4-5", 47_100_000, 2400),
    ("everything-else", "Various", "gpt-4.1", 13_700_000, 1900),
];

/// The fixture's calls: steady traffic for six workflows over the last 70
/// minutes and the past 10 days, a runaway in the last five minutes, an
/// unpriced call.
fn records() -> Vec<CallRecord> {
    let n = now();
    let customers = ["acme-corp", "globex", "initech"];
    let mut recs = Vec::new();
    let mut key = 0i64;
    for minute in 0..70i64 {
        for (i, (wf, team, model, cost, input)) in WORKFLOWS.iter().enumerate() {
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
        for (i, (wf, team, model, cost, input)) in WORKFLOWS.iter().enumerate() {
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
    recs
}

fn store(conn: &mut Connection, recs: &[CallRecord]) {
    let tx = conn.transaction().unwrap();
    let mut d = Delta::of(recs);
    {
        let mut ins = CallInserter::new(&tx).unwrap();
        for r in recs {
            assert!(ins.insert(Some(1), r).unwrap());
            if let Some((p, src)) = &r.parts {
                assert!(insert_parts(&tx, r.ts_ms, r.dedupe_key, p, *src).unwrap());
            }
        }
    }
    d.flush(&tx).unwrap();
    tx.commit().unwrap();
}

/// A deterministic ledger: [`records`], two sources and a reject.
pub fn fixture() -> Connection {
    let mut conn = crate::store::open_memory().unwrap();
    let recs = records();
    store(&mut conn, &recs);
    let n = now();
    conn.execute_batch(&format!(
        "INSERT INTO sources (id, path, format, offset, size, lines, calls, rejects, last_line_ts, first_seen)
           VALUES (1, '/var/log/gateway/gw.jsonl', 'aifin', 1000, 1000, {n_lines}, {n_lines}, 1, {last}, 0),
                  (2, '/home/dev/.claude/projects/-work-app/s1.jsonl', 'claude-code', 500, 500, 12, 4, 0, {old}, 0);
         INSERT INTO rejects (source_id, path, line_no, byte_offset, reason, excerpt, at)
           VALUES (1, '/var/log/gateway/gw.jsonl', 42, 4100, 'negative token count -5 at line 1 column 80',
                   '{{ts: 20 chars, model: 1 char, usage: {{…}}}}', {last});",
        n_lines = recs.len(),
        last = n - 10_000,
        old = n - 3 * 3_600_000,
    ))
    .unwrap();
    // Outcomes: 40 support conversations in the last 24 hours, 30 resolved.
    for k in 0..40 {
        conn.execute(
            "INSERT INTO outcomes (id_kind, id, ts, success, from_call, call_ts, call_workflow, team, recorded_at)
             VALUES (2, ?1, ?2, ?3, 0, ?2, 'support-copilot', 'CX', 0)",
            rusqlite::params![format!("s{k}"), n - 3_600_000 - k * 60_000, k < 30],
        )
        .unwrap();
    }
    crate::store::outcomes::rebuild_rollup(&conn).unwrap();
    record_gate_runs(&conn);
    conn
}

/// Two recorded gate runs for the support copilot (20 cases each): the
/// baseline passes 18 at $0.03 a case; "compress" passes 14 (loses c01-c04
/// and c19, gains nothing... see below) at $0.01; "route" passes 18 at
/// $0.015 (loses c01, gains c19).
fn gate_rows() -> Vec<crate::gate::evals::EvalRow> {
    let row = |config: &str, case: usize, passed: bool, usd: i64| crate::gate::evals::EvalRow {
        config: config.into(),
        case: format!("c{case:02}"),
        passed,
        score: Some(if passed { 0.9 } else { 0.2 }),
        cost: Some(Nanos(usd * 1_000_000)),
        error: false,
        latency_ms: None,
        workflow: None,
        ts: None,
    };
    let mut rows = Vec::new();
    for c in 1..=20 {
        rows.push(row("baseline", c, c <= 18, 30));
        rows.push(row("compress", c, (5..=18).contains(&c), 10));
        rows.push(row("route", c, (2..=19).contains(&c), 15));
    }
    rows
}

fn record_gate_runs(conn: &Connection) {
    let rows = gate_rows();
    for (i, cand) in ["compress", "route"].into_iter().enumerate() {
        let opts = crate::gate::GateOptions { candidate: Some(cand.into()), ..Default::default() };
        let r = crate::gate::evaluate(&rows, &opts).unwrap();
        let at = now() - (2 - i as i64) * MS_PER_DAY;
        let lever = ["compression", "routing"][i];
        let ev = crate::reports::gate::run_event(&r, Some("support-copilot"), Some(lever), &[], 7, at);
        crate::store::events::record(conn, &ev, at).unwrap();
    }
}

fn snap(conn: &Connection, p: &QueryParams) -> Snapshot {
    let mut pricer = crate::pricing::Pricer::new(std::sync::Arc::new(crate::pricing::Catalog::embedded()));
    data::snapshot(conn, p, &mut pricer).unwrap()
}

/// Owners and budgets for the fixture: the sales research agent's $800 a
/// month pages on its runaway (the last hour holds $21.08 against a
/// threshold of 14.4 x 800 / 720 = $16); the total's $30,000 does not.
const OPERATE: &str = r##"
[[owner]]
workflow = "sales-research-agent"
accountable = "sam@acme.example"
oncall = "#revenue-oncall"
[[owner]]
team = "CX"
accountable = "dana@acme.example"
oncall = "#cx-oncall"
[[budget]]
workflow = "sales-research-agent"
monthly_usd = 800
[[budget]]
monthly_usd = 30000
"##;

fn operate() -> std::sync::Arc<crate::operate::Operate> {
    let c: crate::config::ConfigFile = toml::from_str(OPERATE).unwrap();
    std::sync::Arc::new(crate::operate::Operate::from_config(&c))
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
    app.operate = operate();
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
            if let Effect::Query(p) = e {
                app.update(Action::DataReady(Box::new(snap(conn, &p))));
            }
        }
    }
}

/// The cost of the fixture's calls in `[since, until)`, summed here.
fn cost_between(recs: &[CallRecord], since: i64, until: i64, wf: Option<&str>) -> i64 {
    recs.iter()
        .filter(|r| r.ts_ms >= since && r.ts_ms < until && wf.is_none_or(|w| r.workflow.as_deref() == Some(w)))
        .map(|r| r.cost.map(|c| c.0).unwrap_or(0))
        .sum()
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
            Action::SliderBigRight,
            Action::SliderRight,
            Action::SliderRight,
            Action::SliderRight,
            Action::Down,
            Action::Down,
            Action::Down,
            Action::SliderBigRight,
            Action::SliderRight,
            Action::SaveScenario,
        ];
        drive(&mut app, &conn, &moves);
        insta::assert_snapshot!(format!("forecast_moved_{w}x{h}"), render(&app));
        drive(&mut app, &conn, &[Action::ToggleHelp]);
        insta::assert_snapshot!(format!("help_{w}x{h}"), render(&app));
        drive(&mut app, &conn, &[Action::ToggleHelp, Action::SelectTab(4)]);
        insta::assert_snapshot!(format!("gate_{w}x{h}"), render(&app));
        drive(&mut app, &conn, &[Action::Down, Action::Enter]);
        insta::assert_snapshot!(format!("gate_cases_{w}x{h}"), render(&app));
        drive(&mut app, &conn, &[Action::Back, Action::SelectTab(5)]);
        insta::assert_snapshot!(format!("raci_{w}x{h}"), render(&app));
        drive(&mut app, &conn, &[Action::SelectTab(6)]);
        insta::assert_snapshot!(format!("kpis_{w}x{h}"), render(&app));
    }
}

#[test]
fn a_budget_alert_is_recorded_once_names_the_owner_and_survives_a_restart() {
    let conn = fixture();
    let mut app = App::new(now(), TimeZone::UTC, Status::default());
    app.operate = operate();
    let e = app.update(Action::DataReady(Box::new(snap(&conn, &app.params()))));
    let alerts: Vec<&crate::store::events::Event> = e
        .iter()
        .flat_map(|x| match x {
            Effect::Record(v) => v.iter().filter(|e| e.kind == "budget_alert").collect(),
            _ => vec![],
        })
        .collect();
    assert_eq!(alerts.len(), 1, "{e:?}");
    assert_eq!(alerts[0].subject, "workflow:sales-research-agent/page");
    assert_eq!(alerts[0].data["owner"], "sam@acme.example");
    assert_eq!(alerts[0].data["oncall"], "#revenue-oncall");
    // Month to date (rollup hours plus this hour's minutes) agrees with
    // the fixture's calls, summed here.
    let month = parse_ts_str("2026-11-01T00:00:00Z").unwrap();
    let recs = records();
    let b = &app.snapshot.as_ref().unwrap().operate.budgets.budgets;
    assert_eq!(b[1].spent.0, cost_between(&recs, month, i64::MAX, None));
    assert_eq!(b[0].spent.0, cost_between(&recs, month, i64::MAX, Some("sales-research-agent")));
    let owners = &app.snapshot.as_ref().unwrap().operate.raci.owners;
    let sales = owners.iter().find(|o| o.workflow == "sales-research-agent").unwrap();
    assert_eq!(sales.spend.0, b[0].spent.0);
    let screen = render(&app);
    assert!(screen.contains("▲ PAGE sales-research-agent"), "{screen}");
    assert!(screen.contains("1 paging"), "{screen}");
    // Recorded, then the same state again: nothing new.
    for ev in &alerts {
        crate::store::events::record(&conn, ev, now()).unwrap();
    }
    let again = app.update(Action::DataReady(Box::new(snap(&conn, &app.params()))));
    assert!(again.iter().all(|x| !matches!(x, Effect::Record(v) if v.iter().any(|e| e.kind == "budget_alert"))));
    // A new cockpit on the same ledger remembers it: no second firing.
    let mut restarted = App::new(now(), TimeZone::UTC, Status::default());
    restarted.operate = operate();
    let e = restarted.update(Action::DataReady(Box::new(snap(&conn, &restarted.params()))));
    assert!(e.iter().all(|x| !matches!(x, Effect::Record(v) if v.iter().any(|e| e.kind == "budget_alert"))), "{e:?}");
    // An hour and ten minutes on, nothing new was spent: it resolves, once.
    let later = QueryParams { now_ms: now() + 70 * 60_000, ..restarted.params() };
    let e = restarted.update(Action::DataReady(Box::new(snap(&conn, &later))));
    let ended: Vec<&crate::store::events::Event> = e
        .iter()
        .flat_map(|x| match x {
            Effect::Record(v) => v.iter().filter(|e| e.kind == "budget_alert").collect(),
            _ => vec![],
        })
        .collect();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].ended_at, Some(later.now_ms));
    assert_eq!(ended[0].started_at, alerts[0].started_at, "the same alert ends");
    assert!(restarted.alerts.is_empty());
}

#[test]
fn the_gate_tab_shows_each_run_its_decision_and_the_cases_it_lost() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    drive(&mut app, &conn, &[Action::SelectTab(4)]);
    let screen = render(&app);
    // Newest first: "route" (18 of 20 like the baseline, a success at
    // $0.30/18 against $0.60/18: promoted), then "compress" (14 of 20:
    // rejected).
    let route = screen.lines().position(|l| l.contains("route") && l.contains("Promote")).expect(&screen);
    let compress = screen.lines().position(|l| l.contains("compress") && l.contains("Reject")).expect(&screen);
    assert!(route < compress, "{screen}");
    // The selected run's configurations: 90.0% and 90.0% pass rates, the
    // route's cost per success $0.3/18 = $0.0167.
    assert!(screen.contains("$0.0167"), "{screen}");
    // Its reasons are said.
    assert!(screen.contains("route vs baseline: Promote · pass rate 90.0% holds"), "{screen}");
    assert!(screen.contains("$0.0333 (-50.0%)"), "{screen}");
    // Enter on "compress": the cases it lost, c01 to c04.
    drive(&mut app, &conn, &[Action::Down, Action::Enter]);
    let screen = render(&app);
    for c in ["c01", "c02", "c03", "c04"] {
        assert!(screen.contains(c), "{c}: {screen}");
    }
    assert!(!screen.contains("c05"), "{screen}");
    // The selection is the run, not the row number: a newer run on top
    // keeps it on "compress".
    let selected = app.gate.selected.clone();
    let rows = gate_rows();
    let r = crate::gate::evaluate(&rows, &crate::gate::GateOptions::default()).unwrap();
    let ev = crate::reports::gate::run_event(&r, Some("support-copilot"), None, &[], 8, now() - 1000);
    let rw = fixture();
    crate::store::events::record(&rw, &ev, now()).unwrap();
    app.update(Action::DataReady(Box::new(snap(&rw, &app.params()))));
    assert_eq!(app.gate.selected, selected);
    assert!(app.selected_index() >= 2, "two newer rows above");
    // Esc closes the cases.
    drive(&mut app, &rw, &[Action::Back]);
    assert!(!app.gate.cases);
}

#[test]
fn cost_per_success_shows_where_outcomes_exist() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    // Live: the support copilot's 24 h spend over its 30 successes.
    let s = app.snapshot.as_ref().unwrap();
    let wf = s.live.workflows.iter().find(|w| w.workflow == "support-copilot").unwrap();
    assert_eq!(wf.successes_24h, Some(30));
    let since = now() - 24 * 3_600_000;
    let cost = cost_between(&records(), since, now() + 1, Some("support-copilot"));
    let want = crate::reports::table::Cell::UsdFine(Nanos((cost + 15) / 30)).human();
    assert!(render(&app).contains(&format!("{want}/success")), "{want}: {}", render(&app));
    // Ledger (today): the column appears with the support copilot's successes.
    drive(&mut app, &conn, &[Action::SelectTab(1)]);
    let screen = render(&app);
    assert!(screen.contains("Successes") || screen.contains("Cost/success"), "{screen}");
}

#[test]
fn a_terminal_too_small_says_so_and_nothing_else() {
    let conn = fixture();
    for (w, h) in [(40u16, 10u16), (59, 24), (80, 15)] {
        let app = app_with(&conn, (w, h));
        let screen = render(&app);
        assert!(screen.contains("terminal too small: need 60x16"), "{w}x{h}:\n{screen}");
        assert!(!screen.contains("aifin │"), "nothing else is drawn at {w}x{h}");
        if (w, h) == (40, 10) {
            insta::assert_snapshot!("too_small_40x10", screen);
        }
    }
}

#[test]
fn the_runaway_is_flagged_keeps_its_lines_and_sits_at_a_fixed_place() {
    let conn = fixture();
    for (w, h) in [(80u16, 24u16), (120, 40), (200, 50)] {
        let app = app_with(&conn, (w, h));
        let screen = render(&app);
        let header = screen.lines().next().unwrap().to_string();
        // The runaway count and the help hint end the header at every width.
        assert!(header.trim_end_matches(['"', ' ']).ends_with("? help"), "{w}: {header}");
        assert!(header.contains("▲ 1 runaway"), "{w}: {header}");
    }
    let app = app_with(&conn, (120, 40));
    let screen = render(&app);
    let flagged: Vec<&str> = app.snapshot.as_ref().unwrap().live.runaways().map(|w| w.workflow.as_str()).collect();
    assert_eq!(flagged, ["sales-research-agent"]);
    // The flagged pane still shows tokens per call: 9,100 + 2,275 + 455.
    let pane: Vec<&str> = screen.lines().skip_while(|l| !l.contains("sales-research-agent")).take(4).collect();
    assert!(pane.iter().any(|l| l.contains("11,830 tok/call")), "{pane:#?}");
    assert!(screen.contains("RUNAWAY"), "{screen}");
    assert!(screen.contains("baseline"), "{screen}");
}

#[test]
fn the_runaway_is_recorded_once_and_ended() {
    let conn = fixture();
    let mut app = App::new(now(), TimeZone::UTC, Status::default());
    let e = app.update(Action::DataReady(Box::new(snap(&conn, &app.params()))));
    let [Effect::Record(events)] = &e[..] else { panic!("{e:?}") };
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].kind.as_str(), events[0].subject.as_str()), ("runaway", "sales-research-agent"));
    assert_eq!(events[0].ended_at, None);
    // The spike's minutes: the fixture's 12 calls a minute started five
    // minutes before now (in the minute starting 11:56).
    assert_eq!(events[0].started_at, parse_ts_str("2026-11-28T11:56:00Z").unwrap());
    // The same state again records nothing new.
    assert!(app.update(Action::DataReady(Box::new(snap(&conn, &app.params())))).is_empty());
    // Ten minutes later with nothing new, it is over.
    let later = QueryParams { now_ms: now() + 10 * 60_000, ..app.params() };
    let e = app.update(Action::DataReady(Box::new(snap(&conn, &later))));
    let [Effect::Record(events)] = &e[..] else { panic!("{e:?}") };
    assert_eq!(events[0].ended_at, Some(later.now_ms));
    // Recorded through the store, it is listed once.
    let rw = fixture();
    for ev in events {
        crate::store::events::record(&rw, ev, later.now_ms).unwrap();
        crate::store::events::record(&rw, ev, later.now_ms).unwrap();
    }
    assert_eq!(crate::store::events::list(&rw, "runaway", 0).unwrap().len(), 1);
}

#[test]
fn views_agree_with_the_calls_to_the_cent() {
    let conn = fixture();
    let recs = records();
    let app = app_with(&conn, (120, 40));
    let s = app.snapshot.as_ref().unwrap();
    // Today (UTC) from the calls themselves.
    let midnight = parse_ts_str("2026-11-28T00:00:00Z").unwrap();
    let today = cost_between(&recs, midnight, now() + 1, None);
    assert_eq!(s.live.today.cost.0, today);
    assert_eq!(s.ledger.ledger.total.cost.0, today);
    for (wf, ..) in WORKFLOWS {
        let pane = s.live.workflows.iter().find(|w| w.workflow == wf).unwrap();
        assert_eq!(pane.today.cost.0, cost_between(&recs, midnight, now() + 1, Some(wf)), "{wf}");
    }
    // The header's month to date: November's calls.
    let nov = parse_ts_str("2026-11-01T00:00:00Z").unwrap();
    assert_eq!(s.live.month.cost.0, cost_between(&recs, nov, now() + 1, None));
    let h = crate::reports::live::header(&s.live);
    assert_eq!(h.today, Nanos(today).format_usd(2));
}

#[test]
fn one_month_end_projection_on_the_header_and_the_forecast_tab() {
    let conn = fixture();
    let mut app = app_with(&conn, (200, 50));
    drive(&mut app, &conn, &[Action::SelectTab(3)]);
    let screen = render(&app);
    let s = app.snapshot.as_ref().unwrap();
    let t = s.live.projection.trend.as_ref().expect("ten days of history");
    let text = format!("month end {}", t.projected);
    let header = screen.lines().next().unwrap();
    assert!(header.contains(&text), "{header}");
    assert!(screen.lines().skip(2).any(|l| l.contains(&text)), "the forecast tab shows the same:\n{screen}");
    assert!(header.contains("24 h run rate"), "{header}");
    assert!(!screen.contains("month-end projection"), "no other figure is labelled month end");
    // With fewer than 7 complete days of history: a dash, not $0.00.
    let mut fresh = crate::store::open_memory().unwrap();
    let recent: Vec<CallRecord> = records().into_iter().filter(|r| r.ts_ms > now() - 3 * MS_PER_DAY).collect();
    store(&mut fresh, &recent);
    let app = app_with(&fresh, (120, 40));
    let header = render(&app).lines().next().unwrap().to_string();
    assert!(header.contains("month end —"), "{header}");
}

#[test]
fn the_live_selection_stays_on_its_workflow_when_panes_re_sort() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    drive(&mut app, &conn, &[Action::Down, Action::Down]);
    let chosen = app.live_selected.clone().unwrap();
    let pos_before = app.selected_index();
    // New spend moves another workflow to the top: everything ranked
    // below it shifts down one place.
    let mut more = fixture();
    let mut burst = Vec::new();
    for k in 0..400 {
        burst.push(call(
            now() - 1000 - k,
            900_000 + k,
            "everything-else",
            Some("Various"),
            "gpt-4.1",
            "x",
            Some(1_000_000_000),
            10,
        ));
    }
    store(&mut more, &burst);
    app.update(Action::DataReady(Box::new(snap(&more, &app.params()))));
    let order: Vec<&str> = app.snapshot.as_ref().unwrap().live.workflows.iter().map(|w| w.workflow.as_str()).collect();
    assert_eq!(order[0], "everything-else");
    assert_eq!(app.live_selected.as_deref(), Some(chosen.as_str()), "the selection followed its workflow");
    assert_eq!(app.selected_index(), pos_before + 1);
    // Enter opens that workflow, and its row is the selected one.
    let e = app.update(Action::Enter);
    assert!(matches!(&e[..], [Effect::Query(p)] if p.drill.as_deref() == Some(chosen.as_str())));
    app.update(Action::DataReady(Box::new(snap(&more, &app.params()))));
    assert_eq!(app.tab, Tab::Ledger);
    assert_eq!(app.ledger.selected.as_deref(), Some(chosen.as_str()));
    let vm = super::view::ledger_vm(&app.snapshot.as_ref().unwrap().ledger, &app.ledger, None, 120);
    assert_eq!(vm.rows[app.selected_index()][0], chosen, "the highlighted row is the workflow opened");
}

#[test]
fn the_drill_down_follows_the_cursor() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    drive(&mut app, &conn, &[Action::SelectTab(1), Action::Home, Action::Enter]);
    let first = app.ledger.drill.clone().unwrap();
    let e = app.update(Action::Down);
    let [Effect::Query(p)] = &e[..] else { panic!("{e:?}") };
    assert_ne!(p.drill.as_deref(), Some(first.as_str()));
    assert_eq!(p.drill, app.ledger.selected, "the drill-down moved with the selection");
    app.update(Action::DataReady(Box::new(snap(&conn, p))));
    assert_eq!(app.snapshot.as_ref().unwrap().drill.as_ref().map(|d| d.key.clone()), app.ledger.selected);
}

#[test]
fn keys_switch_tabs_sort_group_and_drill() {
    let conn = fixture();
    let recs = records();
    let mut app = app_with(&conn, (120, 40));
    assert_eq!(app.tab, Tab::Live);
    assert!(app.update(Action::NextTab).is_empty(), "switching tabs needs no query");
    assert_eq!(app.tab, Tab::Ledger);
    app.update(Action::PrevTab);
    app.update(Action::PrevTab);
    assert_eq!(app.tab, Tab::Levers, "tabs wrap around");
    let e = app.update(Action::PrevTab);
    assert_eq!(app.tab, Tab::Kpis);
    let [Effect::Query(p)] = &e[..] else { panic!("the KPI tab asks for its board: {e:?}") };
    assert!(p.kpis);
    app.update(Action::DataReady(Box::new(snap(&conn, p))));
    assert!(app.snapshot.as_ref().unwrap().operate.kpis.is_some());
    app.update(Action::PrevTab);
    app.update(Action::PrevTab);
    assert_eq!(app.tab, Tab::Gate);
    let e = app.update(Action::PrevTab);
    assert_eq!(app.tab, Tab::Forecast);
    assert!(matches!(&e[..], [Effect::Query(p)] if p.forecast), "the forecast tab asks for its data once");
    app.update(Action::SelectTab(1));
    // Grouping and windows ask for new data; sorting does not.
    let e = app.update(Action::CycleGroup);
    assert!(matches!(&e[..], [Effect::Query(p)] if p.group == GroupBy::Dim(Dimension::Team)));
    let e = app.update(Action::CycleWindow);
    assert!(matches!(&e[..], [Effect::Query(p)] if p.window == WindowKind::Days7));
    assert!(app.update(Action::CycleSort).is_empty());
    assert_eq!(app.ledger.sort, "calls", "after cost come the calls");
    // Back to workflows today, sorted by calls: the order by hand from
    // the fixture's calls of today.
    drive(&mut app, &conn, &[Action::CycleWindow, Action::CycleWindow, Action::CycleWindow, Action::CycleWindow]);
    assert_eq!(app.ledger.window, WindowKind::Today);
    for _ in 0..LEDGER_GROUP_STEPS {
        drive(&mut app, &conn, &[Action::CycleGroup]);
    }
    assert_eq!(app.ledger.group, GroupBy::WORKFLOW);
    assert_eq!(app.ledger.sort, "calls");
    let midnight = parse_ts_str("2026-11-28T00:00:00Z").unwrap();
    let mut by_calls: Vec<(usize, String)> = WORKFLOWS
        .iter()
        .map(|(wf, ..)| {
            (recs.iter().filter(|r| r.ts_ms >= midnight && r.workflow.as_deref() == Some(wf)).count(), wf.to_string())
        })
        .collect();
    by_calls.sort_by_key(|c| std::cmp::Reverse(c.0));
    drive(&mut app, &conn, &[Action::Home, Action::Down, Action::Enter]);
    assert_eq!(app.ledger.drill.as_deref(), Some(by_calls[1].1.as_str()), "{by_calls:?}");
    assert_eq!(app.snapshot.as_ref().unwrap().drill.as_ref().unwrap().key, by_calls[1].1);
    drive(&mut app, &conn, &[Action::Back]);
    assert_eq!(app.ledger.drill, None);
    app.update(Action::Quit);
    assert!(app.quit);
}

/// `g` presses from Team back to Workflow.
const LEDGER_GROUP_STEPS: usize = super::app::LEDGER_GROUPS.len() - 1;

#[test]
fn the_forecast_keeps_its_workflow_across_reloads() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    drive(&mut app, &conn, &[Action::SelectTab(3), Action::NextItem, Action::NextItem]);
    let chosen = app.forecast.item.clone().unwrap();
    // A reload whose order differs: the chosen workflow's spend grows.
    let mut more = fixture();
    let burst: Vec<CallRecord> = (0..200)
        .map(|k| {
            call(
                now() - 2000 - k,
                800_000 + k,
                "everything-else",
                Some("Various"),
                "gpt-4.1",
                "x",
                Some(5_000_000_000),
                10,
            )
        })
        .collect();
    store(&mut more, &burst);
    let p = app.params();
    app.update(Action::DataReady(Box::new(snap(&more, &p))));
    assert_eq!(app.forecast.item.as_deref(), Some(chosen.as_str()));
    let vm = super::view::forecast_vm(&app).unwrap();
    assert!(vm.title.starts_with(&chosen), "{}", vm.title);
}

#[test]
fn a_failed_query_is_shown_and_tried_again() {
    let mut app = App::new(now(), TimeZone::UTC, Status::default());
    app.update(Action::Resize(100, 30));
    let e = app.update(Action::Tick(now()));
    assert_eq!(e.len(), 1);
    app.update(Action::QueryFailed("cannot open the ledger: database is locked".into()));
    let screen = render(&app);
    assert!(screen.lines().next().unwrap().contains("cannot open the ledger: database is locked"), "{screen}");
    assert!(app.update(Action::Tick(now() + 1_000)).is_empty(), "not before the retry delay");
    assert_eq!(app.update(Action::Tick(now() + super::app::RETRY_MS)).len(), 1, "then again");
    // An answer that never comes is given up on.
    assert!(app.update(Action::Tick(now() + 5_000)).is_empty());
    assert_eq!(app.update(Action::Tick(now() + super::app::RETRY_MS + super::app::QUERY_TIMEOUT_MS)).len(), 1);
}

#[test]
fn refreshes_are_throttled_follow_commits_and_pause() {
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
    app.update(Action::DataReady(Box::new(snap(&conn, &app.params()))));
    app.update(Action::TogglePause);
    assert!(app.update(Action::Tick(t0 + 60_000)).is_empty(), "paused");
    assert!(render(&app).contains("PAUSED"));
    assert_eq!(app.update(Action::TogglePause).len(), 1, "resuming refreshes");
}

#[test]
fn the_filter_narrows_every_list_and_esc_clears_it() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    app.update(Action::PromptFilter);
    for c in "SALES".chars() {
        app.update(Action::Input(c));
    }
    assert_eq!(app.list_ids(), ["sales-research-agent"]);
    app.update(Action::Enter);
    assert!(app.prompt.is_none());
    drive(&mut app, &conn, &[Action::SelectTab(1)]);
    assert_eq!(app.list_ids(), ["sales-research-agent"]);
    assert!(render(&app).contains("filter \"SALES\" 1/7"));
    app.update(Action::Back);
    assert_eq!(app.list_ids().len(), 7, "six workflows and the unattributed row");
}

#[test]
fn a_custom_window_is_typed_in_the_when_grammar() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    app.update(Action::SelectTab(1));
    app.update(Action::PromptRange);
    for c in "2026-11-20..2026-11-22".chars() {
        app.update(Action::Input(c));
    }
    let e = app.update(Action::Enter);
    let [Effect::Query(p)] = &e[..] else { panic!("{e:?}") };
    let (a, b) = (parse_ts_str("2026-11-20T00:00:00Z").unwrap(), parse_ts_str("2026-11-23T00:00:00Z").unwrap());
    assert_eq!(p.window, WindowKind::Custom(a, b));
    app.update(Action::DataReady(Box::new(snap(&conn, p))));
    assert_eq!(app.snapshot.as_ref().unwrap().ledger.ledger.total.cost.0, cost_between(&records(), a, b, None));
    // A bad range keeps the prompt open with the reason.
    app.update(Action::PromptRange);
    for c in "yesterday".chars() {
        app.update(Action::Input(c));
    }
    assert!(app.update(Action::Enter).is_empty());
    assert!(app.prompt.as_ref().unwrap().error.is_some());
}

#[test]
fn hostile_text_never_reaches_the_screen() {
    let mut conn = fixture();
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
    store(&mut conn, std::slice::from_ref(&r));
    let mut app = app_with(&conn, (120, 40));
    for tab in 0..4 {
        drive(&mut app, &conn, &[Action::SelectTab(tab)]);
        let screen = render(&app);
        assert!(!screen.contains('\u{1b}') && !screen.contains('\u{7}'), "{screen}");
    }
}

#[test]
fn sliders_answer_from_memory_with_the_scenario_by_hand() {
    let conn = fixture();
    let recs = records();
    let mut app = app_with(&conn, (120, 40));
    drive(&mut app, &conn, &[Action::SelectTab(3)]);
    let data = app.snapshot.as_ref().unwrap().forecast.clone().unwrap();
    assert_eq!(data.items[0].measured.workflow, None, "all workflows first");
    // The forecast's current month is the last 30 days' cost, summed here.
    let thirty = cost_between(&recs, now() - 30 * MS_PER_DAY, now() + 1, None);
    assert_eq!(data.items[0].measured.drivers.monthly_cost, Nanos(thirty));
    let moves = [
        Action::SliderRight,
        Action::SliderRight,
        Action::SliderBigRight,
        Action::Down,
        Action::SliderBigLeft,
        Action::NextItem,
        Action::PrevItem,
        Action::SaveScenario,
    ];
    for a in moves {
        assert!(app.update(a.clone()).is_empty(), "{a:?} asked for a query");
    }
    assert_eq!(app.forecast.values, [35.0, -25.0, 0.0, 0.0, 0.0]);
    let vm = super::view::forecast_vm(&app).unwrap();
    // Growth 35% and 25% fewer tokens per call at the same rate per token:
    // 1.35 x 0.75 of the month, by hand.
    let want = (thirty as f64 * 1.35 * 0.75).round() as i64;
    let shown = &vm.table.rows.iter().find(|r| r.id == "projected_monthly_cost_usd").unwrap().cells;
    assert_eq!(shown[1].human(), Nanos(thirty).format_usd(2));
    let crate::reports::table::Cell::Usd(got) = shown[2] else { panic!("{:?}", shown[2]) };
    assert!((got.0 - want).abs() <= 1, "{got:?} vs {want}");
    assert_eq!(app.forecast.saved.len(), 1);
    assert_eq!(app.forecast.saved[0].cost, got);
    assert_eq!(vm.saved.len(), 2, "the current month and the saved scenario");
    assert_eq!(vm.saved[1].changes, "g+35 t-25");
    assert_eq!(vm.saved[1].cost, got.format_usd(2));
    assert_eq!(super::view::scenario_changes(&[0.0, 0.0, -10.0, 30.0, 60.0]), "r-10 i30 c60");
    // Sliders stop at their bounds; reset puts them back.
    for _ in 0..100 {
        app.update(Action::SliderBigLeft);
    }
    assert_eq!(app.forecast.values[1], super::app::SLIDERS[1].min);
    app.update(Action::ResetSlider);
    assert_eq!(app.forecast.values[1], 0.0);
    app.update(Action::ResetAll);
    assert_eq!(app.forecast.values, [0.0; 5]);
    let screen = render(&app);
    assert!(screen.contains("Current (last 30 d)"), "{screen}");
}

#[test]
fn hidden_panes_are_announced() {
    let conn = fixture();
    let app = app_with(&conn, (80, 24));
    let screen = render(&app);
    assert!(screen.contains("more (↑ ↓ to scroll)"), "{screen}");
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
    assert!(render(&app).contains("No calls in the last 24 hours"));
}

#[test]
fn the_help_lists_every_key_of_the_keymap() {
    let conn = fixture();
    let mut app = app_with(&conn, (200, 60));
    app.update(Action::ToggleHelp);
    let screen = render(&app);
    for b in super::keys::KEYMAP {
        assert!(screen.contains(b.help), "{} missing from the help:\n{screen}", b.help);
    }
}

#[test]
fn the_readme_key_table_is_the_keymap() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = super::keys::markdown_table();
    assert!(readme.contains(&table), "README's key table differs from the keymap; it should read:\n{table}");
}

#[test]
fn no_module_of_the_cockpit_imports_one_that_imports_it() {
    // The `use super::...` lines of each module form the import graph.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/tui");
    let mut edges: Vec<(String, String)> = Vec::new();
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let Some(name) = p.file_stem().map(|s| s.to_string_lossy().to_string()) else { continue };
        if p.extension().is_none_or(|x| x != "rs") || name == "tests" {
            continue;
        }
        names.push(name.clone());
        let text = std::fs::read_to_string(&p).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        for line in code.lines() {
            let l = line.trim();
            for prefix in ["use super::", "use crate::tui::", "super::"] {
                let mut rest = l;
                while let Some(i) = rest.find(prefix) {
                    let after = &rest[i + prefix.len()..];
                    let m: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !m.is_empty() && name != "mod" {
                        edges.push((name.clone(), m));
                    }
                    rest = after;
                }
            }
        }
    }
    edges.sort();
    edges.dedup();
    // Depth-first search for a cycle.
    fn visit(
        n: &str,
        edges: &[(String, String)],
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.iter().any(|d| d == n) {
            return None;
        }
        path.push(n.to_string());
        for (a, b) in edges {
            if a == n
                && let Some(c) = visit(b, edges, path, done)
            {
                return Some(c);
            }
        }
        path.pop();
        done.push(n.to_string());
        None
    }
    let mut done = Vec::new();
    for n in &names {
        let cycle = visit(n, &edges, &mut Vec::new(), &mut done);
        assert!(cycle.is_none(), "import cycle: {:?}", cycle.unwrap().join(" → "));
    }
    assert!(edges.iter().any(|(a, b)| a == "view" && b == "app"), "the graph was read: {edges:?}");
}

#[test]
fn e_exports_what_the_tab_shows_and_says_where() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    drive(&mut app, &conn, &[Action::SelectTab(1), Action::CycleWindow, Action::CycleGroup]);
    let e = app.update(Action::Export);
    let [Effect::Export(r)] = &e[..] else { panic!("{e:?}") };
    assert_eq!((r.view, r.format.as_str()), ("ledger", "md"));
    assert_eq!(r.window, WindowKind::Days7, "the tab's window");
    assert_eq!(r.group, GroupBy::Dim(Dimension::Team), "and grouping");
    // Written where asked, named after the view and the time.
    let dir = tempfile::tempdir().unwrap();
    let mut pricer = crate::pricing::Pricer::new(std::sync::Arc::new(crate::pricing::Catalog::embedded()));
    let path = super::export_file(&conn, r, &mut pricer, "00", dir.path()).unwrap();
    assert!(path.ends_with("aifin-ledger-20261128-120030.md"), "{path}");
    let md = std::fs::read_to_string(&path).unwrap();
    assert!(md.contains("Ledger by team · 7 d"), "{md}");
    app.update(Action::Exported(Ok(path.clone())));
    assert!(render(&app).contains("exported to"), "the status says where");
    // E lists the formats, html first chosen; the arrows move the choice
    // (wrapping), Enter writes the chosen one.
    app.update(Action::Exported(Ok("aifin-ledger-20261128-120030.md".into())));
    app.update(Action::PromptExport);
    let screen = render(&app);
    for (fmt, what) in
        [("md", "Markdown tables"), ("html", "self-contained page"), ("json", "--json"), ("csv", "spreadsheet")]
    {
        assert!(screen.lines().any(|l| l.contains(fmt) && l.contains(what)), "{fmt} listed:\n{screen}");
    }
    assert!(screen.lines().any(|l| l.contains("▶ html")), "html is chosen first:\n{screen}");
    insta::assert_snapshot!("export_dialog_120x40", screen);
    app.update(Action::Down);
    app.update(Action::Down);
    assert!(render(&app).lines().any(|l| l.contains("▶ csv")), "down twice: csv");
    app.update(Action::Down);
    assert!(render(&app).lines().any(|l| l.contains("▶ md")), "and around to md");
    app.update(Action::Up);
    let e = app.update(Action::Enter);
    assert!(matches!(&e[..], [Effect::Export(r)] if r.format == "csv"), "{e:?}");
    assert!(app.prompt.is_none());
    // A format's first letter writes it at once; a letter of none is said;
    // Esc closes without writing.
    app.update(Action::PromptExport);
    assert!(app.update(Action::Input('x')).is_empty());
    assert!(app.prompt.as_ref().unwrap().error.as_ref().unwrap().contains("m, h, j or c"));
    let e = app.update(Action::Input('j'));
    assert!(matches!(&e[..], [Effect::Export(r)] if r.format == "json"), "{e:?}");
    app.update(Action::PromptExport);
    assert!(app.update(Action::Back).is_empty());
    assert!(app.prompt.is_none());
}

/// Answers a lever replay as the lever thread does: the 30 days up to the
/// newest call, read from the fixture, replayed with the request's setting.
fn answer_replay(conn: &Connection, r: &super::app::LeverRequest) -> Action {
    let newest: i64 = conn.query_row("SELECT MAX(ts) FROM calls WHERE ts <= ?1", [r.now_ms], |x| x.get(0)).unwrap();
    let window = crate::store::queries::Window {
        since: Some(newest + 1 - super::app::LEVERS_WINDOW_MS),
        until: Some(newest + 1),
    };
    let set = crate::levers::CallSet::load(conn, window, None, &|_| {}).unwrap();
    let report = crate::reports::levers::LeversReport::build_on(
        conn,
        &set,
        window,
        &r.settings.lever_set(),
        std::sync::Arc::new(crate::pricing::Catalog::embedded()),
    )
    .unwrap();
    Action::LeversReady(
        r.generation,
        Ok(super::app::LeversResult {
            report: std::sync::Arc::new(report),
            calls: set.len(),
            took_ms: 1_200,
            read: r.reload,
            settings: r.settings.clone(),
        }),
    )
}

fn replays(effects: &[Effect]) -> Vec<super::app::LeverRequest> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Replay(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_levers_tab_replays_off_the_ui_thread_and_keeps_its_last_result() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    let asked = replays(&app.update(Action::SelectTab(7)));
    assert_eq!(asked.len(), 1);
    assert_eq!((asked[0].generation, asked[0].reload), (1, true), "the first replay reads the calls");
    assert!(app.levers.running);
    // Before any result: what it is doing, at once.
    assert!(render(&app).contains("replaying the last 30 days"));
    app.update(Action::LeversProgress(250_000));
    assert!(render(&app).contains("250,000 calls read"));
    app.update(answer_replay(&conn, &asked[0]));
    assert!(!app.levers.running);
    insta::assert_snapshot!("levers_120x40", render(&app));
    app.update(Action::Resize(80, 24));
    insta::assert_snapshot!("levers_80x24", render(&app));
    app.update(Action::Resize(120, 40));

    // A new setting replays the calls in memory; the last result stays on
    // screen meanwhile, and a late answer to an older request does not end
    // the wait.
    app.update(Action::Down);
    let asked = replays(&app.update(Action::SliderRight));
    assert_eq!((asked[0].generation, asked[0].reload), (2, false));
    assert_eq!(asked[0].settings.compress_pct, 35);
    let screen = render(&app);
    assert!(screen.contains("replaying the new setting"), "{screen}");
    assert!(screen.contains("Composed"), "{screen}");
    app.update(Action::LeversReady(1, Err("an older request failed".into())));
    assert!(app.levers.running && app.levers.error.is_none());

    // Every lever off: the replay is the ledger, to the nano (the
    // fixture's calls of those 30 days, summed here).
    let mut last = None;
    for row in 0..4 {
        app.levers.row = row;
        last = replays(&app.update(Action::ToggleLever)).pop();
    }
    let last = last.unwrap();
    assert_eq!(last.generation, 6);
    assert_eq!(last.settings.on, [false; 4]);
    app.update(answer_replay(&conn, &last));
    let t = &app.levers.result.as_ref().unwrap().report.replay.total;
    let w = app.levers.result.as_ref().unwrap().report.window;
    assert_eq!(t.stored.0, cost_between(&records(), w.0.unwrap(), w.1.unwrap(), None));
    assert_eq!((t.composed, t.composed_saving().0), (t.replayed, 0));
}

#[test]
fn the_forecast_takes_its_levers_from_the_replay_with_v() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    drive(&mut app, &conn, &[Action::SelectTab(3)]);
    // No replay yet: `v` asks for one.
    let asked = replays(&app.update(Action::ToggleReplayed));
    assert_eq!(asked.len(), 1);
    assert!(app.forecast.replayed);
    app.update(answer_replay(&conn, &asked[0]));
    let r = app.levers.result.as_ref().unwrap().report.replay.total.clone();
    let s = app.forecast_scenario(None);
    let f = s.replayed.expect("the replay's factors");
    // The composed factor: spend with the levers over spend without.
    assert_eq!(f.composed, r.composed.0 as f64 / r.replayed.0 as f64);
    assert!(f.composed < 1.0);
    // The typed levers give way to the measured ones.
    app.forecast.values[3] = 30.0;
    assert_eq!(app.forecast_scenario(None).input_reduction_pct, 0.0);
    app.update(Action::ToggleReplayed);
    assert_eq!(app.forecast_scenario(None).replayed, None);
    assert_eq!(app.forecast_scenario(None).input_reduction_pct, 30.0);
}

#[test]
fn refreshes_ask_for_the_forecast_ahead_except_on_its_own_tab() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    assert!(app.params().forecast_ahead && !app.params().forecast);
    app.update(Action::SelectTab(3));
    assert_eq!(app.tab, Tab::Forecast);
    assert!(!app.params().forecast_ahead && app.params().forecast);
}

#[test]
fn the_forecast_is_read_ahead_before_a_refresh_would_find_it_stale() {
    let at = |ms, calls| Some(super::ReadAt { ms, calls });
    assert!(super::forecast_due(None, 0, 10), "never read: read it");
    assert!(!super::forecast_due(at(0, 1_000), 24_999, 1_010));
    assert!(super::forecast_due(at(0, 1_000), 25_000, 1_000), "5 s before the 30 s reuse ends");
    assert!(super::forecast_due(at(0, 1_000), 1, 1_011), "11 calls more than 1,000: read again");
}

#[test]
fn kept_data_stands_while_the_ledger_holds_about_as_many_calls() {
    let at = super::ReadAt { ms: 0, calls: 20 };
    // The demo (or a first import) still being written: read again.
    assert!(!super::still_fresh(at, 1_000, 2_796));
    assert!(super::still_fresh(at, 1_000, 20));
    assert!(!super::still_fresh(at, 30_000, 20), "30 s old");
    // A live tail adding to a large ledger: kept.
    let big = super::ReadAt { ms: 0, calls: 10_000_000 };
    assert!(super::still_fresh(big, 29_999, 10_100_000));
    assert!(!super::still_fresh(big, 29_999, 10_102_000), "1.02% more");
    assert!(super::still_fresh(super::ReadAt { ms: 0, calls: 0 }, 5, 0), "an empty ledger stays empty");
}

#[test]
fn a_setting_changed_while_the_calls_are_read_does_not_read_them_again() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    let first = replays(&app.update(Action::SelectTab(7)));
    assert!(first[0].reload);
    // A key during the first read: the thread replays what it is reading.
    app.update(Action::Down);
    let second = replays(&app.update(Action::SliderRight));
    assert!(!second[0].reload, "the calls are being read already");
    // The read fails: the next request reads.
    app.update(Action::LeversReady(first[0].generation, Err("disk gone".into())));
    let third = replays(&app.update(Action::SliderRight));
    assert!(third[0].reload);
    // It succeeds: settings replay from memory until the calls are stale.
    app.update(answer_replay(&conn, &third[0]));
    assert!(!replays(&app.update(Action::SliderRight))[0].reload);
}

#[test]
fn the_levers_tab_exports_its_result_as_on_screen_without_replaying() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    let asked = replays(&app.update(Action::SelectTab(7)));
    app.update(answer_replay(&conn, &asked[0]));
    let shown = app.levers.result.as_ref().unwrap().report.replay.total.composed_saving();
    assert!(shown.0 > 0);
    let e = app.update(Action::Export);
    let [Effect::Export(r)] = &e[..] else { panic!("{e:?}") };
    let r = super::app::ExportRequest { format: "json".into(), ..r.clone() };
    // Written from the result held: an empty ledger cannot change it.
    let empty = crate::store::open_memory().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut pricer = crate::pricing::Pricer::new(std::sync::Arc::new(crate::pricing::Catalog::embedded()));
    let path = super::export_file(&empty, &r, &mut pricer, "00", dir.path()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let total = &json["report"]["total"];
    assert_eq!(total["composed_saving_nanousd"], shown.0, "{json:#}");
}

/// What answers the person (a key, the data they wait for) is drawn at
/// once; a status change, progress, the clock and news of commits wait for
/// the next frame slot.
#[test]
fn answers_are_drawn_at_once_and_status_waits_for_its_frame_slot() {
    let conn = fixture();
    let mut app = app_with(&conn, (120, 40));
    app.urgent = false;
    let busier = Status { ingest_lines: 123_456, ..app.status.clone() };
    app.update(Action::Status(Box::new(busier)));
    assert!(app.dirty, "the status changed");
    app.update(Action::LeversProgress(250_000));
    app.update(Action::Tick(now() + 1_000));
    app.update(Action::Committed);
    assert!(!app.urgent, "nothing the person waits for");
    let effects = app.update(Action::CycleWindow);
    assert!(app.urgent, "a key is answered at once");
    let Some(Effect::Query(p)) = effects.into_iter().find(|e| matches!(e, Effect::Query(_))) else {
        panic!("a window switch asks for data")
    };
    app.urgent = false;
    app.update(Action::DataReady(Box::new(snap(&conn, &p))));
    assert!(app.urgent, "the data waited for is drawn at once");
}
