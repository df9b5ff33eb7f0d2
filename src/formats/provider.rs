//! Provider response objects: OpenAI Chat Completions / Responses and
//! Anthropic Messages, either bare (one API response per line) or wrapped
//! by a gateway with request metadata:
//!
//! ```json
//! {"ts":"2026-10-01T08:00:00Z","workflow":"support","metadata":{"customer":"acme"},
//!  "latency_ms":812,"request":{"model":"gpt-4o","user":"u_1"},
//!  "response":{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-2024-08-06","usage":{...}}}
//! ```
//!
//! Token semantics differ and are normalized here:
//! * OpenAI `prompt_tokens` / Responses `input_tokens` **include** cached
//!   tokens: `uncached = prompt - cached_tokens - cache_write_tokens`.
//! * Anthropic `input_tokens` **excludes** cache reads and writes: it is the
//!   uncached remainder; writes split into 5-minute and 1-hour TTLs.

use serde::Deserialize;

use crate::formats::common::Text;
use serde_json::value::RawValue;

use super::Outcome;
use super::common::{
    Dims, FlexStr, Millis, TokenCount, TsValue, UsdValue, dedupe_key, dim, json_error, status_from_raw,
    status_from_text, tc,
};
use crate::domain::record::{CallRecord, Format, Status, Tokens};

/// A JSON object that may be a provider response, or a wrapper around one.
#[derive(Deserialize, Default)]
struct Obj<'a> {
    #[serde(borrow)]
    id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    object: Option<Text<'a>>,
    #[serde(rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    model: Option<Text<'a>>,
    created: Option<TsValue>,
    created_at: Option<TsValue>,
    #[serde(alias = "timestamp", alias = "time", alias = "@timestamp", alias = "logged_at")]
    ts: Option<TsValue>,
    #[serde(borrow)]
    service_tier: Option<Text<'a>>,
    #[serde(borrow)]
    status: Option<&'a RawValue>,
    usage: Option<Usage<'a>>,
    // Wrapper fields.
    #[serde(borrow)]
    request_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    provider: Option<Text<'a>>,
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
    tags: Option<&'a RawValue>,
    #[serde(borrow)]
    metadata: Option<&'a RawValue>,
    #[serde(alias = "duration_ms", alias = "elapsed_ms")]
    latency_ms: Option<Millis>,
    batch: Option<bool>,
    cost_usd: Option<UsdValue>,
    #[serde(borrow)]
    request: Option<&'a RawValue>,
    #[serde(borrow)]
    response: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
pub(crate) struct Usage<'a> {
    prompt_tokens: Option<TokenCount>,
    completion_tokens: Option<TokenCount>,
    input_tokens: Option<TokenCount>,
    output_tokens: Option<TokenCount>,
    prompt_tokens_details: Option<InDetails>,
    input_tokens_details: Option<InDetails>,
    completion_tokens_details: Option<OutDetails>,
    output_tokens_details: Option<OutDetails>,
    cache_creation_input_tokens: Option<TokenCount>,
    cache_read_input_tokens: Option<TokenCount>,
    cache_creation: Option<CacheCreation>,
    #[serde(borrow)]
    pub(crate) service_tier: Option<Text<'a>>,
    #[serde(borrow)]
    pub(crate) inference_geo: Option<Text<'a>>,
    #[serde(borrow)]
    pub(crate) speed: Option<Text<'a>>,
}

#[derive(Deserialize, Default)]
struct InDetails {
    cached_tokens: Option<TokenCount>,
    cache_write_tokens: Option<TokenCount>,
    /// LiteLLM's name for the writes, and their split by TTL.
    cache_creation_tokens: Option<TokenCount>,
    cache_creation_token_details: Option<CacheCreation>,
}

#[derive(Deserialize, Default)]
struct OutDetails {
    reasoning_tokens: Option<TokenCount>,
    thinking_tokens: Option<TokenCount>,
}

#[derive(Deserialize, Default)]
struct CacheCreation {
    ephemeral_5m_input_tokens: Option<TokenCount>,
    ephemeral_1h_input_tokens: Option<TokenCount>,
}

