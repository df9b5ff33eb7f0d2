//! Eval results in: promptfoo's `results.json` (output version 3 and
//! later), and aifin's own JSONL and CSV. The format is detected per file
//! (`--format` forces one). A row that cannot be read is an error naming
//! the file and line: a silently smaller sample would change the verdict.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::domain::money::Nanos;
use crate::domain::record::{CallRecord, Tokens};
use crate::pricing::Pricer;

/// One case run by one configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalRow {
    pub config: String,
    pub case: String,
    /// An error counts as a failure.
    pub passed: bool,
    pub score: Option<f64>,
    /// `None`: neither given nor priceable.
    pub cost: Option<Nanos>,
    pub error: bool,
    pub latency_ms: Option<u64>,
    pub workflow: Option<String>,
    pub ts: Option<i64>,
}

/// The eval file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalFormat {
    Promptfoo,
    Jsonl,
    Csv,
}

impl std::str::FromStr for EvalFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "promptfoo" => Ok(EvalFormat::Promptfoo),
            "jsonl" | "aifin" => Ok(EvalFormat::Jsonl),
            "csv" => Ok(EvalFormat::Csv),
            other => Err(format!("unknown eval format '{other}'; use promptfoo, jsonl or csv")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read '{path}': {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("'{path}' line {line}: {message}")]
    Row { path: String, line: usize, message: String },
    #[error("'{path}': {message}")]
    File { path: String, message: String },
}

/// Detects a file's format from its name and first bytes.
pub fn detect(path: &Path, text: &str) -> EvalFormat {
    let start = text.trim_start();
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        return EvalFormat::Csv;
    }
    if start.starts_with('{') {
        // A whole JSON document with promptfoo's shape, or JSONL rows.
        if let Ok(v) = serde_json::from_str::<Value>(text)
            && v.get("results").is_some()
        {
            return EvalFormat::Promptfoo;
        }
        return EvalFormat::Jsonl;
    }
    EvalFormat::Csv
}

/// Reads one file.
pub fn read(path: &Path, forced: Option<EvalFormat>, pricer: &mut Pricer) -> Result<Vec<EvalRow>, EvalError> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Io { path: p.clone(), source })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let rows = match forced.unwrap_or_else(|| detect(path, text)) {
        EvalFormat::Promptfoo => promptfoo(&p, text, pricer)?,
        EvalFormat::Jsonl => jsonl(&p, text, pricer)?,
        EvalFormat::Csv => csv_rows(&p, text, pricer)?,
    };
    if rows.is_empty() {
        return Err(EvalError::File { path: p, message: "no eval rows".into() });
    }
    Ok(rows)
}

/// Prices `usage` of `model` through the catalog (`None`: unpriced).
fn price(pricer: &mut Pricer, model: &str, tokens: Tokens) -> Option<Nanos> {
    let mut r = CallRecord { model: model.to_string(), tokens, ..CallRecord::default() };
    pricer.price(&mut r);
    r.cost
}

fn usd(v: f64) -> Option<Nanos> {
    Nanos::from_usd_f64(v).filter(|n| n.0 >= 0)
}

/// A case id: a string, or an integer written as one.
fn case_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

fn truthy_error(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

#[derive(Deserialize, Default)]
struct Usage {
    #[serde(default)]
    uncached_input: u64,
    #[serde(default)]
    cache_read: u64,
    #[serde(default, alias = "cache_write")]
    cache_write_5m: u64,
    #[serde(default)]
    cache_write_1h: u64,
    #[serde(default)]
    output: u64,
    #[serde(default)]
    reasoning: u64,
}

impl Usage {
    fn tokens(&self) -> Tokens {
        Tokens {
            uncached_input: self.uncached_input,
            cache_read: self.cache_read,
            cache_write_5m: self.cache_write_5m,
            cache_write_1h: self.cache_write_1h,
            output: self.output,
            reasoning: self.reasoning,
        }
    }
}

/// An aifin eval row as read (JSONL directly, CSV through a JSON object):
/// typed, so a line is parsed once without building a map.
#[derive(Deserialize)]
struct RawRow<'a> {
    #[serde(borrow)]
    config: Option<Cow<'a, str>>,
    case: Option<Value>,
    passed: Option<Value>,
    score: Option<Value>,
    cost_usd: Option<Value>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    usage: Option<Usage>,
    error: Option<Value>,
    latency_ms: Option<Value>,
    #[serde(borrow)]
    workflow: Option<Cow<'a, str>>,
    ts: Option<Value>,
}

