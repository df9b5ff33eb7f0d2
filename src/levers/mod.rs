//! The lever lab: the stored calls priced again as if a lever had been
//! pulled (compression, routing, policy caps), alone and composed, with
//! the same pricing code as the ledger.
//!
//! A lever's effect is `reprice(call with the lever) - reprice(call)`, so
//! a change of prices or config since the calls were stored never leaks
//! into a saving. Percentages are basis points and token cuts are rounded
//! integers: every figure is an exact sum of per-call nano-dollars.
//!
//! Order of composition, per call: policy, then compression, then routing
//! (caching, when measured, comes before routing).

pub mod spec;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::domain::money::Nanos;
use crate::domain::record::Tokens;
use crate::pricing::cost::{CostInput, compute};
use crate::pricing::entry::PriceEntry;
use crate::pricing::{Catalog, Pricer};
pub use spec::{Cache, Cap, Compress, LeverSet, Limit, Route};

/// The levers, in the order of composition; their names are the gate's
/// `--lever` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lever {
    Policy,
    Compression,
    Caching,
    Routing,
}

impl Lever {
    pub const ALL: [Lever; 4] = [Lever::Policy, Lever::Compression, Lever::Caching, Lever::Routing];

    pub fn name(self) -> &'static str {
        match self {
            Lever::Policy => "policy",
            Lever::Compression => "compression",
            Lever::Caching => "caching",
            Lever::Routing => "routing",
        }
    }
}

/// A stored call with what its price depends on.
#[derive(Clone, Debug, Default)]
pub struct Call {
    pub ts: i64,
    pub dedupe_key: i64,
    pub provider: Option<Arc<str>>,
    pub model: Arc<str>,
    pub workflow: Arc<str>,
    pub team: Arc<str>,
    pub customer: Arc<str>,
    pub tokens: Tokens,
    pub batch: bool,
    pub service_tier: Option<Arc<str>>,
    pub inference_geo: Option<Arc<str>>,
    pub speed: Option<Arc<str>>,
    pub region: Option<Arc<str>>,
    /// The cost stored at ingest (`None`: unpriced or pending).
    pub cost: Option<Nanos>,
    /// Prompt composition (system, tools, context, history, user), when
    /// the log gave it or the tokenizer counted it.
    pub parts: Option<[u64; 5]>,
    /// Keyed fingerprints (this ledger's key) of the stable prefix and of
    /// the whole prompt, when the prompt text was seen.
    pub prefix: Option<i64>,
    pub prompt: Option<i64>,
}

/// A call after levers: its tokens and, when routed, the target entry.
#[derive(Clone, Debug)]
struct Applied {
    tokens: Tokens,
    target: Option<Arc<PriceEntry>>,
    touched: [bool; 4],
    /// Compression asked for components this call has no composition for.
    not_measurable: bool,
}

/// Per-workflow context: the percentiles the caps name.
#[derive(Clone, Copy, Debug, Default)]
struct WorkflowLimits {
    input: Option<u64>,
    output: Option<u64>,
}

/// What a set of levers does to one group of calls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Priced calls in the group.
    pub calls: u64,
    /// Calls the ledger could not price (left out of every figure).
    pub unpriced_calls: u64,
    /// The stored cost of the priced calls.
    pub stored: Nanos,
    /// The same calls priced again with no lever (equals `stored` unless
    /// prices or config changed since ingest).
    pub replayed: Nanos,
    /// Per lever alone: (spend with it, calls it touched).
    pub single: BTreeMap<Lever, (Nanos, u64)>,
    /// All levers set, composed.
    pub composed: Nanos,
    pub composed_touched: u64,
    /// The levers whose evidence is a promotion, composed.
    pub proven: Nanos,
    /// Calls compression could not measure (no composition, no `input=`).
    pub not_measurable: u64,
}

impl Outcome {
    pub fn saving(&self, l: Lever) -> Option<Nanos> {
        self.single.get(&l).map(|(s, _)| Nanos(self.replayed.0 - s.0))
    }

