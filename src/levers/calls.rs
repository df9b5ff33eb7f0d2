//! The calls a replay reads, held compactly: one fixed-size row per call
//! (its tokens, time, stored cost, composition and fingerprints) and its
//! strings as small ids into shared tables. Ten million calls take about
//! 1.4 GB; a replay with other lever settings reads nothing again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use super::{CacheDecision, CacheStats, Call, Cap, WorkflowLimits};
use crate::domain::money::Nanos;
use crate::domain::record::Tokens;
use crate::store::queries::{Part, RAW_WHERE, Window};

pub(crate) const HAS_PARTS: u8 = 1;
pub(crate) const HAS_PREFIX: u8 = 2;
pub(crate) const HAS_PROMPT: u8 = 4;
pub(crate) const HAS_COST: u8 = 8;

/// One call as the replay reads it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Row {
    pub ts: i64,
    pub dedupe_ts: i64,
    pub dedupe_key: i64,
    pub cost: i64,
    pub prefix: i64,
    pub prompt: i64,
    pub tokens: Tokens,
    /// The composition (system, tools, context, history, user), scaled
    /// down together when a part does not fit 32 bits (only its shares
    /// are used).
    pub parts: [u32; 5],
    pub ctx: u32,
    pub workflow: u32,
    pub team: u32,
    pub customer: u32,
    pub flags: u8,
}

impl Row {
    pub fn cost(&self) -> Option<Nanos> {
        (self.flags & HAS_COST != 0).then_some(Nanos(self.cost))
    }

    pub fn parts(&self) -> Option<[u32; 5]> {
        (self.flags & HAS_PARTS != 0).then_some(self.parts)
    }

    pub fn prefix(&self) -> Option<i64> {
        (self.flags & HAS_PREFIX != 0).then_some(self.prefix)
    }

    pub fn prompt(&self) -> Option<i64> {
        (self.flags & HAS_PROMPT != 0).then_some(self.prompt)
    }
}

/// The composition in 32 bits each, its shares kept.
fn narrow(p: [u64; 5]) -> [u32; 5] {
    let max = p.iter().copied().max().unwrap_or(0);
    let shift = (64 - max.leading_zeros()).saturating_sub(32);
    p.map(|v| (v >> shift) as u32)
}

/// What a call's price depends on besides its tokens and time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PriceCtx {
    pub provider: Option<Arc<str>>,
    /// The model's name id.
    pub model: u32,
    pub batch: bool,
    pub tier: Option<Arc<str>>,
    pub geo: Option<Arc<str>>,
    pub speed: Option<Arc<str>>,
    pub region: Option<Arc<str>>,
}

/// The rows of a set, in two parts: the two halves a file ledger is read
/// in stay where their threads wrote them (joining them would copy half
/// the calls into fresh memory, seconds at ten million calls), indexed
/// as one sequence.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    head: Vec<Row>,
    tail: Vec<Row>,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.head.is_empty() && self.tail.is_empty()
    }

    pub fn iter(&self) -> <&Rows as IntoIterator>::IntoIter {
        self.head.iter().chain(self.tail.iter())
    }
}

impl<'a> IntoIterator for &'a Rows {
    type Item = &'a Row;
    type IntoIter = std::iter::Chain<std::slice::Iter<'a, Row>, std::slice::Iter<'a, Row>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl std::ops::Index<usize> for Rows {
    type Output = Row;

    fn index(&self, i: usize) -> &Row {
        match self.head.get(i) {
            Some(r) => r,
            None => &self.tail[i - self.head.len()],
        }
    }
}

/// The calls of a window with what their price depends on, read once;
/// what a replay derives from them alone (the cache plan, the caps'
/// percentiles) is kept for the next replay with the same setting.
#[derive(Default)]
pub struct CallSet {
    pub(crate) rows: Rows,
    pub(crate) ctxs: Vec<PriceCtx>,
    pub(crate) names: Vec<Arc<str>>,
    pub(crate) memo: Mutex<Memo>,
}

pub(crate) type PlanKey = (super::Cache, Arc<[u64]>);
pub(crate) type Plan = (Vec<CacheDecision>, CacheStats);

#[derive(Default)]
pub(crate) struct Memo {
    /// The last two cache plans, by setting and the price contexts'
    /// minimum cacheable prefixes (newest last).
    pub plans: Vec<(PlanKey, Arc<Plan>)>,
    pub limits: Option<(Cap, Arc<FxHashMap<u32, WorkflowLimits>>)>,
}

impl std::fmt::Debug for CallSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallSet").field("calls", &self.rows.len()).finish()
    }
}

