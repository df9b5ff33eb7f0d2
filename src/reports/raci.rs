//! The RACI table, its check, and the people behind each workflow with
//! their share of month-to-date spend.

use std::collections::{BTreeMap, HashMap};

use jiff::tz::TimeZone;
use rusqlite::Connection;
use serde::Serialize;

use super::table::{Cell, Column, Row, Table};
use crate::domain::dims::Dimension;
use crate::domain::money::Nanos;
use crate::domain::time::start_of_month;
use crate::operate::Operate;
use crate::store::queries::{self, QueryPath, Window};
use crate::store::rollup::Dim;

/// One workflow and its people.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnerRow {
    pub workflow: String,
    pub team: Option<String>,
    pub accountable: Option<String>,
    pub oncall: Option<String>,
    pub contacts: BTreeMap<String, String>,
    pub spend: Nanos,
    /// Of month-to-date spend (null without a ledger).
    pub spend_share: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RaciReport {
    pub op: Operate,
    pub owners: Vec<OwnerRow>,
    /// Share of month-to-date spend whose workflow has a named accountable
    /// person (null without a ledger or spend).
    pub ownership_coverage: Option<f64>,
    pub warnings: Vec<String>,
}

/// Month-to-date spend per workflow at `as_of`, with each workflow's team
/// as the ledger shows it.
pub type Spend = (Vec<(String, Nanos)>, HashMap<String, String>);

pub fn month_spend(conn: &Connection, as_of: i64, tz: &TimeZone) -> rusqlite::Result<Spend> {
    let w = Window { since: Some(start_of_month(as_of, tz)), until: Some(as_of) };
    let spend = queries::group_dimension(conn, Dimension::Workflow, w, QueryPath::Rollup)?
        .into_iter()
        .map(|(k, a)| (k, a.cost))
        .collect();
    let teams = queries::dominant_pair(conn, Dim::WorkflowTeam, w, QueryPath::Rollup)?;
    Ok((spend, teams))
}

impl RaciReport {
    /// `spend`: [`month_spend`], or `None` without a ledger.
    pub fn build(op: &Operate, spend: Option<&Spend>) -> RaciReport {
        let mut rows: Vec<OwnerRow> = Vec::new();
        let empty = (Vec::new(), HashMap::new());
        let (by_wf, teams) = spend.unwrap_or(&empty);
        let total: Nanos = by_wf.iter().map(|(_, c)| *c).sum();
        let mut names: Vec<(String, Nanos)> = by_wf.iter().filter(|(k, _)| !k.is_empty()).cloned().collect();
        for w in op.owners.named_workflows() {
            if !names.iter().any(|(k, _)| k == w) {
                names.push((w.to_string(), Nanos::ZERO));
            }
        }
        for (wf, cost) in names {
            let team = op.owners.team_of(&wf, teams.get(&wf).map(String::as_str).filter(|t| !t.is_empty()));
            let e = op.owners.of(&wf, team);
            rows.push(OwnerRow {
                team: team.map(str::to_string),
                accountable: e.and_then(|e| e.accountable.clone()),
                oncall: e.and_then(|e| e.oncall.clone()),
                contacts: e.map(|e| e.contacts.clone()).unwrap_or_default(),
                spend: cost,
                spend_share: (spend.is_some() && total.0 > 0).then(|| cost.0 as f64 / total.0 as f64),
                workflow: wf,
            });
        }
        rows.sort_by(|a, b| b.spend.cmp(&a.spend).then(a.workflow.cmp(&b.workflow)));
        let owned: Nanos = rows.iter().filter(|r| r.accountable.is_some()).map(|r| r.spend).sum();
        let ownership_coverage = (spend.is_some() && total.0 > 0).then(|| owned.0 as f64 / total.0 as f64);
        let mut warnings: Vec<String> = rows
            .iter()
            .filter(|r| r.accountable.is_none() && r.spend.0 > 0)
            .map(|r| {
                format!(
                    "workflow '{}' has spend this month ({}) and no accountable person: add an [[owner]] entry",
                    r.workflow, r.spend
                )
            })
            .collect();
        if let Some((_, c)) = by_wf.iter().find(|(k, _)| k.is_empty())
            && c.0 > 0
        {
            warnings
                .push(format!("{c} this month has no workflow, so no owner (see the ledger's attribution coverage)"));
        }
        RaciReport { op: op.clone(), owners: rows, ownership_coverage, warnings }
    }

