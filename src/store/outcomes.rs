//! Outcomes in the ledger: stored once per (id kind, id), the latest event
//! by time winning, and joined to a call at ingest.
//!
//! The join: an outcome a call carries is joined to that call at once. An
//! outcome event looks its call up by request, trace or session id; the
//! lookup's index on `calls` is created the first time an outcome event of
//! that kind arrives (a ledger without outcome events never pays for it).
//! An event whose call has not arrived yet waits in `unjoined` and is
//! joined when a call with its id is stored.

use std::collections::{HashMap, HashSet};

use rusqlite::{OptionalExtension, Transaction, params};

use crate::domain::outcome::{IdKind, OutcomeEvent};
use crate::domain::record::CallRecord;
use crate::domain::time::MS_PER_HOUR;

/// Counters of one transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// New outcomes.
    pub stored: u64,
    /// Outcomes a later event changed.
    pub updated: u64,
    /// Outcomes joined to a call.
    pub joined: u64,
}

/// The writer's outcome state.
#[derive(Default)]
pub struct OutcomeState {
    /// Ids of unjoined outcomes by kind (request, trace, session), loaded
    /// the first time it matters.
    unjoined: Option<[HashSet<String>; 3]>,
    /// The `calls` lookups already indexed, by id kind.
    indexed: [bool; 3],
    /// Rollup changes of the open transaction.
    delta: OutcomeDelta,
}

const JOIN_COLUMNS: &str = "ts, workflow, team, customer, user, project, provider, model";

/// The dimensions of the joined call, in [`Dimension::ALL`] order.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Joined {
    ts: i64,
    dims: [Option<String>; 7],
}

impl Joined {
    fn of(r: &CallRecord) -> Joined {
        Joined {
            ts: r.ts_ms,
            dims: [
                r.workflow.clone(),
                r.team.clone(),
                r.customer.clone(),
                r.user.clone(),
                r.project.clone(),
                r.provider.clone(),
                Some(r.model.clone()),
            ],
        }
    }

    fn from_row(row: &rusqlite::Row) -> rusqlite::Result<Joined> {
        Ok(Joined {
            ts: row.get(0)?,
            dims: [row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?],
        })
    }
}

/// An outcome as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stored {
    ts: i64,
    success: bool,
    value: Option<i64>,
    workflow: Option<String>,
    from_call: bool,
    joined: Option<Joined>,
}

/// The rollup's dimension code for "every outcome" (day and month views).
const ALL_DIM: i64 = 7;

impl Stored {
    /// The rollup rows this outcome counts in: (dimension, hour, key).
    fn groups(&self) -> Vec<(i64, i64, String)> {
        let hour = self.ts.div_euclid(MS_PER_HOUR);
        let wf = self.workflow.clone().or_else(|| self.joined.as_ref().and_then(|j| j.dims[0].clone()));
        let mut g = vec![(0, hour, wf.unwrap_or_default()), (ALL_DIM, hour, String::new())];
        if let Some(j) = &self.joined {
            for (i, v) in j.dims.iter().enumerate().skip(1) {
                g.push((i as i64, hour, v.clone().unwrap_or_default()));
            }
        }
        g
    }

    fn measures(&self, sign: i64) -> [i64; 3] {
        [sign, sign * i64::from(self.success), sign * if self.success { self.value.unwrap_or(0) } else { 0 }]
    }
}

/// Changes to the hourly outcome rollup, summed in memory and written at
/// commit (as the calls' rollups are).
#[derive(Default)]
pub struct OutcomeDelta {
    map: HashMap<(i64, i64, String), [i64; 3]>,
}

impl OutcomeDelta {
    fn change(&mut self, old: Option<&Stored>, new: &Stored) {
        for (s, sign) in old.into_iter().map(|o| (o, -1)).chain(std::iter::once((new, 1))) {
            let m = s.measures(sign);
            for g in s.groups() {
                let e = self.map.entry(g).or_default();
                for i in 0..3 {
                    e[i] += m[i];
                }
            }
        }
    }

