//! The itemized ledger as a report: its columns, its rules (average input,
//! cost per call, share, attribution and price coverage) and its JSON.
//! The command line, the cockpit's Ledger tab and the snapshots all print
//! this one model.

use std::collections::BTreeMap;

use serde::Serialize;

use super::table::{Cell, Column, Row, Table};
use crate::domain::dims::Dimension;
use crate::domain::record::PART_NAMES;
use crate::domain::time;
use crate::store::outcomes::OutcomeAgg;
use crate::store::queries::{GroupBy, Ledger, LedgerRow};
use crate::store::rollup::Agg;

/// The ledger of a window, grouped, with what the report needs to say
/// where it comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerReport {
    pub ledger: Ledger,
    /// The window in words ("today", "2026-10-01 → 2026-11-01").
    pub window_label: String,
    pub tz_name: String,
    /// Successes per group, where an outcome is defined.
    pub outcomes: LedgerOutcomes,
}

/// The outcomes of a ledger's groups.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LedgerOutcomes {
    /// Outcomes in the window by group key.
    pub groups: std::collections::HashMap<String, OutcomeAgg>,
    /// Workflows whose success an `[[outcome.rule]]` defines (they have a
    /// count, 0 included, even with no outcome in the window).
    pub rule_workflows: Vec<String>,
}

impl LedgerOutcomes {
    /// Reads the outcomes of a ledger's window and grouping.
    pub fn load(
        conn: &rusqlite::Connection,
        l: &Ledger,
        tz: &jiff::tz::TimeZone,
        rule_workflows: Vec<String>,
    ) -> rusqlite::Result<LedgerOutcomes> {
        Ok(LedgerOutcomes { groups: crate::store::outcomes::by_group(conn, l.by, l.window, tz)?, rule_workflows })
    }

    /// A group's successes; `None` where no outcome is defined (never 0
    /// for "unknown").
    pub fn successes(&self, by: GroupBy, key: &str) -> Option<i64> {
        match self.groups.get(key) {
            Some(o) => Some(o.successes),
            None if by == GroupBy::WORKFLOW && self.rule_workflows.iter().any(|w| w == key) => Some(0),
            None => None,
        }
    }

    pub fn total_successes(&self) -> Option<i64> {
        (!self.groups.is_empty()).then(|| self.groups.values().map(|o| o.successes).sum())
    }
}

/// Cost per successful outcome: spend / successes (none without a success).
pub fn cost_per_success(
    cost: crate::domain::money::Nanos,
    successes: Option<i64>,
) -> Option<crate::domain::money::Nanos> {
    successes
        .filter(|n| *n > 0)
        .map(|n| crate::domain::money::Nanos(crate::domain::money::div_round(cost.0 as i128, n as i128) as i64))
}

/// Share of cost with a workflow (of calls when nothing has a cost).
pub fn attribution_coverage(l: &Ledger) -> f64 {
    ratio_or(l.attributed.cost.0, l.total.cost.0, l.attributed.calls, l.total.calls)
}

/// Share of calls that have a price (pending calls do not, yet).
pub fn price_coverage(l: &Ledger) -> f64 {
    if l.total.calls == 0 { 0.0 } else { priced_calls(&l.total) as f64 / l.total.calls as f64 }
}

fn ratio_or(num: i64, den: i64, num2: i64, den2: i64) -> f64 {
    if den > 0 {
        num as f64 / den as f64
    } else if den2 > 0 {
        num2 as f64 / den2 as f64
    } else {
        0.0
    }
}

/// Average of a sum over a count (0 when there is nothing).
pub fn avg(sum: i64, n: i64) -> f64 {
    if n > 0 { sum as f64 / n as f64 } else { 0.0 }
}

/// Calls whose cost is known: cost per call is over these, so unpriced
/// calls never read as free.
pub fn priced_calls(a: &Agg) -> i64 {
    a.calls - a.unpriced_calls - a.pending_calls
}

/// A part's share of a whole (0 when the whole is 0).
pub fn share(part: i64, whole: i64) -> f64 {
    if whole > 0 { part as f64 / whole as f64 } else { 0.0 }
}

/// The window of a ledger in words, for the command line.
pub fn window_words(since: Option<i64>, until: Option<i64>) -> String {
    match (since, until) {
        (None, None) => "all time".to_string(),
        (s, u) => format!(
            "{} → {}",
            s.map(time::format_utc).unwrap_or_else(|| "start".into()),
            u.map(time::format_utc).unwrap_or_else(|| "now".into())
        ),
    }
}

