//! Deterministic synthetic traffic in aifin's own JSONL format.
//!
//! * [`paper_month`] writes the sample month in `sample-data/gateway/`: the
//!   six workflows of the white paper's ledger (section III) at 1/1000
//!   scale. Per-call token counts are random but each workflow's calls,
//!   average input tokens and total cost are calibrated against the real
//!   pricer (catalog + sample config), so the ledger reproduces the table.
//! * [`bulk`] writes any number of realistic lines for benchmarks.
//!
//! Randomness is a seeded SplitMix64 (hand-written so that output never
//! changes with a dependency's version).

use std::io::{self, Write};

use serde::Serialize;

use crate::domain::money::Nanos;
use crate::domain::record::{CallRecord, Tokens};
use crate::domain::time::{MS_PER_DAY, MS_PER_HOUR, days_from_civil, format_utc};
use crate::pricing::Pricer;

/// SplitMix64: small, fast, and stable forever.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Approximately normal (Irwin-Hall of 6), mean 0, sd 1.
    pub fn normal(&mut self) -> f64 {
        (0..6).map(|_| self.f64()).sum::<f64>() * std::f64::consts::SQRT_2 - 3.0 * std::f64::consts::SQRT_2
    }

    /// Log-normal multiplier with mean ~1 and the given spread.
    pub fn spread(&mut self, sigma: f64) -> f64 {
        (self.normal() * sigma - sigma * sigma / 2.0).exp()
    }

    pub fn pick<'a, T>(&mut self, items: &'a [(T, f64)]) -> &'a T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.f64() * total;
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        &items[items.len() - 1].0
    }

    pub fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(n);
        s
    }
}

/// One line of aifin's JSONL schema.
#[derive(Serialize, Clone, Debug)]
pub struct NativeLine {
    pub ts: String,
    pub request_id: String,
    pub provider: String,
    pub model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub trace_id: String,
    pub tags: std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "no_usage")]
    pub usage: NativeUsage,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub batch: bool,
    pub latency_ms: u64,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_parts: Option<PartsOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<PromptOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_text: Option<String>,
}

/// Token counts per prompt component, as a gateway that counts them logs.
#[derive(Serialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartsOut {
    pub system: u64,
    pub tools: u64,
    pub context: u64,
    pub history: u64,
    pub user: u64,
    pub output: u64,
}

/// Prompt text per component, for lines that carry text instead of counts.
#[derive(Serialize, Clone, Debug, Default)]
pub struct PromptOut {
    pub system: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<serde_json::Value>,
    pub context: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub history: String,
    pub user: String,
}

/// Splits `input` tokens by `shares` (largest remainder), plus `output`.
pub fn split_parts(input: u64, output: u64, shares: &[f64; 5]) -> PartsOut {
    let total: f64 = shares.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let mut n = [0u64; 5];
    for (k, s) in shares.iter().enumerate() {
        n[k] = (input as f64 * s / total).floor() as u64;
    }
    let rest = input - n.iter().sum::<u64>().min(input);
    let largest = (0..5).max_by(|a, b| shares[*a].total_cmp(&shares[*b])).unwrap_or(0);
    n[largest] += rest;
    PartsOut { system: n[0], tools: n[1], context: n[2], history: n[3], user: n[4], output }
}

/// The `usage` object of aifin's format has the token classes' own names.
pub type NativeUsage = Tokens;

/// No usage at all: the line is written without a `usage` object.
fn no_usage(t: &Tokens) -> bool {
    t.total() == 0
}

/// A workflow of the sample month.
pub struct WorkflowSpec {
    pub name: &'static str,
    pub team: &'static str,
    /// Whether the gateway stamps the team (otherwise the config's owner
    /// map supplies it), and whether it stamps the workflow at all
    /// (otherwise an attribution rule on `tag.app` does).
    pub team_in_log: bool,
    pub workflow_in_log: bool,
    pub calls: u64,
    pub avg_input: u64,
    pub cost_usd: f64,
    /// (model, provider, weight)
    pub models: &'static [(&'static str, &'static str, f64)],
    /// Share of input read from the prompt cache.
    pub cache_share: f64,
    /// Share of output that is reasoning.
    pub reasoning_share: f64,
    pub customers: &'static [(&'static str, f64)],
    pub apps: &'static [(&'static str, f64)],
    pub base_latency_ms: u64,
    /// Share of the input per prompt component: system, tool schemas,
    /// retrieved context, history, latest user turn.
    pub composition: [f64; 5],
}

const CUSTOMERS: &[(&str, f64)] = &[
    ("acme-corp", 9.0),
    ("globex", 7.0),
    ("initech", 5.0),
    ("umbrella-health", 4.0),
    ("hooli", 3.5),
    ("stark-industries", 3.0),
    ("wayne-enterprises", 2.5),
    ("cyberdyne", 2.0),
    ("soylent", 1.5),
    ("tyrell", 1.2),
    ("wonka", 1.0),
    ("massive-dynamic", 0.8),
];

