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

mod calls;
pub mod spec;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::domain::money::Nanos;
use crate::domain::record::Tokens;
use rustc_hash::FxHashMap;

use crate::pricing::cost::{CostInput, Sheet};
use crate::pricing::entry::PriceEntry;
use crate::pricing::{Catalog, Pricer};
pub use calls::CallSet;
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

/// Per-workflow context: the percentiles the caps name.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WorkflowLimits {
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

    /// The forecast's cost factors: spend with the levers composed, and
    /// with each alone, over spend without (1.0 when nothing was spent).
    pub fn factors(&self) -> crate::forecast::ReplayFactors {
        let f = |spend: Nanos| if self.replayed.0 > 0 { spend.0 as f64 / self.replayed.0 as f64 } else { 1.0 };
        let mut alone = [None; 4];
        for (i, (l, (s, _))) in self.single.iter().enumerate() {
            alone[i] = Some((l.name(), f(*s)));
        }
        crate::forecast::ReplayFactors { composed: f(self.composed), alone }
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

impl CacheStats {
    fn add(&mut self, o: &CacheStats) {
        self.measurable += o.measurable;
        self.not_measurable += o.not_measurable;
        self.response_hits += o.response_hits;
        self.prefix_hits += o.prefix_hits;
        self.prefix_writes += o.prefix_writes;
        self.already_cached += o.already_cached;
    }
}

/// The call's stable prefix (system and tools) in tokens, scaled to its
/// current input.
fn prefix_tokens(parts: Option<[u32; 5]>, t: &Tokens) -> u64 {
    let Some(p) = parts else { return 0 };
    let sum: u64 = p.iter().map(|v| u64::from(*v)).sum();
    if sum == 0 {
        return 0;
    }
    let prefix = u64::from(p[0]) + u64::from(p[1]);
    ((prefix as u128 * t.input_total() as u128 + sum as u128 / 2) / sum as u128) as u64
}

/// Decides, in time order, which calls hit a response or prefix cache.
/// A prefix hit refreshes its TTL; a response is cached from its first
/// sight for its TTL; a prefix shorter than its model's minimum
/// (`min_cacheable`, per price context) is not cached. The last two plans
/// are kept with the calls for the next replay.
fn cache_plan(set: &CallSet, cache: &spec::Cache, min_cacheable: &Arc<[u64]>) -> Arc<calls::Plan> {
    let key: calls::PlanKey = (cache.clone(), Arc::clone(min_cacheable));
    if let Some((_, p)) = set.memo.lock().expect("lever memo").plans.iter().find(|(k, _)| *k == key) {
        return Arc::clone(p);
    }
    let rows = &set.rows;
    let order: Option<Vec<u32>> = (!rows.iter().is_sorted_by_key(|r| r.ts)).then(|| {
        let mut o: Vec<u32> = (0..rows.len() as u32).collect();
        // Stable: calls of the same time keep their order.
        o.sort_by_key(|i| rows[*i as usize].ts);
        o
    });
    // Each model's calls are planned on their own (a cache is per model):
    // the models are dealt to two threads by their number of calls.
    let mut per_model = vec![0u64; set.names.len()];
    for r in rows {
        per_model[set.ctxs[r.ctx as usize].model as usize] += 1;
    }
    let mut by_size: Vec<usize> = (0..per_model.len()).filter(|m| per_model[*m] > 0).collect();
    by_size.sort_by_key(|m| std::cmp::Reverse(per_model[*m]));
    let mut second = vec![false; per_model.len()];
    let (mut load_a, mut load_b) = (0u64, 0u64);
    for m in by_size {
        if load_b < load_a {
            second[m] = true;
            load_b += per_model[m];
        } else {
            load_a += per_model[m];
        }
    }
    let plan_of = |mine: bool| plan_models(set, order.as_deref(), cache, min_cacheable, &second, mine);
    let ((mut out, mut stats), (b_out, b_stats)) = if rows.len() < 20_000 || load_b == 0 {
        (plan_of(false), plan_of(true))
    } else {
        std::thread::scope(|sc| {
            let other = sc.spawn(|| plan_of(true));
            let first = plan_of(false);
            (first, other.join().expect("a cache plan thread panicked"))
        })
    };
    for (i, r) in rows.iter().enumerate() {
        if second[set.ctxs[r.ctx as usize].model as usize] {
            out[i] = b_out[i];
        }
    }
    stats.add(&b_stats);
    let plan = Arc::new((out, stats));
    let mut memo = set.memo.lock().expect("lever memo");
    if memo.plans.len() >= 2 {
        memo.plans.remove(0);
    }
    memo.plans.push((key, Arc::clone(&plan)));
    plan
}

/// The plan of the calls whose model is (`mine` true) or is not in
/// `second`, in time order (`order`, or the rows' own).
fn plan_models(
    set: &CallSet,
    order: Option<&[u32]>,
    cache: &spec::Cache,
    min_cacheable: &[u64],
    second: &[bool],
    mine: bool,
) -> calls::Plan {
    let rows = &set.rows;
    let mut out = vec![CacheDecision::NotMeasurable; rows.len()];
    let mut stats = CacheStats::default();
    let model = |r: &calls::Row| set.ctxs[r.ctx as usize].model;
    let mut responses: FxHashMap<(u32, i64), i64> = FxHashMap::default();
    let mut prefixes: FxHashMap<(u32, i64), i64> = FxHashMap::default();
    let n = rows.len() as u32;
    // The calls come in time order: an entry older than its TTL can never
    // be hit again, so the maps are swept of them as they double (they
    // stay the size of a TTL's traffic, in the processor's cache).
    let (mut sweep_r, mut sweep_p) = (4_096, 4_096);
    let mut each = |i: u32| {
        let c = &rows[i as usize];
        if second[model(c) as usize] != mine {
            return;
        }
        let Some(prompt) = c.prompt() else {
            stats.not_measurable += 1;
            return;
        };
        stats.measurable += 1;
        let mut d = CacheDecision::Unchanged;
        if let Some(ttl) = cache.response_ttl_ms {
            match responses.entry((model(c), prompt)) {
                std::collections::hash_map::Entry::Occupied(mut t0) => {
                    if c.ts - t0.get() <= ttl {
                        d = CacheDecision::ResponseHit;
                    } else {
                        t0.insert(c.ts);
                    }
                }
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(c.ts);
                    if responses.len() >= sweep_r {
                        responses.retain(|_, t0| c.ts - *t0 <= ttl);
                        sweep_r = (2 * responses.len()).max(4_096);
                    }
                }
            }
        }
        if d == CacheDecision::Unchanged
            && let (Some(ttl), Some(prefix)) = (cache.prefix_ttl_ms, c.prefix())
            && prefix_tokens(c.parts(), &c.tokens) >= min_cacheable[c.ctx as usize]
        {
            let warm = match prefixes.insert((model(c), prefix), c.ts) {
                Some(t0) => c.ts - t0 <= ttl,
                None => {
                    if prefixes.len() >= sweep_p {
                        prefixes.retain(|_, t0| c.ts - *t0 <= ttl);
                        sweep_p = (2 * prefixes.len()).max(4_096);
                    }
                    false
                }
            };
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
        out[i as usize] = d;
    };
    match order {
        Some(o) => o.iter().for_each(|i| each(*i)),
        None => (0..n).for_each(each),
    }
    (out, stats)
}

/// The prefix cache replayed under one TTL (caching alone).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TtlSide {
    pub saving: Nanos,
    pub writes: u64,
    pub hits: u64,
}

