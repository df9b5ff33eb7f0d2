//! Hourly rollups: one row per (dimension, UTC hour, key) with summed
//! tokens and integer cost. Pair dimensions (workflow × model, ...) serve
//! drill-downs. The writer folds each committed batch into a map and
//! upserts it in the same transaction as the calls, so rollups and calls
//! never disagree.

use rusqlite::{Transaction, params};

use crate::domain::record::{CallRecord, Status};
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
    pub const PAIRS: [Dim; 6] = [
        Dim::WorkflowTeam,
        Dim::WorkflowCustomer,
        Dim::WorkflowModel,
        Dim::TeamCustomer,
        Dim::TeamModel,
        Dim::CustomerModel,
    ];

    pub fn code(self) -> i64 {
        self as i64
    }

    /// The pair dimension for two singles, and whether the key is stored
    /// in the (a, b) order given.
    pub fn pair(a: Dim, b: Dim) -> Option<(Dim, bool)> {
        for p in Dim::PAIRS {
            let (x, y) = p.parts()?;
            if (x, y) == (a, b) {
                return Some((p, true));
            }
            if (y, x) == (a, b) {
                return Some((p, false));
            }
        }
        None
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

    /// The record's value for a single dimension ("" when missing).
    pub fn value(self, r: &CallRecord) -> &str {
        match self {
            Dim::Workflow => r.workflow.as_deref().unwrap_or(""),
            Dim::Team => r.team.as_deref().unwrap_or(""),
            Dim::Customer => r.customer.as_deref().unwrap_or(""),
            Dim::Model => r.model.as_str(),
            Dim::Provider => r.provider.as_deref().unwrap_or(""),
            _ => "",
        }
    }
}

pub fn pair_key(a: &str, b: &str) -> String {
    let mut s = String::with_capacity(a.len() + b.len() + 1);
    s.push_str(a);
    s.push(PAIR_SEP);
    s.push_str(b);
    s
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
    pub cost_nano: i64,
    pub unpriced_calls: i64,
    pub error_calls: i64,
    pub reported_cost_nano: i64,
    pub latency_ms_sum: i64,
    pub latency_n: i64,
}

impl Agg {
    pub fn of(r: &CallRecord) -> Agg {
        Agg {
            calls: 1,
            uncached_input: r.tokens.uncached_input as i64,
            cache_read: r.tokens.cache_read as i64,
            cache_write: r.tokens.cache_write() as i64,
            output: r.tokens.output as i64,
            reasoning: r.tokens.reasoning as i64,
            cost_nano: r.cost.map(|c| c.0).unwrap_or(0),
            unpriced_calls: r.cost.is_none() as i64,
            error_calls: (r.status == Status::Error) as i64,
            reported_cost_nano: r.reported_cost.map(|c| c.0).unwrap_or(0),
            latency_ms_sum: r.latency_ms.unwrap_or(0) as i64,
            latency_n: r.latency_ms.is_some() as i64,
        }
    }

    pub fn add(&mut self, o: &Agg) {
        self.calls += o.calls;
        self.uncached_input += o.uncached_input;
        self.cache_read += o.cache_read;
        self.cache_write += o.cache_write;
        self.output += o.output;
        self.reasoning += o.reasoning;
        self.cost_nano += o.cost_nano;
        self.unpriced_calls += o.unpriced_calls;
        self.error_calls += o.error_calls;
        self.reported_cost_nano += o.reported_cost_nano;
        self.latency_ms_sum += o.latency_ms_sum;
        self.latency_n += o.latency_n;
    }

    pub fn negated(&self) -> Agg {
        Agg {
            calls: -self.calls,
            uncached_input: -self.uncached_input,
            cache_read: -self.cache_read,
            cache_write: -self.cache_write,
            output: -self.output,
            reasoning: -self.reasoning,
            cost_nano: -self.cost_nano,
            unpriced_calls: -self.unpriced_calls,
            error_calls: -self.error_calls,
            reported_cost_nano: -self.reported_cost_nano,
            latency_ms_sum: -self.latency_ms_sum,
            latency_n: -self.latency_n,
        }
    }

