//! The levers as the command line spells them:
//! `--compress system=30,history=50` (or `input=30%`),
//! `--route to=MODEL[,share=P][,if-output-le=N][,if-input-le=N][,customer=GLOB][,team=GLOB][,ratio=R]`,
//! `--cap input=N|pNN,output=N|pNN`.
//! Percentages accept `30` or `30%` (two decimals at most) and are kept
//! as basis points; token counts are integers.

use super::Lever;
use crate::domain::record::Tokens;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{flag}: {message}")]
pub struct SpecError {
    pub flag: &'static str,
    pub message: String,
}

fn err(flag: &'static str, message: impl Into<String>) -> SpecError {
    SpecError { flag, message: message.into() }
}

/// A percentage in basis points: `30`, `30%`, `12.5%` (0-100).
pub fn parse_pct(flag: &'static str, s: &str) -> Result<u32, SpecError> {
    let t = s.trim().trim_end_matches('%');
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let bad = || err(flag, format!("'{s}' is not a percentage; write 30 or 30% (two decimals at most)"));
    if whole.is_empty() || frac.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let w: u32 = whole.parse().map_err(|_| bad())?;
    let f: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().map_err(|_| bad())? };
    let bp = w.checked_mul(100).and_then(|v| v.checked_add(f)).ok_or_else(bad)?;
    if bp > 10_000 {
        return Err(err(flag, format!("'{s}' is over 100%")));
    }
    Ok(bp)
}

fn parse_tokens(flag: &'static str, key: &str, s: &str) -> Result<u64, SpecError> {
    s.trim().parse().map_err(|_| err(flag, format!("{key}={s}: a token count is a whole number such as 2000")))
}

/// `key=value` pairs separated by commas.
fn pairs<'a>(flag: &'static str, s: &'a str) -> Result<Vec<(&'a str, &'a str)>, SpecError> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| err(flag, format!("'{p}' is not key=value")))
        })
        .collect()
}

/// Compression: a cut per prompt component, and/or of all input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Compress {
    /// system, tools, context, history, user (basis points).
    pub parts: [Option<u32>; 5],
    /// All input, where the composition is unknown (or when no component
    /// is named).
    pub input: Option<u32>,
}

impl Compress {
    pub const PARTS: [&'static str; 5] = ["system", "tools", "context", "history", "user"];

    pub fn parse(s: &str) -> Result<Compress, SpecError> {
        let mut c = Compress::default();
        for (k, v) in pairs("--compress", s)? {
            let bp = parse_pct("--compress", v)?;
            match Compress::PARTS.iter().position(|p| *p == k) {
                Some(i) => c.parts[i] = Some(bp),
                None if k == "input" => c.input = Some(bp),
                None => {
                    return Err(err(
                        "--compress",
                        format!("unknown component '{k}'; use system, tools, context, history, user or input"),
                    ));
                }
            }
        }
        if c.parts.iter().all(Option::is_none) && c.input.is_none() {
            return Err(err("--compress", "name at least one component, e.g. system=30,history=50 or input=30"));
        }
        Ok(c)
    }

    pub fn any_part(&self) -> bool {
        self.parts.iter().any(Option::is_some)
    }

    pub fn describe(&self) -> String {
        let mut v: Vec<String> = Compress::PARTS
            .iter()
            .zip(self.parts)
            .filter_map(|(n, bp)| bp.map(|b| format!("{n} -{}", pct(b))))
            .collect();
        if let Some(b) = self.input {
            v.push(format!("input -{}", pct(b)));
        }
        v.join(", ")
    }
}

fn pct(bp: u32) -> String {
    if bp.is_multiple_of(100) { format!("{}%", bp / 100) } else { format!("{}.{:02}%", bp / 100, bp % 100) }
}

/// Routing: matching calls sent to another catalog model.
#[derive(Clone, Debug)]
pub struct Route {
    pub to: String,
    pub share_bp: u32,
    pub if_output_le: Option<u64>,
    pub if_input_le: Option<u64>,
    pub customer: Option<globset::GlobMatcher>,
    pub team: Option<globset::GlobMatcher>,
    /// Tokens carried over times this (basis points of 1.0).
    pub ratio_bp: u32,
}

impl Route {
    pub fn parse(s: &str) -> Result<Route, SpecError> {
        let f = "--route";
        let mut r = Route {
            to: String::new(),
            share_bp: 10_000,
            if_output_le: None,
            if_input_le: None,
            customer: None,
            team: None,
            ratio_bp: 10_000,
        };
        let glob = |k: &str, v: &str| {
            globset::Glob::new(v).map(|g| g.compile_matcher()).map_err(|e| err(f, format!("{k}={v}: {e}")))
        };
        for (k, v) in pairs(f, s)? {
            match k {
                "to" => r.to = v.to_string(),
                "share" => r.share_bp = parse_pct(f, v)?,
                "if-output-le" => r.if_output_le = Some(parse_tokens(f, k, v)?),
                "if-input-le" => r.if_input_le = Some(parse_tokens(f, k, v)?),
                "customer" => r.customer = Some(glob(k, v)?),
                "team" => r.team = Some(glob(k, v)?),
                "ratio" => {
                    let ratio: f64 = v.parse().map_err(|_| err(f, format!("ratio={v}: a ratio such as 1.2")))?;
                    if !(0.0..=10.0).contains(&ratio) {
                        return Err(err(f, format!("ratio={v}: between 0 and 10")));
                    }
                    r.ratio_bp = (ratio * 10_000.0).round() as u32;
                }
                _ => {
                    return Err(err(
                        f,
                        format!("unknown key '{k}'; use to, share, if-output-le, if-input-le, customer, team or ratio"),
                    ));
                }
            }
        }
        if r.to.is_empty() {
            return Err(err(f, "name the target model: to=MODEL"));
        }
        Ok(r)
    }

