//! Exact money.
//!
//! Costs are stored and summed as integer nano-dollars ([`Nanos`], 1e-9 USD).
//! Catalog prices are per-token amounts held as integer femto-dollars
//! (1e-15 USD) so that prices such as `1.875e-08` stay exact; a call's cost is
//! computed in femto-dollars with `i128` and rounded once, half away from
//! zero, to nano-dollars. Floats appear only at the edges (JSON output).

use std::fmt;

/// Nano-dollars per dollar.
pub const NANOS_PER_USD: i64 = 1_000_000_000;
/// Femto-dollars per nano-dollar.
pub const FEMTOS_PER_NANO: i128 = 1_000_000;
/// Scale of a femto-dollar amount (10^15 per dollar).
pub const FEMTO_SCALE: u32 = 15;

/// An amount of money in nano-dollars (1e-9 USD).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nanos(pub i64);

impl Nanos {
    pub const ZERO: Nanos = Nanos(0);

    /// Converts a dollar amount as logged (a float) to nano-dollars, rounding
    /// to the nearest nano-dollar. Returns `None` for NaN, infinities and
    /// amounts beyond ±$9e9.
    pub fn from_usd_f64(usd: f64) -> Option<Nanos> {
        if !usd.is_finite() || usd.abs() > 9.0e9 {
            return None;
        }
        // Go through the shortest round-trip decimal so that 0.1 becomes
        // exactly 100_000_000 nanos rather than a binary approximation
        // (written by `ryu` on the stack: a logged cost is read per line).
        let mut buf = ryu::Buffer::new();
        Nanos::from_usd_text(buf.format_finite(usd))
    }

    /// A dollar amount written as a decimal (`0.0048`, `4.8e-3`), exactly,
    /// rounded half away from zero to the nano-dollar. `None` for anything
    /// else or beyond the 64-bit range.
    pub fn from_usd_text(text: &str) -> Option<Nanos> {
        parse_decimal_scaled(text, 9).and_then(|v| i64::try_from(v).ok()).map(Nanos)
    }

    /// Dollars as a float, for JSON output only.
    pub fn to_usd_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_USD as f64
    }

    /// Rounds femto-dollars to nano-dollars, half away from zero.
    pub fn from_femtos(femtos: i128) -> Nanos {
        let q = femtos / FEMTOS_PER_NANO;
        let r = femtos % FEMTOS_PER_NANO;
        let adj = if r.abs() * 2 >= FEMTOS_PER_NANO { r.signum() } else { 0 };
        Nanos((q + adj).clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    }

    pub fn checked_add(self, other: Nanos) -> Option<Nanos> {
        self.0.checked_add(other.0).map(Nanos)
    }

    /// Formats as dollars with `decimals` places, rounding half away from
    /// zero, with thousands separators: `$41,800.00`.
    pub fn format_usd(self, decimals: u32) -> String {
        format_scaled(self.0 as i128, 9, decimals, true, "$")
    }

    /// Formats as a plain decimal number of dollars without separators or
    /// currency sign (for CSV): `41800.000000000`.
    pub fn format_plain(self, decimals: u32) -> String {
        format_scaled(self.0 as i128, 9, decimals, false, "")
    }
}

impl std::ops::Add for Nanos {
    type Output = Nanos;
    fn add(self, rhs: Nanos) -> Nanos {
        Nanos(self.0.saturating_add(rhs.0))
    }
}

impl std::ops::Sub for Nanos {
    type Output = Nanos;
    fn sub(self, rhs: Nanos) -> Nanos {
        Nanos(self.0.saturating_sub(rhs.0))
    }
}