    pub fn composed_saving(&self) -> Nanos {
        Nanos(self.replayed.0 - self.composed.0)
    }

    pub fn naive_sum(&self) -> Nanos {
        Nanos(self.single.values().map(|(s, _)| self.replayed.0 - s.0).sum())
    }

    pub fn proven_saving(&self) -> Nanos {
        Nanos(self.replayed.0 - self.proven.0)
    }

    pub fn add(&mut self, o: &Outcome) {
        self.calls += o.calls;
        self.unpriced_calls += o.unpriced_calls;
        self.stored += o.stored;
        self.replayed += o.replayed;
        for (l, (s, t)) in &o.single {
            let e = self.single.entry(*l).or_default();
            e.0 += *s;
            e.1 += t;
        }
        self.composed += o.composed;
        self.composed_touched += o.composed_touched;
        self.proven += o.proven;
        self.not_measurable += o.not_measurable;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(
        "--route to={0}: the catalog has no price for '{0}'; pick a priced model (see `aifin prices {0}`) or add it under [pricing.models]"
    )]
    UnpricedTarget(String),
    #[error("reading the calls: {0}")]
    Store(#[from] rusqlite::Error),
}

/// The replay of a set of levers over calls, per workflow and in total.
#[derive(Clone, Debug, Default)]
pub struct Replay {
    pub workflows: BTreeMap<String, Outcome>,
    pub total: Outcome,
    /// What the caching lever measured.
    pub cache: Option<CacheStats>,
}

/// What caching would have done to a call (decided in time order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CacheDecision {
    /// No fingerprint: not measurable.
    #[default]
    NotMeasurable,
    /// Measured; nothing cacheable (a prefix under the minimum size, or
    /// the call already read from cache).
    Unchanged,
    /// The whole prompt repeated within the response TTL: free.
    ResponseHit,
    /// The prefix was cached: read at the cache-read price.
    PrefixHit,
    /// The prefix was written to the cache (at the cache-write price).
    PrefixWrite,
}

/// Hit rates the caching lever measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Calls with fingerprints (the others cannot be measured).
    pub measurable: u64,
    pub not_measurable: u64,
    pub response_hits: u64,
    pub prefix_hits: u64,
    pub prefix_writes: u64,
    /// Calls that read from the cache already (left as they are).
    pub already_cached: u64,
}

/// Prompts shorter than this are not cached (Anthropic's and OpenAI's
/// minimum for most models).
pub const MIN_CACHEABLE_TOKENS: u64 = 1_024;

/// The call's stable prefix (system and tools) in tokens, scaled to its
/// current input.
fn prefix_tokens(c: &Call, t: &Tokens) -> u64 {
    let Some(p) = c.parts else { return 0 };
    let sum: u64 = p.iter().sum();
    if sum == 0 {
        return 0;
    }
    (((p[0] + p[1]) as u128 * t.input_total() as u128 + sum as u128 / 2) / sum as u128) as u64
}