impl CallSet {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The workflows of the calls.
    pub fn workflows(&self) -> std::collections::BTreeSet<&str> {
        let mut seen = vec![false; self.names.len()];
        for r in self.rows.iter() {
            seen[r.workflow as usize] = true;
        }
        seen.iter().enumerate().filter(|(_, s)| **s).map(|(i, _)| self.name(i as u32)).collect()
    }

    pub(crate) fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// The set of hand-built calls (in their order).
    pub fn from_calls(calls: &[Call]) -> CallSet {
        let mut b = Builder::default();
        for c in calls {
            let ctx = PriceCtx {
                provider: c.provider.clone(),
                model: b.name(&c.model),
                batch: c.batch,
                tier: c.service_tier.clone(),
                geo: c.inference_geo.clone(),
                speed: c.speed.clone(),
                region: c.region.clone(),
            };
            let mut flags = 0;
            let mut set = |f: u8, on: bool| flags |= if on { f } else { 0 };
            set(HAS_COST, c.cost.is_some());
            set(HAS_PARTS, c.parts.is_some());
            set(HAS_PREFIX, c.prefix.is_some());
            set(HAS_PROMPT, c.prompt.is_some());
            let row = Row {
                ts: c.ts,
                dedupe_ts: c.ts,
                dedupe_key: c.dedupe_key,
                cost: c.cost.map_or(0, |n| n.0),
                prefix: c.prefix.unwrap_or(0),
                prompt: c.prompt.unwrap_or(0),
                tokens: c.tokens,
                parts: narrow(c.parts.unwrap_or_default()),
                ctx: b.ctx(ctx),
                workflow: b.name(&c.workflow),
                team: b.name(&c.team),
                customer: b.name(&c.customer),
                flags,
            };
            b.rows.push(row);
        }
        b.finish()
    }

    /// Reads the calls of a window (and workflow), with their prompt
    /// compositions and this ledger's fingerprints. A file ledger is read
    /// on two threads (two halves of the window, each on its own
    /// connection); `progress` hears the calls read so far.
    pub fn load(
        conn: &rusqlite::Connection,
        window: Window,
        workflow: Option<&str>,
        progress: &(dyn Fn(u64) + Sync),
    ) -> rusqlite::Result<CallSet> {
        let since = window.since.unwrap_or(i64::MIN / 2);
        let until = window.until.unwrap_or(i64::MAX / 2);
        let counted = AtomicU64::new(0);
        let path = conn.path().filter(|p| !p.is_empty()).map(std::path::PathBuf::from);
        let second = |path: &std::path::Path| crate::store::open_read(path).ok();
        let mut b = match (crate::store::queries::plan_scan(conn, since, until)?, path) {
            (Some((x, y)), Some(path)) => std::thread::scope(|sc| -> rusqlite::Result<Builder> {
                let counted = &counted;
                // Row ids bound the parts' sizes: each part's rows are
                // made room for once.
                let size = |p: Part| match p {
                    Part::Rows(a, b) => (b - a).clamp(0, 1 << 28) as usize,
                    Part::Time(..) => 0,
                };
                let other = sc.spawn(move || -> rusqlite::Result<Option<Builder>> {
                    let Some(conn) = second(&path) else { return Ok(None) };
                    scan(&conn, (since, until), workflow, y, size(y), counted, &|_| {}).map(Some)
                });
                let mut first = scan(conn, (since, until), workflow, x, size(x), counted, progress)?;
                let rest = match other.join().expect("a lever reader thread panicked")? {
                    Some(b) => b,
                    None => scan(conn, (since, until), workflow, y, 0, counted, progress)?,
                };
                first.absorb(rest);
                Ok(first)
            })?,
            _ => scan(conn, (since, until), workflow, Part::Time(since, until), 0, &counted, progress)?,
        };
        attach(conn, &mut b)?;
        Ok(b.finish())
    }
}

/// Builds a set: strings and price contexts to ids, rows appended.
#[derive(Default)]
struct Builder {
    names: Vec<Arc<str>>,
    name_ids: FxHashMap<Arc<str>, u32>,
    ctxs: Vec<PriceCtx>,
    ctx_ids: FxHashMap<PriceCtx, u32>,
    rows: Vec<Row>,
    /// A second part's rows (their ids this builder's).
    tail: Vec<Row>,
}

impl Builder {
    fn name(&mut self, s: &str) -> u32 {
        if let Some(i) = self.name_ids.get(s) {
            return *i;
        }
        let a: Arc<str> = s.into();
        let i = self.names.len() as u32;
        self.names.push(Arc::clone(&a));
        self.name_ids.insert(a, i);
        i
    }