    /// All input classes together.
    pub fn input_tokens(&self) -> i64 {
        self.uncached_input + self.cache_read + self.cache_write
    }
}

/// The UTC hour bucket of a timestamp.
pub fn hour_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(MS_PER_HOUR)
}

/// The dimensions of one call that the rollups break down by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Group {
    hour: i64,
    workflow: String,
    team: String,
    customer: String,
    model: String,
    provider: String,
}

/// A borrowed [`Group`]: hashes identically, so lookups need no allocation.
#[derive(Hash)]
struct GroupRef<'a> {
    hour: i64,
    workflow: &'a str,
    team: &'a str,
    customer: &'a str,
    model: &'a str,
    provider: &'a str,
}

impl<'a> GroupRef<'a> {
    fn of(r: &'a CallRecord) -> GroupRef<'a> {
        GroupRef {
            hour: hour_of(r.ts_ms),
            workflow: Dim::Workflow.value(r),
            team: Dim::Team.value(r),
            customer: Dim::Customer.value(r),
            model: Dim::Model.value(r),
            provider: Dim::Provider.value(r),
        }
    }
}

impl hashbrown::Equivalent<Group> for GroupRef<'_> {
    fn equivalent(&self, g: &Group) -> bool {
        self.hour == g.hour
            && self.model == g.model
            && self.workflow == g.workflow
            && self.customer == g.customer
            && self.team == g.team
            && self.provider == g.provider
    }
}

impl Group {
    fn value(&self, d: Dim) -> &str {
        match d {
            Dim::Workflow => &self.workflow,
            Dim::Team => &self.team,
            Dim::Customer => &self.customer,
            Dim::Model => &self.model,
            Dim::Provider => &self.provider,
            _ => "",
        }
    }

    /// The rollup keys this group contributes to, as (dim, part, part).
    fn keys(&self) -> impl Iterator<Item = (Dim, &str, &str)> + '_ {
        let total = std::iter::once((Dim::Total, "", ""));
        let singles = Dim::SINGLES.into_iter().map(|d| (d, self.value(d), ""));
        let pairs = Dim::PAIRS.into_iter().filter_map(|d| {
            let (a, b) = d.parts()?;
            Some((d, self.value(a), self.value(b)))
        });
        total.chain(singles).chain(pairs)
    }
}

/// Rollup deltas for a batch of calls, aggregated per group of dimensions
/// (one hash lookup per call) and expanded into the rollup rows at flush.
/// Built by the reader thread next to the parser; the writer subtracts the
/// calls that turn out to be duplicates.
#[derive(Clone, Debug, Default)]
pub struct Delta {
    map: hashbrown::HashMap<Group, Agg>,
}

impl Delta {
    /// The deltas of a list of calls.
    pub fn of(records: &[CallRecord]) -> Delta {
        let mut d = Delta::default();
        for r in records {
            d.add(r);
        }
        d
    }

    pub fn add(&mut self, r: &CallRecord) {
        self.apply(r, &Agg::of(r));
    }

    /// Removes a call added before (it was a duplicate).
    pub fn sub(&mut self, r: &CallRecord) {
        self.apply(r, &Agg::of(r).negated());
    }

    fn apply(&mut self, r: &CallRecord, a: &Agg) {
        let probe = GroupRef::of(r);
        match self.map.get_mut(&probe) {
            Some(agg) => agg.add(a),
            None => {
                let g = Group {
                    hour: probe.hour,
                    workflow: probe.workflow.to_string(),
                    team: probe.team.to_string(),
                    customer: probe.customer.to_string(),
                    model: probe.model.to_string(),
                    provider: probe.provider.to_string(),
                };
                self.map.insert(g, *a);
            }
        }
    }