/// The request a gateway logged next to the response.
#[derive(Deserialize, Default)]
struct Request<'a> {
    #[serde(borrow)]
    model: Option<Text<'a>>,
    #[serde(borrow)]
    user: Option<FlexStr<'a>>,
    #[serde(borrow)]
    metadata: Option<&'a RawValue>,
    #[serde(borrow)]
    service_tier: Option<Text<'a>>,
    #[serde(borrow)]
    messages: Option<&'a RawValue>,
    #[serde(borrow)]
    tools: Option<&'a RawValue>,
    #[serde(borrow)]
    system: Option<&'a RawValue>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Chat,
    ChatChunk,
    Responses,
    Anthropic,
}

impl Kind {
    fn format(self) -> Format {
        match self {
            Kind::Anthropic => Format::Anthropic,
            _ => Format::OpenAi,
        }
    }
}

fn classify(o: &Obj) -> Option<Kind> {
    match o.object.as_deref() {
        Some("chat.completion") | Some("text_completion") => return Some(Kind::Chat),
        Some("chat.completion.chunk") => return Some(Kind::ChatChunk),
        Some("response") => return Some(Kind::Responses),
        _ => {}
    }
    if o.kind.as_deref() == Some("message") {
        return Some(Kind::Anthropic);
    }
    let id = o.id.as_ref().map(|i| i.as_str()).unwrap_or("");
    if id.starts_with("chatcmpl") || id.starts_with("cmpl-") {
        return Some(Kind::Chat);
    }
    if id.starts_with("resp_") {
        return Some(Kind::Responses);
    }
    if id.starts_with("msg_") {
        return Some(Kind::Anthropic);
    }
    let u = o.usage.as_ref()?;
    if u.prompt_tokens.is_some() && u.cache_creation_input_tokens.is_none() && u.cache_read_input_tokens.is_none() {
        return Some(Kind::Chat);
    }
    if u.input_tokens.is_some()
        && (u.cache_creation_input_tokens.is_some()
            || u.cache_read_input_tokens.is_some()
            || u.cache_creation.is_some())
    {
        return Some(Kind::Anthropic);
    }
    None
}

