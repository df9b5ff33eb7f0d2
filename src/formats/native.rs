//! aifin's own JSONL schema: one call per line, token classes already split.
//!
//! ```json
//! {"ts":"2026-10-01T08:15:02.123Z","request_id":"req_1","provider":"anthropic",
//!  "model":"claude-opus-4-5","workflow":"support-copilot","team":"CX",
//!  "customer":"acme","user":"u_17","session_id":"s_9","trace_id":"t_4",
//!  "tags":{"env":"prod"},
//!  "usage":{"uncached_input":5600,"cache_read":1200,"cache_write_5m":0,
//!           "cache_write_1h":0,"output":210,"reasoning":0},
//!  "batch":false,"service_tier":"standard","region":"us-central1",
//!  "latency_ms":1830,"status":"ok",
//!  "cost_usd":0.0339}
//! ```
//! `ts`, `model` and `usage` are required; the rest is optional. The token
//! classes are disjoint (nothing in `uncached_input` is also in
//! `cache_read`). Unknown fields are ignored.

use std::borrow::Cow;

use serde::Deserialize;

use crate::formats::common::Text;
use serde_json::value::RawValue;

use super::Outcome;
use super::common::{
    Dims, FlexStr, Millis, Tags, TokenCount, TsValue, UsdValue, dedupe_key, dim, json_error, status_from_raw, tc,
};
use crate::domain::record::{CallRecord, Format, PromptText, TokenSource, Tokens};

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(alias = "timestamp")]
    ts: Option<TsValue>,
    #[serde(borrow)]
    request_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    provider: Option<Text<'a>>,
    #[serde(borrow)]
    model: Option<Text<'a>>,
    #[serde(borrow)]
    workflow: Option<Text<'a>>,
    #[serde(borrow)]
    team: Option<Text<'a>>,
    #[serde(borrow)]
    customer: Option<Text<'a>>,
    #[serde(borrow)]
    user: Option<FlexStr<'a>>,
    #[serde(borrow)]
    project: Option<Text<'a>>,
    #[serde(borrow)]
    session_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    trace_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    tags: Option<Tags<'a>>,
    usage: Option<Usage>,
    batch: Option<bool>,
    #[serde(borrow)]
    service_tier: Option<Text<'a>>,
    #[serde(borrow)]
    inference_geo: Option<Text<'a>>,
    /// The endpoint's location (Vertex `us-central1`, `global`).
    #[serde(borrow, alias = "vertex_location")]
    region: Option<Text<'a>>,
    #[serde(borrow)]
    speed: Option<Text<'a>>,
    latency_ms: Option<Millis>,
    #[serde(borrow)]
    status: Option<&'a RawValue>,
    #[serde(borrow)]
    cost_usd: Option<&'a RawValue>,
    #[serde(borrow)]
    token_source: Option<Text<'a>>,
    /// Prompt text per component, for the tokenizer (never stored).
    #[serde(borrow)]
    prompt: Option<Prompt<'a>>,
    #[serde(borrow)]
    output_text: Option<Text<'a>>,
    /// Token counts per component, already counted by the producer.
    prompt_parts: Option<PromptParts>,
    // Top-level keys of lines that are not calls (eval rows, typed events
    // such as outcomes), for [`parse_call`].
    config: Option<serde::de::IgnoredAny>,
    case: Option<serde::de::IgnoredAny>,
    passed: Option<serde::de::IgnoredAny>,
    #[serde(rename = "type")]
    kind: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Prompt<'a> {
    #[serde(borrow)]
    system: Option<Text<'a>>,
    #[serde(borrow)]
    tools: Option<&'a RawValue>,
    #[serde(borrow)]
    context: Option<Text<'a>>,
    #[serde(borrow)]
    history: Option<Text<'a>>,
    #[serde(borrow)]
    user: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct PromptParts {
    system: Option<TokenCount>,
    tools: Option<TokenCount>,
    context: Option<TokenCount>,
    history: Option<TokenCount>,
    user: Option<TokenCount>,
    output: Option<TokenCount>,
}