/// The six rows of the paper's ledger at 1/1000 scale.
pub const PAPER_WORKFLOWS: &[WorkflowSpec] = &[
    WorkflowSpec {
        name: "support-copilot",
        team: "CX",
        team_in_log: true,
        workflow_in_log: true,
        calls: 1240,
        avg_input: 6800,
        cost_usd: 41.80,
        models: &[("claude-opus-4-5", "anthropic", 0.9), ("claude-haiku-4-5", "anthropic", 0.1)],
        cache_share: 0.17,
        reasoning_share: 0.0,
        customers: CUSTOMERS,
        apps: &[],
        base_latency_ms: 2400,
        composition: [0.15, 0.10, 0.50, 0.18, 0.07],
    },
    WorkflowSpec {
        name: "contract-extraction",
        team: "Legal Ops",
        team_in_log: true,
        workflow_in_log: true,
        calls: 210,
        avg_input: 12400,
        cost_usd: 24.20,
        models: &[("gpt-5", "openai", 1.0)],
        cache_share: 0.0,
        reasoning_share: 0.7,
        customers: CUSTOMERS,
        apps: &[],
        base_latency_ms: 21000,
        composition: [0.05, 0.02, 0.88, 0.0, 0.05],
    },
    WorkflowSpec {
        name: "sales-research-agent",
        team: "Revenue",
        team_in_log: true,
        workflow_in_log: true,
        calls: 96,
        avg_input: 9100,
        cost_usd: 17.60,
        models: &[("o3-deep-research", "openai", 1.0)],
        cache_share: 0.0,
        reasoning_share: 0.5,
        customers: &[("prospect-northwind", 3.0), ("prospect-contoso", 2.0), ("prospect-fabrikam", 1.0)],
        apps: &[],
        base_latency_ms: 45000,
        composition: [0.08, 0.12, 0.60, 0.15, 0.05],
    },
    WorkflowSpec {
        name: "internal-knowledge-bot",
        team: "IT",
        team_in_log: false,
        workflow_in_log: true,
        calls: 880,
        avg_input: 3200,
        cost_usd: 15.40,
        models: &[("gpt-4o", "openai", 1.0)],
        cache_share: 0.3,
        reasoning_share: 0.0,
        customers: &[("internal", 1.0)],
        apps: &[],
        base_latency_ms: 1900,
        composition: [0.20, 0.05, 0.55, 0.12, 0.08],
    },
    WorkflowSpec {
        name: "marketing-drafting",
        team: "Brand",
        team_in_log: true,
        workflow_in_log: true,
        calls: 140,
        avg_input: 2400,
        cost_usd: 6.60,
        models: &[("claude-sonnet-4-5", "anthropic", 1.0)],
        cache_share: 0.0,
        reasoning_share: 0.0,
        customers: &[("internal", 1.0)],
        apps: &[],
        base_latency_ms: 9000,
        composition: [0.30, 0.0, 0.20, 0.30, 0.20],
    },
    WorkflowSpec {
        name: "everything-else",
        team: "Various",
        team_in_log: false,
        workflow_in_log: false,
        calls: 320,
        avg_input: 1900,
        cost_usd: 4.40,
        models: &[
            ("gpt-4.1", "openai", 0.6),
            ("gemini-2.5-flash", "google", 0.25),
            ("llama-3.3-70b-internal", "self-hosted", 0.15),
        ],
        cache_share: 0.0,
        reasoning_share: 0.0,
        customers: &[],
        apps: &[("slack-summarizer", 4.0), ("meeting-notes", 3.0), ("sql-helper", 2.0), ("translate-bot", 1.0)],
        base_latency_ms: 1500,
        composition: [0.25, 0.05, 0.30, 0.20, 0.20],
    },
];

/// Relative traffic by hour of day (UTC), business-hours heavy.
const HOUR_WEIGHTS: [f64; 24] = [
    0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.4, 0.8, 1.3, 1.7, 1.9, 1.9, 1.6, 1.8, 1.9, 1.8, 1.6, 1.3, 0.9, 0.6, 0.45, 0.35,
    0.25, 0.2,
];

/// A random time in the month starting at `month_start_ms` with `days` days.
fn random_ts(rng: &mut Rng, month_start_ms: i64, days: i64, first_weekday: i64) -> i64 {
    let day_weights: Vec<(i64, f64)> = (0..days)
        .map(|d| {
            let wd = (first_weekday + d) % 7; // 0 = Monday
            (d, if wd >= 5 { 0.35 } else { 1.0 })
        })
        .collect();
    let day = *rng.pick(&day_weights);
    let hours: Vec<(i64, f64)> = HOUR_WEIGHTS.iter().enumerate().map(|(h, w)| (h as i64, *w)).collect();
    let hour = *rng.pick(&hours);
    month_start_ms + day * MS_PER_DAY + hour * MS_PER_HOUR + rng.below(MS_PER_HOUR as u64) as i64
}

fn latency(rng: &mut Rng, base: u64, output: u64) -> u64 {
    ((base as f64 + output as f64 * 12.0) * rng.spread(0.35)).round().max(80.0) as u64
}

fn cost_of(pricer: &mut Pricer, model: &str, provider: &str, usage: &NativeUsage) -> Option<Nanos> {
    let mut rec = CallRecord {
        model: model.to_string(),
        provider: Some(provider.to_string()),
        tokens: *usage,
        ..CallRecord::default()
    };
    pricer.price(&mut rec);
    rec.cost
}