/// Parses a line as an OpenAI or Anthropic object (bare or wrapped).
/// `only` restricts the accepted provider family (for `--format`).
pub fn parse(line: &str, only: Option<Format>, out: &mut Vec<CallRecord>) -> Result<Outcome, String> {
    let outer: Obj = serde_json::from_str(line).map_err(json_error)?;
    let wrapped_response = outer.response.filter(|r| r.get().trim_start().starts_with('{'));
    let (inner_owned, wrapper): (Option<Obj>, Option<&Obj>) = match wrapped_response {
        Some(raw) => {
            let inner: Obj = serde_json::from_str(raw.get()).map_err(|e| format!("response: {}", json_error(e)))?;
            (Some(inner), Some(&outer))
        }
        None => (None, None),
    };
    let obj = inner_owned.as_ref().unwrap_or(&outer);
    let Some(kind) = classify(obj) else {
        if wrapper.is_some() && only.is_some() {
            return Err("wrapped \"response\" is not an OpenAI or Anthropic object".into());
        }
        if outer.response.is_some_and(|r| r.get().trim() == "null") && outer.error.is_some() {
            return Ok(Outcome::Skip("error response without usage"));
        }
        return Ok(Outcome::NotMine);
    };
    if let Some(f) = only
        && f != kind.format()
    {
        return Ok(Outcome::NotMine);
    }
    let Some(usage) = obj.usage.as_ref() else {
        return Ok(Outcome::Skip(match kind {
            Kind::ChatChunk => "streaming chunk without usage",
            _ => "response without usage",
        }));
    };

    let (tokens, batch_tier, inconsistent) = match kind {
        Kind::Anthropic => (anthropic_tokens(usage), usage.service_tier.as_deref() == Some("batch"), false),
        _ => {
            let (t, bad) = openai_tokens(usage);
            // Anthropic bills `service_tier: batch` at batch rates, whoever serialized it.
            (t, usage.service_tier.as_deref() == Some("batch"), bad)
        }
    };

    let model_src = obj.model.as_deref().or_else(|| wrapper.and_then(|w| w.model.as_deref()));
    let mut req = Request::default();
    if let Some(raw) = wrapper.and_then(|w| w.request) {
        req = serde_json::from_str(raw.get()).unwrap_or_default();
    }
    let model = dim(model_src.or(req.model.as_deref())).ok_or("response without \"model\"")?;

    let ts = wrapper.and_then(|w| w.ts).or(obj.ts).or(obj.created_at).or(obj.created).map(|t| t.0).unwrap_or(0);

    let raw_id = obj
        .id
        .as_ref()
        .map(|i| i.as_str())
        .filter(|i| !i.is_empty())
        .or_else(|| wrapper.and_then(|w| w.request_id.as_ref()).map(|i| i.as_str()));
    let request_id = dim(raw_id);

    let service_tier = dim(obj.service_tier.as_deref())
        .or_else(|| dim(usage.service_tier.as_deref()))
        .or_else(|| dim(req.service_tier.as_deref()));

    let mut status = match kind {
        Kind::Responses => {
            obj.status.and_then(super::common::scalar_text).map(|s| status_from_text(&s)).unwrap_or(Status::Ok)
        }
        _ => Status::Ok,
    };
    if let Some(w) = wrapper
        && w.status.is_some()
        && status_from_raw(w.status) == Status::Error
    {
        status = Status::Error;
    }

    let head = wrapper.unwrap_or(obj);
    let mut rec = CallRecord {
        ts_ms: ts,
        format: Some(kind.format()),
        dedupe_key: dedupe_key(
            match kind {
                Kind::Anthropic => "anthropic",
                _ => "openai",
            },
            raw_id,
            line.as_bytes(),
        ),
        request_id,
        provider: dim(head.provider.as_deref()).or_else(|| {
            Some(match kind {
                Kind::Anthropic => "anthropic".to_string(),
                _ => "openai".to_string(),
            })
        }),
        model,
        workflow: dim(head.workflow.as_deref()),
        team: dim(head.team.as_deref()),
        customer: dim(head.customer.as_deref()),
        user: head
            .user
            .as_ref()
            .and_then(|u| dim(Some(u.as_str())))
            .or_else(|| req.user.as_ref().and_then(|u| dim(Some(u.as_str())))),
        project: dim(head.project.as_deref()),
        session_id: head.session_id.as_ref().and_then(|s| dim(Some(s.as_str()))),
        trace_id: head.trace_id.as_ref().and_then(|s| dim(Some(s.as_str()))),
        tokens,
        batch: head.batch.unwrap_or(false) || batch_tier,
        service_tier,
        inference_geo: dim(usage.inference_geo.as_deref()),
        speed: dim(usage.speed.as_deref()),
        latency_ms: head.latency_ms.and_then(|m| m.0),
        status,
        reported_cost: super::common::reported_cost(head.cost_usd).0,
        warnings: super::common::reported_cost(head.cost_usd).1
            | if inconsistent { crate::domain::record::Warning::InconsistentUsage.bit() } else { 0 },
        ..CallRecord::default()
    };
    if let Some(messages) = req.messages {
        let text = super::prompt::from_messages(messages, req.tools, req.system);
        let output = wrapped_response.map(super::prompt::output_text).unwrap_or_default();
        rec.prompt = Some(Box::new(super::prompt::with_output(text, output)));
    }
    let mut dims = Dims::default();
    for raw in [head.tags, head.metadata, req.metadata, wrapper.and(obj.metadata)].into_iter().flatten() {
        dims.absorb_json(raw);
    }
    dims.apply_to(&mut rec);
    out.push(rec);
    Ok(Outcome::Calls(1))
}