/// Decides, in time order, which calls hit a response or prefix cache.
/// A prefix hit refreshes its TTL; a response is cached from its first
/// sight for its TTL.
pub fn cache_plan(calls: &[Call], cache: &spec::Cache) -> (Vec<CacheDecision>, CacheStats) {
    let mut order: Vec<usize> = (0..calls.len()).collect();
    order.sort_by_key(|i| (calls[*i].ts, *i));
    let mut out = vec![CacheDecision::NotMeasurable; calls.len()];
    let mut stats = CacheStats::default();
    let mut responses: std::collections::HashMap<(&str, i64), i64> = std::collections::HashMap::new();
    let mut prefixes: std::collections::HashMap<(&str, i64), i64> = std::collections::HashMap::new();
    for i in order {
        let c = &calls[i];
        let Some(prompt) = c.prompt else {
            stats.not_measurable += 1;
            continue;
        };
        stats.measurable += 1;
        let mut d = CacheDecision::Unchanged;
        if let Some(ttl) = cache.response_ttl_ms {
            match responses.get(&(c.model.as_ref(), prompt)) {
                Some(t0) if c.ts - t0 <= ttl => d = CacheDecision::ResponseHit,
                _ => {
                    responses.insert((c.model.as_ref(), prompt), c.ts);
                }
            }
        }
        if d == CacheDecision::Unchanged
            && let (Some(ttl), Some(prefix)) = (cache.prefix_ttl_ms, c.prefix)
            && prefix_tokens(c, &c.tokens) >= MIN_CACHEABLE_TOKENS
        {
            let key = (c.model.as_ref(), prefix);
            let warm = prefixes.get(&key).is_some_and(|t0| c.ts - t0 <= ttl);
            prefixes.insert(key, c.ts);
            if c.tokens.cache_read > 0 {
                stats.already_cached += 1;
            } else {
                d = if warm { CacheDecision::PrefixHit } else { CacheDecision::PrefixWrite };
            }
        }
        match d {
            CacheDecision::ResponseHit => stats.response_hits += 1,
            CacheDecision::PrefixHit => stats.prefix_hits += 1,
            CacheDecision::PrefixWrite => stats.prefix_writes += 1,
            _ => {}
        }
        out[i] = d;
    }
    (out, stats)
}

/// Replays `levers` over `calls`. `proven(lever, workflow)` says whether
/// the lever's latest gate run for the workflow promoted it. The calls are
/// split between two threads (each with its own pricer); the sums are
/// integers, so the split changes nothing in the result.
pub fn replay(
    calls: &[Call],
    levers: &LeverSet,
    catalog: Arc<Catalog>,
    proven: &(dyn Fn(Lever, &str) -> bool + Sync),
) -> Result<Replay, ReplayError> {
    let mut pricer = Pricer::new(Arc::clone(&catalog));
    let target = match &levers.route {
        Some(r) => Some(pricer.resolve(None, &r.to).ok_or_else(|| ReplayError::UnpricedTarget(r.to.clone()))?.1),
        None => None,
    };
    let limits = workflow_limits(calls, levers.cap.as_ref());
    let (decisions, cache_stats) = match &levers.cache {
        Some(cache) => {
            let (d, s) = cache_plan(calls, cache);
            (d, Some(s))
        }
        None => (Vec::new(), None),
    };
    let ctx = Ctx { levers, limits: &limits, target: target.as_ref(), proven };
    let mut out = if calls.len() < 20_000 {
        replay_part(calls, &decisions, &ctx, &mut pricer)
    } else {
        let (a, b) = calls.split_at(calls.len() / 2);
        let (da, db) = decisions.split_at(decisions.len().min(a.len()));
        std::thread::scope(|s| {
            let other = s.spawn(|| replay_part(b, db, &ctx, &mut Pricer::new(Arc::clone(&catalog))));
            let mut first = replay_part(a, da, &ctx, &mut pricer);
            let second = other.join().expect("a replay thread panicked");
            for (w, o) in second.workflows {
                first.workflows.entry(w).or_default().add(&o);
            }
            first
        })
    };
    for o in out.workflows.values() {
        out.total.add(o);
    }
    out.cache = cache_stats;
    Ok(out)
}

/// What every part of a replay shares.
struct Ctx<'a> {
    levers: &'a LeverSet,
    limits: &'a std::collections::HashMap<String, WorkflowLimits>,
    target: Option<&'a Arc<PriceEntry>>,
    proven: &'a (dyn Fn(Lever, &str) -> bool + Sync),
}

