//! `aifin tui`: the cockpit.
//!
//! Threads: the follower (tail → parse → writer) and the query runner work
//! off the UI thread; the UI thread runs one tokio `select!` loop over
//! terminal events, signals, a one-second tick and background messages,
//! applies [`app::Action`]s with the pure [`app::App::update`], runs the
//! returned effects, and redraws only when something changed, at most ~30
//! times a second. The terminal is restored on every exit: `q`, Ctrl-C,
//! SIGTERM, SIGHUP, errors and panics; Ctrl-Z suspends with the terminal
//! restored and takes it back on `fg`.
//!
//! Module order (no module imports one after it): `data`, `layout` →
//! `app` → `keys`, `view` → `theme`, `ui` → `terminal` → this loop.

pub mod app;
pub mod data;
pub mod keys;
pub mod layout;
pub mod terminal;
pub mod theme;
pub mod ui;
pub mod view;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use jiff::tz::TimeZone;
use ratatui::crossterm::event::EventStream;
use tokio::signal::unix::{SignalKind, signal};

use crate::attribution::Attributor;
use crate::ingest::follow::{FollowOptions, follow};
use crate::ingest::{Progress, SourceSpec};
use crate::pricing::Catalog;
use crate::store::events::{self, Event};
use crate::tokenize::TokenizerStats;
use app::{Action, App, Effect, Status};
use data::{QueryParams, Snapshot};

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What the cockpit runs on.
pub struct TuiOptions {
    pub db: PathBuf,
    pub specs: Vec<SourceSpec>,
    pub catalog: Arc<Catalog>,
    pub attributor: Arc<Attributor>,
    pub tz: TimeZone,
    pub notice: Option<String>,
    /// Stopped when the TUI exits (the demo's traffic simulator).
    pub stop: Arc<AtomicBool>,
    /// The RACI, owners, budgets and KPI targets.
    pub operate: Arc<crate::operate::Operate>,
    /// The attribution rules' hash, for export stamps.
    pub rules_hash: String,
}

/// Messages from background threads to the UI loop.
enum AppEvent {
    Committed,
    Data(Box<Snapshot>),
    QueryFailed(String),
    Error(String),
    Exported(Result<String, String>),
    LeversProgress(u64),
    LeversReady(u64, Result<app::LeversResult, String>),
}

/// Work for the query thread.
enum Job {
    Query(QueryParams),
    Record(Vec<Event>),
    Export(app::ExportRequest),
}

/// How long the forecast tab's drivers and trends are reused before they
/// are read again (they are 30-day aggregates).
const FORECAST_REFRESH_MS: i64 = 30_000;
/// How long the query thread waits for another request before it reads
/// the forecast's data ahead.
const FORECAST_AHEAD_IDLE_MS: u64 = 250;

/// When data kept between refreshes was read: the time asked for and the
/// calls the ledger held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ReadAt {
    ms: i64,
    calls: i64,
}

/// Whether the ledger's calls then and now differ by at most 1% (of the
/// larger): kept data still stands while a live tail adds a few calls,
/// not once an import (or the demo being written) has added many.
fn similar_calls(then: i64, now: i64) -> bool {
    (now - then).unsigned_abs().saturating_mul(100) <= then.max(now).unsigned_abs()
}

/// Whether data read at `at` can stand for the ledger at `now` holding
/// `calls`.
fn still_fresh(at: ReadAt, now: i64, calls: i64) -> bool {
    (now - at.ms).abs() < FORECAST_REFRESH_MS && similar_calls(at.calls, calls)
}

/// Whether the forecast's data read at `read_at` should be read again
/// ahead (a little before a refresh would find it stale).
fn forecast_due(read_at: Option<ReadAt>, now: i64, calls: i64) -> bool {
    read_at.is_none_or(|t| (now - t.ms).abs() >= FORECAST_REFRESH_MS - 5_000 || !similar_calls(t.calls, calls))
}

