//! Named report windows, as the cockpit cycles them and `aifin export
//! --window` takes them: `today`, `7d`, `30d`, `month` (to date),
//! `prev-month`, or a custom range in the `WHEN` grammar.

use std::fmt;
use std::str::FromStr;

use jiff::tz::TimeZone;

use crate::domain::time::{self, MS_PER_DAY, start_of_local_day, start_of_month};
use crate::store::queries::Window;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WindowKind {
    Today,
    Days7,
    Days30,
    Month,
    PrevMonth,
    /// `[since, until)` in epoch ms.
    Custom(i64, i64),
}

impl WindowKind {
    /// The windows `w` cycles through.
    pub const CYCLE: [WindowKind; 5] =
        [WindowKind::Today, WindowKind::Days7, WindowKind::Days30, WindowKind::Month, WindowKind::PrevMonth];

    /// The name `--window` takes (custom ranges have none).
    pub fn name(self) -> &'static str {
        match self {
            WindowKind::Today => "today",
            WindowKind::Days7 => "7d",
            WindowKind::Days30 => "30d",
            WindowKind::Month => "month",
            WindowKind::PrevMonth => "prev-month",
            WindowKind::Custom(..) => "custom",
        }
    }

    /// The window in words.
    pub fn label(self) -> String {
        match self {
            WindowKind::Today => "today".into(),
            WindowKind::Days7 => "7 d".into(),
            WindowKind::Days30 => "30 d".into(),
            WindowKind::Month => "month".into(),
            WindowKind::PrevMonth => "previous month".into(),
            WindowKind::Custom(a, b) => format!("{} → {}", time::format_utc(a), time::format_utc(b)),
        }
    }

    pub fn next(self) -> WindowKind {
        let i = WindowKind::CYCLE.iter().position(|w| *w == self).map(|i| i + 1).unwrap_or(0);
        WindowKind::CYCLE[i % WindowKind::CYCLE.len()]
    }

    pub fn window(self, now_ms: i64, tz: &TimeZone) -> Window {
        let open = |since: i64| Window { since: Some(since), until: None };
        match self {
            WindowKind::Today => open(start_of_local_day(now_ms, tz)),
            WindowKind::Days7 => open(now_ms - 7 * MS_PER_DAY),
            WindowKind::Days30 => open(now_ms - 30 * MS_PER_DAY),
            WindowKind::Month => open(start_of_month(now_ms, tz)),
            WindowKind::PrevMonth => {
                let this = start_of_month(now_ms, tz);
                Window { since: Some(start_of_month(this - 1, tz)), until: Some(this) }
            }
            WindowKind::Custom(a, b) => Window { since: Some(a), until: Some(b) },
        }
    }

    /// A custom range from text: `SINCE..UNTIL` or `SINCE UNTIL` in the
    /// `WHEN` grammar (the end's date is inclusive).
    pub fn parse_range(text: &str, tz: &TimeZone, now_ms: i64) -> Result<WindowKind, String> {
        let t = text.trim();
        let (a, b) = t
            .split_once("..")
            .or_else(|| t.split_once(' '))
            .ok_or_else(|| format!("'{t}': give a range as SINCE..UNTIL, e.g. 2026-10-01..2026-10-31"))?;
        let since = time::parse_bound(a.trim(), tz, now_ms, false)?;
        let until = match b.trim() {
            "" | "now" => now_ms,
            u => time::parse_bound(u, tz, now_ms, true)?,
        };
        if until <= since {
            return Err("the end of the range must be after its start".into());
        }
        Ok(WindowKind::Custom(since, until))
    }
}

impl fmt::Display for WindowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl FromStr for WindowKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WindowKind::CYCLE.into_iter().find(|w| w.name() == s).ok_or_else(|| {
            format!("unknown window '{s}'; use one of: {}", WindowKind::CYCLE.map(WindowKind::name).join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::parse_ts_str;

    #[test]
    fn windows_by_hand() {
        let now = parse_ts_str("2026-11-28T12:00:30Z").unwrap();
        let utc = TimeZone::UTC;
        let ts = |s: &str| parse_ts_str(s).unwrap();
        assert_eq!(WindowKind::Today.window(now, &utc).since, Some(ts("2026-11-28T00:00:00Z")));
        let p = WindowKind::PrevMonth.window(now, &utc);
        assert_eq!((p.since, p.until), (Some(ts("2026-10-01T00:00:00Z")), Some(ts("2026-11-01T00:00:00Z"))));
        let paris = time::resolve_tz(Some("Europe/Paris")).unwrap();
        let p = WindowKind::PrevMonth.window(now, &paris);
        assert_eq!(p.since, Some(ts("2026-09-30T22:00:00Z")), "midnight in Paris, summer time");
        let c = WindowKind::parse_range("2026-10-01..2026-10-31", &utc, now).unwrap();
        assert_eq!(c, WindowKind::Custom(ts("2026-10-01T00:00:00Z"), ts("2026-11-01T00:00:00Z")));
        assert!(WindowKind::parse_range("2026-10-31..2026-10-01", &utc, now).is_err());
        assert!(WindowKind::parse_range("yesterday", &utc, now).is_err());
        assert_eq!("prev-month".parse::<WindowKind>().unwrap(), WindowKind::PrevMonth);
        assert_eq!(WindowKind::PrevMonth.next(), WindowKind::Today);
        assert_eq!(WindowKind::Custom(0, 1).next(), WindowKind::Today);
    }
}
