//! Snapshots through the binary: every format of the sample month agrees
//! with the command line's own reports, carries its stamp, and keeps
//! hostile log text inert in Markdown, HTML, CSV and JSON.

use serde_json::Value;

use crate::util::{Env, repo};

const OCT: [&str; 4] = ["--since", "2026-10-01", "--until", "2026-10-31"];

fn export(env: &Env, args: &[&str]) -> String {
    let mut a = vec!["export"];
    a.extend_from_slice(args);
    env.ok(&a)
}

#[test]
fn the_sample_month_in_every_format_agrees_with_the_ledger() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    // Markdown: the paper's table III figures in a GitHub table.
    let md = export(&env, &[&["--format", "md"][..], &OCT].concat());
    for line in [
        // (`$` is escaped: GitHub would read two amounts as math.)
        "| support-copilot | CX | 1,240 | \\$41.80 | 38.0% | \\$0.1446 |",
        "| contract-extraction | Legal Ops | 210 | \\$24.20 | 22.0% | \\$0.1235 |",
        "| everything-else | Various | 320 | \\$4.40 | 4.0% | - |",
        "| **Total** |  | **2,886** | **\\$110.00** | **100.0%** | **-** |",
    ] {
        assert!(md.contains(line), "{line}\n{md}");
    }
    assert!(md.contains("catalog litellm 1.110.2"), "{md}");
    // JSON: the report is `aifin ledger --json`, field for field.
    let j: Value = serde_json::from_str(&export(&env, &[&["--format", "json"][..], &OCT].concat())).unwrap();
    let l = env.json(&[&["ledger"][..], &OCT].concat());
    assert_eq!(j["report"], l);
    assert_eq!(j["view"], "ledger");
    // The stamp counts the whole ledger (the sample's other files too).
    assert_eq!(j["stamp"]["ledger_calls"], env.ledger("workflow")["total"]["calls"]);
    assert_eq!(j["stamp"]["since"], "2026-10-01T00:00:00.000Z");
    // CSV: `aifin ledger --csv`, byte for byte.
    let csv = export(&env, &[&["--format", "csv"][..], &OCT].concat());
    assert_eq!(csv, env.ok(&[&["ledger", "--csv"][..], &OCT].concat()));
    // HTML: one page, no script, no request, the figures in it.
    let html = export(&env, &[&["--format", "html"][..], &OCT].concat());
    assert!(html.starts_with("<!doctype html>"));
    for bad in ["<script", "src=", "href=", "url(", "@import"] {
        assert!(!html.contains(bad), "{bad}");
    }
    assert!(html.contains("default-src 'none'"), "a policy that forbids requests");
    for figure in ["$41.80", "$110.00", "2,886", "<svg", "prefers-color-scheme"] {
        assert!(html.contains(figure), "{figure}");
    }
    // The fingerprint is the ledger's: the same twice, another after a new call.
    let fp = |env: &Env| {
        let j: Value = serde_json::from_str(&export(env, &[&["--format", "json"][..], &OCT].concat())).unwrap();
        j["stamp"]["ledger_fingerprint"].as_str().unwrap().to_string()
    };
    let a = fp(&env);
    assert_eq!(a, fp(&env));
    assert_eq!(a.len(), 16);
    let f = env.write("one.jsonl", crate::util::native("2026-10-09T10:00:00Z", "x1", "gpt-4o", "w", 1000, 10) + "\n");
    env.ingest(&[&f]);
    assert_ne!(a, fp(&env));
}

#[test]
fn every_view_exports_and_all_of_them_at_once() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    let j: Value =
        serde_json::from_str(&export(&env, &["--format", "json", "--view", "all", "--until", "2026-10-31"])).unwrap();
    let views: Vec<&str> = j["views"].as_array().unwrap().iter().map(|v| v["view"].as_str().unwrap()).collect();
    assert_eq!(views, ["ledger", "forecast", "outcomes", "budgets", "kpis", "raci", "gate", "sources"]);
    // Each report is the command's own JSON.
    let v = |name: &str| j["views"].as_array().unwrap().iter().find(|v| v["view"] == name).unwrap()["report"].clone();
    assert_eq!(v("raci")["ownership_coverage"], 1.0);
    assert_eq!(v("budgets")["budgets"].as_array().unwrap().len(), 6);
    assert_eq!(v("kpis")["kpis"].as_array().unwrap().len(), 7);
    let md = export(&env, &["--format", "md", "--view", "all", "--until", "2026-10-31"]);
    assert!(md.starts_with("# aifin snapshot"));
    assert!(md.contains("Who owns AI spend") && md.contains("KPIs and SLOs"), "{md}");
    let html = export(&env, &["--format", "html", "--view", "all", "--until", "2026-10-31"]);
    assert!(html.matches("<section").count() == 8);
    let e = env.fails(&["export", "--format", "csv", "--view", "all"]);
    assert!(e.contains("one view at a time"), "{e}");
    let e = env.fails(&["export", "--format", "md", "--view", "levers"]);
    assert!(e.contains("--view 'levers'"), "{e}");
    // --out writes the file and says where.
    let out = env.path("snap.html");
    env.ok(&["export", "--format", "html", "--window", "30d", "--out", out.to_str().unwrap()]);
    assert!(std::fs::read_to_string(&out).unwrap().contains("</html>"));
}

#[test]
fn hostile_log_text_stays_inert_in_every_format() {
    let env = Env::new();
    let names = [
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        "<script>alert(1)</script>",
        "| pipes | in | names |",
        "\u{1b}[31mred\u{1b}[0m",
        "`tick` [link](http://evil.example) ![img](x.png) *bold*",
        "+1-@SUM(A1)",
    ];
    let lines: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!(
                r#"{{"ts":"2026-10-0{}T10:00:00Z","request_id":"h{i}","model":"gpt-4o","workflow":{},"usage":{{"uncached_input":1000,"output":10}}}}"#,
                i + 1,
                serde_json::to_string(n).unwrap()
            )
        })
        .collect();
    let f = env.write("hostile.jsonl", lines.join("\n") + "\n");
    env.ingest(&[&f]);
    let md = export(&env, &["--format", "md"]);
    assert!(!md.contains('\u{1b}'), "no escape reaches the snapshot");
    assert!(!md.contains("<script>") && md.contains("\\<script\\>"), "{md}");
    assert!(md.contains("\\[link\\]") && !md.contains(" [link]") && !md.contains("![img]"), "no link or image: {md}");
    // Every table row has exactly its columns' separators.
    let table: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
    let bars =
        |l: &str| l.chars().zip(std::iter::once(' ').chain(l.chars())).filter(|(c, p)| *c == '|' && *p != '\\').count();
    let n = bars(table[0]);
    assert!(table.iter().all(|l| bars(l) == n), "{table:#?}");
    let html = export(&env, &["--format", "html"]);
    assert!(!html.contains("<script") && html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    assert!(!html.contains('\u{1b}'));
    assert!(!html.contains("href="));
    let csv = export(&env, &["--format", "csv"]);
    assert!(csv.contains("\"'=HYPERLINK("), "{csv}");
    assert!(csv.contains("'+1-@SUM(A1)"), "{csv}");
    assert!(!csv.contains('\u{1b}'));
    let json: Value = serde_json::from_str(&export(&env, &["--format", "json"])).unwrap();
    let keys: Vec<&str> =
        json["report"]["rows"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert!(keys.contains(&"<script>alert(1)</script>"), "JSON keeps the data, escaped by JSON itself");
}