/// Runs queries (and records events) on its own connection; only the
/// newest query is served. A failure, opening included, is reported and
/// the next request tries again.
fn spawn_query_thread(
    db: PathBuf,
    catalog: Arc<Catalog>,
    tx: tokio::sync::mpsc::UnboundedSender<AppEvent>,
    rules_hash: String,
) -> std::sync::mpsc::Sender<Job> {
    let (qtx, qrx) = std::sync::mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("aifin-query".into())
        .spawn(move || {
            let mut conn: Option<rusqlite::Connection> = None;
            let mut pricer = crate::pricing::Pricer::new(catalog);
            // (read at, data): the forecast's 30-day drivers are reused
            // between refreshes that come sooner than FORECAST_REFRESH_MS
            // while the ledger holds about as many calls.
            let mut forecast: Option<(ReadAt, data::ForecastData)> = None;
            // The KPI board (monthly figures) is reused the same way.
            let mut kpis: Option<(ReadAt, (crate::reports::kpis::KpiReport, crate::reports::alerts::AlertsReport))> =
                None;
            // The budgets' minute spend, read incrementally.
            let mut minutes = crate::store::live::MinuteCache::default();
            // A request that came while waiting to read ahead.
            let mut next: Option<Job> = None;
            loop {
                let job = match next.take() {
                    Some(j) => j,
                    None => match qrx.recv() {
                        Ok(j) => j,
                        Err(_) => break,
                    },
                };
                let mut query = None;
                let mut record = Vec::new();
                let mut exports = Vec::new();
                let mut take = |j: Job| match j {
                    Job::Query(p) => query = Some(p),
                    Job::Record(e) => record.extend(e),
                    Job::Export(r) => exports.push(r),
                };
                take(job);
                while let Ok(j) = qrx.try_recv() {
                    take(j);
                }
                if conn.is_none() {
                    match crate::store::open_existing(&db) {
                        Ok(c) => conn = Some(c),
                        Err(e) => {
                            if tx.send(AppEvent::QueryFailed(format!("cannot open the ledger: {e}"))).is_err() {
                                break;
                            }
                            continue;
                        }
                    }
                }
                let Some(c) = conn.as_ref() else { continue };
                if !record.is_empty() {
                    let now = crate::domain::time::now_ms();
                    if let Err(e) = record.iter().try_for_each(|e| events::record(c, e, now)) {
                        let _ = tx.send(AppEvent::Error(format!("cannot record an event: {e}")));
                    }
                }
                for r in exports {
                    let done = export_file(c, &r, &mut pricer, &rules_hash, std::path::Path::new("."));
                    if tx.send(AppEvent::Exported(done)).is_err() {
                        return;
                    }
                }
                let Some(p) = query else { continue };
                // The calls stored, for what is kept between refreshes.
                let calls = if p.forecast || p.kpis || p.forecast_ahead {
                    crate::store::queries::stored_calls(c).unwrap_or(-1)
                } else {
                    -1
                };
                let at = ReadAt { ms: p.now_ms, calls };
                let reuse = p.forecast && forecast.as_ref().is_some_and(|(t, _)| still_fresh(*t, p.now_ms, calls));
                let reuse_kpis = p.kpis && kpis.as_ref().is_some_and(|(t, _)| still_fresh(*t, p.now_ms, calls));
                let q = QueryParams { forecast: p.forecast && !reuse, kpis: p.kpis && !reuse_kpis, ..p.clone() };
                let mut ahead = None;
                let ev = match data::snapshot_cached(c, &q, &mut pricer, &mut minutes) {
                    Ok(mut s) => {
                        match &s.operate.kpis {
                            Some(k) => kpis = Some((at, k.clone())),
                            None if reuse_kpis => s.operate.kpis = kpis.as_ref().map(|(_, k)| k.clone()),
                            None => {}
                        }
                        match &s.forecast {
                            Some(f) => forecast = Some((at, f.clone())),
                            None if reuse => {
                                s.forecast = forecast.as_ref().map(|(_, f)| {
                                    let mut f = f.clone();
                                    // All workflows: the header's projection, fresh.
                                    if let Some(first) = f.items.first_mut() {
                                        first.trend = s.live.projection.clone();
                                    }
                                    f
                                })
                            }
                            None => {}
                        }
                        if p.forecast_ahead {
                            ahead = Some(s.live.projection.clone());
                        }
                        s.params = p.clone();
                        AppEvent::Data(Box::new(s))
                    }
                    Err(e) => {
                        conn = None;
                        AppEvent::QueryFailed(format!("query failed: {e}"))
                    }
                };
                if tx.send(ev).is_err() {
                    break;
                }
                // After the refresh is on screen, once nothing has been
                // asked for a moment: the forecast's data when it is due,
                // so the Forecast tab draws at once.
                if let Some(projection) = ahead
                    && forecast_due(forecast.as_ref().map(|(t, _)| *t), p.now_ms, calls)
                {
                    match qrx.recv_timeout(Duration::from_millis(FORECAST_AHEAD_IDLE_MS)) {
                        Ok(j) => next = Some(j),
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                            if let Some(c) = conn.as_ref()
                                && let Ok(f) = data::forecast(c, &mut pricer, p.now_ms, &p.tz, &projection)
                            {
                                forecast = Some((at, f));
                            }
                        }
                    }
                }
            }
        })
        .expect("spawn query thread");
    qtx
}

