//! `aifin tui`: the cockpit.
//!
//! Threads: the follower (tail → parse → writer) and the query runner work
//! off the UI thread; the UI thread runs one tokio `select!` loop over
//! terminal events, a one-second tick and background messages, applies
//! [`app::Action`]s with the pure [`app::App::update`], runs the returned
//! effects, and redraws only when something changed, at most ~30 times a
//! second. The terminal is restored on exit, error and panic.

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

use crate::attribution::Attributor;
use crate::ingest::follow::{FollowOptions, follow};
use crate::ingest::{Progress, SourceSpec};
use crate::pricing::Catalog;
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
}

/// Messages from background threads to the UI loop.
enum AppEvent {
    Committed,
    Data(Box<Snapshot>),
    Error(String),
}

/// How long the forecast tab's drivers and trends are reused before they
/// are read again (they are 30-day aggregates).
const FORECAST_REFRESH_MS: i64 = 30_000;

/// Runs queries on its own connection; only the newest request is served.
fn spawn_query_thread(
    db: PathBuf,
    catalog: Arc<Catalog>,
    tx: tokio::sync::mpsc::UnboundedSender<AppEvent>,
) -> std::sync::mpsc::Sender<QueryParams> {
    let (qtx, qrx) = std::sync::mpsc::channel::<QueryParams>();
    std::thread::Builder::new()
        .name("aifin-query".into())
        .spawn(move || {
            let conn = match crate::store::open_read(&db) {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(AppEvent::Error(e.to_string()));
                    return;
                }
            };
            let mut pricer = crate::pricing::Pricer::new(catalog);
            // (asked at, data): the forecast's 30-day drivers are reused
            // between refreshes that come sooner than FORECAST_REFRESH_MS.
            let mut forecast: Option<(i64, data::ForecastData)> = None;
            while let Ok(mut p) = qrx.recv() {
                while let Ok(newer) = qrx.try_recv() {
                    p = newer;
                }
                let reuse =
                    p.forecast && forecast.as_ref().is_some_and(|(t, _)| (p.now_ms - t).abs() < FORECAST_REFRESH_MS);
                let q = QueryParams { forecast: p.forecast && !reuse, ..p.clone() };
                let ev = match data::snapshot(&conn, &q, &mut pricer) {
                    Ok(mut s) => {
                        match &s.forecast {
                            Some(f) => forecast = Some((p.now_ms, f.clone())),
                            None if reuse => s.forecast = forecast.as_ref().map(|(_, f)| f.clone()),
                            None => {}
                        }
                        s.params = p;
                        AppEvent::Data(Box::new(s))
                    }
                    Err(e) => AppEvent::Error(format!("query failed: {e}")),
                };
                if tx.send(ev).is_err() {
                    break;
                }
            }
        })
        .expect("spawn query thread");
    qtx
}

pub fn run(opts: TuiOptions) -> Result<(), TuiError> {
    // Make sure the ledger exists before readers open it.
    drop(crate::store::open_rw(&opts.db)?);
    let (app_tx, mut app_rx) = tokio::sync::mpsc::unbounded_channel::<AppEvent>();
    let queries = spawn_query_thread(opts.db.clone(), Arc::clone(&opts.catalog), app_tx.clone());

    let progress = Arc::new(Progress::default());
    let tokenizer = Arc::new(TokenizerStats::default());
    let following = opts.specs.len();
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
                let r = follow(
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
                );
                if let Err(e) = r {
                    let _ = err_tx.send(AppEvent::Error(format!("ingest stopped: {e}")));
                }
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
    let mut guard = terminal::TerminalGuard::new()?;
    let size = guard.terminal.size()?;
    app.update(Action::Resize(size.width, size.height));

    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    let result: Result<(), TuiError> = rt.block_on(async {
        let mut events = EventStream::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let frame = Duration::from_millis(33);
        let mut last_draw = Instant::now() - frame;
        let mut last_lines = (0u64, Instant::now());
        let run_effects = |effects: Vec<Effect>| {
            for e in effects {
                match e {
                    Effect::Query(p) => {
                        let _ = queries.send(p);
                    }
                }
            }
        };
        run_effects(app.update(Action::Tick(crate::domain::time::now_ms())));
        loop {
            let mut actions: Vec<Action> = Vec::new();
            let draw_due = app.dirty;
            tokio::select! {
                ev = events.next() => match ev {
                    Some(Ok(ev)) => actions.extend(keys::action_for(&ev)),
                    Some(Err(e)) => return Err(TuiError::Terminal(e)),
                    None => break,
                },
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
                run_effects(app.update(a));
            }
            if app.quit {
                break;
            }
            if app.dirty && last_draw.elapsed() >= frame {
                guard.terminal.draw(|f| ui::render(f, &app, &theme))?;
                app.dirty = false;
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
        AppEvent::Error(e) => {
            status.last_error = Some(e.clone());
            status.notice = Some(e);
            actions.push(Action::Status(Box::new(status.clone())));
        }
    }
}
