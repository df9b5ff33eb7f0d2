//! Outcomes in the ledger: stored once per (id kind, id), the latest event
//! by time winning, and joined to a call at ingest.
//!
//! The join: an outcome a call carries is joined to that call at once. An
//! outcome event looks its call up by request, trace or session id; the
//! lookup's index on `calls` is created the first time an outcome event of
//! that kind arrives (a ledger without outcome events never pays for it).
//! An event whose call has not arrived yet waits in `unjoined` and is
//! joined when a call with its id is stored.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, Transaction, params};

use crate::domain::outcome::{IdKind, OutcomeEvent};
use crate::domain::record::CallRecord;

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
}

const JOIN_COLUMNS: &str = "ts, workflow, team, customer, user, project, provider, model";

/// An outcome to store.
struct Upsert<'a> {
    kind: IdKind,
    id: &'a str,
    ts: i64,
    success: bool,
    value: Option<i64>,
    workflow: Option<&'a str>,
}

/// The dimensions of the joined call.
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

    /// Stores (or updates) an outcome; `joined` when it comes with its call.
    fn upsert(
        &mut self,
        tx: &Transaction,
        o: Upsert,
        joined: Option<&Joined>,
        now: i64,
        counts: &mut OutcomeCounts,
    ) -> rusqlite::Result<bool> {
        let Upsert { kind, id, ts, success, value, workflow } = o;
        type Old = (i64, bool, Option<i64>, Option<String>, Option<i64>);
        let old: Option<Old> = tx
            .prepare_cached(
                "SELECT ts, success, value_nano, workflow, call_ts FROM outcomes WHERE id_kind = ?1 AND id = ?2",
            )?
            .query_row(params![kind.code(), id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .optional()?;
        let d = |i: usize| joined.and_then(|j| j.dims[i].clone());
        match old {
            None => {
                tx.prepare_cached(
                    "INSERT INTO outcomes (id_kind, id, ts, success, value_nano, workflow, from_call, call_ts, call_workflow,
                       team, customer, user, project, provider, model, recorded_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                )?
                .execute(params![
                    kind.code(),
                    id,
                    ts,
                    success,
                    value,
                    workflow,
                    joined.is_some(),
                    joined.map(|j| j.ts),
                    d(0),
                    d(1),
                    d(2),
                    d(3),
                    d(4),
                    d(5),
                    d(6),
                    now
                ])?;
                counts.stored += 1;
                if joined.is_some() {
                    counts.joined += 1;
                }
                Ok(joined.is_some())
            }
            Some((old_ts, old_success, old_value, old_workflow, call_ts)) => {
                // The latest event by time wins (a tie: the one read last).
                let workflow = workflow.map(str::to_string).or(old_workflow.clone());
                if ts >= old_ts && (ts, success, value, &workflow) != (old_ts, old_success, old_value, &old_workflow) {
                    tx.prepare_cached(
                        "UPDATE outcomes SET ts = ?3, success = ?4, value_nano = ?5, workflow = ?6, recorded_at = ?7
                         WHERE id_kind = ?1 AND id = ?2",
                    )?
                    .execute(params![kind.code(), id, ts, success, value, workflow, now])?;
                    if (success, value) != (old_success, old_value) {
                        counts.updated += 1;
                    }
                }
                if call_ts.is_none()
                    && let Some(j) = joined
                {
                    self.join(tx, kind, id, j, counts)?;
                }
                Ok(call_ts.is_some() || joined.is_some())
            }
        }
    }

    fn join(
        &mut self,
        tx: &Transaction,
        kind: IdKind,
        id: &str,
        j: &Joined,
        counts: &mut OutcomeCounts,
    ) -> rusqlite::Result<()> {
        let n = tx
            .prepare_cached(
                "UPDATE outcomes SET call_ts = ?3, call_workflow = ?4, team = ?5, customer = ?6, user = ?7, project = ?8,
                   provider = ?9, model = ?10
                 WHERE id_kind = ?1 AND id = ?2 AND call_ts IS NULL",
            )?
            .execute(params![
                kind.code(),
                id,
                j.ts,
                j.dims[0],
                j.dims[1],
                j.dims[2],
                j.dims[3],
                j.dims[4],
                j.dims[5],
                j.dims[6]
            ])?;
        counts.joined += n as u64;
        if let Some(sets) = self.unjoined.as_mut()
            && let Some(set) = sets.get_mut(kind.code() as usize)
        {
            set.remove(id);
        }
        Ok(())
    }

    /// An outcome event: stored, then joined to its call if it is stored.
    pub fn event(
        &mut self,
        tx: &Transaction,
        e: &OutcomeEvent,
        now: i64,
        counts: &mut OutcomeCounts,
    ) -> rusqlite::Result<()> {
        let value = e.value.map(|v| v.0);
        let o =
            Upsert { kind: e.kind, id: &e.id, ts: e.ts_ms, success: e.success, value, workflow: e.workflow.as_deref() };
        if self.upsert(tx, o, None, now, counts)? {
            return Ok(());
        }
        let column = match e.kind {
            IdKind::Request => "request_id",
            IdKind::Trace => "trace_id",
            IdKind::Session => "session_id",
            IdKind::Call => return Ok(()),
        };
        let slot = e.kind.code() as usize;
        if !self.indexed[slot] {
            tx.execute_batch(&format!(
                "CREATE INDEX IF NOT EXISTS calls_{column} ON calls({column}) WHERE {column} IS NOT NULL"
            ))?;
            self.indexed[slot] = true;
        }
        let found = tx
            .prepare_cached(&format!("SELECT {JOIN_COLUMNS} FROM calls WHERE {column} = ?1 ORDER BY ts LIMIT 1"))?
            .query_row([&e.id], Joined::from_row)
            .optional()?;
        match found {
            Some(j) => self.join(tx, e.kind, &e.id, &j, counts)?,
            None => {
                self.unjoined(tx)?[slot].insert(e.id.clone());
            }
        }
        Ok(())
    }

    /// A call was stored: its own outcome, and outcomes waiting for it.
    pub fn call(
        &mut self,
        tx: &Transaction,
        r: &CallRecord,
        now: i64,
        counts: &mut OutcomeCounts,
    ) -> rusqlite::Result<()> {
        let mut joined = None;
        if let Some(stamp) = r.outcome {
            let (kind, id) = call_identity(r, stamp.per);
            let j = Joined::of(r);
            let o = Upsert {
                kind,
                id: &id,
                ts: r.ts_ms,
                success: stamp.success,
                value: stamp.value.map(|v| v.0),
                workflow: None,
            };
            self.upsert(tx, o, Some(&j), now, counts)?;
            joined = Some(j);
        }
        let waiting = self.unjoined(tx)?;
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
            let j = joined.take().unwrap_or_else(|| Joined::of(r));
            self.join(tx, kind, &id, &j, counts)?;
            joined = Some(j);
        }
        Ok(())
    }
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
    }
}

