//! Outcome event lines:
//!
//! ```json
//! {"type":"outcome","ts":"2026-10-03T10:00:00Z","workflow":"support-copilot",
//!  "session_id":"s_9","success":true,"value_usd":12.5}
//! ```
//! `type`, `ts`, `success` and one id (`request_id`, `trace_id` or
//! `session_id`; with several, `per` says which the outcome concludes:
//! `call`, `trace` or `session`) are required; `workflow` and `value_usd`
//! are optional.

use serde::Deserialize;

use crate::formats::common::Text;

use super::common::{FlexStr, TsValue, UsdValue, dim, json_error};
use crate::domain::outcome::{IdKind, OutcomeEvent};

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(alias = "timestamp")]
    ts: Option<TsValue>,
    #[serde(borrow)]
    workflow: Option<Text<'a>>,
    #[serde(borrow)]
    request_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    trace_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    session_id: Option<FlexStr<'a>>,
    #[serde(borrow)]
    per: Option<Text<'a>>,
    success: Option<bool>,
    value_usd: Option<UsdValue>,
}

/// `Ok(None)`: not an outcome line.
pub fn parse(text: &str) -> Result<Option<OutcomeEvent>, String> {
    let l: Line = serde_json::from_str(text).map_err(json_error)?;
    if l.kind.as_deref() != Some("outcome") {
        return Ok(None);
    }
    let ts = l.ts.ok_or("an outcome needs \"ts\"")?.0;
    let success = l.success.ok_or("an outcome needs \"success\": true or false")?;
    let ids: Vec<(IdKind, String)> =
        [(IdKind::Request, &l.request_id), (IdKind::Trace, &l.trace_id), (IdKind::Session, &l.session_id)]
            .into_iter()
            .filter_map(|(k, v)| Some((k, dim(v.as_ref().map(|f| f.0.as_ref()))?)))
            .collect();
    let (kind, id) = match (ids.len(), l.per.as_deref()) {
        (0, _) => return Err("an outcome needs one of \"request_id\", \"trace_id\", \"session_id\"".into()),
        (1, None) => ids.into_iter().next().unwrap_or((IdKind::Request, String::new())),
        (_, None) => {
            return Err("an outcome with several ids needs \"per\": \"call\", \"trace\" or \"session\"".into());
        }
        (_, Some(p)) => {
            let want: IdKind = p.parse()?;
            ids.into_iter()
                .find(|(k, _)| *k == want)
                .ok_or_else(|| format!("\"per\": \"{p}\" but no {}", want.key()))?
        }
    };
    let value = match l.value_usd {
        None => None,
        Some(UsdValue { invalid: true, .. }) => return Err("\"value_usd\" must be a number >= 0".into()),
        Some(UsdValue { value, .. }) => value,
    };
    Ok(Some(OutcomeEvent { kind, id, ts_ms: ts, success, value, workflow: dim(l.workflow.as_deref()), line_no: 0 }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Nanos;

    #[test]
    fn an_outcome_line_and_its_errors() {
        let e = parse(r#"{"type":"outcome","ts":"2026-10-03T10:00:00Z","workflow":"support-copilot","session_id":"s_9","success":true,"value_usd":12.5}"#)
            .unwrap()
            .unwrap();
        assert_eq!((e.kind, e.id.as_str(), e.success), (IdKind::Session, "s_9", true));
        assert_eq!(e.ts_ms, 1_791_021_600_000);
        assert_eq!(e.value, Some(Nanos(12_500_000_000)));
        assert_eq!(e.workflow.as_deref(), Some("support-copilot"));
        // Request ids may be numbers.
        let e = parse(r#"{"type":"outcome","ts":"2026-10-01T00:00:00Z","request_id":17,"success":false}"#)
            .unwrap()
            .unwrap();
        assert_eq!((e.kind, e.id.as_str(), e.success), (IdKind::Request, "17", false));
        let both = r#"{"type":"outcome","ts":"2026-10-01T00:00:00Z","trace_id":"t","session_id":"s","success":true"#;
        assert!(parse(&format!("{both}}}")).unwrap_err().contains("per"));
        assert_eq!(parse(&format!("{both},\"per\":\"trace\"}}")).unwrap().unwrap().kind, IdKind::Trace);
        assert!(
            parse(r#"{"type":"outcome","ts":"2026-10-01T00:00:00Z","success":true}"#)
                .unwrap_err()
                .contains("request_id")
        );
        assert!(parse(r#"{"type":"outcome","request_id":"r","success":true}"#).unwrap_err().contains("ts"));
        assert!(
            parse(r#"{"type":"outcome","ts":"2026-10-01T00:00:00Z","request_id":"r"}"#)
                .unwrap_err()
                .contains("success")
        );
        assert!(parse(r#"{"type":"outcome","ts":"2026-10-01T00:00:00Z","request_id":"r","success":"yes"}"#).is_err());
        assert!(
            parse(r#"{"type":"outcome","ts":"2026-10-01T00:00:00Z","request_id":"r","success":true,"value_usd":-1}"#)
                .is_err()
        );
        assert_eq!(parse(r#"{"type":"message","model":"x"}"#).unwrap(), None);
    }
}
