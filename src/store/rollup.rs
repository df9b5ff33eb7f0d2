//! Hourly rollups: one row per (dimension, UTC hour, key) with summed
//! tokens and integer cost. Pair dimensions (workflow × model, ...) serve
//! drill-downs. The writer folds each committed batch into a map and
//! upserts it in the same transaction as the calls, so rollups and calls
//! never disagree.

use rusqlite::Transaction;

use crate::domain::dims::Dimension;
use crate::domain::money::Nanos;
use crate::domain::record::{CallRecord, Status, Warning};
use crate::domain::time::MS_PER_HOUR;

/// Separator between the two parts of a pair key.
pub const PAIR_SEP: char = '\u{1f}';

/// Rollup dimensions; the discriminant is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    Total = 0,
    Workflow = 1,
    Team = 2,
    Customer = 3,
    Model = 4,
    Provider = 5,
    WorkflowTeam = 10,
    WorkflowCustomer = 11,
    WorkflowModel = 12,
    TeamCustomer = 13,
    TeamModel = 14,
    CustomerModel = 15,
}

impl Dim {
    pub const SINGLES: [Dim; 5] = [Dim::Workflow, Dim::Team, Dim::Customer, Dim::Model, Dim::Provider];

    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn parts(self) -> Option<(Dim, Dim)> {
        Some(match self {
            Dim::WorkflowTeam => (Dim::Workflow, Dim::Team),
            Dim::WorkflowCustomer => (Dim::Workflow, Dim::Customer),
            Dim::WorkflowModel => (Dim::Workflow, Dim::Model),
            Dim::TeamCustomer => (Dim::Team, Dim::Customer),
            Dim::TeamModel => (Dim::Team, Dim::Model),
            Dim::CustomerModel => (Dim::Customer, Dim::Model),
            _ => return None,
        })
    }

    /// The rollup of a single dimension, if the writer keeps one.
    pub fn single(d: Dimension) -> Option<Dim> {
        Dim::SINGLES.into_iter().find(|s| s.dimension() == Some(d))
    }

    /// The dimension a single rollup aggregates.
    pub fn dimension(self) -> Option<Dimension> {
        Some(match self {
            Dim::Workflow => Dimension::Workflow,
            Dim::Team => Dimension::Team,
            Dim::Customer => Dimension::Customer,
            Dim::Model => Dimension::Model,
            Dim::Provider => Dimension::Provider,
            _ => return None,
        })
    }

    /// The record's value for a single dimension ("" when missing).
    pub fn value(self, r: &CallRecord) -> &str {
        self.dimension().and_then(|d| d.get(r)).unwrap_or("")
    }

    /// The SQL expression of the rollup key over the calls table `c`.
    pub fn sql(self) -> String {
        let col = |d: Dim| d.dimension().map(Dimension::sql).unwrap_or("''");
        match self.parts() {
            Some((a, b)) => format!("{} || char(31) || {}", col(a), col(b)),
            None => col(self).to_string(),
        }
    }
}

/// Summed measures of a group of calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Agg {
    pub calls: i64,
    pub uncached_input: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    pub output: i64,
    pub reasoning: i64,
    /// Cost of the priced calls.
    pub cost: Nanos,
    pub unpriced_calls: i64,
    pub error_calls: i64,
    /// Cost written in the logs by their producers.
    pub reported_cost: Nanos,
    pub latency_ms_sum: i64,
    pub latency_n: i64,
    /// Prompt composition token sums (see `PART_NAMES`) over `parts_calls`.
    pub parts: [i64; 6],
    pub parts_calls: i64,
    /// Calls waiting for their usage to be counted (not in the cost).
    pub pending_calls: i64,
    /// Calls with a field out of range (kept, the field nulled) or usage
    /// counts that contradict each other.
    pub warning_calls: i64,
    /// Calls priced from another provider's catalog entry.
    pub price_fallback_calls: i64,
}

/// Number of measures in an [`Agg`].
pub const AGG_LEN: usize = 22;

/// The `rollup_hour` columns holding an [`Agg`], in [`Agg::values`] order.
pub const AGG_COLUMNS: [&str; AGG_LEN] = [
    "calls",
    "uncached_input",
    "cache_read",
    "cache_write",
    "output",
    "reasoning",
    "cost_nano",
    "unpriced_calls",
    "error_calls",
    "reported_cost_nano",
    "latency_ms_sum",
    "latency_n",
    "p_system",
    "p_tools",
    "p_context",
    "p_history",
    "p_user",
    "p_output",
    "p_calls",
    "pending_calls",
    "warning_calls",
    "price_fallback_calls",
];

