//! Prompt composition from logged request messages.
//!
//! A request is split into six components, counted by the tokenizer
//! (the text itself is never stored):
//!
//! | component | from |
//! |---|---|
//! | system | `system` / `developer` messages, Anthropic's `system` |
//! | tools | the tool (function) schemas sent with the request |
//! | context | tool results (`tool` / `function` messages, `tool_result` blocks): retrieval and tool output fed back |
//! | history | earlier user and assistant turns |
//! | user | the latest user turn |
//! | output | the response's text |

use serde_json::Value;
use serde_json::value::RawValue;

use crate::domain::record::PromptText;

const SYSTEM: usize = 0;
const TOOLS: usize = 1;
const CONTEXT: usize = 2;
const HISTORY: usize = 3;
const USER: usize = 4;
const OUTPUT: usize = 5;

fn push(dst: &mut String, text: &str) {
    if text.is_empty() {
        return;
    }
    if !dst.is_empty() {
        dst.push('\n');
    }
    dst.push_str(text);
}

/// The text of a message content: a string, or an array of blocks.
/// Returns (text, tool-result text).
fn content_text(v: &Value) -> (String, String) {
    let mut text = String::new();
    let mut tool = String::new();
    match v {
        Value::String(s) => push(&mut text, s),
        Value::Array(blocks) => {
            for b in blocks {
                match b.get("type").and_then(Value::as_str) {
                    Some("tool_result") => {
                        let (t, _) = b.get("content").map(content_text).unwrap_or_default();
                        push(&mut tool, &t);
                    }
                    Some("tool_use") => {
                        if let Some(input) = b.get("input") {
                            push(&mut text, &input.to_string());
                        }
                    }
                    _ => {
                        if let Some(t) = b.get("text").and_then(Value::as_str) {
                            push(&mut text, t);
                        }
                    }
                }
            }
        }
        Value::Null => {}
        other => push(&mut text, &other.to_string()),
    }
    (text, tool)
}

/// Splits chat messages (OpenAI or Anthropic shape) into components.
pub fn from_messages(messages: &RawValue, tools: Option<&RawValue>, system: Option<&RawValue>) -> PromptText {
    let mut p = PromptText::default();
    if let Some(sys) = system.and_then(|s| serde_json::from_str::<Value>(s.get()).ok()) {
        let (t, _) = content_text(&sys);
        push(&mut p.parts[SYSTEM], &t);
    }
    if let Some(t) = tools {
        let text = t.get().trim();
        if text != "null" && text != "[]" {
            push(&mut p.parts[TOOLS], text);
        }
    }
    let Ok(Value::Array(msgs)) = serde_json::from_str::<Value>(messages.get()) else { return p };
    let last_user = msgs.iter().rposition(|m| m.get("role").and_then(Value::as_str) == Some("user"));
    for (i, m) in msgs.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let (text, tool_text) = m.get("content").map(content_text).unwrap_or_default();
        push(&mut p.parts[CONTEXT], &tool_text);
        let slot = match role {
            "system" | "developer" => SYSTEM,
            "tool" | "function" => CONTEXT,
            "user" if Some(i) == last_user => USER,
            _ => HISTORY,
        };
        push(&mut p.parts[slot], &text);
        if let Some(calls) = m.get("tool_calls").filter(|v| !v.is_null()) {
            push(&mut p.parts[HISTORY], &calls.to_string());
        }
    }
    p
}

/// The text of a response object (Chat Completions, Responses, Messages).
pub fn output_text(response: &RawValue) -> String {
    let Ok(v) = serde_json::from_str::<Value>(response.get()) else { return String::new() };
    let mut out = String::new();
    if let Some(Value::Array(choices)) = v.get("choices") {
        for c in choices {
            if let Some(m) = c.get("message") {
                let (t, _) = m.get("content").map(content_text).unwrap_or_default();
                push(&mut out, &t);
                if let Some(calls) = m.get("tool_calls").filter(|v| !v.is_null()) {
                    push(&mut out, &calls.to_string());
                }
            }
        }
    }
    if let Some(Value::Array(items)) = v.get("output") {
        for item in items {
            if let Some(c) = item.get("content") {
                push(&mut out, &content_text(c).0);
            }
        }
    }
    if v.get("type").and_then(Value::as_str) == Some("message")
        && let Some(c) = v.get("content")
    {
        push(&mut out, &content_text(c).0);
    }
    out
}

/// Sets the output component.
pub fn with_output(mut p: PromptText, output: String) -> PromptText {
    p.parts[OUTPUT] = output;
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn splits_openai_messages() {
        let m = raw(
            r#"[{"role":"system","content":"You are terse."},{"role":"user","content":"hi"},{"role":"assistant","content":"hello","tool_calls":[{"id":"c1","function":{"name":"search","arguments":"{}"}}]},{"role":"tool","content":"doc: refunds take 5 days"},{"role":"user","content":[{"type":"text","text":"how long for refunds?"}]}]"#,
        );
        let tools = raw(r#"[{"type":"function","function":{"name":"search","parameters":{}}}]"#);
        let p = from_messages(&m, Some(&tools), None);
        assert_eq!(p.parts[SYSTEM], "You are terse.");
        assert!(p.parts[TOOLS].contains("\"search\""));
        assert_eq!(p.parts[CONTEXT], "doc: refunds take 5 days");
        assert!(p.parts[HISTORY].starts_with("hi\nhello"));
        assert_eq!(p.parts[USER], "how long for refunds?");
    }

    #[test]
    fn splits_anthropic_messages_with_tool_results() {
        let m = raw(
            r#"[{"role":"user","content":"look it up"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"kb","input":{"q":"refunds"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"refunds: 5 days"},{"type":"text","text":"answer now"}]}]"#,
        );
        let p = from_messages(&m, None, Some(&raw(r#""Be kind.""#)));
        assert_eq!(p.parts[SYSTEM], "Be kind.");
        assert_eq!(p.parts[CONTEXT], "refunds: 5 days");
        assert_eq!(p.parts[USER], "answer now");
        assert!(p.parts[HISTORY].contains("look it up") && p.parts[HISTORY].contains("refunds"));
    }

    #[test]
    fn reads_output_text_of_each_shape() {
        assert_eq!(output_text(&raw(r#"{"choices":[{"message":{"content":"A"}}]}"#)), "A");
        assert_eq!(output_text(&raw(r#"{"output":[{"content":[{"type":"output_text","text":"B"}]}]}"#)), "B");
        assert_eq!(output_text(&raw(r#"{"type":"message","content":[{"type":"text","text":"C"}]}"#)), "C");
    }
}
