//! Snapshots over a large ledger (default 10 million calls over 60 days):
//! each view built from the store and rendered as Markdown, HTML, JSON and
//! CSV, the last 30 days, as `aifin export` does; then the FOCUS export of
//! the last 30 days and of the whole ledger.
//!
//! ```text
//! cargo bench --bench export
//! cargo bench --bench export -- --rows 1000000
//! ```

use std::time::Instant;

use aifin::bench::{
    FocusOptions, GroupBy, Operate, Pricer, SnapshotParams, VIEWS, Window, focus_export, render_snapshot, snapshot_view,
};
use jiff::tz::TimeZone;

mod common;
use common::{arg, ledger_db};

fn main() {
    let rows: u64 = arg("--rows").and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let db = ledger_db(rows);
    drop(aifin::bench::open_rw(&db).unwrap());
    let conn = aifin::bench::open_read(&db).unwrap();
    let at: i64 = conn.query_row("SELECT MAX(dedupe_ts) FROM calls", [], |r| r.get(0)).unwrap();
    let p = SnapshotParams {
        now: at,
        window: Window { since: Some(at - 30 * 86_400_000), until: None },
        window_label: "30 d".into(),
        as_of: at,
        tz: TimeZone::UTC,
        by: GroupBy::WORKFLOW,
        catalog_version: "bench".into(),
        rules_hash: "0".into(),
        outcome_rules: vec![],
        levers: None,
        levers_report: None,
    };
    let op = Operate::default();
    let mut pricer = Pricer::new(common::catalog());
    let only_focus = arg("--only").as_deref() == Some("focus");
    'views: for view in VIEWS.iter().filter(|_| !only_focus) {
        for format in ["md", "html", "json", "csv"] {
            let mut best = f64::MAX;
            let mut bytes = 0;
            for _ in 0..3 {
                let t = Instant::now();
                // The lever lab is a view only when levers are set.
                let Some(s) = snapshot_view(&conn, view, &p, &op, &mut pricer).unwrap() else {
                    println!("export: {view:<9} left out: no lever set");
                    continue 'views;
                };
                bytes = render_snapshot(format, &[s]).unwrap().len();
                best = best.min(t.elapsed().as_secs_f64() * 1000.0);
            }
            println!("export: {view:<9} {format:<4} over {rows} calls, 30 d: {best:7.1} ms ({bytes} bytes)");
        }
    }
    for (label, window) in
        [("30 d", Window { since: Some(at - 30 * 86_400_000), until: None }), ("the whole ledger", Window::default())]
    {
        let t = Instant::now();
        let o = FocusOptions { window, ..Default::default() };
        let s = focus_export(&conn, common::catalog(), common::catalog(), &o, std::io::sink(), |_| {}).unwrap();
        println!(
            "export: FOCUS of {label}: {} calls into {} rows in {:.1} s (peak RSS so far {:.0} MiB)",
            s.calls,
            s.rows,
            t.elapsed().as_secs_f64(),
            common::peak_rss_mib()
        );
    }
}