/// The second column a grouping shows: a workflow's team, a model's
/// catalog key.
fn aux_column(by: GroupBy) -> Option<Column> {
    match by {
        GroupBy::Dim(Dimension::Workflow) => Some(Column::left("team", "Team", 7)),
        GroupBy::Dim(Dimension::Model) => Some(Column::left("price_key", "Price key", 7)),
        GroupBy::Dim(Dimension::Machine) => Some(Column::left("host", "Host", 7)),
        _ => None,
    }
}

/// The ledger's measure columns, in order.
pub const MEASURES: [Column; 15] = [
    Column::right("calls", "Calls", 3),
    Column::right("input_tokens", "Input tok", 8),
    Column::right("cache_read_tokens", "Cache read", 10),
    Column::right("cache_write_tokens", "Cache write", 11),
    Column::right("output_tokens", "Output tok", 9),
    Column::right("avg_input_tokens", "Avg input", 5),
    Column::right("cost_usd", "Cost", 1),
    Column::right("cost_per_call_usd", "Cost/call", 4),
    Column::right("share", "Share", 2),
    Column::right("unpriced_calls", "Unpriced", 6),
    Column::quiet_right("pending_calls", "Pending", 12),
    Column::quiet_right("warning_calls", "Warnings", 13),
    Column::quiet_right("price_fallback_calls", "Fallback", 12),
    Column::quiet_right("successes", "Successes", 9),
    Column::quiet_right("cost_per_success_usd", "Cost/success", 7),
];

fn measure_cells(a: &Agg, total_cost: i64, successes: Option<i64>, per_success: bool) -> Vec<Cell> {
    vec![
        Cell::Count(a.calls),
        Cell::Count(a.input_tokens()),
        Cell::Count(a.cache_read),
        Cell::Count(a.cache_write),
        Cell::Count(a.output),
        Cell::Avg(avg(a.input_tokens(), a.calls)),
        Cell::Usd(a.cost),
        Cell::per(a.cost, priced_calls(a)),
        Cell::Share(share(a.cost.0, total_cost)),
        Cell::Tally(a.unpriced_calls),
        Cell::Tally(a.pending_calls),
        Cell::Tally(a.warning_calls),
        Cell::Tally(a.price_fallback_calls),
        successes.map(Cell::Count).unwrap_or(Cell::Empty),
        cost_per_success(a.cost, successes.filter(|_| per_success)).map(Cell::UsdFine).unwrap_or(Cell::Empty),
    ]
}

impl LedgerReport {
    pub fn by(&self) -> GroupBy {
        self.ledger.by
    }

    pub fn title(&self) -> String {
        format!("Ledger by {} · {} · time zone {}", self.ledger.by, self.window_label, self.tz_name)
    }

    pub fn columns(&self) -> Vec<Column> {
        let mut cols = vec![Column::left("key", self.ledger.by.title(), 0)];
        cols.extend(aux_column(self.ledger.by));
        cols.extend(MEASURES);
        cols
    }

    /// The row's label: its key, or the dimension's missing label.
    pub fn label(&self, r: &LedgerRow) -> Cell {
        Cell::text_or(Some(r.key.as_str()), self.ledger.by.missing_label())
    }

    /// The line under the table: coverage and what is not in the cost.
    pub fn coverage_note(&self) -> String {
        let l = &self.ledger;
        let mut s = format!(
            "attribution coverage {} of cost · price coverage {} of calls",
            super::table::coverage(attribution_coverage(l)),
            super::table::coverage(price_coverage(l))
        );
        if l.total.unpriced_calls > 0 {
            s.push_str(&format!(
                " · {} unpriced calls are not in the cost (see `aifin prices`)",
                super::table::thousands(l.total.unpriced_calls)
            ));
        }
        if l.total.pending_calls > 0 {
            s.push_str(&format!(
                " · {} calls wait for their usage to be counted (not in the cost)",
                super::table::thousands(l.total.pending_calls)
            ));
        }
        if l.total.warning_calls > 0 {
            s.push_str(&format!(
                " · {} calls with a field out of range (left out; see `aifin ledger --json`)",
                super::table::thousands(l.total.warning_calls)
            ));
        }
        if l.total.price_fallback_calls > 0 {
            s.push_str(&format!(
                " · {} calls priced from another provider's entry (see `aifin prices`)",
                super::table::thousands(l.total.price_fallback_calls)
            ));
        }
        if l.total.overflow() {
            s.push_str(" · a sum reached the largest integer and stopped there (overflow)");
        }
        s
    }

