use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, anyhow};

use super::Env;
use crate::cli::LedgerArgs;
use crate::domain::time;
use crate::reports::ledger::{LedgerOutcomes, LedgerReport, window_words};
use crate::reports::print::{self, OutputFormat};
use crate::store::queries::{self, Window};

pub fn run(env: &Env, args: &LedgerArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let tz = env.tz(args.tz.as_deref())?;
    let now = time::now_ms();
    let since = args
        .since
        .as_deref()
        .map(|s| time::parse_bound(s, &tz, now, false).map_err(|e| anyhow!("--since: {e}")))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|s| time::parse_bound(s, &tz, now, true).map_err(|e| anyhow!("--until: {e}")))
        .transpose()?;
    if let (Some(s), Some(u)) = (since, until)
        && u <= s
    {
        return Err(anyhow!("--until must be after --since"));
    }
    let conn = env.read_conn()?;
    let ledger = queries::ledger(&conn, args.by, Window { since, until }, &tz)?;
    let outcomes = LedgerOutcomes::load(&conn, &ledger, &tz, env.attributor()?.outcome_workflows())?;
    let report =
        LedgerReport { ledger, window_label: window_words(since, until), tz_name: time::tz_name(&tz), outcomes };
    match args.output.format() {
        OutputFormat::Json => print::json(&mut *out, &report.json())?,
        f => print::table_or_csv(out, &report.table(), f)?,
    }
    Ok(ExitCode::SUCCESS)
}