/// Builds one workflow's calls, calibrated to its targets with `pricer`.
fn workflow_lines(
    spec: &WorkflowSpec,
    rng: &mut Rng,
    pricer: &mut Pricer,
    list: &mut Pricer,
    month_start_ms: i64,
    days: i64,
    first_weekday: i64,
) -> Vec<(i64, NativeLine)> {
    let n = spec.calls as usize;
    // Input tokens: log-normal around the mean, then forced to the exact mean.
    let mut input: Vec<f64> = (0..n).map(|_| rng.spread(0.45)).collect();
    let sum: f64 = input.iter().sum();
    let target_total = spec.avg_input * spec.calls;
    let mut ints: Vec<u64> = input.iter_mut().map(|x| ((*x / sum) * target_total as f64).floor() as u64).collect();
    let mut short = target_total - ints.iter().sum::<u64>();
    let mut i = 0;
    while short > 0 {
        ints[i % n] += 1;
        short -= 1;
        i += 1;
    }
    let out_weights: Vec<f64> = (0..n).map(|_| rng.spread(0.5)).collect();
    let models: Vec<(&str, &str)> = (0..n)
        .map(|_| {
            let items: Vec<((&str, &str), f64)> = spec.models.iter().map(|(m, p, w)| ((*m, *p), *w)).collect();
            *rng.pick(&items)
        })
        .collect();
    let usage_for = |k: usize, scale: f64| -> NativeUsage {
        let total_in = ints[k];
        let cached = (total_in as f64 * spec.cache_share).round() as u64;
        let output = (out_weights[k] * scale).round().max(1.0) as u64;
        NativeUsage {
            uncached_input: total_in - cached,
            cache_read: cached,
            cache_write_5m: 0,
            cache_write_1h: 0,
            output,
            reasoning: (output as f64 * spec.reasoning_share).round() as u64,
        }
    };
    let target = Nanos::from_usd_f64(spec.cost_usd).unwrap_or_default().0;
    let total_cost = |pricer: &mut Pricer, scale: f64| -> i64 {
        (0..n).map(|k| cost_of(pricer, models[k].0, models[k].1, &usage_for(k, scale)).map(|c| c.0).unwrap_or(0)).sum()
    };
    // Cost is monotone in the output scale: bisect.
    let (mut lo, mut hi) = (0.0f64, 100_000.0f64);
    for _ in 0..80 {
        let mid = (lo + hi) / 2.0;
        if total_cost(pricer, mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let scale = (lo + hi) / 2.0;

    let users: Vec<(String, f64)> =
        (0..(n / 6).clamp(3, 60)).map(|u| (format!("u_{:04}", 1000 + u * 37 % 9000), 1.0 / (1.0 + u as f64))).collect();
    let mut sessions: Vec<String> = Vec::new();
    (0..n)
        .map(|k| {
            let usage = usage_for(k, scale);
            let (model, provider) = models[k];
            let ts = random_ts(rng, month_start_ms, days, first_weekday);
            let mut tags = std::collections::BTreeMap::new();
            tags.insert("env".to_string(), "prod".to_string());
            let app = (!spec.apps.is_empty()).then(|| rng.pick(spec.apps).to_string());
            if let Some(a) = &app {
                tags.insert("app".to_string(), a.clone());
            }
            let session_id = if spec.name == "support-copilot" {
                if sessions.is_empty() || rng.f64() < 0.3 {
                    sessions.push(format!("conv_{}", rng.hex(12)));
                }
                Some(sessions[sessions.len() - 1 - rng.below(sessions.len().min(4) as u64) as usize].clone())
            } else {
                None
            };
            let error = rng.f64() < 0.007;
            let mut line = NativeLine {
                ts: format_utc(ts),
                request_id: format!("req_{}", rng.hex(24)),
                provider: provider.to_string(),
                model: model.to_string(),
                workflow: spec.workflow_in_log.then(|| spec.name.to_string()),
                team: spec.team_in_log.then(|| spec.team.to_string()),
                customer: (!spec.customers.is_empty()).then(|| rng.pick(spec.customers).to_string()),
                user: rng.pick(&users).clone(),
                session_id,
                trace_id: rng.hex(32),
                tags,
                usage,
                batch: false,
                latency_ms: latency(rng, spec.base_latency_ms, usage.output),
                status: if error { "error" } else { "ok" },
                // What the gateway itself reported: list price.
                cost_usd: cost_of(list, model, provider, &usage).map(|c| c.to_usd_f64()),
                prompt_parts: Some(split_parts(
                    usage.uncached_input + usage.cache_read,
                    usage.output,
                    &spec.composition,
                )),
                prompt: None,
                output_text: None,
            };
            line.prompt = sample_prompt(spec.name, &line.request_id, line.customer.as_deref());
            (ts, line)
        })
        .collect()
}

/// The knowledge bot's frequent questions (asked again and again: the
/// response cache's case) and the pages its retrieval returns for them.
const FAQ: [(&str, &str); 24] = [
    ("How do I reset my SSO password?", "it/sso-reset"),
    ("How do I connect to the VPN from home?", "it/vpn"),
    ("What is the expense limit for a client dinner?", "finance/expenses"),
    ("How many vacation days do I have left?", "hr/leave-balance"),
    ("Where do I find the brand logo files?", "brand/assets"),
    ("How do I request a new laptop?", "it/hardware"),
    ("What is the on-call rotation for payments?", "eng/on-call"),
    ("How do I book a meeting room?", "facilities/rooms"),
    ("Which holidays are paid in Germany?", "hr/holidays-de"),
    ("How do I add someone to a Slack channel?", "it/slack"),
    ("What is our data retention policy?", "legal/retention"),
    ("How do I submit a travel request?", "finance/travel"),
    ("Who approves purchase orders over 10k?", "finance/approvals"),
    ("How do I get access to the data warehouse?", "data/access"),
    ("What is the parental leave policy?", "hr/parental-leave"),
    ("How do I rotate an API key?", "eng/secrets"),
    ("Where is the incident postmortem template?", "eng/postmortems"),
    ("How do I enroll in the pension plan?", "hr/pension"),
    ("What is the guest Wi-Fi password policy?", "it/wifi"),
    ("How do I report a phishing email?", "security/phishing"),
    ("What are the office hours in Lisbon?", "facilities/lisbon"),
    ("How do I change my bank details for payroll?", "hr/payroll"),
    ("How do I install the approved IDE plugins?", "eng/ide"),
    ("What is the process for a customer data request?", "legal/dsar"),
];

const ANGLES: [&str; 6] = [
    "their cloud migration",
    "the procurement process",
    "recent funding",
    "hiring in data teams",
    "competitor contracts",
    "security posture",
];

const ASSETS: [&str; 5] = ["landing page hero", "launch email", "LinkedIn post", "webinar invite", "case study intro"];

/// A tool schema, as the SDK logs it.
fn tool(name: &str, description: &str) -> serde_json::Value {
    serde_json::json!({"name": name, "description": description})
}

/// Prompt text for a subset of the sample month's calls, so that the
/// lever lab can fingerprint them: the workflows whose SDK logs prompts
/// (the knowledge bot, sales research, contract extraction, marketing).
/// The texts are short stand-ins for the real prompts; the line's
/// `prompt_parts` stay the gateway's token counts. Drawn from a generator
/// seeded by the request id, so the rest of the month is unchanged.
pub fn sample_prompt(workflow: &str, request_id: &str, customer: Option<&str>) -> Option<PromptOut> {
    let mut rng = Rng::new(xxhash_rust::xxh3::xxh3_64(request_id.as_bytes()));
    let customer = customer.unwrap_or("internal");
    let p = match workflow {
        "internal-knowledge-bot" => {
            let system = "You are the internal knowledge assistant. Answer from the retrieved pages only, cite each page \
                          you use as [page], and say so when the pages do not answer the question.";
            let tools = serde_json::json!([tool("search_wiki", "Search the company wiki")]);
            // Three calls in five ask a frequent question (Zipf-weighted):
            // the same question retrieves the same pages.
            if rng.f64() < 0.6 {
                let weights: Vec<(usize, f64)> = (0..FAQ.len()).map(|i| (i, 1.0 / (1.0 + i as f64))).collect();
                let (q, page) = FAQ[*rng.pick(&weights)];
                PromptOut {
                    system: system.into(),
                    tools: Some(tools),
                    context: format!("[{page}] (retrieved page, current revision)"),
                    history: String::new(),
                    user: q.into(),
                }
            } else {
                let (q, page) = FAQ[rng.below(FAQ.len() as u64) as usize];
                PromptOut {
                    system: system.into(),
                    tools: Some(tools),
                    context: format!("[{page}] [ticket/{}] (retrieved pages)", 10_000 + rng.below(90_000)),
                    history: format!("user: {q}\nassistant: (earlier answer)"),
                    user: format!(
                        "Follow-up on ticket {}: still failing after step {}",
                        10_000 + rng.below(90_000),
                        1 + rng.below(6)
                    ),
                }
            }
        }
        "sales-research-agent" => PromptOut {
            system: "You are a sales research agent. Build an account brief: company overview, recent news, \
                     decision makers, likely pain points and a first-call agenda. Cite every source."
                .into(),
            tools: Some(serde_json::json!([
                tool("web_search", "Search the web"),
                tool("crm_lookup", "Read the account in the CRM"),
                tool("news_search", "Search recent news")
            ])),
            context: format!("(crm record {customer}, {} search results)", 5 + rng.below(20)),
            history: String::new(),
            user: format!(
                "Research {customer} ahead of the call on day {}: focus on {}.",
                1 + rng.below(28),
                ANGLES[rng.below(ANGLES.len() as u64) as usize]
            ),
        },
        "contract-extraction" => PromptOut {
            system: "Extract the parties, term, renewal, termination notice, liability cap, governing law and \
                     payment terms from the contract. Answer with the JSON schema given; null when absent."
                .into(),
            tools: Some(serde_json::json!([tool("emit_fields", "Return the extracted fields")])),
            context: format!("(contract {}, {} pages)", rng.hex(8), 4 + rng.below(60)),
            history: String::new(),
            user: format!("Extract the fields of the {customer} contract."),
        },
        "marketing-drafting" => PromptOut {
            system: "Write in the Brand voice guide's tone: plain, warm, specific; no superlatives; sentence case \
                     headlines; one call to action."
                .into(),
            tools: None,
            context: "(brand voice guide v7)".into(),
            history: format!("(draft {}, {} revisions)", rng.hex(6), rng.below(4)),
            user: format!(
                "Draft the {} for the {} campaign, about {} words.",
                ASSETS[rng.below(ASSETS.len() as u64) as usize],
                ["autumn launch", "partner summit", "year-end", "pricing update"][rng.below(4) as usize],
                50 * (1 + rng.below(8))
            ),
        },
        _ => return None,
    };
    Some(p)
}

/// Writes the sample month (October 2026) to `out`, sorted by time.
/// `pricer` prices with the sample config (calibration); `list` with the
/// catalog only (the gateway's reported cost).
pub fn paper_month<W: Write>(out: &mut W, pricer: &mut Pricer, list: &mut Pricer, seed: u64) -> io::Result<u64> {
    let mut rng = Rng::new(seed);
    let month_start = days_from_civil(2026, 10, 1) * MS_PER_DAY;
    // 2026-10-01 is a Thursday (Monday = 0).
    let first_weekday = 3;
    let mut all: Vec<(i64, NativeLine)> = Vec::new();
    for spec in PAPER_WORKFLOWS {
        all.extend(workflow_lines(spec, &mut rng, pricer, list, month_start, 31, first_weekday));
    }
    all.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.request_id.cmp(&b.1.request_id)));
    for (_, line) in &all {
        serde_json::to_writer(&mut *out, line)?;
        out.write_all(b"\n")?;
    }
    Ok(all.len() as u64)
}

