//! Batch result files.
//!
//! * OpenAI Batch output: `{"id":"batch_req_…","custom_id":"…","response":
//!   {"status_code":200,"request_id":"…","body":{…chat.completion…}},"error":null}`.
//!   Nothing in the line says "batch", but the shape is the Batch API's, so
//!   these calls are priced at batch rates (a `[[source]]` can set
//!   `batch = false`).
//! * Anthropic Message Batches results: `{"custom_id":"…","result":
//!   {"type":"succeeded","message":{…}}}`; the message's
//!   `usage.service_tier` reads `"batch"`. Result lines carry no time, so
//!   the file's modification time is used and the call dedupes on its id.
//!
//! Failed, errored, canceled and expired requests have no usage and are
//! skipped.

use serde::Deserialize;

use crate::formats::common::Text;
use serde_json::value::RawValue;

use super::Outcome;
use super::common::{FlexStr, dim, json_error};
use crate::domain::record::{CallRecord, Format};

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    custom_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    response: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct OpenAiResponse<'a> {
    status_code: Option<u16>,
    #[serde(borrow)]
    body: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct AnthropicResult<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    message: Option<&'a RawValue>,
}

fn is_object(raw: &RawValue) -> bool {
    raw.get().trim_start().starts_with('{')
}

/// Parses either batch shape; `only` restricts to one of the two formats.
pub fn parse(line: &str, only: Option<Format>, out: &mut Vec<CallRecord>) -> Result<Outcome, String> {
    let l: Line = serde_json::from_str(line).map_err(json_error)?;
    let Some(custom_id) = l.custom_id.as_ref().and_then(|c| dim(Some(c.as_str()))) else {
        return Ok(Outcome::NotMine);
    };
    let before = out.len();
    let (format, outcome) = if let Some(raw) = l.result.filter(|r| is_object(r)) {
        if only.is_some_and(|f| f != Format::AnthropicBatch) {
            return Ok(Outcome::NotMine);
        }
        let r: AnthropicResult = serde_json::from_str(raw.get()).map_err(|e| format!("result: {}", json_error(e)))?;
        if r.kind.as_deref() != Some("succeeded") {
            return Ok(Outcome::Skip("batch request did not succeed (no usage)"));
        }
        let msg = r.message.filter(|m| is_object(m)).ok_or("succeeded batch result without a message")?;
        (Format::AnthropicBatch, super::provider::parse(msg.get(), Some(Format::Anthropic), out)?)
    } else if l.response.is_some() || l.error.is_some() {
        if only.is_some_and(|f| f != Format::OpenAiBatch) {
            return Ok(Outcome::NotMine);
        }
        let Some(raw) = l.response.filter(|r| is_object(r)) else {
            return Ok(Outcome::Skip("batch request failed (no response)"));
        };
        let r: OpenAiResponse = serde_json::from_str(raw.get()).map_err(|e| format!("response: {}", json_error(e)))?;
        if r.status_code.is_some_and(|c| c >= 400) {
            return Ok(Outcome::Skip("batch request failed (no usage)"));
        }
        let body = r.body.filter(|b| is_object(b)).ok_or("batch response without a body")?;
        (Format::OpenAiBatch, super::provider::parse(body.get(), Some(Format::OpenAi), out)?)
    } else {
        return Ok(Outcome::NotMine);
    };
    match outcome {
        Outcome::Calls(n) => {
            for rec in &mut out[before..] {
                rec.format = Some(format);
                rec.batch = true;
                if !rec.tags.iter().any(|(k, _)| k == "custom_id") {
                    rec.tags.push(("custom_id".into(), custom_id.as_str().into()));
                    rec.tags.sort();
                }
            }
            Ok(Outcome::Calls(n))
        }
        Outcome::NotMine => Err(format!(
            "{format} line whose body is not a {} object",
            match format {
                Format::AnthropicBatch => "Messages",
                _ => "Chat Completions / Responses",
            }
        )),
        skip => Ok(skip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_batch_output_is_priced_as_batch() {
        let mut out = Vec::new();
        let line = r#"{"id": "batch_req_123", "custom_id": "request-2", "response": {"status_code": 200, "request_id": "req_123", "body": {"id": "chatcmpl-123", "object": "chat.completion", "created": 1711652795, "model": "gpt-3.5-turbo-0125", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello."}, "logprobs": null, "finish_reason": "stop"}], "usage": {"prompt_tokens": 22, "completion_tokens": 2, "total_tokens": 24}, "system_fingerprint": "fp_123"}}, "error": null}"#;
        assert_eq!(parse(line, None, &mut out).unwrap(), Outcome::Calls(1));
        let r = &out[0];
        assert_eq!(r.format, Some(Format::OpenAiBatch));
        assert!(r.batch);
        assert_eq!(r.tokens.uncached_input, 22);
        assert_eq!(r.tag("custom_id"), Some("request-2"));
        assert_eq!(r.request_id.as_deref(), Some("chatcmpl-123"));
    }

    #[test]
    fn anthropic_results_and_failures() {
        let mut out = Vec::new();
        let ok = r#"{"custom_id":"doc-7","result":{"type":"succeeded","message":{"id":"msg_b1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[],"usage":{"input_tokens":100,"cache_read_input_tokens":0,"cache_creation_input_tokens":0,"output_tokens":10,"service_tier":"batch"}}}}"#;
        assert_eq!(parse(ok, None, &mut out).unwrap(), Outcome::Calls(1));
        assert_eq!(out[0].format, Some(Format::AnthropicBatch));
        assert!(out[0].batch);
        assert_eq!(out[0].ts_ms, 0, "result lines carry no time");
        let errored = r#"{"custom_id":"doc-8","result":{"type":"errored","error":{"type":"invalid_request"}}}"#;
        assert_eq!(parse(errored, None, &mut out).unwrap(), Outcome::Skip("batch request did not succeed (no usage)"));
        let failed = r#"{"id":"batch_req_9","custom_id":"r9","response":null,"error":{"code":"x"}}"#;
        assert_eq!(parse(failed, None, &mut out).unwrap(), Outcome::Skip("batch request failed (no response)"));
        assert_eq!(parse(r#"{"model":"m"}"#, None, &mut out).unwrap(), Outcome::NotMine);
    }
}
