//! Claude Code transcripts: `projects/<project>/<session>.jsonl` (and
//! sub-agent files below them).
//!
//! A transcript mixes line types (`user`, `assistant`, `system`, `summary`,
//! `file-history-snapshot`, `queue-operation`); only assistant lines that
//! carry `message.usage` are calls, the rest are skipped. Usage has
//! Anthropic semantics (`input_tokens` excludes cache reads and writes).
//!
//! Claude Code writes one line per content block of a response, each with
//! the same `message.id` and `requestId` and the same or a growing usage.
//! Every such line carries `msg_key = hash(message.id)`; the ledger keeps
//! the copy with the largest token total. A sidechain (`isSidechain`)
//! replay of a parent's message, with a new `requestId`, counts once: the
//! parent copy wins. The project (the `cwd`'s last component, or the
//! project directory) and the session become attribution dimensions.

use serde::Deserialize;

use crate::formats::common::Text;

use super::Outcome;
use super::common::{Dims, TsValue, UsdValue, dedupe_key, dim, json_error};
use super::provider::{Usage, anthropic_tokens};
use crate::domain::record::{CallRecord, Format, Status};

/// Line types Claude Code writes.
const LINE_TYPES: [&str; 6] = ["user", "assistant", "system", "summary", "file-history-snapshot", "queue-operation"];

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    message: Option<Message<'a>>,
    #[serde(rename = "requestId", borrow)]
    request_id: Option<Text<'a>>,
    #[serde(rename = "sessionId", borrow)]
    session_id: Option<Text<'a>>,
    timestamp: Option<TsValue>,
    #[serde(rename = "isSidechain")]
    is_sidechain: Option<bool>,
    /// Only whether it is there (and not null) matters.
    #[serde(rename = "parentUuid")]
    parent_uuid: Option<serde::de::IgnoredAny>,
    #[serde(borrow)]
    cwd: Option<Text<'a>>,
    #[serde(borrow)]
    version: Option<Text<'a>>,
    #[serde(rename = "gitBranch", borrow)]
    git_branch: Option<Text<'a>>,
    #[serde(borrow)]
    entrypoint: Option<Text<'a>>,
    #[serde(rename = "costUSD")]
    cost_usd: Option<UsdValue>,
    #[serde(rename = "isApiErrorMessage")]
    is_api_error: Option<bool>,
    #[serde(rename = "agentId", borrow)]
    agent_id: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    role: Option<Text<'a>>,
    #[serde(borrow)]
    model: Option<Text<'a>>,
    #[serde(borrow)]
    usage: Option<Usage<'a>>,
}

fn is_claude_code(l: &Line) -> bool {
    l.session_id.is_some()
        || l.request_id.is_some()
        || l.is_sidechain.is_some()
        || l.parent_uuid.is_some()
        || l.kind.as_deref().is_some_and(|k| LINE_TYPES.contains(&k) && k != "user" && k != "assistant")
}

/// The hash of a message id shared by all copies of one response.
pub fn message_key(message_id: &str) -> i64 {
    dedupe_key("claude-code-message", Some(message_id), b"")
}