    pub fn table(&self) -> Table {
        let l = &self.ledger;
        let has_aux = aux_column(l.by).is_some();
        let total_cost = l.total.cost.0;
        let rows = l
            .rows
            .iter()
            .map(|r| {
                let mut cells = vec![self.label(r)];
                if has_aux {
                    cells.push(Cell::text_or(r.aux.as_deref(), "-"));
                }
                cells.extend(measure_cells(&r.agg, total_cost, self.outcomes.successes(l.by, &r.key), true));
                Row { id: r.key.clone(), cells }
            })
            .collect();
        let mut total = vec![Cell::Label("Total")];
        if has_aux {
            total.push(Cell::Label(""));
        }
        // Outcomes of different workflows are not one unit: the total has
        // successes but no cost per success.
        total.extend(measure_cells(&l.total, total_cost, self.outcomes.total_successes(), false));
        Table {
            title: self.title(),
            columns: self.columns(),
            rows,
            total: Some(total),
            notes: vec![self.coverage_note()],
        }
    }

    pub fn json(&self) -> LedgerJson {
        let l = &self.ledger;
        let total_cost = l.total.cost.0;
        LedgerJson {
            by: l.by.to_string(),
            since: l.window.since.map(time::format_utc),
            until: l.window.until.map(time::format_utc),
            tz: self.tz_name.clone(),
            currency: "USD",
            rows: l
                .rows
                .iter()
                .map(|r| {
                    let s = self.outcomes.successes(l.by, &r.key);
                    row_json(
                        (!r.key.is_empty()).then(|| r.key.clone()),
                        r.aux.clone(),
                        l.by,
                        &r.agg,
                        total_cost,
                        s,
                        true,
                    )
                })
                .collect(),
            total: row_json(
                Some("total".into()),
                None,
                l.by,
                &l.total,
                total_cost,
                self.outcomes.total_successes(),
                false,
            ),
            attribution_coverage: attribution_coverage(l),
            price_coverage: price_coverage(l),
        }
    }
}

#[derive(Serialize)]
pub struct RowJson {
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    calls: i64,
    input_tokens: i64,
    uncached_input_tokens: i64,
    cache_read_tokens: i64,
    cache_write_tokens: i64,
    output_tokens: i64,
    reasoning_tokens: i64,
    avg_input_tokens: f64,
    cost_usd: f64,
    cost_nanousd: i64,
    cost_per_call_usd: f64,
    share: f64,
    unpriced_calls: i64,
    pending_calls: i64,
    warning_calls: i64,
    /// Calls priced from another provider's catalog entry.
    price_fallback_calls: i64,
    error_calls: i64,
    reported_cost_usd: f64,
    /// A sum of this row saturated at the largest integer.
    overflow: bool,
    /// Successful outcomes (null where no outcome is defined).
    successes: Option<i64>,
    /// Cost / successes (null without a success; null for the total).
    cost_per_success_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    composition: Option<CompositionJson>,
}

/// Prompt composition over the calls whose components are known.
#[derive(Serialize)]
pub struct CompositionJson {
    calls: i64,
    tokens: BTreeMap<&'static str, i64>,
    share: BTreeMap<&'static str, f64>,
}

#[derive(Serialize)]
pub struct LedgerJson {
    by: String,
    since: Option<String>,
    until: Option<String>,
    tz: String,
    currency: &'static str,
    rows: Vec<RowJson>,
    total: RowJson,
    attribution_coverage: f64,
    price_coverage: f64,
}