    /// Writes the changes (rows that come to nothing are removed).
    pub fn flush(&mut self, tx: &Transaction) -> rusqlite::Result<()> {
        if self.map.is_empty() {
            return Ok(());
        }
        let mut up = tx.prepare_cached(
            "INSERT INTO outcome_rollup (dim, hour, key, outcomes, successes, value_nano) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (dim, hour, key) DO UPDATE SET outcomes = outcomes + excluded.outcomes,
               successes = successes + excluded.successes, value_nano = value_nano + excluded.value_nano",
        )?;
        for ((dim, hour, key), m) in self.map.drain() {
            if m != [0, 0, 0] {
                up.execute(params![dim, hour, key, m[0], m[1], m[2]])?;
            }
        }
        tx.prepare_cached("DELETE FROM outcome_rollup WHERE outcomes = 0")?.execute([])?;
        Ok(())
    }
}

/// The outcome identity a call's stamp names: its request (or, without a
/// request id, the call itself), its trace or its session.
pub fn call_identity(r: &CallRecord, per: IdKind) -> (IdKind, String) {
    let id = match per {
        IdKind::Trace => r.trace_id.clone().map(|t| (IdKind::Trace, t)),
        IdKind::Session => r.session_id.clone().map(|s| (IdKind::Session, s)),
        IdKind::Request | IdKind::Call => None,
    };
    id.or_else(|| r.request_id.clone().map(|q| (IdKind::Request, q)))
        .unwrap_or_else(|| (IdKind::Call, format!("{}:{}", if r.ts_inferred { 0 } else { r.ts_ms }, r.dedupe_key)))
}