const BULK_WORKFLOWS: [(&str, &str); 12] = [
    ("support-copilot", "CX"),
    ("contract-extraction", "Legal Ops"),
    ("sales-research-agent", "Revenue"),
    ("internal-knowledge-bot", "IT"),
    ("marketing-drafting", "Brand"),
    ("code-review-bot", "Platform"),
    ("invoice-parser", "Finance"),
    ("search-rerank", "Platform"),
    ("onboarding-guide", "CX"),
    ("churn-predictor", "Revenue"),
    ("translation", "Brand"),
    ("sql-assistant", "Data"),
];

const BULK_MODELS: [(&str, &str); 8] = [
    ("claude-opus-4-5", "anthropic"),
    ("claude-sonnet-4-5", "anthropic"),
    ("claude-haiku-4-5", "anthropic"),
    ("gpt-5", "openai"),
    ("gpt-4.1", "openai"),
    ("gpt-4o-mini", "openai"),
    ("gemini-2.5-pro", "google"),
    ("gemini-2.5-flash", "google"),
];

/// A realistic native line at time `ts` (used by [`bulk`] and the demo).
pub fn random_line(rng: &mut Rng, ts: i64) -> NativeLine {
    let (workflow, team) = BULK_WORKFLOWS[rng.below(12) as usize];
    let (model, provider) = BULK_MODELS[rng.below(8) as usize];
    let input = (3000.0 * rng.spread(0.8)).round() as u64 + 50;
    let cached = if rng.f64() < 0.4 { (input as f64 * rng.f64() * 0.8) as u64 } else { 0 };
    let output = (400.0 * rng.spread(0.7)).round() as u64 + 1;
    let mut tags = std::collections::BTreeMap::new();
    tags.insert("env".to_string(), if rng.f64() < 0.9 { "prod" } else { "staging" }.to_string());
    tags.insert("region".to_string(), ["us-east-1", "eu-west-1", "ap-south-1"][rng.below(3) as usize].to_string());
    tags.insert("app_version".to_string(), format!("2.{}.{}", rng.below(12), rng.below(30)));
    NativeLine {
        ts: format_utc(ts),
        request_id: format!("req_{}", rng.hex(32)),
        provider: provider.to_string(),
        model: model.to_string(),
        workflow: Some(workflow.to_string()),
        team: Some(team.to_string()),
        customer: Some(CUSTOMERS[rng.below(CUSTOMERS.len() as u64) as usize].0.to_string()),
        user: format!("u_{:05}", rng.below(20_000)),
        session_id: Some(format!("sess_{}", rng.hex(16))),
        trace_id: rng.hex(32),
        tags,
        usage: NativeUsage {
            uncached_input: input - cached,
            cache_read: cached,
            cache_write_5m: 0,
            cache_write_1h: 0,
            output,
            reasoning: 0,
        },
        batch: false,
        latency_ms: latency(rng, 1500, output),
        status: if rng.f64() < 0.02 { "error" } else { "ok" },
        cost_usd: Some(((input as f64 * 2.0e-6 + output as f64 * 8.0e-6) * 1e6).round() / 1e6),
        prompt_parts: None,
        prompt: None,
        output_text: None,
    }
}