#[derive(Deserialize)]
struct Usage {
    uncached_input: Option<TokenCount>,
    cache_read: Option<TokenCount>,
    #[serde(alias = "cache_write")]
    cache_write_5m: Option<TokenCount>,
    cache_write_1h: Option<TokenCount>,
    output: Option<TokenCount>,
    reasoning: Option<TokenCount>,
}

impl Usage {
    fn is_native(&self) -> bool {
        self.uncached_input.is_some() || self.output.is_some() || self.cache_read.is_some()
    }
}

pub fn parse(line: &str, out: &mut Vec<CallRecord>) -> Result<Outcome, String> {
    let l: Line = serde_json::from_str(line).map_err(json_error)?;
    parse_line(l, line, out)
}

/// [`parse`], or `None` (nothing added) for a line whose top-level keys
/// say it may be something other than a call: an eval row (`config`,
/// `case` and `passed`) or a typed event (`type`, as outcomes have).
pub fn parse_call(line: &str, out: &mut Vec<CallRecord>) -> Result<Option<Outcome>, String> {
    let l: Line = serde_json::from_str(line).map_err(json_error)?;
    if l.kind.is_some() || (l.config.is_some() && l.case.is_some() && l.passed.is_some()) {
        return Ok(None);
    }
    parse_line(l, line, out).map(Some)
}

