//! OpenTelemetry GenAI spans in OTLP/JSON, as the collector's file
//! exporter writes them: one `TracesData` per line, int64 values as
//! strings, hex trace and span ids.
//!
//! Only spans that carry token usage are calls. Current and older attribute
//! names are both read:
//!
//! | meaning | attributes (first present wins) |
//! |---|---|
//! | provider | `gen_ai.provider.name`, `gen_ai.system` |
//! | model | `gen_ai.response.model`, `gen_ai.request.model` |
//! | input (includes cached, per the spec) | `gen_ai.usage.input_tokens`, `gen_ai.usage.prompt_tokens` |
//! | output | `gen_ai.usage.output_tokens`, `gen_ai.usage.completion_tokens` |
//! | cache read | `gen_ai.usage.cache_read.input_tokens`, `gen_ai.usage.cache_read_input_tokens`, `gen_ai.usage.input_tokens.cached` |
//! | cache write | `gen_ai.usage.cache_write.input_tokens`, `gen_ai.usage.cache_creation.input_tokens`, `gen_ai.usage.cache_creation_input_tokens`, `gen_ai.usage.input_tokens.cache_write` |
//! | reasoning | `gen_ai.usage.reasoning.output_tokens` |
//! | service tier | `openai.response.service_tier`, `gen_ai.openai.response.service_tier` |
//!
//! `uncached = input − cache_read − cache_write`, 0 when the cache counts
//! exceed `input` (LiteLLM's rule; the call gets a warning). OpenLLMetry's
//! `gen_ai.usage.cache_creation.ephemeral_5m_input_tokens` /
//! `..._1h_...` split the writes by TTL. Resource attributes (such as
//! `service.name`) and the span's other attributes become tags that
//! attribution rules can match (`tag.service.name`).

use std::borrow::Cow;

use serde::Deserialize;

use crate::formats::common::Text;
use serde_json::value::RawValue;

use super::Outcome;
use super::common::{Dims, FlexStr, MAX_TOKENS, dedupe_key, dim, json_error};
use crate::domain::record::{CallRecord, Format, Status, Tokens};

#[derive(Deserialize)]
struct TracesData<'a> {
    #[serde(rename = "resourceSpans", borrow)]
    resource_spans: Option<Vec<ResourceSpans<'a>>>,
}

#[derive(Deserialize)]
struct ResourceSpans<'a> {
    #[serde(borrow)]
    resource: Option<Resource<'a>>,
    #[serde(rename = "scopeSpans", alias = "instrumentationLibrarySpans", borrow, default)]
    scope_spans: Vec<ScopeSpans<'a>>,
}

#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(borrow, default)]
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Deserialize)]
struct ScopeSpans<'a> {
    #[serde(borrow, default)]
    spans: Vec<Span<'a>>,
}

#[derive(Deserialize)]
struct Span<'a> {
    #[serde(rename = "traceId", borrow)]
    trace_id: Option<Text<'a>>,
    #[serde(rename = "spanId", borrow)]
    span_id: Option<Text<'a>>,
    #[serde(rename = "startTimeUnixNano", borrow)]
    start: Option<FlexStr<'a>>,
    #[serde(rename = "endTimeUnixNano", borrow)]
    end: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    attributes: Vec<KeyValue<'a>>,
    #[serde(borrow)]
    status: Option<SpanStatus<'a>>,
}

#[derive(Deserialize)]
struct SpanStatus<'a> {
    #[serde(borrow)]
    code: Option<FlexStr<'a>>,
}

#[derive(Deserialize)]
struct KeyValue<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow)]
    value: Option<AnyValue<'a>>,
}

#[derive(Deserialize)]
struct AnyValue<'a> {
    #[serde(rename = "stringValue", borrow)]
    string_value: Option<Text<'a>>,
    #[serde(rename = "intValue", borrow)]
    int_value: Option<FlexStr<'a>>,
    #[serde(rename = "doubleValue")]
    double_value: Option<f64>,
    #[serde(rename = "boolValue")]
    bool_value: Option<bool>,
    #[serde(rename = "arrayValue", borrow)]
    _array_value: Option<&'a RawValue>,
}