/// Writes `lines` random lines spread evenly over `days` days ending at
/// `end_ms`, in time order.
pub fn bulk<W: Write>(out: &mut W, lines: u64, days: i64, end_ms: i64, seed: u64) -> io::Result<u64> {
    let mut rng = Rng::new(seed);
    let span = days * MS_PER_DAY;
    let start = end_ms - span;
    for i in 0..lines {
        let ts = start + (i as i128 * span as i128 / lines.max(1) as i128) as i64;
        serde_json::to_writer(&mut *out, &random_line(&mut rng, ts))?;
        out.write_all(b"\n")?;
    }
    Ok(lines)
}

const WORDS: &str = "the quick brown fox jumps over the lazy dog while the build runs and tests pass \
refactor the parser to stream lines instead of loading the whole file into memory then add a benchmark \
fn main() { let x = vec![1, 2, 3]; for i in x { println!(value {i}); } } error[E0502]: cannot borrow \
as mutable because it is also borrowed as immutable help: consider cloning the value Compiling aifin \
warning: unused variable tokens ledger cost attribution workflow customer team forecast rollup writer ";

fn text(rng: &mut Rng, len: usize) -> String {
    let mut s = String::with_capacity(len);
    while s.len() < len {
        let start = rng.below(WORDS.len() as u64 - 40) as usize;
        let take = (len - s.len()).min(WORDS.len() - start);
        s.push_str(&WORDS[start..start + take]);
    }
    s
}

/// Text of `base` plus up to `extra` characters.
fn text_between(rng: &mut Rng, base: usize, extra: u64) -> String {
    let len = base + rng.below(extra) as usize;
    text(rng, len)
}

