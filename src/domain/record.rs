//! The normalized call record every log format is converted into.

use std::fmt;
use std::str::FromStr;

use super::money::Nanos;

/// A tag's key or value: most are short, and up to 24 bytes they are held
/// in place instead of in an allocation of their own (a log line carries
/// a few tags, and every line is parsed).
pub type Tag = compact_str::CompactString;

/// The log format a record was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// aifin's own JSONL schema (see the README).
    Native,
    /// OpenAI Chat Completions / Responses objects, bare or wrapped.
    OpenAi,
    /// Anthropic Messages objects, bare or wrapped.
    Anthropic,
    /// LiteLLM `StandardLoggingPayload` lines and `LiteLLM_SpendLogs` rows.
    LiteLlm,
    /// OpenTelemetry GenAI spans in OTLP/JSON (one `TracesData` per line).
    Otel,
    /// Claude Code transcripts (`projects/<project>/<session>.jsonl`).
    ClaudeCode,
    /// OpenAI Batch API output files.
    OpenAiBatch,
    /// Anthropic Message Batches results files.
    AnthropicBatch,
}

impl Format {
    pub const ALL: [Format; 8] = [
        Format::Native,
        Format::OpenAi,
        Format::Anthropic,
        Format::LiteLlm,
        Format::Otel,
        Format::ClaudeCode,
        Format::OpenAiBatch,
        Format::AnthropicBatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Native => "aifin",
            Format::OpenAi => "openai",
            Format::Anthropic => "anthropic",
            Format::LiteLlm => "litellm",
            Format::Otel => "otel",
            Format::ClaudeCode => "claude-code",
            Format::OpenAiBatch => "openai-batch",
            Format::AnthropicBatch => "anthropic-batch",
        }
    }

    /// Stable small integer stored in the database.
    pub fn code(self) -> i64 {
        match self {
            Format::Native => 1,
            Format::OpenAi => 2,
            Format::Anthropic => 3,
            Format::LiteLlm => 4,
            Format::Otel => 5,
            Format::ClaudeCode => 6,
            Format::OpenAiBatch => 7,
            Format::AnthropicBatch => 8,
        }
    }

    pub fn from_code(code: i64) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.code() == code)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let l = s.to_ascii_lowercase().replace('_', "-");
        let alias = match l.as_str() {
            "native" => "aifin",
            "otlp" | "opentelemetry" => "otel",
            "claude" | "claudecode" => "claude-code",
            other => other,
        };
        Format::ALL.into_iter().find(|f| f.as_str() == alias).ok_or_else(|| {
            format!("unknown format '{s}'; expected one of: {}", Format::ALL.map(Format::as_str).join(", "))
        })
    }
}

/// Whether a call succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Ok,
    Error,
}

impl Status {
    pub fn code(self) -> i64 {
        match self {
            Status::Ok => 0,
            Status::Error => 1,
        }
    }
}

/// Where a token figure came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TokenSource {
    /// Read from the provider's usage object.
    #[default]
    Reported,
    /// Counted locally with the model's own tokenizer.
    Counted,
    /// Estimated locally (no public tokenizer for the model).
    Estimated,
}

impl TokenSource {
    pub fn code(self) -> i64 {
        match self {
            TokenSource::Reported => 0,
            TokenSource::Counted => 1,
            TokenSource::Estimated => 2,
        }
    }

    pub fn from_code(code: i64) -> TokenSource {
        match code {
            1 => TokenSource::Counted,
            2 => TokenSource::Estimated,
            _ => TokenSource::Reported,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Reported => "reported",
            TokenSource::Counted => "counted",
            TokenSource::Estimated => "estimated",
        }
    }
}

/// Token classes kept apart, because they are priced apart.
///
/// The classes are disjoint: `uncached_input + cache_read + cache_write_5m
/// + cache_write_1h` is everything the model read. `reasoning` is part of
/// `output` and informational only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tokens {
    pub uncached_input: u64,
    pub cache_read: u64,
    pub cache_write_5m: u64,
    pub cache_write_1h: u64,
    pub output: u64,
    pub reasoning: u64,
}

