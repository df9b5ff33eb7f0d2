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
    assert_eq!(views, ["ledger", "live", "forecast", "outcomes", "budgets", "kpis", "raci", "gate", "sources"]);
    // Each report is the command's own JSON.
    let v = |name: &str| j["views"].as_array().unwrap().iter().find(|v| v["view"] == name).unwrap()["report"].clone();
    assert_eq!(v("raci")["ownership_coverage"], 1.0);
    assert_eq!(v("budgets")["budgets"].as_array().unwrap().len(), 6);
    assert_eq!(v("kpis")["kpis"].as_array().unwrap().len(), 7);
    let md = export(&env, &["--format", "md", "--view", "all", "--until", "2026-10-31"]);
    assert!(md.starts_with("# aifin snapshot"));
    assert!(md.contains("Who owns AI spend") && md.contains("KPIs and SLOs"), "{md}");
    let html = export(&env, &["--format", "html", "--view", "all", "--until", "2026-10-31"]);
    assert!(html.matches("<section").count() == 9);
    let e = env.fails(&["export", "--format", "csv", "--view", "all"]);
    assert!(e.contains("one view at a time"), "{e}");
    let e = env.fails(&["export", "--format", "md", "--view", "levers"]);
    assert!(e.contains("--view levers: set the levers"), "{e}");
    let e = env.fails(&["export", "--format", "md", "--view", "nonsense"]);
    assert!(e.contains("--view 'nonsense'"), "{e}");
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

/// An exact decimal from FOCUS text: (mantissa, scale).
fn dec(s: &str) -> (i128, u32) {
    let (i, f) = s.split_once('.').unwrap_or((s, ""));
    (format!("{i}{f}").parse().unwrap(), f.len() as u32)
}

fn dec_eq(a: (i128, u32), b: (i128, u32)) -> bool {
    let s = a.1.max(b.1);
    a.0 * 10i128.pow(s - a.1) == b.0 * 10i128.pow(s - b.1)
}

fn dec_mul(a: (i128, u32), b: (i128, u32)) -> (i128, u32) {
    (a.0 * b.0, a.1 + b.1)
}

fn focus_rows(csv: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records().map(|rec| headers.iter().cloned().zip(rec.unwrap().iter().map(str::to_string)).collect()).collect()
}