fn replay_part(calls: &[Call], decisions: &[CacheDecision], ctx: &Ctx, pricer: &mut Pricer) -> Replay {
    let levers = ctx.levers;
    let target = ctx.target;
    let set: Vec<Lever> = Lever::ALL.into_iter().filter(|l| levers.has(*l)).collect();
    let mut out = Replay::default();
    for (i, c) in calls.iter().enumerate() {
        if !out.workflows.contains_key(c.workflow.as_ref()) {
            out.workflows.insert(c.workflow.to_string(), Outcome::default());
        }
        let o = out.workflows.get_mut(c.workflow.as_ref()).expect("inserted above");
        let base = match (c.cost, price(pricer, c, &c.tokens, None)) {
            (Some(stored), Some(b)) => {
                o.stored += stored;
                b
            }
            _ => {
                o.unpriced_calls += 1;
                continue;
            }
        };
        o.calls += 1;
        o.replayed += base;
        let lim = ctx.limits.get(c.workflow.as_ref()).copied().unwrap_or_default();
        let d = decisions.get(i).copied().unwrap_or_default();
        for l in &set {
            let a = apply(c, levers, &[*l], &lim, target, d);
            let cost = price(pricer, c, &a.tokens, a.target.as_ref()).unwrap_or(base);
            let e = o.single.entry(*l).or_default();
            e.0 += cost;
            e.1 += a.touched.iter().any(|t| *t) as u64;
        }
        let a = apply(c, levers, &set, &lim, target, d);
        o.not_measurable += a.not_measurable as u64;
        o.composed += price(pricer, c, &a.tokens, a.target.as_ref()).unwrap_or(base);
        o.composed_touched += a.touched.iter().any(|t| *t) as u64;
        let proven_set: Vec<Lever> = set.iter().copied().filter(|l| (ctx.proven)(*l, &c.workflow)).collect();
        o.proven += if proven_set.is_empty() {
            base
        } else {
            let a = apply(c, levers, &proven_set, &lim, target, d);
            price(pricer, c, &a.tokens, a.target.as_ref()).unwrap_or(base)
        };
    }
    out
}

/// The call's price for `tokens`, at its own model or at `target`.
fn price(pricer: &mut Pricer, c: &Call, tokens: &Tokens, target: Option<&Arc<PriceEntry>>) -> Option<Nanos> {
    let routed = target.is_some();
    let input = CostInput {
        tokens: *tokens,
        batch: c.batch,
        // A routed call leaves its provider's tiers and locations behind.
        service_tier: if routed { None } else { c.service_tier.as_deref() },
        inference_geo: if routed { None } else { c.inference_geo.as_deref() },
        speed: if routed { None } else { c.speed.as_deref() },
        region: if routed { None } else { c.region.as_deref() },
        ts_ms: Some(c.ts),
    };
    match target {
        Some(e) => compute(e, &input).map(|c| c.total),
        None => {
            let (_, e) = pricer.resolve(c.provider.as_deref(), &c.model)?;
            compute(&e, &input).map(|c| c.total)
        }
    }
}

/// Nearest-rank percentiles of input and output per workflow, for the
/// caps given as `pNN`.
fn workflow_limits(calls: &[Call], cap: Option<&Cap>) -> std::collections::HashMap<String, WorkflowLimits> {
    let mut out = std::collections::HashMap::new();
    let Some(cap) = cap else { return out };
    let wants = |l: &Option<Limit>| matches!(l, Some(Limit::Percentile(_)));
    if !wants(&cap.input) && !wants(&cap.output) {
        return out;
    }
    let mut by: BTreeMap<&str, (Vec<u64>, Vec<u64>)> = BTreeMap::new();
    for c in calls.iter().filter(|c| c.cost.is_some()) {
        let e = by.entry(c.workflow.as_ref()).or_default();
        e.0.push(c.tokens.input_total());
        e.1.push(c.tokens.output);
    }
    for (w, (mut i, mut o)) in by {
        let pick = |v: &mut Vec<u64>, l: &Option<Limit>| match l {
            Some(Limit::Percentile(p)) => Some(percentile(v, *p)),
            Some(Limit::Tokens(n)) => Some(*n),
            None => None,
        };
        out.insert(
            w.to_string(),
            WorkflowLimits { input: pick(&mut i, &cap.input), output: pick(&mut o, &cap.output) },
        );
    }
    out
}

/// The nearest-rank `p`th percentile (the smallest value with at least p%
/// of the values at or below it).
pub fn percentile(v: &mut [u64], p: u8) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let rank = (p as usize * v.len()).div_ceil(100).max(1);
    v[rank - 1]
}