/// The same measures over [`RAW_FROM`] (calls `c` with their prompt parts `p`).
pub const RAW_EXPRS: [&str; AGG_LEN] = [
    "COUNT(*)",
    "SUM(c.uncached_input)",
    "SUM(c.cache_read)",
    "SUM(c.cache_write_5m + c.cache_write_1h)",
    "SUM(c.output)",
    "SUM(c.reasoning)",
    "COALESCE(SUM(c.cost_nano), 0)",
    "SUM(c.cost_nano IS NULL AND c.pending = 0)",
    "SUM(c.status != 0)",
    "COALESCE(SUM(c.reported_cost_nano), 0)",
    "COALESCE(SUM(c.latency_ms), 0)",
    "COUNT(c.latency_ms)",
    "COALESCE(SUM(p.system), 0)",
    "COALESCE(SUM(p.tools), 0)",
    "COALESCE(SUM(p.context), 0)",
    "COALESCE(SUM(p.history), 0)",
    "COALESCE(SUM(p.user), 0)",
    "COALESCE(SUM(p.output), 0)",
    "COUNT(p.dedupe_key)",
    "SUM(c.pending)",
    "SUM((c.warnings & ~16) != 0)",
    "SUM((c.warnings & 16) != 0)",
];

/// Calls joined with their prompt composition, for [`RAW_EXPRS`].
pub const RAW_FROM: &str =
    "calls c LEFT JOIN prompt_parts p ON p.dedupe_ts = c.dedupe_ts AND p.dedupe_key = c.dedupe_key";

/// How a query sums: SQLite's `SUM` (fast, and an error on overflow) or
/// aifin's saturating `ssum` (registered on every connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sum {
    Plain,
    Saturating,
}

impl Sum {
    pub fn rewrite(self, expr: &str) -> String {
        match self {
            Sum::Plain => expr.to_string(),
            Sum::Saturating => expr.replace("SUM(", "ssum("),
        }
    }
}

/// Runs an aggregate query with `SUM`, and once more with the saturating
/// sum when SQLite reports an integer overflow: reports keep working on a
/// ledger whose sums exceed 64 bits, with the saturated values flagged.
pub fn saturating_retry<T>(mut f: impl FnMut(Sum) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    match f(Sum::Plain) {
        Err(e) if e.to_string().contains("integer overflow") => f(Sum::Saturating),
        r => r,
    }
}

/// `SUM(col), ...` over the rollup columns.
pub fn rollup_sums(sum: Sum) -> String {
    sum.rewrite(&AGG_COLUMNS.iter().map(|c| format!("SUM({c})")).collect::<Vec<_>>().join(", "))
}

/// The raw measure expressions, comma-separated.
pub fn raw_sums(sum: Sum) -> String {
    sum.rewrite(&RAW_EXPRS.join(", "))
}

/// Registers `ssum(x)`: an integer sum that saturates instead of failing.
pub fn register_functions(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::{Aggregate, Context, FunctionFlags};
    struct SaturatingSum;
    impl Aggregate<Option<i64>, Option<i64>> for SaturatingSum {
        fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Option<i64>> {
            Ok(None)
        }
        fn step(&self, ctx: &mut Context<'_>, acc: &mut Option<i64>) -> rusqlite::Result<()> {
            if let Some(v) = ctx.get::<Option<i64>>(0)? {
                *acc = Some(acc.unwrap_or(0).saturating_add(v));
            }
            Ok(())
        }
        fn finalize(&self, _: &mut Context<'_>, acc: Option<Option<i64>>) -> rusqlite::Result<Option<i64>> {
            Ok(acc.flatten())
        }
    }
    conn.create_aggregate_function(
        "ssum",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        SaturatingSum,
    )
}

/// Reads an [`Agg`] from `AGG_LEN` columns starting at `first`.
pub fn agg_from_row(r: &rusqlite::Row, first: usize) -> rusqlite::Result<Agg> {
    let mut v = [0i64; AGG_LEN];
    for (i, slot) in v.iter_mut().enumerate() {
        *slot = r.get::<_, Option<i64>>(first + i)?.unwrap_or(0);
    }
    Ok(Agg::from_values(v))
}

impl Agg {
    pub fn of(r: &CallRecord) -> Agg {
        let (parts, parts_calls) = match &r.parts {
            Some((p, _)) => (p.map(|v| v as i64), 1),
            None => ([0; 6], 0),
        };
        Agg {
            calls: 1,
            uncached_input: r.tokens.uncached_input as i64,
            cache_read: r.tokens.cache_read as i64,
            cache_write: r.tokens.cache_write() as i64,
            output: r.tokens.output as i64,
            reasoning: r.tokens.reasoning as i64,
            cost: r.cost.unwrap_or(Nanos::ZERO),
            unpriced_calls: (r.cost.is_none() && !r.usage_missing) as i64,
            error_calls: (r.status == Status::Error) as i64,
            reported_cost: r.reported_cost.unwrap_or(Nanos::ZERO),
            latency_ms_sum: r.latency_ms.unwrap_or(0) as i64,
            latency_n: r.latency_ms.is_some() as i64,
            parts,
            parts_calls,
            pending_calls: r.usage_missing as i64,
            warning_calls: (r.warnings & Warning::WARNING_MASK != 0) as i64,
            price_fallback_calls: (r.warnings & Warning::PriceFallback.bit() != 0) as i64,
        }
    }