fn row_json(
    key: Option<String>,
    aux: Option<String>,
    by: GroupBy,
    a: &Agg,
    total_cost: i64,
    successes: Option<i64>,
    per_success: bool,
) -> RowJson {
    let (team, price_key, host) = match by {
        GroupBy::Dim(Dimension::Workflow) => (aux, None, None),
        GroupBy::Dim(Dimension::Model) => (None, aux, None),
        GroupBy::Dim(Dimension::Machine) => (None, None, aux),
        _ => (None, None, None),
    };
    RowJson {
        key,
        team,
        price_key,
        host,
        calls: a.calls,
        input_tokens: a.input_tokens(),
        uncached_input_tokens: a.uncached_input,
        cache_read_tokens: a.cache_read,
        cache_write_tokens: a.cache_write,
        output_tokens: a.output,
        reasoning_tokens: a.reasoning,
        avg_input_tokens: avg(a.input_tokens(), a.calls),
        cost_usd: a.cost.to_usd_f64(),
        cost_nanousd: a.cost.0,
        cost_per_call_usd: avg(a.cost.0, priced_calls(a)) / 1e9,
        share: share(a.cost.0, total_cost),
        unpriced_calls: a.unpriced_calls,
        pending_calls: a.pending_calls,
        warning_calls: a.warning_calls,
        price_fallback_calls: a.price_fallback_calls,
        error_calls: a.error_calls,
        reported_cost_usd: a.reported_cost.to_usd_f64(),
        overflow: a.overflow(),
        successes,
        cost_per_success_usd: cost_per_success(a.cost, successes.filter(|_| per_success)).map(|n| n.to_usd_f64()),
        composition: a.composition().map(|share| CompositionJson {
            calls: a.parts_calls,
            tokens: PART_NAMES.iter().copied().zip(a.parts).collect(),
            share: PART_NAMES.iter().copied().zip(share).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Nanos;
    use crate::store::queries::{QueryPath, Window};

    fn agg(calls: i64, cost: i64, unpriced: i64, input: i64) -> Agg {
        Agg { calls, cost: Nanos(cost), unpriced_calls: unpriced, uncached_input: input, ..Agg::default() }
    }

    fn report() -> LedgerReport {
        let rows = vec![
            LedgerRow { key: "support".into(), aux: Some("CX".into()), agg: agg(3, 10_000_000_000, 0, 300) },
            LedgerRow { key: String::new(), aux: None, agg: agg(1, 0, 1, 50) },
        ];
        let total = agg(4, 10_000_000_000, 1, 350);
        LedgerReport {
            ledger: Ledger {
                by: GroupBy::WORKFLOW,
                window: Window::all(),
                rows,
                total,
                attributed: agg(3, 10_000_000_000, 0, 300),
                path: QueryPath::Rollup,
            },
            window_label: "all time".into(),
            tz_name: "UTC".into(),
            outcomes: LedgerOutcomes::default(),
        }
    }

    #[test]
    fn the_table_computes_per_call_share_and_coverage_by_hand() {
        let t = report().table();
        let keys: Vec<&str> = t.columns.iter().map(|c| c.key).collect();
        assert_eq!(
            keys,
            [
                "key",
                "team",
                "calls",
                "input_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
                "output_tokens",
                "avg_input_tokens",
                "cost_usd",
                "cost_per_call_usd",
                "share",
                "unpriced_calls",
                "pending_calls",
                "warning_calls",
                "price_fallback_calls",
                "successes",
                "cost_per_success_usd"
            ]
        );
        let human: Vec<String> = t.rows[0].cells.iter().map(Cell::human).collect();
        // $10 over 3 calls = $3.3333; 300 input tokens / 3 = 100; all of the cost.
        assert_eq!(
            human,
            [
                "support", "CX", "3", "300", "0", "0", "0", "100", "$10.00", "$3.3333", "100.0%", "-", "-", "-", "-",
                "-", "-"
            ]
        );
        // Pending, warnings and outcomes say nothing here: people do not see them.
        let people = t.for_people();
        assert_eq!(people.columns.len(), t.columns.len() - 5);
        assert!(people.column("pending_calls").is_none() && people.column("unpriced_calls").is_some());
        assert_eq!(t.rows[1].cells[0].human(), "(unattributed)");
        assert_eq!(t.rows[1].cells[9].human(), "-", "an unpriced call has no cost per call, not $0");
        assert_eq!(t.total.as_ref().unwrap()[2].human(), "4");
        // Cost coverage: $10 of $10 has a workflow; 3 of 4 calls have a price.
        assert_eq!(
            t.notes[0].split(" · ").take(2).collect::<Vec<_>>(),
            ["attribution coverage 100.0% of cost", "price coverage 75.0% of calls"]
        );
        assert!(t.notes[0].contains("1 unpriced calls are not in the cost"));
    }
}
