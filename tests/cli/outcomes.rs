//! Outcomes through the binary: events joined by request, trace and
//! session; latest wins; success rules and gateway stamps; cost per
//! success in the ledger and `aifin outcomes`, with the paper's verdicts.
//! Expected values are worked by hand (or, for the sample month, by the
//! Python that wrote it: `scripts/make-sample-outcomes.py`).

use serde_json::Value;

use crate::util::{Env, i, repo, row, u};

/// A gpt-4o call of `input` uncached tokens ($2.50 per million) and no output.
fn call(ts: &str, id: &str, workflow: &str, input: u64) -> String {
    format!(
        r#"{{"ts":"{ts}","request_id":"{id}","model":"gpt-4o","workflow":"{workflow}","usage":{{"uncached_input":{input},"output":0}}}}"#
    )
}

fn outcome(ts: &str, key: &str, id: &str, success: bool) -> String {
    format!(r#"{{"type":"outcome","ts":"{ts}","{key}":"{id}","success":{success}}}"#)
}

fn out_row<'a>(j: &'a Value, key: &str) -> &'a Value {
    j["rows"].as_array().unwrap().iter().find(|r| r["key"] == key).unwrap_or_else(|| panic!("no {key} in {j:#}"))
}

#[test]
fn the_sample_month_has_cost_per_success_in_the_ledger() {
    let env = Env::sample();
    let s = env.ingest(&[&repo().join("sample-data")]);
    assert_eq!(u(&s["outcomes_stored"]), 1663);
    assert_eq!(u(&s["outcomes_updated"]), 5, "five conversations reopened");
    assert_eq!(u(&s["outcomes_unjoined"]), 3);
    let l = env.json(&["ledger", "--since", "2026-10-01", "--until", "2026-10-31"]);
    // Successes with the latest event winning (scripts/make-sample-outcomes.py's data).
    for (wf, successes, cost) in [
        ("support-copilot", 289, 41.80),
        ("contract-extraction", 196, 24.20),
        ("sales-research-agent", 54, 17.60),
        ("internal-knowledge-bot", 658, 15.40),
        ("marketing-drafting", 115, 6.60),
    ] {
        let r = row(&l, wf);
        assert_eq!(r["successes"], successes, "{wf}");
        let cps = r["cost_per_success_usd"].as_f64().unwrap();
        let want = i(&r["cost_nanousd"]) as f64 / 1e9 / successes as f64;
        assert!((cps - want).abs() < 1e-9, "{wf}: {cps} vs {want}");
        assert!((want - cost / successes as f64).abs() < 0.001, "{wf}");
    }
    let other = row(&l, "everything-else");
    assert!(other["successes"].is_null() && other["cost_per_success_usd"].is_null(), "no definition: null, never 0");
    assert_eq!(l["total"]["successes"], 1312);
    assert!(l["total"]["cost_per_success_usd"].is_null(), "successes of different workflows are not one unit");
    // By team: an outcome counts in the group of its call; the three
    // outcomes without a call count only by workflow.
    let t = env.json(&["ledger", "--by", "team", "--since", "2026-10-01", "--until", "2026-10-31"]);
    assert_eq!(row(&t, "CX")["successes"], 286);
    assert_eq!(row(&t, "IT")["successes"], 658);
    // The table III columns are unchanged.
    assert_eq!(u(&l["total"]["calls"]), 2886);
    let o = env.json(&["outcomes", "--as-of", "2026-11-01"]);
    assert_eq!(o["since"], "2026-10-01T00:00:00.000Z", "on the 1st: the month just ended");
    assert_eq!(out_row(&o, "support-copilot")["outcomes"], 337);
    assert_eq!(out_row(&o, "contract-extraction")["value_usd"], 196.0 * 18.0);
    // Coverage: all but everything-else's $4.40 of $110.
    let cov = o["coverage"].as_f64().unwrap();
    let spend = |k: &str| i(&out_row(&o, k)["spend_nanousd"]);
    let total: i64 = o["rows"].as_array().unwrap().iter().map(|r| i(&r["spend_nanousd"])).sum();
    assert!((cov - (total - spend("everything-else")) as f64 / total as f64).abs() < 1e-12, "{cov}");
}