fn uuid(rng: &mut Rng) -> String {
    let h = rng.hex(32);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

struct CcCtx<'a> {
    session: &'a str,
    cwd: &'a str,
    sidechain: bool,
    agent: Option<&'a str>,
}

impl CcCtx<'_> {
    fn head(&self, parent: &str, uuid: &str, ts: i64, kind: &str) -> String {
        let agent = self.agent.map(|a| format!(r#","agentId":"{a}""#)).unwrap_or_default();
        format!(
            r#"{{"parentUuid":"{parent}","isSidechain":{},"userType":"external","cwd":"{}","sessionId":"{}","version":"2.1.114","gitBranch":"main"{agent},"type":"{kind}","uuid":"{uuid}","timestamp":"{}""#,
            self.sidechain,
            self.cwd,
            self.session,
            format_utc(ts)
        )
    }
}

/// One assistant response written as `blocks` lines with growing usage,
/// as Claude Code does. Returns the lines.
#[allow(clippy::too_many_arguments)]
fn cc_assistant(
    rng: &mut Rng,
    ctx: &CcCtx,
    msg_id: &str,
    req_id: &str,
    model: &str,
    ts: i64,
    cache_read: u64,
    blocks: usize,
) -> Vec<String> {
    let input = 1 + rng.below(9);
    let (w5, w1) = if rng.f64() < 0.3 { (0, rng.below(6000)) } else { (rng.below(4000), 0) };
    let final_out = 20 + (600.0 * rng.spread(0.9)) as u64;
    (0..blocks)
        .map(|b| {
            let out = if b + 1 == blocks { final_out } else { final_out * (b as u64 + 1) / (blocks as u64 + 1) };
            let body = match b % 3 {
                0 => format!(
                    r#"{{"type":"thinking","thinking":"{}"}}"#,
                    text_between(rng, 20, 100)
                ),
                1 => format!(r#"{{"type":"text","text":"{}"}}"#, text_between(rng, 20, 100)),
                _ => format!(
                    r#"{{"type":"tool_use","id":"toolu_{}","name":"Bash","input":{{"command":"cargo test","description":"{}"}}}}"#,
                    rng.hex(24),
                    text(rng, 20)
                ),
            };
            let stop = if b + 1 == blocks { r#""tool_use""# } else { "null" };
            let u = uuid(rng);
            format!(
                r#"{},"message":{{"id":"{msg_id}","type":"message","role":"assistant","model":"{model}","content":[{body}],"stop_reason":{stop},"stop_sequence":null,"usage":{{"input_tokens":{input},"cache_creation_input_tokens":{},"cache_read_input_tokens":{cache_read},"cache_creation":{{"ephemeral_5m_input_tokens":{w5},"ephemeral_1h_input_tokens":{w1}}},"output_tokens":{out},"service_tier":"standard"}}}},"requestId":"{req_id}"}}"#,
                ctx.head(&uuid(rng), &u, ts + b as i64 * 700, "assistant"),
                w5 + w1,
            )
        })
        .collect()
}

/// Writes a Claude Code `projects/` tree of about `target_lines` lines
/// under `root`: sessions with user turns, tool results and multi-line
/// assistant responses, sub-agent files with sidechain replays, summaries
/// and snapshots. Returns (lines, bytes).
pub fn claude_code_tree(root: &std::path::Path, target_lines: u64, end_ms: i64, seed: u64) -> io::Result<(u64, u64)> {
    let mut rng = Rng::new(seed);
    let (mut lines, mut bytes) = (0u64, 0u64);
    let models =
        [("claude-sonnet-4-5-20250929", 0.6), ("claude-opus-4-5-20251101", 0.25), ("claude-haiku-4-5-20251001", 0.15)];
    let mut session_no = 0;
    while lines < target_lines {
        session_no += 1;
        let project = format!("-Users-dev-project-{:02}", session_no % 30);
        let dir = root.join("projects").join(&project);
        std::fs::create_dir_all(&dir)?;
        let session = uuid(&mut rng);
        let cwd = format!("/Users/dev/project-{:02}", session_no % 30);
        let ctx = CcCtx { session: &session, cwd: &cwd, sidechain: false, agent: None };
        let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(format!("{session}.jsonl")))?);
        let mut ts = end_ms - 30 * MS_PER_DAY + rng.below(29 * MS_PER_DAY as u64) as i64;
        let turns = 40 + (300.0 * rng.spread(0.8)) as usize;
        let mut cache = 8_000 + rng.below(12_000);
        let mut replayable: Vec<String> = Vec::new();
        let mut write = |out: &mut std::io::BufWriter<std::fs::File>, l: &str| -> io::Result<()> {
            out.write_all(l.as_bytes())?;
            out.write_all(b"\n")?;
            lines += 1;
            bytes += l.len() as u64 + 1;
            Ok(())
        };
        for t in 0..turns {
            ts += 5_000 + rng.below(90_000) as i64;
            let u = uuid(&mut rng);
            let user = if t % 4 == 0 {
                format!(
                    r#"{},"message":{{"role":"user","content":"{}"}}}}"#,
                    ctx.head(&uuid(&mut rng), &u, ts, "user"),
                    text_between(&mut rng, 20, 100)
                )
            } else {
                format!(
                    r#"{},"message":{{"role":"user","content":[{{"tool_use_id":"toolu_{}","type":"tool_result","content":"{}","is_error":false}}]}}}}"#,
                    ctx.head(&uuid(&mut rng), &u, ts, "user"),
                    rng.hex(24),
                    {
                        let n = 20 + (120.0 * rng.spread(1.0)) as usize;
                        text(&mut rng, n)
                    }
                )
            };
            write(&mut out, &user)?;
            let model = *rng.pick(&models);
            let msg_id = format!("msg_01{}", rng.hex(22));
            let req_id = format!("req_011C{}", rng.hex(18));
            cache = (cache + rng.below(3000)).min(150_000);
            let blocks = 1 + rng.below(3) as usize;
            for l in cc_assistant(&mut rng, &ctx, &msg_id, &req_id, model, ts + 1500, cache, blocks) {
                write(&mut out, &l)?;
            }
            if rng.f64() < 0.05 {
                replayable.push(msg_id.clone());
            }
            if rng.f64() < 0.03 {
                let snap = format!(
                    r#"{{"type":"file-history-snapshot","messageId":"{}","snapshot":{{"messageId":"{}","trackedFileBackups":{{}},"timestamp":"{}"}},"isSnapshotUpdate":false}}"#,
                    uuid(&mut rng),
                    uuid(&mut rng),
                    format_utc(ts)
                );
                write(&mut out, &snap)?;
            }
        }
        write(
            &mut out,
            &format!(r#"{{"type":"summary","summary":"{}","leafUuid":"{}"}}"#, text(&mut rng, 40), uuid(&mut rng)),
        )?;
        out.flush()?;
        // Some sessions run sub-agents; their files replay a few parent
        // messages (same message id, new request id) as sidechains.
        if rng.f64() < 0.15 {
            let sub = dir.join(&session).join("subagents");
            std::fs::create_dir_all(&sub)?;
            let agent = rng.hex(8);
            let sctx = CcCtx { session: &session, cwd: &cwd, sidechain: true, agent: Some(&agent) };
            let mut sout = std::io::BufWriter::new(std::fs::File::create(sub.join(format!("agent-{agent}.jsonl")))?);
            for m in &replayable {
                let req = format!("req_011C{}", rng.hex(18));
                for l in cc_assistant(&mut rng, &sctx, m, &req, "claude-sonnet-4-5-20250929", ts, cache, 1) {
                    write(&mut sout, &l)?;
                }
            }
            for _ in 0..(10 + rng.below(60)) {
                ts += 3_000;
                let msg_id = format!("msg_01{}", rng.hex(22));
                let req_id = format!("req_011C{}", rng.hex(18));
                for l in cc_assistant(&mut rng, &sctx, &msg_id, &req_id, "claude-haiku-4-5-20251001", ts, 5_000, 2) {
                    write(&mut sout, &l)?;
                }
            }
            sout.flush()?;
        }
    }
    Ok((lines, bytes))
}

/// A Claude Code `projects/` tree of about `target_lines` lines in 400
/// session files over 25 days: streamed responses (1-3 copies of each
/// line, as Claude Code writes one per content block) from four models,
/// with about 10% user prompts, summaries and snapshots. Returns (lines,
/// bytes).
pub fn claude_code_dense_tree(
    root: &std::path::Path,
    target_lines: u64,
    end_ms: i64,
    seed: u64,
) -> io::Result<(u64, u64)> {
    const FILES: u64 = 400;
    let mut rng = Rng::new(seed);
    let (mut lines, mut bytes) = (0u64, 0u64);
    let models = [
        ("claude-sonnet-4-5-20250929", 0.5),
        ("claude-opus-4-5-20251101", 0.2),
        ("claude-haiku-4-5-20251001", 0.2),
        ("claude-opus-4-6", 0.1),
    ];
    for f in 0..FILES {
        let per_file = target_lines / FILES + u64::from(f < target_lines % FILES);
        let project = format!("-Users-dev-project-{:02}", f % 30);
        let dir = root.join("projects").join(&project);
        std::fs::create_dir_all(&dir)?;
        let session = uuid(&mut rng);
        let cwd = format!("/Users/dev/project-{:02}", f % 30);
        let ctx = CcCtx { session: &session, cwd: &cwd, sidechain: false, agent: None };
        let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(format!("{session}.jsonl")))?);
        let mut ts = end_ms - 25 * MS_PER_DAY + rng.below(24 * MS_PER_DAY as u64) as i64;
        let mut cache = 8_000 + rng.below(12_000);
        let mut written = 0u64;
        while written < per_file {
            ts += 2_000 + rng.below(20_000) as i64;
            let mut emit = |l: &str| -> io::Result<()> {
                out.write_all(l.as_bytes())?;
                out.write_all(b"\n")?;
                written += 1;
                lines += 1;
                bytes += l.len() as u64 + 1;
                Ok(())
            };
            if rng.f64() < 0.1 {
                let l = match rng.below(3) {
                    0 => format!(
                        r#"{},"message":{{"role":"user","content":"{}"}}}}"#,
                        ctx.head(&uuid(&mut rng), &uuid(&mut rng), ts, "user"),
                        text_between(&mut rng, 100, 400)
                    ),
                    1 => format!(
                        r#"{{"type":"summary","summary":"{}","leafUuid":"{}"}}"#,
                        text(&mut rng, 60),
                        uuid(&mut rng)
                    ),
                    _ => format!(
                        r#"{{"type":"file-history-snapshot","messageId":"{}","snapshot":{{"messageId":"{}","trackedFileBackups":{{}},"timestamp":"{}"}},"isSnapshotUpdate":false}}"#,
                        uuid(&mut rng),
                        uuid(&mut rng),
                        format_utc(ts)
                    ),
                };
                emit(&l)?;
                continue;
            }
            let model = *rng.pick(&models);
            let msg_id = format!("msg_01{}", rng.hex(22));
            let req_id = format!("req_011C{}", rng.hex(18));
            cache = (cache + rng.below(3000)).min(150_000);
            let copies = 1 + rng.below(3) as usize;
            for l in cc_assistant(&mut rng, &ctx, &msg_id, &req_id, model, ts, cache, copies) {
                emit(&l)?;
            }
        }
        out.flush()?;
    }
    Ok((lines, bytes))
}