    /// The measures as an array, in [`AGG_COLUMNS`] order.
    pub fn values(&self) -> [i64; AGG_LEN] {
        let p = self.parts;
        [
            self.calls,
            self.uncached_input,
            self.cache_read,
            self.cache_write,
            self.output,
            self.reasoning,
            self.cost.0,
            self.unpriced_calls,
            self.error_calls,
            self.reported_cost.0,
            self.latency_ms_sum,
            self.latency_n,
            p[0],
            p[1],
            p[2],
            p[3],
            p[4],
            p[5],
            self.parts_calls,
            self.pending_calls,
            self.warning_calls,
            self.price_fallback_calls,
        ]
    }

    pub fn from_values(v: [i64; AGG_LEN]) -> Agg {
        Agg {
            calls: v[0],
            uncached_input: v[1],
            cache_read: v[2],
            cache_write: v[3],
            output: v[4],
            reasoning: v[5],
            cost: Nanos(v[6]),
            unpriced_calls: v[7],
            error_calls: v[8],
            reported_cost: Nanos(v[9]),
            latency_ms_sum: v[10],
            latency_n: v[11],
            parts: [v[12], v[13], v[14], v[15], v[16], v[17]],
            parts_calls: v[18],
            pending_calls: v[19],
            warning_calls: v[20],
            price_fallback_calls: v[21],
        }
    }

    /// Adds another group's sums, saturating: a sum that would overflow
    /// stays at the largest value and [`Agg::overflow`] says so.
    pub fn add(&mut self, o: &Agg) {
        let (a, b) = (self.values(), o.values());
        // Wrapping sums and one overflow flag (a loop the compiler turns
        // into vector instructions); saturated only when a sum overflowed.
        let mut sum = [0i64; AGG_LEN];
        let mut overflow = false;
        for i in 0..AGG_LEN {
            let (v, o) = a[i].overflowing_add(b[i]);
            sum[i] = v;
            overflow |= o;
        }
        if overflow {
            sum = std::array::from_fn(|i| a[i].saturating_add(b[i]));
        }
        *self = Agg::from_values(sum);
    }

    /// Whether a sum reached the largest integer (it saturated).
    pub fn overflow(&self) -> bool {
        self.values().iter().any(|v| *v == i64::MAX || *v == i64::MIN)
    }

    pub fn negated(&self) -> Agg {
        Agg::from_values(self.values().map(|v| v.saturating_neg()))
    }

    /// All input classes together.
    pub fn input_tokens(&self) -> i64 {
        self.uncached_input + self.cache_read + self.cache_write
    }

    /// Each prompt component's share of all component tokens, or `None`
    /// when no call in the group has a known composition.
    pub fn composition(&self) -> Option<[f64; 6]> {
        let total: i64 = self.parts.iter().sum();
        (self.parts_calls > 0 && total > 0).then(|| self.parts.map(|v| v as f64 / total as f64))
    }

    /// Only the prompt composition of a call (calls and money unchanged).
    pub fn parts_only(parts: &crate::domain::record::Parts) -> Agg {
        Agg { parts: parts.map(|v| v as i64), parts_calls: 1, ..Agg::default() }
    }
}

/// The UTC hour bucket of a timestamp.
pub fn hour_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(MS_PER_HOUR)
}

/// A rollup row's identity: dimension, time unit, and the numbers of its
/// key's parts in the [`Delta`]'s name table ([`NONE`] for no part).
type Key = (Dim, i64, u32, u32);

/// No key part (a single dimension's second part, the total's both).
const NONE: u32 = u32::MAX;

/// The single dimensions' slots in a group key, in [`Dim::SINGLES`] order.
fn slot(d: Dim) -> Option<usize> {
    Dim::SINGLES.iter().position(|s| *s == d)
}

/// The key parts of dimension `dim`'s row for a group whose single
/// dimension values are numbered `values` (in [`Dim::SINGLES`] order).
fn key_parts(dim: Dim, values: &[u32; 5]) -> (u32, u32) {
    let id = |d: Dim| slot(d).map_or(NONE, |i| values[i]);
    match dim.parts() {
        Some((p, q)) => (id(p), id(q)),
        None => (id(dim), NONE),
    }
}

/// Every rollup dimension the writer keeps, in storage order.
const ALL_DIMS: [Dim; 12] = [
    Dim::Total,
    Dim::Workflow,
    Dim::Team,
    Dim::Customer,
    Dim::Model,
    Dim::Provider,
    Dim::WorkflowTeam,
    Dim::WorkflowCustomer,
    Dim::WorkflowModel,
    Dim::TeamCustomer,
    Dim::TeamModel,
    Dim::CustomerModel,
];