/// Replays the levers on its own thread and connection: the calls of the
/// last 30 days are read when a request says so (with progress), kept,
/// and replayed for each new setting; only the newest request is served.
fn spawn_lever_thread(
    db: PathBuf,
    catalog: Arc<Catalog>,
    tx: tokio::sync::mpsc::UnboundedSender<AppEvent>,
) -> std::sync::mpsc::Sender<app::LeverRequest> {
    let (ltx, lrx) = std::sync::mpsc::channel::<app::LeverRequest>();
    std::thread::Builder::new()
        .name("aifin-levers".into())
        .spawn(move || {
            let mut conn: Option<rusqlite::Connection> = None;
            let mut calls: Option<(crate::store::queries::Window, crate::levers::CallSet)> = None;
            while let Ok(mut req) = lrx.recv() {
                while let Ok(newer) = lrx.try_recv() {
                    let reload = req.reload || newer.reload;
                    req = app::LeverRequest { reload, ..newer };
                }
                let started = Instant::now();
                let r = (|| -> Result<app::LeversResult, String> {
                    if conn.is_none() {
                        conn =
                            Some(crate::store::open_existing(&db).map_err(|e| format!("cannot open the ledger: {e}"))?);
                    }
                    let c = conn.as_ref().ok_or("no ledger")?;
                    let read = req.reload || calls.is_none();
                    if read {
                        calls = None;
                        // The 30 days up to the newest call (a ledger of an
                        // earlier month shows that month).
                        let newest: Option<i64> = c
                            .query_row("SELECT MAX(ts) FROM calls WHERE ts <= ?1", [req.now_ms], |r| r.get(0))
                            .map_err(|e| format!("cannot read the calls: {e}"))?;
                        let end = newest.unwrap_or(req.now_ms) + 1;
                        let window = crate::store::queries::Window {
                            since: Some(end - app::LEVERS_WINDOW_MS),
                            until: Some(end),
                        };
                        let progress = |n: u64| {
                            let _ = tx.send(AppEvent::LeversProgress(n));
                        };
                        let set = crate::levers::CallSet::load(c, window, None, &progress)
                            .map_err(|e| format!("cannot read the calls: {e}"))?;
                        calls = Some((window, set));
                    }
                    let (window, set) = calls.as_ref().ok_or("no calls")?;
                    let report = crate::reports::levers::LeversReport::build_on(
                        c,
                        set,
                        *window,
                        &req.settings.lever_set(),
                        Arc::clone(&catalog),
                    )
                    .map_err(|e| e.to_string())?;
                    Ok(app::LeversResult {
                        report: Arc::new(report),
                        calls: set.len(),
                        took_ms: started.elapsed().as_millis() as u64,
                        read,
                        settings: req.settings.clone(),
                    })
                })();
                if r.is_err() {
                    conn = None;
                }
                if tx.send(AppEvent::LeversReady(req.generation, r)).is_err() {
                    break;
                }
            }
        })
        .expect("spawn lever thread");
    ltx
}