/// Takes `n` tokens off the input classes in `order` (0 uncached, 1 cache
/// read, 2 5-minute write, 3 1-hour write).
fn take(t: &mut Tokens, mut n: u64, order: [u8; 4]) {
    for class in order {
        if n == 0 {
            break;
        }
        let slot = match class {
            0 => &mut t.uncached_input,
            1 => &mut t.cache_read,
            2 => &mut t.cache_write_5m,
            _ => &mut t.cache_write_1h,
        };
        let k = n.min(*slot);
        *slot -= k;
        n -= k;
    }
}

/// `n × bp / 10000`, rounded half up, in integers.
fn bp_of(n: u64, bp: u32) -> u64 {
    ((n as u128 * bp as u128 + 5_000) / 10_000) as u64
}

const UNCACHED_FIRST: [u8; 4] = [0, 1, 2, 3];
const CACHED_FIRST: [u8; 4] = [1, 0, 2, 3];

fn apply(
    c: &Call,
    levers: &LeverSet,
    set: &[Lever],
    lim: &WorkflowLimits,
    target: Option<&Arc<PriceEntry>>,
    decision: CacheDecision,
) -> Applied {
    let mut a = Applied { tokens: c.tokens, target: None, touched: [false; 4], not_measurable: false };
    for l in Lever::ALL.into_iter().filter(|l| set.contains(l)) {
        let before = a.tokens;
        match l {
            Lever::Policy => {
                if let Some(max) = lim.input.or(levers.cap.as_ref().and_then(|c| c.input.as_ref()?.tokens()))
                    && a.tokens.input_total() > max
                {
                    let excess = a.tokens.input_total() - max;
                    take(&mut a.tokens, excess, UNCACHED_FIRST);
                }
                if let Some(max) = lim.output.or(levers.cap.as_ref().and_then(|c| c.output.as_ref()?.tokens()))
                    && a.tokens.output > max
                {
                    a.tokens.output = max;
                    a.tokens.reasoning = a.tokens.reasoning.min(max);
                }
                a.touched[0] = a.tokens != before;
            }
            Lever::Compression => {
                let Some(cmp) = &levers.compress else { continue };
                let input = a.tokens.input_total();
                match (c.parts, cmp.any_part()) {
                    (Some(parts), true) => {
                        // Components scaled to the call's reported input.
                        let sum: u64 = parts.iter().sum();
                        if sum > 0 {
                            let cut = |i: usize| -> u64 {
                                cmp.parts[i].map_or(0, |bp| {
                                    ((parts[i] as u128 * input as u128 * bp as u128 + sum as u128 * 5_000)
                                        / (sum as u128 * 10_000)) as u64
                                })
                            };
                            // System and tools come off cache reads first
                            // when the call read from cache.
                            let cached = cut(0) + cut(1);
                            take(&mut a.tokens, cached, CACHED_FIRST);
                            let rest = cut(2) + cut(3) + cut(4);
                            take(&mut a.tokens, rest, UNCACHED_FIRST);
                        }
                    }
                    (None, true) if cmp.input.is_none() => a.not_measurable = true,
                    _ => {
                        if let Some(bp) = cmp.input {
                            take(&mut a.tokens, bp_of(input, bp), UNCACHED_FIRST);
                        }
                    }
                }
                a.touched[1] = a.tokens != before;
            }
            Lever::Caching => {
                let Some(cache) = &levers.cache else { continue };
                match decision {
                    CacheDecision::ResponseHit => a.tokens = Tokens::default(),
                    CacheDecision::PrefixHit | CacheDecision::PrefixWrite => {
                        let n = prefix_tokens(c, &a.tokens).min(a.tokens.uncached_input);
                        a.tokens.uncached_input -= n;
                        match (decision, cache.prefix_1h) {
                            (CacheDecision::PrefixHit, _) => a.tokens.cache_read += n,
                            (_, true) => a.tokens.cache_write_1h += n,
                            _ => a.tokens.cache_write_5m += n,
                        }
                    }
                    _ => {}
                }
                a.touched[2] = a.tokens != before;
            }
            Lever::Routing => {
                let Some(r) = &levers.route else { continue };
                if r.matches(c, &a.tokens) {
                    let t = &mut a.tokens;
                    let s = |v: u64| ((v as u128 * r.ratio_bp as u128 + 5_000) / 10_000) as u64;
                    *t = Tokens {
                        uncached_input: s(t.uncached_input),
                        cache_read: s(t.cache_read),
                        cache_write_5m: s(t.cache_write_5m),
                        cache_write_1h: s(t.cache_write_1h),
                        output: s(t.output),
                        reasoning: s(t.reasoning),
                    };
                    a.target = target.cloned();
                    a.touched[3] = true;
                }
            }
        }
    }
    a
}