pub fn parse(line: &str, out: &mut Vec<CallRecord>) -> Result<Outcome, String> {
    let l: Line = serde_json::from_str(line).map_err(json_error)?;
    if !is_claude_code(&l) {
        return Ok(Outcome::NotMine);
    }
    // An assistant message by its type, or by its shape (lines written
    // without `"type"`, as in ccusage's fixtures).
    let by_shape = l
        .message
        .as_ref()
        .is_some_and(|m| m.role.as_deref() == Some("assistant") && m.usage.is_some() && m.id.is_some());
    if l.kind.as_deref() != Some("assistant") && !by_shape {
        if l.message.as_ref().is_some_and(|m| m.usage.is_some()) {
            return Ok(Outcome::Skip(super::USAGE_NOT_A_CALL));
        }
        return Ok(Outcome::Skip(super::CLAUDE_CODE_NO_USAGE));
    }
    let Some(m) = l.message.as_ref() else {
        return Ok(Outcome::Skip("assistant line without a message"));
    };
    let Some(usage) = m.usage.as_ref() else {
        return Ok(Outcome::Skip(super::CLAUDE_CODE_NO_USAGE));
    };
    let model = match m.model.as_deref() {
        None | Some("<synthetic>") => return Ok(Outcome::Skip("synthetic message (no model call)")),
        Some(model) => dim(Some(model)).ok_or("assistant message with an empty model")?,
    };
    let ts = l.timestamp.map(|t| t.0).ok_or("assistant line without \"timestamp\"")?;
    let message_id = m.id.as_deref().filter(|s| !s.is_empty());
    let request_id = l.request_id.as_deref().filter(|s| !s.is_empty());
    let natural = match (message_id, request_id) {
        (Some(m), Some(r)) => Some(format!("{m}:{r}")),
        (Some(m), None) => Some(m.to_string()),
        _ => None,
    };
    let speed = dim(usage.speed.as_deref());
    let base = attribution(&l);
    let rec = CallRecord {
        ts_ms: ts,
        format: Some(Format::ClaudeCode),
        dedupe_key: dedupe_key("claude-code", natural.as_deref(), line.as_bytes()),
        msg_key: message_id.map(message_key),
        sidechain: l.is_sidechain.unwrap_or(false),
        request_id: request_id.and_then(|r| dim(Some(r))),
        provider: Some("anthropic".into()),
        model,
        tokens: anthropic_tokens(usage),
        batch: usage.service_tier.as_deref() == Some("batch"),
        service_tier: dim(usage.service_tier.as_deref()),
        inference_geo: dim(usage.inference_geo.as_deref()),
        speed,
        status: if l.is_api_error == Some(true) { Status::Error } else { Status::Ok },
        reported_cost: super::common::reported_cost(l.cost_usd).0,
        warnings: super::common::reported_cost(l.cost_usd).1,
        ..base
    };
    out.push(rec);
    Ok(Outcome::Calls(1))
}

/// The raw values a line's attribution comes from: `cwd`, `sessionId`,
/// `version`, `entrypoint`, `gitBranch`, `agentId`.
type AttributionKey = [Option<String>; 6];

thread_local! {
    /// The attribution of the last line read on this thread, with the raw
    /// values it came from.
    static LAST_ATTRIBUTION: std::cell::RefCell<Option<(AttributionKey, CallRecord)>> =
        const { std::cell::RefCell::new(None) };
}

/// A record holding only the line's attribution (project, session and
/// tags). A transcript repeats the same session, directory, version and
/// branch on every line, so the values are cleaned once per run of equal
/// lines and copied after that.
fn attribution(l: &Line) -> CallRecord {
    let raw = [&l.cwd, &l.session_id, &l.version, &l.entrypoint, &l.git_branch, &l.agent_id].map(|v| v.as_deref());
    LAST_ATTRIBUTION.with_borrow_mut(|last| {
        if let Some((key, rec)) = last.as_ref()
            && key.iter().zip(raw).all(|(k, v)| k.as_deref() == v)
        {
            return rec.clone();
        }
        let mut rec = CallRecord {
            session_id: dim(l.session_id.as_deref()),
            project: l
                .cwd
                .as_deref()
                .and_then(|c| c.trim_end_matches(['/', '\\']).rsplit(['/', '\\']).next())
                .and_then(|p| dim(Some(p))),
            ..CallRecord::default()
        };
        let mut dims = Dims::default();
        dims.offer("agent", "claude-code");
        for (k, v) in [
            ("claude_code_version", &l.version),
            ("entrypoint", &l.entrypoint),
            ("git_branch", &l.git_branch),
            ("agent_id", &l.agent_id),
        ] {
            if let Some(v) = v {
                dims.offer(k, v);
            }
        }
        dims.apply_to(&mut rec);
        *last = Some((raw.map(|v| v.map(str::to_string)), rec.clone()));
        rec
    })
}