/// Mean output tokens per call of each paper workflow (same order as
/// [`PAPER_WORKFLOWS`]), as in the sample month.
pub const PAPER_OUTPUT_MEANS: [u64; 6] = [464, 9974, 2308, 1070, 2663, 2038];

/// One live line for a paper workflow (the demo's traffic), at time `ts`.
/// `heavy` makes a runaway call (long context, long output).
pub fn paper_line(rng: &mut Rng, w: usize, ts: i64, heavy: bool) -> NativeLine {
    let spec = &PAPER_WORKFLOWS[w % PAPER_WORKFLOWS.len()];
    let items: Vec<((&str, &str), f64)> = spec.models.iter().map(|(m, p, wt)| ((*m, *p), *wt)).collect();
    let (model, provider) = *rng.pick(&items);
    let scale = if heavy { 3.0 } else { 1.0 };
    let input = ((spec.avg_input as f64) * rng.spread(0.45) * scale).round().max(50.0) as u64;
    let cached = (input as f64 * spec.cache_share).round() as u64;
    let output = ((PAPER_OUTPUT_MEANS[w % 6] as f64) * rng.spread(0.5) * scale).round().max(1.0) as u64;
    let mut tags = std::collections::BTreeMap::new();
    tags.insert("env".to_string(), "prod".to_string());
    if !spec.apps.is_empty() {
        tags.insert("app".to_string(), rng.pick(spec.apps).to_string());
    }
    let mut line = NativeLine {
        ts: format_utc(ts),
        request_id: format!("req_{}", rng.hex(24)),
        provider: provider.to_string(),
        model: model.to_string(),
        workflow: spec.workflow_in_log.then(|| spec.name.to_string()),
        team: spec.team_in_log.then(|| spec.team.to_string()),
        customer: (!spec.customers.is_empty()).then(|| rng.pick(spec.customers).to_string()),
        user: format!("u_{:04}", 1000 + rng.below(40)),
        session_id: None,
        trace_id: rng.hex(32),
        tags,
        usage: NativeUsage {
            uncached_input: input - cached,
            cache_read: cached,
            cache_write_5m: 0,
            cache_write_1h: 0,
            output,
            reasoning: (output as f64 * spec.reasoning_share).round() as u64,
        },
        batch: false,
        latency_ms: latency(rng, spec.base_latency_ms, output),
        status: if rng.f64() < 0.007 { "error" } else { "ok" },
        cost_usd: None,
        prompt_parts: Some(split_parts(input, output, &spec.composition)),
        prompt: None,
        output_text: None,
    };
    let (workflow, id) = (spec.name, line.request_id.clone());
    line.prompt = sample_prompt(workflow, &id, line.customer.as_deref());
    line
}