/// One model's side of the TTL choice: its cache prices as multiples of
/// its input price and the writes each TTL made.
#[derive(Clone, Debug, PartialEq)]
pub struct TtlModel {
    pub model: String,
    pub write_5m_x: f64,
    pub write_1h_x: f64,
    pub read_x: f64,
    pub writes_5m: u64,
    pub writes_1h: u64,
}

impl TtlModel {
    /// Every prefix-eligible call is a write or a read under either TTL,
    /// so the 1-hour cache costs less exactly when `writes_1h × (w1h - r)
    /// < writes_5m × (w5m - r)`: it pays when it turns at least this
    /// fraction of the 5-minute writes into reads (0.395 at Anthropic's
    /// 2x, 1.25x and 0.1x of input).
    pub fn break_even(&self) -> Option<f64> {
        let (long, short) = (self.write_1h_x - self.read_x, self.write_5m_x - self.read_x);
        (long > 0.0).then(|| 1.0 - short / long)
    }

    /// The fraction of the 5-minute writes the 1-hour cache turned into
    /// reads (measured).
    pub fn turned(&self) -> Option<f64> {
        (self.writes_5m > 0).then(|| (self.writes_5m as f64 - self.writes_1h as f64) / self.writes_5m as f64)
    }
}

/// The prompt-prefix cache under the 5-minute and the 1-hour TTL, each
/// replayed alone over the same calls (a response cache, when set, is
/// kept in both).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TtlComparison {
    pub five_min: TtlSide,
    pub one_hour: TtlSide,
    /// The models with a prefix written under either TTL.
    pub models: Vec<TtlModel>,
}

