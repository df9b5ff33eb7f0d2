//! The lever lab's read model: per workflow and in total, the spend, each
//! lever's measured saving and the calls it touched, the composed saving
//! beside the naive sum of the single ones, and each lever's evidence
//! (the latest gate run recorded with that lever).

use serde::Serialize;

use super::alerts::round3;
use super::gate::RunRow;
use super::table::{Cell, Column, Row, Table};
use crate::domain::money::Nanos;
use crate::levers::{Lever, LeverSet, Outcome, Replay, TtlComparison};

/// A lever's evidence: the decision of its latest recorded gate run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evidence {
    /// `proven` (promoted), `rejected`, or `unproven` (no eval on record).
    pub status: &'static str,
    pub run_id: Option<String>,
    pub recorded_at: Option<String>,
}

impl Evidence {
    /// The latest run with this lever for the workflow (or for all
    /// workflows); `workflow = None`: the latest run with the lever.
    pub fn of(history: &[RunRow], lever: Lever, workflow: Option<&str>) -> Evidence {
        let run = history.iter().filter(|r| r.lever.as_deref() == Some(lever.name())).find(|r| match workflow {
            Some(w) => r.workflow.as_deref().is_none_or(|rw| rw == w),
            None => true,
        });
        match run {
            Some(r) => Evidence {
                status: if r.decision == "promote" { "proven" } else { "rejected" },
                run_id: Some(super::gate::run_row_id(r)),
                recorded_at: Some(crate::domain::time::format_utc(r.recorded_at)),
            },
            None => Evidence { status: "unproven", run_id: None, recorded_at: None },
        }
    }

    pub fn proven(&self) -> bool {
        self.status == "proven"
    }
}

#[derive(Clone, Debug)]
pub struct LeversReport {
    pub replay: Replay,
    pub levers: Vec<(Lever, String)>,
    pub history: Vec<RunRow>,
    pub window: (Option<i64>, Option<i64>),
    /// The prefix cache under both TTLs (when the caching lever caches
    /// prefixes and the report was built with the comparison).
    pub ttl: Option<TtlComparison>,
}

#[derive(Serialize)]
pub struct LeverJson {
    name: &'static str,
    setting: String,
    spend_usd: f64,
    spend_nanousd: i64,
    saving_usd: f64,
    saving_nanousd: i64,
    saving_pct: Option<f64>,
    calls_touched: u64,
    calls_touched_share: Option<f64>,
    evidence: Evidence,
}

#[derive(Serialize)]
pub struct GroupJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    workflow: Option<String>,
    calls: u64,
    unpriced_calls: u64,
    /// The stored cost of the priced calls.
    spend_usd: f64,
    spend_nanousd: i64,
    /// The same calls priced again with no lever.
    replayed_usd: f64,
    replayed_nanousd: i64,
    levers: Vec<LeverJson>,
    composed_spend_usd: f64,
    composed_spend_nanousd: i64,
    composed_saving_usd: f64,
    composed_saving_nanousd: i64,
    composed_saving_pct: Option<f64>,
    naive_sum_saving_usd: f64,
    naive_sum_saving_nanousd: i64,
    proven_saving_usd: f64,
    proven_saving_nanousd: i64,
    /// Calls compression could not measure (no prompt composition).
    not_measurable_calls: u64,
}

/// What the caching lever measured (rates are fractions of the calls
/// with fingerprints).
#[derive(Serialize)]
pub struct CacheJson {
    measurable_calls: u64,
    not_measurable_calls: u64,
    response_hit_rate: Option<f64>,
    prefix_hit_rate: Option<f64>,
    prefix_writes: u64,
    already_cached_calls: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<TtlJson>,
}

#[derive(Serialize)]
struct TtlSideJson {
    saving_usd: f64,
    saving_nanousd: i64,
    prefix_writes: u64,
    prefix_hits: u64,
}

impl From<&crate::levers::TtlSide> for TtlSideJson {
    fn from(s: &crate::levers::TtlSide) -> Self {
        TtlSideJson {
            saving_usd: s.saving.to_usd_f64(),
            saving_nanousd: s.saving.0,
            prefix_writes: s.writes,
            prefix_hits: s.hits,
        }
    }
}

