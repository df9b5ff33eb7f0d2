//! Attribution: every call gets a workflow, a team and a customer where the
//! evidence allows.
//!
//! Order of precedence:
//! 1. the record's own fields and tags (set by the parser);
//! 2. `[[attribution.rules]]` in order: a rule whose `match` globs all
//!    match fills the dimensions in its `set` that are still empty (the
//!    first rule to set a dimension wins), or replaces them with
//!    `override = true`;
//! 3. `[attribution.owners]`: a workflow's owning team when the team is
//!    still empty.
//!
//! A missing field only matches the empty pattern `""`; `*` means "any
//! value". A value in `set` may copy fields with `{field}`, e.g.
//! `set = { workflow = "{tag.service.name}" }`; if a referenced field is
//! missing, that dimension is left alone.

use std::collections::HashMap;

use globset::{Glob, GlobMatcher};

use crate::config::{AttributionSection, OutcomeRuleConfig};
use crate::domain::dims::Dimension;
use crate::domain::outcome::{IdKind, OutcomeStamp};
use crate::domain::record::CallRecord;
use crate::formats::common::dim;

#[derive(Debug, thiserror::Error)]
pub enum AttributionError {
    #[error("attribution rule {rule}: unknown field '{field}' in match; use one of {fields} or tag.<name>")]
    UnknownField { rule: usize, field: String, fields: String },
    #[error("attribution rule {rule}: unknown dimension '{dim}' in set; use {dims} or tag.<name>")]
    UnknownDim { rule: usize, dim: String, dims: String },
    #[error("attribution rule {rule}: invalid glob '{glob}' for '{field}': {message}")]
    BadGlob { rule: usize, field: String, glob: String, message: String },
    #[error("attribution rule {rule}: {message}")]
    BadValue { rule: usize, message: String },
    #[error("attribution rule {rule}: 'set' is empty, so the rule would do nothing")]
    EmptySet { rule: usize },
    #[error("outcome rule {rule}: {message}")]
    Outcome { rule: usize, message: String },
    #[error("source '{source_path}': unknown dimension '{dim}' in set; use {dims} or tag.<name>")]
    UnknownSourceDim { source_path: String, dim: String, dims: String },
}

/// The dimensions a rule may set, for messages.
fn settable_names() -> String {
    Dimension::SETTABLE.map(Dimension::name).join(", ")
}

/// Attribution defaults of a source (`[[source]] set = {…}`): they fill
/// dimensions the record does not have, before the rules run.
#[derive(Clone, Debug, Default)]
pub struct Defaults(Vec<(Target, String)>);

impl Defaults {
    pub fn from_map(
        source: &str,
        map: &std::collections::BTreeMap<String, String>,
    ) -> Result<Defaults, AttributionError> {
        let mut v = Vec::with_capacity(map.len());
        for (k, val) in map {
            let d = Target::parse(k).ok_or_else(|| AttributionError::UnknownSourceDim {
                source_path: source.to_string(),
                dim: k.clone(),
                dims: settable_names(),
            })?;
            v.push((d, val.clone()));
        }
        Ok(Defaults(v))
    }

    /// Defaults that set only the workflow.
    pub fn workflow(name: &str) -> Defaults {
        Defaults(vec![(Target::Dim(Dimension::Workflow), name.to_string())])
    }

    pub fn apply(&self, rec: &mut CallRecord) {
        for (d, v) in &self.0 {
            d.set(rec, v, false);
        }
    }
}

/// Fields a rule can match besides the dimensions.
const OTHER_FIELDS: [&str; 6] = ["session", "trace", "request_id", "service_tier", "format", "source"];

fn field_names() -> String {
    let mut v: Vec<&str> = Dimension::ALL.iter().map(|d| d.name()).collect();
    v.extend(OTHER_FIELDS);
    v.join(", ")
}

/// What a rule's `match` (or a `{field}` reference) reads.
#[derive(Clone, Debug)]
enum Field {
    Dim(Dimension),
    Session,
    Trace,
    RequestId,
    ServiceTier,
    Format,
    Source,
    Tag(String),
}

impl Field {
    fn parse(s: &str) -> Option<Field> {
        if let Ok(d) = s.parse::<Dimension>() {
            return Some(Field::Dim(d));
        }
        Some(match s {
            "session" | "session_id" => Field::Session,
            "trace" | "trace_id" => Field::Trace,
            "request_id" => Field::RequestId,
            "service_tier" => Field::ServiceTier,
            "format" => Field::Format,
            "source" | "path" => Field::Source,
            other => Field::Tag(other.strip_prefix("tag.")?.to_string()),
        })
    }