#[test]
fn succeeding_and_failing_quietly_month_over_month() {
    let env = Env::new();
    let mut calls = String::new();
    let mut outs = String::new();
    // "grow": September 10 calls ($1 each) and 10 successes; October 20
    // calls and 25 successes (of 30 outcomes): spend +100%, cost per
    // success $1.00 -> $0.80 (-20%): succeeding.
    // "stale": September $10 and 10 successes; October $10.20 (+2%) and 8
    // successes: cost per success $1.275 (+27.5%): failing quietly.
    let mut n = 0;
    let mut add = |month: &str, wf: &str, calls_n: usize, input: u64, ok: usize, total: usize| {
        for k in 0..calls_n {
            n += 1;
            calls += &(call(&format!("2026-{month}-{:02}T10:00:00Z", k % 28 + 1), &format!("r{n}"), wf, input) + "\n");
        }
        for k in 0..total {
            // Conversations whose calls are not in the log: by workflow only.
            let o = outcome(
                &format!("2026-{month}-{:02}T11:00:00Z", k % 28 + 1),
                "session_id",
                &format!("{wf}-{month}-{k}"),
                k < ok,
            );
            outs += &(o.replace("{", &format!("{{\"workflow\":\"{wf}\",")) + "\n");
        }
    };
    add("07", "grow", 5, 400_000, 5, 5);
    add("09", "grow", 10, 400_000, 10, 10);
    add("10", "grow", 20, 400_000, 25, 30);
    add("09", "stale", 10, 400_000, 10, 12);
    add("10", "stale", 10, 400_000, 8, 8);
    add("10", "stale", 1, 80_000, 0, 0);
    let c = env.write("calls.jsonl", calls);
    let o = env.write("outcomes.jsonl", outs);
    env.ingest(&[&c, &o]);
    let j = env.json(&["outcomes", "--as-of", "2026-11-01", "--tz", "UTC"]);
    let close = |v: &Value, want: f64| assert!((v.as_f64().unwrap() - want).abs() < 1e-9, "{v} vs {want}");
    let g = out_row(&j, "grow");
    assert_eq!(g["successes"], 25);
    close(&g["cost_per_success_usd"], 0.80);
    close(&g["mom"]["spend_change_pct"], 100.0);
    close(&g["mom"]["cost_per_success_change_pct"], -20.0);
    assert_eq!(g["verdict"], "succeeding");
    let s = out_row(&j, "stale");
    close(&s["mom"]["spend_change_pct"], 2.0);
    close(&s["mom"]["cost_per_success_change_pct"], 27.5);
    assert_eq!(s["verdict"], "failing_quietly");
    // As of mid-October: the 1st-14th against the 1st-14th of September.
    let mid = env.json(&["outcomes", "--as-of", "2026-10-15", "--tz", "UTC"]);
    assert_eq!(mid["until"], "2026-10-15T00:00:00.000Z", "nothing after --as-of");
    // Quarter over quarter: October (Q4 to date) against July (the same
    // stretch of Q3): $20 against $5, $0.80 against $1.00 a success.
    close(&g["qoq"]["spend_change_pct"], 300.0);
    close(&g["qoq"]["cost_per_success_change_pct"], -20.0);
    assert!(s["qoq"]["spend_change_pct"].is_null(), "no spend in July");
    let text = env.ok(&["outcomes", "--as-of", "2026-11-01"]);
    assert!(text.contains("succeeding") && text.contains("failing quietly"), "{text}");
}

#[test]
fn latest_event_wins_and_late_calls_are_joined() {
    let env = Env::new();
    // The outcome arrives before its call, then a later event reverses it;
    // an older event read last does not win.
    let first = env.write(
        "o1.jsonl",
        [
            outcome("2026-10-02T10:00:00Z", "request_id", "r1", true),
            outcome("2026-10-03T10:00:00Z", "request_id", "r1", false),
            outcome("2026-10-01T12:00:00Z", "request_id", "r1", true),
        ]
        .join("\n")
            + "\n",
    );
    let s = env.ingest(&[&first]);
    assert_eq!(u(&s["outcomes_stored"]), 1);
    assert_eq!(u(&s["outcomes_unjoined"]), 1);
    let calls = env.write(
        "c.jsonl",
        call("2026-10-01T09:00:00Z", "r1", "wf", 400_000)
            .replace("\"workflow\":\"wf\"", "\"workflow\":\"wf\",\"team\":\"T\"")
            + "\n",
    );
    let s = env.ingest(&[&calls]);
    assert_eq!(u(&s["outcomes_unjoined"]), 0, "joined when its call arrived");
    let t = env.json(&["ledger", "--by", "team"]);
    assert_eq!(row(&t, "T")["successes"], 0, "reversed by the later event");
    // The same events again, from another file: nothing changes.
    let again = env.write("o2.jsonl", std::fs::read_to_string(&first).unwrap());
    let s = env.ingest(&[&again]);
    assert_eq!((u(&s["outcomes_stored"]), u(&s["outcomes_updated"])), (0, 0));
    // A bad outcome line is a reject with its reason, not a lost line.
    let bad = env.write("bad.jsonl", "{\"type\":\"outcome\",\"ts\":\"2026-10-01T00:00:00Z\",\"success\":true}\n");
    let s = env.ingest(&[&bad]);
    assert_eq!(u(&s["rejected"]), 1);
    let r = env.json(&["rejects"]);
    assert!(r.to_string().contains("an outcome needs one of"), "{r}");
}