    fn ctx(&mut self, c: PriceCtx) -> u32 {
        if let Some(i) = self.ctx_ids.get(&c) {
            return *i;
        }
        let i = self.ctxs.len() as u32;
        self.ctxs.push(c.clone());
        self.ctx_ids.insert(c, i);
        i
    }

    /// Takes another builder's rows as the second part, their ids
    /// translated into this one's.
    fn absorb(&mut self, o: Builder) {
        let names: Vec<u32> = o.names.iter().map(|n| self.name(n)).collect();
        let ctxs: Vec<u32> =
            o.ctxs.into_iter().map(|c| self.ctx(PriceCtx { model: names[c.model as usize], ..c })).collect();
        let mut rows = o.rows;
        rows.extend(o.tail);
        for r in &mut rows {
            r.ctx = ctxs[r.ctx as usize];
            r.workflow = names[r.workflow as usize];
            r.team = names[r.team as usize];
            r.customer = names[r.customer as usize];
        }
        if self.tail.is_empty() {
            self.tail = rows;
        } else {
            self.tail.append(&mut rows);
        }
    }

    fn finish(self) -> CallSet {
        CallSet {
            rows: Rows { head: self.rows, tail: self.tail },
            ctxs: self.ctxs,
            names: self.names,
            memo: Mutex::default(),
        }
    }
}

/// Reads one part of the window.
fn scan(
    conn: &rusqlite::Connection,
    (since, until): (i64, i64),
    workflow: Option<&str>,
    part: Part,
    capacity: usize,
    counted: &AtomicU64,
    progress: &(dyn Fn(u64) + Sync),
) -> rusqlite::Result<Builder> {
    let mut b = Builder::default();
    b.rows.reserve(capacity);
    let (from, lo, hi) = match part {
        Part::Time(a, b) => ("calls c WHERE", a, b),
        Part::Rows(a, b) => ("calls c NOT INDEXED WHERE c.id >= ?4 AND c.id < ?5 AND", a, b),
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT c.ts, c.dedupe_ts, c.dedupe_key, c.provider, c.model, c.workflow, c.team, c.customer,
                c.uncached_input, c.cache_read, c.cache_write_5m, c.cache_write_1h, c.output, c.reasoning,
                c.batch, c.service_tier, c.inference_geo, c.speed, c.region, c.cost_nano
         FROM {from} {RAW_WHERE} AND c.pending = 0 AND (?3 IS NULL OR COALESCE(c.workflow, '') = ?3)"
    ))?;
    let mut q = match part {
        Part::Time(..) => stmt.query(rusqlite::params![lo, hi, workflow])?,
        Part::Rows(..) => stmt.query(rusqlite::params![since, until, workflow, lo, hi])?,
    };
    // The row's strings are looked up together, by their bytes side by
    // side (each length-prefixed): one lookup a call.
    let mut combos: FxHashMap<Vec<u8>, [u32; 4]> = FxHashMap::default();
    let mut combo = Vec::with_capacity(128);
    let mut n = 0u64;
    while let Some(r) = q.next()? {
        let text =
            |i: usize| -> rusqlite::Result<Option<&[u8]>> { r.get_ref(i)?.as_bytes_or_null().map_err(Into::into) };
        let batch = r.get::<_, i64>(14)? != 0;
        let texts = [text(3)?, text(4)?, text(5)?, text(6)?, text(7)?, text(15)?, text(16)?, text(17)?, text(18)?];
        combo.clear();
        combo.push(batch as u8);
        for t in texts {
            match t {
                Some(t) => {
                    combo.extend_from_slice(&(t.len() as u32).to_le_bytes());
                    combo.extend_from_slice(t);
                }
                None => combo.extend_from_slice(&u32::MAX.to_le_bytes()),
            }
        }
        let ids = match combos.get(combo.as_slice()) {
            Some(ids) => *ids,
            None => {
                fn s(t: Option<&[u8]>) -> Option<std::borrow::Cow<'_, str>> {
                    t.map(String::from_utf8_lossy)
                }
                let arc = |t: Option<&[u8]>| s(t).map(|v| Arc::<str>::from(v.as_ref()));
                let ctx = PriceCtx {
                    provider: arc(texts[0]),
                    model: b.name(&s(texts[1]).unwrap_or_default()),
                    batch,
                    tier: arc(texts[5]),
                    geo: arc(texts[6]),
                    speed: arc(texts[7]),
                    region: arc(texts[8]),
                };
                let ids = [
                    b.ctx(ctx),
                    b.name(&s(texts[2]).unwrap_or_default()),
                    b.name(&s(texts[3]).unwrap_or_default()),
                    b.name(&s(texts[4]).unwrap_or_default()),
                ];
                combos.insert(combo.clone(), ids);
                ids
            }
        };
        let cost: Option<i64> = r.get(19)?;
        b.rows.push(Row {
            ts: r.get(0)?,
            dedupe_ts: r.get(1)?,
            dedupe_key: r.get(2)?,
            cost: cost.unwrap_or(0),
            tokens: crate::store::queries::tokens_at(r, 8)?,
            ctx: ids[0],
            workflow: ids[1],
            team: ids[2],
            customer: ids[3],
            flags: if cost.is_some() { HAS_COST } else { 0 },
            ..Row::default()
        });
        n += 1;
        if n.is_multiple_of(250_000) {
            progress(counted.fetch_add(250_000, Ordering::Relaxed) + 250_000);
        }
    }
    counted.fetch_add(n % 250_000, Ordering::Relaxed);
    Ok(b)
}