/// One aifin eval row, checked.
fn aifin_row(o: RawRow, pricer: &mut Pricer) -> Result<EvalRow, String> {
    let config = o.config.filter(|s| !s.is_empty()).ok_or("missing \"config\"")?;
    let case = o.case.as_ref().and_then(case_text).ok_or("missing \"case\" (a string or an integer)")?;
    let passed = match o.passed {
        Some(Value::Bool(b)) => b,
        _ => return Err("\"passed\" must be true or false".into()),
    };
    let error = truthy_error(o.error.as_ref());
    let score = match o.score {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64().filter(|f| f.is_finite()),
        Some(_) => return Err("\"score\" must be a number".into()),
    };
    let cost = match (o.cost_usd, o.model, o.usage) {
        (Some(c), _, _) if !c.is_null() => Some(c.as_f64().and_then(usd).ok_or("\"cost_usd\" must be a number >= 0")?),
        (_, Some(m), Some(u)) => price(pricer, &m, u.tokens()),
        _ => None,
    };
    Ok(EvalRow {
        config: config.into_owned(),
        case,
        passed: passed && !error,
        score,
        cost,
        error,
        latency_ms: o.latency_ms.as_ref().and_then(Value::as_u64),
        workflow: o.workflow.map(Cow::into_owned),
        ts: o.ts.and_then(|t| match t {
            Value::String(s) => crate::domain::time::parse_ts_str(&s),
            Value::Number(n) => n.as_i64().and_then(crate::domain::time::epoch_int_to_ms),
            _ => None,
        }),
    })
}

fn jsonl(path: &str, text: &str, pricer: &mut Pricer) -> Result<Vec<EvalRow>, EvalError> {
    let mut out = Vec::with_capacity(text.len() / 100);
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let err = |message: String| EvalError::Row { path: path.into(), line: i + 1, message };
        let raw: RawRow = serde_json::from_str(line).map_err(|e| {
            err(if line.trim_start().starts_with('{') {
                format!("{e}")
            } else {
                "an eval row must be a JSON object".into()
            })
        })?;
        out.push(aifin_row(raw, pricer).map_err(err)?);
    }
    Ok(out)
}

fn csv_rows(path: &str, text: &str, pricer: &mut Pricer) -> Result<Vec<EvalRow>, EvalError> {
    let mut r = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| EvalError::File { path: path.into(), message: format!("CSV header: {e}") })?
        .iter()
        .map(str::to_string)
        .collect();
    for need in ["config", "case", "passed"] {
        if !header.iter().any(|h| h == need) {
            return Err(EvalError::File { path: path.into(), message: format!("CSV without a \"{need}\" column") });
        }
    }
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let err = |message: String| EvalError::Row { path: path.into(), line, message };
        let rec = rec.map_err(|e| err(e.to_string()))?;
        // The row as the JSONL object it stands for.
        let mut o = serde_json::Map::new();
        let mut usage = serde_json::Map::new();
        for (h, v) in header.iter().zip(rec.iter()) {
            if v.is_empty() {
                continue;
            }
            let value = match h.as_str() {
                "passed" | "error" => match v.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" => Value::Bool(true),
                    "false" | "0" | "no" => Value::Bool(false),
                    other if h == "error" => Value::String(other.to_string()),
                    _ => return Err(err(format!("passed = '{v}': use true/false or 1/0"))),
                },
                "score" | "cost_usd" | "latency_ms" => {
                    serde_json::from_str::<Value>(v).map_err(|_| err(format!("{h} = '{v}' is not a number")))?
                }
                _ => Value::String(v.to_string()),
            };
            match h.strip_prefix("usage.") {
                Some(k) => {
                    let n: u64 = v.parse().map_err(|_| err(format!("{h} = '{v}' is not a token count")))?;
                    usage.insert(k.to_string(), Value::from(n));
                }
                None => {
                    o.insert(h.clone(), value);
                }
            }
        }
        if !usage.is_empty() {
            o.insert("usage".into(), Value::Object(usage));
        }
        let text = Value::Object(o).to_string();
        let raw: RawRow = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
        out.push(aifin_row(raw, pricer).map_err(err)?);
    }
    Ok(out)
}