/// OpenAI usage (and OpenAI-shaped objects LiteLLM returns for other
/// providers): the prompt count includes cache reads and writes; the writes
/// come as `cache_write_tokens`, LiteLLM's `cache_creation_tokens` or a
/// top-level `cache_creation_input_tokens`, split by TTL when the details
/// say so. The flag: the cache counts exceeded the prompt.
fn openai_tokens(u: &Usage) -> (Tokens, bool) {
    let (prompt, input_details, output, output_details) = if u.prompt_tokens.is_some() || u.completion_tokens.is_some()
    {
        (
            tc(u.prompt_tokens),
            u.prompt_tokens_details.as_ref(),
            tc(u.completion_tokens),
            u.completion_tokens_details.as_ref(),
        )
    } else {
        (tc(u.input_tokens), u.input_tokens_details.as_ref(), tc(u.output_tokens), u.output_tokens_details.as_ref())
    };
    let cached = input_details.and_then(|d| d.cached_tokens).or(u.cache_read_input_tokens).map(|t| t.0).unwrap_or(0);
    let written = input_details
        .and_then(|d| d.cache_write_tokens.or(d.cache_creation_tokens))
        .or(u.cache_creation_input_tokens)
        .map(|t| t.0)
        .unwrap_or(0);
    let one_hour = input_details
        .and_then(|d| d.cache_creation_token_details.as_ref())
        .or(u.cache_creation.as_ref())
        .and_then(|c| c.ephemeral_1h_input_tokens)
        .map(|t| t.0);
    let (w5, w1) = super::common::split_writes(written, one_hour);
    let (uncached, inconsistent) = super::common::uncached_part(prompt, cached, written);
    let reasoning = output_details.map(|d| tc(d.reasoning_tokens)).unwrap_or(0);
    let tokens = Tokens {
        uncached_input: uncached,
        cache_read: cached,
        cache_write_5m: w5,
        cache_write_1h: w1,
        output,
        reasoning: reasoning.min(output),
    };
    (tokens, inconsistent)
}