/// Replays the prefix cache of `cache` under both TTLs (the cockpit
/// switches between them; the report states both and the break-even).
/// `own`: the caching lever's saving at `cache`'s own TTL when a replay
/// already measured it (then only the other TTL is replayed).
pub fn compare_ttls(
    set: &CallSet,
    cache: &Cache,
    catalog: Arc<Catalog>,
    own: Option<Nanos>,
) -> Result<TtlComparison, ReplayError> {
    let mut out = TtlComparison::default();
    let mut pricer = Pricer::new(Arc::clone(&catalog));
    let entries: Vec<Option<Arc<PriceEntry>>> =
        set.ctxs.iter().map(|c| pricer.resolve(c.provider.as_deref(), set.name(c.model)).map(|(_, e)| e)).collect();
    let min_cacheable: Arc<[u64]> =
        entries.iter().map(|e| e.as_ref().map_or(u64::MAX, |e| e.min_cacheable())).collect();
    let mut writes: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    for one_hour in [false, true] {
        let c = Cache {
            prefix_ttl_ms: Some(if one_hour { 3_600_000 } else { 300_000 }),
            prefix_1h: one_hour,
            response_ttl_ms: cache.response_ttl_ms,
        };
        let saving = match own {
            Some(s) if one_hour == cache.prefix_1h => s,
            _ => {
                let levers = LeverSet { cache: Some(c.clone()), ..LeverSet::default() };
                let r = replay(set, &levers, Arc::clone(&catalog), &|_, _| false)?;
                r.total.saving(Lever::Caching).unwrap_or_default()
            }
        };
        let plan = cache_plan(set, &c, &min_cacheable);
        let side = TtlSide { saving, writes: plan.1.prefix_writes, hits: plan.1.prefix_hits };
        for (row, d) in set.rows.iter().zip(&plan.0) {
            if *d == CacheDecision::PrefixWrite {
                let e = writes.entry(row.ctx).or_default();
                if one_hour { e.1 += 1 } else { e.0 += 1 }
            }
        }
        if one_hour {
            out.one_hour = side;
        } else {
            out.five_min = side;
        }
    }
    let mut by_model: BTreeMap<String, TtlModel> = BTreeMap::new();
    for (ctx, (w5, w1)) in writes {
        let Some(e) = &entries[ctx as usize] else { continue };
        let price = |c: crate::pricing::entry::PriceClass| e.lookup(c, None, None);
        use crate::pricing::entry::PriceClass as P;
        let Some(input) = price(P::Input).filter(|p| *p > 0) else { continue };
        let w5x = price(P::CacheWrite5m).unwrap_or(input);
        let w1x = price(P::CacheWrite1h).unwrap_or(w5x);
        let x = |p: i128| p as f64 / input as f64;
        let m = by_model.entry(set.name(set.ctxs[ctx as usize].model).to_string()).or_insert_with(|| TtlModel {
            model: set.name(set.ctxs[ctx as usize].model).to_string(),
            write_5m_x: x(w5x),
            write_1h_x: x(w1x),
            read_x: x(price(P::CacheRead).unwrap_or(input)),
            writes_5m: 0,
            writes_1h: 0,
        });
        m.writes_5m += w5;
        m.writes_1h += w1;
    }
    out.models = by_model.into_values().collect();
    Ok(out)
}

