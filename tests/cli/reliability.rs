//! Reliability under attack, through the real binary: calls waiting for
//! their usage to be counted survive a crash and are never $0, extreme
//! values are kept with a warning instead of breaking every report, and
//! every table's CSV has as many cells as its header.

use crate::util::{Env, i, row, u};

/// A line with prompt text and no usage: the tokenizer counts it.
fn prompt_only(id: &str, user: &str) -> String {
    format!(
        r#"{{"ts":"2026-11-20T10:00:00Z","request_id":"{id}","model":"gpt-4o","workflow":"kb","prompt":{{"system":"You are the knowledge assistant.","user":"{user}"}},"output_text":"Refunds take up to 14 days."}}"#
    )
}

fn prompt_file(env: &Env, name: &str, n: usize) -> std::path::PathBuf {
    let body: String = (0..n).map(|k| prompt_only(&format!("p{k}"), &format!("question number {k}")) + "\n").collect();
    env.write(name, body)
}

#[test]
fn calls_waiting_for_their_count_are_pending_never_free_and_counted_on_the_next_run() {
    let env = Env::new();
    let f = prompt_file(&env, "prompts.jsonl", 20);
    // Without the tokenizer the calls are stored pending.
    let out = env.ok(&["ingest", "--no-tokenize", "--json", f.to_str().unwrap()]);
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(u(&r["stored"]), 20);
    assert_eq!(u(&r["pending"]), 20);
    let l = env.ledger("workflow");
    let kb = row(&l, "kb");
    assert_eq!(u(&kb["pending_calls"]), 20);
    assert_eq!(u(&kb["unpriced_calls"]), 0, "pending is not unpriced");
    assert_eq!(i(&kb["cost_nanousd"]), 0);
    assert_eq!(l["price_coverage"], 0.0, "pending calls count against price coverage");
    let table = env.ok(&["ledger", "--tz", "UTC"]);
    assert!(table.contains("Pending") && table.contains("20 calls wait for their usage"), "{table}");

    // The next run with the tokenizer reads those lines again and counts them.
    let r = env.ingest(&[&f]);
    assert_eq!(u(&r["pending_retried"]), 20, "{r:#}");
    assert_eq!(u(&r["pending"]), 0);
    let after = env.ledger("workflow");

    // A clean run on a fresh ledger gives the same totals to the nano.
    let clean = Env::new();
    let f2 = prompt_file(&clean, "prompts.jsonl", 20);
    clean.ingest(&[&f2]);
    let want = clean.ledger("workflow");
    assert_eq!(after["total"]["cost_nanousd"], want["total"]["cost_nanousd"]);
    assert!(i(&want["total"]["cost_nanousd"]) > 0);
    assert_eq!(after["total"]["input_tokens"], want["total"]["input_tokens"]);
    assert_eq!(u(&after["total"]["pending_calls"]), 0);
    assert_eq!(after["price_coverage"], 1.0);
}

#[test]
fn a_pending_call_whose_file_changed_becomes_unpriced_with_a_warning() {
    let env = Env::new();
    let f = prompt_file(&env, "prompts.jsonl", 5);
    env.ok(&["ingest", "--no-tokenize", f.to_str().unwrap()]);
    // The file is replaced by other content: the text to count is gone.
    std::fs::write(&f, crate::util::native("2026-11-21T00:00:00Z", "other", "gpt-4o", "other", 10, 1) + "\n").unwrap();
    let r = env.ingest(&[&f]);
    assert_eq!(u(&r["pending_given_up"]), 5, "{r:#}");
    let l = env.ledger("workflow");
    let kb = row(&l, "kb");
    assert_eq!(u(&kb["pending_calls"]), 0);
    assert_eq!(u(&kb["unpriced_calls"]), 5);
    assert_eq!(u(&kb["warning_calls"]), 5);
}

