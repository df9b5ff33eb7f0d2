//! Budgets and multiwindow, multi-burn-rate alerts (the Google SRE
//! Workbook's "Alerting on SLOs", applied to money).
//!
//! A monthly budget B over a month of T hours allows an **even burn** of
//! B / T per hour. The burn over a window w is (spend in w / w) / (B / T),
//! a multiple of the even burn ("x budget"). An alert pair (long window,
//! short window, threshold k) holds when both windows burn at k or more;
//! an alert (one per budget and severity) fires while any of its pairs
//! holds and resolves when none does. The month is the calendar month in
//! the report's zone that contains the moment judged; a window reaching
//! into the previous month still uses that month's even burn.
//!
//! Spend in a window is read from hourly sums for the whole hours inside
//! it and from minute sums for the partial hours where they are loaded
//! (the last hour, and the hours around anything that could fire); where
//! they are not (the far edge of a 6-hour or 3-day window), the hour's
//! spend counts pro rata. Comparisons are exact integer arithmetic: the
//! threshold is read in millionths.

use std::collections::{BTreeMap, HashMap};

use crate::config::{AlertConfig, BudgetConfig};
use crate::domain::money::Nanos;
use crate::domain::time::MS_PER_HOUR;

pub const MS_PER_MINUTE: i64 = 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Page,
    Ticket,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
}

/// What a budget covers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Total,
    Workflow(String),
    Team(String),
    Customer(String),
}

impl Scope {
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Total => "total",
            Scope::Workflow(_) => "workflow",
            Scope::Team(_) => "team",
            Scope::Customer(_) => "customer",
        }
    }

    /// The budget's name: the workflow, team or customer, or `total`.
    pub fn name(&self) -> &str {
        match self {
            Scope::Total => "total",
            Scope::Workflow(n) | Scope::Team(n) | Scope::Customer(n) => n,
        }
    }

    /// `workflow:support-copilot`, `total`.
    pub fn id(&self) -> String {
        match self {
            Scope::Total => "total".into(),
            s => format!("{}:{}", s.kind(), s.name()),
        }
    }
}

/// One pair of windows.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRule {
    pub severity: Severity,
    pub long_ms: i64,
    pub short_ms: i64,
    /// The threshold in millionths of the even burn (14.4 → 14_400_000).
    pub burn_micros: i64,
    pub long: String,
    pub short: String,
}

impl AlertRule {
    pub fn burn(&self) -> f64 {
        self.burn_micros as f64 / 1e6
    }
}

/// The Workbook's pairs: page on 1 h / 5 min at 14.4x and 6 h / 30 min at
/// 6x, ticket on 3 days / 6 h at 1x.
pub fn default_rules() -> Vec<AlertRule> {
    let r = |severity, long: &str, short: &str, burn_micros| AlertRule {
        severity,
        long_ms: parse_duration(long).unwrap_or(MS_PER_HOUR),
        short_ms: parse_duration(short).unwrap_or(MS_PER_HOUR),
        burn_micros,
        long: long.into(),
        short: short.into(),
    };
    vec![
        r(Severity::Page, "1h", "5m", 14_400_000),
        r(Severity::Page, "6h", "30m", 6_000_000),
        r(Severity::Ticket, "3d", "6h", 1_000_000),
    ]
}

/// `5m`, `1h`, `3d`, `90s` → milliseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let ms = match unit {
        "s" => 1_000,
        "m" | "min" => MS_PER_MINUTE,
        "h" => MS_PER_HOUR,
        "d" => 24 * MS_PER_HOUR,
        _ => return None,
    };
    (n > 0).then(|| n.checked_mul(ms)).flatten()
}

/// A checked budget.
#[derive(Clone, Debug, PartialEq)]
pub struct Budget {
    pub scope: Scope,
    pub monthly: Nanos,
    pub rules: Vec<AlertRule>,
}

impl Budget {
    /// The budget's alert severities, in order.
    pub fn severities(&self) -> Vec<Severity> {
        let mut s: Vec<Severity> = self.rules.iter().map(|r| r.severity).collect();
        s.sort();
        s.dedup();
        s
    }
}