#[derive(Serialize)]
struct TtlModelJson {
    model: String,
    /// Cache prices as multiples of the model's input price.
    write_5m_x: f64,
    write_1h_x: f64,
    read_x: f64,
    prefix_writes_5m: u64,
    prefix_writes_1h: u64,
    /// The fraction of the 5-minute writes the 1-hour cache must turn
    /// into reads to cost less.
    break_even_write_reduction: Option<f64>,
    /// The fraction it turned.
    write_reduction: Option<f64>,
}

/// The prefix cache with a 5-minute and with a 1-hour TTL.
#[derive(Serialize)]
struct TtlJson {
    prefix_5m: TtlSideJson,
    prefix_1h: TtlSideJson,
    /// `5m` or `1h`: the TTL that saves more (`5m` on a tie).
    better: &'static str,
    models: Vec<TtlModelJson>,
}

impl From<&TtlComparison> for TtlJson {
    fn from(t: &TtlComparison) -> Self {
        TtlJson {
            prefix_5m: (&t.five_min).into(),
            prefix_1h: (&t.one_hour).into(),
            better: if t.one_hour.saving > t.five_min.saving { "1h" } else { "5m" },
            models: t
                .models
                .iter()
                .map(|m| TtlModelJson {
                    model: m.model.clone(),
                    write_5m_x: round3(m.write_5m_x),
                    write_1h_x: round3(m.write_1h_x),
                    read_x: round3(m.read_x),
                    prefix_writes_5m: m.writes_5m,
                    prefix_writes_1h: m.writes_1h,
                    break_even_write_reduction: m.break_even().map(round3),
                    write_reduction: m.turned().map(round3),
                })
                .collect(),
        }
    }
}

/// The TTL comparison in one line: what each TTL saves, and where the
/// 1-hour cache breaks even.
fn ttl_note(t: &TtlComparison) -> String {
    let side = |s: &crate::levers::TtlSide| {
        format!(
            "{} ({} writes, {} reads)",
            s.saving.format_usd(2),
            super::table::thousands(s.writes as i64),
            super::table::thousands(s.hits as i64)
        )
    };
    let mut line = format!("prefix TTL: 5 min saves {}, 1 h saves {}", side(&t.five_min), side(&t.one_hour));
    let models: Vec<String> = t
        .models
        .iter()
        .filter_map(|m| {
            let turned = m.turned().map(|f| super::table::percent(f, 1)).unwrap_or_else(|| "n/a".into());
            Some(format!(
                "{} {} (writes {:.2}x or {:.2}x input, reads {:.2}x; turned {turned})",
                m.model,
                super::table::percent(m.break_even()?, 1),
                m.write_5m_x,
                m.write_1h_x,
                m.read_x,
            ))
        })
        .collect();
    if !models.is_empty() {
        line.push_str(". 1 h pays for a model when it turns this share of the 5-minute writes into reads: ");
        line.push_str(&models.join(", "));
    }
    line
}

fn cache_note(c: &crate::levers::CacheStats) -> String {
    if c.measurable == 0 {
        return format!(
            "caching: not measurable: none of the {} calls has a prompt fingerprint (they are made when the logs carry prompt text)",
            super::table::thousands(c.not_measurable as i64)
        );
    }
    let rate = |n: u64| super::table::percent(n as f64 / c.measurable as f64, 1);
    format!(
        "caching measured on {} calls with prompt fingerprints ({} without): responses repeated {}, prefixes read from cache {}, written {}",
        super::table::thousands(c.measurable as i64),
        super::table::thousands(c.not_measurable as i64),
        rate(c.response_hits),
        rate(c.prefix_hits),
        rate(c.prefix_writes)
    )
}

#[derive(Serialize)]
pub struct LeversJson {
    since: Option<String>,
    until: Option<String>,
    currency: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    caching: Option<CacheJson>,
    workflows: Vec<GroupJson>,
    total: GroupJson,
}

fn pct(part: Nanos, whole: Nanos) -> Option<f64> {
    (whole.0 != 0).then(|| (part.0 as f64 / whole.0 as f64 * 1000.0).round() / 10.0)
}

impl LeversReport {
    /// Reads the window's calls (of one workflow, or all), the recorded gate
    /// runs, and replays `set`. Each lever's evidence is looked up once per
    /// workflow, not per call.
    pub fn build(
        conn: &rusqlite::Connection,
        window: crate::store::queries::Window,
        workflow: Option<&str>,
        set: &LeverSet,
        catalog: std::sync::Arc<crate::pricing::Catalog>,
    ) -> Result<LeversReport, crate::levers::ReplayError> {
        let calls = crate::levers::CallSet::load(conn, window, workflow, &|_| {})?;
        let mut report = Self::build_on(conn, &calls, window, set, std::sync::Arc::clone(&catalog))?;
        if let Some(c) = set.cache.as_ref().filter(|c| c.prefix_ttl_ms.is_some()) {
            let own = report.replay.total.saving(Lever::Caching);
            report.ttl = Some(crate::levers::compare_ttls(&calls, c, catalog, own)?);
        }
        Ok(report)
    }