#[test]
fn focus_rows_keep_the_specs_rules_and_the_ledgers_total() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    let out = env.cmd().args([&["export", "--format", "focus"][..], &OCT].concat()).output().unwrap();
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    let summary = String::from_utf8(out.stderr).unwrap();
    let rows = focus_rows(&csv);
    assert!(rows.len() > 1000, "{}", rows.len());
    // The 1.2 Mandatory columns, and those never null.
    let mandatory = [
        "BilledCost",
        "BillingAccountId",
        "BillingAccountName",
        "BillingCurrency",
        "BillingPeriodEnd",
        "BillingPeriodStart",
        "ChargeCategory",
        "ChargeClass",
        "ChargeDescription",
        "ChargePeriodEnd",
        "ChargePeriodStart",
        "ContractedCost",
        "EffectiveCost",
        "InvoiceIssuerName",
        "ListCost",
        "PricingQuantity",
        "PricingUnit",
        "ProviderName",
        "PublisherName",
        "ServiceCategory",
        "ServiceName",
    ];
    let never_null = [
        "BilledCost",
        "EffectiveCost",
        "ListCost",
        "ContractedCost",
        "BillingCurrency",
        "BillingPeriodStart",
        "BillingPeriodEnd",
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "ChargeCategory",
        "ProviderName",
        "PublisherName",
        "InvoiceIssuerName",
        "ServiceCategory",
        "ServiceName",
        "ServiceSubcategory",
        // Usage rows.
        "ConsumedQuantity",
        "ConsumedUnit",
        "PricingQuantity",
        "PricingUnit",
        "ListUnitPrice",
        "ContractedUnitPrice",
        "PricingCategory",
    ];
    let mut billed = (0i128, 0u32);
    for r in &rows {
        for c in mandatory {
            assert!(r.contains_key(c), "{c}");
        }
        for c in never_null {
            assert!(!r[c].is_empty(), "{c} null in {r:?}");
        }
        assert_eq!(r["ChargeCategory"], "Usage");
        assert_eq!(r["ChargeFrequency"], "Usage-Based");
        assert_eq!(r["ServiceCategory"], "AI and Machine Learning");
        assert_eq!(r["ServiceSubcategory"], "Generative AI");
        assert_eq!(r["ConsumedUnit"], "Tokens");
        assert_eq!(r["PricingUnit"], "1000000 Tokens");
        assert!(r["ChargePeriodStart"].ends_with("T00:00:00Z") && r["ChargePeriodEnd"].ends_with("T00:00:00Z"));
        // Price x quantity = cost, exactly, for list and contracted prices.
        let q = dec(&r["PricingQuantity"]);
        assert!(dec_eq(dec_mul(dec(&r["ListUnitPrice"]), q), dec(&r["ListCost"])), "{r:?}");
        assert!(dec_eq(dec_mul(dec(&r["ContractedUnitPrice"]), q), dec(&r["ContractedCost"])), "{r:?}");
        assert!(
            dec_eq(dec(&r["ConsumedQuantity"]), dec_mul(q, (1_000_000, 0))),
            "tokens = PricingQuantity x 1,000,000"
        );
        assert_eq!(r["BilledCost"], r["ContractedCost"]);
        for j in ["SkuPriceDetails", "Tags"] {
            let v: serde_json::Value = serde_json::from_str(&r[j]).unwrap();
            assert!(v.as_object().unwrap().values().all(|x| !x.is_object() && !x.is_array()), "flat JSON");
        }
        let b = dec(&r["BilledCost"]);
        let s = billed.1.max(b.1);
        billed = (billed.0 * 10i128.pow(s - billed.1) + b.0 * 10i128.pow(s - b.1), s);
    }
    // The total of BilledCost is the ledger's $110.00 to the cent.
    let cents = billed.0 * 100 / 10i128.pow(billed.1);
    assert!((10_999..=11_000).contains(&cents), "{billed:?}");
    assert!(summary.contains("2886 calls"), "{summary}");
    // A negotiated rate: list is the catalog's $5, contracted the config's $4.50.
    let opus = rows
        .iter()
        .find(|r| r["SkuMeter"] == "Input Tokens" && r["ChargeDescription"].starts_with("claude-opus-4-5"))
        .unwrap();
    assert_eq!((opus["ListUnitPrice"].as_str(), opus["ContractedUnitPrice"].as_str()), ("5", "4.5"));
    // A private model: its configured price is its list price.
    let llama = rows.iter().find(|r| r["ChargeDescription"].starts_with("llama-3.3-70b-internal")).unwrap();
    assert_eq!(llama["ListUnitPrice"], llama["ContractedUnitPrice"]);
    assert_eq!(llama["PublisherName"], "Meta");
}

#[test]
fn focus_leaves_unpriced_calls_out_unless_asked_and_guards_text() {
    let env = Env::new();
    let lines = [
        crate::util::native("2026-10-02T10:00:00Z", "p1", "gpt-4o", "=HYPERLINK(1)", 1_000_000, 0),
        crate::util::native("2026-10-02T11:00:00Z", "u1", "acme-distilled-7b", "w", 5000, 10),
    ];
    let f = env.write("f.jsonl", lines.join("\n") + "\n");
    env.ingest(&[&f]);
    let out = env.cmd().args(["export", "--format", "focus"]).output().unwrap();
    let rows = focus_rows(&String::from_utf8(out.stdout).unwrap());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(rows.len(), 1, "the unpriced call is left out");
    assert!(err.contains("1 unpriced calls left out"), "{err}");
    assert_eq!(rows[0]["BilledCost"], "2.5");
    assert_eq!(rows[0]["x_Workflow"], "'=HYPERLINK(1)", "a formula is guarded");
    let out = env.cmd().args(["export", "--format", "focus", "--include-unpriced"]).output().unwrap();
    let rows = focus_rows(&String::from_utf8(out.stdout).unwrap());
    let unpriced: Vec<_> = rows.iter().filter(|r| r["x_Unpriced"] == "true").collect();
    assert_eq!(unpriced.len(), 2, "input and output rows");
    assert!(unpriced.iter().all(|r| r["BilledCost"] == "0" && r["ListUnitPrice"] == "0"));
}