    /// Folds another delta into this one.
    pub fn merge(&mut self, other: Delta) {
        for (k, v) in other.map {
            self.map.entry(k).or_default().add(&v);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Upserts the deltas into `rollup_hour`.
    pub fn flush(&mut self, tx: &Transaction) -> rusqlite::Result<()> {
        if self.map.is_empty() {
            return Ok(());
        }
        // Expand groups into rollup rows, borrowing the keys from the groups.
        let mut rows: hashbrown::HashMap<(Dim, i64, &str, &str), Agg> = hashbrown::HashMap::new();
        for (g, a) in &self.map {
            if a.calls == 0 && a.cost_nano == 0 {
                continue;
            }
            for (d, x, y) in g.keys() {
                rows.entry((d, g.hour, x, y)).or_default().add(a);
            }
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO rollup_hour (dim, hour, key, calls, uncached_input, cache_read, cache_write, output,
                reasoning, cost_nano, unpriced_calls, error_calls, reported_cost_nano, latency_ms_sum, latency_n)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT (dim, hour, key) DO UPDATE SET
                calls = calls + excluded.calls,
                uncached_input = uncached_input + excluded.uncached_input,
                cache_read = cache_read + excluded.cache_read,
                cache_write = cache_write + excluded.cache_write,
                output = output + excluded.output,
                reasoning = reasoning + excluded.reasoning,
                cost_nano = cost_nano + excluded.cost_nano,
                unpriced_calls = unpriced_calls + excluded.unpriced_calls,
                error_calls = error_calls + excluded.error_calls,
                reported_cost_nano = reported_cost_nano + excluded.reported_cost_nano,
                latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum,
                latency_n = latency_n + excluded.latency_n",
        )?;
        for ((dim, hour, x, y), a) in rows {
            let key: std::borrow::Cow<str> = if dim.parts().is_some() { pair_key(x, y).into() } else { x.into() };
            stmt.execute(params![
                dim.code(),
                hour,
                key,
                a.calls,
                a.uncached_input,
                a.cache_read,
                a.cache_write,
                a.output,
                a.reasoning,
                a.cost_nano,
                a.unpriced_calls,
                a.error_calls,
                a.reported_cost_nano,
                a.latency_ms_sum,
                a.latency_n
            ])?;
        }
        drop(stmt);
        self.map.clear();
        Ok(())
    }
}

/// Rebuilds every rollup from the calls table (after a repricing or for
/// verification).
pub fn rebuild(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM rollup_hour", [])?;
    let expr = |d: Dim| -> String {
        let col = |d: Dim| match d {
            Dim::Workflow => "COALESCE(workflow,'')",
            Dim::Team => "COALESCE(team,'')",
            Dim::Customer => "COALESCE(customer,'')",
            Dim::Model => "model",
            Dim::Provider => "COALESCE(provider,'')",
            _ => "''",
        };
        match d.parts() {
            Some((a, b)) => format!("{} || char(31) || {}", col(a), col(b)),
            None => col(d).to_string(),
        }
    };
    let mut dims = vec![Dim::Total];
    dims.extend(Dim::SINGLES);
    dims.extend(Dim::PAIRS);
    for d in dims {
        let key = expr(d);
        tx.execute(
            &format!(
                "INSERT INTO rollup_hour
                 SELECT {code}, ts / {h} - (ts % {h} < 0), {key}, COUNT(*), SUM(uncached_input), SUM(cache_read),
                        SUM(cache_write_5m + cache_write_1h), SUM(output), SUM(reasoning),
                        COALESCE(SUM(cost_nano), 0), SUM(cost_nano IS NULL), SUM(status != 0),
                        COALESCE(SUM(reported_cost_nano), 0), COALESCE(SUM(latency_ms), 0), COUNT(latency_ms)
                 FROM calls GROUP BY 2, 3",
                code = d.code(),
                h = MS_PER_HOUR,
            ),
            [],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_found_in_either_order() {
        assert_eq!(Dim::pair(Dim::Workflow, Dim::Model), Some((Dim::WorkflowModel, true)));
        assert_eq!(Dim::pair(Dim::Model, Dim::Workflow), Some((Dim::WorkflowModel, false)));
        assert_eq!(Dim::pair(Dim::Provider, Dim::Model), None);
    }

    #[test]
    fn hours_floor_negative_times() {
        assert_eq!(hour_of(0), 0);
        assert_eq!(hour_of(MS_PER_HOUR - 1), 0);
        assert_eq!(hour_of(-1), -1);
    }
}