/// Writes what a tab shows to `aifin-<view>-<time>.<format>` in the
/// current directory; returns the path, or why it could not.
fn export_file(
    conn: &rusqlite::Connection,
    r: &app::ExportRequest,
    pricer: &mut crate::pricing::Pricer,
    rules_hash: &str,
    dir: &std::path::Path,
) -> Result<String, String> {
    use crate::reports::{export, snapshot};
    let window = r.window.window(r.now_ms, &r.tz);
    let p = snapshot::Params {
        now: r.now_ms,
        window,
        window_label: r.window.label(),
        as_of: window.until.map_or(r.now_ms, |u| u - 1).min(r.now_ms),
        tz: r.tz.clone(),
        by: r.group,
        catalog_version: pricer.catalog().version().to_string(),
        rules_hash: rules_hash.to_string(),
        outcome_rules: r.outcome_rules.clone(),
        levers: r.levers.as_ref().map(|l| l.lever_set()),
        levers_report: r.levers_result.as_ref().map(|l| Arc::clone(&l.report)),
    };
    let s = snapshot::build(conn, r.view, &p, &r.operate, pricer)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no view '{}'", r.view))?;
    let text = export::render(&r.format, &[s])?;
    let path = dir.join(export::file_name(r.view, &r.format, r.now_ms, &r.tz));
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path.display().to_string())
}

