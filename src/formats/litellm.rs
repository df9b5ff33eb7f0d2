//! LiteLLM proxy logs: `StandardLoggingPayload` lines (what its callbacks
//! and S3/GCS loggers write) and `LiteLLM_SpendLogs` row exports (where
//! `metadata` and `request_tags` are JSON-encoded strings).
//!
//! * Tokens come from the usage object (`metadata.usage_object`,
//!   `hidden_params.usage_object` or `response.usage`), else the top-level
//!   counts. LiteLLM folds Anthropic cache reads and writes into
//!   `prompt_tokens`; aifin takes them out again:
//!   `uncached = prompt_tokens − cache_read − cache_write`, 0 when the cache
//!   counts exceed the prompt (LiteLLM's rule; the call gets a warning).
//!   The writes split by TTL from
//!   `prompt_tokens_details.cache_creation_token_details` (or a top-level
//!   `cache_creation_token_details`).
//! * The service tier comes from `response.service_tier`,
//!   `cost_breakdown.service_tier` or `usage_object.service_tier` (Anthropic's
//!   `batch` is priced at batch rates); `usage_object.inference_geo` and
//!   `usage_object.speed` as Anthropic reports them; the Vertex endpoint's
//!   location from `cost_breakdown.vertex_location` (or `hidden_params`).
//! * `request_tags` of the form `key:value` set dimensions (`workflow:x`,
//!   `team:y`, `customer:z`); the team also comes from the key's team
//!   alias / id, the customer from `end_user`, the user from the key's user.
//! * `response_cost` / `spend` is kept as the reported cost.
//! * A response served from LiteLLM's own cache (`cache_hit`) reached no
//!   provider: it is kept as a call with no tokens, tagged `cache_hit=true`.

use std::borrow::Cow;

use serde::Deserialize;

use crate::formats::common::Text;
use serde_json::value::RawValue;

use super::Outcome;
use super::common::{
    Dims, FlexStr, Millis, TokenCount, TsValue, UsdValue, dedupe_key, dim, json_error, scalar_text, status_from_raw, tc,
};
use crate::domain::record::{CallRecord, Format, Tokens};

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    request_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    litellm_call_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    call_type: Option<Text<'a>>,
    #[serde(borrow)]
    trace_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    session_id: Option<FlexStr<'a>>,
    response_cost: Option<UsdValue>,
    spend: Option<UsdValue>,
    #[serde(borrow)]
    status: Option<&'a RawValue>,
    #[serde(borrow)]
    custom_llm_provider: Option<Text<'a>>,
    prompt_tokens: Option<TokenCount>,
    completion_tokens: Option<TokenCount>,
    #[serde(rename = "startTime")]
    start_time: Option<TsValue>,
    #[serde(rename = "endTime")]
    end_time: Option<TsValue>,
    response_time: Option<f64>,
    request_duration_ms: Option<Millis>,
    #[serde(borrow)]
    model: Option<Text<'a>>,
    #[serde(borrow)]
    model_group: Option<Text<'a>>,
    #[serde(borrow)]
    metadata: Option<&'a RawValue>,
    #[serde(borrow)]
    request_tags: Option<&'a RawValue>,
    #[serde(borrow)]
    end_user: Option<FlexStr<'a>>,
    #[serde(borrow)]
    user: Option<FlexStr<'a>>,
    #[serde(borrow)]
    team_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    hidden_params: Option<&'a RawValue>,
    #[serde(borrow)]
    response: Option<&'a RawValue>,
    #[serde(borrow)]
    cache_hit: Option<&'a RawValue>,
    #[serde(borrow)]
    model_map_information: Option<&'a RawValue>,
    #[serde(borrow)]
    messages: Option<&'a RawValue>,
    #[serde(borrow)]
    cost_breakdown: Option<&'a RawValue>,
}

/// `cost_breakdown`: what LiteLLM's calculator was told.
#[derive(Deserialize, Default)]
struct CostBreakdown<'a> {
    #[serde(borrow)]
    service_tier: Option<Text<'a>>,
    #[serde(borrow)]
    vertex_location: Option<Text<'a>>,
}

