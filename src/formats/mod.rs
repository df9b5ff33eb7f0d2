//! Log formats: pure functions from one line of bytes to call records.
//!
//! Detection is per line. Each format has a cheap byte sniff (key names
//! only, so whitespace and key order do not matter) and a typed parser that
//! says whether the object is its own. The format that matched the previous
//! line of a file is tried first, so a homogeneous file costs one parse per
//! line; a line no format claims is rejected with the reason.

pub mod batch;
pub mod claude_code;
pub mod common;
#[cfg(test)]
mod fuzz;
pub mod litellm;
pub mod native;
pub mod otel;
mod outcome;
pub mod prompt;
pub mod provider;

use memchr::memmem;

use crate::domain::outcome::OutcomeEvent;
use crate::domain::record::{CallRecord, Format};
use crate::domain::sanitize;

/// What a parser made of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// This many records were appended to the output.
    Calls(usize),
    /// A valid line of this format that is not a billable call.
    Skip(&'static str),
    /// Not this format.
    NotMine,
}

/// A line that cannot be read, with the reason to show the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub reason: String,
}

impl LineError {
    fn new(reason: impl Into<String>) -> Self {
        LineError { reason: reason.into() }
    }
}

/// What happened to one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Records were produced by this format.
    Calls(Format, usize),
    /// A valid, non-billable line (blank, streaming chunk, ...).
    Skip(&'static str),
    /// An outcome event: take it with [`Detector::take_outcome`].
    Outcome,
}

/// Per-file detection state: the format that matched last.
#[derive(Clone, Debug, Default)]
pub struct Detector {
    forced: Option<Format>,
    last: Option<Format>,
    outcome: Option<OutcomeEvent>,
}

impl Detector {
    pub fn new(forced: Option<Format>) -> Self {
        Detector { forced, last: None, outcome: None }
    }

    /// The outcome event of the line that returned [`Parsed::Outcome`].
    pub fn take_outcome(&mut self) -> Option<OutcomeEvent> {
        self.outcome.take()
    }

    /// Parses one line (without its line terminator) into `out`.
    pub fn parse_line(&mut self, line: &[u8], out: &mut Vec<CallRecord>) -> Result<Parsed, LineError> {
        let line = strip_cr(line);
        let text = std::str::from_utf8(line)
            .map_err(|e| LineError::new(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
        // A UTF-8 byte order mark (editors on Windows write one) is not data.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Blank means only whitespace of any kind (vertical tab, NBSP,
        // U+2028...): nothing to read, and nothing left to index into.
        if text.chars().all(char::is_whitespace) {
            return Ok(Parsed::Skip("blank line"));
        }
        // JSON allows only ASCII whitespace before the object.
        let first = text.trim_start_matches([' ', '\t', '\n', '\r']).bytes().next();
        if first != Some(b'{') {
            // Validate as JSON to give the most useful message.
            return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Ok(_) => LineError::new("not a JSON object (a record must be one object per line)"),
                Err(e) => LineError::new(format!("invalid JSON: {e}")),
            });
        }
        // A file of aifin's own calls: the line's own parse says whether it
        // is a call, without scanning its bytes for the keys of eval rows
        // and outcome events first. Any other answer goes the long way.
        if self.forced.is_none() && self.last == Some(Format::Native) {
            let before = out.len();
            if let Ok(Some(Outcome::Calls(n))) = native::parse_call(text, out)
                && checked(out, before).is_ok()
            {
                return Ok(Parsed::Calls(Format::Native, n));
            }
            out.truncate(before);
        }
        // Eval results (`aifin gate` reads them) may sit beside the logs.
        if is_eval_row(line, text) {
            return Ok(Parsed::Skip(EVAL_ROW));
        }
        // Outcome events (`"type":"outcome"`) in any file.
        if OUTCOME_KEY.find(line).is_some()
            && let Some(e) = outcome::parse(text).map_err(LineError::new)?
        {
            self.outcome = Some(e);
            return Ok(Parsed::Outcome);
        }
        // In a file detected as a Claude Code transcript only lines with
        // usage can be calls: user turns, tool results, summaries and
        // snapshots are skipped by a byte scan, counted but not parsed. A
        // line cut short (not ending in `}`) or carrying prompt text (a
        // call of another format whose usage is counted from it) is
        // parsed as usual.
        if self.forced.is_none()
            && self.last == Some(Format::ClaudeCode)
            && text.trim_end().ends_with('}')
            && USAGE_KEY.find(line).is_none()
            && PROMPT_KEY.find(line).is_none()
        {
            return Ok(Parsed::Skip(CLAUDE_CODE_NO_USAGE));
        }
        if let Some(f) = self.forced {
            return match try_format(f, text, Some(f), out) {
                Ok(Outcome::Calls(n)) => Ok(Parsed::Calls(f, n)),
                Ok(Outcome::Skip(why)) => Ok(Parsed::Skip(why)),
                Ok(Outcome::NotMine) => {
                    Err(LineError::new(format!("not a record of format '{f}' (forced with --format)")))
                }
                Err(e) => Err(LineError::new(e)),
            };
        }
        let mut first_err: Option<String> = None;
        // The format of the previous line first: in a homogeneous file that
        // is one parse per line and no sniffing.
        if let Some(last) = self.last {
            let before = out.len();
            match try_format(last, text, None, out) {
                Ok(Outcome::Calls(n)) => {
                    let actual = out.get(before).and_then(|r| r.format).unwrap_or(last);
                    return Ok(Parsed::Calls(actual, n));
                }
                Ok(Outcome::Skip(why)) => return Ok(Parsed::Skip(why)),
                Ok(Outcome::NotMine) => {}
                Err(e) => first_err = Some(e),
            }
        }
        let tried = self.last.map(family);
        let order = candidates(line, None);
        for f in order.into_iter().filter(|f| Some(*f) != tried) {
            let before = out.len();
            match try_format(f, text, None, out) {
                Ok(Outcome::Calls(n)) => {
                    self.last = Some(f);
                    let actual = out.get(before).and_then(|r| r.format).unwrap_or(f);
                    return Ok(Parsed::Calls(actual, n));
                }
                Ok(Outcome::Skip(why)) => {
                    self.last = Some(f);
                    return Ok(Parsed::Skip(why));
                }
                Ok(Outcome::NotMine) => {}
                Err(e) => {
                    if first_err.is_none() {
                        first_err = Some(e);
                    }
                }
            }
        }
        Err(LineError::new(match first_err {
            Some(e) => e,
            None => format!("no known format matched ({})", describe_keys(text)),
        }))
    }
}