pub fn run(opts: TuiOptions) -> Result<(), TuiError> {
    // Make sure the ledger exists before readers open it.
    drop(crate::store::open_rw(&opts.db)?);
    let (app_tx, mut app_rx) = tokio::sync::mpsc::unbounded_channel::<AppEvent>();
    let jobs = spawn_query_thread(opts.db.clone(), Arc::clone(&opts.catalog), app_tx.clone(), opts.rules_hash.clone());
    let replays = spawn_lever_thread(opts.db.clone(), Arc::clone(&opts.catalog), app_tx.clone());

    let progress = Arc::new(Progress::default());
    let tokenizer = Arc::new(TokenizerStats::default());
    let following = opts.specs.len();
    let outcome_rules = opts.attributor.outcome_workflows();
    let follower = (!opts.specs.is_empty()).then(|| {
        let (ctx, crx) = std::sync::mpsc::channel();
        let bridge_tx = app_tx.clone();
        std::thread::spawn(move || {
            while crx.recv().is_ok() {
                if bridge_tx.send(AppEvent::Committed).is_err() {
                    break;
                }
            }
        });
        let (db, specs, stop, progress, catalog, attributor, err_tx, tok_stats) = (
            opts.db.clone(),
            opts.specs,
            Arc::clone(&opts.stop),
            Arc::clone(&progress),
            opts.catalog,
            opts.attributor,
            app_tx.clone(),
            Arc::clone(&tokenizer),
        );
        std::thread::Builder::new()
            .name("aifin-follow".into())
            .spawn(move || {
                // A panic here must not leave the screen on "catching up".
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    follow(
                        &specs,
                        FollowOptions {
                            db: &db,
                            catalog,
                            attributor,
                            stop,
                            rescan: Duration::from_secs(2),
                            events: Some(ctx),
                            progress: Some(progress),
                            on_round: None,
                            tokenizer: Some(tok_stats),
                        },
                    )
                }));
                let msg = match r {
                    Ok(Ok(_)) => return,
                    Ok(Err(e)) => format!("ingest stopped: {e}"),
                    Err(_) => "ingest stopped after an internal error; restart aifin".to_string(),
                };
                let _ = err_tx.send(AppEvent::Error(msg));
            })
            .expect("spawn follower")
    });

    let theme = theme::Theme::from_env();
    let mut status = Status {
        db_path: opts.db.display().to_string(),
        tz_name: crate::domain::time::tz_name(&opts.tz),
        following,
        catching_up: following > 0,
        notice: opts.notice.clone(),
        ..Status::default()
    };
    let mut app = App::new(crate::domain::time::now_ms(), opts.tz.clone(), status.clone());
    app.outcome_rules = outcome_rules;
    app.operate = Arc::clone(&opts.operate);
    let mut guard = terminal::TerminalGuard::new()?;
    let size = guard.terminal.size()?;
    app.update(Action::Resize(size.width, size.height));

    let rt = tokio::runtime::Builder::new_current_thread().enable_time().enable_io().build()?;
    let result: Result<(), TuiError> = rt.block_on(async {
        let mut events = EventStream::new();
        let mut term = signal(SignalKind::terminate())?;
        let mut hangup = signal(SignalKind::hangup())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let frame = Duration::from_millis(33);
        let mut last_draw = Instant::now() - frame;
        let mut last_lines = (0u64, Instant::now());
        loop {
            let mut actions: Vec<Action> = Vec::new();
            let draw_due = app.dirty;
            tokio::select! {
                ev = events.next() => match ev {
                    Some(Ok(ev)) => actions.extend(keys::action_for(&ev, app.tab, app.prompt.is_some())),
                    Some(Err(e)) => return Err(TuiError::Terminal(e)),
                    None => break,
                },
                _ = term.recv() => actions.push(Action::Quit),
                _ = hangup.recv() => actions.push(Action::Quit),
                _ = interrupt.recv() => actions.push(Action::Quit),
                _ = tick.tick() => {
                    let now = Instant::now();
                    let lines = progress.lines.load(Ordering::Relaxed);
                    let dt = now.duration_since(last_lines.1).as_secs_f64();
                    if dt > 0.0 {
                        status.ingest_rate = (lines - last_lines.0) as f64 / dt;
                    }
                    status.ingest_lines = lines;
                    status.catching_up = following > 0 && !progress.caught_up.load(Ordering::Relaxed);
                    last_lines = (lines, now);
                    let done = tokenizer.done.load(Ordering::Relaxed);
                    status.tokenizer_rate = (done - status.tokenizer_done) as f64 / dt.max(1e-3);
                    status.tokenizer_done = done;
                    status.tokenizer_queue = tokenizer.queued.load(Ordering::Relaxed);
                    actions.push(Action::Status(Box::new(status.clone())));
                    actions.push(Action::Tick(crate::domain::time::now_ms()));
                }
                Some(ev) = app_rx.recv() => {
                    push_event(ev, &mut actions, &mut status);
                    while let Ok(ev) = app_rx.try_recv() {
                        push_event(ev, &mut actions, &mut status);
                    }
                }
                _ = tokio::time::sleep(frame.saturating_sub(last_draw.elapsed())), if draw_due => {}
            }
            for a in actions {
                for e in app.update(a) {
                    match e {
                        Effect::Query(p) => {
                            let _ = jobs.send(Job::Query(p));
                        }
                        Effect::Record(ev) => {
                            let _ = jobs.send(Job::Record(ev));
                        }
                        Effect::Export(r) => {
                            let _ = jobs.send(Job::Export(r));
                        }
                        Effect::Replay(r) => {
                            let _ = replays.send(r);
                        }
                        Effect::Suspend => {
                            guard.suspend()?;
                            app.update(Action::Resize(guard.terminal.size()?.width, guard.terminal.size()?.height));
                        }
                    }
                }
            }
            if app.quit {
                break;
            }
            if app.dirty && (app.urgent || last_draw.elapsed() >= frame) {
                guard.terminal.draw(|f| ui::render(f, &app, &theme))?;
                app.dirty = false;
                app.urgent = false;
                last_draw = Instant::now();
            }
        }
        Ok(())
    });
    drop(guard);
    opts.stop.store(true, Ordering::Relaxed);
    if let Some(h) = follower {
        let _ = h.join();
    }
    result
}

fn push_event(ev: AppEvent, actions: &mut Vec<Action>, status: &mut Status) {
    match ev {
        AppEvent::Committed => actions.push(Action::Committed),
        AppEvent::Data(s) => actions.push(Action::DataReady(s)),
        AppEvent::QueryFailed(e) => actions.push(Action::QueryFailed(e)),
        AppEvent::Exported(r) => actions.push(Action::Exported(r)),
        AppEvent::LeversProgress(n) => actions.push(Action::LeversProgress(n)),
        AppEvent::LeversReady(g, r) => actions.push(Action::LeversReady(g, r)),
        AppEvent::Error(e) => {
            status.notice = Some(e);
            actions.push(Action::Status(Box::new(status.clone())));
        }
    }
}