/// Anthropic usage: `input_tokens` is the uncached remainder; cache writes
/// split by TTL when the breakdown is present.
pub(crate) fn anthropic_tokens(u: &Usage) -> Tokens {
    let (w5, w1) = match &u.cache_creation {
        Some(c) if c.ephemeral_5m_input_tokens.is_some() || c.ephemeral_1h_input_tokens.is_some() => {
            (tc(c.ephemeral_5m_input_tokens), tc(c.ephemeral_1h_input_tokens))
        }
        _ => (tc(u.cache_creation_input_tokens), 0),
    };
    let output = tc(u.output_tokens);
    let thinking = u.output_tokens_details.as_ref().map(|d| tc(d.thinking_tokens)).unwrap_or(0);
    Tokens {
        uncached_input: tc(u.input_tokens),
        cache_read: tc(u.cache_read_input_tokens),
        cache_write_5m: w5,
        cache_write_1h: w1,
        output,
        reasoning: thinking.min(output),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Nanos;

    fn one(line: &str) -> CallRecord {
        let mut out = Vec::new();
        assert_eq!(parse(line, None, &mut out).unwrap(), Outcome::Calls(1), "{line}");
        out.pop().unwrap()
    }

    #[test]
    fn openai_chat_input_includes_cached_tokens() {
        let r = one(
            r#"{"id":"chatcmpl-abc","object":"chat.completion","created":1737410934,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","usage":{"completion_tokens":529,"prompt_tokens":4263,"total_tokens":4792,"prompt_tokens_details":{"cached_tokens":4096,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}"#,
        );
        assert_eq!(r.format, Some(Format::OpenAi));
        assert_eq!(r.tokens.uncached_input, 167);
        assert_eq!(r.tokens.cache_read, 4096);
        assert_eq!(r.tokens.output, 529);
        assert_eq!(r.tokens.input_total(), 4263);
        assert_eq!(r.ts_ms, 1_737_410_934_000);
        assert_eq!(r.provider.as_deref(), Some("openai"));
        assert_eq!(r.request_id.as_deref(), Some("chatcmpl-abc"));
        assert_eq!(r.service_tier.as_deref(), Some("default"));
    }

    #[test]
    fn openai_responses_with_reasoning_and_cache_writes() {
        let r = one(
            r#"{"id":"resp_67cc","object":"response","created_at":1741476542,"status":"completed","model":"gpt-5-2025-08-07","service_tier":"flex","usage":{"input_tokens":3012,"input_tokens_details":{"cached_tokens":2944,"cache_write_tokens":40},"output_tokens":911,"output_tokens_details":{"reasoning_tokens":640},"total_tokens":3923}}"#,
        );
        assert_eq!(r.tokens.uncached_input, 28);
        assert_eq!(r.tokens.cache_read, 2944);
        assert_eq!(r.tokens.cache_write_5m, 40);
        assert_eq!(r.tokens.output, 911);
        assert_eq!(r.tokens.reasoning, 640);
        assert_eq!(r.status, Status::Ok);
        assert_eq!(r.service_tier.as_deref(), Some("flex"));
    }

    #[test]
    fn failed_responses_are_errors() {
        let r = one(
            r#"{"id":"resp_x","object":"response","created_at":1741476542,"status":"failed","model":"gpt-5","usage":{"input_tokens":10,"output_tokens":0}}"#,
        );
        assert_eq!(r.status, Status::Error);
    }

    #[test]
    fn anthropic_input_excludes_cache_and_splits_ttls() {
        let r = one(
            r#"{"id":"msg_01XF","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","timestamp":"2026-03-02T10:15:07Z","usage":{"input_tokens":412,"cache_creation_input_tokens":2089,"cache_read_input_tokens":16399,"cache_creation":{"ephemeral_5m_input_tokens":2000,"ephemeral_1h_input_tokens":89},"output_tokens":445,"output_tokens_details":{"thinking_tokens":120},"service_tier":"standard","inference_geo":"us"}}"#,
        );
        assert_eq!(r.format, Some(Format::Anthropic));
        assert_eq!(r.tokens.uncached_input, 412);
        assert_eq!(r.tokens.cache_read, 16399);
        assert_eq!(r.tokens.cache_write_5m, 2000);
        assert_eq!(r.tokens.cache_write_1h, 89);
        assert_eq!(r.tokens.output, 445);
        assert_eq!(r.tokens.reasoning, 120);
        assert_eq!(r.tokens.input_total(), 412 + 16399 + 2089);
        assert_eq!(r.inference_geo.as_deref(), Some("us"));
        assert!(!r.batch);
    }

    #[test]
    fn anthropic_without_split_counts_writes_as_5m() {
        let r = one(
            r#"{"model":"claude-haiku-4-5","id":"msg_1","type":"message","usage":{"input_tokens":15,"cache_creation_input_tokens":100,"cache_read_input_tokens":0,"output_tokens":35,"service_tier":"batch"}}"#,
        );
        assert_eq!(r.tokens.cache_write_5m, 100);
        assert_eq!(r.tokens.cache_write_1h, 0);
        assert!(r.batch, "service_tier batch marks the call as batch");
        assert_eq!(r.ts_ms, 0, "bare Anthropic objects carry no time");
    }

    #[test]
    fn wrapped_objects_take_gateway_metadata() {
        let r = one(
            r#"{"ts":"2026-10-01T08:00:00Z","workflow":"support","metadata":{"customer":"acme","env":"prod"},"latency_ms":812,"cost_usd":0.002,"request":{"model":"gpt-4o","user":"u_1","metadata":{"team":"CX"}},"response":{"id":"chatcmpl-w","object":"chat.completion","created":1737410934,"model":"gpt-4o-2024-08-06","usage":{"prompt_tokens":100,"completion_tokens":20}}}"#,
        );
        assert_eq!(r.workflow.as_deref(), Some("support"));
        assert_eq!(r.customer.as_deref(), Some("acme"));
        assert_eq!(r.team.as_deref(), Some("CX"));
        assert_eq!(r.user.as_deref(), Some("u_1"));
        assert_eq!(r.tags, vec![("env".into(), "prod".into())]);
        assert_eq!(r.latency_ms, Some(812));
        assert_eq!(r.model, "gpt-4o-2024-08-06");
        assert_eq!(r.reported_cost, Some(Nanos(2_000_000)));
        // The wrapper's time wins over the response's `created`.
        assert_eq!(r.ts_ms, crate::domain::time::parse_ts_str("2026-10-01T08:00:00Z").unwrap());
    }

    #[test]
    fn wrapped_requests_carry_prompt_text_for_the_tokenizer() {
        let r = one(
            r#"{"ts":"2026-10-01T08:00:00Z","request":{"model":"gpt-4o","messages":[{"role":"system","content":"S"},{"role":"user","content":"U"}],"tools":[{"type":"function"}]},"response":{"id":"chatcmpl-p","object":"chat.completion","model":"gpt-4o","choices":[{"message":{"role":"assistant","content":"O"}}],"usage":{"prompt_tokens":10,"completion_tokens":1}}}"#,
        );
        let p = r.prompt.unwrap();
        assert_eq!((p.parts[0].as_str(), p.parts[4].as_str(), p.parts[5].as_str()), ("S", "U", "O"));
        assert_eq!(p.parts[1], r#"[{"type":"function"}]"#);
    }

    #[test]
    fn wrapped_anthropic_with_error_status() {
        let r = one(
            r#"{"timestamp":1790000000,"status":500,"response":{"id":"msg_2","type":"message","model":"claude-opus-4-5","usage":{"input_tokens":5,"output_tokens":0}}}"#,
        );
        assert_eq!(r.format, Some(Format::Anthropic));
        assert_eq!(r.status, Status::Error);
    }

    #[test]
    fn chunks_without_usage_are_skipped_not_rejected() {
        let mut out = Vec::new();
        let o = parse(r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1737410934,"model":"gpt-4o","usage":null}"#, None, &mut out).unwrap();
        assert_eq!(o, Outcome::Skip("streaming chunk without usage"));
    }

    #[test]
    fn inconsistent_cached_counts_are_kept_clamped_and_flagged() {
        let mut out = Vec::new();
        parse(
            r#"{"id":"chatcmpl-1","object":"chat.completion","created":1737410934,"model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":50}}}"#,
            None,
            &mut out,
        )
        .unwrap();
        let r = &out[0];
        assert_eq!((r.tokens.uncached_input, r.tokens.cache_read), (0, 50));
        assert_eq!(r.warnings, crate::domain::record::Warning::InconsistentUsage.bit());
    }

    #[test]
    fn litellm_serialized_anthropic_usage_keeps_its_writes_and_ttls() {
        // An OpenAI-shaped object LiteLLM returns for Claude: the writes as
        // top-level `cache_creation_input_tokens` and their TTLs in the details.
        let mut out = Vec::new();
        parse(
            r#"{"id":"chatcmpl-x","object":"chat.completion","created":1755685316,"model":"claude-haiku-4-5-20251001","usage":{"prompt_tokens":32737,"completion_tokens":135,"prompt_tokens_details":{"cached_tokens":22820,"cache_creation_token_details":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":9907}},"cache_creation_input_tokens":9907,"cache_read_input_tokens":22820}}"#,
            None,
            &mut out,
        )
        .unwrap();
        let t = out[0].tokens;
        assert_eq!((t.uncached_input, t.cache_read, t.cache_write_5m, t.cache_write_1h), (10, 22820, 0, 9907));
    }

    #[test]
    fn forced_family_rejects_the_other() {
        let mut out = Vec::new();
        let line = r#"{"id":"msg_1","type":"message","model":"claude-haiku-4-5","usage":{"input_tokens":1,"output_tokens":1}}"#;
        assert_eq!(parse(line, Some(Format::OpenAi), &mut out).unwrap(), Outcome::NotMine);
        assert_eq!(parse(line, Some(Format::Anthropic), &mut out).unwrap(), Outcome::Calls(1));
    }

    #[test]
    fn unrelated_objects_are_not_mine() {
        let mut out = Vec::new();
        assert_eq!(parse(r#"{"name":"x","value":3}"#, None, &mut out).unwrap(), Outcome::NotMine);
    }
}
