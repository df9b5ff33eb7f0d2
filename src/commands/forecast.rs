use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};

use super::Env;
use crate::cli::ForecastArgs;
use crate::domain::time;
use crate::forecast::drivers::{self};
use crate::forecast::{self, Drivers, RateChange, Scenario, TokensChange};
use crate::pricing::Pricer;
use crate::reports::forecast::{self as report, ForecastJson};
use crate::reports::print;
use crate::reports::table::thousands;

fn pct_in(name: &str, v: f64, lo: f64, hi: f64) -> Result<f64> {
    if !v.is_finite() || v < lo || v > hi {
        bail!("{name} must be between {lo} and {hi} (percent), not {v}");
    }
    Ok(v)
}

fn positive(name: &str, v: f64) -> Result<f64> {
    if !v.is_finite() || v < 0.0 {
        bail!("{name} must be a number ≥ 0, not {v}");
    }
    Ok(v)
}

/// The scenario the flags describe; `route_rate` prices `--route-to`.
fn scenario(a: &ForecastArgs, route_rate: Option<f64>) -> Result<Scenario> {
    Ok(Scenario {
        growth_pct: pct_in("--growth", a.growth, -100.0, 100_000.0)?,
        tokens: match (a.new_tokens_per_call, a.tokens_change) {
            (Some(n), _) => TokensChange::To(positive("--new-tokens-per-call", n)?),
            (None, Some(p)) => TokensChange::Pct(pct_in("--tokens-change", p, -100.0, 100_000.0)?),
            _ => TokensChange::Same,
        },
        rate: match (a.new_rate_per_1k, a.rate_change) {
            (Some(r), _) => RateChange::To(positive("--new-rate-per-1k", r)?),
            (None, Some(p)) => RateChange::Pct(pct_in("--rate-change", p, -100.0, 100_000.0)?),
            _ => RateChange::Same,
        },
        input_reduction_pct: pct_in("--input-reduction", a.input_reduction, 0.0, 100.0)?,
        cache_hit_pct: a.cache_hit.map(|h| pct_in("--cache-hit", h, 0.0, 100.0)).transpose()?,
        route: match (a.route_share, route_rate) {
            (Some(s), Some(r)) => Some((pct_in("--route-share", s, 0.0, 100.0)?, r)),
            _ => None,
        },
        replayed: None,
    })
}

/// The levers of `aifin levers` measured on the base window's calls, as
/// cost factors for the forecast.
fn replay_factors(
    env: &Env,
    a: &ForecastArgs,
    conn: &rusqlite::Connection,
    since: i64,
    until: i64,
) -> Result<forecast::ReplayFactors> {
    use crate::levers::{self, Lever};
    let catalog = env.catalog()?;
    let set = super::levers::lever_set(&a.levers, &catalog)?;
    if !Lever::ALL.iter().any(|l| set.has(*l)) {
        bail!("--levers-from-replay: name the levers with --compress, --route or --cap (as in `aifin levers`)");
    }
    let window = crate::store::queries::Window { since: Some(since), until: Some(until) };
    let calls = levers::CallSet::load(conn, window, a.workflow.as_deref(), &|_| {})?;
    Ok(levers::replay(&calls, &set, catalog, &|_, _| false)?.total.factors())
}

