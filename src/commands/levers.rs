use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, anyhow};

use super::Env;
use crate::cli::{LeverArgs, LeversArgs};
use crate::domain::time;
use crate::levers::{self, Cache, Cap, Compress, LeverSet, Route};
use crate::pricing::Catalog;
use crate::reports::levers::LeversReport;
use crate::reports::print::{self, OutputFormat};
use crate::store::queries::Window;

pub fn run(env: &Env, a: &LeversArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let tz = env.tz(a.tz.as_deref())?;
    let now = time::now_ms();
    let bound = |flag: &str, v: &Option<String>, end: bool| {
        v.as_deref().map(|s| time::parse_bound(s, &tz, now, end).map_err(|e| anyhow!("{flag}: {e}"))).transpose()
    };
    let until = bound("--until", &a.until, true)?.unwrap_or(now);
    let since = bound("--since", &a.since, false)?.unwrap_or(until - 30 * time::MS_PER_DAY);
    if until <= since {
        anyhow::bail!("the window is empty: --until must be after --since");
    }
    let catalog = env.catalog()?;
    let set = lever_set(&a.levers, &catalog)?;
    let conn = env.read_conn()?;
    let window = Window { since: Some(since), until: Some(until) };
    let report = LeversReport::build(&conn, window, a.workflow.as_deref(), &set, catalog)?;
    match a.output.format() {
        OutputFormat::Json => print::json(&mut *out, &report.json())?,
        f => print::table_or_csv(out, &report.table(), f)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The levers the flags set (`aifin levers`, `forecast --levers-from-replay`,
/// `export --view levers`), checked: a routing target must have a price.
pub fn lever_set(a: &LeverArgs, catalog: &std::sync::Arc<Catalog>) -> Result<LeverSet> {
    let set = LeverSet {
        compress: a.compress.as_deref().map(Compress::parse).transpose()?,
        route: a.route.as_deref().map(Route::parse).transpose()?,
        cap: a.cap.as_deref().map(Cap::parse).transpose()?,
        cache: a.cache.as_deref().map(Cache::parse).transpose()?,
    };
    if let Some(r) = &set.route
        && crate::pricing::Pricer::new(std::sync::Arc::clone(catalog)).resolve(None, &r.to).is_none()
    {
        anyhow::bail!("{}", levers::ReplayError::UnpricedTarget(r.to.clone()));
    }
    Ok(set)
}
