//! What of a log may be kept. Prompts and completions never are: a
//! rejected line keeps only its structure (keys and the length of each
//! value), a reason never quotes a string value, and attributes that carry
//! prompt or completion text (or any string over [`MAX_TAG_CHARS`]) are
//! dropped instead of becoming tags.

use serde_json::Value;

use super::sanitize::clean_truncated;

/// Longer attribute strings are dropped: they are text, not attribution.
pub const MAX_TAG_CHARS: usize = 256;

/// Attribute names (or prefixes ending in `.`/`*`) that carry prompt or
/// completion text in the OpenTelemetry, OpenInference and OpenLLMetry
/// conventions.
const PROMPT_KEYS: &[&str] = &[
    "input.value",
    "output.value",
    "llm.input_messages.",
    "llm.output_messages.",
    "llm.prompts.",
    "llm.completions.",
    "llm.prompt_template.",
    "traceloop.entity.input",
    "traceloop.entity.output",
    "gen_ai.prompt*",
    "gen_ai.completion*",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "messages",
    "prompt",
    "completion",
];

/// Whether an attribute or tag of this name carries prompt text.
pub fn is_prompt_key(key: &str) -> bool {
    // Every tag of every line asks this: the names are looked up in a set
    // made once from [`PROMPT_KEYS`], and only the few prefixes are tried
    // one by one.
    static KEYS: std::sync::LazyLock<(hashbrown::HashSet<&'static str>, Vec<&'static str>)> =
        std::sync::LazyLock::new(|| {
            let (mut exact, mut prefixes) = (hashbrown::HashSet::new(), Vec::new());
            for p in PROMPT_KEYS {
                if let Some(prefix) = p.strip_suffix('*') {
                    prefixes.push(prefix);
                } else if p.ends_with('.') {
                    prefixes.push(*p);
                } else {
                    exact.insert(*p);
                }
            }
            (exact, prefixes)
        });
    let (exact, prefixes) = &*KEYS;
    exact.contains(key) || prefixes.iter().any(|p| key.starts_with(p))
}

/// Whether a tag may be kept: not prompt-bearing, not long text.
pub fn keep_tag(key: &str, value: &str) -> bool {
    // No more characters than bytes: most values need no count.
    !is_prompt_key(key) && (value.len() <= MAX_TAG_CHARS || value.chars().count() <= MAX_TAG_CHARS)
}

/// The structure of a line, for the rejects table: keys and the length of
/// each value, never a string's content. `{"ts": string(24), "usage":
/// {"output": number}, "messages": array(3)}`.
pub fn structure(bytes: &[u8]) -> String {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return format!("{} bytes, not UTF-8", bytes.len());
    };
    match serde_json::from_str::<Value>(text) {
        Ok(v) => {
            let mut s = String::new();
            describe(&v, 0, &mut s);
            clean_truncated(&s, 400)
        }
        Err(_) => format!("{} bytes, not valid JSON", bytes.len()),
    }
}

fn describe(v: &Value, depth: usize, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(_) => out.push_str("bool"),
        Value::Number(_) => out.push_str("number"),
        Value::String(s) => out.push_str(&format!("string({})", s.chars().count())),
        Value::Array(a) => out.push_str(&format!("array({})", a.len())),
        Value::Object(m) if depth >= 2 => out.push_str(&format!("{{{} keys}}", m.len())),
        Value::Object(m) => {
            out.push('{');
            for (i, (k, val)) in m.iter().enumerate() {
                if i == 12 {
                    out.push_str(&format!(", … {} more", m.len() - 12));
                    break;
                }
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&clean_truncated(k, 40));
                out.push_str(": ");
                describe(val, depth + 1, out);
            }
            out.push('}');
        }
    }
}

/// A reason with every quoted value replaced by its length: parsers and
/// serde quote what they could not read (`invalid type: string "SSN
/// 123-45-6789"`), and a reason is kept and shown.
pub fn scrub(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut chars = reason.chars().peekable();
    while let Some(c) = chars.next() {
        let close = match c {
            '"' => '"',
            '`' => '`',
            '\'' if out.ends_with(' ') || out.is_empty() => '\'',
            _ => {
                out.push(c);
                continue;
            }
        };
        let mut inner = String::new();
        let mut closed = false;
        for d in chars.by_ref() {
            if d == close {
                closed = true;
                break;
            }
            inner.push(d);
        }
        if closed {
            out.push_str(&format!("({} chars)", inner.chars().count()));
        } else {
            out.push(c);
            out.push_str(&format!("({} chars)", inner.chars().count()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_keep_structure_never_values() {
        let s = structure(br#"{"ts":"2026-10-01T00:00:00Z","user":"my SSN is 123-45-6789","usage":{"output":-5},"tags":["a","b"],"n":null}"#);
        assert_eq!(s, r#"{n: null, tags: array(2), ts: string(20), usage: {output: number}, user: string(21)}"#);
        assert!(!s.contains("123-45"));
        assert_eq!(structure(b"{\"a\":"), "5 bytes, not valid JSON");
        assert_eq!(structure(b"\xff\xfe"), "2 bytes, not UTF-8");
    }

    #[test]
    fn reasons_lose_their_quoted_values() {
        assert_eq!(
            scrub("invalid type: string \"SSN 123-45-6789\", expected u64 at line 1 column 80"),
            "invalid type: string (15 chars), expected u64 at line 1 column 80"
        );
        assert_eq!(scrub("unknown variant `secret`, expected one of"), "unknown variant (6 chars), expected one of");
        assert_eq!(scrub("invalid timestamp 'hello world'"), "invalid timestamp (11 chars)");
        assert_eq!(scrub("negative token count -5"), "negative token count -5");
        assert_eq!(scrub("it's fine"), "it's fine");
    }

    #[test]
    fn prompt_bearing_attributes_are_known() {
        for k in [
            "input.value",
            "llm.input_messages.0.message.content",
            "gen_ai.prompt.0.content",
            "gen_ai.completion",
            "gen_ai.input.messages",
            "traceloop.entity.output",
            "gen_ai.system_instructions",
        ] {
            assert!(is_prompt_key(k), "{k}");
            assert!(!keep_tag(k, "x"));
        }
        // Exact names match only themselves; a pattern ending in `.`
        // needs more after the dot, one ending in `*` needs nothing more.
        for k in ["messages_count", "prompt_version", "llm.prompts", "input.value.length", "gen_ai.system"] {
            assert!(!is_prompt_key(k), "{k}");
        }
        for k in ["messages", "prompt", "completion", "llm.prompts.0", "gen_ai.promptx"] {
            assert!(is_prompt_key(k), "{k}");
        }
        assert!(keep_tag("service.name", "billing-bot"));
        assert!(!keep_tag("note", &"x".repeat(257)));
    }
}