/// The parser that handles a format (OpenAI and Anthropic objects share
/// one, as do the two batch shapes).
fn family(f: Format) -> Format {
    match f {
        Format::Anthropic => Format::OpenAi,
        Format::AnthropicBatch => Format::OpenAiBatch,
        other => other,
    }
}

fn try_format(f: Format, text: &str, only: Option<Format>, out: &mut Vec<CallRecord>) -> Result<Outcome, String> {
    let before = out.len();
    let r = match family(f) {
        Format::Native => native::parse(text, out),
        Format::LiteLlm => litellm::parse(text, out),
        Format::Otel => otel::parse(text, out),
        Format::ClaudeCode => claude_code::parse(text, out),
        Format::OpenAiBatch => batch::parse(text, only, out),
        _ => provider::parse(text, only, out),
    };
    if r.is_err() {
        out.truncate(before);
    }
    if let Ok(Outcome::Calls(_)) = r {
        checked(out, before)?;
    }
    r
}

/// The invariant checks shared by every format, on the records from
/// `before` on: out-of-range fields nulled, then each record validated
/// (on an error, the records are dropped).
fn checked(out: &mut Vec<CallRecord>, before: usize) -> Result<(), String> {
    for rec in &mut out[before..] {
        common::bound_ranges(rec);
    }
    if let Some(e) = out[before..].iter().find_map(|r| common::validate(r).err()) {
        out.truncate(before);
        return Err(e);
    }
    Ok(())
}

/// The order formats are tried in when nothing hints otherwise: specific
/// shapes before the generic (wrapped) provider objects.
const DEFAULT_ORDER: [Format; 6] =
    [Format::Native, Format::LiteLlm, Format::ClaudeCode, Format::Otel, Format::OpenAiBatch, Format::OpenAi];

