use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};

use super::Env;
use crate::cli::OutcomesArgs;
use crate::domain::time;
use crate::reports::outcomes::OutcomesReport;
use crate::reports::print::{self, OutputFormat};
use crate::store::queries::Window;

pub fn run(env: &Env, a: &OutcomesArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let tz = env.tz(a.tz.as_deref())?;
    let now = time::now_ms();
    let bound = |flag: &str, v: &Option<String>, end: bool| {
        v.as_deref().map(|s| time::parse_bound(s, &tz, now, end).map_err(|e| anyhow!("{flag}: {e}"))).transpose()
    };
    let as_of = bound("--as-of", &a.as_of, false)?.unwrap_or(now);
    // By default the month to date (on the first of a month: the month just ended).
    let since = bound("--since", &a.since, false)?.unwrap_or_else(|| time::start_of_period(as_of - 1, &tz, 1, 0));
    // Nothing after --as-of counts.
    let until = bound("--until", &a.until, true)?.map_or(as_of, |u| u.min(as_of));
    if until <= since {
        bail!("the window is empty: --until (or --as-of) must be after --since");
    }
    let conn = env.read_conn()?;
    let rules = env.attributor()?.outcome_workflows();
    let report =
        OutcomesReport::build(&conn, a.by, Window { since: Some(since), until: Some(until) }, as_of, &tz, &rules)?;
    match a.output.format() {
        OutputFormat::Json => print::json(&mut *out, &report.json())?,
        f => print::table_or_csv(out, &report.table(), f)?,
    }
    Ok(ExitCode::SUCCESS)
}