#[test]
fn extreme_values_are_kept_with_a_warning_and_reports_still_work() {
    let env = Env::new();
    let lines = [
        r#"{"ts":"2026-10-01T08:00:00Z","request_id":"a","model":"gpt-4o","usage":{"output":1},"latency_ms":9223372036854775807}"#,
        r#"{"ts":"2026-10-01T08:30:00Z","request_id":"b","model":"gpt-4o","usage":{"output":1},"latency_ms":1200}"#,
        r#"{"ts":"2026-10-01T09:00:00Z","request_id":"c","model":"gpt-4o","usage":{"output":1},"cost_usd":9e9}"#,
        r#"{"ts":"2026-10-01T09:10:00Z","request_id":"d","model":"gpt-4o","usage":{"output":1},"cost_usd":-3}"#,
        r#"{"ts":"2026-10-01T09:20:00Z","request_id":"e","model":"gpt-4o","usage":{"output":1},"cost_usd":0.5}"#,
    ];
    let f = env.write("extreme.jsonl", lines.join("\n") + "\n");
    let r = env.ingest(&[&f]);
    assert_eq!(u(&r["stored"]), 5);
    assert_eq!(u(&r["rejected"]), 0);
    for by in ["workflow", "day", "model", "provider"] {
        let l = env.ledger(by);
        let t = &l["total"];
        assert_eq!(u(&t["calls"]), 5, "{by}");
        assert_eq!(u(&t["warning_calls"]), 3, "{by}: latency, and two out-of-range costs");
        // Only the sane reported cost counts: $0.50.
        assert_eq!(t["reported_cost_usd"], 0.5, "{by}");
        assert_eq!(t["overflow"], false);
        // Output at gpt-4o's $10 per million: 5 x $0.00001.
        assert_eq!(i(&t["cost_nanousd"]), 50_000, "{by}");
    }
    env.ok(&["prices"]);
    env.ok(&["sources"]);
}

#[test]
fn every_csv_has_as_many_cells_as_its_header() {
    let env = Env::sample();
    env.ingest(&[&crate::util::repo().join("sample-data")]);
    for args in [
        &["sources", "--csv"][..],
        &["ledger", "--csv", "--tz", "UTC"],
        &["ledger", "--by", "model", "--csv", "--tz", "UTC"],
        &["rejects", "--csv"],
        &["prices", "--csv"],
    ] {
        let out = env.ok(args);
        let mut r = csv::ReaderBuilder::new().has_headers(true).from_reader(out.as_bytes());
        let width = r.headers().unwrap().len();
        for rec in r.records() {
            assert_eq!(rec.unwrap().len(), width, "{args:?}");
        }
    }
}

#[test]
fn an_over_long_line_is_rejected_with_its_real_length() {
    let env = Env::new();
    let long = format!("{{\"ts\":\"2026-10-01T00:00:00Z\",\"model\":\"{}\"}}", "x".repeat(65 * 1024 * 1024));
    let len = long.len();
    let f = env.write(
        "long.jsonl",
        long + "\n" + &crate::util::native("2026-10-01T00:00:01Z", "ok", "gpt-4o", "w", 1, 1) + "\n",
    );
    let r = env.ingest(&[&f]);
    assert_eq!(u(&r["rejected"]), 1);
    assert_eq!(u(&r["stored"]), 1);
    let rejects = env.json(&["rejects"]);
    let reason = rejects[0]["reason"].as_str().unwrap();
    assert!(reason.contains(&format!("line is {len} bytes")), "{reason} (the line is {len} bytes)");
}

