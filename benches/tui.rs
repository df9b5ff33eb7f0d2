//! The cockpit over a large ledger (default 10 million calls), printing
//! latencies.
//!
//! ```text
//! cargo bench --bench tui                        # all parts, 10M calls
//! cargo bench --bench tui -- --rows 1000000 --only queries
//! ```
//!
//! * **queries**: one snapshot (everything a refresh reads) per window and
//!   grouping, and per drill-down: what a tab, window or group switch waits
//!   for before it can draw.
//! * **pty**: the real binary in a pseudo-terminal: time to the first frame
//!   with data, to a tab switch and a window switch, idle CPU over 10 s,
//!   and resident memory.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aifin::bench::Dimension;
use aifin::bench::GroupBy;
use aifin::bench::QueryParams;
use aifin::bench::WindowKind;
use aifin::bench::now_ms;
use aifin::bench::{Catalog, Pricer};
use jiff::tz::TimeZone;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

mod common;
use common::{arg, ledger_db};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut out = None;
    for _ in 0..n {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(v);
    }
    (best * 1000.0, out.unwrap())
}

fn params(window: WindowKind, group: GroupBy, drill: Option<String>) -> QueryParams {
    QueryParams {
        now_ms: now_ms(),
        tz: TimeZone::UTC,
        group,
        window,
        drill,
        forecast: false,
        forecast_ahead: false,
        outcome_rules: vec![],
        kpis: false,
        operate: Default::default(),
    }
}

fn queries(db: &std::path::Path, rows: u64) {
    let conn = aifin::bench::open_read(db).unwrap();
    let mut pricer = Pricer::new(Arc::new(Catalog::embedded()));
    // The cockpit keeps the budgets' minute spend between refreshes (read
    // whole once a minute): so does the benchmark.
    let mut minutes = aifin::bench::MinuteCache::default();
    let mut snapshot = |conn: &rusqlite::Connection, p: &QueryParams, pricer: &mut Pricer| {
        aifin::bench::snapshot_cached(conn, p, pricer, &mut minutes)
    };
    let (cold, _) =
        best_of(1, || snapshot(&conn, &params(WindowKind::Today, GroupBy::WORKFLOW, None), &mut pricer).unwrap());
    println!("queries: first snapshot over {rows} calls (cold connection): {cold:.1} ms");
    for window in WindowKind::CYCLE {
        for group in [Dimension::Workflow, Dimension::Team, Dimension::Customer, Dimension::Model].map(GroupBy::Dim) {
            let (ms, s) = best_of(3, || snapshot(&conn, &params(window, group, None), &mut pricer).unwrap());
            let key = s.ledger.ledger.rows.first().map(|r| r.key.clone());
            let (drill_ms, _) =
                best_of(3, || snapshot(&conn, &params(window, group, key.clone()), &mut pricer).unwrap());
            println!(
                "queries: window {:<6} by {:<8} snapshot {ms:>6.1} ms, with drill-down {drill_ms:>6.1} ms",
                window.label(),
                group.as_str()
            );
        }
    }
    let p = QueryParams { forecast: true, ..params(WindowKind::Today, GroupBy::WORKFLOW, None) };
    let (ms, s) = best_of(3, || snapshot(&conn, &p, &mut pricer).unwrap());
    let items = s.forecast.map(|f| f.items.len()).unwrap_or(0);
    println!("queries: snapshot with the forecast tab's data ({items} items: drivers, trends, backtests): {ms:.1} ms");
}

struct Pty {
    screen: Arc<Mutex<vt100::Parser>>,
    keys: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Pty {
    fn text(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Milliseconds from `since` until the screen shows `needle`.
    fn wait_for(&self, since: Instant, needle: &str) -> f64 {
        loop {
            if self.text().contains(needle) {
                return since.elapsed().as_secs_f64() * 1000.0;
            }
            assert!(since.elapsed() < Duration::from_secs(60), "no {needle:?} on screen:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn press(&mut self, key: &[u8]) -> Instant {
        self.keys.write_all(key).unwrap();
        self.keys.flush().unwrap();
        Instant::now()
    }
}

fn proc_field(pid: u32, file: &str, key: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    s.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(1)?.parse().ok()
}

/// CPU seconds (user + system) of a process so far.
fn cpu_seconds(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 =
        f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0) + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn pty(db: &std::path::Path, rows: u64) {
    let home = tempfile::tempdir().unwrap();
    let pair = native_pty_system().openpty(PtySize { rows: 40, cols: 120, pixel_width: 0, pixel_height: 0 }).unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_aifin"));
    cmd.arg("--db");
    cmd.arg(db);
    cmd.arg("tui");
    cmd.env("HOME", home.path());
    cmd.env("XDG_CONFIG_HOME", home.path().join("config"));
    cmd.env("XDG_DATA_HOME", home.path().join("data"));
    cmd.env("TZ", "UTC");
    cmd.env("TERM", "xterm-256color");
    let started = Instant::now();
    let child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let screen = Arc::new(Mutex::new(vt100::Parser::new(
        std::num::NonZeroU16::new(40).unwrap(),
        std::num::NonZeroU16::new(120).unwrap(),
        0,
    )));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let s2 = Arc::clone(&screen);
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            s2.lock().unwrap().process(&buf[..n]);
        }
    });
    let mut p = Pty { screen, keys: pair.master.take_writer().unwrap(), child };
    let pid = p.child.process_id().unwrap();

    let first = p.wait_for(started, "month to date $");
    println!("pty: first frame with data over {rows} calls: {first:.0} ms after start");
    let t = p.press(b"2");
    let tab = p.wait_for(t, "Ledger by workflow");
    let total = p.wait_for(t, "attribution coverage");
    println!("pty: tab switch to the ledger: frame {tab:.0} ms, with its totals {total:.0} ms");
    for (label, needle) in [
        ("7 d", "· 7 d ·"),
        ("30 d", "· 30 d ·"),
        ("month", "· month ·"),
        ("previous month", "· previous month ·"),
        ("today", "· today ·"),
    ] {
        let t = p.press(b"w");
        let ms = p.wait_for(t, needle);
        println!("pty: window switch to {label}: {ms:.0} ms");
    }
    let t = p.press(b"g");
    let ms = p.wait_for(t, "Ledger by team");
    println!("pty: group switch to team: {ms:.0} ms");
    // The Forecast tab: its data is read ahead while the cockpit is idle.
    std::thread::sleep(Duration::from_secs(1));
    let t = p.press(b"4");
    let ms = p.wait_for(t, " Workflows [ ] ");
    println!("pty: tab switch to the forecast, its data on screen: {ms:.0} ms");
    p.press(b"2");

    std::thread::sleep(Duration::from_secs(2));
    let cpu0 = cpu_seconds(pid);
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    let idle = (cpu_seconds(pid) - cpu0) / t.elapsed().as_secs_f64() * 100.0;
    let rss = proc_field(pid, "status", "VmRSS:").unwrap_or(0.0) / 1024.0;
    let hwm = proc_field(pid, "status", "VmHWM:").unwrap_or(0.0) / 1024.0;
    println!("pty: idle CPU {idle:.2}% of one core over 10 s; memory {rss:.0} MiB resident, {hwm:.0} MiB peak");
    p.press(b"q");
    let t = Instant::now();
    while p.child.try_wait().unwrap().is_none() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn main() {
    let only = arg("--only");
    let rows: u64 = arg("--rows").and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let db = ledger_db(rows);
    if only.as_deref().is_none_or(|o| o == "queries") {
        queries(&db, rows);
    }
    if only.as_deref().is_none_or(|o| o == "pty") {
        pty(&db, rows);
    }
}