    /// The matrix: one row per activity, one column per function.
    pub fn matrix(&self) -> Table {
        let r = &self.op.raci;
        let mut columns = vec![Column::left("activity", "Activity", 0)];
        // Function names come from the config: keys are fixed, titles theirs.
        for (i, f) in r.functions.iter().enumerate() {
            columns.push(Column::titled(function_key(i), f.clone(), super::table::Align::Left, 0));
        }
        Table {
            title: if r.is_default { "RACI (the paper's table, repaired)".into() } else { "RACI".into() },
            columns,
            rows: r
                .activities
                .iter()
                .map(|a| Row {
                    id: a.name.clone(),
                    cells: std::iter::once(Cell::text(&a.name))
                        .chain(a.roles.iter().map(|x| x.map(|x| Cell::Label(x.letter())).unwrap_or(Cell::Empty)))
                        .collect(),
                })
                .collect(),
            total: None,
            notes: vec!["R responsible · A accountable · C consulted · I informed".into()],
        }
    }

    pub fn owners_table(&self) -> Table {
        Table {
            title: "Owners · month-to-date spend".into(),
            columns: vec![
                Column::left("workflow", "Workflow", 0),
                Column::left("team", "Team", 2),
                Column::left("accountable", "Accountable", 0),
                Column::left("oncall", "On call", 1),
                Column::right("spend_usd", "Spend", 1),
                Column::right("spend_share", "Share", 0),
            ],
            rows: self
                .owners
                .iter()
                .map(|o| Row {
                    id: o.workflow.clone(),
                    cells: vec![
                        Cell::text(&o.workflow),
                        Cell::text_or(o.team.as_deref(), "-"),
                        Cell::text_or(o.accountable.as_deref(), "NONE"),
                        Cell::text_or(o.oncall.as_deref(), "-"),
                        Cell::Usd(o.spend),
                        o.spend_share.map(Cell::Share).unwrap_or(Cell::Empty),
                    ],
                })
                .collect(),
            total: None,
            notes: vec![match self.ownership_coverage {
                Some(c) => format!("ownership coverage {} of month-to-date spend", super::table::coverage(c)),
                None => "ownership coverage: no spend in the ledger this month".into(),
            }],
        }
    }

    pub fn json(&self) -> RaciJson {
        let r = &self.op.raci;
        RaciJson {
            functions: r.functions.clone(),
            activities: r
                .activities
                .iter()
                .map(|a| ActivityJson {
                    name: a.name.clone(),
                    roles: r
                        .functions
                        .iter()
                        .zip(&a.roles)
                        .filter_map(|(f, x)| Some((f.clone(), x.as_ref()?.letter())))
                        .collect(),
                })
                .collect(),
            is_default: r.is_default,
            owners: self
                .owners
                .iter()
                .map(|o| OwnerJson {
                    workflow: o.workflow.clone(),
                    team: o.team.clone(),
                    accountable: o.accountable.clone(),
                    oncall: o.oncall.clone(),
                    contacts: o.contacts.clone(),
                    spend_usd: o.spend.to_usd_f64(),
                    spend_nanousd: o.spend.0,
                    spend_share: o.spend_share,
                })
                .collect(),
            ownership_coverage: self.ownership_coverage,
            warnings: self.warnings.clone(),
            notes: r.notes.clone(),
            errors: self.op.errors(),
        }
    }
}

/// Column keys for up to a dozen functions (keys are static).
fn function_key(i: usize) -> &'static str {
    const KEYS: [&str; 12] = ["f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12"];
    KEYS.get(i).copied().unwrap_or("f")
}

#[derive(Serialize)]
pub struct ActivityJson {
    pub name: String,
    pub roles: BTreeMap<String, &'static str>,
}

#[derive(Serialize)]
pub struct OwnerJson {
    pub workflow: String,
    pub team: Option<String>,
    pub accountable: Option<String>,
    pub oncall: Option<String>,
    pub contacts: BTreeMap<String, String>,
    pub spend_usd: f64,
    pub spend_nanousd: i64,
    pub spend_share: Option<f64>,
}

#[derive(Serialize)]
pub struct RaciJson {
    pub functions: Vec<String>,
    pub activities: Vec<ActivityJson>,
    pub is_default: bool,
    pub owners: Vec<OwnerJson>,
    pub ownership_coverage: Option<f64>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    pub errors: Vec<String>,
}