/// Formats worth trying for a line, most likely first. Sniffing looks at
/// key names only; anything not ruled out is still tried, so sniffing can
/// only change the order, never the verdict.
fn candidates(line: &[u8], last: Option<Format>) -> Vec<Format> {
    let has = |needle: &str| memmem::find(line, needle.as_bytes()).is_some();
    let mut order: Vec<Format> = Vec::with_capacity(12);
    if let Some(l) = last {
        order.push(family(l));
    }
    if has("\"resourceSpans\"") {
        order.push(Format::Otel);
    }
    if has("\"custom_id\"") {
        order.push(Format::OpenAiBatch);
    }
    if has("\"sessionId\"") || has("\"requestId\"") || has("\"isSidechain\"") || has("\"parentUuid\"") {
        order.push(Format::ClaudeCode);
    }
    if has("\"call_type\"") || has("\"response_cost\"") || has("\"spend\"") || has("\"litellm_call_id\"") {
        order.push(Format::LiteLlm);
    }
    if has("\"uncached_input\"") {
        order.push(Format::Native);
    }
    order.extend(DEFAULT_ORDER);
    let mut out: Vec<Format> = Vec::with_capacity(DEFAULT_ORDER.len());
    for f in order {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// A skipped line that carries usage (counted apart in `aifin sources`:
/// it may be spend the ledger does not see).
pub const USAGE_NOT_A_CALL: &str = "a line with usage that is not an assistant message";

/// How outcome event lines are counted among the skipped lines.
pub const OUTCOME_LINE: &str = "outcome events (see aifin outcomes)";

/// A Claude Code line without usage: not a call (skipped unparsed).
pub const CLAUDE_CODE_NO_USAGE: &str = "Claude Code line without usage (not a call)";

/// Why an eval row is skipped by ingest.
pub const EVAL_ROW: &str = "eval results: use aifin gate";

/// Whether a line is a row of aifin's eval format: an object with
/// top-level `config`, `case` and `passed` (a byte sniff first, so call
/// lines pay one substring search).
fn is_eval_row(line: &[u8], text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Keys {
        config: Option<serde::de::IgnoredAny>,
        case: Option<serde::de::IgnoredAny>,
        passed: Option<serde::de::IgnoredAny>,
    }
    if PASSED_KEY.find(line).is_none() {
        return false;
    }
    matches!(serde_json::from_str::<Keys>(text), Ok(Keys { config: Some(_), case: Some(_), passed: Some(_) }))
}

/// Keys looked for in every line, each searched for with a finder built
/// once (a one-off `memmem::find` builds one per call).
type KeyFinder = std::sync::LazyLock<memmem::Finder<'static>>;
static OUTCOME_KEY: KeyFinder = KeyFinder::new(|| memmem::Finder::new(b"\"outcome\""));
static USAGE_KEY: KeyFinder = KeyFinder::new(|| memmem::Finder::new(b"\"usage\""));
static PROMPT_KEY: KeyFinder = KeyFinder::new(|| memmem::Finder::new(b"\"prompt\""));
static PASSED_KEY: KeyFinder = KeyFinder::new(|| memmem::Finder::new(b"\"passed\""));

fn strip_cr(line: &[u8]) -> &[u8] {
    match line.last() {
        Some(b'\r') => &line[..line.len() - 1],
        _ => line,
    }
}

/// Lists the first top-level keys of an object for an error message.
fn describe_keys(text: &str) -> String {
    match serde_json::from_str::<std::collections::BTreeMap<String, serde::de::IgnoredAny>>(text) {
        Ok(map) if map.is_empty() => "empty object".into(),
        Ok(map) => {
            let keys: Vec<String> = map.keys().take(6).map(|k| sanitize::clean_truncated(k, 30)).collect();
            let more = if map.len() > 6 { ", ..." } else { "" };
            format!("top-level keys: {}{more}", keys.join(", "))
        }
        Err(e) => format!("invalid JSON: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(d: &mut Detector, line: &str) -> Result<Parsed, LineError> {
        let mut out = Vec::new();
        d.parse_line(line.as_bytes(), &mut out)
    }

    #[test]
    fn eval_rows_are_skipped_with_their_reason_even_under_a_forced_format() {
        let row = r#"{"config":"gated","case":"c017","passed":true,"score":0.93,"cost_usd":0.0149}"#;
        assert_eq!(parse(&mut Detector::new(None), row).unwrap(), Parsed::Skip("eval results: use aifin gate"));
        assert_eq!(parse(&mut Detector::new(Some(Format::Native)), row).unwrap(), Parsed::Skip(EVAL_ROW));
        // `passed` nested in a call's tags is not an eval row.
        let call = r#"{"ts":"2026-10-01T00:00:00Z","model":"gpt-4o","tags":{"config":"a","case":"b","passed":"c"},"usage":{"output":1}}"#;
        assert_eq!(parse(&mut Detector::new(None), call).unwrap(), Parsed::Calls(Format::Native, 1));
    }

    #[test]
    fn in_a_file_of_native_calls_eval_rows_and_outcomes_keep_their_meaning() {
        let mut d = Detector::new(None);
        let call = r#"{"ts":"2026-10-01T00:00:00Z","model":"gpt-4o","usage":{"uncached_input":1,"output":1}}"#;
        assert_eq!(parse(&mut d, call).unwrap(), Parsed::Calls(Format::Native, 1));
        // An eval row that would also read as a call is an eval row.
        let eval = r#"{"config":"a","case":"c1","passed":true,"ts":"2026-10-01T00:00:00Z","model":"gpt-4o","usage":{"output":1}}"#;
        assert_eq!(parse(&mut d, eval).unwrap(), Parsed::Skip(EVAL_ROW));
        // An outcome event that would also read as a call is an outcome.
        let outcome = r#"{"type":"outcome","ts":"2026-10-01T00:00:05Z","request_id":"r1","success":true,"model":"gpt-4o","usage":{"output":1}}"#;
        assert_eq!(parse(&mut d, outcome).unwrap(), Parsed::Outcome);
        // A call with a `type` of another kind, or only some eval keys, is a call.
        let typed = r#"{"type":"chat","ts":"2026-10-01T00:00:00Z","model":"gpt-4o","usage":{"output":1}}"#;
        assert_eq!(parse(&mut d, typed).unwrap(), Parsed::Calls(Format::Native, 1));
        let tagged = r#"{"passed":true,"tags":{"outcome":"x"},"ts":"2026-10-01T00:00:00Z","model":"gpt-4o","usage":{"output":1}}"#;
        assert_eq!(parse(&mut d, tagged).unwrap(), Parsed::Calls(Format::Native, 1));
        // A call that fails the shared checks is rejected as before.
        let bad = r#"{"ts":"2026-10-01T00:00:00Z","model":"gpt-4o","usage":{"output":-1}}"#;
        assert!(parse(&mut d, bad).is_err());
    }

    #[test]
    fn claude_code_lines_without_usage_are_skipped_unparsed_once_the_file_is_known() {
        let assistant = r#"{"parentUuid":null,"isSidechain":false,"sessionId":"s1","type":"assistant","timestamp":"2026-10-01T00:00:00Z","requestId":"req_1","message":{"id":"msg_1","role":"assistant","model":"claude-haiku-4-5","usage":{"input_tokens":1,"output_tokens":1}}}"#;
        let user = r#"{"parentUuid":"a","isSidechain":false,"sessionId":"s1","type":"user","timestamp":"2026-10-01T00:00:01Z","message":{"role":"user","content":"hi"}}"#;
        // The first line of a file is parsed; the reason is the same.
        let mut d = Detector::new(None);
        assert_eq!(parse(&mut d, user).unwrap(), Parsed::Skip(CLAUDE_CODE_NO_USAGE));
        assert_eq!(parse(&mut d, assistant).unwrap(), Parsed::Calls(Format::ClaudeCode, 1));
        // Then a line without usage is skipped by its bytes, counted.
        assert_eq!(parse(&mut d, user).unwrap(), Parsed::Skip(CLAUDE_CODE_NO_USAGE));
        assert_eq!(parse(&mut d, r#"{"type":"summary","summary":"x"}"#).unwrap(), Parsed::Skip(CLAUDE_CODE_NO_USAGE));
        // A line with usage is still parsed (and read as a call).
        assert_eq!(parse(&mut d, assistant).unwrap(), Parsed::Calls(Format::ClaudeCode, 1));
        // Blank, non-JSON and cut-short lines keep their own handling.
        assert_eq!(parse(&mut d, "  ").unwrap(), Parsed::Skip("blank line"));
        assert!(parse(&mut d, "not json").is_err());
        assert!(parse(&mut d, &user[..user.len() - 30]).is_err(), "a truncated line is rejected");
        // A call of another format in the same file, logged with prompt
        // text and no usage, is still a call.
        let text_only = r#"{"ts":"2026-10-01T00:00:00Z","model":"gpt-4o","prompt":{"user":"hello"}}"#;
        assert_eq!(parse(&mut d, text_only).unwrap(), Parsed::Calls(Format::Native, 1));
        // Forced, every line is parsed: a line of another format says so.
        let mut forced = Detector::new(Some(Format::ClaudeCode));
        assert!(parse(&mut forced, r#"{"ts":"2026-10-01T00:00:00Z","model":"gpt-4o"}"#).is_err());
        // Other formats are never skipped this way.
        let mut n = Detector::new(None);
        let native = r#"{"ts":"2026-10-01T00:00:00Z","model":"gpt-4o","usage":{"uncached_input":1,"output":1}}"#;
        assert_eq!(parse(&mut n, native).unwrap(), Parsed::Calls(Format::Native, 1));
    }

    #[test]
    fn detects_each_format_per_line() {
        let mut d = Detector::new(None);
        let native = r#"{"ts":"2026-10-01T00:00:00Z","model":"gpt-4o","usage":{"uncached_input":1,"output":1}}"#;
        let openai = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1737410934,"model":"gpt-4o","usage":{"prompt_tokens":3,"completion_tokens":1}}"#;
        let anthropic = r#"{"id":"msg_1","type":"message","model":"claude-haiku-4-5","timestamp":"2026-10-01T00:00:00Z","usage":{"input_tokens":1,"output_tokens":1}}"#;
        assert_eq!(parse(&mut d, native).unwrap(), Parsed::Calls(Format::Native, 1));
        assert_eq!(parse(&mut d, openai).unwrap(), Parsed::Calls(Format::OpenAi, 1));
        assert_eq!(parse(&mut d, anthropic).unwrap(), Parsed::Calls(Format::Anthropic, 1));
        assert_eq!(parse(&mut d, native).unwrap(), Parsed::Calls(Format::Native, 1));
    }

    #[test]
    fn bad_lines_say_why() {
        let mut d = Detector::new(None);
        let cases = [
            ("{\"ts\":", "invalid JSON"),
            ("[1,2,3]", "not a JSON object"),
            ("{\"hello\":\"world\",\"n\":1}", "no known format matched (top-level keys: hello, n)"),
            ("{}", "empty object"),
            ("{\"ts\":1790000000000,\"model\":\"m\",\"usage\":{\"uncached_input\":NaN}}", "invalid JSON"),
            ("{\"ts\":1790000000000,\"model\":\"m\",\"usage\":{\"uncached_input\":-4}}", "negative token count -4"),
            ("{\"ts\":1790000000000,\"model\":7,\"usage\":{\"uncached_input\":4}}", "invalid type"),
            (
                "{\"ts\":1790000000000,\"model\":\"m\",\"usage\":{\"output\":1,\"reasoning\":5}}",
                "reasoning tokens (5) exceed output tokens (1)",
            ),
        ];
        for (line, want) in cases {
            let e = parse(&mut d, line).unwrap_err();
            assert!(e.reason.contains(want), "{line}: {}", e.reason);
        }
        let mut out = Vec::new();
        let e = d.parse_line(b"{\"model\":\"\xff\xfe\"}", &mut out).unwrap_err();
        assert_eq!(e.reason, "invalid UTF-8 at byte 10");
    }

    #[test]
    fn blank_and_crlf_lines() {
        let mut d = Detector::new(None);
        assert_eq!(parse(&mut d, "   ").unwrap(), Parsed::Skip("blank line"));
        // Whitespace that is not ASCII whitespace once panicked here.
        for ws in ["\u{b}", "\u{85}", "\u{a0}", "\u{2028}", "\u{3000}", " \u{b} \u{a0}", "\u{feff}", "\u{c}"] {
            assert_eq!(parse(&mut d, ws).unwrap(), Parsed::Skip("blank line"), "{ws:?}");
        }
        // Unicode whitespace before an object is not JSON whitespace.
        assert!(parse(&mut d, "\u{a0}{}").unwrap_err().reason.contains("invalid JSON"));
        // A byte order mark before the first record is not data.
        let bom = "\u{feff}{\"ts\":1790000000000,\"model\":\"m\",\"usage\":{\"output\":1}}";
        assert_eq!(parse(&mut d, bom).unwrap(), Parsed::Calls(Format::Native, 1));
        let mut out = Vec::new();
        let line = b"{\"ts\":1790000000000,\"model\":\"m\",\"usage\":{\"output\":1}}\r";
        assert_eq!(d.parse_line(line, &mut out).unwrap(), Parsed::Calls(Format::Native, 1));
    }

    #[test]
    fn forced_format_rejects_others() {
        let mut d = Detector::new(Some(Format::Anthropic));
        let openai = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1737410934,"model":"gpt-4o","usage":{"prompt_tokens":3,"completion_tokens":1}}"#;
        assert_eq!(
            parse(&mut d, openai).unwrap_err().reason,
            "not a record of format 'anthropic' (forced with --format)"
        );
    }
}