impl std::ops::AddAssign for Nanos {
    fn add_assign(&mut self, rhs: Nanos) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl std::iter::Sum for Nanos {
    fn sum<I: Iterator<Item = Nanos>>(iter: I) -> Nanos {
        iter.fold(Nanos::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Nanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format_usd(2))
    }
}

/// Formats an integer `value` with `scale` implied decimal places using
/// `decimals` places, rounding half away from zero.
pub fn format_scaled(value: i128, scale: u32, decimals: u32, separators: bool, sign: &str) -> String {
    let decimals = decimals.min(scale);
    let drop = 10i128.pow(scale - decimals);
    let neg = value < 0;
    let abs = value.unsigned_abs() as i128;
    let mut q = abs / drop;
    if (abs % drop) * 2 >= drop && drop > 1 {
        q += 1;
    }
    let unit = 10i128.pow(decimals);
    let int_part = q / unit;
    let frac_part = q % unit;
    let int_s = if separators { group_thousands(&int_part.to_string()) } else { int_part.to_string() };
    let mut s = String::new();
    if neg && q != 0 {
        s.push('-');
    }
    s.push_str(sign);
    s.push_str(&int_s);
    if decimals > 0 {
        s.push('.');
        s.push_str(&format!("{:0width$}", frac_part, width = decimals as usize));
    }
    s
}

/// Inserts thousands separators into a string of ASCII digits.
pub fn group_thousands(digits: &str) -> String {
    let bytes = digits.as_bytes();
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && (bytes.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(*b as char);
    }
    out
}

/// Parses a decimal number in plain or scientific notation (`2.5e-06`,
/// `0.0048`, `-3`, `1E3`) into an integer scaled by `10^scale`, rounding half
/// away from zero when the text has more precision than the scale. Returns
/// `None` for anything that is not a finite decimal or that overflows.
pub fn parse_decimal_scaled(text: &str, scale: u32) -> Option<i128> {
    let s = crate::domain::sanitize::trim(text);
    let (neg, s) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if let Some(v) = plain_decimal(s, scale) {
        return Some(if neg { -v } else { v });
    }
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int_digits, frac_digits) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    if !int_digits.bytes().all(|b| b.is_ascii_digit()) || !frac_digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // digits * 10^(exp - frac_len) * 10^scale, the digits being the integer
    // and fraction digits side by side without their leading zeros (read
    // in place: a cost is parsed per log line).
    let all = || int_digits.bytes().chain(frac_digits.bytes()).skip_while(|b| *b == b'0');
    let len = all().count();
    let shift = exp as i64 - frac_digits.len() as i64 + scale as i64;
    if len == 0 {
        return Some(0);
    }
    let number = |n: usize| all().take(n).fold(0i128, |v, b| v * 10 + (b - b'0') as i128);
    let value: i128 = if shift >= 0 {
        if len as i64 + shift > 38 {
            return None;
        }
        number(len).checked_mul(10i128.checked_pow(shift as u32)?)?
    } else {
        let cut = (-shift) as usize;
        if cut > len + 1 {
            return Some(0);
        }
        let keep = len.saturating_sub(cut);
        if keep > 38 {
            return None;
        }
        // Round half away from zero on the first dropped digit (the one
        // immediately right of the kept digits).
        let first_dropped = if cut > len { 0 } else { all().nth(keep).map_or(0, |b| b - b'0') };
        number(keep) + (first_dropped >= 5) as i128
    };
    Some(if neg { -value } else { value })
}

/// [`parse_decimal_scaled`]'s common case, read in one pass: digits with at
/// most one `.`, at most 18 of them and no more after the point than the
/// scale. `None` sends anything else (an exponent, a sign, more digits, no
/// digit at all) the general way.
fn plain_decimal(s: &str, scale: u32) -> Option<i128> {
    let (mut v, mut digits, mut frac, mut point) = (0u64, 0u32, 0u32, false);
    for b in s.bytes() {
        match b {
            b'0'..=b'9' => {
                v = v * 10 + u64::from(b - b'0');
                digits += 1;
                frac += u32::from(point);
                if digits > 18 {
                    return None;
                }
            }
            b'.' if !point => point = true,
            _ => return None,
        }
    }
    if digits == 0 || frac > scale {
        return None;
    }
    i128::from(v).checked_mul(10i128.checked_pow(scale - frac)?)
}

/// An exact non-negative ratio used for price multipliers (`1.1`, `2.0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratio {
    pub num: i128,
    pub den: i128,
}

impl Ratio {
    pub const ONE: Ratio = Ratio { num: 1, den: 1 };

