//! `aifin tui` in a real pseudo-terminal: the screen is emulated with
//! vt100, lines are appended to a followed file, and the Live view's
//! totals change; `E` exports the ledger in the format chosen from its
//! list; `q`, SIGTERM and SIGHUP quit cleanly with the terminal
//! restored (and the demo's folder removed); Ctrl-Z suspends and `fg`
//! resumes.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use crate::util::Env;

/// A call of claude-opus-4-5 costing exactly $0.75 (100k input, 10k output).
fn line(k: usize) -> String {
    let ts = aifin::bench::format_utc(aifin::bench::now_ms() - 2_000);
    format!(
        r#"{{"ts":"{ts}","request_id":"tui-{k}","model":"claude-opus-4-5","workflow":"pty-flow","team":"QA","usage":{{"uncached_input":100000,"output":10000}}}}"#
    ) + "\n"
}

struct Screen(Arc<Mutex<vt100::Parser>>, Arc<Mutex<Vec<u8>>>);

impl Screen {
    fn text(&self) -> String {
        self.0.lock().unwrap().screen().contents()
    }

    /// Everything the program wrote, escapes included.
    fn raw(&self) -> Vec<u8> {
        self.1.lock().unwrap().clone()
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

struct Tui {
    screen: Screen,
    keys: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Tui {
    fn start(env: &Env, args: &[&str], extra_env: &[(&str, &std::path::Path)]) -> Tui {
        let mut all: Vec<&str> = Vec::new();
        if let Some(c) = &env.config {
            all.extend(["--config", c.to_str().unwrap()]);
        }
        all.extend(args);
        Tui::start_program(env, env!("CARGO_BIN_EXE_aifin"), &all, extra_env)
    }

    fn start_program(env: &Env, program: &str, args: &[&str], extra_env: &[(&str, &std::path::Path)]) -> Tui {
        let pty = native_pty_system();
        let pair = pty.openpty(PtySize { rows: 40, cols: 120, pixel_width: 0, pixel_height: 0 }).unwrap();
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.cwd(env.dir.path());
        cmd.env("AIFIN_DB", env.db());
        cmd.env("XDG_CONFIG_HOME", env.path("xdg-config"));
        cmd.env("XDG_DATA_HOME", env.path("xdg-data"));
        cmd.env("TZ", "UTC");
        cmd.env("NO_COLOR", "1");
        cmd.env("TERM", "xterm-256color");
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(40).unwrap(),
            std::num::NonZeroU16::new(120).unwrap(),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader = pair.master.try_clone_reader().unwrap();
        let (p, r) = (Arc::clone(&parser), Arc::clone(&raw));
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
                r.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let keys = pair.master.take_writer().unwrap();
        // The master must outlive the child: keep it alive in the reader's
        // clone and here.
        std::mem::forget(pair.master);
        Tui { screen: Screen(parser, raw), keys, child }
    }

    fn press(&mut self, keys: &[u8]) {
        self.keys.write_all(keys).unwrap();
        self.keys.flush().unwrap();
    }

    fn pid(&self) -> i32 {
        self.child.process_id().unwrap() as i32
    }

    fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill").args([&format!("-{sig}"), &self.pid().to_string()]).status();
        assert!(ok.unwrap().success());
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let t = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "the TUI did not quit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Escape sequences that leave the alternate screen, stop mouse reporting
/// and show the cursor again.
fn restored_after(raw: &[u8], from: usize) -> bool {
    let tail = &raw[from.min(raw.len())..];
    let has = |s: &[u8]| tail.windows(s.len()).any(|w| w == s);
    has(b"\x1b[?1049l") && has(b"\x1b[?1000l") && has(b"\x1b[?25h")
}

#[test]
fn live_totals_change_as_lines_are_appended() {
    let mut env = Env::new();
    let log = env.write("logs/live.jsonl", (0..4).map(line).collect::<String>());
    env.config = Some(env.write("aifin.toml", format!("[[source]]\npath = \"{}\"\n", log.display())));
    let mut tui = Tui::start(&env, &["tui"], &[]);
    let screen = &tui.screen;
    screen.wait_for("pty-flow · QA", "the workflow's pane");
    screen.wait_for("today $3.00", "four calls of $0.75 today");
    screen.wait_for("24h $3.00", "the last 24 hours");

    // Append four more calls to the followed file: the view follows.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all((4..8).map(line).collect::<String>().as_bytes()).unwrap();
    drop(f);
    screen.wait_for("today $6.00", "the new calls in today's total");
    screen.wait_for("24h $6.00", "the new calls in the last 24 hours");

    // The ledger tab agrees.
    tui.press(b"2");
    tui.screen.wait_for("Ledger by workflow", "the ledger tab");
    tui.screen.wait_for("$6.00", "the ledger total");

    // E lists the formats; the down arrow moves from html to json, Enter
    // writes the ledger there, and the status bar says where.
    tui.press(b"E");
    tui.screen.wait_for("Export what this tab shows", "the export dialog");
    tui.press(b"\x1b[B");
    tui.screen.wait_for("\u{25b6} json", "json chosen");
    tui.press(b"\r");
    tui.screen.wait_for("exported to", "the status bar");
    let written: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.starts_with("aifin-ledger-") && n.ends_with(".json"))
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.dir.path().join(&written[0])).unwrap()).unwrap();
    assert!(json.to_string().contains("pty-flow"), "{json}");

    let before = tui.screen.raw().len();
    tui.press(b"q");
    let status = tui.wait_exit();
    assert!(status.success(), "{status:?}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(restored_after(&tui.screen.raw(), before), "q restores the terminal");
}

#[test]
fn sigterm_and_sighup_restore_the_terminal_and_remove_the_demo() {
    for sig in ["TERM", "HUP"] {
        let env = Env::new();
        let tmp = env.path("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let tui = Tui::start(&env, &["tui", "--demo"], &[("TMPDIR", &tmp)]);
        tui.screen.wait_for("support-copilot", "the demo's panes");
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 1, "the demo's folder exists while it runs");
        let before = tui.screen.raw().len();
        let mut tui = tui;
        tui.signal(sig);
        let status = tui.wait_exit();
        assert!(status.success(), "SIG{sig}: {status:?}");
        std::thread::sleep(Duration::from_millis(200));
        assert!(restored_after(&tui.screen.raw(), before), "SIG{sig} restores the terminal");
        let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
        assert!(left.is_empty(), "SIG{sig} left the demo's folder: {left:?}");
    }
}

#[test]
fn ctrl_z_suspends_and_fg_resumes() {
    // Job control needs a shell: run it in an interactive bash in the pty.
    let env = Env::new();
    let tmp = env.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let marker = env.path("ctrl-z-marker.db");
    let mut sh = Tui::start_program(&env, "bash", &["--norc", "--noprofile", "-i"], &[("TMPDIR", &tmp)]);
    let cmd = format!("PS1='$ ' {} --db {} tui --demo\n", env!("CARGO_BIN_EXE_aifin"), marker.display());
    sh.press(cmd.as_bytes());
    sh.screen.wait_for("support-copilot", "the demo's panes");
    let pid = {
        let out = std::process::Command::new("pgrep").args(["-f", &marker.to_string_lossy()]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().lines().next().unwrap().parse::<i32>().unwrap()
    };
    let state = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit(") ").next().and_then(|r| r.chars().next()).unwrap_or('?')
    };
    let before = sh.screen.raw().len();
    sh.press(b"\x1a");
    let t = Instant::now();
    while state() != 'T' {
        assert!(t.elapsed() < Duration::from_secs(10), "not stopped: state {}", state());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(restored_after(&sh.screen.raw(), before), "the terminal is given back while suspended");
    sh.screen.wait_for("Stopped", "the shell's job report");
    let resumed_from = sh.screen.raw().len();
    sh.press(b"fg\n");
    let t = Instant::now();
    loop {
        let raw = sh.screen.raw();
        let tail = &raw[resumed_from..];
        if tail.windows(8).any(|w| w == b"\x1b[?1049h") && sh.screen.text().contains("support-copilot") {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "not redrawn after fg:\n{}", sh.screen.text());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_ne!(state(), 'T');
    let before = sh.screen.raw().len();
    sh.press(b"q");
    let t = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() && state() != 'Z' {
        assert!(t.elapsed() < Duration::from_secs(10), "did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(restored_after(&sh.screen.raw(), before));
    sh.press(b"exit\n");
    let _ = sh.wait_exit();
}
