//! Bad input never panics and never vanishes: every malformed line is kept
//! in the rejects table with its file, line and reason, and the rest of the
//! file is ingested.

use crate::util::{Env, native, u};

#[test]
fn every_malformed_line_is_rejected_with_a_reason_and_the_rest_is_kept() {
    let env = Env::new();
    let good = |k: u32| native(&format!("2026-10-01T00:00:{k:02}Z"), &format!("g{k}"), "gpt-4o", "wf", 100, 10);
    let mut body: Vec<u8> = Vec::new();
    let mut push = |s: &[u8]| {
        body.extend_from_slice(s);
        body.push(b'\n');
    };
    push(good(1).as_bytes()); // 1
    push(br#"{"ts":"2026-10-01T00:00:00Z","model":"#); // 2 broken JSON
    push(b"{\"ts\":\"2026-10-01T00:00:00Z\",\"model\":\"\xff\xfe\",\"usage\":{\"output\":1}}"); // 3 invalid UTF-8
    push(br#"{"ts":"2026-10-01T00:00:00Z","model":7,"usage":{"uncached_input":1}}"#); // 4 wrong type
    push(br#"{"ts":"2026-10-01T00:00:00Z","model":"m","usage":{"uncached_input":-5}}"#); // 5 negative
    push(br#"{"ts":"2026-10-01T00:00:00Z","model":"m","usage":{"output":5000000000}}"#); // 6 absurd
    push(br#"{"ts":"2026-10-01T00:00:00Z","model":"m","usage":{"output":NaN}}"#); // 7 NaN
    push(br#"{"hello":"world","answer":42}"#); // 8 unrelated object
    push(b"[1,2,3]"); // 9 not an object
    push(
        br#"{"ts":"2026-10-01T00:00:09Z","request_id":"g9","model":"gpt-4o","usage":{"uncached_input":5,"output":1},"new_field":{"deep":[1,{"x":null}]}}"#,
    ); // 10 unknown fields are ignored
    push(format!("{}\r", good(11)).as_bytes()); // 11 CRLF
    push(b""); // 12 blank
    push(br#"{"ts":"not a time","model":"m","usage":{"output":1}}"#); // 13 bad timestamp
    push(good(14).as_bytes()); // 14
    let f = env.write("mixed.jsonl", &body);

    let r = env.ingest(&[&f]);
    assert_eq!(u(&r["lines"]), 14);
    assert_eq!(u(&r["stored"]), 4);
    assert_eq!(u(&r["rejected"]), 9);
    assert_eq!(u(&r["skipped"]), 1);

    let rejects = env.json(&["rejects"]);
    let list = rejects.as_array().unwrap();
    let reason = |line: u64| -> String {
        list.iter()
            .find(|r| u(&r["line"]) == line)
            .unwrap_or_else(|| panic!("line {line} not rejected: {rejects:#}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(reason(2).starts_with("invalid JSON"), "{}", reason(2));
    assert!(reason(3).contains("invalid UTF-8"), "{}", reason(3));
    assert!(reason(4).contains("invalid type"), "{}", reason(4));
    assert!(reason(5).contains("negative token count -5"), "{}", reason(5));
    assert!(reason(6).contains("absurd token count"), "{}", reason(6));
    assert!(reason(7).starts_with("invalid JSON"), "{}", reason(7));
    assert!(reason(8).contains("no known format matched (top-level keys: answer, hello)"), "{}", reason(8));
    assert!(reason(9).contains("not a JSON object"), "{}", reason(9));
    assert!(reason(13).contains("invalid timestamp"), "{}", reason(13));
    for r in list {
        assert!(r["file"].as_str().unwrap().ends_with("mixed.jsonl"));
        assert!(!r["excerpt"].as_str().unwrap().is_empty());
    }
    // The text report names file:line.
    let text = env.ok(&["rejects"]);
    assert!(text.contains("mixed.jsonl:5"), "{text}");
}

#[test]
fn rejected_excerpts_are_sanitized() {
    let env = Env::new();
    let f = env.write("evil.jsonl", "{\"x\":\"\u{1b}]0;owned\u{7}\u{1b}[2J\",\"y\":1}\n");
    env.ingest(&[&f]);
    let text = env.ok(&["rejects"]);
    assert!(!text.contains('\u{1b}'), "escape sequence reached the terminal: {text:?}");
    let json = env.ok(&["rejects", "--json"]);
    assert!(!json.contains("\\u001b"), "{json}");
}

#[test]
fn lines_of_ten_megabytes_are_handled() {
    let env = Env::new();
    let pad = "x".repeat(11 * 1024 * 1024);
    let big = format!(
        r#"{{"ts":"2026-10-01T00:00:00Z","request_id":"big","model":"gpt-4o","usage":{{"uncached_input":10,"output":1}},"prompt_blob":"{pad}"}}"#
    );
    let after = native("2026-10-01T00:01:00Z", "after", "gpt-4o", "wf", 1, 1);
    let f = env.write("big.jsonl", format!("{big}\n{after}\n"));
    let r = env.ingest(&[&f]);
    assert_eq!(u(&r["stored"]), 2);
    assert_eq!(u(&r["rejected"]), 0);
}

#[test]
fn sanitized_attribution_never_carries_escapes() {
    let env = Env::new();
    let line = "{\"ts\":\"2026-10-01T00:00:00Z\",\"model\":\"gpt-4o\",\"workflow\":\"\\u001b[31mred\\u001b[0m-flow\",\"usage\":{\"uncached_input\":1,\"output\":1}}\n";
    let f = env.write("esc.jsonl", line);
    env.ingest(&[&f]);
    let l = env.ledger("workflow");
    assert_eq!(l["rows"][0]["key"], "red-flow");
}

#[test]
fn lines_of_unicode_whitespace_are_blank_not_a_panic() {
    // Regression: a line holding only a vertical tab (or NEL, NBSP, U+2028,
    // U+3000) made ingestion panic on every run.
    let env = Env::new();
    let mut body = br#"{"ts":"2026-10-01T08:00:00Z","model":"gpt-4o","usage":{"output":1}}"#.to_vec();
    body.extend_from_slice("\n\u{b}\n\u{85}\n\u{a0}\n\u{2028}\n\u{3000}\n".as_bytes());
    let f = env.write("ws.jsonl", &body);
    let r = env.ingest(&[&f]);
    assert_eq!(u(&r["lines"]), 6);
    assert_eq!(u(&r["stored"]), 1);
    assert_eq!(u(&r["skipped"]), 5);
    assert_eq!(u(&r["rejected"]), 0);
    // A second run reads nothing new and still succeeds.
    let again = env.ingest(&[&f]);
    assert_eq!(u(&again["stored"]), 0);
}

#[test]
fn a_byte_order_mark_does_not_make_the_first_line_a_reject() {
    let env = Env::new();
    let mut body = "\u{feff}".as_bytes().to_vec();
    body.extend_from_slice(native("2026-10-01T00:00:01Z", "b1", "gpt-4o", "wf", 100, 10).as_bytes());
    body.push(b'\n');
    let f = env.write("bom.jsonl", &body);
    let r = env.ingest(&[&f]);
    assert_eq!(u(&r["stored"]), 1);
    assert_eq!(u(&r["rejected"]), 0);
}