/// Joins each call's composition and fingerprints: the rows are put in
/// the order of the tables' keys (they nearly are: the calls are stored
/// time-led) and each half walks both tables over its key range, on its
/// own thread when the ledger is a file.
fn attach(conn: &rusqlite::Connection, b: &mut Builder) -> rusqlite::Result<()> {
    let key = |r: &Row| (r.dedupe_ts, r.dedupe_key);
    for part in [&mut b.rows, &mut b.tail] {
        if !part.is_sorted_by_key(key) {
            part.sort_unstable_by_key(key);
        }
    }
    let path = conn.path().filter(|p| !p.is_empty()).map(std::path::PathBuf::from);
    let Some(path) = path else {
        join_rows(conn, &mut b.rows)?;
        return join_rows(conn, &mut b.tail);
    };
    // The two parts (or the halves of one) each walk their key range.
    let (x, y) = match b.tail.is_empty() {
        true => {
            let mid = b.rows.len() / 2;
            b.rows.split_at_mut(mid)
        }
        false => (b.rows.as_mut_slice(), b.tail.as_mut_slice()),
    };
    std::thread::scope(|sc| -> rusqlite::Result<()> {
        // Hands its part back when it cannot open the ledger a second time.
        let other = sc.spawn(move || -> rusqlite::Result<Option<&mut [Row]>> {
            let Some(conn) = crate::store::open_read(&path).ok() else { return Ok(Some(y)) };
            join_rows(&conn, y)?;
            Ok(None)
        });
        join_rows(conn, x)?;
        match other.join().expect("a lever reader thread panicked")? {
            None => Ok(()),
            Some(y) => join_rows(conn, y),
        }
    })
}

/// Joins the compositions and fingerprints of the rows' key range to the
/// rows.
fn join_rows(conn: &rusqlite::Connection, rows: &mut [Row]) -> rusqlite::Result<()> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else { return Ok(()) };
    let range = (first.dedupe_ts, last.dedupe_ts);
    walk(
        conn,
        rows,
        range,
        "SELECT dedupe_ts, dedupe_key, system, tools, context, history, user FROM prompt_parts WHERE dedupe_ts >= ?1 AND dedupe_ts <= ?2 ORDER BY dedupe_ts, dedupe_key",
        |row, r| {
            let n = |c: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(c)?.max(0) as u64) };
            row.parts = narrow([n(2)?, n(3)?, n(4)?, n(5)?, n(6)?]);
            row.flags |= HAS_PARTS;
            Ok(())
        },
    )?;
    walk(
        conn,
        rows,
        range,
        "SELECT dedupe_ts, dedupe_key, prefix, prompt FROM prompt_hashes WHERE dedupe_ts >= ?1 AND dedupe_ts <= ?2 AND key_id = '' ORDER BY dedupe_ts, dedupe_key",
        |row, r| {
            if let Some(p) = r.get::<_, Option<i64>>(2)? {
                row.prefix = p;
                row.flags |= HAS_PREFIX;
            }
            row.prompt = r.get(3)?;
            row.flags |= HAS_PROMPT;
            Ok(())
        },
    )
}