    /// The report over calls already read (the cockpit keeps them for the
    /// next setting of the levers).
    pub fn build_on(
        conn: &rusqlite::Connection,
        calls: &crate::levers::CallSet,
        window: crate::store::queries::Window,
        set: &LeverSet,
        catalog: std::sync::Arc<crate::pricing::Catalog>,
    ) -> Result<LeversReport, crate::levers::ReplayError> {
        let events = crate::store::events::list(conn, super::gate::GATE_RUN, i64::MIN)?;
        let history = super::gate::history(&events, None);
        let workflows = calls.workflows();
        let proven: std::collections::HashSet<(Lever, &str)> = Lever::ALL
            .into_iter()
            .filter(|l| set.has(*l))
            .flat_map(|l| workflows.iter().map(move |w| (l, *w)))
            .filter(|(l, w)| Evidence::of(&history, *l, Some(w)).proven())
            .collect();
        let replay = crate::levers::replay(calls, set, catalog, &|l, w| proven.contains(&(l, w)))?;
        Ok(LeversReport::new(replay, set, history, (window.since, window.until)))
    }

    pub fn new(replay: Replay, set: &LeverSet, history: Vec<RunRow>, window: (Option<i64>, Option<i64>)) -> Self {
        let levers = Lever::ALL.into_iter().filter(|l| set.has(*l)).map(|l| (l, set.describe(l))).collect();
        LeversReport { replay, levers, history, window, ttl: None }
    }

    fn group(&self, workflow: Option<&str>, o: &Outcome) -> GroupJson {
        let levers = self
            .levers
            .iter()
            .map(|(l, setting)| {
                let (spend, touched) = o.single.get(l).copied().unwrap_or((o.replayed, 0));
                let saving = Nanos(o.replayed.0 - spend.0);
                LeverJson {
                    name: l.name(),
                    setting: setting.clone(),
                    spend_usd: spend.to_usd_f64(),
                    spend_nanousd: spend.0,
                    saving_usd: saving.to_usd_f64(),
                    saving_nanousd: saving.0,
                    saving_pct: pct(saving, o.replayed),
                    calls_touched: touched,
                    calls_touched_share: (o.calls > 0).then(|| touched as f64 / o.calls as f64),
                    evidence: Evidence::of(&self.history, *l, workflow),
                }
            })
            .collect();
        let (c, n, p) = (o.composed_saving(), o.naive_sum(), o.proven_saving());
        GroupJson {
            workflow: workflow.map(str::to_string),
            calls: o.calls,
            unpriced_calls: o.unpriced_calls,
            spend_usd: o.stored.to_usd_f64(),
            spend_nanousd: o.stored.0,
            replayed_usd: o.replayed.to_usd_f64(),
            replayed_nanousd: o.replayed.0,
            levers,
            composed_spend_usd: o.composed.to_usd_f64(),
            composed_spend_nanousd: o.composed.0,
            composed_saving_usd: c.to_usd_f64(),
            composed_saving_nanousd: c.0,
            composed_saving_pct: pct(c, o.replayed),
            naive_sum_saving_usd: n.to_usd_f64(),
            naive_sum_saving_nanousd: n.0,
            proven_saving_usd: p.to_usd_f64(),
            proven_saving_nanousd: p.0,
            not_measurable_calls: o.not_measurable,
        }
    }

    pub fn json(&self) -> LeversJson {
        use crate::domain::time::format_utc;
        LeversJson {
            since: self.window.0.map(format_utc),
            until: self.window.1.map(format_utc),
            currency: "USD",
            caching: self.replay.cache.map(|c| {
                let rate = |n: u64| (c.measurable > 0).then(|| n as f64 / c.measurable as f64);
                CacheJson {
                    measurable_calls: c.measurable,
                    not_measurable_calls: c.not_measurable,
                    response_hit_rate: rate(c.response_hits),
                    prefix_hit_rate: rate(c.prefix_hits),
                    prefix_writes: c.prefix_writes,
                    already_cached_calls: c.already_cached,
                    ttl: self.ttl.as_ref().map(TtlJson::from),
                }
            }),
            workflows: self.workflows().map(|(w, o)| self.group(Some(w), o)).collect(),
            total: self.group(None, &self.replay.total),
        }
    }