/// Reads `[[budget]]` entries; a problem is an error naming the entry.
pub fn budgets(cfg: &[BudgetConfig]) -> Result<Vec<Budget>, String> {
    let mut out: Vec<Budget> = Vec::new();
    for (i, b) in cfg.iter().enumerate() {
        let at = format!("[[budget]] #{}", i + 1);
        let scope = match (&b.workflow, &b.team, &b.customer) {
            (None, None, None) => Scope::Total,
            (Some(w), None, None) => Scope::Workflow(w.clone()),
            (None, Some(t), None) => Scope::Team(t.clone()),
            (None, None, Some(c)) => Scope::Customer(c.clone()),
            _ => return Err(format!("{at}: give at most one of workflow, team or customer")),
        };
        let monthly = Nanos::from_usd_f64(b.monthly_usd).filter(|n| n.0 > 0).ok_or_else(|| {
            format!("{at} ({}): monthly_usd = {} must be a number of dollars > 0", scope.id(), b.monthly_usd)
        })?;
        let rules = match &b.alerts {
            None => default_rules(),
            Some(a) => a
                .iter()
                .map(|a| rule(a).map_err(|e| format!("{at} ({}): {e}", scope.id())))
                .collect::<Result<_, _>>()?,
        };
        if out.iter().any(|o| o.scope == scope) {
            return Err(format!("{at}: a second budget for {}", scope.id()));
        }
        out.push(Budget { scope, monthly, rules });
    }
    Ok(out)
}

fn rule(a: &AlertConfig) -> Result<AlertRule, String> {
    let severity = match a.severity.as_str() {
        "page" => Severity::Page,
        "ticket" => Severity::Ticket,
        s => return Err(format!("alert severity '{s}' is not page or ticket")),
    };
    let dur = |what: &str, s: &str| {
        parse_duration(s).ok_or_else(|| format!("alert {what} window '{s}' is not a duration such as 5m, 1h or 3d"))
    };
    let (long_ms, short_ms) = (dur("long", &a.long)?, dur("short", &a.short)?);
    if short_ms > long_ms {
        return Err(format!("alert short window {} is longer than its long window {}", a.short, a.long));
    }
    if !(a.burn.is_finite() && a.burn > 0.0) {
        return Err(format!("alert burn = {} must be a multiple of the even burn > 0", a.burn));
    }
    Ok(AlertRule {
        severity,
        long_ms,
        short_ms,
        burn_micros: (a.burn * 1e6).round() as i64,
        long: a.long.clone(),
        short: a.short.clone(),
    })
}

/// Spend of one budget's scope: hourly sums, and minute sums for the
/// hours where they were loaded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// Hour index (UTC ms / 1 h) → spend.
    pub hours: BTreeMap<i64, Nanos>,
    /// Minute index (UTC ms / 1 min) → spend.
    pub minutes: BTreeMap<i64, Nanos>,
    /// Hours whose minutes are all in `minutes`.
    pub minute_hours: std::collections::BTreeSet<i64>,
}