/// A line from an SDK that logs the prompt text but, for some calls, no
/// usage: the tokenizer counts its components and fills in the usage.
pub fn text_line(rng: &mut Rng, ts: i64, with_usage: bool) -> NativeLine {
    let mut line = paper_line(rng, 3, ts, false);
    let system = "You are the internal knowledge assistant. Answer from the retrieved pages only and cite them.";
    let context = text_between(rng, 1200, 2400);
    let user = text_between(rng, 60, 240);
    let output = text_between(rng, 200, 800);
    line.prompt_parts = None;
    line.prompt = Some(PromptOut { system: system.to_string(), context, user, ..PromptOut::default() });
    line.output_text = Some(output);
    if !with_usage {
        line.usage = NativeUsage::default();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        assert_eq!((0..5).map(|_| a.next_u64()).collect::<Vec<_>>(), (0..5).map(|_| b.next_u64()).collect::<Vec<_>>());
        let x = Rng::new(1).f64();
        assert!((0.0..1.0).contains(&x));
    }

    #[test]
    fn bulk_lines_parse_as_native() {
        let mut buf = Vec::new();
        bulk(&mut buf, 50, 1, 1_790_000_000_000, 3).unwrap();
        let mut d = crate::formats::Detector::new(None);
        let mut out = Vec::new();
        for line in buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            d.parse_line(line, &mut out).unwrap();
        }
        assert_eq!(out.len(), 50);
    }

    #[test]
    fn claude_code_trees_parse_cleanly() {
        let d = tempfile::tempdir().unwrap();
        let (lines, _) = claude_code_tree(d.path(), 3000, 1_790_000_000_000, 5).unwrap();
        assert!(lines >= 3000);
        let mut parsed = 0u64;
        for e in walkdir::WalkDir::new(d.path()).into_iter().flatten().filter(|e| e.file_type().is_file()) {
            let text = std::fs::read(e.path()).unwrap();
            let mut det = crate::formats::Detector::new(None);
            let mut out = Vec::new();
            for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                det.parse_line(line, &mut out).unwrap();
                parsed += 1;
            }
            assert!(out.iter().all(|r| r.format == Some(crate::domain::record::Format::ClaudeCode)));
        }
        assert_eq!(parsed, lines);
    }
}