    fn get<'a>(&self, r: &'a CallRecord, source: &'a str) -> Option<&'a str> {
        match self {
            Field::Dim(d) => d.get(r),
            Field::Session => r.session_id.as_deref(),
            Field::Trace => r.trace_id.as_deref(),
            Field::RequestId => r.request_id.as_deref(),
            Field::ServiceTier => r.service_tier.as_deref(),
            Field::Format => r.format.map(|f| f.as_str()),
            Field::Source => Some(source).filter(|s| !s.is_empty()),
            Field::Tag(k) => r.tag(k),
        }
    }
}

/// What a rule's `set` (or a source default) writes.
#[derive(Clone, Debug)]
enum Target {
    /// A settable dimension.
    Dim(Dimension),
    Tag(String),
}

impl Target {
    fn parse(s: &str) -> Option<Target> {
        match s.parse::<Dimension>() {
            Ok(d) if d.settable() => Some(Target::Dim(d)),
            Ok(_) => None,
            Err(_) => Some(Target::Tag(s.strip_prefix("tag.")?.to_string())),
        }
    }

    fn set(&self, r: &mut CallRecord, value: &str, replace: bool) {
        match self {
            Target::Dim(d) => {
                if let Some(slot) = d.slot(r)
                    && (replace || slot.is_none())
                {
                    *slot = dim(Some(value));
                }
            }
            Target::Tag(k) => match r.tags.iter_mut().find(|(tk, _)| tk == k) {
                Some((_, v)) if replace => *v = value.into(),
                Some(_) => {}
                None => {
                    r.tags.push((k.as_str().into(), value.into()));
                    r.tags.sort();
                }
            },
        }
    }
}

#[derive(Clone, Debug)]
enum Pattern {
    Missing,
    Glob(GlobMatcher),
}

/// A `set` value: literal text with `{field}` references.
#[derive(Clone, Debug)]
enum Piece {
    Text(String),
    Field(Field),
}

#[derive(Clone, Debug)]
struct Template(Vec<Piece>);

impl Template {
    fn parse(s: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = s;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let close = rest[open..].find('}').ok_or_else(|| format!("unclosed '{{' in '{s}'"))? + open;
            let name = &rest[open + 1..close];
            pieces
                .push(Piece::Field(Field::parse(name).ok_or_else(|| format!("unknown field '{{{name}}}' in '{s}'"))?));
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template(pieces))
    }

    /// The value for a record, or `None` when a referenced field is missing.
    fn render(&self, r: &CallRecord, source: &str) -> Option<String> {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f) => out.push_str(f.get(r, source).filter(|v| !v.is_empty())?),
            }
        }
        Some(out)
    }
}

fn compile_matches(
    n: usize,
    m: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<(Field, Pattern)>, AttributionError> {
    let mut matches = Vec::new();
    for (field, glob) in m {
        let f = Field::parse(field).ok_or_else(|| AttributionError::UnknownField {
            rule: n,
            field: field.clone(),
            fields: field_names(),
        })?;
        let p = if glob.is_empty() {
            Pattern::Missing
        } else {
            Pattern::Glob(
                Glob::new(glob)
                    .map_err(|e| AttributionError::BadGlob {
                        rule: n,
                        field: field.clone(),
                        glob: glob.clone(),
                        message: e.kind().to_string(),
                    })?
                    .compile_matcher(),
            )
        };
        matches.push((f, p));
    }
    Ok(matches)
}

fn all_match(matches: &[(Field, Pattern)], rec: &CallRecord, source: &str) -> bool {
    matches.iter().all(|(f, p)| match (p, f.get(rec, source)) {
        (Pattern::Missing, v) => v.is_none_or(str::is_empty),
        (Pattern::Glob(g), Some(v)) => g.is_match(v),
        (Pattern::Glob(_), None) => false,
    })
}

/// An `[[outcome.rule]]`.
#[derive(Clone, Debug)]
struct OutcomeRule {
    workflow: String,
    matches: Vec<(Field, Pattern)>,
    per: IdKind,
    success: bool,
}

/// The tag a gateway stamps an outcome with (LiteLLM metadata, an OTel
/// span attribute, a native line's tags): `true`/`false`, with optional
/// `aifin.outcome.per` and `aifin.outcome.value_usd`.
pub const OUTCOME_TAG: &str = "aifin.outcome";

/// The outcome a call's own tags stamp, if any.
fn stamped(rec: &CallRecord) -> Option<OutcomeStamp> {
    let success = match rec.tag(OUTCOME_TAG)?.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "success" | "succeeded" => true,
        "false" | "0" | "no" | "failure" | "failed" => false,
        _ => return None,
    };
    let per = rec.tag("aifin.outcome.per").and_then(|p| p.parse().ok()).unwrap_or(IdKind::Request);
    let value = rec
        .tag("aifin.outcome.value_usd")
        .and_then(|v| crate::domain::money::parse_decimal_scaled(v, 9))
        .and_then(|n| i64::try_from(n).ok())
        .filter(|n| *n >= 0)
        .map(crate::domain::money::Nanos);
    Some(OutcomeStamp { per, success, value })
}