impl Series {
    /// Spend in `[from, to)`.
    pub fn sum(&self, from: i64, to: i64) -> Nanos {
        if to <= from {
            return Nanos::ZERO;
        }
        let mut total: i128 = 0;
        let (h0, h1) = (from.div_euclid(MS_PER_HOUR), (to - 1).div_euclid(MS_PER_HOUR));
        for h in h0..=h1 {
            let (hs, he) = (h * MS_PER_HOUR, (h + 1) * MS_PER_HOUR);
            let (a, b) = (from.max(hs), to.min(he));
            if a == hs && b == he {
                total += self.hours.get(&h).map_or(0, |n| n.0 as i128);
            } else if self.minute_hours.contains(&h) {
                let (m0, m1) = (a.div_euclid(MS_PER_MINUTE), (b + MS_PER_MINUTE - 1).div_euclid(MS_PER_MINUTE));
                total += self.minutes.range(m0..m1).map(|(_, n)| n.0 as i128).sum::<i128>();
            } else if let Some(n) = self.hours.get(&h) {
                total += crate::domain::money::div_round(n.0 as i128 * (b - a) as i128, MS_PER_HOUR as i128);
            }
        }
        Nanos(total.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    }
}

/// The month a moment belongs to: its length in ms.
pub type MonthOf<'a> = &'a dyn Fn(i64) -> i64;

/// Burn over a window as a multiple of the even burn (for display).
pub fn burn_multiple(spend: Nanos, window_ms: i64, monthly: Nanos, month_ms: i64) -> f64 {
    if monthly.0 <= 0 || window_ms <= 0 {
        return 0.0;
    }
    (spend.0 as f64 * month_ms as f64) / (window_ms as f64 * monthly.0 as f64)
}

/// Whether `spend` over `window_ms` burns at `burn_micros` millionths of
/// the even burn or more, exactly.
pub fn burns_at(spend: Nanos, window_ms: i64, monthly: Nanos, month_ms: i64, burn_micros: i64) -> bool {
    spend.0 as i128 * month_ms as i128 * 1_000_000 >= burn_micros as i128 * window_ms as i128 * monthly.0 as i128
}

/// One pair judged at a moment.
#[derive(Clone, Debug, PartialEq)]
pub struct PairState {
    pub rule: usize,
    pub long_burn: f64,
    pub short_burn: f64,
    pub holds: bool,
}

/// Judges every pair of `b` at `t` (windows ending at `t`).
pub fn judge(b: &Budget, s: &Series, t: i64, month_ms: i64) -> Vec<PairState> {
    b.rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let long = s.sum(t - r.long_ms, t);
            let short = s.sum(t - r.short_ms, t);
            PairState {
                rule: i,
                long_burn: burn_multiple(long, r.long_ms, b.monthly, month_ms),
                short_burn: burn_multiple(short, r.short_ms, b.monthly, month_ms),
                holds: burns_at(long, r.long_ms, b.monthly, month_ms, r.burn_micros)
                    && burns_at(short, r.short_ms, b.monthly, month_ms, r.burn_micros),
            }
        })
        .collect()
}

/// An alert: one budget and severity, from when it fired to when it
/// resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub scope: Scope,
    pub severity: Severity,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    /// The pair that fired it (the strongest at the peak).
    pub rule: AlertRule,
    /// Long- and short-window burn of that pair: at the peak for a
    /// resolved alert, now for a firing one.
    pub burn: f64,
    pub short_burn: f64,
    pub peak_burn: f64,
}

impl Alert {
    pub fn firing(&self) -> bool {
        self.ended_at.is_none()
    }

    /// The events table's subject: `workflow:x/page`.
    pub fn subject(&self) -> String {
        format!("{}/{}", self.scope.id(), self.severity.name())
    }
}

/// The state of one budget's severities after judging a moment: the
/// strongest holding pair per severity.
pub fn holding(b: &Budget, pairs: &[PairState]) -> HashMap<Severity, PairState> {
    let mut out: HashMap<Severity, PairState> = HashMap::new();
    for p in pairs.iter().filter(|p| p.holds) {
        let sev = b.rules[p.rule].severity;
        let ratio = |x: &PairState| x.long_burn / b.rules[x.rule].burn();
        if out.get(&sev).is_none_or(|q| ratio(p) > ratio(q)) {
            out.insert(sev, p.clone());
        }
    }
    out
}

/// Steps the state machine of one budget: `open` holds its alerts that
/// are firing; alerts that resolve at `t` are returned.
pub fn step(b: &Budget, s: &Series, t: i64, month_ms: i64, open: &mut Vec<Alert>) -> Vec<Alert> {
    let pairs = judge(b, s, t, month_ms);
    let hold = holding(b, &pairs);
    let mut closed = Vec::new();
    for sev in b.severities() {
        let i = open.iter().position(|a| a.severity == sev);
        match (hold.get(&sev), i) {
            (Some(p), None) => open.push(Alert {
                scope: b.scope.clone(),
                severity: sev,
                started_at: t,
                ended_at: None,
                rule: b.rules[p.rule].clone(),
                burn: p.long_burn,
                short_burn: p.short_burn,
                peak_burn: p.long_burn,
            }),
            (Some(p), Some(i)) => {
                let a = &mut open[i];
                if p.long_burn >= a.peak_burn {
                    a.peak_burn = p.long_burn;
                    a.rule = b.rules[p.rule].clone();
                }
                a.burn = p.long_burn;
                a.short_burn = p.short_burn;
            }
            (None, Some(i)) => {
                let mut a = open.remove(i);
                a.ended_at = Some(t);
                closed.push(a);
            }
            (None, None) => {}
        }
    }
    closed
}

