use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::Env;
use crate::cli::MergeArgs;
use crate::domain::money::Nanos;
use crate::merge::{self, Counts, MergeReport};
use crate::reports::print::{self, OutputFormat};
use crate::reports::table::{Cell, Column, Row, Table};
use crate::store;

#[derive(Serialize)]
struct MergeJson<'a> {
    ledger: String,
    ledger_id: String,
    merges: Vec<OneJson<'a>>,
}

#[derive(Serialize)]
struct OneJson<'a> {
    #[serde(flatten)]
    report: &'a MergeReport,
    cost_added_usd: f64,
}

pub fn run(env: &Env, args: &MergeArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let mut conn = store::open_rw(&env.db)?;
    let own = store::ledgers::own_id(&conn)?;
    let mut reports = Vec::new();
    for path in merge::unique_paths(&args.others) {
        let r = merge::merge(&mut conn, &path).with_context(|| format!("merging '{}'", path.display()))?;
        reports.push(r);
    }
    let format = args.output.format();
    if format == OutputFormat::Json {
        let json = MergeJson {
            ledger: env.db.display().to_string(),
            ledger_id: own,
            merges: reports
                .iter()
                .map(|r| OneJson { report: r, cost_added_usd: Nanos(r.cost_added_nanousd).to_usd_f64() })
                .collect(),
        };
        print::json(&mut *out, &json)?;
        return Ok(ExitCode::SUCCESS);
    }
    print::table_or_csv(out, &table(&reports), format)?;
    Ok(ExitCode::SUCCESS)
}

fn table(reports: &[MergeReport]) -> Table {
    let columns = vec![
        Column::left("ledger", "Ledger", 0),
        Column::left("host", "Host", 2),
        Column::left("rows", "Rows", 0),
        Column::right("added", "Added", 0),
        Column::right("duplicates", "Duplicates", 0),
        Column::right("conflicts", "Conflicts", 1),
        Column::right("replaced", "Replaced", 1),
    ];
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for r in reports {
        let kinds: [(&'static str, &Counts); 5] = [
            ("calls", &r.calls),
            ("outcomes", &r.outcomes),
            ("events", &r.events),
            ("sources", &r.sources),
            ("rejects", &r.rejects),
        ];
        for (kind, c) in kinds {
            rows.push(Row {
                id: format!("{}/{kind}", r.ledger_id),
                cells: vec![
                    Cell::Text(r.path.clone()),
                    Cell::Text(r.host.clone()),
                    Cell::Label(kind),
                    Cell::Count(c.added as i64),
                    Cell::Count(c.duplicates as i64),
                    Cell::Count(c.conflicts as i64),
                    Cell::Count(c.replaced as i64),
                ],
            });
        }
        let mut note = format!(
            "{}: ledger {} (schema {}), cost added {}",
            r.path,
            r.ledger_id,
            r.schema_version,
            Nanos(r.cost_added_nanousd).format_usd(2)
        );
        if r.rekeyed + r.kept_old_keys > 0 {
            note.push_str(&format!(
                "; older dedupe scheme {}: {} calls re-keyed from their lines, {} keep their old key (their lines are not here)",
                r.dedupe_scheme, r.rekeyed, r.kept_old_keys
            ));
        }
        if r.outcomes_joined > 0 {
            note.push_str(&format!("; {} outcomes joined to calls that arrived with the merge", r.outcomes_joined));
        }
        if r.calls.conflicts > 0 {
            note.push_str(
                "; conflicts keep the copy with more tokens, then the higher cost, then the smaller ledger id",
            );
        }
        notes.push(crate::domain::sanitize::clean(&note).into_owned());
    }
    Table { title: "Merged".into(), columns, rows, total: None, notes }
}