#[derive(Deserialize, Default)]
struct Meta<'a> {
    #[serde(borrow)]
    user_api_key_team_alias: Option<FlexStr<'a>>,
    #[serde(borrow)]
    user_api_key_team_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    team_alias: Option<FlexStr<'a>>,
    #[serde(borrow)]
    team_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    user_api_key_end_user_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    user_api_key_user_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    user_api_key_user_email: Option<FlexStr<'a>>,
    #[serde(borrow)]
    usage_object: Option<&'a RawValue>,
    #[serde(borrow)]
    spend_logs_metadata: Option<&'a RawValue>,
    #[serde(borrow)]
    requester_metadata: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct Hidden<'a> {
    #[serde(borrow)]
    usage_object: Option<&'a RawValue>,
    #[serde(borrow)]
    vertex_location: Option<Text<'a>>,
}

#[derive(Deserialize, Default)]
struct Response<'a> {
    #[serde(borrow)]
    usage: Option<&'a RawValue>,
    #[serde(borrow)]
    service_tier: Option<Text<'a>>,
}

#[derive(Deserialize, Default)]
struct Usage {
    service_tier: Option<String>,
    inference_geo: Option<String>,
    speed: Option<String>,
    prompt_tokens: Option<TokenCount>,
    completion_tokens: Option<TokenCount>,
    prompt_tokens_details: Option<PromptDetails>,
    completion_tokens_details: Option<CompletionDetails>,
    cache_creation_input_tokens: Option<TokenCount>,
    cache_read_input_tokens: Option<TokenCount>,
    cache_creation_token_details: Option<CacheCreation>,
}

#[derive(Deserialize, Default)]
struct PromptDetails {
    cached_tokens: Option<TokenCount>,
    cache_creation_tokens: Option<TokenCount>,
    cache_write_tokens: Option<TokenCount>,
    cache_creation_token_details: Option<CacheCreation>,
}

#[derive(Deserialize, Default)]
struct CompletionDetails {
    reasoning_tokens: Option<TokenCount>,
}

/// The 1-hour share of the cache writes (the rest are 5-minute writes).
#[derive(Deserialize, Default)]
struct CacheCreation {
    ephemeral_1h_input_tokens: Option<TokenCount>,
}

/// The text of a JSON value that may be an object or a JSON-encoded string
/// holding one (SpendLogs rows encode `metadata` that way).
fn object_text(raw: &RawValue) -> Option<Cow<'_, str>> {
    let t = raw.get().trim_start();
    match t.as_bytes().first()? {
        b'{' => Some(Cow::Borrowed(t)),
        b'"' => {
            let inner: String = serde_json::from_str(t).ok()?;
            inner.trim_start().starts_with('{').then_some(Cow::Owned(inner))
        }
        _ => None,
    }
}

fn parse_usage(raw: Option<&RawValue>) -> Result<Option<Usage>, String> {
    let Some(text) = raw.and_then(object_text) else { return Ok(None) };
    serde_json::from_str(&text).map(Some).map_err(|e| format!("usage_object: {}", json_error(e)))
}

fn is_litellm(l: &Line) -> bool {
    l.call_type.is_some()
        || l.response_cost.is_some()
        || l.spend.is_some()
        || l.litellm_call_id.is_some()
        || l.model_map_information.is_some()
        || l.hidden_params.is_some()
}