/// Whether any pair of `b` could hold at some moment of hour `h`: the
/// long window's spend is at most the whole hours it touches. Hours that
/// cannot fire need no minute data.
pub fn could_fire(b: &Budget, s: &Series, h: i64, month_ms: i64) -> bool {
    b.rules.iter().any(|r| {
        let first = (h * MS_PER_HOUR - r.long_ms).div_euclid(MS_PER_HOUR);
        let upper: i64 = s.hours.range(first..=h).map(|(_, n)| n.0).fold(0i64, i64::saturating_add);
        burns_at(Nanos(upper), r.long_ms, b.monthly, month_ms, r.burn_micros)
    })
}

/// Replays one budget minute by minute over `[from, to]`, skipping hours
/// that cannot fire; returns every alert that was going on in the span
/// (the firing ones last, with no end).
pub fn replay(b: &Budget, s: &Series, from: i64, to: i64, month_ms: MonthOf) -> Vec<Alert> {
    let mut open: Vec<Alert> = Vec::new();
    let mut done = Vec::new();
    let mut t = from.div_euclid(MS_PER_MINUTE) * MS_PER_MINUTE;
    while t <= to {
        let h = t.div_euclid(MS_PER_HOUR);
        let m = month_ms(t);
        if open.is_empty() && !could_fire(b, s, h, m) {
            t = (h + 1) * MS_PER_HOUR;
            continue;
        }
        done.extend(step(b, s, t, m, &mut open));
        t += MS_PER_MINUTE;
    }
    // The moment itself, when it is not on a minute.
    if to % MS_PER_MINUTE != 0 {
        done.extend(step(b, s, to, month_ms(to), &mut open));
    }
    done.extend(open);
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOLLAR: i64 = 1_000_000_000;

    fn budget(usd: i64) -> Budget {
        Budget { scope: Scope::Workflow("w".into()), monthly: Nanos(usd * DOLLAR), rules: default_rules() }
    }

    /// A series with per-minute spend in nanos, all minutes loaded.
    fn series(points: &[(i64, i64)]) -> Series {
        let mut s = Series::default();
        for (minute, n) in points {
            *s.minutes.entry(*minute).or_insert(Nanos::ZERO) += Nanos(*n);
            *s.hours.entry(minute.div_euclid(60)).or_insert(Nanos::ZERO) += Nanos(*n);
        }
        let hs: Vec<i64> = s.hours.keys().copied().collect();
        for h in hs {
            s.minute_hours.insert(h);
            s.minute_hours.insert(h + 1);
            s.minute_hours.insert(h - 1);
        }
        s
    }

    /// 30 days of 720 hours, as in the Workbook's example.
    const MONTH_30: i64 = 720 * MS_PER_HOUR;

    #[test]
    fn the_workbooks_example_thresholds() {
        // B = $3,000 over 30 days: page when the last hour spent >= $60 and
        // the last 5 minutes >= $5.00.
        let b = budget(3000);
        let r = &b.rules[0];
        assert!(burns_at(Nanos(60 * DOLLAR), r.long_ms, b.monthly, MONTH_30, r.burn_micros));
        assert!(!burns_at(Nanos(60 * DOLLAR - 1), r.long_ms, b.monthly, MONTH_30, r.burn_micros));
        assert!(burns_at(Nanos(5 * DOLLAR), r.short_ms, b.monthly, MONTH_30, r.burn_micros));
        assert!(!burns_at(Nanos(5 * DOLLAR - 1), r.short_ms, b.monthly, MONTH_30, r.burn_micros));
        // 6 h >= $150 and 30 min >= $12.50; ticket: 3 days >= $300, 6 h >= $25.
        let r = &b.rules[1];
        assert!(burns_at(Nanos(150 * DOLLAR), r.long_ms, b.monthly, MONTH_30, r.burn_micros));
        assert!(!burns_at(Nanos(150 * DOLLAR - 1), r.long_ms, b.monthly, MONTH_30, r.burn_micros));
        assert!(burns_at(Nanos(12_500_000_000), r.short_ms, b.monthly, MONTH_30, r.burn_micros));
        let r = &b.rules[2];
        assert!(burns_at(Nanos(300 * DOLLAR), r.long_ms, b.monthly, MONTH_30, r.burn_micros));
        assert!(!burns_at(Nanos(300 * DOLLAR - 1), r.long_ms, b.monthly, MONTH_30, r.burn_micros));
        assert!(burns_at(Nanos(25 * DOLLAR), r.short_ms, b.monthly, MONTH_30, r.burn_micros));
        // A 31-day month lowers the even burn: $60 in an hour is then
        // 14.88x, and $58.07 no longer pages.
        let m31 = 744 * MS_PER_HOUR;
        assert!(burns_at(Nanos(58_065 * DOLLAR / 1000), MS_PER_HOUR, b.monthly, m31, 14_400_000));
        assert!(!burns_at(Nanos(58_064 * DOLLAR / 1000), MS_PER_HOUR, b.monthly, m31, 14_400_000));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Some(300_000));
        assert_eq!(parse_duration("3d"), Some(3 * 24 * MS_PER_HOUR));
        assert_eq!(parse_duration("1h"), Some(MS_PER_HOUR));
        for bad in ["", "h", "0m", "5x", "-1h", "1.5h"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn partial_hours_use_minutes_where_loaded_else_pro_rata() {
        let mut s = series(&[(60, 10), (61, 20), (119, 30)]);
        assert_eq!(s.sum(60 * MS_PER_MINUTE, 62 * MS_PER_MINUTE), Nanos(30));
        assert_eq!(s.sum(0, 3 * MS_PER_HOUR), Nanos(60));
        s.minute_hours.clear();
        // Half of the hour's $60 nanos.
        assert_eq!(s.sum(90 * MS_PER_MINUTE, 120 * MS_PER_MINUTE), Nanos(30));
    }

    #[test]
    fn budgets_are_checked() {
        let b = |toml: &str| {
            let c: crate::config::ConfigFile = toml::from_str(toml).unwrap();
            budgets(&c.budgets)
        };
        assert_eq!(b("[[budget]]\nmonthly_usd = 720\n").unwrap()[0].scope, Scope::Total);
        assert!(
            b("[[budget]]\nmonthly_usd = 720\nworkflow = \"a\"\nteam = \"b\"\n").unwrap_err().contains("at most one")
        );
        assert!(b("[[budget]]\nmonthly_usd = 0\n").unwrap_err().contains("> 0"));
        let e = b("[[budget]]\nmonthly_usd = 9\nalerts = [{ severity = \"sev1\", long = \"1h\", short = \"5m\", burn = 2 }]\n")
            .unwrap_err();
        assert!(e.contains("#1") && e.contains("sev1"), "{e}");
        let e = b("[[budget]]\nmonthly_usd = 9\nalerts = [{ severity = \"page\", long = \"5m\", short = \"1h\", burn = 2 }]\n")
            .unwrap_err();
        assert!(e.contains("longer"), "{e}");
        let ok = b("[[budget]]\nmonthly_usd = 9\nteam = \"CX\"\nalerts = [{ severity = \"page\", long = \"2h\", short = \"10m\", burn = 10 }]\n")
            .unwrap();
        assert_eq!(ok[0].rules.len(), 1);
        assert_eq!(ok[0].rules[0].burn_micros, 10_000_000);
        assert!(b("[[budget]]\nmonthly_usd = 9\n[[budget]]\nmonthly_usd = 10\n").unwrap_err().contains("second"));
    }

    /// A day at the even burn of a $7,200 budget ($10 an hour, spread
    /// evenly over minutes), with a spike of `rate` x the even burn from
    /// minute `start` for `minutes` minutes.
    fn day_with_spike(start: i64, minutes: i64, rate: i64) -> Series {
        let per_minute = 10 * DOLLAR / 60;
        let pts: Vec<(i64, i64)> = (0..24 * 60)
            .map(|m| (m, if m >= start && m < start + minutes { per_minute * rate } else { per_minute }))
            .collect();
        series(&pts)
    }

    #[test]
    fn a_spike_pages_when_the_workbooks_arithmetic_says_and_resolves_after_it() {
        // At 100x the even burn, the 1-hour window reaches 14.4x after
        // 14.4 / 99 of an hour above the background (1x): 8.73 minutes,
        // so the page fires on the 9th minute; the 5-minute window is
        // over 14.4x from the first minute. When the spike stops, the
        // 5-minute window falls under 14.4x within 5 minutes.
        let b = budget(7200);
        let s = day_with_spike(600, 20, 100);
        let alerts = replay(&b, &s, 0, 24 * MS_PER_HOUR - 1, &|_| MONTH_30);
        let pages: Vec<&Alert> = alerts.iter().filter(|a| a.severity == Severity::Page).collect();
        assert_eq!(pages.len(), 1, "{alerts:#?}");
        let p = pages[0];
        assert_eq!(p.started_at, (600 + 9) * MS_PER_MINUTE);
        // The spike also lifts the 6 h window to (20 x 100 + 340) / 360 =
        // 6.5x, so the 6 h / 30 min pair holds as long as the 30-minute
        // window burns at 6x: (k x 100 + (30 - k)) / 30 >= 6 needs k >= 2
        // spike minutes in it. The spike's last two minutes are 618 and
        // 619, so it holds up to 648 (window 618..647) and stops at 649.
        assert_eq!(p.ended_at, Some(649 * MS_PER_MINUTE));
        assert!(p.peak_burn > 30.0, "{}", p.peak_burn);
        assert!(alerts.iter().all(|a| a.severity != Severity::Ticket), "a 20-minute spike is no ticket");
    }

    #[test]
    fn the_short_window_ends_a_page_soon_after_the_burn_stops() {
        // Ten minutes at 100x: the 1 h window crosses 14.4x on the 9th
        // minute (as above) and stays over it for an hour, but the 5 min
        // window holds no spike minute from 615 on (the last is 609); the
        // 6 h window never reaches 6x ((1000 + 350) / 360 = 3.75x).
        let b = budget(7200);
        let s = day_with_spike(600, 10, 100);
        let alerts = replay(&b, &s, 0, 24 * MS_PER_HOUR - 1, &|_| MONTH_30);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].started_at, 609 * MS_PER_MINUTE);
        assert_eq!(alerts[0].ended_at, Some(615 * MS_PER_MINUTE));
        assert_eq!(alerts[0].rule.long, "1h");
    }

    #[test]
    fn a_slow_steady_overspend_raises_the_ticket_not_the_page() {
        // 1.5x the even burn for four days: the 3-day window reaches 1x
        // after two days of it (3 days x (1/1.5)); no page window gets
        // near 6x.
        let b = budget(7200);
        let per_minute = 15 * DOLLAR / 60;
        let pts: Vec<(i64, i64)> = (0..4 * 24 * 60).map(|m| (m, per_minute)).collect();
        let s = series(&pts);
        let alerts = replay(&b, &s, 0, 4 * 24 * MS_PER_HOUR - 1, &|_| MONTH_30);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].severity, Severity::Ticket);
        assert!(alerts[0].firing());
        assert_eq!(alerts[0].started_at, 2 * 24 * MS_PER_HOUR);
    }

    #[test]
    fn steady_spend_at_the_even_burn_fires_nothing() {
        let b = budget(7200);
        let s = day_with_spike(0, 0, 1);
        assert!(replay(&b, &s, 0, 24 * MS_PER_HOUR - 1, &|_| MONTH_30).is_empty());
    }
}