/// A lever's bit in a set of levers.
fn bit(l: Lever) -> u8 {
    1 << l as u8
}

/// Replays `levers` over the calls. `proven(lever, workflow)` says
/// whether the lever's latest gate run for the workflow promoted it. The
/// calls are split between two threads; the sums are integers, so the
/// split changes nothing in the result.
pub fn replay(
    set: &CallSet,
    levers: &LeverSet,
    catalog: Arc<Catalog>,
    proven: &(dyn Fn(Lever, &str) -> bool + Sync),
) -> Result<Replay, ReplayError> {
    let mut pricer = Pricer::new(catalog);
    let target = match &levers.route {
        Some(r) => Some(pricer.resolve(None, &r.to).ok_or_else(|| ReplayError::UnpricedTarget(r.to.clone()))?.1),
        None => None,
    };
    let entries: Vec<Option<Arc<PriceEntry>>> =
        set.ctxs.iter().map(|c| pricer.resolve(c.provider.as_deref(), set.name(c.model)).map(|(_, e)| e)).collect();
    let limits = workflow_limits(set, levers.cap.as_ref());
    let min_cacheable: Arc<[u64]> =
        entries.iter().map(|e| e.as_ref().map_or(u64::MAX, |e| e.min_cacheable())).collect();
    let plan = levers.cache.as_ref().map(|c| cache_plan(set, c, &min_cacheable));
    // Per name id: whether the route's customer and team filters pass.
    let passes = |g: fn(&spec::Route) -> Option<&globset::GlobMatcher>| -> Vec<bool> {
        match &levers.route {
            Some(r) => set.names.iter().map(|n| g(r).is_none_or(|g| g.is_match(n.as_ref()))).collect(),
            None => Vec::new(),
        }
    };
    let ctx = Ctx {
        set,
        levers,
        mask: Lever::ALL.into_iter().filter(|l| levers.has(*l)).fold(0, |m, l| m | bit(l)),
        limits: &limits,
        plan: plan.as_ref().map(|p| p.0.as_slice()),
        target: target.as_ref(),
        entries: &entries,
        customer_ok: passes(|r| r.customer.as_ref()),
        team_ok: passes(|r| r.team.as_ref()),
        proven,
    };
    let rows = &set.rows;
    let mut out = Replay::default();
    let mut absorb = |part: FxHashMap<u32, Acc>| {
        for (w, a) in part {
            out.workflows.entry(set.name(w).to_string()).or_default().add(&a.outcome(ctx.mask));
        }
    };
    if rows.len() < 20_000 {
        absorb(replay_part(&ctx, 0..rows.len()));
    } else {
        let mid = rows.len() / 2;
        let (first, second) = std::thread::scope(|s| {
            let other = s.spawn(|| replay_part(&ctx, mid..rows.len()));
            (replay_part(&ctx, 0..mid), other.join().expect("a replay thread panicked"))
        });
        absorb(first);
        absorb(second);
    }
    for o in out.workflows.values() {
        out.total.add(o);
    }
    out.cache = plan.map(|p| p.1);
    Ok(out)
}

