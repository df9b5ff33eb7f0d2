//! Timestamps: everything is stored as UTC epoch milliseconds.
//!
//! Logs write time in many shapes: RFC 3339 (`2026-10-01T08:00:00.123Z`,
//! with an offset or without one), LiteLLM's `2025-01-24 09:20:46.847371`
//! (UTC, no zone), epoch seconds / milliseconds / microseconds / nanoseconds
//! as numbers or numeric strings. The common layouts are parsed by hand on
//! the hot path; anything else goes through `jiff`.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

pub const MS_PER_HOUR: i64 = 3_600_000;
pub const MS_PER_DAY: i64 = 86_400_000;

/// Earliest and latest accepted timestamps (1990-01-01 .. 2200-01-01):
/// anything outside is a broken clock or a wrong unit.
pub const MIN_TS_MS: i64 = 631_152_000_000;
pub const MAX_TS_MS: i64 = 7_258_118_400_000;

/// Parses a timestamp string into UTC epoch milliseconds.
pub fn parse_ts_str(s: &str) -> Option<i64> {
    let s = crate::domain::sanitize::trim(s);
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return s.parse::<f64>().ok().and_then(epoch_number_to_ms);
    }
    let ms = fast_iso(s.as_bytes()).or_else(|| offset_ok(s).then(|| slow_parse(s)).flatten())?;
    in_range(ms)
}

/// Whether a trailing `±HH:MM` / `±HHMM` offset is one a zone can have.
fn offset_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let tail = |n: usize| b.len().checked_sub(n).map(|i| &b[i..]);
    let parse = |t: &[u8], colon: bool| -> Option<(i64, i64)> {
        if !matches!(t[0], b'+' | b'-') {
            return None;
        }
        let m = if colon { (t[3] == b':').then_some(4)? } else { 3 };
        Some((digits(t, 1, 2)?, digits(t, m, 2)?))
    };
    let found = tail(6).and_then(|t| parse(t, true)).or_else(|| tail(5).and_then(|t| parse(t, false)));
    found.is_none_or(|(h, m)| h < 18 && m < 60 || (h == 18 && m == 0))
}

/// Interprets an epoch number by magnitude: seconds, milliseconds,
/// microseconds or nanoseconds.
pub fn epoch_number_to_ms(n: f64) -> Option<i64> {
    if !n.is_finite() || n <= 0.0 {
        return None;
    }
    let ms = if n < 1e11 {
        n * 1000.0
    } else if n < 1e14 {
        n
    } else if n < 1e17 {
        n / 1000.0
    } else {
        n / 1_000_000.0
    };
    in_range(ms.round() as i64)
}

/// Interprets an integer epoch value by magnitude (see [`epoch_number_to_ms`]).
pub fn epoch_int_to_ms(n: i64) -> Option<i64> {
    if n <= 0 {
        return None;
    }
    let ms = if n < 100_000_000_000 {
        n.checked_mul(1000)?
    } else if n < 100_000_000_000_000 {
        n
    } else if n < 100_000_000_000_000_000 {
        n / 1000
    } else {
        n / 1_000_000
    };
    in_range(ms)
}

fn in_range(ms: i64) -> Option<i64> {
    (MIN_TS_MS..MAX_TS_MS).contains(&ms).then_some(ms)
}

