//! `aifin tui` in a real pseudo-terminal: the screen is emulated with
//! vt100, lines are appended to a followed file, and the Live view's
//! totals change; `q` quits cleanly.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use crate::util::Env;

/// A call of claude-opus-4-5 costing exactly $0.75 (100k input, 10k output).
fn line(k: usize) -> String {
    let ts = aifin::domain::time::format_utc(aifin::domain::time::now_ms() - 2_000);
    format!(
        r#"{{"ts":"{ts}","request_id":"tui-{k}","model":"claude-opus-4-5","workflow":"pty-flow","team":"QA","usage":{{"uncached_input":100000,"output":10000}}}}"#
    ) + "\n"
}

struct Screen(Arc<Mutex<vt100::Parser>>);

impl Screen {
    fn text(&self) -> String {
        self.0.lock().unwrap().screen().contents()
    }

    fn wait_for(&self, needle: &str, what: &str) {
        let t = Instant::now();
        while !self.text().contains(needle) {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what} ({needle:?}); screen:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn live_totals_change_as_lines_are_appended() {
    let mut env = Env::new();
    let log = env.write("logs/live.jsonl", (0..4).map(line).collect::<String>());
    env.config = Some(env.write("aifin.toml", format!("[[source]]\npath = \"{}\"\n", log.display())));

    let pty = native_pty_system();
    let pair = pty.openpty(PtySize { rows: 40, cols: 120, pixel_width: 0, pixel_height: 0 }).unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_aifin"));
    cmd.args(["--config", env.config.as_ref().unwrap().to_str().unwrap(), "tui"]);
    cmd.cwd(env.dir.path());
    cmd.env("AIFIN_DB", env.db());
    cmd.env("XDG_CONFIG_HOME", env.path("xdg-config"));
    cmd.env("XDG_DATA_HOME", env.path("xdg-data"));
    cmd.env("TZ", "UTC");
    cmd.env("NO_COLOR", "1");
    cmd.env("TERM", "xterm-256color");
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);

    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        std::num::NonZeroU16::new(40).unwrap(),
        std::num::NonZeroU16::new(120).unwrap(),
        0,
    )));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let p = Arc::clone(&parser);
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            p.lock().unwrap().process(&buf[..n]);
        }
    });
    let screen = Screen(parser);
    let mut keys = pair.master.take_writer().unwrap();

    screen.wait_for("pty-flow · QA", "the workflow's pane");
    screen.wait_for("today $3.00", "four calls of $0.75 today");
    screen.wait_for("1h $3.00", "the last hour");

    // Append four more calls to the followed file: the view follows.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all((4..8).map(line).collect::<String>().as_bytes()).unwrap();
    drop(f);
    screen.wait_for("today $6.00", "the new calls in today's total");
    screen.wait_for("1h $6.00", "the new calls in the last hour");

    // The ledger tab agrees.
    keys.write_all(b"2").unwrap();
    keys.flush().unwrap();
    screen.wait_for("Ledger by workflow", "the ledger tab");
    screen.wait_for("$6.00", "the ledger total");

    keys.write_all(b"q").unwrap();
    keys.flush().unwrap();
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "the TUI did not quit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}