impl Tokens {
    /// All input classes together (what OpenAI calls `prompt_tokens`).
    pub fn input_total(&self) -> u64 {
        self.uncached_input + self.cache_read + self.cache_write_5m + self.cache_write_1h
    }

    pub fn cache_write(&self) -> u64 {
        self.cache_write_5m + self.cache_write_1h
    }

    pub fn total(&self) -> u64 {
        self.input_total() + self.output
    }
}

/// Prompt components, in this order: system, tool schemas,
/// retrieval/context (tool results), history, latest user turn, output.
pub const PART_NAMES: [&str; 6] = ["system", "tools", "context", "history", "user", "output"];

/// Token counts per prompt component (see [`PART_NAMES`]).
pub type Parts = [u64; 6];

/// Prompt text as logged, per component. Held in memory only, on its way
/// to the tokenizer; never stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PromptText {
    pub parts: [String; 6],
}

impl PromptText {
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(String::is_empty)
    }
}

/// One model call, normalized.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallRecord {
    /// UTC epoch milliseconds.
    pub ts_ms: i64,
    /// The log had no time for this call; `ts_ms` is when the file was
    /// last written. Such calls dedupe on their id alone.
    pub ts_inferred: bool,
    /// 1-based line number in its source file (set by the ingester).
    pub line_no: u64,
    pub format: Option<Format>,
    /// The provider's request / response id when the log has one.
    pub request_id: Option<String>,
    /// 64-bit identity used for exactly-once storage together with `ts_ms`:
    /// a hash of the request id, or of the line when there is none.
    pub dedupe_key: i64,
    pub provider: Option<String>,
    /// The model name exactly as logged.
    pub model: String,
    /// The catalog key the model resolved to (`None`: unpriced).
    pub price_key: Option<String>,
    pub workflow: Option<String>,
    pub team: Option<String>,
    pub customer: Option<String>,
    pub user: Option<String>,
    pub project: Option<String>,
    pub session_id: Option<String>,
    pub trace_id: Option<String>,
    /// Free tags (`env=prod`, ...), sorted by key.
    pub tags: Vec<(Tag, Tag)>,
    pub tokens: Tokens,
    pub input_source: TokenSource,
    pub output_source: TokenSource,
    pub batch: bool,
    pub service_tier: Option<String>,
    /// Anthropic `usage.inference_geo` (priced with a region multiplier).
    pub inference_geo: Option<String>,
    /// The endpoint's location (Vertex `us-central1`, `global`...): a
    /// regional endpoint is priced with the entry's uplift.
    pub region: Option<String>,
    /// Anthropic `usage.speed` (`fast` is priced with a multiplier).
    pub speed: Option<String>,
    pub latency_ms: Option<u64>,
    pub status: Status,
    /// Cost computed by aifin from the catalog (`None`: unpriced).
    pub cost: Option<Nanos>,
    /// Cost written in the log by the producer, if any.
    pub reported_cost: Option<Nanos>,
    /// Calls logged several times under one message id (Claude Code writes
    /// a line per content block): a hash of that id. The ledger keeps the
    /// copy with the most tokens.
    pub msg_key: Option<i64>,
    /// A Claude Code sidechain (sub-agent) line; a parent copy of the same
    /// message wins over it.
    pub sidechain: bool,
    /// Token counts per prompt component, when the log gave them or the
    /// tokenizer counted them, with their provenance.
    pub parts: Option<(Parts, TokenSource)>,
    /// Prompt text for the tokenizer (not stored).
    pub prompt: Option<Box<PromptText>>,
    /// The id of the ledger the call was first ingested into, when it came
    /// from another ledger by a merge (`None`: this one).
    pub machine: Option<String>,
    /// The log had prompt text but no usage: the tokenizer's counts become
    /// the usage (marked estimated or counted). Until they do, the call is
    /// stored *pending*: not in the cost, counted apart, and found again at
    /// `byte_offset` of its source if the count never arrives.
    pub usage_missing: bool,
    /// Byte offset of the call's line in its source file (set by the
    /// ingester).
    pub byte_offset: u64,
    /// Fields that were out of range and were nulled ([`Warning`] bits).
    pub warnings: u32,
    /// The outcome this call carries (a gateway's `aifin.outcome` stamp,
    /// or an `[[outcome.rule]]` that matched).
    pub outcome: Option<super::outcome::OutcomeStamp>,
}