/// The project directory a transcript lives in (`…/projects/<project>/…`).
pub fn project_from_path(path: &str) -> Option<String> {
    let mut parts = path.split(['/', '\\']);
    while let Some(p) = parts.next() {
        if p == "projects" {
            return parts.next().filter(|s| !s.is_empty() && !s.ends_with(".jsonl")).map(str::to_string);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = r#"{"parentUuid":"920b3d49-efb2-4542-be47-3ba0c6dfcb59","isSidechain":false,"userType":"external","cwd":"/Users/gjssss/.claude/hooks","sessionId":"958555ae-c806-4d80-a008-e5f6e17322b9","version":"1.0.98","gitBranch":"","message":{"id":"msg_01HnFmNDPBxSQAcSqyrBpRNA","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[{"type":"text","text":"你好！…"}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"cache_creation_input_tokens":15495,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":15495,"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard"}},"requestId":"req_011CSdV2tBwJJ4Leyo5ehpgk","type":"assistant","uuid":"8eef27a8-5e2a-4a16-b531-735d46da1e88","timestamp":"2025-08-30T07:16:28.537Z"}"#;

    const V2: &str = r#"{"parentUuid":"9a27c40f","isSidechain":false,"message":{"model":"claude-opus-4-7","id":"msg_01UwNt","type":"message","role":"assistant","content":[],"stop_reason":"tool_use","usage":{"input_tokens":6,"cache_creation_input_tokens":8837,"cache_read_input_tokens":16410,"output_tokens":136,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":8837},"service_tier":"standard"}},"requestId":"req_011CaFyK","type":"assistant","uuid":"db6baab1","timestamp":"2026-04-21T00:29:54.704Z","sessionId":"455218e7","cwd":"/Users/r/Dev/QTrial","version":"2.1.114","userType":"external","entrypoint":"claude-vscode","gitBranch":"main"}"#;

    fn one(line: &str) -> CallRecord {
        let mut out = Vec::new();
        assert_eq!(parse(line, &mut out).unwrap(), Outcome::Calls(1));
        out.pop().unwrap()
    }

    #[test]
    fn reads_assistant_lines_with_anthropic_semantics() {
        let r = one(V1);
        assert_eq!(r.model, "claude-sonnet-4-20250514");
        assert_eq!(r.tokens.uncached_input, 3);
        assert_eq!(r.tokens.cache_write_5m, 15495);
        assert_eq!(r.tokens.output, 1);
        assert_eq!(r.session_id.as_deref(), Some("958555ae-c806-4d80-a008-e5f6e17322b9"));
        assert_eq!(r.project.as_deref(), Some("hooks"));
        assert_eq!(r.msg_key, Some(message_key("msg_01HnFmNDPBxSQAcSqyrBpRNA")));
        assert!(!r.sidechain);
        let r = one(V2);
        assert_eq!(r.tokens.cache_write_1h, 8837);
        assert_eq!(r.tokens.cache_read, 16410);
        assert_eq!(r.project.as_deref(), Some("QTrial"));
        assert_eq!(r.tag("entrypoint"), Some("claude-vscode"));
        assert_eq!(r.tag("claude_code_version"), Some("2.1.114"));
    }

    #[test]
    fn copies_of_one_response_share_keys_and_sidechains_get_new_dedupe_keys() {
        let a = one(V1);
        let b = one(&V1.replace(r#""output_tokens":1,"#, r#""output_tokens":250,"#));
        assert_eq!(a.dedupe_key, b.dedupe_key);
        assert_eq!(a.msg_key, b.msg_key);
        let side = one(&V1
            .replace("req_011CSdV2tBwJJ4Leyo5ehpgk", "req_side")
            .replace(r#""isSidechain":false"#, r#""isSidechain":true"#));
        assert_ne!(a.dedupe_key, side.dedupe_key);
        assert_eq!(a.msg_key, side.msg_key);
        assert!(side.sidechain);
    }

    #[test]
    fn other_lines_are_skipped() {
        let mut out = Vec::new();
        let user = r#"{"parentUuid":null,"isSidechain":false,"type":"user","message":{"role":"user","content":"hi"},"sessionId":"s","timestamp":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(parse(user, &mut out).unwrap(), Outcome::Skip(crate::formats::CLAUDE_CODE_NO_USAGE));
        let summary = r#"{"type":"summary","summary":"Refactor","leafUuid":"x"}"#;
        assert_eq!(parse(summary, &mut out).unwrap(), Outcome::Skip(crate::formats::CLAUDE_CODE_NO_USAGE));
        let synthetic = V1.replace("claude-sonnet-4-20250514", "<synthetic>");
        assert_eq!(parse(&synthetic, &mut out).unwrap(), Outcome::Skip("synthetic message (no model call)"));
        assert_eq!(parse(r#"{"model":"x"}"#, &mut out).unwrap(), Outcome::NotMine);
    }

    #[test]
    fn projects_come_from_paths() {
        assert_eq!(
            project_from_path("/home/u/.claude/projects/-Users-tom-app/abc.jsonl").as_deref(),
            Some("-Users-tom-app")
        );
        assert_eq!(project_from_path("/tmp/x.jsonl"), None);
    }
}