/// What every part of a replay shares.
struct Ctx<'a> {
    set: &'a CallSet,
    levers: &'a LeverSet,
    /// The levers set, as bits.
    mask: u8,
    limits: &'a FxHashMap<u32, WorkflowLimits>,
    plan: Option<&'a [CacheDecision]>,
    target: Option<&'a Arc<PriceEntry>>,
    /// Each price context's entry (`None`: unpriced).
    entries: &'a [Option<Arc<PriceEntry>>],
    /// Per name id: whether the route's customer and team filters pass.
    customer_ok: Vec<bool>,
    team_ok: Vec<bool>,
    proven: &'a (dyn Fn(Lever, &str) -> bool + Sync),
}

/// Sums of one workflow's calls on one thread (an `Outcome` with the
/// single levers in an array: no map lookup per call).
#[derive(Clone, Debug, Default)]
struct Acc {
    calls: u64,
    unpriced_calls: u64,
    stored: Nanos,
    replayed: Nanos,
    single: [(Nanos, u64); 4],
    composed: Nanos,
    composed_touched: u64,
    proven: Nanos,
    not_measurable: u64,
}

impl Acc {
    fn outcome(&self, mask: u8) -> Outcome {
        Outcome {
            calls: self.calls,
            unpriced_calls: self.unpriced_calls,
            stored: self.stored,
            replayed: self.replayed,
            single: Lever::ALL
                .into_iter()
                .filter(|l| mask & bit(*l) != 0)
                .map(|l| (l, self.single[l as usize]))
                .collect(),
            composed: self.composed,
            composed_touched: self.composed_touched,
            proven: self.proven,
            not_measurable: self.not_measurable,
        }
    }
}

/// A prompt size's place against an entry's price boundaries (as
/// `prompt_regime` counts them, from the boundaries sorted once).
type Regime = (bool, u32, u32);

/// Unit-price sheets of the price contexts (and the route's target, by
/// batch), looked up by regime and off-peak state.
struct Sheets<'a> {
    ctx: &'a Ctx<'a>,
    bounds: Vec<Vec<u64>>,
    cache: Vec<Vec<(Regime, bool, Option<Sheet>)>>,
}

impl<'a> Sheets<'a> {
    fn new(ctx: &'a Ctx<'a>) -> Sheets<'a> {
        let entry_bounds = |e: Option<&Arc<PriceEntry>>| -> Vec<u64> {
            let Some(e) = e else { return Vec::new() };
            let mut b: Vec<u64> = e.slots.iter().filter_map(|s| s.above).collect();
            b.extend(e.tiers.iter().flat_map(|t| [t.lo, t.hi]));
            b.sort_unstable();
            b
        };
        let mut bounds: Vec<Vec<u64>> = ctx.entries.iter().map(|e| entry_bounds(e.as_ref())).collect();
        bounds.push(entry_bounds(ctx.target));
        bounds.push(entry_bounds(ctx.target));
        Sheets { ctx, cache: vec![Vec::new(); bounds.len()], bounds }
    }

    /// The call's price for `tokens`, at its own model or (routed) at the
    /// route's target.
    fn price(&mut self, row: &calls::Row, t: &Tokens, routed: bool) -> Option<Nanos> {
        let pc = &self.ctx.set.ctxs[row.ctx as usize];
        let (slot, e) = if routed {
            (self.ctx.entries.len() + pc.batch as usize, self.ctx.target?)
        } else {
            (row.ctx as usize, self.ctx.entries[row.ctx as usize].as_ref()?)
        };
        let prompt = t.input_total();
        let b = &self.bounds[slot];
        let regime =
            (prompt == 0, b.partition_point(|v| *v < prompt) as u32, b.partition_point(|v| *v <= prompt) as u32);
        let off = e.off_peak.as_ref().is_some_and(|o| !pc.batch && o.open_at(row.ts));
        let list = &mut self.cache[slot];
        let at = match list.iter().position(|(r, o, _)| *r == regime && *o == off) {
            Some(at) => at,
            None => {
                let input = CostInput {
                    tokens: *t,
                    batch: pc.batch,
                    // A routed call leaves its provider's tiers and
                    // locations behind.
                    service_tier: if routed { None } else { pc.tier.as_deref() },
                    inference_geo: if routed { None } else { pc.geo.as_deref() },
                    speed: if routed { None } else { pc.speed.as_deref() },
                    region: if routed { None } else { pc.region.as_deref() },
                    ts_ms: Some(row.ts),
                };
                list.push((regime, off, Sheet::of(e, &input)));
                list.len() - 1
            }
        };
        list[at].2.as_ref()?.total(t)
    }
}