#[test]
fn focus_1_3_adds_the_service_and_host_provider() {
    let env = Env::new();
    let lines = [
        crate::util::native("2026-10-02T10:00:00Z", "p1", "gpt-4o", "w", 1_000_000, 0),
        r#"{"ts":"2026-10-02T11:00:00Z","request_id":"b1","provider":"bedrock","model":"us.anthropic.claude-sonnet-4-20250514-v1:0","workflow":"w","usage":{"uncached_input":1000,"output":10}}"#.to_string(),
    ];
    let f = env.write("f.jsonl", lines.join("\n") + "\n");
    env.ingest(&[&f]);
    let out = env.cmd().args(["export", "--format", "focus", "--focus-version", "1.3"]).output().unwrap();
    assert!(out.status.success());
    let rows = focus_rows(&String::from_utf8(out.stdout).unwrap());
    let host = |p: &str| rows.iter().find(|r| r["ProviderName"] == p).unwrap()["HostProviderName"].clone();
    assert_eq!(host("openai"), "Not Applicable");
    assert_eq!(host("bedrock"), "Amazon Web Services");
    assert!(rows.iter().all(|r| r["ServiceProviderName"] == r["ProviderName"]));
    // 1.2 has neither.
    let out = env.cmd().args(["export", "--format", "focus"]).output().unwrap();
    let rows = focus_rows(&String::from_utf8(out.stdout).unwrap());
    assert!(!rows[0].contains_key("HostProviderName"));
}

#[test]
fn the_live_view_pastes_the_runaway_and_the_page_with_who_to_call() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    // The sales research agent's six $0.55 calls from 14:00 (as in the
    // operate tests): a runaway, and its budget's page from 14:02.
    let spike: String = (0..6)
        .map(|k| {
            format!(
                r#"{{"ts":"2026-10-31T14:0{}:{:02}Z","request_id":"s{k}","provider":"openai","model":"o3-deep-research","workflow":"sales-research-agent","team":"Revenue","usage":{{"uncached_input":27300,"output":6924}}}}"#,
                k / 3,
                (k % 3) * 20
            ) + "\n"
        })
        .collect();
    let f = env.write("spike.jsonl", spike);
    env.ingest(&[&f]);
    let md = export(&env, &["--format", "md", "--view", "live", "--until", "2026-10-31T14:02:30Z"]);
    assert!(md.contains("RUNAWAY sales-research-agent"), "{md}");
    // (`@` is escaped: GitHub would make the address a mail link.)
    assert!(md.contains("PAGE sales-research-agent at 24.6x budget") && md.contains("sam\\@acme.example"), "{md}");
    assert!(md.contains("| sales-research-agent | sam\\@acme.example |"), "{md}");
}

/// A Batch API call and a call that only names the `batch` tier are
/// priced apart: the regional multiplier applies to the second only.
#[test]
fn focus_prices_batch_calls_and_batch_tier_calls_apart() {
    let env = Env::new();
    // claude-opus-4-6: batch input $2.50/M; `us` inference x1.1 (not for
    // Batch API calls): $2.50 and $2.75.
    let line = |id: &str, batch: &str| {
        format!(
            r#"{{"ts":"2026-10-02T10:00:00Z","request_id":"{id}","provider":"anthropic","model":"claude-opus-4-6","workflow":"w","usage":{{"uncached_input":1000000,"output":0}},{batch},"inference_geo":"us"}}"#
        )
    };
    let f =
        env.write("b.jsonl", [line("a", r#""batch":true"#), line("b", r#""service_tier":"batch""#)].join("\n") + "\n");
    env.ingest(&[&f]);
    let out = env.cmd().args(["export", "--format", "focus"]).output().unwrap();
    let rows = focus_rows(&String::from_utf8(out.stdout).unwrap());
    let mut billed: Vec<String> = rows.iter().map(|r| r["BilledCost"].clone()).collect();
    billed.sort();
    assert_eq!(billed, ["2.5", "2.75"], "{rows:#?}");
}