/// The rollups [`Delta::of`] spreads each group of calls over; the other
/// five are sums of these rows (see [`Delta::of`]).
const SPREAD_DIMS: [Dim; 7] = [
    Dim::Provider,
    Dim::WorkflowTeam,
    Dim::WorkflowCustomer,
    Dim::WorkflowModel,
    Dim::TeamCustomer,
    Dim::TeamModel,
    Dim::CustomerModel,
];

/// The rollup summed from a row of a spread rollup, with the part of the
/// key it keeps (`0`: the first, `1`: the second, `None`: none).
fn summed_from(d: Dim) -> Option<(Dim, Option<usize>)> {
    Some(match d {
        Dim::WorkflowTeam => (Dim::Workflow, Some(0)),
        Dim::TeamCustomer => (Dim::Team, Some(0)),
        Dim::CustomerModel => (Dim::Customer, Some(0)),
        Dim::WorkflowModel => (Dim::Model, Some(1)),
        Dim::Provider => (Dim::Total, None),
        _ => return None,
    })
}

/// The maps [`Delta::of`] sums a batch in: calls per group of dimension
/// values (numbered), then per rollup row, then the rows summed from rows.
#[derive(Default)]
struct Scratch {
    groups: hashbrown::HashMap<(i64, [u32; 5]), Agg>,
    rows: hashbrown::HashMap<Key, Agg>,
    sums: hashbrown::HashMap<Key, Agg>,
}