impl AnyValue<'_> {
    fn text(&self) -> Option<String> {
        if let Some(s) = &self.string_value {
            return Some(s.to_string());
        }
        if let Some(i) = &self.int_value {
            return Some(i.as_str().to_string());
        }
        if let Some(d) = self.double_value {
            return Some(d.to_string());
        }
        self.bool_value.map(|b| b.to_string())
    }

    /// A token count (int, numeric string, or integral double).
    fn count(&self, key: &str) -> Result<Option<u64>, String> {
        let v: Option<f64> = if let Some(i) = &self.int_value {
            Some(i.as_str().trim().parse::<f64>().map_err(|_| format!("{key}: invalid intValue \"{}\"", i.as_str()))?)
        } else if let Some(s) = &self.string_value {
            s.trim().parse::<f64>().ok()
        } else {
            self.double_value
        };
        match v {
            None => Ok(None),
            Some(v) if !v.is_finite() || v < 0.0 || v.fract() != 0.0 => Err(format!("{key}: invalid token count {v}")),
            Some(v) if v > MAX_TOKENS as f64 => Err(format!("{key}: absurd token count {v}")),
            Some(v) => Ok(Some(v as u64)),
        }
    }
}

struct Attrs<'s, 'a>(&'s [KeyValue<'a>]);

impl Attrs<'_, '_> {
    fn get(&self, keys: &[&str]) -> Option<&AnyValue<'_>> {
        keys.iter().find_map(|k| self.0.iter().find(|kv| kv.key == *k).and_then(|kv| kv.value.as_ref()))
    }

    fn text(&self, keys: &[&str]) -> Option<String> {
        self.get(keys).and_then(AnyValue::text)
    }

    fn count(&self, keys: &[&str]) -> Result<Option<u64>, String> {
        for k in keys {
            if let Some(v) = self.0.iter().find(|kv| kv.key == *k).and_then(|kv| kv.value.as_ref()) {
                return v.count(k);
            }
        }
        Ok(None)
    }
}

const INPUT: &[&str] = &["gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"];
const OUTPUT: &[&str] = &["gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"];
const CACHE_READ: &[&str] = &[
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.input_tokens.cached",
];
const CACHE_WRITE: &[&str] = &[
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.input_tokens.cache_write",
];
const REASONING: &[&str] = &["gen_ai.usage.reasoning.output_tokens"];
/// OpenLLMetry's split of the writes by TTL.
const WRITE_5M: &[&str] = &["gen_ai.usage.cache_creation.ephemeral_5m_input_tokens"];
const WRITE_1H: &[&str] = &["gen_ai.usage.cache_creation.ephemeral_1h_input_tokens"];

/// Span attributes that describe the call itself, not who made it.
fn is_call_attribute(key: &str) -> bool {
    ["gen_ai.", "openai.", "server.", "http.", "url.", "error.", "llm.", "network."].iter().any(|p| key.starts_with(p))
}

/// Resource attributes that describe the process, not the workload.
fn is_process_attribute(key: &str) -> bool {
    ["telemetry.", "process.", "os.", "host.", "container.", "k8s.pod.uid"].iter().any(|p| key.starts_with(p))
}

fn nanos_to_ms(v: Option<&FlexStr>) -> Option<i64> {
    let s = v?.as_str().trim();
    let ns: i128 = s.parse::<i128>().ok().or_else(|| s.parse::<f64>().ok().map(|f| f as i128))?;
    let ms = i64::try_from(ns / 1_000_000).ok()?;
    (crate::domain::time::MIN_TS_MS..crate::domain::time::MAX_TS_MS).contains(&ms).then_some(ms)
}