impl OutcomeState {
    fn unjoined(&mut self, tx: &Transaction) -> rusqlite::Result<&mut [HashSet<String>; 3]> {
        if self.unjoined.is_none() {
            let mut sets: [HashSet<String>; 3] = Default::default();
            let mut stmt = tx.prepare("SELECT id_kind, id FROM outcomes WHERE call_ts IS NULL")?;
            for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
                let (k, id) = row?;
                if let Some(set) = sets.get_mut(k as usize) {
                    set.insert(id);
                }
            }
            self.unjoined = Some(sets);
        }
        Ok(self.unjoined.get_or_insert_with(Default::default))
    }

    fn load(tx: &Transaction, kind: IdKind, id: &str) -> rusqlite::Result<Option<Stored>> {
        tx.prepare_cached(
            "SELECT ts, success, value_nano, workflow, from_call, call_ts, call_workflow, team, customer, user, project,
               provider, model
             FROM outcomes WHERE id_kind = ?1 AND id = ?2",
        )?
        .query_row(params![kind.code(), id], |r| {
            let call_ts: Option<i64> = r.get(5)?;
            Ok(Stored {
                ts: r.get(0)?,
                success: r.get(1)?,
                value: r.get(2)?,
                workflow: r.get(3)?,
                from_call: r.get(4)?,
                joined: match call_ts {
                    Some(ts) => Some(Joined {
                        ts,
                        dims: [r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?],
                    }),
                    None => None,
                },
            })
        })
        .optional()
    }

    /// Writes an outcome's new state (and its rollup change).
    fn save(
        &mut self,
        tx: &Transaction,
        (kind, id): (IdKind, &str),
        old: Option<&Stored>,
        new: &Stored,
        now: i64,
        counts: &mut OutcomeCounts,
    ) -> rusqlite::Result<()> {
        if old == Some(new) {
            return Ok(());
        }
        let j = new.joined.as_ref();
        let d = |i: usize| j.and_then(|j| j.dims[i].as_deref());
        tx.prepare_cached(
            "INSERT OR REPLACE INTO outcomes (id_kind, id, ts, success, value_nano, workflow, from_call, call_ts,
               call_workflow, team, customer, user, project, provider, model, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?
        .execute(params![
            kind.code(),
            id,
            new.ts,
            new.success,
            new.value,
            new.workflow,
            new.from_call,
            j.map(|j| j.ts),
            d(0),
            d(1),
            d(2),
            d(3),
            d(4),
            d(5),
            d(6),
            now
        ])?;
        self.delta.change(old, new);
        match old {
            None => counts.stored += 1,
            Some(o) if (o.success, o.value) != (new.success, new.value) => counts.updated += 1,
            Some(_) => {}
        }
        if new.joined.is_some() && old.is_none_or(|o| o.joined.is_none()) {
            counts.joined += 1;
            if let Some(sets) = self.unjoined.as_mut()
                && let Some(set) = sets.get_mut(kind.code() as usize)
            {
                set.remove(id);
            }
        }
        Ok(())
    }

    /// The state after an event: the latest by time wins (a tie: the one
    /// read last); the workflow is kept when the event has none; a join is
    /// kept once made.
    fn merged(old: Option<&Stored>, ts: i64, success: bool, value: Option<i64>, workflow: Option<&str>) -> Stored {
        match old {
            Some(o) if ts < o.ts => o.clone(),
            Some(o) => Stored {
                ts,
                success,
                value,
                workflow: workflow.map(str::to_string).or_else(|| o.workflow.clone()),
                from_call: o.from_call,
                joined: o.joined.clone(),
            },
            None => {
                Stored { ts, success, value, workflow: workflow.map(str::to_string), from_call: false, joined: None }
            }
        }
    }

    /// An outcome event: stored, and joined to its call if it is stored.
    pub fn event(
        &mut self,
        tx: &Transaction,
        e: &OutcomeEvent,
        now: i64,
        counts: &mut OutcomeCounts,
    ) -> rusqlite::Result<()> {
        let old = Self::load(tx, e.kind, &e.id)?;
        let mut new = Self::merged(old.as_ref(), e.ts_ms, e.success, e.value.map(|v| v.0), e.workflow.as_deref());
        if new.joined.is_none() {
            new.joined = self.find_call(tx, e.kind, &e.id)?;
            if new.joined.is_none() && old.is_none() {
                self.unjoined(tx)?[e.kind.code() as usize].insert(e.id.clone());
            }
        }
        self.save(tx, (e.kind, &e.id), old.as_ref(), &new, now, counts)
    }

    /// The earliest stored call with this id (the lookup index is made the
    /// first time it is needed).
    fn find_call(&mut self, tx: &Transaction, kind: IdKind, id: &str) -> rusqlite::Result<Option<Joined>> {
        let column = match kind {
            IdKind::Request => "request_id",
            IdKind::Trace => "trace_id",
            IdKind::Session => "session_id",
            IdKind::Call => return Ok(None),
        };
        let slot = kind.code() as usize;
        if !self.indexed[slot] {
            tx.execute_batch(&format!(
                "CREATE INDEX IF NOT EXISTS calls_{column} ON calls({column}) WHERE {column} IS NOT NULL"
            ))?;
            self.indexed[slot] = true;
        }
        tx.prepare_cached(&format!("SELECT {JOIN_COLUMNS} FROM calls WHERE {column} = ?1 ORDER BY ts LIMIT 1"))?
            .query_row([id], Joined::from_row)
            .optional()
    }

    /// A call was stored: its own outcome, and outcomes waiting for it.
    pub fn call(
        &mut self,
        tx: &Transaction,
        r: &CallRecord,
        now: i64,
        counts: &mut OutcomeCounts,
    ) -> rusqlite::Result<()> {
        if let Some(stamp) = r.outcome {
            let (kind, id) = call_identity(r, stamp.per);
            let old = Self::load(tx, kind, &id)?;
            let mut new = Self::merged(old.as_ref(), r.ts_ms, stamp.success, stamp.value.map(|v| v.0), None);
            new.from_call = true;
            if new.joined.is_none() {
                new.joined = Some(Joined::of(r));
            }
            self.save(tx, (kind, &id), old.as_ref(), &new, now, counts)?;
        }
        let waiting = self.unjoined(tx)?;
        if waiting.iter().all(|w| w.is_empty()) {
            return Ok(());
        }
        let mut hits = Vec::new();
        for (kind, id) in
            [(IdKind::Request, &r.request_id), (IdKind::Trace, &r.trace_id), (IdKind::Session, &r.session_id)]
        {
            if let Some(id) = id
                && waiting[kind.code() as usize].contains(id.as_str())
            {
                hits.push((kind, id.clone()));
            }
        }
        for (kind, id) in hits {
            if let Some(old) = Self::load(tx, kind, &id)?
                && old.joined.is_none()
            {
                let new = Stored { joined: Some(Joined::of(r)), ..old.clone() };
                self.save(tx, (kind, &id), Some(&old), &new, now, counts)?;
            }
        }
        Ok(())
    }

    /// Writes the transaction's rollup changes.
    pub fn flush(&mut self, tx: &Transaction) -> rusqlite::Result<()> {
        self.delta.flush(tx)
    }
}