#[test]
fn no_prompt_text_or_pii_reaches_the_database_files() {
    const MARK: &str = "SSN-987-65-4321-CANARY";
    let env = Env::new();
    let long = format!("{MARK} {}", "words ".repeat(60));
    let otel = format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"bot"}}}}]}},"scopeSpans":[{{"spans":[{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"chat","startTimeUnixNano":"1753900000000000000","endTimeUnixNano":"1753900001000000000","attributes":[{{"key":"gen_ai.request.model","value":{{"stringValue":"gpt-4o"}}}},{{"key":"gen_ai.usage.input_tokens","value":{{"intValue":"10"}}}},{{"key":"gen_ai.usage.output_tokens","value":{{"intValue":"2"}}}},{{"key":"input.value","value":{{"stringValue":"{MARK} input"}}}},{{"key":"output.value","value":{{"stringValue":"{MARK} output"}}}},{{"key":"gen_ai.prompt.0.content","value":{{"stringValue":"{MARK} prompt"}}}},{{"key":"gen_ai.completion.0.content","value":{{"stringValue":"{MARK}"}}}},{{"key":"traceloop.entity.input","value":{{"stringValue":"{MARK}"}}}},{{"key":"llm.input_messages.0.message.content","value":{{"stringValue":"{MARK}"}}}},{{"key":"gen_ai.system_instructions","value":{{"stringValue":"{MARK}"}}}},{{"key":"note","value":{{"stringValue":"{long}"}}}}],"status":{{}}}}]}}]}}]}}"#
    );
    let lines = [
        otel,
        // Prompt text for the tokenizer: counted, never stored.
        format!(
            r#"{{"ts":"2026-11-20T10:00:00Z","request_id":"q1","model":"gpt-4o","prompt":{{"user":"{MARK} my question"}},"output_text":"{MARK} answer"}}"#
        ),
        // Rejected lines whose values hold the marker.
        format!(r#"{{"ts":"2026-11-20T10:00:00Z","model":"gpt-4o","usage":{{"output":"{MARK}"}}}}"#),
        format!(r#"{{"ts":"{MARK}","model":"gpt-4o","usage":{{"output":1}}}}"#),
        format!(r#"{{"hello":"{MARK}"}}"#),
        r#"{"ts":"2026-11-20T10:00:00Z","model":"gpt-4o","usage":{"output":1},"prompt":"#.to_string(),
        format!(
            r#"{{"ts":"2026-11-20T10:00:00Z","request_id":"t1","model":"gpt-4o","usage":{{"output":1}},"tags":{{"messages":"{MARK}","prompt":"{MARK}","team_note":"{long}"}}}}"#
        ),
    ];
    let f = env.write("hostile.jsonl", lines.join("\n") + "\n");
    let r = env.ingest(&[&f]);
    assert_eq!(u(&r["stored"]), 3, "{r:#}");
    assert_eq!(u(&r["rejected"]), 4, "{r:#}");
    // The rejects say why and where, and what the line looked like.
    let rejects = env.json(&["rejects"]);
    assert_eq!(rejects.as_array().unwrap().len(), 4);
    for rj in rejects.as_array().unwrap() {
        assert!(
            rj["excerpt"].as_str().unwrap().contains("string(") || rj["excerpt"].as_str().unwrap().contains("bytes"),
            "{rj}"
        );
    }
    // Nothing of the marker anywhere in the ledger's files.
    let mut found = Vec::new();
    for e in std::fs::read_dir(env.dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("ledger.db") {
            let bytes = std::fs::read(&p).unwrap();
            if bytes.windows(MARK.len()).any(|w| w == MARK.as_bytes()) {
                found.push(p);
            }
        }
    }
    assert!(found.is_empty(), "the marker reached {found:?}");
    // The service name, a short attribute, is still a tag.
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let tags: String = conn.query_row("SELECT tags FROM calls WHERE format = 5", [], |r| r.get(0)).unwrap();
    assert!(tags.contains("service.name"), "{tags}");
}

#[test]
fn rejects_are_read_again_after_a_wrong_format_and_a_changed_file_is_said() {
    let env = Env::new();
    let openai = r#"{"id":"chatcmpl-r1","object":"chat.completion","created":1790000000,"model":"gpt-4o","usage":{"prompt_tokens":30,"completion_tokens":5}}"#;
    let f = env.write("openai.jsonl", format!("{openai}\n"));
    // Forced to the wrong format: the good line is rejected.
    let out = env.ok(&["ingest", "--json", "--format", "anthropic-batch", f.to_str().unwrap()]);
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(u(&r["rejected"]), 1);
    let again = env.json(&["ingest", "--retry-rejects"]);
    assert_eq!(u(&again["read_now"]), 1, "{again}");
    assert_eq!(u(&again["stored"]), 1);
    assert!(env.json(&["rejects"]).as_array().unwrap().is_empty());
    let s = &env.json(&["sources"])[0];
    assert_eq!((u(&s["calls"]), u(&s["rejects"])), (1, 0), "{s}");
    // Reading it again changes nothing.
    let third = env.json(&["ingest", "--retry-rejects"]);
    assert_eq!(u(&third["read_now"]), 0);
    assert_eq!(u(&env.ledger("workflow")["total"]["calls"]), 1);

    // A reject whose file changed since is not read again, and said so.
    let g = env.write("bad.jsonl", "{\"broken\":\n");
    env.ingest(&[&g]);
    std::fs::write(&g, "{\"something\":\"else\"}\n").unwrap();
    let r = env.json(&["ingest", "--retry-rejects"]);
    assert_eq!(u(&r["file_changed"]), 1, "{r}");
    assert_eq!(env.json(&["rejects"]).as_array().unwrap().len(), 1);
}

#[test]
fn dedupe_identity_is_the_exact_id_or_the_canonical_line() {
    let env = Env::new();
    let long = "r".repeat(200);
    let line = |id: &str| {
        format!(
            r#"{{"ts":"2026-10-01T08:00:00Z","request_id":{},"model":"gpt-4o","usage":{{"output":1}}}}"#,
            serde_json::to_string(id).unwrap()
        )
    };
    let lines = [
        line("req-1"),
        line("req\u{1b}[0m-1"),
        line(" req-1 "),
        line(&format!("{long}a")),
        line(&format!("{long}b")),
        // The same id-less call written compactly and with spaces, keys reordered.
        r#"{"ts":"2026-10-01T09:00:00Z","model":"gpt-4o","usage":{"output":2}}"#.to_string(),
        r#"{ "usage": { "output": 2 }, "model": "gpt-4o", "ts": "2026-10-01T09:00:00Z" }"#.to_string(),
    ];
    let f = env.write("ids.jsonl", lines.join("\n") + "\n");
    let r = env.ingest(&[&f]);
    assert_eq!(u(&r["stored"]), 6, "{r:#}");
    assert_eq!(u(&r["duplicates"]), 1);
}

#[test]
fn file_names_with_escapes_never_reach_any_output_raw() {
    let env = Env::new();
    let name = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J.jsonl";
    let f = env.write(
        name,
        "{\"broken\":\n".to_string() + &crate::util::native("2026-10-01T00:00:00Z", "n1", "gpt-4o", "w", 1, 1) + "\n",
    );
    let out = env.cmd().args(["ingest", "--json", f.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    for args in [
        &["sources", "--json"][..],
        &["sources"],
        &["sources", "--csv"],
        &["rejects", "--json"],
        &["rejects"],
        &["rejects", "--csv"],
    ] {
        let text = env.ok(args);
        assert!(!text.contains('\u{1b}') && !text.contains("\\u001b") && !text.contains('\u{7}'), "{args:?}: {text}");
    }
}

/// A small deterministic generator (xorshift) for the corpus.
struct Xs(u64);
impl Xs {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn a_mutation_corpus_of_every_format_is_accounted_for_line_by_line() {
    let root = crate::util::repo().join("tests/fixtures");
    let mut seeds: Vec<String> = Vec::new();
    for f in [
        "formats/native.jsonl",
        "formats/openai.jsonl",
        "formats/anthropic.jsonl",
        "formats2/litellm.jsonl",
        "formats2/otel.jsonl",
        "formats2/batch.jsonl",
        "claude-code/projects/-Users-dev-shop/s1.jsonl",
    ] {
        let text = std::fs::read_to_string(root.join(f)).unwrap();
        seeds.extend(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
    }
    let mut rng = Xs(0x9e37_79b9_7f4a_7c15);
    let mut corpus: Vec<u8> = Vec::new();
    for _ in 0..3000 {
        let mut line = seeds[(rng.next() % seeds.len() as u64) as usize].as_bytes().to_vec();
        for _ in 0..(rng.next() % 4) {
            let i = (rng.next() % line.len().max(1) as u64) as usize;
            match rng.next() % 5 {
                0 if !line.is_empty() => line[i] ^= 1 << (rng.next() % 8),
                1 if !line.is_empty() => {
                    line.remove(i);
                }
                2 => line.insert(i.min(line.len()), (rng.next() % 256) as u8),
                3 => line.truncate(i),
                _ => {}
            }
        }
        line.retain(|b| *b != b'\n');
        corpus.extend_from_slice(&line);
        corpus.push(b'\n');
    }
    let env = Env::new();
    let f = env.write("corpus.jsonl", &corpus);
    let r = env.ingest(&[&f]);
    let n = |k: &str| u(&r[k]);
    assert_eq!(n("lines"), 3000);
    assert_eq!(n("stored") + n("duplicates"), n("calls"), "{r:#}");
    // Every line is a call (or several, for a trace), a reject or a skip.
    assert!(n("rejected") + n("skipped") <= n("lines"), "{r:#}");
    assert!(n("lines") - n("rejected") - n("skipped") <= n("calls"), "{r:#}");
    assert!(n("rejected") > 0 && n("stored") > 0, "{r:#}");
    // The rollups, the calls table, the rejects table and the source agree.
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let calls: i64 = conn.query_row("SELECT COUNT(*) FROM calls", [], |x| x.get(0)).unwrap();
    assert_eq!(calls as u64, n("stored"));
    assert_eq!(u(&env.ledger("workflow")["total"]["calls"]), n("stored"));
    assert_eq!(u(&env.ledger("day")["total"]["calls"]), n("stored"));
    let rejects: i64 = conn.query_row("SELECT COUNT(*) FROM rejects", [], |x| x.get(0)).unwrap();
    assert_eq!(rejects as u64, n("rejected"));
    let s = &env.json(&["sources"])[0];
    assert_eq!((u(&s["lines"]), u(&s["rejects"]), u(&s["skipped"])), (3000, n("rejected"), n("skipped")));
}