fn truthy(raw: Option<&RawValue>) -> bool {
    raw.and_then(scalar_text).is_some_and(|t| matches!(t.to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

pub fn parse(line: &str, out: &mut Vec<CallRecord>) -> Result<Outcome, String> {
    let l: Line = serde_json::from_str(line).map_err(json_error)?;
    if !is_litellm(&l) {
        return Ok(Outcome::NotMine);
    }
    let meta_text = l.metadata.and_then(object_text);
    let meta: Meta = match &meta_text {
        Some(t) => serde_json::from_str(t).map_err(|e| format!("metadata: {}", json_error(e)))?,
        None => Meta::default(),
    };
    let hidden_text = l.hidden_params.and_then(object_text);
    let hidden: Hidden = hidden_text.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default();
    let response_text = l.response.and_then(object_text);
    let response: Response = response_text.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default();
    let usage = match parse_usage(meta.usage_object)? {
        Some(u) => Some(u),
        None => match parse_usage(hidden.usage_object)? {
            Some(u) => Some(u),
            None => parse_usage(response.usage)?,
        },
    };

    let model = dim(l.model.as_deref().or(l.model_group.as_deref())).ok_or("LiteLLM record without \"model\"")?;
    let ts = l.start_time.or(l.end_time).map(|t| t.0).ok_or("LiteLLM record without \"startTime\"")?;

    let u = usage.unwrap_or_default();
    let prompt = u.prompt_tokens.or(l.prompt_tokens).map(|t| t.0).unwrap_or(0);
    let details = u.prompt_tokens_details.as_ref();
    let cache_read = details.and_then(|d| d.cached_tokens).or(u.cache_read_input_tokens).map(|t| t.0).unwrap_or(0);
    let cache_write = u
        .cache_creation_input_tokens
        .or(details.and_then(|d| d.cache_creation_tokens))
        .or(details.and_then(|d| d.cache_write_tokens))
        .map(|t| t.0)
        .unwrap_or(0);
    let one_hour = details
        .and_then(|d| d.cache_creation_token_details.as_ref())
        .or(u.cache_creation_token_details.as_ref())
        .and_then(|c| c.ephemeral_1h_input_tokens)
        .map(|t| t.0);
    let (w5, w1) = super::common::split_writes(cache_write, one_hour);
    let (uncached, inconsistent) = super::common::uncached_part(prompt, cache_read, cache_write);
    let output = u.completion_tokens.or(l.completion_tokens).map(|t| t.0).unwrap_or(0);
    let reasoning = u.completion_tokens_details.as_ref().map(|d| tc(d.reasoning_tokens)).unwrap_or(0);
    let mut tokens = Tokens {
        uncached_input: uncached,
        cache_read,
        cache_write_5m: w5,
        cache_write_1h: w1,
        output,
        reasoning: reasoning.min(output),
    };
    let cache_hit = truthy(l.cache_hit);
    if cache_hit {
        tokens = Tokens::default();
    }

    let latency_ms = l
        .request_duration_ms
        .and_then(|m| m.0)
        .or_else(|| l.response_time.filter(|s| s.is_finite() && *s >= 0.0).map(|s| (s * 1000.0).round() as u64))
        .or_else(|| match (l.start_time, l.end_time) {
            (Some(a), Some(b)) if b.0 >= a.0 => Some((b.0 - a.0) as u64),
            _ => None,
        });

    let breakdown: CostBreakdown = l
        .cost_breakdown
        .and_then(object_text)
        .and_then(|t| {
            serde_json::from_str::<CostBreakdown>(&t).ok().map(|b| CostBreakdown {
                service_tier: b.service_tier.map(|c| Text(Cow::Owned(c.0.into_owned()))),
                vertex_location: b.vertex_location.map(|c| Text(Cow::Owned(c.0.into_owned()))),
            })
        })
        .unwrap_or_default();
    let service_tier = dim(response.service_tier.as_deref())
        .or_else(|| dim(breakdown.service_tier.as_deref()))
        .or_else(|| dim(u.service_tier.as_deref()));
    let region = dim(breakdown.vertex_location.as_deref()).or_else(|| dim(hidden.vertex_location.as_deref()));
    let raw_id = l.id.as_ref().or(l.request_id.as_ref()).or(l.litellm_call_id.as_ref()).map(|i| i.as_str());
    let id = dim(raw_id);
    let mut rec = CallRecord {
        // Anthropic bills `service_tier: batch` at batch rates.
        batch: service_tier.as_deref() == Some("batch"),
        service_tier,
        inference_geo: dim(u.inference_geo.as_deref()),
        speed: dim(u.speed.as_deref()),
        region,
        ts_ms: ts,
        format: Some(Format::LiteLlm),
        dedupe_key: dedupe_key("litellm", raw_id, line.as_bytes()),
        request_id: id,
        provider: dim(l.custom_llm_provider.as_deref()),
        model,
        session_id: l.session_id.as_ref().and_then(|s| dim(Some(s.as_str()))),
        trace_id: l.trace_id.as_ref().and_then(|s| dim(Some(s.as_str()))),
        tokens,
        latency_ms,
        status: status_from_raw(l.status),
        reported_cost: super::common::reported_cost(l.response_cost.or(l.spend)).0,
        warnings: super::common::reported_cost(l.response_cost.or(l.spend)).1
            | if inconsistent { crate::domain::record::Warning::InconsistentUsage.bit() } else { 0 },
        ..CallRecord::default()
    };
    // Payloads with message logging on carry the prompt for the tokenizer
    // (SpendLogs rows hold "{}" unless payload storage is on).
    if let Some(m) = l.messages.filter(|m| m.get().trim_start().starts_with('['))
        && !cache_hit
    {
        let text = super::prompt::from_messages(m, None, None);
        let output = response_text
            .as_deref()
            .and_then(|t| RawValue::from_string(t.to_string()).ok())
            .map(|r| super::prompt::output_text(&r))
            .unwrap_or_default();
        rec.prompt = Some(Box::new(super::prompt::with_output(text, output)));
    }
    let mut dims = Dims::default();
    for raw in [l.request_tags, meta.spend_logs_metadata, meta.requester_metadata].into_iter().flatten() {
        dims.absorb_json(raw);
    }
    let offer = |dims: &mut Dims, k: &str, v: &Option<FlexStr>| {
        if let Some(v) = v {
            dims.offer(k, v.as_str());
        }
    };
    offer(&mut dims, "team", &meta.user_api_key_team_alias);
    offer(&mut dims, "team", &meta.team_alias);
    offer(&mut dims, "team", &meta.user_api_key_team_id);
    offer(&mut dims, "team", &meta.team_id);
    offer(&mut dims, "team", &l.team_id);
    offer(&mut dims, "customer", &l.end_user);
    offer(&mut dims, "customer", &meta.user_api_key_end_user_id);
    offer(&mut dims, "user", &meta.user_api_key_user_id);
    offer(&mut dims, "user", &l.user);
    offer(&mut dims, "user", &meta.user_api_key_user_email);
    if let Some(ct) = l.call_type.as_deref() {
        dims.offer("call_type", ct);
    }
    if cache_hit {
        dims.offer("cache_hit", "true");
    }
    dims.apply_to(&mut rec);
    out.push(rec);
    Ok(Outcome::Calls(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Nanos;
    use crate::domain::record::Status;

    fn one(line: &str) -> CallRecord {
        let mut out = Vec::new();
        assert_eq!(parse(line, &mut out).unwrap(), Outcome::Calls(1), "{line}");
        out.pop().unwrap()
    }

    #[test]
    fn standard_logging_payload_fixture() {
        // Shortened from LiteLLM's own test fixture (gcs_pub_sub_body/standard_logging_payload.json).
        let r = one(
            r#"{"id":"chatcmpl-2299b6a2-82a3-465a-b47c-04e685a2227f","trace_id":null,"call_type":"acompletion","cache_hit":null,"stream":true,"status":"success","custom_llm_provider":"openai","saved_cache_cost":0.0,"startTime":"2025-01-24 09:20:46.847371","endTime":"2025-01-24 09:20:46.851954","completionStartTime":"2025-01-24 09:20:46.851954","response_time":0.007394075393676758,"model":"gpt-4o","metadata":{"user_api_key_hash":null,"user_api_key_alias":null,"user_api_key_team_id":null,"user_api_key_org_id":null,"user_api_key_user_id":null,"user_api_key_team_alias":null,"user_api_key_user_email":null,"spend_logs_metadata":null,"requester_ip_address":null,"requester_metadata":null,"user_api_key_end_user_id":null,"applied_guardrails":[]},"cache_key":null,"response_cost":0.00022500000000000002,"total_tokens":30,"prompt_tokens":10,"completion_tokens":20,"request_tags":[],"end_user":"","api_base":"","model_group":"","model_id":"","requester_ip_address":null,"messages":[{"role":"user","content":"Hello, world!"}],"response":{"id":"chatcmpl-2299b6a2","created":1742855151,"object":"chat.completion","model":"gpt-4o","choices":[{"finish_reason":"stop","index":0,"message":{"content":"hi","role":"assistant","tool_calls":null}}],"usage":{"completion_tokens":20,"prompt_tokens":10,"total_tokens":30,"completion_tokens_details":null,"prompt_tokens_details":null}},"hidden_params":{"model_id":null,"cache_key":null,"api_base":"https://api.openai.com","response_cost":0.00022500000000000002,"additional_headers":{},"litellm_overhead_time_ms":null,"batch_models":null,"litellm_model_name":"gpt-4o"}}"#,
        );
        assert_eq!(r.format, Some(Format::LiteLlm));
        assert_eq!(r.model, "gpt-4o");
        assert_eq!(r.provider.as_deref(), Some("openai"));
        assert_eq!(r.tokens.uncached_input, 10);
        assert_eq!(r.tokens.output, 20);
        assert_eq!(r.reported_cost, Some(Nanos(225_000)));
        assert_eq!(r.latency_ms, Some(7));
        assert_eq!(r.status, Status::Ok);
        assert_eq!(r.ts_ms, crate::domain::time::parse_ts_str("2025-01-24T09:20:46.847Z").unwrap());
        assert_eq!(r.customer, None, "an empty end_user is no customer");
        let p = r.prompt.expect("messages are kept for the tokenizer");
        assert_eq!(p.parts[4], "Hello, world!");
        assert_eq!(p.parts[5], "hi");
    }

    #[test]
    fn anthropic_cache_tokens_are_taken_out_of_prompt_tokens() {
        let r = one(
            r#"{"id":"x1","call_type":"acompletion","status":"success","custom_llm_provider":"anthropic","startTime":1790000000.5,"endTime":1790000002.0,"model":"claude-sonnet-4-5","prompt_tokens":18900,"completion_tokens":445,"response_cost":0.02,"request_tags":["workflow:support-copilot","customer:acme","beta"],"metadata":{"user_api_key_team_alias":"CX","user_api_key_user_id":"u_9","usage_object":{"prompt_tokens":18900,"completion_tokens":445,"cache_creation_input_tokens":2089,"cache_read_input_tokens":16399,"prompt_tokens_details":{"cached_tokens":16399,"cache_creation_tokens":2089},"completion_tokens_details":{"reasoning_tokens":100}}}}"#,
        );
        assert_eq!(r.tokens.uncached_input, 412);
        assert_eq!(r.tokens.cache_read, 16399);
        assert_eq!(r.tokens.cache_write_5m, 2089);
        assert_eq!(r.tokens.reasoning, 100);
        assert_eq!(r.workflow.as_deref(), Some("support-copilot"));
        assert_eq!(r.customer.as_deref(), Some("acme"));
        assert_eq!(r.team.as_deref(), Some("CX"));
        assert_eq!(r.user.as_deref(), Some("u_9"));
        assert_eq!(r.latency_ms, Some(1500));
    }

    #[test]
    fn spend_logs_rows_with_json_encoded_columns() {
        let r = one(
            r#"{"request_id":"chatcmpl-2283081b","session_id":"1234567890","call_type":"acompletion","api_key":"","cache_hit":"None","startTime":"2025-01-24 09:20:46.847371","endTime":"2025-01-24 09:20:46.851954","model":"gpt-4o","user":"","team_id":"team-7","organization_id":"","metadata":"{\"applied_guardrails\": [], \"usage_object\": {\"completion_tokens\": 20, \"prompt_tokens\": 110, \"total_tokens\": 130, \"prompt_tokens_details\": {\"cached_tokens\": 100}}}","cache_key":"Cache OFF","spend":0.00022500000000000002,"total_tokens":130,"prompt_tokens":110,"completion_tokens":20,"request_tags":"[\"workflow:contracts\", \"team:legal\"]","end_user":"globex","custom_llm_provider":"openai","messages":"{}","response":"{}","proxy_server_request":"{}","status":"success"}"#,
        );
        assert_eq!(r.tokens.uncached_input, 10);
        assert_eq!(r.tokens.cache_read, 100);
        assert_eq!(r.workflow.as_deref(), Some("contracts"));
        assert_eq!(r.team.as_deref(), Some("legal"), "request tags win over the key's team id");
        assert_eq!(r.customer.as_deref(), Some("globex"));
        assert_eq!(r.session_id.as_deref(), Some("1234567890"));
        assert_eq!(r.request_id.as_deref(), Some("chatcmpl-2283081b"));
        assert_eq!(r.reported_cost, Some(Nanos(225_000)));
    }

    #[test]
    fn failures_and_cache_hits() {
        let r = one(
            r#"{"id":"f1","call_type":"acompletion","status":"failure","startTime":1790000000,"model":"gpt-4o","prompt_tokens":0,"completion_tokens":0}"#,
        );
        assert_eq!(r.status, Status::Error);
        let r = one(
            r#"{"id":"c1","call_type":"acompletion","status":"success","cache_hit":true,"startTime":1790000000,"model":"gpt-4o","prompt_tokens":500,"completion_tokens":50,"response_cost":0.0}"#,
        );
        assert_eq!(r.tokens, Tokens::default());
        assert_eq!(r.tag("cache_hit"), Some("true"));
    }

    #[test]
    fn plain_objects_are_not_litellm() {
        let mut out = Vec::new();
        assert_eq!(parse(r#"{"model":"gpt-4o","metadata":{}}"#, &mut out).unwrap(), Outcome::NotMine);
    }
}