#[test]
fn rules_and_gateway_stamps_define_success() {
    let env = Env::new();
    let cfg = env.write(
        "aifin.toml",
        r#"
[[outcome.rule]]
workflow = "bot"
match = { "tag.feedback" = "up" }

[[outcome.rule]]
workflow = "bot"
match = { "tag.feedback" = "down" }
success = false

[[outcome.rule]]
workflow = "chat"
match = { "tag.resolved" = "true" }
per = "session"

[[outcome.rule]]
workflow = "quiet"
match = { "tag.never" = "x" }
"#,
    );
    let tagged = |id: &str, wf: &str, tags: &str, session: &str| {
        format!(
            r#"{{"ts":"2026-10-05T10:00:{:02}Z","request_id":"{id}","session_id":"{session}","model":"gpt-4o","workflow":"{wf}","tags":{{{tags}}},"usage":{{"uncached_input":400000,"output":0}}}}"#,
            id.len()
        )
    };
    let lines = [
        tagged("b1", "bot", r#""feedback":"up""#, "s1"),
        tagged("b22", "bot", r#""feedback":"up""#, "s1"),
        tagged("b333", "bot", r#""feedback":"down""#, "s1"),
        tagged("b4444", "bot", "", "s1"),
        // Two calls of one resolved session: one success.
        tagged("c1", "chat", r#""resolved":"true""#, "s9"),
        tagged("c22", "chat", r#""resolved":"true""#, "s9"),
        // A gateway stamp wins over rules; per trace/session via tags.
        tagged("x1", "other", r#""aifin.outcome":"true""#, "s5"),
        tagged("q1", "quiet", "", "s6"),
    ]
    .join("\n");
    // A LiteLLM payload stamped by the gateway in its metadata.
    let litellm = r#"{"id":"ll1","call_type":"acompletion","status":"success","custom_llm_provider":"openai","startTime":1791194400.0,"endTime":1791194401.0,"model":"gpt-4o","prompt_tokens":400000,"completion_tokens":0,"response_cost":1.0,"request_tags":["workflow:gw"],"metadata":{"requester_metadata":{"aifin.outcome":"true"}}}"#;
    // Two OTel spans of one trace, the second stamped for the whole trace.
    let span = |id: &str, stamp: &str| {
        format!(
            r#"{{"traceId":"t1","spanId":"{id}","startTimeUnixNano":"1791194400000000000","attributes":[{{"key":"gen_ai.provider.name","value":{{"stringValue":"openai"}}}},{{"key":"gen_ai.request.model","value":{{"stringValue":"gpt-4o"}}}},{{"key":"gen_ai.response.id","value":{{"stringValue":"otel-{id}"}}}},{{"key":"workflow","value":{{"stringValue":"traced"}}}},{{"key":"gen_ai.usage.input_tokens","value":{{"intValue":"400000"}}}},{{"key":"gen_ai.usage.output_tokens","value":{{"intValue":"0"}}}}{stamp}]}}"#
        )
    };
    let stamp = r#",{"key":"aifin.outcome","value":{"boolValue":true}},{"key":"aifin.outcome.per","value":{"stringValue":"trace"}}"#;
    let otel = format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[]}},"scopeSpans":[{{"spans":[{},{}]}}]}}]}}"#,
        span("s1", ""),
        span("s2", stamp)
    );
    let f = env.write("calls.jsonl", format!("{lines}\n{litellm}\n{otel}\n"));
    let mut cmd = env.cmd();
    let out = cmd.arg("--config").arg(&cfg).args(["ingest", "--json"]).arg(&f).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let l: Value = serde_json::from_slice(
        &env.cmd().arg("--config").arg(&cfg).args(["ledger", "--json"]).output().unwrap().stdout,
    )
    .unwrap();
    assert_eq!(row(&l, "bot")["successes"], 2);
    // 4 calls of $1, 2 successes.
    assert!((row(&l, "bot")["cost_per_success_usd"].as_f64().unwrap() - 2.0).abs() < 1e-12);
    assert_eq!(row(&l, "chat")["successes"], 1, "per session: counted once");
    assert_eq!(row(&l, "other")["successes"], 1);
    assert_eq!(row(&l, "gw")["successes"], 1, "LiteLLM metadata stamp");
    assert_eq!(row(&l, "traced")["calls"], 2);
    assert_eq!(row(&l, "traced")["successes"], 1, "an OTel attribute stamps the trace once");
    assert_eq!(row(&l, "quiet")["successes"], 0, "a rule with no match: 0 successes, not null");
    assert!(row(&l, "quiet")["cost_per_success_usd"].is_null());
    // A bad rule is an error naming it.
    let bad = env.write("bad.toml", "[[outcome.rule]]\nworkflow = \"bot\"\nper = \"week\"\n");
    let out = env.cmd().arg("--config").arg(&bad).args(["ingest"]).arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("outcome rule 1") && err.contains("week"), "{err}");
}

