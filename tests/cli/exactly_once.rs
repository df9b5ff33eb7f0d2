//! Exactly once: re-reading, copies, overlaps, appends, partial lines,
//! replaced and truncated files never double-count or lose a call.

use crate::util::{Env, i, native_lines, u};

fn total_calls(env: &Env) -> u64 {
    u(&env.ledger("workflow")["total"]["calls"])
}

fn total_cost(env: &Env) -> i64 {
    i(&env.ledger("workflow")["total"]["cost_nanousd"])
}

#[test]
fn same_file_twice_changes_nothing() {
    let env = Env::new();
    let f = env.write("gw.jsonl", native_lines("a", 100));
    let first = env.ingest(&[&f]);
    assert_eq!(u(&first["stored"]), 100);
    let cost = total_cost(&env);
    let second = env.ingest(&[&f]);
    assert_eq!(u(&second["stored"]), 0);
    assert_eq!(u(&second["lines"]), 0, "offsets: nothing is re-read");
    assert_eq!(u(&second["unchanged_files"]), 1);
    assert_eq!(total_calls(&env), 100);
    assert_eq!(total_cost(&env), cost);
}

#[test]
fn a_copy_under_another_name_is_all_duplicates() {
    let env = Env::new();
    let content = native_lines("a", 50);
    let a = env.write("a.jsonl", &content);
    let b = env.write("copy/b.jsonl", &content);
    env.ingest(&[&a]);
    let r = env.ingest(&[&b]);
    assert_eq!(u(&r["stored"]), 0);
    assert_eq!(u(&r["duplicates"]), 50);
    assert_eq!(total_calls(&env), 50);
}

#[test]
fn an_overlapping_copy_adds_only_the_new_lines() {
    let env = Env::new();
    let all = native_lines("x", 120);
    let lines: Vec<&str> = all.lines().collect();
    let a = env.write("a.jsonl", lines[..80].join("\n") + "\n");
    let b = env.write("b.jsonl", lines[40..].join("\n") + "\n");
    env.ingest(&[&a]);
    let cost_a = total_cost(&env);
    let r = env.ingest(&[&b]);
    assert_eq!(u(&r["duplicates"]), 40);
    assert_eq!(u(&r["stored"]), 40);
    assert_eq!(total_calls(&env), 120);
    assert_eq!(total_cost(&env), cost_a / 80 * 120, "every call costs the same here");
}

#[test]
fn appended_lines_are_read_from_the_committed_offset() {
    let env = Env::new();
    let all = native_lines("p", 30);
    let lines: Vec<&str> = all.lines().collect();
    env.write("gw.jsonl", lines[..10].join("\n") + "\n");
    env.ingest(&[&env.path("gw.jsonl")]);
    env.append("gw.jsonl", lines[10..].join("\n") + "\n");
    let r = env.ingest(&[&env.path("gw.jsonl")]);
    assert_eq!(u(&r["lines"]), 20);
    assert_eq!(u(&r["stored"]), 20);
    assert_eq!(u(&r["duplicates"]), 0);
    assert_eq!(total_calls(&env), 30);
    let sources = env.json(&["sources"]);
    assert_eq!(u(&sources[0]["lines"]), 30);
    assert_eq!(u(&sources[0]["lag_bytes"]), 0);
}

#[test]
fn a_truncated_last_line_waits_for_its_newline() {
    let env = Env::new();
    let all = native_lines("t", 3);
    let lines: Vec<&str> = all.lines().collect();
    let (head, tail) = lines[2].split_at(40);
    env.write("gw.jsonl", format!("{}\n{}\n{}", lines[0], lines[1], head));
    let r = env.ingest(&[&env.path("gw.jsonl")]);
    assert_eq!(u(&r["stored"]), 2);
    assert_eq!(u(&r["rejected"]), 0, "an unfinished line is not an error");
    assert_eq!(u(&r["partial_lines_waiting"]), 1);
    env.append("gw.jsonl", format!("{tail}\n"));
    let r = env.ingest(&[&env.path("gw.jsonl")]);
    assert_eq!(u(&r["stored"]), 1);
    assert_eq!(total_calls(&env), 3);
}

#[test]
fn a_complete_last_line_without_newline_is_taken_once() {
    let env = Env::new();
    let all = native_lines("c", 3);
    let lines: Vec<&str> = all.lines().collect();
    env.write("gw.jsonl", format!("{}\n{}", lines[0], lines[1]));
    let r = env.ingest(&[&env.path("gw.jsonl")]);
    assert_eq!(u(&r["stored"]), 2);
    assert_eq!(u(&r["partial_lines_waiting"]), 0);
    // The writer then ends the line and adds another.
    env.append("gw.jsonl", format!("\n{}\n", lines[2]));
    let r = env.ingest(&[&env.path("gw.jsonl")]);
    assert_eq!(u(&r["stored"]), 1);
    assert_eq!(u(&r["duplicates"]), 0);
    assert_eq!(total_calls(&env), 3);
}

#[test]
fn a_replaced_or_truncated_file_is_read_again_without_double_counting() {
    let env = Env::new();
    env.write("gw.jsonl", native_lines("old", 20));
    env.ingest(&[&env.path("gw.jsonl")]);
    // Replaced by different content under the same name (same size class).
    env.write("gw.jsonl", native_lines("new", 5));
    let r = env.ingest(&[&env.path("gw.jsonl")]);
    assert_eq!(u(&r["stored"]), 5);
    assert_eq!(total_calls(&env), 25);
    // Rewritten with the same head plus more lines: read on from the offset.
    env.write("gw.jsonl", native_lines("new", 8));
    let r = env.ingest(&[&env.path("gw.jsonl")]);
    assert_eq!(u(&r["stored"]), 3);
    assert_eq!(u(&r["duplicates"]), 0);
    assert_eq!(total_calls(&env), 28);
    // Truncated below the committed offset (copytruncate) and refilled.
    env.write("gw.jsonl", native_lines("z", 2));
    let r = env.ingest(&[&env.path("gw.jsonl")]);
    assert_eq!(u(&r["stored"]), 2);
    assert_eq!(total_calls(&env), 30);
    // Replaced by longer, different content: the head fingerprint differs.
    env.write("gw.jsonl", native_lines("q", 30));
    let r = env.ingest(&[&env.path("gw.jsonl")]);
    assert_eq!(u(&r["stored"]), 30);
    assert_eq!(total_calls(&env), 60);
}