fn replay_part(ctx: &Ctx, range: std::ops::Range<usize>) -> FxHashMap<u32, Acc> {
    let mut sheets = Sheets::new(ctx);
    let mut out: FxHashMap<u32, Acc> = FxHashMap::default();
    let mut proven: FxHashMap<u32, u8> = FxHashMap::default();
    let rows = &ctx.set.rows;
    for i in range {
        let c = &rows[i];
        let o = out.entry(c.workflow).or_default();
        let (Some(stored), Some(base)) = (c.cost(), sheets.price(c, &c.tokens, false)) else {
            o.unpriced_calls += 1;
            continue;
        };
        o.stored += stored;
        o.calls += 1;
        o.replayed += base;
        if ctx.mask == 0 {
            o.composed += base;
            o.proven += base;
            continue;
        }
        let lim = ctx.limits.get(&c.workflow).copied().unwrap_or_default();
        let d = ctx.plan.and_then(|p| p.get(i).copied()).unwrap_or_default();
        let admitted =
            !ctx.customer_ok.is_empty() && ctx.customer_ok[c.customer as usize] && ctx.team_ok[c.team as usize];
        let cost_of = |mask: u8, sheets: &mut Sheets| -> (Nanos, bool, bool) {
            let a = apply(c, ctx.levers, mask, &lim, d, admitted);
            let cost = if a.tokens == c.tokens && !a.routed {
                base
            } else {
                sheets.price(c, &a.tokens, a.routed).unwrap_or(base)
            };
            (cost, a.touched != 0, a.not_measurable)
        };
        for l in Lever::ALL {
            if ctx.mask & bit(l) != 0 {
                let (cost, touched, _) = cost_of(bit(l), &mut sheets);
                let e = &mut o.single[l as usize];
                e.0 += cost;
                e.1 += touched as u64;
            }
        }
        let (composed, touched, not_measurable) = cost_of(ctx.mask, &mut sheets);
        o.composed += composed;
        o.composed_touched += touched as u64;
        o.not_measurable += not_measurable as u64;
        let pmask = *proven.entry(c.workflow).or_insert_with(|| {
            let w = ctx.set.name(c.workflow);
            Lever::ALL.into_iter().filter(|l| ctx.mask & bit(*l) != 0 && (ctx.proven)(*l, w)).fold(0, |m, l| m | bit(l))
        });
        o.proven += match pmask {
            0 => base,
            m if m == ctx.mask => composed,
            m => cost_of(m, &mut sheets).0,
        };
    }
    out
}