    /// Workflows by spend, largest first.
    fn workflows(&self) -> impl Iterator<Item = (&str, &Outcome)> {
        let mut v: Vec<(&str, &Outcome)> = self.replay.workflows.iter().map(|(w, o)| (w.as_str(), o)).collect();
        v.sort_by(|a, b| b.1.replayed.cmp(&a.1.replayed).then(a.0.cmp(b.0)));
        v.into_iter()
    }

    pub fn table(&self) -> Table {
        let mut columns = vec![
            Column::left("workflow", "Workflow", 0),
            Column::right("calls", "Calls", 3),
            Column::right("replayed_usd", "Spend", 0),
        ];
        for (l, _) in &self.levers {
            columns.push(match l {
                Lever::Policy => Column::right("policy_saving_usd", "Policy", 1),
                Lever::Compression => Column::right("compression_saving_usd", "Compression", 1),
                Lever::Caching => Column::right("caching_saving_usd", "Caching", 1),
                Lever::Routing => Column::right("routing_saving_usd", "Routing", 1),
            });
        }
        columns.extend([
            Column::right("composed_saving_usd", "Composed", 0),
            Column::right("composed_saving_pct", "Composed %", 0),
            Column::right("naive_sum_saving_usd", "Naive sum", 2),
            Column::right("proven_saving_usd", "Proven", 2),
        ]);
        let cells = |label: Cell, o: &Outcome| {
            let mut v = vec![label, Cell::Count(o.calls as i64), Cell::Usd(o.replayed)];
            for (l, _) in &self.levers {
                v.push(Cell::Usd(o.saving(*l).unwrap_or_default()));
            }
            v.extend([
                Cell::Usd(o.composed_saving()),
                pct(o.composed_saving(), o.replayed).map_or(Cell::Empty, |p| Cell::Pct(-p)),
                Cell::Usd(o.naive_sum()),
                Cell::Usd(o.proven_saving()),
            ]);
            v
        };
        let rows = self
            .workflows()
            .map(|(w, o)| Row {
                id: w.to_string(),
                cells: cells(if w.is_empty() { Cell::Label("(unattributed)") } else { Cell::Text(w.to_string()) }, o),
            })
            .collect();
        let t = &self.replay.total;
        let mut notes = Vec::new();
        for (l, setting) in &self.levers {
            let e = Evidence::of(&self.history, *l, None);
            let (_, touched) = t.single.get(l).copied().unwrap_or_default();
            notes.push(format!(
                "{}: {setting}; {} of {} calls touched; evidence: {}",
                l.name(),
                super::table::thousands(touched as i64),
                super::table::thousands(t.calls as i64),
                match (&e.run_id, e.status) {
                    (Some(_), s) => format!("{s} by the gate run of {}", e.recorded_at.unwrap_or_default()),
                    (None, _) => "unproven: no eval on record (`aifin gate --record --lever NAME`)".into(),
                }
            ));
        }
        if let Some(c) = &self.replay.cache {
            notes.push(cache_note(c));
        }
        if let Some(t) = &self.ttl {
            notes.push(ttl_note(t));
        }
        if self.levers.is_empty() {
            notes.push("No lever set: pass --compress, --route or --cap (the replay equals the ledger).".into());
        }
        if t.stored != t.replayed {
            notes.push(format!(
                "Prices changed since the calls were stored: spend is the calls priced again ({}; stored {}).",
                t.replayed.format_usd(2),
                t.stored.format_usd(2)
            ));
        }
        if t.not_measurable > 0 {
            notes.push(format!(
                "{} calls have no prompt composition: compression by component cannot measure them (add input=PCT to cut their whole input).",
                super::table::thousands(t.not_measurable as i64)
            ));
        }
        if t.unpriced_calls > 0 {
            notes.push(format!(
                "{} unpriced calls are left out of every figure.",
                super::table::thousands(t.unpriced_calls as i64)
            ));
        }
        notes.push("Composed: the levers applied together to each call (policy, compression, caching, routing); the naive sum adds the single savings and overstates.".into());
        Table {
            title: "Lever lab: savings measured on the stored calls".into(),
            columns,
            rows,
            total: Some(cells(Cell::Label("Total"), t)),
            notes,
        }
    }
}