/// Walks a table's rows of a dedupe-time range (in key order, its first
/// two columns the key) beside the call rows (in key order too), calling
/// `set` on each call the table has a row for.
fn walk(
    conn: &rusqlite::Connection,
    rows: &mut [Row],
    (lo, hi): (i64, i64),
    sql: &str,
    mut set: impl FnMut(&mut Row, &rusqlite::Row) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(sql)?;
    let mut q = stmt.query([lo, hi])?;
    let mut i = 0;
    while let Some(r) = q.next()? {
        let k = (r.get::<_, i64>(0)?, r.get::<_, i64>(1)?);
        while i < rows.len() && (rows[i].dedupe_ts, rows[i].dedupe_key) < k {
            i += 1;
        }
        if i == rows.len() {
            break;
        }
        if (rows[i].dedupe_ts, rows[i].dedupe_key) == k {
            set(&mut rows[i], r)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_composition_too_large_for_32_bits_keeps_its_shares() {
        assert_eq!(narrow([2_000, 0, 0, 0, 500]), [2_000, 0, 0, 0, 500]);
        let big = narrow([3 << 40, 1 << 40, 0, 0, 0]);
        assert_eq!(big[0], 3 * big[1]);
        assert!(big[0] > 1 << 20);
    }

    /// A file ledger whose calls are stored out of time order (as two
    /// sources interleave) is read in two parts of row ids: every call
    /// comes back once, with its own tokens, composition and fingerprints,
    /// whichever part it fell in.
    #[test]
    fn calls_stored_out_of_time_order_are_read_in_two_parts_with_their_own_compositions() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.db");
        let mut conn = crate::store::open_rw(&db).unwrap();
        let n = 400i64;
        // Call k: minute (k * 7919) % n, so the row ids run out of time
        // order; input 1000 + k; composition and prompt from k; every
        // third call without fingerprints.
        let tx = conn.transaction().unwrap();
        for k in 0..n {
            let ts = 1_790_000_000_000 + ((k * 7919) % n) * 60_000;
            tx.execute(
                "INSERT INTO calls (ts, dedupe_ts, dedupe_key, model, workflow, uncached_input, cache_read,
                   cache_write_5m, cache_write_1h, output, reasoning, cost_nano)
                 VALUES (?1, ?1, ?2, 'gpt-4o', ?3, ?4, 0, 0, 0, 10, 0, ?5)",
                rusqlite::params![ts, 5_000 + k, format!("w{}", k % 3), 1_000 + k, k * 3],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO prompt_parts (dedupe_ts, dedupe_key, system, tools, context, history, user, output, source)
                 VALUES (?1, ?2, ?3, 0, 0, 0, 1, 10, 0)",
                rusqlite::params![ts, 5_000 + k, k],
            )
            .unwrap();
            if k % 3 != 0 {
                tx.execute(
                    "INSERT INTO prompt_hashes (dedupe_ts, dedupe_key, prefix, prompt) VALUES (?1, ?2, ?3, ?4)",
                    rusqlite::params![ts, 5_000 + k, 77_000 + k, 99_000 + k],
                )
                .unwrap();
            }
        }
        tx.commit().unwrap();
        drop(conn);
        let conn = crate::store::open_read(&db).unwrap();
        let window = Window { since: Some(1_789_000_000_000), until: Some(1_791_000_000_000) };
        assert!(matches!(
            crate::store::queries::plan_scan(&conn, window.since.unwrap(), window.until.unwrap()).unwrap(),
            Some((Part::Rows(..), Part::Rows(..)))
        ));
        let heard = AtomicU64::new(0);
        let set = CallSet::load(&conn, window, None, &|n| heard.store(n, Ordering::Relaxed)).unwrap();
        assert_eq!(set.len(), n as usize);
        assert!(!set.rows.tail.is_empty(), "the second part is kept as read");
        let mut seen = vec![false; n as usize];
        for i in 0..set.len() {
            let r = &set.rows[i];
            let k = r.dedupe_key - 5_000;
            assert!(!std::mem::replace(&mut seen[k as usize], true), "call {k} read twice");
            assert_eq!(r.tokens.uncached_input, 1_000 + k as u64);
            assert_eq!(r.cost(), Some(Nanos(k * 3)));
            assert_eq!(set.name(r.workflow), format!("w{}", k % 3));
            assert_eq!(set.name(set.ctxs[r.ctx as usize].model), "gpt-4o");
            assert_eq!(r.parts(), Some([k as u32, 0, 0, 0, 1]), "call {k}");
            match k % 3 {
                0 => assert_eq!((r.prefix(), r.prompt()), (None, None), "call {k}"),
                _ => assert_eq!((r.prefix(), r.prompt()), (Some(77_000 + k), Some(99_000 + k)), "call {k}"),
            }
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(set.rows.iter().count(), n as usize);
        assert_eq!(set.workflows().len(), 3);
    }
}