/// promptfoo's `results.json`: `results.results[]`, one row per case and
/// provider (and prompt).
fn promptfoo(path: &str, text: &str, pricer: &mut Pricer) -> Result<Vec<EvalRow>, EvalError> {
    let file_err = |message: String| EvalError::File { path: path.into(), message };
    let doc: Value = serde_json::from_str(text).map_err(|e| file_err(format!("invalid JSON: {e}")))?;
    let res = doc.get("results").ok_or_else(|| file_err("no \"results\": not a promptfoo output".into()))?;
    if let Some(v) = res.get("version").and_then(Value::as_u64)
        && v < 3
    {
        return Err(file_err(format!("promptfoo output version {v}: aifin reads version 3 and later")));
    }
    let rows = res.get("results").and_then(Value::as_array).ok_or_else(|| file_err("no \"results.results\"".into()))?;
    let prompts: BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r.pointer("/prompt/label").or_else(|| r.pointer("/prompt/raw")).and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    let several_prompts = prompts.len() > 1;
    // Rows come in completion order; configurations are ordered as the
    // file's prompt x provider list (`promptIdx`), so the first provider of
    // the config is the default baseline.
    let mut out: Vec<(u64, usize, EvalRow)> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let err = |message: String| EvalError::Row {
            path: path.into(),
            line: i + 1,
            message: format!("results[{i}]: {message}"),
        };
        let provider = r.get("provider").ok_or_else(|| err("no provider".into()))?;
        let (pid, plabel) = match provider {
            Value::String(s) => (s.as_str(), None),
            p => (p.get("id").and_then(Value::as_str).unwrap_or(""), p.get("label").and_then(Value::as_str)),
        };
        let mut config = plabel.filter(|l| !l.is_empty()).unwrap_or(pid).to_string();
        if config.is_empty() {
            return Err(err("a provider without an id or label".into()));
        }
        if several_prompts
            && let Some(pl) = r.pointer("/prompt/label").or_else(|| r.pointer("/prompt/raw")).and_then(Value::as_str)
        {
            config = format!("{pl} · {config}");
        }
        let case = r
            .get("testIdx")
            .and_then(case_text)
            .or_else(|| r.pointer("/testCase/description").and_then(Value::as_str).map(str::to_string))
            .or_else(|| {
                r.pointer("/testCase/vars")
                    .map(|v| format!("vars-{:016x}", xxhash_rust::xxh3::xxh3_64(v.to_string().as_bytes())))
            })
            .ok_or_else(|| err("no testIdx, description or vars".into()))?;
        // promptfoo puts an assertion's reason in `error` too; only
        // `failureReason` 2 (ERROR) is a run that failed to produce output.
        let error = match r.get("failureReason").and_then(Value::as_u64) {
            Some(reason) => reason == 2,
            None => truthy_error(r.pointer("/response/error")),
        };
        let success = r
            .get("success")
            .and_then(Value::as_bool)
            .or_else(|| r.pointer("/gradingResult/pass").and_then(Value::as_bool))
            .ok_or_else(|| err("no success or gradingResult.pass".into()))?;
        let score = r
            .get("score")
            .and_then(Value::as_f64)
            .or_else(|| r.pointer("/gradingResult/score").and_then(Value::as_f64));
        let given = r
            .get("cost")
            .and_then(Value::as_f64)
            .or_else(|| r.pointer("/response/cost").and_then(Value::as_f64))
            .filter(|c| *c > 0.0);
        let cost = match given {
            Some(c) => usd(c),
            None => {
                // Priced from the token usage and the provider's model.
                let tu = r.pointer("/response/tokenUsage");
                let n = |k: &str| tu.and_then(|t| t.get(k)).and_then(Value::as_u64).unwrap_or(0);
                let (prompt, completion, cached) = (n("prompt"), n("completion"), n("cached"));
                let model = pid.split_once(':').map(|(_, m)| m.rsplit(':').next().unwrap_or(m)).unwrap_or(pid);
                if prompt + completion == 0 {
                    // An error that produced no response billed nothing.
                    error.then_some(Nanos(0))
                } else {
                    let cached = cached.min(prompt);
                    price(
                        pricer,
                        model,
                        Tokens {
                            uncached_input: prompt - cached,
                            cache_read: cached,
                            output: completion,
                            ..Tokens::default()
                        },
                    )
                }
            }
        };
        let order = r.get("promptIdx").and_then(Value::as_u64).unwrap_or(u64::MAX);
        out.push((
            order,
            i,
            EvalRow {
                config,
                case,
                passed: success && !error,
                score,
                cost,
                error,
                latency_ms: r.get("latencyMs").and_then(Value::as_u64),
                workflow: None,
                ts: res.get("timestamp").and_then(Value::as_str).and_then(crate::domain::time::parse_ts_str),
            },
        ));
    }
    out.sort_by_key(|(order, i, _)| (*order, *i));
    Ok(out.into_iter().map(|(_, _, row)| row).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pricer() -> Pricer {
        Pricer::new(std::sync::Arc::new(crate::pricing::Catalog::embedded()))
    }

    #[test]
    fn jsonl_and_csv_rows_by_hand() {
        let d = tempfile::tempdir().unwrap();
        let j = d.path().join("e.jsonl");
        std::fs::write(
            &j,
            r#"{"config":"gated","case":"c017","passed":true,"score":0.93,"cost_usd":0.0149}
{"config":"gated","case":18,"passed":false,"model":"gpt-4o","usage":{"uncached_input":1000,"output":100},"error":"timeout"}
"#,
        )
        .unwrap();
        let rows = read(&j, None, &mut pricer()).unwrap();
        assert_eq!(rows[0].case, "c017");
        assert_eq!(rows[0].cost, Some(Nanos(14_900_000)));
        assert_eq!(rows[1].case, "18");
        assert!(rows[1].error && !rows[1].passed);
        // gpt-4o: 1,000 x $2.50/M + 100 x $10/M = $0.0035.
        assert_eq!(rows[1].cost, Some(Nanos(3_500_000)));
        let c = d.path().join("e.csv");
        std::fs::write(&c, "config,case,passed,cost_usd,model,usage.uncached_input,usage.output\nbase,1,1,0.0336,,,\nbase,2,0,,gpt-4o,1000,100\n").unwrap();
        let rows = read(&c, None, &mut pricer()).unwrap();
        assert!(rows[0].passed && !rows[1].passed);
        assert_eq!(rows[0].cost, Some(Nanos(33_600_000)));
        assert_eq!(rows[1].cost, Some(Nanos(3_500_000)));
    }

    #[test]
    fn a_bad_row_is_an_error_with_file_and_line() {
        let d = tempfile::tempdir().unwrap();
        let j = d.path().join("bad.jsonl");
        std::fs::write(
            &j,
            "{\"config\":\"a\",\"case\":1,\"passed\":true}\n{\"config\":\"a\",\"case\":2,\"passed\":\"yes\"}\n",
        )
        .unwrap();
        let e = read(&j, None, &mut pricer()).unwrap_err().to_string();
        assert!(e.contains("bad.jsonl") && e.contains("line 2") && e.contains("passed"), "{e}");
        let c = d.path().join("bad.csv");
        std::fs::write(&c, "config,case,passed\na,1,maybe\n").unwrap();
        let e = read(&c, None, &mut pricer()).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("maybe"), "{e}");
    }
}