fn parse_line(l: Line, line: &str, out: &mut Vec<CallRecord>) -> Result<Outcome, String> {
    let usage = l.usage.as_ref().filter(|u| u.is_native());
    // A line with prompt text but no usage is still a call: the tokenizer
    // estimates its usage.
    let usage_missing = usage.is_none() && l.prompt.is_some() && l.usage.is_none();
    if usage.is_none() && !usage_missing {
        return Ok(Outcome::NotMine);
    }
    let Some(ts) = l.ts else {
        return Err("aifin record without \"ts\"".into());
    };
    let model = dim(l.model.as_deref()).ok_or("aifin record without \"model\"")?;
    let tokens = usage
        .map(|u| Tokens {
            uncached_input: tc(u.uncached_input),
            cache_read: tc(u.cache_read),
            cache_write_5m: tc(u.cache_write_5m),
            cache_write_1h: tc(u.cache_write_1h),
            output: tc(u.output),
            reasoning: tc(u.reasoning),
        })
        .unwrap_or_default();
    let source = match l.token_source.as_deref() {
        Some("counted") => TokenSource::Counted,
        Some("estimated") => TokenSource::Estimated,
        _ => TokenSource::Reported,
    };
    let cost_usd = l.cost_usd.map(|c| UsdValue::from_raw(c, "cost_usd")).transpose()?;
    let request_id = l.request_id.as_ref().and_then(|r| dim(Some(r.as_str())));
    let mut rec = CallRecord {
        ts_ms: ts.0,
        format: Some(Format::Native),
        dedupe_key: dedupe_key("req", l.request_id.as_ref().map(|r| r.as_str()), line.as_bytes()),
        request_id,
        provider: dim(l.provider.as_deref()),
        model,
        workflow: dim(l.workflow.as_deref()),
        team: dim(l.team.as_deref()),
        customer: dim(l.customer.as_deref()),
        user: l.user.as_ref().and_then(|u| dim(Some(u.as_str()))),
        project: dim(l.project.as_deref()),
        session_id: l.session_id.as_ref().and_then(|u| dim(Some(u.as_str()))),
        trace_id: l.trace_id.as_ref().and_then(|u| dim(Some(u.as_str()))),
        tokens,
        input_source: source,
        output_source: source,
        batch: l.batch.unwrap_or(false),
        service_tier: dim(l.service_tier.as_deref()),
        inference_geo: dim(l.inference_geo.as_deref()),
        region: dim(l.region.as_deref()),
        speed: dim(l.speed.as_deref()),
        latency_ms: l.latency_ms.and_then(|m| m.0),
        status: status_from_raw(l.status),
        reported_cost: super::common::reported_cost(cost_usd).0,
        warnings: super::common::reported_cost(cost_usd).1,
        usage_missing,
        parts: l.prompt_parts.as_ref().map(|p| {
            ([tc(p.system), tc(p.tools), tc(p.context), tc(p.history), tc(p.user), tc(p.output)], TokenSource::Reported)
        }),
        prompt: l.prompt.as_ref().map(|p| {
            let text = |c: &Option<Text>| c.as_deref().unwrap_or("").to_string();
            let tools = p
                .tools
                .map(|t| match serde_json::from_str::<Cow<str>>(t.get()) {
                    Ok(s) => s.into_owned(),
                    Err(_) => t.get().to_string(),
                })
                .unwrap_or_default();
            Box::new(PromptText {
                parts: [
                    text(&p.system),
                    tools,
                    text(&p.context),
                    text(&p.history),
                    text(&p.user),
                    l.output_text.as_deref().unwrap_or("").to_string(),
                ],
            })
        }),
        ..CallRecord::default()
    };
    if let Some(tags) = l.tags {
        let mut d = Dims::default();
        d.absorb_tags(tags);
        d.apply_to(&mut rec);
    }
    out.push(rec);
    Ok(Outcome::Calls(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> CallRecord {
        let mut out = Vec::new();
        assert_eq!(parse(line, &mut out).unwrap(), Outcome::Calls(1));
        out.pop().unwrap()
    }

    #[test]
    fn parses_a_full_record() {
        let r = one(
            r#"{"ts":"2026-10-01T08:15:02.123Z","request_id":"req_1","provider":"anthropic","model":"claude-opus-4-5","workflow":"support-copilot","team":"CX","customer":"acme","user":"u_17","tags":{"env":"prod","customer":"ignored-because-set"},"usage":{"uncached_input":5600,"cache_read":1200,"cache_write_5m":10,"cache_write_1h":5,"output":210,"reasoning":20},"batch":true,"service_tier":"standard","latency_ms":1830,"status":"error","cost_usd":0.0339,"extra":{"ignored":[1,2]}}"#,
        );
        assert_eq!(r.model, "claude-opus-4-5");
        assert_eq!(r.workflow.as_deref(), Some("support-copilot"));
        assert_eq!(r.customer.as_deref(), Some("acme"));
        assert_eq!(r.tags, vec![("env".into(), "prod".into())]);
        // The native schema is disjoint: uncached input is taken as is.
        assert_eq!(r.tokens.uncached_input, 5600);
        assert_eq!(r.tokens.cache_read, 1200);
        assert_eq!(r.tokens.cache_write_5m, 10);
        assert_eq!(r.tokens.cache_write_1h, 5);
        assert_eq!(r.tokens.output, 210);
        assert_eq!(r.tokens.reasoning, 20);
        assert!(r.batch);
        assert_eq!(r.latency_ms, Some(1830));
        assert_eq!(r.status, crate::domain::record::Status::Error);
        assert_eq!(r.reported_cost, Some(crate::domain::money::Nanos(33_900_000)));
        assert_eq!(r.request_id.as_deref(), Some("req_1"));
    }

    #[test]
    fn tags_of_every_shape_are_read_in_the_lines_own_parse() {
        let tags = |v: &str| {
            let line = format!(r#"{{"ts":1790000000000,"model":"gpt-4o","usage":{{"output":3}},"tags":{v}}}"#);
            let r = one(&line);
            let t: Vec<(String, String)> = r.tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            (r.team, t)
        };
        let env = || vec![("env".to_string(), "prod".to_string())];
        assert_eq!(tags(r#"{"team":"CX","env":"prod","n":{"deep":1}}"#), (Some("CX".into()), env()));
        assert_eq!(tags(r#"["team:CX"," env = prod ",7]"#), (None, vec![]), "an item that is not a string: none kept");
        assert_eq!(tags(r#"["team:CX"," env = prod "]"#), (Some("CX".into()), env()));
        assert_eq!(tags(r#""{\"team\":\"CX\",\"env\":\"prod\"}""#), (Some("CX".into()), env()));
        assert_eq!(tags(r#""[\"env=prod\"]""#), (None, env()));
        for other in ["7", "true", "null", r#""plain""#, "[]", "{}"] {
            assert_eq!(tags(other), (None, vec![]), "{other}");
        }
    }

    #[test]
    fn a_logged_cost_is_read_exactly_as_written() {
        let cost = |v: &str| {
            let line = format!(r#"{{"ts":1790000000000,"model":"gpt-4o","usage":{{"output":3}},"cost_usd":{v}}}"#);
            let mut out = Vec::new();
            parse(&line, &mut out).map(|_| out.pop().map(|r| (r.reported_cost.map(|n| n.0), r.warnings)))
        };
        let ok = |v: &str| cost(v).unwrap().unwrap();
        assert_eq!(ok("0.1"), (Some(100_000_000), 0));
        assert_eq!(ok("0.004596"), (Some(4_596_000), 0));
        assert_eq!(ok("4.596e-3"), (Some(4_596_000), 0));
        assert_eq!(ok("\"0.0000000015\""), (Some(2), 0));
        assert_eq!(ok("0"), (Some(0), 0));
        assert_eq!(ok("null"), (None, 0));
        // Beyond float precision, the digits as written decide the rounding.
        assert_eq!(ok("0.12345678949999999999"), (Some(123_456_789), 0));
        // Out of range or negative: the call is kept, its cost left out, flagged.
        let flag = crate::domain::record::Warning::ReportedCost.bit();
        assert_eq!(ok("1e400"), (None, flag));
        assert_eq!(ok("-0.5"), (None, flag));
        assert_eq!(ok("\"lots\""), (None, flag));
        // Not a number at all: the line is rejected, saying which field.
        assert!(cost("true").unwrap_err().contains("cost_usd"));
        assert!(cost("{\"usd\":1}").unwrap_err().contains("cost_usd"));
    }

    #[test]
    fn epoch_ms_and_whitespace_are_fine() {
        let r = one("{ \"timestamp\" : 1790000000000 , \"model\" : \"gpt-4o\" , \"usage\" : { \"output\" : 3 } }");
        assert_eq!(r.ts_ms, 1_790_000_000_000);
        assert_eq!(r.tokens.output, 3);
    }

    #[test]
    fn prompt_text_and_counted_parts() {
        let r = one(
            r#"{"ts":1790000000000,"model":"gpt-4o","usage":{"uncached_input":10,"output":2},"prompt":{"system":"Be brief.","tools":[{"name":"kb"}],"user":"hi"},"output_text":"hello","prompt_parts":{"system":3,"user":1,"output":2}}"#,
        );
        let p = r.prompt.unwrap();
        assert_eq!(p.parts[0], "Be brief.");
        assert_eq!(p.parts[1], r#"[{"name":"kb"}]"#);
        assert_eq!(p.parts[4], "hi");
        assert_eq!(p.parts[5], "hello");
        assert_eq!(r.parts, Some(([3, 0, 0, 0, 1, 2], TokenSource::Reported)));
        assert!(!r.usage_missing);
    }

    #[test]
    fn text_without_usage_is_a_call_to_estimate() {
        let r = one(r#"{"ts":1790000000000,"model":"claude-haiku-4-5","prompt":{"user":"hello there"}}"#);
        assert!(r.usage_missing);
        assert_eq!(r.tokens, Tokens::default());
    }

    #[test]
    fn other_objects_are_not_mine() {
        let mut out = Vec::new();
        assert_eq!(parse(r#"{"model":"x","usage":{"prompt_tokens":3}}"#, &mut out).unwrap(), Outcome::NotMine);
        assert_eq!(parse(r#"{"hello":"world"}"#, &mut out).unwrap(), Outcome::NotMine);
    }

    #[test]
    fn missing_required_fields_are_errors() {
        let mut out = Vec::new();
        assert!(parse(r#"{"model":"x","usage":{"output":3}}"#, &mut out).unwrap_err().contains("\"ts\""));
        assert!(parse(r#"{"ts":1790000000000,"usage":{"output":3}}"#, &mut out).unwrap_err().contains("\"model\""));
        assert!(
            parse(r#"{"ts":1790000000000,"model":"m","usage":{"output":-3}}"#, &mut out)
                .unwrap_err()
                .contains("negative")
        );
    }
}