    /// Whether an admitted call (with its tokens after earlier levers) is
    /// routed: within the token filters and in the share, chosen by its
    /// dedupe key (the same calls every run).
    pub fn picks(&self, dedupe_key: i64, t: &Tokens) -> bool {
        if self.if_output_le.is_some_and(|n| t.output > n) || self.if_input_le.is_some_and(|n| t.input_total() > n) {
            return false;
        }
        let h = xxhash_rust::xxh3::xxh3_64(&dedupe_key.to_le_bytes());
        (h % 10_000) < self.share_bp as u64
    }

    pub fn describe(&self) -> String {
        let mut s = format!("{} of calls to {}", pct(self.share_bp), self.to);
        if let Some(n) = self.if_output_le {
            s.push_str(&format!(", output <= {n}"));
        }
        if let Some(n) = self.if_input_le {
            s.push_str(&format!(", input <= {n}"));
        }
        if let Some(g) = &self.customer {
            s.push_str(&format!(", customer {}", g.glob()));
        }
        if let Some(g) = &self.team {
            s.push_str(&format!(", team {}", g.glob()));
        }
        if self.ratio_bp != 10_000 {
            s.push_str(&format!(", tokens x{}", self.ratio_bp as f64 / 10_000.0));
        }
        s
    }
}

/// A token limit: a count or a percentile of the workflow's calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Tokens(u64),
    Percentile(u8),
}

impl Limit {
    pub fn tokens(&self) -> Option<u64> {
        match self {
            Limit::Tokens(n) => Some(*n),
            Limit::Percentile(_) => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Limit::Tokens(n) => n.to_string(),
            Limit::Percentile(p) => format!("p{p}"),
        }
    }
}

/// Policy caps on input and output tokens.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cap {
    pub input: Option<Limit>,
    pub output: Option<Limit>,
}

impl Cap {
    pub fn parse(s: &str) -> Result<Cap, SpecError> {
        let f = "--cap";
        let mut c = Cap::default();
        for (k, v) in pairs(f, s)? {
            let limit = match v.strip_prefix('p') {
                Some(p) => match p.parse::<u8>() {
                    Ok(p) if (1..=100).contains(&p) => Limit::Percentile(p),
                    _ => return Err(err(f, format!("{k}={v}: a percentile is p1 to p100"))),
                },
                None => Limit::Tokens(parse_tokens(f, k, v)?),
            };
            match k {
                "input" => c.input = Some(limit),
                "output" => c.output = Some(limit),
                _ => return Err(err(f, format!("unknown key '{k}'; use input or output"))),
            }
        }
        if c.input.is_none() && c.output.is_none() {
            return Err(err(f, "name a cap, e.g. input=p95,output=2000"));
        }
        Ok(c)
    }