thread_local! {
    // The group and row maps, kept with their room between batches of one
    // thread (integer keys: nothing borrowed outlives a call).
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// Rollup deltas for a batch of calls, summed per rollup row. Built by the
/// reader thread next to the parser (a batch of thousands of calls comes
/// down to a few hundred rows per hour, whatever the number of distinct
/// users or dimension combinations), so the writer only merges small maps,
/// subtracts the calls that turn out to be duplicates, and upserts.
///
/// Rows are keyed by numbers: each distinct dimension value is numbered in
/// the delta's own name table, so summing, merging and ordering rows
/// hashes and compares integers, and a value's text is copied once per
/// delta instead of once per row.
#[derive(Clone, Debug, Default)]
pub struct Delta {
    /// Dimension values by number.
    names: Vec<String>,
    /// The number of each value in `names`.
    ids: hashbrown::HashMap<String, u32>,
    map: hashbrown::HashMap<Key, Agg>,
}

impl Delta {
    /// The deltas of a list of calls. Each distinct dimension value gets a
    /// number first, so the calls are summed per group with one integer-keyed
    /// lookup each, and only the groups are spread, over seven rollups: the
    /// provider and the six pairs. The other five are sums of those rows
    /// (workflow of workflow × team, team of team × customer, customer of
    /// customer × model, model of workflow × model, the total of the
    /// providers): all measures of a call are counts and amounts of at least
    /// zero, so a sum saturates the same whatever its order.
    pub fn of(records: &[CallRecord]) -> Delta {
        SCRATCH.with_borrow_mut(|Scratch { groups, rows, sums }| {
            let mut ids: hashbrown::HashMap<&str, u32> = hashbrown::HashMap::with_capacity(64);
            let mut names: Vec<&str> = Vec::with_capacity(64);
            groups.reserve(records.len());
            for r in records {
                let key = Dim::SINGLES.map(|d| {
                    *ids.entry(d.value(r)).or_insert_with_key(|s| {
                        names.push(s);
                        (names.len() - 1) as u32
                    })
                });
                groups.entry((hour_of(r.ts_ms), key)).or_default().add(&Agg::of(r));
            }
            for ((hour, key), a) in groups.drain() {
                for dim in SPREAD_DIMS {
                    let (x, y) = key_parts(dim, &key);
                    rows.entry((dim, hour, x, y)).or_default().add(&a);
                }
            }
            for (&(dim, hour, x, y), a) in rows.iter() {
                if let Some((to, part)) = summed_from(dim) {
                    let v = match part {
                        Some(0) => x,
                        Some(_) => y,
                        None => NONE,
                    };
                    sums.entry((to, hour, v, NONE)).or_default().add(a);
                }
            }
            rows.extend(sums.drain());
            let names: Vec<String> = names.into_iter().map(str::to_string).collect();
            let delta = Delta {
                ids: names.iter().enumerate().map(|(i, n)| (n.clone(), i as u32)).collect(),
                names,
                map: rows.drain().collect(),
            };
            if let Some(keep) = super::room_to_keep(groups.capacity(), records.len()) {
                groups.shrink_to(keep);
                rows.shrink_to(keep);
                sums.shrink_to(keep);
            }
            delta
        })
    }

    /// The number of a dimension value (numbered now if new).
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.ids.insert(s.to_string(), i);
        i
    }

    pub fn add(&mut self, r: &CallRecord) {
        self.apply(r, &Agg::of(r));
    }

    /// Removes a call added before (it was a duplicate).
    pub fn sub(&mut self, r: &CallRecord) {
        self.apply(r, &Agg::of(r).negated());
    }

    /// Adds `a` to the rows of call `r` (e.g. prompt parts counted later).
    pub fn add_agg(&mut self, r: &CallRecord, a: &Agg) {
        self.apply(r, a);
    }

    /// Adds `a` to the rows of a group given by its parts (sums read from SQL).
    #[allow(clippy::too_many_arguments)]
    pub fn add_group(
        &mut self,
        hour: i64,
        workflow: &str,
        team: &str,
        customer: &str,
        model: &str,
        provider: &str,
        a: &Agg,
    ) {
        self.apply_values(hour, [workflow, team, customer, model, provider], a);
    }

    fn apply(&mut self, r: &CallRecord, a: &Agg) {
        self.apply_values(hour_of(r.ts_ms), Dim::SINGLES.map(|d| d.value(r)), a);
    }

    /// Adds `a` to every rollup row of a group: `values` are its single
    /// dimensions' values, in [`Dim::SINGLES`] order.
    fn apply_values(&mut self, hour: i64, values: [&str; 5], a: &Agg) {
        let key = values.map(|s| self.id(s));
        for dim in ALL_DIMS {
            let (x, y) = key_parts(dim, &key);
            self.map.entry((dim, hour, x, y)).or_default().add(a);
        }
    }

    /// Folds another delta into this one.
    pub fn merge(&mut self, other: Delta) {
        // An empty delta with little room takes the other whole (the
        // writer reuses one delta and keeps its room).
        if self.map.is_empty() && self.map.capacity() < other.map.len() {
            *self = other;
            return;
        }
        let number: Vec<u32> = other.names.iter().map(|n| self.id(n)).collect();
        let renumber = |i: u32| if i == NONE { NONE } else { number[i as usize] };
        for ((dim, t, x, y), v) in other.map {
            self.map.entry((dim, t, renumber(x), renumber(y))).or_default().add(&v);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Upserts the deltas into `rollup_hour`, and their sums per UTC day
    /// into `rollup_day`.
    pub fn flush(&mut self, tx: &Transaction) -> rusqlite::Result<()> {
        if self.map.is_empty() {
            return Ok(());
        }
        let mut days: hashbrown::HashMap<Key, Agg> = hashbrown::HashMap::with_capacity(self.map.len());
        for (&(dim, hour, x, y), a) in &self.map {
            days.entry((dim, hour.div_euclid(24), x, y)).or_default().add(a);
        }
        // Rows whose sum is zero (a call and its duplicate) change nothing.
        let nonzero = |a: &Agg| a.values().iter().any(|v| *v != 0);
        let names = Names::new(&self.names);
        upsert(tx, Unit::Hour, &names, self.map.iter().filter(|(_, a)| nonzero(a)))?;
        upsert(tx, Unit::Day, &names, days.iter().filter(|(_, a)| nonzero(a)))?;
        drop(days);
        let rows = self.map.len();
        self.map.clear();
        self.names.clear();
        self.ids.clear();
        // The room stays for the next transaction of a long import.
        if let Some(keep) = super::room_to_keep(self.map.capacity(), rows) {
            self.map.shrink_to(keep);
        }
        Ok(())
    }
}

/// A delta's name table with each name's place in text order.
struct Names<'a> {
    names: &'a [String],
    /// 1 + the place of each name in text order (0 is [`NONE`]'s: the
    /// empty part, before every name).
    rank: Vec<u32>,
}

impl<'a> Names<'a> {
    fn new(names: &'a [String]) -> Names<'a> {
        let mut order: Vec<u32> = (0..names.len() as u32).collect();
        order.sort_unstable_by(|a, b| names[*a as usize].cmp(&names[*b as usize]));
        let mut rank = vec![0; names.len()];
        for (place, i) in order.into_iter().enumerate() {
            rank[i as usize] = place as u32 + 1;
        }
        Names { names, rank }
    }

    fn name(&self, i: u32) -> &'a str {
        if i == NONE { "" } else { &self.names[i as usize] }
    }

    fn rank(&self, i: u32) -> u32 {
        if i == NONE { 0 } else { self.rank[i as usize] }
    }
}

/// SQL for the UTC day of a rollup row's `hour` (floored, before 1970
/// too); the upgrade to day rollups spells the same expression out.
pub const DAY_OF_HOUR: &str = "(hour - ((hour % 24) + 24) % 24) / 24";

/// The unit of time a rollup table sums over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// `rollup_hour`: UTC hours since the epoch.
    Hour,
    /// `rollup_day`: UTC days since the epoch (24 hours each).
    Day,
}

impl Unit {
    pub fn table(self) -> &'static str {
        match self {
            Unit::Hour => "rollup_hour",
            Unit::Day => "rollup_day",
        }
    }

    pub fn column(self) -> &'static str {
        match self {
            Unit::Hour => "hour",
            Unit::Day => "day",
        }
    }
}

