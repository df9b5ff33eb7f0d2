//! `aifin merge`: ledgers of several machines combined exactly once.

use crate::util::{Env, i, repo, row};

fn cost(ledger: &serde_json::Value) -> i64 {
    i(&ledger["total"]["cost_nanousd"])
}

#[test]
fn two_machines_merge_to_the_same_ledger_either_way() {
    let (m1, m2) = (Env::sample(), Env::sample());
    let data = repo().join("sample-data");
    // The gateway's logs are on both machines; each has its own SDK logs.
    m1.ingest(&[&data.join("gateway"), &data.join("openai"), &data.join("outcomes")]);
    m2.ingest(&[&data.join("gateway"), &data.join("anthropic")]);
    let whole = Env::sample();
    whole.ingest(&[&data]);
    let want = whole.ledger("workflow");

    // Copies, so that each direction starts from the same two ledgers.
    let a2 = m1.path("copy-of-m2.db");
    let b2 = m2.path("copy-of-m1.db");
    std::fs::copy(m2.db(), &a2).unwrap();
    std::fs::copy(m1.db(), &b2).unwrap();
    let into_1 = m1.json(&["merge", a2.to_str().unwrap()]);
    let into_2 = m2.json(&["merge", b2.to_str().unwrap()]);
    let calls = |j: &serde_json::Value, k: &str| i(&j["merges"][0]["calls"][k]);
    assert!(calls(&into_1, "duplicates") > 0, "the gateway's calls were on both: {into_1:#}");
    assert_eq!(calls(&into_1, "duplicates"), calls(&into_2, "duplicates"));
    assert_eq!(calls(&into_1, "conflicts"), 0);
    let (l1, l2) = (m1.ledger("workflow"), m2.ledger("workflow"));
    assert_eq!(cost(&l1), cost(&l2), "A+B and B+A agree to the nano-dollar");
    assert_eq!(cost(&l1), cost(&want), "and equal one machine that read everything");
    assert_eq!(l1["rows"], want["rows"], "row for row");
    assert_eq!(l1["rows"], l2["rows"]);

    // `--by machine` says where each call was first read, with the host.
    let by = m1.ledger("machine");
    let rows = by["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{by:#}");
    let other_id = into_1["merges"][0]["ledger_id"].as_str().unwrap();
    let theirs = row(&by, other_id);
    assert!(theirs["host"].as_str().is_some_and(|h| !h.is_empty()), "{theirs:#}");
    let own: i64 = rows.iter().filter(|r| r["key"].is_null()).map(|r| i(&r["cost_nanousd"])).sum();
    assert_eq!(own + i(&theirs["cost_nanousd"]), cost(&by));

    // Merging the same file again changes nothing.
    let again = m1.json(&["merge", a2.to_str().unwrap()]);
    assert_eq!(calls(&again, "added"), 0);
    assert_eq!(i(&again["merges"][0]["outcomes"]["added"]), 0);
    assert_eq!(m1.ledger("workflow"), l1);
}

#[test]
fn the_paper_table_survives_a_merge_into_an_empty_ledger() {
    let src = Env::sample();
    src.ingest(&[&repo().join("sample-data")]);
    let dst = Env::sample();
    dst.ok(&["merge", src.db().to_str().unwrap()]);
    let args = ["ledger", "--since", "2026-10-01", "--until", "2026-11-01", "--tz", "UTC"];
    assert_eq!(dst.ok(&args), src.ok(&args));
    // Cost per success needs the outcomes: they came along.
    let o = [
        "outcomes",
        "--since",
        "2026-10-01",
        "--until",
        "2026-11-01",
        "--as-of",
        "2026-12-01",
        "--tz",
        "UTC",
        "--json",
    ];
    assert_eq!(dst.ok(&o), src.ok(&o));
}

#[test]
fn bad_merges_are_refused_with_exit_2_and_hostile_names_stay_inert() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data/openai")]);
    let err = env.fails(&["merge", env.path("missing.db").to_str().unwrap()]);
    assert!(err.contains("missing.db"), "{err}");
    let err = env.fails(&["merge", env.db().to_str().unwrap()]);
    assert!(err.contains("this ledger itself"), "{err}");
    let junk = env.write("junk.db", "SQLite format 3? no: just text");
    let err = env.fails(&["merge", junk.to_str().unwrap()]);
    assert!(err.contains("junk.db"), "{err}");
    // A ledger named with terminal escapes and a spreadsheet formula.
    let other = Env::sample();
    other.ingest(&[&repo().join("sample-data/anthropic")]);
    let evil = env.path("=HYPERLINK(1)\x1b[31mred.db");
    std::fs::copy(other.db(), &evil).unwrap();
    let out = env.ok(&["merge", evil.to_str().unwrap()]);
    assert!(!out.contains('\x1b'), "{out:?}");
    let csv = env.ok(&["merge", "--csv", evil.to_str().unwrap()]);
    assert!(!csv.contains('\x1b'));
    for line in csv.lines().skip(1) {
        assert!(!line.starts_with("=") && !line.starts_with("\"="), "{line}");
    }
}