    /// Parses a decimal multiplier exactly (up to 9 decimal places).
    pub fn parse(text: &str) -> Option<Ratio> {
        let num = parse_decimal_scaled(text, 9)?;
        if num < 0 {
            return None;
        }
        Some(Ratio { num, den: 1_000_000_000 })
    }

    pub fn from_f64(v: f64) -> Option<Ratio> {
        if !v.is_finite() {
            return None;
        }
        Ratio::parse(&format!("{v:e}"))
    }

    /// Applies the ratio to a femto amount, rounding half away from zero.
    pub fn apply(self, femtos: i128) -> i128 {
        div_round(femtos * self.num, self.den)
    }
}

/// Integer division rounding half away from zero.
pub fn div_round(n: i128, d: i128) -> i128 {
    if d == 0 {
        return 0;
    }
    let q = n / d;
    let r = n % d;
    if r.abs() * 2 >= d.abs() { q + if (n < 0) != (d < 0) { -1 } else { 1 } } else { q }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortest decimal `ryu` writes reads as the one the standard
    /// library writes (`{:e}`), to the nano, over costs of every size.
    #[test]
    fn logged_costs_read_as_the_standard_shortest_decimal() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut values =
            vec![0.0, -0.0, 0.1, 0.2, 0.3, 1e-9, 5e-10, 4.999_999_999e-10, 1.5e-9, 0.004596, 123.456, 8.99e9, -0.37];
        for _ in 0..200_000 {
            // xorshift: a spread of magnitudes from 1e-12 to 9e9.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mantissa = (x >> 11) as f64 / (1u64 << 53) as f64;
            let exp = (x % 22) as i32 - 12;
            values.push(mantissa * 10f64.powi(exp) * if x & 1 == 0 { 1.0 } else { -1.0 });
        }
        for v in values {
            let std = parse_decimal_scaled(&format!("{v:e}"), 9).and_then(|n| i64::try_from(n).ok()).map(Nanos);
            assert_eq!(Nanos::from_usd_f64(v), std, "{v:e}");
        }
        assert_eq!(Nanos::from_usd_f64(0.1), Some(Nanos(100_000_000)));
        assert_eq!(Nanos::from_usd_f64(f64::NAN), None);
        assert_eq!(Nanos::from_usd_f64(9.1e9), None);
    }

    #[test]
    fn parses_catalog_style_decimals_exactly() {
        assert_eq!(parse_decimal_scaled("2.5e-06", 15), Some(2_500_000_000));
        assert_eq!(parse_decimal_scaled("1.875e-08", 15), Some(18_750_000));
        assert_eq!(parse_decimal_scaled("3e-07", 15), Some(300_000_000));
        assert_eq!(parse_decimal_scaled("0.0048", 9), Some(4_800_000));
        assert_eq!(parse_decimal_scaled("-1.5", 2), Some(-150));
        assert_eq!(parse_decimal_scaled("1E3", 0), Some(1000));
        assert_eq!(parse_decimal_scaled("0", 15), Some(0));
        assert_eq!(parse_decimal_scaled(".5", 1), Some(5));
        // Rounding on excess precision: 0.0000000015 USD = 1.5 nanos -> 2.
        assert_eq!(parse_decimal_scaled("0.0000000015", 9), Some(2));
        assert_eq!(parse_decimal_scaled("0.0000000014", 9), Some(1));
        assert_eq!(parse_decimal_scaled("1e-30", 9), Some(0));
        // Leading zeros, a carry out of the rounding, half away from zero
        // below zero, trailing zeros against a negative exponent.
        assert_eq!(parse_decimal_scaled("000.00450", 9), Some(4_500_000));
        assert_eq!(parse_decimal_scaled("0.9999999995", 9), Some(1_000_000_000));
        assert_eq!(parse_decimal_scaled("-0.0000000005", 9), Some(-1));
        assert_eq!(parse_decimal_scaled("100e-2", 0), Some(1));
        assert_eq!(parse_decimal_scaled("0.00000000049", 9), Some(0));
        // 38 digits fit, 39 do not.
        assert_eq!(parse_decimal_scaled(&"9".repeat(38), 0), Some(10i128.pow(38) - 1));
        assert_eq!(parse_decimal_scaled(&"9".repeat(39), 0), None);
        assert_eq!(parse_decimal_scaled("1e36", 1), Some(10i128.pow(37)));
        assert_eq!(parse_decimal_scaled("1e37", 1), None);
        // More than 38 digits cut down to fewer is fine.
        assert_eq!(parse_decimal_scaled(&format!("0.{}", "1".repeat(45)), 9), Some(111_111_111));
    }

    #[test]
    fn plain_decimals_of_any_length_read_as_their_integer_parts_say() {
        // Integer and fraction parts put together by integer arithmetic,
        // around the 18 digits read in one pass and the scale's limit.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let int = (x >> 8) % 10u64.pow((x % 13) as u32);
            let width = (x >> 4) % 10; // 0..=9 fraction digits
            let frac = (x >> 20) % 10u64.pow(width as u32);
            let zeros = "0".repeat(((x >> 40) % 3) as usize);
            let text = if width == 0 {
                format!("{zeros}{int}")
            } else {
                format!("{zeros}{int}.{frac:0w$}", w = width as usize)
            };
            let want = i128::from(int) * 1_000_000_000 + i128::from(frac) * 10i128.pow(9 - width as u32);
            assert_eq!(parse_decimal_scaled(&text, 9), Some(want), "{text}");
            assert_eq!(parse_decimal_scaled(&format!("-{text}"), 9), Some(-want), "-{text}");
        }
        // Ten fraction digits: one is rounded away, half away from zero.
        assert_eq!(parse_decimal_scaled("1.0000000005", 9), Some(1_000_000_001));
        assert_eq!(parse_decimal_scaled("123456789012345678", 0), Some(123_456_789_012_345_678));
        assert_eq!(parse_decimal_scaled("1234567890123456789", 0), Some(1_234_567_890_123_456_789));
        assert_eq!(parse_decimal_scaled("5.", 2), Some(500));
        assert_eq!(parse_decimal_scaled(".", 2), None);
        assert_eq!(parse_decimal_scaled("+-5", 2), None);
    }

    #[test]
    fn rejects_non_decimals() {
        for bad in ["", "abc", "1.2.3", "NaN", "inf", "e5", "1e", "--1"] {
            assert_eq!(parse_decimal_scaled(bad, 9), None, "{bad}");
        }
    }

    #[test]
    fn float_usd_is_converted_via_shortest_decimal() {
        assert_eq!(Nanos::from_usd_f64(0.1), Some(Nanos(100_000_000)));
        assert_eq!(Nanos::from_usd_f64(0.00022500000000000002), Some(Nanos(225_000)));
        assert_eq!(Nanos::from_usd_f64(f64::NAN), None);
        assert_eq!(Nanos::from_usd_f64(f64::INFINITY), None);
    }

    #[test]
    fn femtos_round_half_away_from_zero() {
        assert_eq!(Nanos::from_femtos(1_499_999), Nanos(1));
        assert_eq!(Nanos::from_femtos(1_500_000), Nanos(2));
        assert_eq!(Nanos::from_femtos(-1_500_000), Nanos(-2));
        assert_eq!(Nanos::from_femtos(0), Nanos(0));
    }

    #[test]
    fn formats_dollars_with_rounding_and_separators() {
        assert_eq!(Nanos(41_800_000_000_000).format_usd(2), "$41,800.00");
        assert_eq!(Nanos(33_714_999).format_usd(4), "$0.0337");
        assert_eq!(Nanos(5_000_000).format_usd(2), "$0.01");
        assert_eq!(Nanos(4_999_999).format_usd(2), "$0.00");
        assert_eq!(Nanos(-1_234_567_890).format_usd(2), "-$1.23");
        assert_eq!(Nanos(123_456_789).format_plain(9), "0.123456789");
    }

    #[test]
    fn ratio_applies_exactly() {
        let r = Ratio::parse("1.1").unwrap();
        assert_eq!(r.apply(1_000_000), 1_100_000);
        assert_eq!(Ratio::from_f64(2.0).unwrap().apply(7), 14);
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(4, 3), 1);
    }
}
