//! `aifin raci`, `aifin alerts`, `aifin kpis` and `aifin watch`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};

use super::Env;
use crate::cli::{AsOfArgs, IngestArgs, KpisArgs, WatchArgs};
use crate::domain::sanitize::clean;
use crate::domain::time;
use crate::operate::Operate;
use crate::reports::alerts::{self, AlertsReport};
use crate::reports::kpis::KpiReport;
use crate::reports::print::{self, OutputFormat};
use crate::reports::raci::{RaciReport, month_spend};
use crate::store::events;

/// The report's time and zone.
fn at(env: &Env, a: &AsOfArgs) -> Result<(i64, jiff::tz::TimeZone)> {
    let tz = env.tz(a.tz.as_deref())?;
    let now = time::now_ms();
    let as_of = match &a.as_of {
        Some(s) => time::parse_bound(s, &tz, now, false).map_err(|e| anyhow!("--as-of: {e}"))?,
        None => now,
    };
    Ok((as_of, tz))
}

fn warn_config(op: &Operate) {
    if let Some(w) = op.warning_line() {
        eprintln!("{}", clean(&w));
    }
}

pub fn raci(env: &Env, a: &AsOfArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let (as_of, tz) = at(env, a)?;
    let op = Operate::from_config(&env.config.file);
    let spend = if env.db.exists() { Some(month_spend(&env.read_conn()?, as_of, &tz)?) } else { None };
    let r = RaciReport::build(&op, spend.as_ref());
    let errors = op.errors();
    match a.output.format() {
        OutputFormat::Json => print::json(&mut *out, &r.json())?,
        OutputFormat::Csv => {
            let m = &op.raci;
            let mut header: Vec<&str> = vec!["activity"];
            header.extend(m.functions.iter().map(String::as_str));
            let rows: Vec<Vec<String>> = m
                .activities
                .iter()
                .map(|x| {
                    std::iter::once(x.name.clone())
                        .chain(x.roles.iter().map(|r| r.map(|r| r.letter().to_string()).unwrap_or_default()))
                        .collect()
                })
                .collect();
            print::csv_rows(&mut *out, &header, &rows)?;
        }
        OutputFormat::Table => {
            out.write_all(print::text(&r.matrix()).as_bytes())?;
            for n in &op.raci.notes {
                writeln!(out, "note: {}", clean(n))?;
            }
            writeln!(out)?;
            out.write_all(print::text(&r.owners_table()).as_bytes())?;
            for w in &r.warnings {
                writeln!(out, "warning: {}", clean(w))?;
            }
        }
    }
    if errors.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for e in &errors {
        eprintln!("error: {}", clean(e));
    }
    let at = env.config.path.as_ref().map(|p| format!(" in '{}'", p.display())).unwrap_or_default();
    eprintln!(
        "error: the RACI, owners or budgets{at} break the rules above: exactly one A per row, letters R, A, C or I, functions from [raci] functions"
    );
    Ok(ExitCode::from(2))
}