/// The hourly outcome rollup, kept incrementally by the writer, equals the
/// outcomes summed afresh (by this test's own query).
fn assert_rollup_matches(env: &Env) {
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let q = |sql: &str| -> Vec<(i64, i64, String, i64, i64, i64)> {
        let mut st = conn.prepare(sql).unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let kept = q("SELECT dim, hour, key, outcomes, successes, value_nano FROM outcome_rollup ORDER BY 1, 2, 3");
    let mut fresh = Vec::new();
    let cols = ["COALESCE(workflow, call_workflow)", "team", "customer", "user", "project", "provider", "model", "''"];
    for (dim, col) in cols.iter().enumerate() {
        let joined = if dim == 0 || dim == 7 { "" } else { "WHERE call_ts IS NOT NULL" };
        fresh.extend(q(&format!(
            "SELECT {dim}, ts / 3600000, COALESCE({col}, ''), COUNT(*), SUM(success),
               SUM(CASE WHEN success THEN COALESCE(value_nano, 0) ELSE 0 END)
             FROM outcomes {joined} GROUP BY 2, 3"
        )));
    }
    fresh.sort();
    assert_eq!(kept, fresh);
}

#[test]
fn the_outcome_rollup_stays_equal_to_the_outcomes() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    assert_rollup_matches(&env);
    // Late joins and reversals keep it equal.
    let o = env.write(
        "late.jsonl",
        [
            outcome("2026-10-30T10:00:00Z", "request_id", "late-1", true),
            outcome("2026-10-30T11:00:00Z", "request_id", "late-1", false),
            outcome("2026-10-30T12:00:00Z", "session_id", "late-s", true),
        ]
        .join("\n")
            + "\n",
    );
    env.ingest(&[&o]);
    assert_rollup_matches(&env);
    let c = env.write(
        "late-calls.jsonl",
        call("2026-10-30T09:00:00Z", "late-1", "support-copilot", 1000).replace("}}", "},\"session_id\":\"late-s\"}")
            + "\n",
    );
    env.ingest(&[&c]);
    assert_rollup_matches(&env);
    // A window inside one hour and one across hours agree with the raw sums.
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    for (since, until) in
        [("2026-10-30T10:30:00Z", "2026-10-30T12:30:00Z"), ("2026-10-30T12:05:00Z", "2026-10-30T12:55:00Z")]
    {
        let a = env.json(&["ledger", "--since", since, "--until", until]);
        let want: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM outcomes WHERE success AND COALESCE(workflow, call_workflow) = 'support-copilot'
                   AND ts >= (strftime('%s', ?1) * 1000) AND ts < (strftime('%s', ?2) * 1000)",
                [since, until],
                |r| r.get(0),
            )
            .unwrap();
        assert!(want > 0, "the window has outcomes");
        assert_eq!(crate::util::row(&a, "support-copilot")["successes"], want, "{since}..{until}");
    }
}
