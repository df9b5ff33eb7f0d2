//! The tokenizer worker through the real binary: prompt components are
//! counted and stored as numbers, usage missing from a log is filled from
//! the count (and priced), and the prompt text itself is never stored.

use rusqlite::Connection;

use crate::util::{Env, i, row, u};

const SECRET: &str = "ZEBRA-CANARY-7731 the customer's account number";

/// Counts from a second implementation of o200k (aifin counts with
/// tiktoken-rs).
fn o200k(text: &str) -> i64 {
    bpe_openai::o200k_base().count(text) as i64
}

fn line(id: &str, wf: &str, model: &str, usage: Option<(u64, u64)>, user: &str) -> String {
    let usage = usage.map(|(i, o)| format!(r#","usage":{{"uncached_input":{i},"output":{o}}}"#)).unwrap_or_default();
    format!(
        r#"{{"ts":"2026-11-20T10:00:00Z","request_id":"{id}","model":"{model}","workflow":"{wf}"{usage},"prompt":{{"system":"You are the knowledge assistant. Cite sources.","context":"Page 12: refunds are issued within 14 days of the request.","user":"{user}"}},"output_text":"Refunds take up to 14 days (page 12).","unknown_field":1}}"#
    )
}

#[test]
fn prompt_text_is_counted_filled_priced_and_not_stored() {
    let env = Env::new();
    let user = format!("How long do refunds take? {SECRET}");
    let log = env.write(
        "sdk.jsonl",
        [
            line("a", "kb-with-usage", "gpt-4o", Some((900, 40)), &user),
            line("b", "kb-no-usage", "gpt-4o", None, &user),
            line("c", "kb-claude", "claude-sonnet-4-5", None, "hello"),
        ]
        .join("\n")
            + "\n",
    );
    let r = env.ingest(&[&log]);
    assert_eq!(u(&r["stored"]), 3, "{r:#}");
    assert_eq!(u(&r["tokenized"]), 3);
    assert_eq!(u(&r["usage_from_text"]), 2);

    let system = o200k("You are the knowledge assistant. Cite sources.");
    let context = o200k("Page 12: refunds are issued within 14 days of the request.");
    let output = o200k("Refunds take up to 14 days (page 12).");
    let l = env.ledger("workflow");

    // Reported usage stays; the composition is counted.
    let with = row(&l, "kb-with-usage");
    assert_eq!(i(&with["input_tokens"]), 900);
    assert_eq!(i(&with["output_tokens"]), 40);
    let c = &with["composition"];
    assert_eq!(i(&c["calls"]), 1);
    assert_eq!(i(&c["tokens"]["system"]), system);
    assert_eq!(i(&c["tokens"]["context"]), context);
    assert_eq!(i(&c["tokens"]["user"]), o200k(&user));
    assert_eq!(i(&c["tokens"]["tools"]), 0);
    assert_eq!(i(&c["tokens"]["output"]), output);

    // Missing usage is the count, priced at gpt-4o's rates ($2.50 / $10 per M).
    let without = row(&l, "kb-no-usage");
    let input = system + context + o200k(&user);
    assert_eq!(i(&without["input_tokens"]), input);
    assert_eq!(i(&without["output_tokens"]), output);
    assert_eq!(i(&without["cost_nanousd"]), input * 2_500 + output * 10_000);
    assert_eq!(i(&without["unpriced_calls"]), 0);
    assert_eq!(i(&l["total"]["calls"]), 3);

    // Claude has no public tokenizer: counted with o200k and marked estimated.
    let claude = row(&l, "kb-claude");
    assert!(i(&claude["input_tokens"]) > 0 && i(&claude["cost_nanousd"]) > 0, "{claude:#}");

    let conn = Connection::open(env.db()).unwrap();
    let source = |id: &str| -> i64 {
        conn.query_row("SELECT token_source & 15 FROM calls WHERE request_id = ?1", [id], |r| r.get(0)).unwrap()
    };
    assert_eq!(source("a"), 0, "reported");
    assert_eq!(source("b"), 1 | (1 << 2), "counted with the model's own tokenizer");
    assert_eq!(source("c"), 2 | (2 << 2), "estimated");
    drop(conn);

    // The prompt text is nowhere in the database files.
    for name in ["ledger.db", "ledger.db-wal"] {
        if let Ok(bytes) = std::fs::read(env.path(name)) {
            assert!(!bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()), "{name} holds prompt text");
            assert!(!bytes.windows(13).any(|w| w == b"Cite sources."), "{name} holds the system prompt");
        }
    }

    // Ingesting again counts nothing twice.
    let again = env.ingest(&[&log]);
    assert_eq!(u(&again["stored"]), 0);
    let l2 = env.ledger("workflow");
    assert_eq!(l2["total"], l["total"]);
}

/// A log that gives both the components' counts and the text: the counts
/// are the log's, the text only leaves fingerprints (it is not counted).
#[test]
fn given_counts_are_kept_and_the_text_only_fingerprinted() {
    let env = Env::new();
    let log = env.write(
        "gw.jsonl",
        r#"{"ts":"2026-11-20T10:00:00Z","request_id":"g1","model":"gpt-4o","workflow":"kb","usage":{"uncached_input":900,"output":40},"prompt_parts":{"system":500,"tools":0,"context":300,"history":0,"user":100,"output":40},"prompt":{"system":"You are terse.","user":"hi"}}"#.to_string() + "\n",
    );
    let r = env.ingest(&[&log]);
    assert_eq!(u(&r["stored"]), 1, "{r:#}");
    assert_eq!(u(&r["tokenized"]), 0, "nothing was counted");
    let l = env.ledger("workflow");
    let c = &row(&l, "kb")["composition"];
    assert_eq!(i(&c["tokens"]["system"]), 500);
    assert_eq!(i(&c["tokens"]["user"]), 100);
    let conn = Connection::open(env.db()).unwrap();
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM prompt_hashes", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1, "the text left its fingerprints");
}