/// Recomputes the hourly rollup from the outcomes (after outcomes were
/// written by other means than the writer, such as a merge).
#[cfg(test)]
pub fn rebuild_rollup(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "DELETE FROM outcome_rollup;
         INSERT INTO outcome_rollup (dim, hour, key, outcomes, successes, value_nano)
         SELECT d.dim, o.ts / 3600000 - (o.ts < 0 AND o.ts % 3600000 != 0),
                CASE d.dim WHEN 0 THEN COALESCE(o.workflow, o.call_workflow, '') WHEN 1 THEN COALESCE(o.team, '')
                  WHEN 2 THEN COALESCE(o.customer, '') WHEN 3 THEN COALESCE(o.user, '')
                  WHEN 4 THEN COALESCE(o.project, '') WHEN 5 THEN COALESCE(o.provider, '')
                  WHEN 6 THEN COALESCE(o.model, '') ELSE '' END,
                COUNT(*), SUM(o.success), SUM(CASE WHEN o.success THEN COALESCE(o.value_nano, 0) ELSE 0 END)
         FROM outcomes o
         JOIN (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
               UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7) d
           ON d.dim IN (0, 7) OR o.call_ts IS NOT NULL
         GROUP BY 1, 2, 3;",
    )
}

/// Outcomes of one group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutcomeAgg {
    pub outcomes: i64,
    pub successes: i64,
    /// Business value of the successes (`value_usd`).
    pub value: crate::domain::money::Nanos,
}

impl OutcomeAgg {
    fn add(&mut self, o: &OutcomeAgg) {
        self.outcomes += o.outcomes;
        self.successes += o.successes;
        self.value = crate::domain::money::Nanos(self.value.0.saturating_add(o.value.0));
    }
}

/// The column of the outcomes table a grouping reads: a workflow is the
/// outcome's own, else its call's; every other dimension is its call's
/// (outcomes without a call count only by workflow and time).
fn group_column(d: crate::domain::dims::Dimension) -> (&'static str, bool) {
    use crate::domain::dims::Dimension as D;
    match d {
        D::Workflow => ("COALESCE(workflow, call_workflow)", false),
        D::Team => ("team", true),
        D::Customer => ("customer", true),
        D::User => ("user", true),
        D::Project => ("project", true),
        D::Provider => ("provider", true),
        D::Model => ("model", true),
        // Outcomes do not record the ledger they came from.
        D::Machine => ("NULL", true),
    }
}