pub fn alerts(env: &Env, a: &AsOfArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let (as_of, tz) = at(env, a)?;
    let op = Operate::from_config(&env.config.file);
    warn_config(&op);
    let r = if op.budgets.is_empty() {
        AlertsReport { as_of, ..Default::default() }
    } else {
        AlertsReport::build(&env.read_conn()?, &op, as_of, &tz)?
    };
    match a.output.format() {
        OutputFormat::Json => print::json(&mut *out, &r.json())?,
        OutputFormat::Csv => print::csv(&mut *out, &r.alerts_table())?,
        OutputFormat::Table => {
            if op.budgets.is_empty() {
                writeln!(out, "No budgets: add [[budget]] entries to aifin.toml (see the README, Operate).")?;
            } else {
                out.write_all(print::text(&r.budgets_table()).as_bytes())?;
                writeln!(out)?;
                if r.alerts.is_empty() {
                    writeln!(out, "No alert fired in the last {} days.", alerts::RESOLVED_DAYS)?;
                } else {
                    out.write_all(print::text(&r.alerts_table()).as_bytes())?;
                }
            }
        }
    }
    Ok(if r.firing().next().is_some() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

pub fn kpis(env: &Env, a: &KpisArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let (as_of, tz) = at(env, &a.at)?;
    let op = Operate::from_config(&env.config.file);
    warn_config(&op);
    let conn = env.read_conn()?;
    let budgets = AlertsReport::build(&conn, &op, as_of, &tz)?;
    let mut pricer = crate::pricing::Pricer::new(env.catalog()?);
    let r = KpiReport::build(&conn, &op, &budgets, &mut pricer, as_of, &tz)?;
    if a.record_review {
        let rw = crate::store::open_rw(&env.db)?;
        let now = time::now_ms();
        events::record(&rw, &r.review_event(now), now)?;
    }
    match a.at.output.format() {
        OutputFormat::Json => print::json(&mut *out, &r.json())?,
        OutputFormat::Csv => print::csv(&mut *out, &r.table())?,
        OutputFormat::Table => {
            out.write_all(print::text(&r.table()).as_bytes())?;
            writeln!(out)?;
            out.write_all(print::text(&r.rollout_table()).as_bytes())?;
            if a.record_review {
                writeln!(out, "review recorded")?;
            }
        }
    }
    Ok(if r.breaches() > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// How long a `--exec` command may run before it is stopped.
const HOOK_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `sh -c cmd` with `json` on its standard input; a command still
/// running after [`HOOK_TIMEOUT`] is killed (the watcher must go on).
fn run_hook(cmd: &str, json: &str) -> Result<()> {
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| anyhow!("--exec: cannot run sh: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input is not an error.
        let _ = stdin.write_all(json.as_bytes()).and_then(|_| stdin.write_all(b"\n"));
    }
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                bail!("--exec: the command exited with {status}");
            }
            return Ok(());
        }
        if started.elapsed() > HOOK_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            bail!("--exec: the command ran over {} s and was stopped", HOOK_TIMEOUT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn watch(env: &Env, a: &WatchArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let tz = env.tz(a.tz.as_deref())?;
    let op = Operate::from_config(&env.config.file);
    warn_config(&op);
    if op.budgets.is_empty() {
        bail!("nothing to watch: add [[budget]] entries to aifin.toml (see the README, Operate)");
    }
    let every = Duration::try_from_secs_f64(a.every.max(0.2)).map_err(|e| anyhow!("--every: {e}"))?;
    let args = IngestArgs {
        paths: a.paths.clone(),
        format: None,
        batch: false,
        follow: true,
        no_tokenize: false,
        retry_rejects: false,
        symlinks: crate::ingest::paths::SymlinkPolicy::UnderRoot,
        rescan: 2.0,
        json: false,
    };
    let specs = super::ingest::specs(env, &args)?;
    let stop = super::ingest::stop_flag()?;
    drop(crate::store::open_rw(&env.db)?);
    let follower = {
        let (db, catalog, attributor, stop) = (env.db.clone(), env.catalog()?, env.attributor()?, stop.clone());
        std::thread::Builder::new().name("aifin-follow".into()).spawn(move || {
            let r = crate::ingest::follow::follow(
                &specs,
                crate::ingest::follow::FollowOptions {
                    db: &db,
                    catalog,
                    attributor,
                    stop: stop.clone(),
                    rescan: Duration::from_secs(2),
                    events: None,
                    progress: None,
                    on_round: None,
                    tokenizer: Some(Default::default()),
                },
            );
            // The watcher stops with its follower.
            stop.store(true, Ordering::Relaxed);
            r
        })?
    };
    let conn = crate::store::open_rw(&env.db)?;
    let mut next = Instant::now();
    let mut minutes = crate::store::live::MinuteCache::default();
    while !stop.load(Ordering::Relaxed) {
        if Instant::now() < next {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        next = Instant::now() + every;
        let now = time::now_ms();
        let judged = alerts::judge_cached(&conn, &op.budgets, now, &tz, &mut minutes)?;
        let holding = alerts::holding_now(&op.budgets, &judged);
        let open: Vec<_> = events::list(&conn, alerts::BUDGET_ALERT, now)?;
        let people = alerts::people_now(&conn, &op, now, &tz)?;
        for (e, j) in alerts::transitions(&op.budgets, &holding, &open, now, &people) {
            events::record(&conn, &e, now)?;
            writeln!(
                out,
                "{} {} {} {} at {:.1}x budget ({} / {} over {}x){}{}",
                time::format_utc(now),
                j.state.to_uppercase(),
                j.severity,
                clean(&j.budget),
                j.burn_rate,
                j.windows.long,
                j.windows.short,
                j.windows.threshold,
                j.owner.as_deref().map(|o| format!(" · {}", clean(o))).unwrap_or_default(),
                j.oncall.as_deref().map(|o| format!(" {}", clean(o))).unwrap_or_default(),
            )?;
            out.flush()?;
            if let Some(cmd) = &a.exec
                && let Err(err) = run_hook(cmd, &serde_json::to_string(&j)?)
            {
                eprintln!("warning: {err}");
            }
        }
    }
    match follower.join() {
        Ok(r) => {
            r?;
        }
        Err(_) => bail!("the follower stopped unexpectedly"),
    }
    Ok(ExitCode::SUCCESS)
}