pub fn parse(line: &str, out: &mut Vec<CallRecord>) -> Result<Outcome, String> {
    let t: TracesData = serde_json::from_str(line).map_err(json_error)?;
    let Some(resource_spans) = t.resource_spans else {
        return Ok(Outcome::NotMine);
    };
    let mut n = 0;
    for rs in &resource_spans {
        let resource_attrs: &[KeyValue] = rs.resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[]);
        for ss in &rs.scope_spans {
            for span in &ss.spans {
                if let Some(rec) = span_record(span, resource_attrs, line)? {
                    out.push(rec);
                    n += 1;
                }
            }
        }
    }
    Ok(if n > 0 { Outcome::Calls(n) } else { Outcome::Skip("no span with token usage") })
}

fn span_record(span: &Span, resource: &[KeyValue], line: &str) -> Result<Option<CallRecord>, String> {
    let a = Attrs(&span.attributes);
    let input = a.count(INPUT)?;
    let output = a.count(OUTPUT)?;
    if input.is_none() && output.is_none() {
        return Ok(None);
    }
    let model = dim(a.text(&["gen_ai.response.model", "gen_ai.request.model"]).as_deref())
        .ok_or("GenAI span with usage but no gen_ai.response.model / gen_ai.request.model")?;
    let input = input.unwrap_or(0);
    let cache_read = a.count(CACHE_READ)?.unwrap_or(0);
    let (m5, h1) = (a.count(WRITE_5M)?, a.count(WRITE_1H)?);
    let cache_write = match a.count(CACHE_WRITE)? {
        Some(w) => w,
        None => m5.unwrap_or(0).saturating_add(h1.unwrap_or(0)),
    };
    let (w5, w1) = super::common::split_writes(cache_write, h1);
    let (uncached, inconsistent) = super::common::uncached_part(input, cache_read, cache_write);
    let output = output.unwrap_or(0);
    let reasoning = a.count(REASONING)?.unwrap_or(0).min(output);
    let start = nanos_to_ms(span.start.as_ref());
    let end = nanos_to_ms(span.end.as_ref());
    let ts = start.or(end).ok_or("span without startTimeUnixNano")?;
    let error_code = span.status.as_ref().and_then(|s| s.code.as_ref()).map(|c| c.as_str().to_ascii_uppercase());
    let status =
        if error_code.as_deref().is_some_and(|c| c == "2" || c.contains("ERROR")) || a.get(&["error.type"]).is_some() {
            Status::Error
        } else {
            Status::Ok
        };
    let trace = span.trace_id.as_deref().filter(|t| !t.is_empty());
    let span_id = span.span_id.as_deref().unwrap_or("");
    let response_id = dim(a.text(&["gen_ai.response.id"]).as_deref());
    let key =
        a.text(&["gen_ai.response.id"]).filter(|k| !k.is_empty()).or_else(|| trace.map(|t| format!("{t}:{span_id}")));
    let mut rec = CallRecord {
        ts_ms: ts,
        format: Some(Format::Otel),
        dedupe_key: dedupe_key("otel", key.as_deref(), line.as_bytes()),
        request_id: response_id,
        provider: dim(a.text(&["gen_ai.provider.name", "gen_ai.system"]).as_deref()),
        model,
        session_id: dim(a.text(&["gen_ai.conversation.id", "session.id"]).as_deref()),
        trace_id: trace.and_then(|t| dim(Some(t))),
        tokens: Tokens {
            uncached_input: uncached,
            cache_read,
            cache_write_5m: w5,
            cache_write_1h: w1,
            output,
            reasoning,
        },
        warnings: if inconsistent { crate::domain::record::Warning::InconsistentUsage.bit() } else { 0 },
        service_tier: dim(a
            .text(&[
                "openai.response.service_tier",
                "gen_ai.openai.response.service_tier",
                "openai.request.service_tier",
            ])
            .as_deref()),
        latency_ms: match (start, end) {
            (Some(s), Some(e)) if e >= s => Some((e - s) as u64),
            _ => None,
        },
        status,
        ..CallRecord::default()
    };
    let mut dims = Dims::default();
    for kv in &span.attributes {
        if !is_call_attribute(&kv.key)
            && let Some(v) = kv.value.as_ref().and_then(AnyValue::text)
        {
            dims.offer(user_key(&kv.key), &v);
        }
    }
    for kv in resource {
        if !is_process_attribute(&kv.key)
            && let Some(v) = kv.value.as_ref().and_then(AnyValue::text)
        {
            dims.offer(user_key(&kv.key), &v);
        }
    }
    if let Some(op) = a.text(&["gen_ai.operation.name"]) {
        dims.offer("operation", &op);
    }
    dims.apply_to(&mut rec);
    Ok(Some(rec))
}

