//! Drawing one frame of each tab into ratatui's `TestBackend` (criterion):
//! view models built from a snapshot, widgets laid out, cells written.
//! The data is 200,000 generated calls over 30 days; a frame's cost does
//! not grow with the ledger (views show bounded rows).
//!
//! `cargo bench --bench render`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::tz::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use aifin::bench::GroupBy;
use aifin::bench::Theme;
use aifin::bench::WindowKind;
use aifin::bench::bulk;
use aifin::bench::now_ms;
use aifin::bench::{Action, App, Status};
use aifin::bench::{QueryParams, snapshot};

mod common;
use common::ingest_file;

fn app_over_generated_ledger(dir: &std::path::Path) -> App {
    let log = dir.join("gateway.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
    bulk(&mut f, 200_000, 30, now_ms(), 21).unwrap();
    drop(f);
    let db = dir.join("render.db");
    ingest_file(&log, &db, false);
    let conn = aifin::bench::open_read(&db).unwrap();
    let mut app = App::new(now_ms(), TimeZone::UTC, Status::default());
    let p = QueryParams {
        now_ms: now_ms(),
        tz: TimeZone::UTC,
        group: GroupBy::WORKFLOW,
        window: WindowKind::Days30,
        drill: Some("support-copilot".into()),
        forecast: true,
        forecast_ahead: false,
        outcome_rules: vec![],
        kpis: false,
        operate: Default::default(),
    };
    app.update(Action::DataReady(Box::new(
        snapshot(&conn, &p, &mut aifin::bench::Pricer::new(common::catalog())).unwrap(),
    )));
    app
}

fn render(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app_over_generated_ledger(dir.path());
    let theme = Theme::plain();
    for (w, h) in [(80u16, 24u16), (120, 40), (200, 60)] {
        app.update(Action::Resize(w, h));
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        for (tab, name) in [(0, "live"), (1, "ledger"), (2, "sources"), (3, "forecast")] {
            app.update(Action::SelectTab(tab));
            c.bench_function(&format!("render {name} {w}x{h}"), |b| {
                b.iter(|| {
                    term.draw(|f| aifin::bench::render(f, black_box(&app), &theme)).unwrap();
                })
            });
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = render
}
criterion_main!(benches);
