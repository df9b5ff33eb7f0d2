//! Fault injection on the real binary: kill -9 at random points while
//! usage is being counted from prompt text, two and eight writers at once,
//! a full disk (`ulimit -f`), a read-only open of an older ledger, a FIFO,
//! a symlink loop, SIGTERM mid-run. Each ends with the totals of a clean
//! run, or a clear error and nothing lost.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{Env, i, repo, u};

/// Lines of three kinds: usage reported, prompt text only (counted by the
/// tokenizer), and both.
fn mixed_lines(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|k| {
            let ts = format!("2026-11-{:02}T{:02}:{:02}:00Z", 1 + k / 1440 % 28, k / 60 % 24, k % 60);
            let text = format!(r#""prompt":{{"system":"You answer from the handbook.","user":"question {k} about refunds"}},"output_text":"answer {k}""#);
            let line = match k % 3 {
                0 => format!(r#"{{"ts":"{ts}","request_id":"{prefix}{k}","model":"gpt-4o","workflow":"w{}","usage":{{"uncached_input":{},"output":50}}}}"#, k % 4, 100 + k),
                1 => format!(r#"{{"ts":"{ts}","request_id":"{prefix}{k}","model":"gpt-4o","workflow":"w{}",{text}}}"#, k % 4),
                _ => format!(r#"{{"ts":"{ts}","request_id":"{prefix}{k}","model":"claude-haiku-4-5","workflow":"w{}","usage":{{"uncached_input":{},"output":20}},{text}}}"#, k % 4, 300 + k),
            };
            line + "\n"
        })
        .collect()
}

/// The totals that must not change: calls, tokens, cost, pending.
fn totals(env: &Env) -> (u64, u64, i64, u64, u64) {
    let t = &env.ledger("workflow")["total"];
    (u(&t["calls"]), u(&t["input_tokens"]), i(&t["cost_nanousd"]), u(&t["pending_calls"]), u(&t["unpriced_calls"]))
}

fn clean_totals(body: &str) -> (u64, u64, i64, u64, u64) {
    let env = Env::new();
    let f = env.write("calls.jsonl", body);
    env.ingest(&[&f]);
    totals(&env)
}

#[test]
fn kill_9_while_usage_is_counted_loses_nothing_and_prices_nothing_at_zero() {
    let body = mixed_lines("k", 6000);
    let want = clean_totals(&body);
    assert_eq!(want.3, 0, "a clean run leaves nothing pending");
    let env = Env::new();
    let f = env.write("calls.jsonl", &body);
    // Deterministic "random" kill points.
    for delay_ms in [40u64, 120, 260, 25, 600] {
        let mut child = env
            .std_cmd()
            .args(["ingest", f.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // A report first (a read-only open, before anything else opens
        // the ledger): a write stopped half way is undone, never read as
        // it is; a ledger without its schema yet is a clear error.
        let report = env.cmd().args(["ledger", "--by", "workflow", "--tz", "UTC", "--json"]).output().unwrap();
        let reported = report.status.success().then(|| {
            let v: Value = serde_json::from_slice(&report.stdout).unwrap();
            u(&v["total"]["calls"])
        });
        if reported.is_none() {
            let err = String::from_utf8_lossy(&report.stderr);
            assert!(err.contains("aifin ingest"), "after a kill at {delay_ms} ms: {err}");
        }
        // Whatever was committed is consistent: no call counted at $0
        // for want of its count.
        let conn = rusqlite::Connection::open(env.db()).unwrap();
        if let Some(n) = reported {
            let stored: i64 = conn.query_row("SELECT COUNT(*) FROM calls", [], |r| r.get(0)).unwrap();
            assert_eq!(n, stored as u64, "after a kill at {delay_ms} ms: the report read what was committed");
        }
        let zero: i64 = conn
            .query_row("SELECT COUNT(*) FROM calls WHERE pending = 0 AND cost_nano = 0", [], |r| r.get(0))
            .unwrap_or(0);
        assert_eq!(zero, 0, "after a kill at {delay_ms} ms");
    }
    env.ingest(&[&f]);
    assert_eq!(totals(&env), want);
}

fn ingest_at_once(n: usize, env: &Env, paths: &[&std::path::Path]) -> Vec<Value> {
    let children: Vec<_> = (0..n)
        .map(|_| {
            let mut c = env.std_cmd();
            c.arg("ingest").arg("--json");
            for p in paths {
                c.arg(p);
            }
            c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            serde_json::from_slice(&out.stdout).unwrap()
        })
        .collect()
}

#[test]
fn two_and_eight_writers_at_once_end_with_the_totals_of_one_run() {
    let body = mixed_lines("c", 3000);
    let want = clean_totals(&body);
    for n in [2, 8] {
        let env = Env::new();
        let f = env.write("calls.jsonl", &body);
        let claude = repo().join("tests/fixtures/claude-code");
        let runs = ingest_at_once(n, &env, &[&f, &claude]);
        assert_eq!(runs.len(), n);
        // The calls of the shared file were stored once in all.
        let stored: u64 = runs.iter().map(|r| u(&r["stored"])).sum();
        let mut solo = Env::new();
        solo.config = None;
        let f2 = solo.write("calls.jsonl", &body);
        let one = solo.ingest(&[&f2, &claude]);
        assert_eq!(stored, u(&one["stored"]), "{n} writers");
        let conn = rusqlite::Connection::open(env.db()).unwrap();
        let calls: i64 = conn.query_row("SELECT COUNT(*) FROM calls WHERE format = 1", [], |r| r.get(0)).unwrap();
        assert_eq!(calls as u64, want.0, "{n} writers");
        // Prices and counts are those of one run (nothing left pending).
        let t = &env.ledger("workflow")["total"];
        assert_eq!(u(&t["pending_calls"]), 0, "{n} writers");
        assert_eq!(t["cost_nanousd"], one_cost(&solo), "{n} writers");
    }
}

fn one_cost(env: &Env) -> Value {
    env.ledger("workflow")["total"]["cost_nanousd"].clone()
}

#[test]
fn a_full_disk_is_a_clear_error_and_the_next_run_completes() {
    let body = mixed_lines("d", 20_000);
    let want = clean_totals(&body);
    let env = Env::new();
    let f = env.write("calls.jsonl", &body);
    // 600 KiB of file size for this process: the ledger cannot grow past it.
    let script = format!("ulimit -f 1200; exec {} ingest {}", env!("CARGO_BIN_EXE_aifin"), f.display());
    let out = env_shell(&env, &script);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(err.contains("full") || err.contains("too large") || err.contains("disk"), "the cause is named: {err}");
    assert!(!err.contains("channel closed"), "{err}");
    env.ingest(&[&f]);
    assert_eq!(totals(&env), want);
}

fn env_shell(env: &Env, script: &str) -> std::process::Output {
    let mut c = env.std_cmd();
    // std_cmd runs aifin; run a shell with the same environment instead.
    let envs: Vec<(String, String)> = c
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_string_lossy().into_owned(), v?.to_string_lossy().into_owned())))
        .collect();
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c").arg(script).current_dir(env.dir.path());
    for (k, v) in envs {
        sh.env(k, v);
    }
    let _ = &mut c;
    sh.output().unwrap()
}

#[test]
fn reports_only_read_and_ask_for_an_upgrade_of_an_older_ledger() {
    let env = Env::new();
    let f = env.write("calls.jsonl", mixed_lines("r", 30));
    env.ingest(&[&f]);
    let db = env.db();
    // Take it back to schema version 4 (before pending calls and warnings,
    // and unique rejects).
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "DROP INDEX rejects_position; ALTER TABLE calls DROP COLUMN pending; ALTER TABLE calls DROP COLUMN warnings;
             DROP TABLE pending_counts; DROP TABLE outcomes; DROP TABLE outcome_rollup;
             ALTER TABLE calls DROP COLUMN region; ALTER TABLE rollup_hour DROP COLUMN price_fallback_calls;
             ALTER TABLE sources DROP COLUMN skipped_usage; ALTER TABLE calls DROP COLUMN machine;
             CREATE TABLE s4 (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, format TEXT, fingerprint INTEGER,
               fp_len INTEGER NOT NULL DEFAULT 0, dev INTEGER, inode INTEGER, offset INTEGER NOT NULL DEFAULT 0,
               line_no INTEGER NOT NULL DEFAULT 0, size INTEGER NOT NULL DEFAULT 0, generation INTEGER NOT NULL DEFAULT 0,
               lines INTEGER NOT NULL DEFAULT 0, calls INTEGER NOT NULL DEFAULT 0, duplicates INTEGER NOT NULL DEFAULT 0,
               rejects INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0, last_line_ts INTEGER,
               first_seen INTEGER NOT NULL, last_read INTEGER);
             INSERT INTO s4 SELECT id, path, format, fingerprint, fp_len, dev, inode, offset, line_no, size, generation,
               lines, calls, duplicates, rejects, skipped, last_line_ts, first_seen, last_read FROM sources;
             DROP TABLE sources; ALTER TABLE s4 RENAME TO sources; DELETE FROM meta WHERE key IN ('ledger_id', 'host', 'fingerprint_key');
             DROP TABLE prompt_hashes; DROP TABLE rollup_day;
             ALTER TABLE rollup_hour DROP COLUMN pending_calls; ALTER TABLE rollup_hour DROP COLUMN warning_calls;
             PRAGMA user_version = 4; PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    let err = env.fails(&["ledger"]);
    assert!(err.contains("run `aifin ingest` once"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "a report does not change the file");
    // One ingest upgrades it; then reports work.
    env.ingest(&[&f]);
    env.ok(&["ledger"]);
}

#[test]
fn a_fifo_is_skipped_and_sigterm_stops_a_run_cleanly() {
    let env = Env::new();
    let fifo = env.path("pipe.jsonl");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let good = env.write("good.jsonl", mixed_lines("f", 10));
    let t = Instant::now();
    let out = env.cmd().args(["ingest", "--json", fifo.to_str().unwrap(), good.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(t.elapsed() < Duration::from_secs(20), "a FIFO must not hang the run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a regular file"));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(u(&r["stored"]), 10);

    // SIGTERM in the middle of a long run: exit 0, what was read is kept,
    // and the next run completes it.
    let body = mixed_lines("t", 40_000);
    let want = clean_totals(&body);
    let env = Env::new();
    let f = env.write("big.jsonl", &body);
    let child = env
        .std_cmd()
        .args(["ingest", "--json", f.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "SIGTERM: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
    env.ingest(&[&f]);
    assert_eq!(totals(&env), want);
}

#[test]
fn a_symlink_loop_skips_the_loop_not_the_directory() {
    let env = Env::new();
    let dir = env.path("logs");
    std::fs::create_dir_all(&dir).unwrap();
    env.write("logs/good.jsonl", mixed_lines("s", 12));
    std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
    // A link out of the tree to a private file: not followed, not echoed.
    let secret = env.write("private/secret.jsonl", "{\"ssn\":\"123-45-6789\"}\n");
    std::os::unix::fs::symlink(&secret, dir.join("out.jsonl")).unwrap();
    let out = env.cmd().args(["ingest", "--json", dir.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("symlink loop") && err.contains("outside"), "{err}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(u(&r["stored"]), 12);
    let rejects = env.ok(&["rejects"]);
    assert!(!rejects.contains("123-45-6789"), "{rejects}");
}

#[test]
fn a_file_read_by_two_sources_or_two_runs_at_once_is_counted_once() {
    let mut body = mixed_lines("o", 2000);
    body.push_str("{\"broken\": \n\n{\"hello\":1}\n");
    let mut env = Env::new();
    let f = env.write("logs/calls.jsonl", &body);
    env.config = Some(env.write(
        "aifin.toml",
        format!(
            "[[source]]\npath = \"{dir}\"\n\n[[source]]\npath = \"{file}\"\n",
            dir = env.path("logs").display(),
            file = f.display()
        ),
    ));
    env.ok(&["ingest"]);
    let check = |env: &Env, what: &str| {
        let s = env.json(&["sources"]);
        let s = &s.as_array().unwrap()[0];
        assert_eq!(u(&s["lines"]), 2003, "{what}: {s}");
        assert_eq!(u(&s["rejects"]), 2, "{what}: {s}");
        assert_eq!(u(&s["skipped"]), 1, "{what}: {s}");
        assert_eq!(u(&s["calls"]), 2000, "{what}: {s}");
        assert_eq!(env.json(&["rejects"]).as_array().unwrap().len(), 2, "{what}");
    };
    check(&env, "two sources");
    // Eight runs at once on a new ledger: the same counters.
    let env = Env::new();
    let f = env.write("calls.jsonl", &body);
    ingest_at_once(8, &env, &[&f]);
    check(&env, "eight runs");
}

#[test]
fn a_follower_and_a_one_off_ingest_share_the_ledger_and_a_missing_path_is_awaited() {
    let env = Env::new();
    let live = env.write("live/a.jsonl", mixed_lines("a", 500));
    let later = env.path("later/b.jsonl");
    let mut follower = env
        .std_cmd()
        .args(["ingest", "--follow", "--rescan", "0.2", live.to_str().unwrap(), later.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A one-off ingest of another file at the same time.
    let other = env.write("other.jsonl", mixed_lines("o", 800));
    let r = env.ingest(&[&other]);
    assert_eq!(u(&r["stored"]), 800);
    // The awaited path appears and is read.
    env.write("later/b.jsonl", mixed_lines("b", 50));
    let t = Instant::now();
    loop {
        let calls = u(&env.ledger("workflow")["total"]["calls"]);
        if calls == 1350 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "{calls} calls");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(std::process::Command::new("kill").args(["-TERM", &follower.id().to_string()]).status().unwrap().success());
    let status = follower.wait().unwrap();
    assert!(status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(follower.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(err.contains("waiting for") && err.contains("later/b.jsonl"), "{err}");
    let clean = Env::new();
    let f1 = clean.write("a.jsonl", mixed_lines("a", 500));
    let f2 = clean.write("b.jsonl", mixed_lines("b", 50));
    let f3 = clean.write("o.jsonl", mixed_lines("o", 800));
    clean.ingest(&[&f1, &f2, &f3]);
    assert_eq!(totals(&env), totals(&clean));
}