fn digits(b: &[u8], from: usize, n: usize) -> Option<i64> {
    let mut v: i64 = 0;
    for i in from..from + n {
        let d = *b.get(i)?;
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (d - b'0') as i64;
    }
    Some(v)
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH:MM|±HHMM]`; no zone means UTC.
fn fast_iso(b: &[u8]) -> Option<i64> {
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || (b[10] != b'T' && b[10] != b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let y = digits(b, 0, 4)?;
    let mo = digits(b, 5, 2)?;
    let d = digits(b, 8, 2)?;
    let h = digits(b, 11, 2)?;
    let mi = digits(b, 14, 2)?;
    let s = digits(b, 17, 2)?;
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                ms = ms * 10 + (b[i] - b'0') as i64;
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..3 {
            ms *= 10;
        }
    }
    let offset_min = match b.get(i) {
        None => 0,
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let rest = &b[i + 1..];
            let (oh, om) = match rest.len() {
                5 if rest[2] == b':' => (digits(rest, 0, 2)?, digits(rest, 3, 2)?),
                4 => (digits(rest, 0, 2)?, digits(rest, 2, 2)?),
                2 => (digits(rest, 0, 2)?, 0),
                _ => return None,
            };
            // Real offsets lie within ±18:00 (RFC 3339 allows up to
            // 23:59, but no zone uses more); minutes below 60.
            if oh > 18 || om > 59 || (oh == 18 && om > 0) {
                return None;
            }
            let m = oh * 60 + om;
            if sign == b'+' { m } else { -m }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + s.min(59) - offset_min * 60;
    Some(secs * 1000 + ms)
}

fn slow_parse(s: &str) -> Option<i64> {
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Some(ts.as_millisecond());
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt.to_zoned_datetime(TimeZone::UTC).ok().map(|z| z.timestamp().as_millisecond());
    }
    None
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats epoch milliseconds as RFC 3339 UTC with milliseconds.
pub fn format_utc(ms: i64) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => ms.to_string(),
    }
}

/// Resolves a time zone name (`UTC`, `Europe/Paris`, `local`); `None`
/// means the system zone (falling back to UTC when it cannot be found).
pub fn resolve_tz(name: Option<&str>) -> Result<TimeZone, String> {
    match name {
        None | Some("local") | Some("") => Ok(TimeZone::try_system().unwrap_or(TimeZone::UTC)),
        Some(n) if n.eq_ignore_ascii_case("utc") || n == "Z" => Ok(TimeZone::UTC),
        Some(n) => TimeZone::get(n)
            .map_err(|e| format!("unknown time zone '{n}' ({e}); use an IANA name such as 'UTC' or 'Europe/Paris'")),
    }
}

/// A short, stable name for a time zone to show in headers.
pub fn tz_name(tz: &TimeZone) -> String {
    tz.iana_name().map(str::to_string).unwrap_or_else(|| {
        let now = ZonedDateTime::now().with_time_zone(tz.clone());
        now.strftime("%:z").to_string()
    })
}

/// True when every UTC offset the zone uses (across the years of interest)
/// is a whole number of hours, so local day boundaries fall on UTC hour
/// boundaries and hourly rollups give exact daily totals.
pub fn tz_is_whole_hour(tz: &TimeZone, from_ms: i64, to_ms: i64) -> bool {
    let (Ok(from), Ok(to)) = (Timestamp::from_millisecond(from_ms), Timestamp::from_millisecond(to_ms)) else {
        return false;
    };
    let mut t = from;
    let step = jiff::SignedDuration::from_hours(24 * 7);
    loop {
        if tz.to_offset(t).seconds() % 3600 != 0 {
            return false;
        }
        if t >= to {
            return true;
        }
        t = match t.checked_add(step) {
            Ok(n) if n < to => n,
            _ => to,
        };
    }
}

/// The local calendar day (`YYYY-MM-DD`) of an instant in `tz`.
pub fn local_day(ms: i64, tz: &TimeZone) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.to_zoned_datetime(tz.clone()).strftime("%Y-%m-%d").to_string(),
        Err(_) => String::new(),
    }
}

/// The local time of day (`HH:MM`) of an instant in `tz`.
pub fn local_hm(ms: i64, tz: &TimeZone) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.to_zoned_datetime(tz.clone()).strftime("%H:%M").to_string(),
        Err(_) => "--:--".into(),
    }
}

/// The local month (`YYYY-MM`) of an instant in `tz`.
pub fn local_month(ms: i64, tz: &TimeZone) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.to_zoned_datetime(tz.clone()).strftime("%Y-%m").to_string(),
        Err(_) => String::new(),
    }
}

/// Start of the local day containing `ms`, as epoch ms.
pub fn start_of_local_day(ms: i64, tz: &TimeZone) -> i64 {
    Timestamp::from_millisecond(ms)
        .ok()
        .and_then(|ts| ts.to_zoned_datetime(tz.clone()).start_of_day().ok())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(ms)
}

/// Parses a report bound: a date `YYYY-MM-DD` (local midnight in `tz`), a
/// full timestamp, `today`, or a relative span such as `7d`, `24h`, `90m`
/// (counted back from `now_ms`). `end_of_day` moves a date to the next
/// local midnight so that `--until 2026-10-31` includes that day.
pub fn parse_bound(text: &str, tz: &TimeZone, now_ms: i64, end_of_day: bool) -> Result<i64, String> {
    let t = text.trim();
    if t == "today" {
        let start = start_of_local_day(now_ms, tz);
        return Ok(if end_of_day { next_local_day(start, tz) } else { start });
    }
    if let Some(num) = t.strip_suffix(['d', 'h', 'm'])
        && let Ok(n) = num.parse::<i64>()
        && n >= 0
    {
        let unit = match t.as_bytes()[t.len() - 1] {
            b'd' => MS_PER_DAY,
            b'h' => MS_PER_HOUR,
            _ => 60_000,
        };
        return Ok(now_ms - n * unit);
    }
    if let Ok(date) = t.parse::<jiff::civil::Date>()
        && t.len() == 10
    {
        let z =
            date.to_zoned_datetime(tz.clone()).map_err(|e| format!("cannot place date '{t}' in the time zone: {e}"))?;
        let start = z.timestamp().as_millisecond();
        return Ok(if end_of_day { next_local_day(start, tz) } else { start });
    }
    if let Some(ms) = fast_iso(t.as_bytes()).or_else(|| slow_parse(t)) {
        return Ok(ms);
    }
    Err(format!(
        "cannot read '{t}' as a date; use YYYY-MM-DD, an RFC 3339 timestamp, 'today', or a span such as 7d / 24h"
    ))
}

/// Midnight of the local day after the one starting at `start_ms`.
pub fn next_local_day(start_ms: i64, tz: &TimeZone) -> i64 {
    Timestamp::from_millisecond(start_ms)
        .ok()
        .and_then(|ts| ts.to_zoned_datetime(tz.clone()).tomorrow().ok())
        .and_then(|z| z.start_of_day().ok())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(start_ms + MS_PER_DAY)
}

/// Midnight of the first day of the local month containing `ms`.
pub fn start_of_month(ms: i64, tz: &TimeZone) -> i64 {
    Timestamp::from_millisecond(ms)
        .ok()
        .and_then(|t| t.to_zoned_datetime(tz.clone()).first_of_month().ok())
        .and_then(|z| z.start_of_day().ok())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(ms)
}

/// Midnight of the first day of the next local month.
pub fn end_of_month(ms: i64, tz: &TimeZone) -> i64 {
    Timestamp::from_millisecond(ms)
        .ok()
        .and_then(|t| t.to_zoned_datetime(tz.clone()).last_of_month().ok())
        .and_then(|z| z.tomorrow().ok())
        .and_then(|z| z.start_of_day().ok())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(ms)
}

/// Midnight of the first day of the local calendar period (`months` = 1:
/// a month, 3: a quarter) containing `ms`, moved `shift` periods (-1: the
/// period before).
pub fn start_of_period(ms: i64, tz: &TimeZone, months: i8, shift: i32) -> i64 {
    Timestamp::from_millisecond(ms)
        .ok()
        .and_then(|t| {
            let z = t.to_zoned_datetime(tz.clone());
            let first = (z.month() - 1) / months * months + 1;
            let d = jiff::civil::date(z.year(), first, 1);
            let d = d.checked_add(jiff::Span::new().months(i64::from(shift) * i64::from(months))).ok()?;
            d.to_zoned_datetime(tz.clone()).ok()
        })
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(ms)
}

/// Current time as epoch milliseconds.
pub fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jiff_ms(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn calendar_periods_by_hand() {
        let t = jiff_ms("2026-11-17T15:00:00Z");
        let paris: TimeZone = TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(start_of_period(t, &TimeZone::UTC, 1, 0), jiff_ms("2026-11-01T00:00:00Z"));
        assert_eq!(start_of_period(t, &TimeZone::UTC, 1, -1), jiff_ms("2026-10-01T00:00:00Z"));
        assert_eq!(start_of_period(t, &TimeZone::UTC, 3, 0), jiff_ms("2026-10-01T00:00:00Z"));
        assert_eq!(start_of_period(t, &TimeZone::UTC, 3, -1), jiff_ms("2026-07-01T00:00:00Z"));
        // Local midnight: Paris is UTC+2 on 1 October (summer time).
        assert_eq!(start_of_period(t, &paris, 3, 0), jiff_ms("2026-09-30T22:00:00Z"));
        assert_eq!(
            start_of_period(jiff_ms("2026-02-10T00:00:00Z"), &TimeZone::UTC, 3, -1),
            jiff_ms("2025-10-01T00:00:00Z")
        );
    }

    #[test]
    fn offsets_out_of_range_are_not_times() {
        for bad in ["2026-10-01T08:00:00+99:99", "2026-10-01T08:00:00+19:00", "2026-10-01T08:00:00-05:60"] {
            assert_eq!(parse_ts_str(bad), None, "{bad}");
        }
        assert_eq!(parse_ts_str("2026-10-01T08:00:00+18:00"), parse_ts_str("2026-09-30T14:00:00Z"));
        assert_eq!(parse_ts_str("2026-10-01T08:00:00-0530"), parse_ts_str("2026-10-01T13:30:00Z"));
    }

    #[test]
    fn parses_rfc3339_variants() {
        assert_eq!(parse_ts_str("2026-10-01T08:00:00.123Z"), Some(jiff_ms("2026-10-01T08:00:00.123Z")));
        assert_eq!(parse_ts_str("2026-10-01T08:00:00Z"), Some(jiff_ms("2026-10-01T08:00:00Z")));
        assert_eq!(parse_ts_str("2026-10-01T10:00:00+02:00"), Some(jiff_ms("2026-10-01T08:00:00Z")));
        assert_eq!(parse_ts_str("2026-10-01T03:30:00-0430"), Some(jiff_ms("2026-10-01T08:00:00Z")));
        assert_eq!(parse_ts_str("2024-02-29T23:59:59.999999Z"), Some(jiff_ms("2024-02-29T23:59:59.999Z")));
    }

    #[test]
    fn parses_zone_less_as_utc() {
        assert_eq!(parse_ts_str("2025-01-24 09:20:46.847371"), Some(jiff_ms("2025-01-24T09:20:46.847Z")));
        assert_eq!(parse_ts_str("2025-01-24T09:20:46"), Some(jiff_ms("2025-01-24T09:20:46Z")));
    }

    #[test]
    fn parses_epoch_numbers_by_magnitude() {
        let ms = jiff_ms("2025-01-20T22:08:54Z");
        assert_eq!(epoch_number_to_ms(1737410934.0), Some(ms));
        assert_eq!(epoch_number_to_ms(1737410934000.0), Some(ms));
        assert_eq!(epoch_int_to_ms(1737410934000000), Some(ms));
        assert_eq!(epoch_int_to_ms(1737410934000000000), Some(ms));
        assert_eq!(parse_ts_str("1737410934"), Some(ms));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["", "yesterday", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-10-01T25:00:00Z", "0"] {
            assert_eq!(parse_ts_str(bad), None, "{bad}");
        }
        assert_eq!(epoch_number_to_ms(f64::NAN), None);
        assert_eq!(epoch_number_to_ms(-5.0), None);
    }

    #[test]
    fn bounds_respect_time_zone() {
        let paris = resolve_tz(Some("Europe/Paris")).unwrap();
        let start = parse_bound("2026-10-01", &paris, 0, false).unwrap();
        assert_eq!(start, jiff_ms("2026-09-30T22:00:00Z"));
        let end = parse_bound("2026-10-31", &paris, 0, true).unwrap();
        // DST ends on 2026-10-25, so the end of Oct 31 is 23:00 UTC.
        assert_eq!(end, jiff_ms("2026-10-31T23:00:00Z"));
        assert_eq!(parse_bound("7d", &paris, 10 * MS_PER_DAY, false).unwrap(), 3 * MS_PER_DAY);
        assert!(parse_bound("soon", &paris, 0, false).is_err());
    }

    #[test]
    fn whole_hour_zones_are_detected() {
        let from = jiff_ms("2026-01-01T00:00:00Z");
        let to = jiff_ms("2026-12-31T00:00:00Z");
        assert!(tz_is_whole_hour(&TimeZone::UTC, from, to));
        assert!(tz_is_whole_hour(&resolve_tz(Some("America/New_York")).unwrap(), from, to));
        assert!(!tz_is_whole_hour(&resolve_tz(Some("Asia/Kolkata")).unwrap(), from, to));
        assert!(resolve_tz(Some("Mars/Olympus")).is_err());
    }
}