/// The calls of a window (and workflow) with what their price depends
/// on, read once: the replay of another lever setting reads nothing.
pub fn load(
    conn: &rusqlite::Connection,
    window: crate::store::queries::Window,
    workflow: Option<&str>,
) -> rusqlite::Result<Vec<Call>> {
    use crate::store::queries::RAW_WHERE;
    let mut names: std::collections::HashMap<String, Arc<str>> = std::collections::HashMap::new();
    let mut intern = |s: &str| -> Arc<str> {
        if let Some(a) = names.get(s) {
            return Arc::clone(a);
        }
        let a: Arc<str> = s.into();
        names.insert(s.to_string(), Arc::clone(&a));
        a
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT c.ts, c.dedupe_key, c.provider, c.model, COALESCE(c.workflow, ''), COALESCE(c.team, ''),
                COALESCE(c.customer, ''), c.uncached_input, c.cache_read, c.cache_write_5m, c.cache_write_1h,
                c.output, c.reasoning, c.batch, c.service_tier, c.inference_geo, c.speed, c.region, c.cost_nano,
                p.system, p.tools, p.context, p.history, p.user, h.prefix, h.prompt
         FROM calls c LEFT JOIN prompt_parts p ON p.dedupe_ts = c.dedupe_ts AND p.dedupe_key = c.dedupe_key
         LEFT JOIN prompt_hashes h ON h.dedupe_ts = c.dedupe_ts AND h.dedupe_key = c.dedupe_key AND h.key_id = ''
         WHERE {RAW_WHERE} AND (?3 IS NULL OR COALESCE(c.workflow, '') = ?3) AND c.pending = 0"
    ))?;
    let since = window.since.unwrap_or(i64::MIN / 2);
    let until = window.until.unwrap_or(i64::MAX / 2);
    let mut q = stmt.query(rusqlite::params![since, until, workflow])?;
    let mut out = Vec::new();
    while let Some(r) = q.next()? {
        let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
        let mut opt =
            |i: usize| -> rusqlite::Result<Option<Arc<str>>> { Ok(r.get_ref(i)?.as_str_or_null()?.map(&mut intern)) };
        let provider = opt(2)?;
        let (tier, geo, speed, region) = (opt(14)?, opt(15)?, opt(16)?, opt(17)?);
        let parts = match r.get::<_, Option<i64>>(19)? {
            Some(_) => Some([n(19)?, n(20)?, n(21)?, n(22)?, n(23)?]),
            None => None,
        };
        out.push(Call {
            ts: r.get(0)?,
            dedupe_key: r.get(1)?,
            provider,
            model: intern(r.get_ref(3)?.as_str()?),
            workflow: intern(r.get_ref(4)?.as_str()?),
            team: intern(r.get_ref(5)?.as_str()?),
            customer: intern(r.get_ref(6)?.as_str()?),
            tokens: crate::store::queries::tokens_at(r, 7)?,
            batch: r.get::<_, i64>(13)? != 0,
            service_tier: tier,
            inference_geo: geo,
            speed,
            region,
            cost: r.get::<_, Option<i64>>(18)?.map(Nanos),
            parts,
            prefix: r.get(24)?,
            prompt: r.get(25)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