#[derive(Clone, Debug)]
struct Rule {
    matches: Vec<(Field, Pattern)>,
    set: Vec<(Target, Template)>,
    replace: bool,
}

/// Applies attribution rules and ownership to records.
#[derive(Clone, Debug, Default)]
pub struct Attributor {
    rules: Vec<Rule>,
    owners: HashMap<String, String>,
    outcome_rules: Vec<OutcomeRule>,
}

impl Attributor {
    pub fn from_config(section: &AttributionSection) -> Result<Attributor, AttributionError> {
        let mut rules = Vec::with_capacity(section.rules.len());
        for (i, rc) in section.rules.iter().enumerate() {
            let n = i + 1;
            if rc.set.is_empty() {
                return Err(AttributionError::EmptySet { rule: n });
            }
            let matches = compile_matches(n, &rc.matches)?;
            let mut set = Vec::new();
            for (d, v) in &rc.set {
                let dd = Target::parse(d).ok_or_else(|| AttributionError::UnknownDim {
                    rule: n,
                    dim: d.clone(),
                    dims: settable_names(),
                })?;
                let t = Template::parse(v).map_err(|message| AttributionError::BadValue { rule: n, message })?;
                set.push((dd, t));
            }
            rules.push(Rule { matches, set, replace: rc.override_existing });
        }
        Ok(Attributor { rules, owners: section.owners.clone().into_iter().collect(), outcome_rules: Vec::new() })
    }

    /// Adds the `[[outcome.rule]]` success definitions.
    pub fn with_outcome_rules(mut self, rules: &[OutcomeRuleConfig]) -> Result<Attributor, AttributionError> {
        for (i, rc) in rules.iter().enumerate() {
            let n = i + 1;
            let workflow = dim(Some(&rc.workflow))
                .ok_or(AttributionError::Outcome { rule: n, message: "'workflow' is empty".into() })?;
            let per = match &rc.per {
                None => IdKind::Request,
                Some(p) => p.parse().map_err(|message| AttributionError::Outcome { rule: n, message })?,
            };
            let matches = compile_matches(n, &rc.matches)
                .map_err(|e| AttributionError::Outcome { rule: n, message: e.to_string() })?;
            self.outcome_rules.push(OutcomeRule { workflow, matches, per, success: rc.success.unwrap_or(true) });
        }
        Ok(self)
    }