/// Upserts rows of (dim, time unit, key parts) into `unit`'s table.
fn upsert<'a>(
    tx: &Transaction,
    unit: Unit,
    names: &Names,
    rows: impl Iterator<Item = (&'a Key, &'a Agg)>,
) -> rusqlite::Result<()> {
    // In key order (the key parts in their names' text order): the upserts
    // walk the rollup's B-tree from one end to the other instead of
    // jumping around it. Each row's order is worked out once.
    let mut rows: Vec<_> =
        rows.map(|(k @ &(d, t, x, y), a)| ((d.code(), t, names.rank(x), names.rank(y)), k, a)).collect();
    rows.sort_unstable_by_key(|r| r.0);
    // Most sums repeat from one row to the next (zeros, one call): only
    // the values that changed are bound again. A row that only adds (no
    // measure below zero, as for new calls) cannot fall below the lowest
    // integer: it goes through the statement that checks the top only.
    // A row later than every stored row of its rollup (the common case of
    // an import in time order) is new: a plain insert, a smaller program
    // than the upsert's.
    let mut new = super::bind::Binder::new(tx.prepare_cached(&upsert_sql(unit, Write::New))?);
    let mut adds = super::bind::Binder::new(tx.prepare_cached(&upsert_sql(unit, Write::Top))?);
    let mut any = super::bind::Binder::new(tx.prepare_cached(&upsert_sql(unit, Write::Both))?);
    let mut latest_sql =
        tx.prepare_cached(&format!("SELECT MAX({}) FROM {} WHERE dim = ?1", unit.column(), unit.table()))?;
    let mut latest: Option<(Dim, Option<i64>)> = None;
    let mut pair = String::new();
    for (_, &(dim, t, x, y), agg) in rows {
        // Rows come in rollup order: the latest stored time is read once
        // per rollup, in this transaction (no other writer in between).
        let stored = match latest {
            Some((d, v)) if d == dim => v,
            _ => {
                let v = latest_sql.query_row([dim.code()], |r| r.get::<_, Option<i64>>(0))?;
                latest = Some((dim, v));
                v
            }
        };
        let key = if dim.parts().is_some() {
            pair.clear();
            pair.push_str(names.name(x));
            pair.push(PAIR_SEP);
            pair.push_str(names.name(y));
            pair.as_str()
        } else {
            names.name(x)
        };
        let values = agg.values();
        let stmt = if stored.is_none_or(|s| t > s) {
            &mut new
        } else if values.iter().all(|v| *v >= 0) {
            &mut adds
        } else {
            &mut any
        };
        stmt.int(1, dim.code())?;
        stmt.int(2, t)?;
        stmt.text(3, Some(key))?;
        for (i, v) in values.into_iter().enumerate() {
            stmt.int(4 + i, v)?;
        }
        stmt.execute()?;
    }
    Ok(())
}

/// How a row is written: inserted, or added to a stored row with its sums
/// kept within integer bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Write {
    /// A row no stored row can share a key with: inserted as it is.
    New,
    /// The largest integer only: for rows whose measures are all at least
    /// zero added to sums that are too.
    Top,
    Both,
}

/// `INSERT ... ON CONFLICT DO UPDATE` adding an [`Agg`] to a rollup row
/// (a plain `INSERT` for [`Write::New`]).
fn upsert_sql(unit: Unit, write: Write) -> String {
    let cols = AGG_COLUMNS.join(", ");
    let params: Vec<String> = (4..4 + AGG_LEN).map(|i| format!("?{i}")).collect();
    let (table, t) = (unit.table(), unit.column());
    if write == Write::New {
        return format!("INSERT INTO {table} (dim, {t}, key, {cols}) VALUES (?1, ?2, ?3, {})", params.join(", "));
    }
    // SQLite turns an integer sum that overflows into a float; MIN (and
    // MAX) bring it back to the integer bounds (saturating).
    let sets: Vec<String> = AGG_COLUMNS
        .iter()
        .map(|c| match write {
            Write::New | Write::Top => format!("{c} = MIN(9223372036854775807, {c} + excluded.{c})"),
            Write::Both => {
                format!("{c} = MAX(-9223372036854775808, MIN(9223372036854775807, {c} + excluded.{c}))")
            }
        })
        .collect();
    format!(
        "INSERT INTO {table} (dim, {t}, key, {cols}) VALUES (?1, ?2, ?3, {}) ON CONFLICT (dim, {t}, key) DO UPDATE SET {}",
        params.join(", "),
        sets.join(", ")
    )
}