/// Nearest-rank percentiles of input and output per workflow, for the
/// caps given as `pNN` (kept with the calls for the next replay).
fn workflow_limits(set: &CallSet, cap: Option<&Cap>) -> Arc<FxHashMap<u32, WorkflowLimits>> {
    let Some(cap) = cap else { return Arc::default() };
    if let Some((c, l)) = &set.memo.lock().expect("lever memo").limits
        && c == cap
    {
        return Arc::clone(l);
    }
    let wants = |l: &Option<Limit>| matches!(l, Some(Limit::Percentile(_)));
    let (wi, wo) = (wants(&cap.input), wants(&cap.output));
    if !wi && !wo {
        // Token caps only: `apply` reads them from the set.
        return Arc::default();
    }
    let mut by: FxHashMap<u32, (Vec<u64>, Vec<u64>)> = FxHashMap::default();
    for c in set.rows.iter().filter(|c| c.cost().is_some()) {
        let e = by.entry(c.workflow).or_default();
        if wi {
            e.0.push(c.tokens.input_total());
        }
        if wo {
            e.1.push(c.tokens.output);
        }
    }
    let pick = |v: &mut Vec<u64>, l: &Option<Limit>| match l {
        Some(Limit::Percentile(p)) => Some(percentile(v, *p)),
        Some(Limit::Tokens(n)) => Some(*n),
        None => None,
    };
    let out: FxHashMap<u32, WorkflowLimits> = by
        .into_iter()
        .map(|(w, (mut i, mut o))| {
            (w, WorkflowLimits { input: pick(&mut i, &cap.input), output: pick(&mut o, &cap.output) })
        })
        .collect();
    let out = Arc::new(out);
    set.memo.lock().expect("lever memo").limits = Some((cap.clone(), Arc::clone(&out)));
    out
}

/// The nearest-rank `p`th percentile (the smallest value with at least p%
/// of the values at or below it).
pub fn percentile(v: &mut [u64], p: u8) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let rank = (p as usize * v.len()).div_ceil(100).max(1);
    *v.select_nth_unstable(rank - 1).1
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

/// A call after levers: its tokens and whether it was routed.
#[derive(Clone, Copy, Debug)]
struct Applied {
    tokens: Tokens,
    routed: bool,
    /// The levers that changed it, as bits.
    touched: u8,
    /// Compression asked for components this call has no composition for.
    not_measurable: bool,
}

/// The call after the levers of `mask`, in the order of composition.
/// `admitted`: the route's customer and team filters pass.
fn apply(
    c: &calls::Row,
    levers: &LeverSet,
    mask: u8,
    lim: &WorkflowLimits,
    d: CacheDecision,
    admitted: bool,
) -> Applied {
    let mut a = Applied { tokens: c.tokens, routed: false, touched: 0, not_measurable: false };
    for l in Lever::ALL.into_iter().filter(|l| mask & bit(*l) != 0) {
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
            }
            Lever::Compression => {
                let Some(cmp) = &levers.compress else { continue };
                let input = a.tokens.input_total();
                match (c.parts(), cmp.any_part()) {
                    (Some(parts), true) => {
                        // Components scaled to the call's reported input.
                        let sum: u64 = parts.iter().map(|v| u64::from(*v)).sum();
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
            }
            Lever::Caching => {
                let Some(cache) = &levers.cache else { continue };
                match d {
                    CacheDecision::ResponseHit => a.tokens = Tokens::default(),
                    CacheDecision::PrefixHit | CacheDecision::PrefixWrite => {
                        let n = prefix_tokens(c.parts(), &a.tokens).min(a.tokens.uncached_input);
                        a.tokens.uncached_input -= n;
                        match (d, cache.prefix_1h) {
                            (CacheDecision::PrefixHit, _) => a.tokens.cache_read += n,
                            (_, true) => a.tokens.cache_write_1h += n,
                            _ => a.tokens.cache_write_5m += n,
                        }
                    }
                    _ => {}
                }
            }
            Lever::Routing => {
                let Some(r) = &levers.route else { continue };
                if admitted && r.picks(c.dedupe_key, &a.tokens) {
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
                    a.routed = true;
                    a.touched |= bit(l);
                    continue;
                }
            }
        }
        if a.tokens != before {
            a.touched |= bit(l);
        }
    }
    a
}

#[cfg(test)]
mod tests;