    /// The workflows an `[[outcome.rule]]` defines success for.
    pub fn outcome_workflows(&self) -> Vec<String> {
        let mut v: Vec<String> = self.outcome_rules.iter().map(|r| r.workflow.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.owners.is_empty()
    }

    /// Fills attribution dimensions on a record read from `source`.
    pub fn apply(&self, rec: &mut CallRecord, source: &str) {
        for rule in &self.rules {
            if all_match(&rule.matches, rec, source) {
                for (d, t) in &rule.set {
                    if let Some(v) = t.render(rec, source) {
                        d.set(rec, &v, rule.replace);
                    }
                }
            }
        }
        if rec.team.is_none()
            && let Some(w) = rec.workflow.as_deref()
            && let Some(t) = self.owners.get(w)
        {
            rec.team = dim(Some(t));
        }
        // The outcome the call carries: its own stamp, else the first
        // success rule of its workflow that matches.
        rec.outcome = stamped(rec).or_else(|| {
            let w = rec.workflow.as_deref()?;
            self.outcome_rules
                .iter()
                .find(|r| r.workflow == w && all_match(&r.matches, rec, source))
                .map(|r| OutcomeStamp { per: r.per, success: r.success, value: None })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn attributor(toml: &str) -> Attributor {
        let c = Config::from_str(toml, None).unwrap();
        Attributor::from_config(&c.file.attribution).unwrap()
    }

    fn rec(model: &str) -> CallRecord {
        CallRecord { model: model.into(), ..Default::default() }
    }

    #[test]
    fn record_fields_win_then_rules_then_owners() {
        let a = attributor(
            r#"
[attribution.owners]
"support-copilot" = "CX"
"everything-else" = "Various"
[[attribution.rules]]
match = { "tag.app" = "*" }
set = { workflow = "everything-else", customer = "internal" }
[[attribution.rules]]
match = { model = "claude-*" }
set = { workflow = "support-copilot" }
"#,
        );
        let mut r = rec("claude-opus-4-5");
        r.tags = vec![("app".into(), "slack-bot".into())];
        a.apply(&mut r, "");
        assert_eq!(r.workflow.as_deref(), Some("everything-else"), "first rule to set wins");
        assert_eq!(r.customer.as_deref(), Some("internal"));
        assert_eq!(r.team.as_deref(), Some("Various"), "owner map fills the team");

        let mut r = rec("claude-opus-4-5");
        r.workflow = Some("contract-extraction".into());
        r.team = Some("Legal Ops".into());
        a.apply(&mut r, "");
        assert_eq!(r.workflow.as_deref(), Some("contract-extraction"), "record fields win");
        assert_eq!(r.team.as_deref(), Some("Legal Ops"));
    }

    #[test]
    fn empty_pattern_matches_missing_and_override_replaces() {
        let a = attributor(
            r#"
[[attribution.rules]]
match = { workflow = "", source = "*/billing/*" }
set = { workflow = "billing-bot", "tag.cost_center" = "cc-42" }
[[attribution.rules]]
match = { customer = "acme-*" }
set = { customer = "acme" }
override = true
"#,
        );
        let mut r = rec("gpt-4o");
        r.customer = Some("acme-eu".into());
        a.apply(&mut r, "/var/log/billing/gw.jsonl");
        assert_eq!(r.workflow.as_deref(), Some("billing-bot"));
        assert_eq!(r.tag("cost_center"), Some("cc-42"));
        assert_eq!(r.customer.as_deref(), Some("acme"));
        let mut r = rec("gpt-4o");
        r.workflow = Some("x".into());
        a.apply(&mut r, "/var/log/billing/gw.jsonl");
        assert_eq!(r.workflow.as_deref(), Some("x"));
    }

    #[test]
    fn set_values_can_copy_fields() {
        let a = attributor(
            r#"
[[attribution.rules]]
match = { "tag.service.name" = "*" }
set = { workflow = "{tag.service.name}", project = "svc-{tag.service.name}-{model}" }
[[attribution.rules]]
match = { model = "*" }
set = { customer = "{tag.tenant}" }
"#,
        );
        let mut r = rec("gpt-4o");
        r.tags = vec![("service.name".into(), "billing-bot".into())];
        a.apply(&mut r, "");
        assert_eq!(r.workflow.as_deref(), Some("billing-bot"));
        assert_eq!(r.project.as_deref(), Some("svc-billing-bot-gpt-4o"));
        assert_eq!(r.customer, None, "a missing field leaves the dimension alone");
        let c = Config::from_str("[[attribution.rules]]\nset = { workflow = \"{nope}\" }\n", None).unwrap();
        assert!(Attributor::from_config(&c.file.attribution).unwrap_err().to_string().contains("unknown field"));
    }

    #[test]
    fn config_mistakes_are_reported() {
        let c =
            Config::from_str("[[attribution.rules]]\nmatch = { colour = \"x\" }\nset = { workflow = \"y\" }\n", None)
                .unwrap();
        let e = Attributor::from_config(&c.file.attribution).unwrap_err().to_string();
        assert!(e.contains("rule 1") && e.contains("colour"), "{e}");
        let c = Config::from_str("[[attribution.rules]]\nset = { colour = \"y\" }\n", None).unwrap();
        assert!(Attributor::from_config(&c.file.attribution).unwrap_err().to_string().contains("unknown dimension"));
        let c =
            Config::from_str("[[attribution.rules]]\nmatch = { model = \"[\" }\nset = { workflow = \"y\" }\n", None)
                .unwrap();
        assert!(Attributor::from_config(&c.file.attribution).unwrap_err().to_string().contains("invalid glob"));
    }
}