/// Rebuilds every rollup from the calls table (the tests' check that
/// incremental rollups are right).
#[cfg(test)]
pub fn rebuild(tx: &Transaction) -> rusqlite::Result<()> {
    for (unit, ms) in [(Unit::Hour, MS_PER_HOUR), (Unit::Day, 24 * MS_PER_HOUR)] {
        tx.execute(&format!("DELETE FROM {}", unit.table()), [])?;
        for d in ALL_DIMS {
            tx.execute(
                &format!(
                    "INSERT INTO {table} (dim, {t}, key, {cols})
                     SELECT {code}, c.ts / {ms} - (c.ts % {ms} < 0), {key}, {sums} FROM {RAW_FROM} GROUP BY 2, 3",
                    table = unit.table(),
                    t = unit.column(),
                    cols = AGG_COLUMNS.join(", "),
                    code = d.code(),
                    key = d.sql(),
                    sums = raw_sums(Sum::Plain),
                ),
                [],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_add() {
        let a = Agg { calls: 2, cost: Nanos(5), parts: [1, 2, 3, 4, 5, 6], parts_calls: 1, ..Agg::default() };
        assert_eq!(Agg::from_values(a.values()), a);
        let mut b = a;
        b.add(&a.negated());
        assert_eq!(b, Agg::default());
    }

    #[test]
    fn a_flushed_delta_keeps_its_room_unless_the_flush_was_small() {
        let conn = crate::store::open_memory().unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        let call = |i: i64| CallRecord {
            ts_ms: i * MS_PER_HOUR,
            model: "m".into(),
            customer: Some(format!("c{i}")),
            ..CallRecord::default()
        };
        let big: Vec<CallRecord> = (0..2000).map(call).collect();
        let mut d = Delta::default();
        d.merge(Delta::of(&big));
        let room = d.map.capacity();
        assert!(room >= 2000 * 8, "{room}");
        d.flush(&tx).unwrap();
        assert!(d.is_empty());
        // A flush as large as the room: the room stays.
        assert_eq!(d.map.capacity(), room);
        d.merge(Delta::of(&big[..10]));
        d.flush(&tx).unwrap();
        // A small flush: room for 1024 rows is kept, the rest let go.
        assert!(d.map.capacity() >= 1024 && d.map.capacity() < room / 4, "{}", d.map.capacity());
    }

    #[test]
    fn a_batch_summed_after_a_large_one_lets_go_of_its_room() {
        let call = |i: i64| CallRecord { ts_ms: i * MS_PER_HOUR, model: format!("m{i}"), ..CallRecord::default() };
        let room = || SCRATCH.with_borrow(|s| (s.groups.capacity(), s.rows.capacity()));
        let big: Vec<CallRecord> = (0..8192).map(call).collect();
        assert_eq!(Delta::of(&big).map.len(), 8192 * 12);
        let (groups, rows) = room();
        assert!(groups >= 8192 && rows >= 8192 * 12, "{groups} {rows}");
        // As large again: the room stays.
        Delta::of(&big);
        assert_eq!(room(), (groups, rows));
        let d = Delta::of(&big[..3]);
        assert_eq!(d.map.len(), 3 * 12);
        let (g, r) = room();
        assert!(g < groups / 4 && r < rows / 4 && g >= 1024, "{g} {r}");
    }

    #[test]
    fn sums_saturate_at_the_integer_bounds_and_only_there() {
        let mut a = Agg { calls: 3, cost: Nanos(i64::MAX - 1), reported_cost: Nanos(-7), ..Agg::default() };
        a.add(&Agg { calls: 1, cost: Nanos(5), reported_cost: Nanos(i64::MIN), ..Agg::default() });
        assert_eq!((a.calls, a.cost, a.reported_cost), (4, Nanos(i64::MAX), Nanos(i64::MIN)));
        assert!(a.overflow());
        let mut b = Agg { output: i64::MAX - 10, ..Agg::default() };
        b.add(&Agg { output: 10, latency_n: -2, ..Agg::default() });
        assert_eq!((b.output, b.latency_n), (i64::MAX, -2));
        let mut c = Agg { output: 40, ..Agg::default() };
        c.add(&Agg { output: 2, price_fallback_calls: 1, ..Agg::default() });
        assert_eq!((c.output, c.price_fallback_calls), (42, 1));
        assert!(!c.overflow());
    }

    #[test]
    fn rebuild_matches_incremental_rollups() {
        let mut conn = crate::store::open_memory().unwrap();
        // 50 calls 40 minutes apart from 14:13 UTC (across midnight), and
        // two before 1970 (negative hours and days).
        let recs: Vec<CallRecord> = (0..52)
            .map(|i| CallRecord {
                ts_ms: if i < 50 { 1_790_000_000_000 + i * 2_400_000 } else { -1 - (i - 50) * 90_000_000 },
                dedupe_key: i,
                model: ["m1", "m2"][i as usize % 2].into(),
                workflow: (i % 3 != 0).then(|| format!("w{}", i % 4)),
                customer: Some(format!("c{}", i % 5)),
                // Every single dimension varies on its own, so that each
                // summed rollup is checked against its own column.
                team: (i % 4 != 1).then(|| format!("t{}", i % 3)),
                provider: (i % 5 != 2).then(|| ["p1", "p2", "p3"][i as usize % 3].to_string()),
                cost: (i % 7 != 0).then_some(crate::domain::money::Nanos(i * 1000)),
                parts: (i % 2 == 0).then_some(([1, 2, 3, 4, 5, 6], crate::domain::record::TokenSource::Reported)),
                ..CallRecord::default()
            })
            .collect();
        let tx = conn.transaction().unwrap();
        {
            let mut ins = crate::store::writer::CallInserter::new(&tx).unwrap();
            for r in &recs {
                ins.insert(None, r).unwrap();
                if let Some((p, src)) = &r.parts {
                    crate::store::writer::insert_parts(&tx, r.ts_ms, r.dedupe_key, p, *src).unwrap();
                }
            }
        }
        // Two flushes: the second adds to rows the first wrote. The second
        // is merged from deltas that number the values apart (each its own
        // name table, in another order), with a call taken out and put back.
        Delta::of(&recs[..25]).flush(&tx).unwrap();
        let mut d = Delta::default();
        d.add(&recs[51]);
        d.merge(Delta::of(&recs[40..50]));
        d.merge(Delta::of(&recs[25..40]));
        d.sub(&recs[30]);
        d.add(&recs[30]);
        d.add(&recs[50]);
        d.flush(&tx).unwrap();
        let dump = |tx: &Transaction, unit: Unit| -> Vec<(i64, i64, String, [i64; AGG_LEN])> {
            let mut st = tx
                .prepare(&format!(
                    "SELECT dim, {}, key, {} FROM {} ORDER BY 1, 2, 3",
                    unit.column(),
                    AGG_COLUMNS.join(", "),
                    unit.table()
                ))
                .unwrap();
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, agg_from_row(r, 3)?.values())))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let (hours, days) = (dump(&tx, Unit::Hour), dump(&tx, Unit::Day));
        // The day totals by hand: 1_790_000_000_000 ms is day 20717 at
        // 14:13:20, so calls 0-14 fall on it and 15-49 on day 20718; the
        // two old ones on days -1 and -2.
        let totals: Vec<(i64, i64)> = days.iter().filter(|r| r.0 == 0).map(|r| (r.1, r.3[0])).collect();
        assert_eq!(totals, [(-2, 1), (-1, 1), (20717, 15), (20718, 35)]);
        rebuild(&tx).unwrap();
        assert_eq!(dump(&tx, Unit::Hour), hours);
        assert_eq!(dump(&tx, Unit::Day), days);
        tx.commit().unwrap();
    }

    #[test]
    fn every_rollup_is_spread_to_or_summed_from_a_spread_one_by_its_own_part() {
        let mut made: Vec<Dim> = SPREAD_DIMS.to_vec();
        for d in SPREAD_DIMS {
            if let Some((to, part)) = summed_from(d) {
                match (part, d.parts()) {
                    (Some(0), Some((p, _))) | (Some(1), Some((_, p))) => assert_eq!(p, to, "{d:?}"),
                    (None, _) => assert_eq!(to, Dim::Total),
                    other => panic!("{d:?}: {other:?}"),
                }
                made.push(to);
            }
        }
        made.sort_by_key(|d| d.code());
        assert_eq!(made, ALL_DIMS.to_vec());
    }

    #[test]
    fn stored_sums_saturate_at_both_integer_bounds_and_stay_integers() {
        let mut conn = crate::store::open_memory().unwrap();
        let tx = conn.transaction().unwrap();
        let row = |tx: &Transaction| -> (i64, String, i64, String) {
            tx.query_row(
                "SELECT cost_nano, typeof(cost_nano), reported_cost_nano, typeof(reported_cost_nano)
                 FROM rollup_hour WHERE dim = 0",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap()
        };
        let big = CallRecord {
            ts_ms: 1_790_000_000_000,
            model: "m".into(),
            cost: Some(Nanos(i64::MAX - 5)),
            reported_cost: Some(Nanos(7)),
            ..CallRecord::default()
        };
        // Two adds: the second overflows the top (only-adding statement).
        Delta::of(std::slice::from_ref(&big)).flush(&tx).unwrap();
        Delta::of(std::slice::from_ref(&big)).flush(&tx).unwrap();
        assert_eq!(row(&tx), (i64::MAX, "integer".into(), 14, "integer".into()));
        // Subtracting takes the other statement: down to the lowest integer
        // and no further.
        let small = CallRecord { cost: Some(Nanos(0)), reported_cost: Some(Nanos(i64::MAX)), ..big.clone() };
        for _ in 0..2 {
            let mut d = Delta::default();
            d.sub(&small);
            d.flush(&tx).unwrap();
        }
        assert_eq!(row(&tx).2, i64::MIN);
        assert_eq!(row(&tx).3, "integer");
    }

    #[test]
    fn hours_floor_negative_times() {
        assert_eq!(hour_of(0), 0);
        assert_eq!(hour_of(MS_PER_HOUR - 1), 0);
        assert_eq!(hour_of(-1), -1);
    }
}