pub fn run(env: &Env, a: &ForecastArgs, out: &mut dyn Write) -> Result<ExitCode> {
    if a.levers.any() && !a.levers_from_replay {
        bail!("--compress, --route, --cap and --cache describe levers to replay: add --levers-from-replay");
    }
    let catalog = env.catalog()?;
    let mut pricer = Pricer::new(catalog);
    let tz = env.tz(a.tz.as_deref())?;
    let now = time::now_ms();

    let mut replayed = None;
    let (measured, drivers_, trend) = match (a.calls, a.tokens_per_call, a.rate_per_1k) {
        (Some(c), Some(t), Some(r)) => {
            let d = Drivers::explicit(
                positive("--calls", c)?,
                positive("--tokens-per-call", t)?,
                positive("--rate-per-1k", r)?,
                pct_in("--input-share", a.input_share, 0.0, 100.0)? / 100.0,
            );
            (None, d, None)
        }
        _ => {
            let (since, until) = match (&a.since, &a.until) {
                (Some(s), Some(u)) => (
                    time::parse_bound(s, &tz, now, false).map_err(|e| anyhow!("--since: {e}"))?,
                    time::parse_bound(u, &tz, now, true).map_err(|e| anyhow!("--until: {e}"))?,
                ),
                _ => (time::parse_bound(&a.base, &tz, now, false).map_err(|e| anyhow!("--base: {e}"))?, now),
            };
            if until <= since {
                bail!("the base window is empty: its end must be after its start");
            }
            if !(a.month_days > 0.0 && a.month_days <= 31.0) {
                bail!("--month-days must be between 0 and 31, not {}", a.month_days);
            }
            let conn = env.read_conn()?;
            let m = drivers::measure(&conn, &mut pricer, a.workflow.as_deref(), since, until, a.month_days)?
                .ok_or_else(|| {
                    anyhow!(
                        "no calls{} between {} and {} in {}; widen --base (or --since/--until), or give the drivers with --calls, --tokens-per-call and --rate-per-1k",
                        a.workflow.as_deref().map(|w| format!(" of workflow '{w}'")).unwrap_or_default(),
                        time::format_utc(since),
                        time::format_utc(until),
                        env.db.display()
                    )
                })?;
            let as_of = match &a.as_of {
                Some(w) => time::parse_bound(w, &tz, now, false).map_err(|e| anyhow!("--as-of: {e}"))?,
                None => now,
            };
            let t = drivers::trend_report(&conn, a.workflow.as_deref(), as_of, &tz)?;
            if a.levers_from_replay {
                replayed = Some(replay_factors(env, a, &conn, since, until)?);
            }
            let d = m.drivers.clone();
            (Some(m), d, Some(t))
        }
    };

    let route_rate = match &a.route_to {
        Some(model) => {
            let avg = measured.as_ref().map(|m| m.avg_call).unwrap_or_else(|| {
                // Explicit drivers: a call of the given size and input share.
                let input = (drivers_.tokens_per_call * drivers_.input_share).round() as u64;
                let total = drivers_.tokens_per_call.round() as u64;
                crate::domain::record::Tokens {
                    uncached_input: input,
                    output: total.saturating_sub(input),
                    ..Default::default()
                }
            });
            Some(drivers::rate_of(&mut pricer, model, avg).ok_or_else(|| {
                anyhow!("--route-to: '{model}' has no price in the catalog; see `aifin prices {model}`")
            })?)
        }
        None => None,
    };
    let s = Scenario { replayed, ..scenario(a, route_rate)? };
    let today = forecast::project(&drivers_, &Scenario::default());
    let proj = forecast::project(&drivers_, &s);
    let levers = forecast::has_levers(&s).then(|| forecast::levers(&drivers_, &s));

    if a.json {
        let j = ForecastJson {
            workflow: a.workflow.clone(),
            source: if measured.is_some() { "ledger" } else { "flags" },
            measured: measured.as_ref().map(Into::into),
            drivers: (&drivers_).into(),
            today: (&today).into(),
            scenario: (&proj).into(),
            levers: levers.as_ref().map(Into::into),
            trend: trend.as_ref().map(Into::into),
        };
        print::json(&mut *out, &j)?;
        return Ok(ExitCode::SUCCESS);
    }

    let who = a.workflow.as_deref().map(crate::domain::sanitize::clean).unwrap_or("all workflows".into());
    writeln!(out, "{}", report::drivers_line(&who, measured.as_ref()))?;
    let table = report::projection_table(&today, &proj, report::current_title(measured.as_ref()));
    write!(out, "{}", print::text(&table))?;
    if let Some(l) = &levers {
        for line in report::levers_lines(l) {
            writeln!(out, "{line}")?;
        }
    }
    if let Some(m) = &measured
        && m.unpriced_calls > 0
    {
        writeln!(
            out,
            "note: {} unpriced calls in the base window are not in the cost (see `aifin prices`)",
            thousands(m.unpriced_calls)
        )?;
    }
    if let Some(r) = &trend {
        writeln!(out, "{}", report::trend_line(r))?;
        match &r.backtest {
            Some(b) => writeln!(out, "{}", report::backtest_line(b))?,
            None => writeln!(out, "Forecast accuracy: no complete month of history to backtest yet")?,
        }
    }
    Ok(ExitCode::SUCCESS)
}
