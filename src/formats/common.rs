//! Building blocks shared by the format parsers: tolerant scalar
//! deserializers (token counts, timestamps, ids), attribution fields, and the
//! checks every record goes through.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::value::RawValue;
use xxhash_rust::xxh3::xxh3_64;

use crate::domain::dims::Dimension;
use crate::domain::money::Nanos;
use crate::domain::record::{CallRecord, Status, Tag, Tokens, Warning};
use crate::domain::sanitize;
use crate::domain::time;

/// The largest token count accepted for one class of one call. Anything
/// above is a broken log (no model reads or writes 100M tokens in a call).
pub const MAX_TOKENS: u64 = 100_000_000;

/// The longest attribution or model string kept; longer values are cut.
pub const MAX_DIM_LEN: usize = 200;

/// A token count: accepts integers, integral floats (`12.0`) and numeric
/// strings (`"12"`, as OTLP writes int64). Rejects negative, fractional,
/// non-finite and absurd values with a message that says which.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenCount(pub u64);

impl<'de> Deserialize<'de> for TokenCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TokenCount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a non-negative integer token count")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<TokenCount, E> {
                if v > MAX_TOKENS {
                    return Err(E::custom(format_args!("absurd token count {v} (more than {MAX_TOKENS} in one call)")));
                }
                Ok(TokenCount(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<TokenCount, E> {
                if v < 0 {
                    return Err(E::custom(format_args!("negative token count {v}")));
                }
                self.visit_u64(v as u64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<TokenCount, E> {
                if !v.is_finite() || v < 0.0 || v.fract() != 0.0 {
                    return Err(E::custom(format_args!("invalid token count {v}")));
                }
                if v > MAX_TOKENS as f64 {
                    return Err(E::custom(format_args!("absurd token count {v}")));
                }
                Ok(TokenCount(v as u64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TokenCount, E> {
                let t = v.trim();
                if let Ok(n) = t.parse::<i64>() {
                    return self.visit_i64(n);
                }
                match t.parse::<f64>() {
                    Ok(f) => self.visit_f64(f),
                    Err(_) => {
                        Err(E::custom(format_args!("invalid token count \"{}\"", sanitize::clean_truncated(v, 40))))
                    }
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A serde error as a reject reason: syntax errors say "invalid JSON".
pub fn json_error(e: serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof => format!("invalid JSON: {e}"),
        Category::Data | Category::Io => e.to_string(),
    }
}

/// Token count field helper: `None` and JSON `null` both mean zero.
pub fn tc(v: Option<TokenCount>) -> u64 {
    v.map(|t| t.0).unwrap_or(0)
}

/// The uncached part of a prompt count that includes cache reads and
/// writes (OpenAI, LiteLLM, OTel): `prompt − cached − written`, 0 when the
/// cache counts exceed the prompt (LiteLLM's rule: the cache counts are
/// billed as logged), with a flag that the counts contradict each other.
pub fn uncached_part(prompt: u64, cached: u64, written: u64) -> (u64, bool) {
    match prompt.checked_sub(cached.saturating_add(written)) {
        Some(u) => (u, false),
        None => (0, true),
    }
}

/// Cache writes split by TTL: the 1-hour count when the producer gives it
/// (at most the writes), the rest 5-minute writes.
pub fn split_writes(written: u64, one_hour: Option<u64>) -> (u64, u64) {
    let h1 = one_hour.unwrap_or(0).min(written);
    (written - h1, h1)
}

/// A timestamp given as an RFC 3339 / ISO string or an epoch number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TsValue(pub i64);

impl<'de> Deserialize<'de> for TsValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TsValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a timestamp (RFC 3339 string or epoch number)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<TsValue, E> {
                self.visit_i64(v.min(i64::MAX as u64) as i64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<TsValue, E> {
                time::epoch_int_to_ms(v)
                    .map(TsValue)
                    .ok_or_else(|| E::custom(format_args!("timestamp {v} is out of range")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<TsValue, E> {
                time::epoch_number_to_ms(v)
                    .map(TsValue)
                    .ok_or_else(|| E::custom(format_args!("timestamp {v} is out of range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TsValue, E> {
                time::parse_ts_str(v).map(TsValue).ok_or_else(|| {
                    E::custom(format_args!("invalid timestamp \"{}\"", sanitize::clean_truncated(v, 40)))
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A non-negative number of milliseconds (latency), as integer, float or
/// numeric string. Negative or non-finite values are dropped, not fatal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Millis(pub Option<u64>);

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Millis;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration in milliseconds")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Millis, E> {
                Ok(Millis(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Millis, E> {
                Ok(Millis((v >= 0).then_some(v as u64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Millis, E> {
                Ok(Millis((v.is_finite() && v >= 0.0).then(|| v.round() as u64)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Millis, E> {
                match v.trim().parse::<f64>() {
                    Ok(f) => self.visit_f64(f),
                    Err(_) => Ok(Millis(None)),
                }
            }
            fn visit_unit<E: de::Error>(self) -> Result<Millis, E> {
                Ok(Millis(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A JSON string, borrowed from the line when it has no escapes. (serde
/// borrows a bare `Cow<str>` field marked `borrow`, but an
/// `Option<Cow<str>>` is always copied: this type borrows in both.)
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor { numbers: false }).map(Text)
    }
}

/// Strings borrowed where they can be; with `numbers`, scalars written
/// as numbers or booleans too ([`FlexStr`]).
struct StrVisitor {
    numbers: bool,
}

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(if self.numbers { "a string or a number" } else { "a string" })
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Cow<'de, str>, E> {
        self.scalar(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Cow<'de, str>, E> {
        self.scalar(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Cow<'de, str>, E> {
        self.scalar(v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Cow<'de, str>, E> {
        self.scalar(v)
    }
}

impl StrVisitor {
    fn scalar<'de, E: de::Error>(self, v: impl fmt::Display) -> Result<Cow<'de, str>, E> {
        if self.numbers {
            Ok(Cow::Owned(v.to_string()))
        } else {
            Err(E::invalid_type(de::Unexpected::Other(&v.to_string()), &self))
        }
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// A string-like identifier that some producers write as a number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlexStr<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for FlexStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrVisitor { numbers: true }).map(FlexStr)
    }
}

impl FlexStr<'_> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A reported cost in USD, as a float or numeric string. A value that is
/// negative, above [`MAX_REPORTED_USD`] or not a number is `invalid`: the
/// call is kept, the cost left out, and a warning recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct UsdValue {
    pub value: Option<Nanos>,
    pub invalid: bool,
}

/// The largest reported cost of one call taken as real.
pub const MAX_REPORTED_USD: i64 = 1_000_000;

impl UsdValue {
    fn of(n: Option<Nanos>) -> UsdValue {
        match n {
            Some(n) if n.0 >= 0 && n.0 <= MAX_REPORTED_USD * 1_000_000_000 => {
                UsdValue { value: Some(n), invalid: false }
            }
            _ => UsdValue { value: None, invalid: true },
        }
    }

    /// A cost from its JSON text: a number is read digit by digit (exact,
    /// no float in between: this runs once per logged call), a string as a
    /// decimal, null as absent. Other JSON types are an error naming `field`.
    pub fn from_raw(raw: &RawValue, field: &str) -> Result<UsdValue, String> {
        let t = sanitize::trim(raw.get());
        match t.as_bytes().first() {
            Some(b'-' | b'0'..=b'9') => Ok(UsdValue::of(Nanos::from_usd_text(t))),
            Some(b'"') => serde_json::from_str::<UsdValue>(t).map_err(json_error),
            Some(b'n') => Ok(UsdValue::default()),
            _ => Err(format!("\"{field}\" is not a cost in USD (expected a number or a numeric string)")),
        }
    }
}

/// The reported cost of a call and its warning bits.
pub fn reported_cost(v: Option<UsdValue>) -> (Option<Nanos>, u32) {
    match v {
        Some(u) => (u.value, if u.invalid { Warning::ReportedCost.bit() } else { 0 }),
        None => (None, 0),
    }
}

impl<'de> Deserialize<'de> for UsdValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UsdValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a cost in USD")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<UsdValue, E> {
                Ok(UsdValue::of(Nanos::from_usd_f64(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<UsdValue, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<UsdValue, E> {
                self.visit_f64(v as f64)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<UsdValue, E> {
                Ok(UsdValue::of(Nanos::from_usd_text(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<UsdValue, E> {
                Ok(UsdValue::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// Cleans an attribution or model string: strips control characters and
/// escape sequences, trims, caps the length; empty becomes `None`.
pub fn dim(s: Option<&str>) -> Option<String> {
    dim_as(s)
}

/// [`dim`] into any string type (a [`Tag`] is held in place when short).
pub fn dim_as<T: for<'s> From<&'s str> + FromIterator<char>>(s: Option<&str>) -> Option<T> {
    let s = s?;
    // The common case: printable ASCII, short, without spaces around it,
    // so cleaning and trimming would change nothing.
    let b = s.as_bytes();
    if let (Some(&first), Some(&last)) = (b.first(), b.last())
        && first != b' '
        && last != b' '
        && b.len() <= MAX_DIM_LEN
        && sanitize::is_printable_ascii(s)
    {
        return Some(T::from(s));
    }
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let c = sanitize::clean(s);
    let c = c.trim();
    if c.is_empty() {
        return None;
    }
    if c.len() > MAX_DIM_LEN && c.chars().count() > MAX_DIM_LEN {
        Some(c.chars().take(MAX_DIM_LEN).collect())
    } else {
        Some(T::from(c))
    }
}

/// Attribution gathered from the many places a log can carry it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dims {
    /// Values of the settable dimensions, in [`Dimension::SETTABLE`] order.
    values: [Option<String>; Dimension::SETTABLE.len()],
    pub session_id: Option<String>,
    pub trace_id: Option<String>,
    pub tags: Vec<(Tag, Tag)>,
}

impl Dims {
    /// The value gathered for a settable dimension.
    #[cfg(test)]
    pub fn get(&self, d: Dimension) -> Option<&str> {
        let i = Dimension::SETTABLE.iter().position(|x| *x == d)?;
        self.values[i].as_deref()
    }

    /// Sets a dimension by name (any of its log keys) if it is still
    /// empty; unknown names become free tags (the first value of a tag
    /// wins).
    pub fn offer(&mut self, key: &str, value: &str) {
        let slot = match Dimension::for_log_key(key) {
            Some(d) => {
                let i = Dimension::SETTABLE.iter().position(|x| *x == d).unwrap_or(0);
                &mut self.values[i]
            }
            None => match key {
                "session_id" | "session" | "conversation_id" => &mut self.session_id,
                "trace_id" | "traceid" => &mut self.trace_id,
                _ => {
                    // Prompt and completion text, and long text of any
                    // kind, are not attribution: never kept.
                    if !crate::domain::privacy::keep_tag(key, value) {
                        return;
                    }
                    if let Some(k) = dim_as::<Tag>(Some(key))
                        && !self.tags.iter().any(|(tk, _)| *tk == k)
                        && let Some(v) = dim_as::<Tag>(Some(value))
                    {
                        if self.tags.capacity() == 0 {
                            // Allocated at its usual size at once (growing
                            // from nothing costs more, on every line).
                            self.tags = Vec::with_capacity(4);
                        }
                        self.tags.push((k, v));
                    }
                    return;
                }
            },
        };
        // The first value offered wins: later ones are not even cleaned.
        if slot.is_none() {
            *slot = dim(Some(value));
        }
    }

    /// Absorbs a JSON object of scalar values (a `tags` or `metadata`
    /// object); a JSON string holding such an object is decoded first.
    /// Arrays of `key:value` strings are accepted as well. Nested objects
    /// and other shapes are ignored.
    pub fn absorb_json(&mut self, raw: &RawValue) {
        if let Ok(tags) = serde_json::from_str::<Tags>(raw.get()) {
            self.absorb_tags(tags);
        }
    }

    /// [`Dims::absorb_json`] of a value already read (by the line's own
    /// parse: the object is not scanned a second time).
    pub fn absorb_tags(&mut self, tags: Tags) {
        match tags {
            Tags::Members(m) => self.absorb_members(m),
            Tags::Items(Some(items)) => self.absorb_items(items),
            Tags::Text(t) => {
                // A JSON string holding an object or an array of tags
                // (only those: not a string in a string).
                if let Ok(inner @ (Tags::Members(_) | Tags::Items(_))) = serde_json::from_str::<Tags>(&t) {
                    self.absorb_tags(inner);
                }
            }
            Tags::Items(None) | Tags::Other => {}
        }
    }

    fn absorb_members(&mut self, mut members: Vec<(Text, &RawValue)>) {
        // In key order, the last of a repeated key winning: what a map
        // would hold, without building one.
        members.sort_by(|a, b| a.0.0.cmp(&b.0.0));
        for (i, (k, v)) in members.iter().enumerate() {
            if members.get(i + 1).is_some_and(|next| next.0.0 == k.0) {
                continue;
            }
            if let Some(s) = scalar_text(v) {
                self.offer(k, &s);
            }
        }
    }

    fn absorb_items(&mut self, items: Vec<Cow<str>>) {
        for item in items {
            if let Some((k, v)) = item.split_once(':').or_else(|| item.split_once('=')) {
                self.offer(k.trim(), v.trim());
            }
        }
    }

    /// Copies the dimensions into a record (fields already set win).
    pub fn apply_to(mut self, rec: &mut CallRecord) {
        for (d, v) in Dimension::SETTABLE.into_iter().zip(std::mem::take(&mut self.values)) {
            if let Some(slot) = d.slot(rec) {
                fill(slot, v);
            }
        }
        fill(&mut rec.session_id, self.session_id);
        fill(&mut rec.trace_id, self.trace_id);
        if rec.tags.is_empty() {
            // Keys are already distinct: the vector moves over whole.
            rec.tags = std::mem::take(&mut self.tags);
        } else {
            for (k, v) in self.tags.drain(..) {
                if !rec.tags.iter().any(|(rk, _)| *rk == k) {
                    rec.tags.push((k, v));
                }
            }
        }
        rec.tags.sort();
    }
}

fn fill(slot: &mut Option<String>, v: Option<String>) {
    if slot.is_none() {
        *slot = v;
    }
}

/// A `tags` (or `metadata`) value as a line's parse reads it, for
/// [`Dims::absorb_tags`]: any JSON value is accepted.
pub enum Tags<'a> {
    /// An object's members in document order, values unparsed.
    Members(Vec<(Text<'a>, &'a RawValue)>),
    /// An array: its strings, or `None` when an item is not a string.
    Items(Option<Vec<Cow<'a, str>>>),
    /// A string (that may hold JSON).
    Text(Cow<'a, str>),
    /// A number, a boolean or null.
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Tags<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        /// An array item: its text when it is a string.
        struct Item<'a>(Option<Cow<'a, str>>);
        impl<'de: 'a, 'a> Deserialize<'de> for Item<'a> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = <&'a RawValue>::deserialize(d)?;
                Ok(Item(v.get().starts_with('"').then(|| scalar_text(v)).flatten()))
            }
        }
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Tags<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("tags")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<Tags<'a>, A::Error> {
                let mut v = Vec::with_capacity(8);
                while let Some(kv) = m.next_entry::<Text<'a>, &'a RawValue>()? {
                    v.push(kv);
                }
                Ok(Tags::Members(v))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut s: A) -> Result<Tags<'a>, A::Error> {
                let mut items = Some(Vec::new());
                while let Some(Item(item)) = s.next_element::<Item<'a>>()? {
                    match (item, items.as_mut()) {
                        (Some(t), Some(all)) => all.push(t),
                        _ => items = None,
                    }
                }
                Ok(Tags::Items(items))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Tags<'a>, E> {
                Ok(Tags::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Tags<'a>, E> {
                Ok(Tags::Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Tags<'a>, E> {
                Ok(Tags::Text(Cow::Owned(v)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Tags<'a>, E> {
                Ok(Tags::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Tags<'a>, E> {
                Ok(Tags::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Tags<'a>, E> {
                Ok(Tags::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Tags<'a>, E> {
                Ok(Tags::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Tags<'a>, E> {
                Ok(Tags::Other)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The text of a scalar JSON value (strings unquoted, numbers and bools as
/// written); `None` for null, objects and arrays.
pub fn scalar_text(v: &RawValue) -> Option<Cow<'_, str>> {
    let t = sanitize::trim(v.get());
    match t.as_bytes().first()? {
        // Valid JSON (a raw value is) without a backslash: the text
        // between the quotes is the string.
        b'"' if t.len() >= 2 && memchr::memchr(b'\\', t.as_bytes()).is_none() => {
            Some(Cow::Borrowed(&t[1..t.len() - 1]))
        }
        b'"' => serde_json::from_str::<Text>(t).ok().map(|c| c.0),
        b'{' | b'[' | b'n' => None,
        _ => Some(Cow::Borrowed(t)),
    }
}

/// Interprets a status value (`"ok"`, `"success"`, `"error"`, an HTTP code).
pub fn status_from_raw(raw: Option<&RawValue>) -> Status {
    let Some(raw) = raw else { return Status::Ok };
    let Some(t) = scalar_text(raw) else { return Status::Ok };
    status_from_text(&t)
}

pub fn status_from_text(t: &str) -> Status {
    const ERRORS: [&str; 9] =
        ["error", "failed", "failure", "fail", "errored", "cancelled", "canceled", "expired", "timeout"];
    let t = sanitize::trim(t);
    if let Ok(code) = t.parse::<u32>() {
        return if code >= 400 { Status::Error } else { Status::Ok };
    }
    // Compared without a lowercased copy: a status is read per call.
    if ERRORS.iter().any(|e| t.eq_ignore_ascii_case(e)) { Status::Error } else { Status::Ok }
}

/// The version of the dedupe identity (stored in the ledger's `meta`):
/// 2 hashes ids byte for byte and id-less lines as canonical JSON.
pub const DEDUPE_SCHEME: i64 = 2;

/// The dedupe key: a 64-bit hash of a natural id exactly as logged (every
/// byte: ids that differ by an escape, a space or after 200 characters are
/// different calls), namespaced so that ids of different kinds never
/// collide; or, for a line without an id, of the line's canonical JSON
/// (keys sorted, no whitespace), so the same object written compactly or
/// spaced is one call.
pub fn dedupe_key(namespace: &str, id: Option<&str>, line: &[u8]) -> i64 {
    match id {
        Some(id) if !id.is_empty() => {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            h.update(namespace.as_bytes());
            h.update(&[0]);
            h.update(id.as_bytes());
            h.digest() as i64
        }
        _ => match serde_json::from_slice::<serde_json::Value>(trim_ascii(line)) {
            // serde_json's maps are ordered by key: this is canonical.
            Ok(v) => xxh3_64(v.to_string().as_bytes()) as i64,
            Err(_) => xxh3_64(trim_ascii(line)) as i64,
        },
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !c.is_ascii_whitespace()).map(|i| i + 1).unwrap_or(start);
    &b[start..end]
}

/// Infers the provider from a model name when the log does not say.
pub fn infer_provider(model: &str) -> Option<&'static str> {
    let m = model.rsplit('/').next().unwrap_or(model).to_ascii_lowercase();
    let m = m.trim_start_matches("ft:");
    if m.starts_with("gpt-")
        || m.starts_with("o1")
        || m.starts_with("o3")
        || m.starts_with("o4")
        || m.starts_with("chatgpt")
        || m.starts_with("text-embedding")
        || m.starts_with("davinci")
        || m.starts_with("codex")
    {
        Some("openai")
    } else if m.starts_with("claude") || m.contains("anthropic.claude") {
        Some("anthropic")
    } else if m.starts_with("gemini") || m.starts_with("gemma") {
        Some("google")
    } else if m.starts_with("mistral") || m.starts_with("mixtral") || m.starts_with("codestral") {
        Some("mistral")
    } else if m.starts_with("llama") || m.contains("meta.llama") {
        Some("meta")
    } else if m.starts_with("deepseek") {
        Some("deepseek")
    } else if m.starts_with("grok") {
        Some("xai")
    } else if m.starts_with("command") {
        Some("cohere")
    } else {
        None
    }
}

/// Checks a record's invariants before it leaves a parser.
/// The longest latency taken as real: a day.
pub const MAX_LATENCY_MS: u64 = 86_400_000;

/// Keeps a call whose fields are out of range, leaving those fields out
/// and recording a warning on it.
pub fn bound_ranges(rec: &mut CallRecord) {
    if rec.latency_ms.is_some_and(|l| l > MAX_LATENCY_MS) {
        rec.latency_ms = None;
        rec.warnings |= Warning::Latency.bit();
    }
}

pub fn validate(rec: &CallRecord) -> Result<(), String> {
    if rec.model.is_empty() {
        return Err("missing model".into());
    }
    let t: &Tokens = &rec.tokens;
    if t.reasoning > t.output {
        return Err(format!("reasoning tokens ({}) exceed output tokens ({})", t.reasoning, t.output));
    }
    if t.input_total() > 4 * MAX_TOKENS || t.output > MAX_TOKENS {
        return Err("absurd token totals".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_text_fields_borrow_from_the_line_unless_escaped() {
        #[derive(Deserialize)]
        struct L<'a> {
            #[serde(borrow)]
            a: Option<Text<'a>>,
            #[serde(borrow)]
            b: Option<Text<'a>>,
        }
        let l: L = serde_json::from_str(r#"{"a":"plain","b":"with \"quotes\""}"#).unwrap();
        assert!(matches!(l.a.as_ref().map(|t| &t.0), Some(Cow::Borrowed("plain"))));
        assert!(matches!(l.b.as_ref().map(|t| &t.0), Some(Cow::Owned(s)) if s == "with \"quotes\""));
        let e = serde_json::from_str::<L>(r#"{"a":5}"#).err().unwrap().to_string();
        assert!(e.contains("expected a string"), "{e}");
    }

    #[derive(Deserialize)]
    struct T {
        n: TokenCount,
    }

    fn n(json: &str) -> Result<u64, String> {
        serde_json::from_str::<T>(json).map(|t| t.n.0).map_err(|e| e.to_string())
    }

    #[test]
    fn token_counts_are_strict_but_tolerant_of_encodings() {
        assert_eq!(n(r#"{"n":12}"#), Ok(12));
        assert_eq!(n(r#"{"n":12.0}"#), Ok(12));
        assert_eq!(n(r#"{"n":"12"}"#), Ok(12));
        assert!(n(r#"{"n":-5}"#).unwrap_err().contains("negative token count -5"));
        assert!(n(r#"{"n":1.5}"#).unwrap_err().contains("invalid token count"));
        assert!(n(r#"{"n":5000000000}"#).unwrap_err().contains("absurd token count"));
        assert!(n(r#"{"n":"lots"}"#).unwrap_err().contains("invalid token count"));
        assert!(n(r#"{"n":true}"#).is_err());
        assert!(n(r#"{"n":NaN}"#).is_err());
    }

    #[test]
    fn dims_lift_known_keys_and_keep_the_rest_as_tags() {
        let mut d = Dims::default();
        let raw: Box<RawValue> = RawValue::from_string(
            r#"{"workflow":"support","team_alias":"CX","env":"prod","retries":2,"nested":{"a":1}}"#.into(),
        )
        .unwrap();
        d.absorb_json(&raw);
        assert_eq!(d.get(Dimension::Workflow), Some("support"));
        assert_eq!(d.get(Dimension::Team), Some("CX"));
        assert_eq!(d.tags, vec![("env".into(), "prod".into()), ("retries".into(), "2".into())]);
    }

    #[test]
    fn an_object_is_read_in_key_order_with_the_last_of_a_repeated_key() {
        let mut d = Dims::default();
        // `team_alias` sorts before `team_name`: its value wins although it
        // comes later; of the two `env`, the last one is the object's.
        let raw: Box<RawValue> = RawValue::from_string(
            r#"{"team_name":"B","team_alias":"A","env":"dev","zone":"z\u00e9\"q","env":"prod","n":1.50,"on":true,"nil":null}"#
                .into(),
        )
        .unwrap();
        d.absorb_json(&raw);
        assert_eq!(d.get(Dimension::Team), Some("A"));
        assert_eq!(
            d.tags,
            vec![
                ("env".into(), "prod".into()),
                ("n".into(), "1.50".into()),
                ("on".into(), "true".into()),
                ("zone".into(), "z\u{e9}\"q".into()),
            ]
        );
    }

    #[test]
    fn dims_decode_json_strings_and_tag_lists() {
        let mut d = Dims::default();
        let raw: Box<RawValue> =
            RawValue::from_string(r#""[\"workflow:contracts\", \"customer:acme\"]""#.into()).unwrap();
        d.absorb_json(&raw);
        assert_eq!(d.get(Dimension::Workflow), Some("contracts"));
        assert_eq!(d.get(Dimension::Customer), Some("acme"));
    }

    #[test]
    fn dims_are_sanitized() {
        assert_eq!(dim(Some("  \u{1b}[31mevil\u{1b}[0m ")), Some("evil".into()));
        assert_eq!(dim(Some("   ")), None);
        assert_eq!(dim(Some(&"x".repeat(500))).unwrap().len(), MAX_DIM_LEN);
        // Printable ASCII is taken as it is, up to the length limit.
        assert_eq!(dim(Some(&"y".repeat(MAX_DIM_LEN))).unwrap().len(), MAX_DIM_LEN);
        assert_eq!(dim(Some(&"y".repeat(MAX_DIM_LEN + 1))).unwrap().len(), MAX_DIM_LEN);
        assert_eq!(dim(Some("acme corp ~1")), Some("acme corp ~1".into()));
        assert_eq!(dim(Some(" acme ")), Some("acme".into()));
        assert_eq!(dim(Some("acme\u{7f}")), Some("acme".into()));
        assert_eq!(dim(Some("acme\u{1b}[2J")), Some("acme".into()));
        assert_eq!(dim(Some("\u{202e}acme")), Some("acme".into()));
        assert_eq!(dim(Some("")), None);
    }

    #[test]
    fn dedupe_keys_are_stable_and_namespaced() {
        let a = dedupe_key("openai", Some("chatcmpl-1"), b"x");
        assert_eq!(a, dedupe_key("openai", Some("chatcmpl-1"), b"y"));
        assert_ne!(a, dedupe_key("anthropic", Some("chatcmpl-1"), b"x"));
        assert_eq!(dedupe_key("x", None, b" {\"a\":1}\r"), dedupe_key("x", None, b"{\"a\":1}"));
        // The same object spaced out and in another key order is one call.
        assert_eq!(
            dedupe_key("x", None, br#"{"b": [1, 2], "a": {"y":1,"x":2}}"#),
            dedupe_key("x", None, br#"{"a":{"x":2,"y":1},"b":[1,2]}"#)
        );
        // Ids are exact: an escape, spaces or a difference after 200 characters make another call.
        assert_ne!(dedupe_key("x", Some("req-1"), b""), dedupe_key("x", Some("req\u{1b}[0m-1"), b""));
        assert_ne!(dedupe_key("x", Some("req-1"), b""), dedupe_key("x", Some(" req-1 "), b""));
        let long = "r".repeat(200);
        assert_ne!(dedupe_key("x", Some(&format!("{long}a")), b""), dedupe_key("x", Some(&format!("{long}b")), b""));
    }

    #[test]
    fn statuses() {
        assert_eq!(status_from_text("success"), Status::Ok);
        assert_eq!(status_from_text("failure"), Status::Error);
        assert_eq!(status_from_text("503"), Status::Error);
        assert_eq!(status_from_text("200"), Status::Ok);
        // Any case, spaces around; a word that only starts like one is not.
        assert_eq!(status_from_text(" TimeOut "), Status::Error);
        assert_eq!(status_from_text("Cancelled"), Status::Error);
        assert_eq!(status_from_text("errors"), Status::Ok);
        assert_eq!(status_from_text("+404"), Status::Error);
        assert_eq!(status_from_text(""), Status::Ok);
    }

    #[test]
    fn providers_are_inferred() {
        assert_eq!(infer_provider("gpt-4o-2024-08-06"), Some("openai"));
        assert_eq!(infer_provider("anthropic/claude-opus-4-5"), Some("anthropic"));
        assert_eq!(infer_provider("o3-mini"), Some("openai"));
        assert_eq!(infer_provider("mystery-model"), None);
    }
}