/// Outcomes in a window by a grouping (keys as the ledger's: a missing
/// dimension is the empty key; days and months in `tz`). A success counts
/// in the period of its own time. Whole hours come from the rollup, the
/// window's partial hours at either end from the outcomes themselves.
pub fn by_group(
    conn: &rusqlite::Connection,
    by: super::queries::GroupBy,
    w: super::queries::Window,
    tz: &jiff::tz::TimeZone,
) -> rusqlite::Result<HashMap<String, OutcomeAgg>> {
    use crate::domain::time;
    if by == super::queries::GroupBy::Dim(crate::domain::dims::Dimension::Machine) {
        // Outcomes do not record the ledger they came from: no cost per
        // success by machine.
        return Ok(HashMap::new());
    }
    let (since, until) = (w.since.unwrap_or(i64::MIN), w.until.unwrap_or(i64::MAX));
    // Whole hours [h0, h1) inside the window.
    let h0 = if since == i64::MIN {
        i64::MIN
    } else {
        since.div_euclid(MS_PER_HOUR) + i64::from(since.rem_euclid(MS_PER_HOUR) != 0)
    };
    let h1 = if until == i64::MAX { i64::MAX } else { until.div_euclid(MS_PER_HOUR) };
    let (dim, col, joined_only) = match by.dimension() {
        Some(d) => {
            let (col, joined_only) = group_column(d);
            (crate::domain::dims::Dimension::ALL.iter().position(|x| *x == d).unwrap_or(0) as i64, col, joined_only)
        }
        None => (ALL_DIM, "''", false),
    };
    // (key or hour, measures) rows before bucketing.
    let mut rows: Vec<(String, i64, OutcomeAgg)> = Vec::new();
    let agg = |r: &rusqlite::Row, at: usize| -> rusqlite::Result<OutcomeAgg> {
        Ok(OutcomeAgg {
            outcomes: r.get(at)?,
            successes: r.get::<_, Option<i64>>(at + 1)?.unwrap_or(0),
            value: crate::domain::money::Nanos(r.get::<_, Option<i64>>(at + 2)?.unwrap_or(0)),
        })
    };
    if h0 < h1 {
        let mut stmt = conn.prepare_cached(
            "SELECT key, hour, SUM(outcomes), SUM(successes), SUM(value_nano) FROM outcome_rollup
             WHERE dim = ?1 AND hour >= ?2 AND hour < ?3 GROUP BY key, hour",
        )?;
        for r in
            stmt.query_map(params![dim, h0, h1], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, agg(r, 2)?)))?
        {
            rows.push(r?);
        }
    }
    // The partial hours at the ends (or the whole window inside one hour).
    let edges: Vec<(i64, i64)> = if h0 < h1 {
        vec![(since, h0.saturating_mul(MS_PER_HOUR)), (h1.saturating_mul(MS_PER_HOUR), until)]
    } else {
        vec![(since, until)]
    };
    let sql = format!(
        "SELECT COALESCE({col}, ''), ts / 3600000 - (ts < 0 AND ts % 3600000 != 0), COUNT(*), SUM(success),
           SUM(CASE WHEN success THEN COALESCE(value_nano, 0) ELSE 0 END)
         FROM outcomes WHERE ts >= ?1 AND ts < ?2{} GROUP BY 1, 2",
        if joined_only { " AND call_ts IS NOT NULL" } else { "" }
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    for (a, b) in edges.into_iter().filter(|(a, b)| a < b) {
        for r in stmt.query_map(params![a, b], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, agg(r, 2)?)))? {
            rows.push(r?);
        }
    }
    let mut out: HashMap<String, OutcomeAgg> = HashMap::new();
    for (key, hour, a) in rows {
        let k = match (by.dimension(), by) {
            (Some(_), _) => key,
            (None, super::queries::GroupBy::Month) => time::local_month(hour * MS_PER_HOUR, tz),
            (None, _) => time::local_day(hour * MS_PER_HOUR, tz),
        };
        out.entry(k).or_default().add(&a);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Nanos;

    fn rollup(conn: &rusqlite::Connection) -> Vec<(i64, i64, String, i64, i64, i64)> {
        let mut st = conn.prepare("SELECT * FROM outcome_rollup ORDER BY 1, 2, 3").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn the_incremental_rollup_equals_a_rebuild_after_any_sequence() {
        let mut rng = crate::sim::Rng::new(3);
        for round in 0..20 {
            let mut conn = crate::store::open_memory().unwrap();
            let mut st = OutcomeState::default();
            let mut counts = OutcomeCounts::default();
            for step in 0..60 {
                let tx = conn.transaction().unwrap();
                let id = format!("x{}", rng.below(8));
                let kind = [IdKind::Request, IdKind::Trace, IdKind::Session][rng.below(3) as usize];
                let ts = 1_790_000_000_000 + rng.below(10) as i64 * 1_800_000;
                if rng.below(3) == 0 {
                    // A call carrying ids that outcomes may wait for.
                    let r = CallRecord {
                        ts_ms: ts,
                        dedupe_key: step,
                        model: "m".into(),
                        workflow: Some(format!("w{}", rng.below(2))),
                        team: Some("t".into()),
                        request_id: Some(id.clone()),
                        trace_id: Some(id.clone()),
                        session_id: Some(id.clone()),
                        ..CallRecord::default()
                    };
                    st.call(&tx, &r, 0, &mut counts).unwrap();
                } else {
                    let e = OutcomeEvent {
                        kind,
                        id,
                        ts_ms: ts,
                        success: rng.below(2) == 0,
                        value: (rng.below(2) == 0).then_some(Nanos(rng.below(1000) as i64)),
                        workflow: (rng.below(2) == 0).then(|| format!("w{}", rng.below(3))),
                        line_no: 0,
                    };
                    st.event(&tx, &e, 0, &mut counts).unwrap();
                }
                st.flush(&tx).unwrap();
                tx.commit().unwrap();
            }
            let kept = rollup(&conn);
            rebuild_rollup(&conn).unwrap();
            assert_eq!(kept, rollup(&conn), "round {round}");
        }
    }
}
