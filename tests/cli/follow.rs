//! Live tailing survives appends, bursts, new files, rotation (rename +
//! create, with late writes to the rotated file), copytruncate, deletion,
//! replaced content and partial lines; SIGTERM / SIGINT flush and exit 0;
//! `kill -9` at any moment followed by a restart gives the totals of a
//! clean run.

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Env, i, native_lines, u};

struct Follower(Child);

impl Env {
    fn follow(&self, path: &std::path::Path) -> Follower {
        let child = self
            .std_cmd()
            .args(["ingest", "--follow", "--json", "--rescan", "0.2"])
            .arg(path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Follower(child)
    }

    /// Calls in the ledger now (0 before the database exists).
    fn calls(&self) -> u64 {
        let out = self.cmd().args(["ledger", "--json", "--tz", "UTC"]).output().unwrap();
        if !out.status.success() {
            return 0;
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        u(&v["total"]["calls"])
    }

    fn wait_calls(&self, want: u64) {
        let t = Instant::now();
        loop {
            let got = self.calls();
            if got == want {
                return;
            }
            assert!(got < want, "more calls than written: {got} > {want}");
            assert!(t.elapsed() < Duration::from_secs(20), "timed out at {got} of {want} calls");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Follower {
    fn signal(self, sig: &str) -> serde_json::Value {
        let pid = self.0.id().to_string();
        let st = std::process::Command::new("kill").args([sig, &pid]).status().unwrap();
        assert!(st.success());
        let out = self.0.wait_with_output().unwrap();
        assert!(out.status.success(), "follower exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn kill9(mut self) {
        self.0.kill().unwrap();
        let _ = self.0.wait();
    }
}

fn append(path: &std::path::Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[test]
fn appends_bursts_and_new_files() {
    let env = Env::new();
    let dir = env.path("logs");
    std::fs::create_dir_all(&dir).unwrap();
    let lines = native_lines("b", 2400);
    let all: Vec<&str> = lines.lines().collect();
    append(&dir.join("a.jsonl"), &(all[..50].join("\n") + "\n"));
    let f = env.follow(&dir);
    env.wait_calls(50);
    // A burst in one write, then line by line.
    append(&dir.join("a.jsonl"), &(all[50..2050].join("\n") + "\n"));
    for l in &all[2050..2150] {
        append(&dir.join("a.jsonl"), &format!("{l}\n"));
    }
    // A new file appears in the watched directory.
    append(&dir.join("b.jsonl"), &(all[2150..2400].join("\n") + "\n"));
    env.wait_calls(2400);
    let summary = f.signal("-TERM");
    assert_eq!(u(&summary["stored"]), 2400);
    assert_eq!(u(&summary["duplicates"]), 0);
    assert_eq!(summary["interrupted"], true);
}

#[test]
fn rotation_copytruncate_deletion_replacement_and_partial_lines() {
    let env = Env::new();
    let dir = env.path("logs");
    std::fs::create_dir_all(&dir).unwrap();
    let gw = dir.join("gw.jsonl");
    let lines = native_lines("r", 400);
    let l: Vec<&str> = lines.lines().collect();
    let chunk = |a: usize, b: usize| l[a..b].join("\n") + "\n";
    append(&gw, &chunk(0, 100));
    let f = env.follow(&dir);
    env.wait_calls(100);

    // Rotation by rename + create; the app writes a few late lines to the
    // rotated file before it reopens the new one.
    std::fs::rename(&gw, dir.join("gw.jsonl.1")).unwrap();
    append(&dir.join("gw.jsonl.1"), &chunk(100, 120));
    append(&gw, &chunk(120, 160));
    env.wait_calls(160);
    append(&dir.join("gw.jsonl.1"), &chunk(160, 170));
    env.wait_calls(170);

    // copytruncate: copied away (not a followed name), truncated, refilled.
    std::fs::copy(&gw, dir.join("gw.jsonl.bak")).unwrap();
    std::fs::File::create(&gw).unwrap();
    append(&gw, &chunk(170, 200));
    env.wait_calls(200);

    // The rotated file is deleted after it was read.
    std::fs::remove_file(dir.join("gw.jsonl.1")).unwrap();

    // Replaced under the same name by different content (a new inode).
    let tmp = env.path("replacement.tmp");
    std::fs::write(&tmp, chunk(200, 260)).unwrap();
    std::fs::rename(&tmp, &gw).unwrap();
    env.wait_calls(260);

    // A partial last line waits for its newline.
    let (head, tail) = l[260].split_at(50);
    append(&gw, head);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(env.calls(), 260);
    append(&gw, &format!("{tail}\n{}", chunk(261, 300)));
    env.wait_calls(300);

    let summary = f.signal("-INT");
    assert_eq!(u(&summary["rejected"]), 0);
    assert_eq!(u(&summary["partial_lines_waiting"]), 0);
}

#[test]
fn kill_9_at_any_moment_then_restart_gives_the_totals_of_a_clean_run() {
    let env = Env::new();
    let dir = env.path("logs");
    std::fs::create_dir_all(&dir).unwrap();
    let gw = dir.join("gw.jsonl");
    // Lines with varied tokens and several workflows.
    let text: String = (0..3000)
        .map(|k| {
            format!(
                r#"{{"ts":"2026-10-0{}T{:02}:{:02}:{:02}Z","request_id":"k9-{k}","model":"{}","workflow":"wf-{}","usage":{{"uncached_input":{},"cache_read":{},"output":{}}}}}"#,
                1 + k % 5,
                k / 3600 % 24,
                k / 60 % 60,
                k % 60,
                ["gpt-4o", "claude-sonnet-4-5", "gpt-4.1-mini"][k % 3],
                k % 7,
                100 + k * 13 % 5000,
                k * 7 % 3000,
                1 + k * 11 % 900
            ) + "\n"
        })
        .collect();
    let bytes = text.as_bytes();
    // Cut points, some in the middle of a line.
    let cuts = [0, 9_000, 50_001, 120_777, 200_000, 263_333, bytes.len() * 3 / 4, bytes.len()];
    let mut f = Some(env.follow(&dir));
    for (n, w) in cuts.windows(2).enumerate() {
        append(&gw, std::str::from_utf8(&bytes[w[0]..w[1]]).unwrap_or_else(|_| unreachable!()));
        std::thread::sleep(Duration::from_millis(40 + 37 * n as u64 % 150));
        if n % 2 == 1 {
            f.take().unwrap().kill9();
            f = Some(env.follow(&dir));
        }
    }
    env.wait_calls(3000);
    let summary = f.take().unwrap().signal("-TERM");
    assert_eq!(u(&summary["rejected"]), 0);

    let clean = Env::new();
    clean.ingest(&[&gw]);
    for by in ["workflow", "model", "day"] {
        let a = env.ledger(by);
        let b = clean.ledger(by);
        assert_eq!(a["rows"].as_array().unwrap().len(), b["rows"].as_array().unwrap().len(), "{by}");
        for (ra, rb) in a["rows"].as_array().unwrap().iter().zip(b["rows"].as_array().unwrap()) {
            assert_eq!(ra["key"], rb["key"], "{by}");
            assert_eq!(i(&ra["cost_nanousd"]), i(&rb["cost_nanousd"]), "{by} {}", ra["key"]);
            assert_eq!(u(&ra["calls"]), u(&rb["calls"]));
            assert_eq!(u(&ra["input_tokens"]), u(&rb["input_tokens"]));
            assert_eq!(u(&ra["output_tokens"]), u(&rb["output_tokens"]));
        }
    }
    // Nothing was counted twice even though the follower died mid-batch.
    let sources = env.json(&["sources"]);
    assert_eq!(u(&sources[0]["calls"]), 3000);
}