/// Outcomes in a window by a grouping (keys as the ledger's: a missing
/// dimension is the empty key; days and months in `tz`). A success counts
/// in the period of its own time.
pub fn by_group(
    conn: &rusqlite::Connection,
    by: super::queries::GroupBy,
    w: super::queries::Window,
    tz: &jiff::tz::TimeZone,
) -> rusqlite::Result<std::collections::HashMap<String, OutcomeAgg>> {
    use crate::domain::time;
    let (since, until) = (w.since.unwrap_or(i64::MIN), w.until.unwrap_or(i64::MAX));
    let sum = "COUNT(*), SUM(success), COALESCE(SUM(CASE WHEN success THEN value_nano END), 0)";
    let mut out: std::collections::HashMap<String, OutcomeAgg> = std::collections::HashMap::new();
    let row = |r: &rusqlite::Row| -> rusqlite::Result<(Option<String>, OutcomeAgg)> {
        Ok((
            r.get(0)?,
            OutcomeAgg {
                outcomes: r.get(1)?,
                successes: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                value: crate::domain::money::Nanos(r.get(3)?),
            },
        ))
    };
    match by.dimension() {
        Some(d) => {
            let (col, joined_only) = group_column(d);
            let sql = format!(
                "SELECT {col}, {sum} FROM outcomes WHERE ts >= ?1 AND ts < ?2{} GROUP BY 1",
                if joined_only { " AND call_ts IS NOT NULL" } else { "" }
            );
            let mut stmt = conn.prepare(&sql)?;
            for r in stmt.query_map(params![since, until], row)? {
                let (k, a) = r?;
                out.entry(k.unwrap_or_default()).or_default().add(&a);
            }
        }
        None => {
            let sql = format!(
                "SELECT CAST(ts / 3600000 - (ts < 0 AND ts % 3600000 != 0) AS TEXT), {sum} FROM outcomes
                 WHERE ts >= ?1 AND ts < ?2 GROUP BY 1"
            );
            let mut stmt = conn.prepare(&sql)?;
            for r in stmt.query_map(params![since, until], row)? {
                let (hour, a) = r?;
                let start = hour.and_then(|h| h.parse::<i64>().ok()).unwrap_or(0) * 3_600_000;
                let label = match by {
                    super::queries::GroupBy::Month => time::local_month(start, tz),
                    _ => time::local_day(start, tz),
                };
                out.entry(label).or_default().add(&a);
            }
        }
    }
    Ok(out)
}
