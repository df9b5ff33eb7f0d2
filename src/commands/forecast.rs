use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use serde::Serialize;

use super::Env;
use crate::cli::ForecastArgs;
use crate::domain::money::Nanos;
use crate::domain::time;
use crate::forecast::drivers::{self, Measured, TrendReport};
use crate::forecast::{self, Drivers, LeverReport, Projection, RateChange, Scenario, TokensChange};
use crate::output::{self, left, percent, right, thousands};
use crate::pricing::Pricer;

#[derive(Serialize)]
struct ForecastJson<'a> {
    workflow: Option<&'a str>,
    /// Where the drivers come from: the ledger (with the measured window) or the flags.
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    measured: Option<&'a Measured>,
    drivers: &'a Drivers,
    today: Projection,
    scenario: Projection,
    #[serde(skip_serializing_if = "Option::is_none")]
    levers: Option<LeverReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trend: Option<&'a TrendReport>,
}

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
    })
}

pub fn run(env: &Env, a: &ForecastArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let catalog = env.catalog()?;
    let mut pricer = Pricer::new(catalog);
    let tz = env.tz(a.tz.as_deref())?;
    let now = time::now_ms();

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
    let s = scenario(a, route_rate)?;
    let today = forecast::project(&drivers_, &Scenario::default());
    let proj = forecast::project(&drivers_, &s);
    let has_levers = s.input_reduction_pct != 0.0 || s.cache_hit_pct.is_some() || s.route.is_some();
    let levers = has_levers.then(|| forecast::levers(&drivers_, &s));

    if a.json {
        let j = ForecastJson {
            workflow: a.workflow.as_deref(),
            source: if measured.is_some() { "ledger" } else { "flags" },
            measured: measured.as_ref(),
            drivers: &drivers_,
            today,
            scenario: proj,
            levers,
            trend: trend.as_ref(),
        };
        output::json(&mut *out, &j)?;
        return Ok(ExitCode::SUCCESS);
    }

    let who = a.workflow.as_deref().map(crate::domain::sanitize::clean).unwrap_or("all workflows".into());
    match &measured {
        Some(m) => writeln!(
            out,
            "Forecast · {who} · drivers from {} calls between {} and {} ({:.1} days), scaled to a {}-day month",
            thousands(m.calls),
            time::format_utc(m.since_ms),
            time::format_utc(m.until_ms),
            m.base_days,
            m.month_days
        )?,
        None => writeln!(out, "Forecast · drivers from the command line")?,
    }
    let usd = output::usd_f64;
    let rate = |v: f64| format!("${v:.6}");
    let delta = |v: f64| if v.abs() < 0.05 { "0.0%".to_string() } else { format!("{v:+.1}%") };
    let rows = vec![
        vec![
            "Monthly calls".into(),
            thousands(today.monthly_calls.round() as i64),
            thousands(proj.monthly_calls.round() as i64),
        ],
        vec![
            "Tokens per call".into(),
            thousands(today.tokens_per_call.round() as i64),
            thousands(proj.tokens_per_call.round() as i64),
        ],
        vec!["Rate per 1K tokens".into(), rate(today.rate_per_1k_usd), rate(proj.rate_per_1k_usd)],
        vec![
            "Projected monthly cost".into(),
            Nanos(today.projected_monthly_cost_nanousd).format_usd(2),
            Nanos(proj.projected_monthly_cost_nanousd).format_usd(2),
        ],
        vec!["vs today".into(), delta(0.0), delta(proj.delta_vs_today_pct)],
    ];
    write!(out, "{}", output::table(&[left(""), right("Today"), right("Scenario")], &rows, None))?;
    if let Some(l) = &levers {
        writeln!(out, "Levers: before levers {}", usd(l.before_levers_usd))?;
        for (name, saving) in &l.alone {
            writeln!(out, "  {name:<16} alone saves {}", usd(*saving))?;
        }
        writeln!(
            out,
            "  together (composed)  {}, saves {}\n  naive sum            {}, would claim {}",
            usd(l.composed_usd),
            usd(l.composed_saving_usd),
            usd(l.naive_sum_usd),
            usd(l.naive_sum_saving_usd)
        )?;
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
        match &r.trend {
            Some(t) => writeln!(
                out,
                "Trend · {} · month to date {} · month end {} (P10 {} – P90 {}) · slope {}{}/day over {} days",
                r.month,
                usd(t.month_to_date_usd),
                usd(t.projected_month_end_usd),
                usd(t.p10_usd),
                usd(t.p90_usd),
                if t.slope_usd_per_day < 0.0 { "-" } else { "+" },
                usd(t.slope_usd_per_day.abs()),
                t.fit_days
            )?,
            None => writeln!(out, "Trend · {} · no daily history yet", r.month)?,
        }
        match &r.backtest {
            Some(b) => {
                let periods: Vec<String> = b
                    .periods
                    .iter()
                    .map(|p| {
                        format!(
                            "{} projected {} actual {} ({})",
                            p.period,
                            usd(p.projected_usd),
                            usd(p.actual_usd),
                            percent(p.error_pct / 100.0, 1)
                        )
                    })
                    .collect();
                writeln!(
                    out,
                    "Forecast accuracy (projected at mid-month vs actual): {} · mean error {} · target within {}: {}",
                    periods.join("; "),
                    percent(b.mean_abs_error_pct / 100.0, 1),
                    percent(b.target_pct / 100.0, 0),
                    if b.within_target { "met" } else { "missed" }
                )?;
            }
            None => writeln!(out, "Forecast accuracy: no complete month of history to backtest yet")?,
        }
    }
    Ok(ExitCode::SUCCESS)
}