    pub fn describe(&self) -> String {
        let mut v = Vec::new();
        if let Some(l) = &self.input {
            v.push(format!("input <= {}", l.describe()));
        }
        if let Some(l) = &self.output {
            v.push(format!("output <= {}", l.describe()));
        }
        v.join(", ")
    }
}

/// Caching: a prompt-prefix cache and/or a response cache, with TTLs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cache {
    /// The prefix cache's TTL: 5 minutes or 1 hour.
    pub prefix_ttl_ms: Option<i64>,
    /// The 1-hour prefix cache (written at the 1-hour write price).
    pub prefix_1h: bool,
    pub response_ttl_ms: Option<i64>,
}

/// A TTL in the largest unit that divides it (`1 d`, `90 min`, `30 s`).
fn duration(ms: i64) -> String {
    match ms {
        m if m % 86_400_000 == 0 => format!("{} d", m / 86_400_000),
        m if m % 3_600_000 == 0 => format!("{} h", m / 3_600_000),
        m if m % 60_000 == 0 => format!("{} min", m / 60_000),
        m => format!("{} s", m / 1000),
    }
}

/// A duration: `30s`, `10m`, `1h`, `1d`.
fn parse_ttl(flag: &'static str, key: &str, v: &str) -> Result<i64, SpecError> {
    let bad = || err(flag, format!("{key}={v}: a duration such as 5m, 1h or 30s"));
    let (n, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(ms).filter(|v| *v > 0).ok_or_else(bad)
}

impl Cache {
    pub fn parse(s: &str) -> Result<Cache, SpecError> {
        let f = "--cache";
        let mut c = Cache::default();
        for (k, v) in pairs(f, s)? {
            match k {
                "prefix" => match v {
                    "5m" => c.prefix_ttl_ms = Some(300_000),
                    "1h" => {
                        c.prefix_ttl_ms = Some(3_600_000);
                        c.prefix_1h = true;
                    }
                    _ => return Err(err(f, format!("prefix={v}: the prompt caches keep a prefix 5m or 1h"))),
                },
                "response" => c.response_ttl_ms = Some(parse_ttl(f, k, v)?),
                _ => return Err(err(f, format!("unknown key '{k}'; use prefix or response"))),
            }
        }
        if c.prefix_ttl_ms.is_none() && c.response_ttl_ms.is_none() {
            return Err(err(f, "name a cache, e.g. prefix=5m,response=10m"));
        }
        Ok(c)
    }

    pub fn describe(&self) -> String {
        let mut v = Vec::new();
        if self.prefix_ttl_ms.is_some() {
            v.push(format!("prompt prefix cached {}", if self.prefix_1h { "1 h" } else { "5 min" }));
        }
        if let Some(t) = self.response_ttl_ms {
            v.push(format!("responses cached {}", duration(t)));
        }
        v.join(", ")
    }
}

/// The levers set for a replay.
#[derive(Clone, Debug, Default)]
pub struct LeverSet {
    pub compress: Option<Compress>,
    pub route: Option<Route>,
    pub cap: Option<Cap>,
    pub cache: Option<Cache>,
}

impl LeverSet {
    pub fn has(&self, l: Lever) -> bool {
        match l {
            Lever::Policy => self.cap.is_some(),
            Lever::Compression => self.compress.is_some(),
            Lever::Caching => self.cache.is_some(),
            Lever::Routing => self.route.is_some(),
        }
    }

    pub fn describe(&self, l: Lever) -> String {
        match l {
            Lever::Policy => self.cap.as_ref().map(Cap::describe),
            Lever::Compression => self.compress.as_ref().map(Compress::describe),
            Lever::Caching => self.cache.as_ref().map(Cache::describe),
            Lever::Routing => self.route.as_ref().map(Route::describe),
        }
        .unwrap_or_default()
    }
}