/// Maps well-known semantic-convention keys to aifin's dimensions.
fn user_key(key: &str) -> &str {
    match key {
        "enduser.id" | "user.id" => "user",
        "tenant.id" => "customer",
        // The outcome stamp keeps its name (`aifin.outcome`, `aifin.outcome.per`...).
        k if k.starts_with("aifin.outcome") => k,
        k => k.strip_prefix("aifin.").unwrap_or(k),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(line: &str) -> Vec<CallRecord> {
        let mut out = Vec::new();
        parse(line, &mut out).unwrap();
        out
    }

    const SPEC_EXAMPLE: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"billing-bot"}},{"key":"telemetry.sdk.name","value":{"stringValue":"opentelemetry"}}]},"scopeSpans":[{"scope":{"name":"opentelemetry.instrumentation.openai_v2","version":"2.1b0"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","parentSpanId":"","name":"chat gpt-4o","kind":3,"startTimeUnixNano":"1753900000000000000","endTimeUnixNano":"1753900001250000000","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.provider.name","value":{"stringValue":"openai"}},{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},{"key":"gen_ai.response.model","value":{"stringValue":"gpt-4o-2024-08-06"}},{"key":"gen_ai.response.id","value":{"stringValue":"chatcmpl-BzX1"}},{"key":"gen_ai.response.finish_reasons","value":{"arrayValue":{"values":[{"stringValue":"stop"}]}}},{"key":"gen_ai.conversation.id","value":{"stringValue":"conv_5j66UpCpwteGg4YSxUnt7lPY"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"1200"}},{"key":"gen_ai.usage.cache_read.input_tokens","value":{"intValue":"1024"}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":"180"}},{"key":"openai.response.service_tier","value":{"stringValue":"default"}},{"key":"server.address","value":{"stringValue":"api.openai.com"}},{"key":"server.port","value":{"intValue":"443"}}],"status":{}}]}]}]}"#;

    #[test]
    fn reads_the_current_convention() {
        let r = parse_all(SPEC_EXAMPLE).pop().unwrap();
        assert_eq!(r.model, "gpt-4o-2024-08-06");
        assert_eq!(r.provider.as_deref(), Some("openai"));
        assert_eq!(r.tokens.uncached_input, 176);
        assert_eq!(r.tokens.cache_read, 1024);
        assert_eq!(r.tokens.output, 180);
        assert_eq!(r.ts_ms, 1_753_900_000_000);
        assert_eq!(r.latency_ms, Some(1250));
        assert_eq!(r.session_id.as_deref(), Some("conv_5j66UpCpwteGg4YSxUnt7lPY"));
        assert_eq!(r.request_id.as_deref(), Some("chatcmpl-BzX1"));
        assert_eq!(r.tag("service.name"), Some("billing-bot"));
        assert_eq!(r.tag("telemetry.sdk.name"), None);
        assert_eq!(r.tag("operation"), Some("chat"));
        assert_eq!(r.service_tier.as_deref(), Some("default"));
    }

    #[test]
    fn reads_older_names_and_numeric_ints() {
        let line = r#"{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"spans":[{"traceId":"aa","spanId":"bb","startTimeUnixNano":1753900000000000000,"attributes":[{"key":"gen_ai.system","value":{"stringValue":"anthropic"}},{"key":"gen_ai.request.model","value":{"stringValue":"claude-sonnet-4-5"}},{"key":"gen_ai.usage.prompt_tokens","value":{"intValue":5000}},{"key":"gen_ai.usage.completion_tokens","value":{"intValue":"300"}},{"key":"gen_ai.usage.cache_read_input_tokens","value":{"intValue":"3000"}},{"key":"gen_ai.usage.cache_creation_input_tokens","value":{"intValue":"1000"}},{"key":"enduser.id","value":{"stringValue":"u_1"}},{"key":"aifin.workflow","value":{"stringValue":"search"}}],"status":{"code":2}},{"traceId":"aa","spanId":"cc","startTimeUnixNano":"1753900000000000000","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"execute_tool"}}]}]}]}]}"#;
        let recs = parse_all(line);
        assert_eq!(recs.len(), 1, "the tool span has no usage");
        let r = &recs[0];
        assert_eq!(r.provider.as_deref(), Some("anthropic"));
        assert_eq!(r.tokens.uncached_input, 1000);
        assert_eq!(r.tokens.cache_read, 3000);
        assert_eq!(r.tokens.cache_write_5m, 1000);
        assert_eq!(r.status, Status::Error);
        assert_eq!(r.user.as_deref(), Some("u_1"));
        assert_eq!(r.workflow.as_deref(), Some("search"));
        assert_eq!(r.request_id, None);
    }

    #[test]
    fn cache_counts_larger_than_the_input_are_clamped_and_flagged() {
        // LiteLLM's rule: the uncached part is 0, the cache counts billed as logged.
        let line = SPEC_EXAMPLE.replace(r#"{"intValue":"1200"}"#, r#"{"intValue":"100"}"#);
        let r = parse_all(&line).pop().unwrap();
        assert_eq!(r.tokens.uncached_input, 0);
        assert_eq!(r.tokens.cache_read, 1024);
        assert_eq!(r.warnings, crate::domain::record::Warning::InconsistentUsage.bit());
    }

    #[test]
    fn openllmetry_splits_writes_by_ttl() {
        let line = SPEC_EXAMPLE.replace(
            r#"{"key":"gen_ai.usage.output_tokens""#,
            r#"{"key":"gen_ai.usage.cache_creation.ephemeral_5m_input_tokens","value":{"intValue":"30"}},{"key":"gen_ai.usage.cache_creation.ephemeral_1h_input_tokens","value":{"intValue":"70"}},{"key":"gen_ai.usage.output_tokens""#,
        );
        let r = parse_all(&line).pop().unwrap();
        // 1200 input = 1024 cached + 100 written + 76 uncached.
        assert_eq!((r.tokens.uncached_input, r.tokens.cache_write_5m, r.tokens.cache_write_1h), (76, 30, 70));
    }

    #[test]
    fn the_new_cache_write_name_is_read() {
        let line = SPEC_EXAMPLE.replace(
            r#"{"key":"gen_ai.usage.output_tokens""#,
            r#"{"key":"gen_ai.usage.cache_write.input_tokens","value":{"intValue":"50"}},{"key":"gen_ai.usage.output_tokens""#,
        );
        let r = parse_all(&line).pop().unwrap();
        assert_eq!(r.tokens.cache_write_5m, 50);
        assert_eq!(r.tokens.uncached_input, 126);
    }

    #[test]
    fn lines_without_usage_are_skipped_and_others_not_mine() {
        let mut out = Vec::new();
        assert_eq!(
            parse(
                r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"a","spanId":"b","attributes":[]}]}]}]}"#,
                &mut out
            )
            .unwrap(),
            Outcome::Skip("no span with token usage")
        );
        assert_eq!(parse(r#"{"model":"x"}"#, &mut out).unwrap(), Outcome::NotMine);
        let bad = SPEC_EXAMPLE.replace(r#"{"intValue":"180"}"#, r#"{"intValue":"-3"}"#);
        assert!(parse(&bad, &mut out).unwrap_err().contains("invalid token count"));
    }
}