/// Why a call carries a warning (bits of [`CallRecord::warnings`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Warning {
    /// `latency_ms` outside 0..=86,400,000: nulled.
    Latency = 1,
    /// A reported cost negative, above $1,000,000 or not finite: nulled.
    ReportedCost = 2,
    /// The prompt text to count was gone: the call is unpriced.
    TextGone = 8,
    /// Priced from another provider's catalog entry (the call's own
    /// provider has none): counted as a price fallback, not a warning.
    PriceFallback = 16,
    /// Cache counts larger than the prompt: the uncached part is taken as 0
    /// (LiteLLM's rule) and the cache counts billed as logged.
    InconsistentUsage = 32,
}

impl Warning {
    pub fn bit(self) -> u32 {
        self as u32
    }

    /// The bits that make a call count in `warning_calls` (everything but
    /// the price fallback, which has its own count).
    pub const WARNING_MASK: u32 = !(Warning::PriceFallback as u32);
}

impl CallRecord {
    /// Looks up a free tag.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Tags as a compact JSON object string (for storage), or `None`.
    pub fn tags_json(&self) -> Option<String> {
        let mut buf = String::new();
        self.write_tags_json(&mut buf).then_some(buf)
    }

    /// Writes [`CallRecord::tags_json`] into `buf` (cleared first, its room
    /// reused); false, and `buf` empty, when there are no tags.
    pub fn write_tags_json(&self, buf: &mut String) -> bool {
        buf.clear();
        if self.tags.is_empty() {
            return false;
        }
        // A JSON string: printable ASCII without a quote or a backslash (the
        // common case: tags are cleaned) is written as it is, anything else
        // by serde_json, which escapes it.
        fn string(buf: &mut String, s: &str) -> bool {
            if super::sanitize::is_plain_json_text(s) {
                buf.push('"');
                buf.push_str(s);
                buf.push('"');
                true
            } else {
                // Serializing a string cannot fail.
                serde_json::to_string(s).map(|j| buf.push_str(&j)).is_ok()
            }
        }
        buf.push('{');
        for (i, (k, v)) in self.tags.iter().enumerate() {
            if i > 0 {
                buf.push(',');
            }
            if !string(buf, k) {
                buf.clear();
                return false;
            }
            buf.push(':');
            if !string(buf, v) {
                buf.clear();
                return false;
            }
        }
        buf.push('}');
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_stored_as_json_with_what_needs_escaping_escaped() {
        let mut r = CallRecord::default();
        assert_eq!(r.tags_json(), None);
        r.tags = vec![
            ("a b".into(), "x\"y".into()),
            ("env".into(), "prod".into()),
            ("k".into(), "\u{e9}\u{1}\\".into()),
            ("=1+1".into(), "<b>".into()),
        ];
        assert_eq!(r.tags_json().as_deref(), Some(r#"{"a b":"x\"y","env":"prod","k":"é\u0001\\","=1+1":"<b>"}"#));
    }

    #[test]
    fn format_round_trips() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
            assert_eq!(Format::from_code(f.code()), Some(f));
        }
        assert!("csv".parse::<Format>().is_err());
    }

    #[test]
    fn token_totals() {
        let t = Tokens {
            uncached_input: 100,
            cache_read: 50,
            cache_write_5m: 10,
            cache_write_1h: 5,
            output: 20,
            reasoning: 7,
        };
        assert_eq!(t.input_total(), 165);
        assert_eq!(t.cache_write(), 15);
        assert_eq!(t.total(), 185);
    }
}
