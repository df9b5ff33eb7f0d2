//! The price catalog: LiteLLM's `model_prices_and_context_window.json`
//! (embedded from `assets/`, or a file named in the config), with private
//! models, overrides and aliases from `aifin.toml` on top.
//!
//! Model names resolve in this order; the first step that finds a priced
//! entry wins and its key is stored with the call:
//!
//! 1. an alias from `[pricing.aliases]` (then resolved as below);
//! 2. with the call's provider: `<provider>/<name>` exactly as logged, then
//!    case-insensitively (e.g. `together_ai/deepseek-ai/DeepSeek-V4-…`);
//! 3. the exact name (config entries first, then the catalog), then
//!    case-insensitively;
//! 4. a fine-tuned name `ft:<base>:<org>:<suffix>:<id>` from the catalog's
//!    `ft:<base>` entry (LiteLLM's rule), never from the base model;
//! 5. without routing prefixes (`openrouter/anthropic/x` → `x`);
//! 6. without a cloud region prefix (`us.`, `eu.`, `apac.`, `global.`, …);
//! 7. without a Bedrock vendor prefix and version (`anthropic.x-v1:0` → `x`);
//! 8. without a date or `latest` suffix (`-2024-08-06`, `-20250929`,
//!    `@20250929`, `-latest`);
//! 9. for Claude models the catalog no longer lists directly (retired
//!    models), the Bedrock entry `anthropic.<name>-v1:0`.
//!
//! A catalog entry that is an `alias_of` another is priced from its target.
//! When the call names its provider and the entry found belongs to another
//! provider (no entry of its own: `gemini-2.0-flash` logged by Gemini is
//! priced from Vertex's entry; a retired Claude model from Bedrock's), the
//! call is priced but marked a **price fallback**.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::entry::{EntryOrigin, PriceEntry};

/// The catalog shipped with aifin.
pub const EMBEDDED_CATALOG: &str = include_str!("../../assets/model_prices_and_context_window.json");
/// Where the embedded catalog came from.
pub const EMBEDDED_VERSION: &str = include_str!("../../assets/model_prices.VERSION");

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read price catalog '{path}': {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("price catalog '{path}' is not a JSON object of model entries: {message}")]
    Parse { path: String, message: String },
}

/// How a model name was resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    pub key: String,
    pub rule: &'static str,
    pub entry: Arc<PriceEntry>,
    /// The entry belongs to another provider than the call's.
    pub fallback: bool,
}

pub struct Catalog {
    raw: HashMap<String, &'static RawValue>,
    lower: HashMap<String, String>,
    config: HashMap<String, Map<String, Value>>,
    aliases: HashMap<String, String>,
    version: String,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("entries", &self.raw.len())
            .field("config_entries", &self.config.len())
            .field("version", &self.version)
            .finish()
    }
}

impl Catalog {
    /// The embedded catalog with no overrides.
    pub fn embedded() -> Catalog {
        Catalog::from_static(EMBEDDED_CATALOG, EMBEDDED_VERSION.trim().to_string(), "<embedded>")
            .expect("the embedded price catalog is valid JSON")
    }

    /// A catalog read from a file (leaked for the life of the process, as
    /// the embedded one is static).
    pub fn from_file(path: &str) -> Result<Catalog, CatalogError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| CatalogError::Read { path: path.to_string(), source })?;
        let text: &'static str = Box::leak(text.into_boxed_str());
        Catalog::from_static(text, format!("file {path}"), path)
    }

    fn from_static(text: &'static str, version: String, path: &str) -> Result<Catalog, CatalogError> {
        let raw: HashMap<String, &'static RawValue> = serde_json::from_str(text)
            .map_err(|e| CatalogError::Parse { path: path.to_string(), message: e.to_string() })?;
        let lower = raw.keys().map(|k| (k.to_ascii_lowercase(), k.clone())).collect();
        Ok(Catalog { raw, lower, config: HashMap::new(), aliases: HashMap::new(), version })
    }

    /// Adds private models / overrides (LiteLLM key vocabulary) and aliases.
    pub fn with_config(
        mut self,
        models: HashMap<String, Map<String, Value>>,
        aliases: HashMap<String, String>,
    ) -> Catalog {
        self.config = models;
        self.aliases = aliases;
        self
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The names of the catalog's entries, sorted.
    pub fn model_keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.raw.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    /// Every key any entry of the catalog uses (the vocabulary of price
    /// overrides).
    pub fn entry_keys(&self) -> std::collections::BTreeSet<String> {
        let mut keys = std::collections::BTreeSet::new();
        for raw in self.raw.values() {
            if let Ok(m) = serde_json::from_str::<Map<String, Value>>(raw.get()) {
                keys.extend(m.into_iter().map(|(k, _)| k));
            }
        }
        keys.insert(super::entry::MIN_CACHEABLE_KEY.to_string());
        keys
    }

    /// The entry stored under exactly this key (config merged over catalog);
    /// an `alias_of` entry is its target's (exact key, as LiteLLM reads it).
    pub fn entry(&self, key: &str) -> Option<PriceEntry> {
        let map = |k: &str| self.raw.get(k).and_then(|r| serde_json::from_str::<Map<String, Value>>(r.get()).ok());
        if !self.config.contains_key(key)
            && let Some(target) = map(key).and_then(|m| m.get("alias_of").and_then(Value::as_str).map(str::to_string))
            && target != key
            && let Some(t) = map(&target)
            && !t.contains_key("alias_of")
        {
            let mut e = PriceEntry::from_map(&target, &t, EntryOrigin::Catalog);
            e.alias = Some(key.to_string());
            return Some(e);
        }
        let cat = map(key);
        let conf = self.config.get(key);
        match (cat, conf) {
            (Some(mut c), Some(o)) => {
                for (k, v) in o {
                    c.insert(k.clone(), v.clone());
                }
                Some(PriceEntry::from_map(key, &c, EntryOrigin::CatalogWithOverrides))
            }
            (Some(c), None) => Some(PriceEntry::from_map(key, &c, EntryOrigin::Catalog)),
            (None, Some(o)) => Some(PriceEntry::from_map(key, o, EntryOrigin::Config)),
            (None, None) => None,
        }
    }

    fn priced(&self, key: &str) -> Option<PriceEntry> {
        self.entry(key).filter(PriceEntry::is_priced)
    }

    fn lookup_exact(&self, name: &str) -> Option<(String, PriceEntry)> {
        if let Some(e) = self.priced(name) {
            return Some((name.to_string(), e));
        }
        None
    }

    /// The entry under this key or its case-insensitive match, if priced.
    fn lookup_any_case(&self, name: &str) -> Option<(String, PriceEntry)> {
        if let Some(hit) = self.lookup_exact(name) {
            return Some(hit);
        }
        let k = self.lower.get(&name.to_ascii_lowercase())?;
        self.priced(k).map(|e| (k.clone(), e))
    }

    /// Resolves a model name (and optional provider) to a priced entry.
    pub fn resolve(&self, provider: Option<&str>, model: &str) -> Option<Resolution> {
        let model = model.trim();
        if model.is_empty() {
            return None;
        }
        let model = match self.aliases.get(model) {
            Some(target) => target.as_str(),
            None => model,
        };
        let call_provider = provider.map(str::to_ascii_lowercase);
        let found = |key: String, entry: PriceEntry, rule: &'static str| {
            let fallback = entry.origin != EntryOrigin::Config
                && call_provider.as_deref().is_some_and(|p| crosses_provider(p, entry.provider.as_deref()));
            let key = if entry.alias.is_some() { entry.key.clone() } else { key };
            Some(Resolution {
                key,
                rule: if entry.alias.is_some() { "alias of" } else { rule },
                entry: Arc::new(entry),
                fallback,
            })
        };
        // The config's own names first (a private model or an override).
        if self.config.contains_key(model)
            && let Some((k, e)) = self.lookup_exact(model)
        {
            return found(k, e, "exact");
        }
        // `openai/openai/gpt-5.5` (a repeated provider segment) is one prefix.
        let model = match &call_provider {
            Some(p) => {
                let dup = format!("{p}/");
                let mut m = model;
                while m.len() > 2 * dup.len()
                    && m[..dup.len()].eq_ignore_ascii_case(&dup)
                    && m[dup.len()..2 * dup.len()].eq_ignore_ascii_case(&dup)
                {
                    m = &m[dup.len()..];
                }
                m
            }
            None => model,
        };
        if let Some(p) = &call_provider {
            for prefix in provider_prefixes(p) {
                let carries = model.len() > prefix.len()
                    && model[..prefix.len()].eq_ignore_ascii_case(&prefix)
                    && model.as_bytes()[prefix.len()] == b'/';
                // A name that already carries the prefix is looked up as is
                // first (LiteLLM does not double it), then with it.
                if carries && let Some((k, e)) = self.lookup_any_case(model) {
                    return found(k, e, "exact");
                }
                if let Some((k, e)) = self.lookup_any_case(&format!("{prefix}/{model}")) {
                    return found(k, e, "provider prefix");
                }
            }
        }
        if let Some((k, e)) = self.lookup_exact(model) {
            return found(k, e, "exact");
        }
        let lower = model.to_ascii_lowercase();
        if let Some(k) = self.lower.get(&lower).cloned()
            && let Some(e) = self.priced(&k)
        {
            return found(k, e, "case-insensitive");
        }
        if lower.starts_with("ft:") {
            // LiteLLM's rule: drop the last three `:` fields.
            let base = strip_finetune(model)?;
            if let Some(p) = &call_provider {
                for prefix in provider_prefixes(p) {
                    if let Some((k, e)) = self.lookup_any_case(&format!("{prefix}/{base}")) {
                        return found(k, e, "fine-tuned: the ft:<base> entry");
                    }
                }
            }
            return self.lookup_any_case(&base).and_then(|(k, e)| found(k, e, "fine-tuned: the ft:<base> entry"));
        }
        let mut name = lower.clone();
        let steps: [(&'static str, fn(&str) -> Option<String>); 4] = [
            ("routing prefix removed", strip_routing_prefix),
            ("region prefix removed", strip_region_prefix),
            ("vendor prefix and version removed", strip_vendor_version),
            ("date suffix removed", strip_date_suffix),
        ];
        for (rule, step) in steps {
            if let Some(next) = step(&name) {
                name = next;
                if let Some(p) = &call_provider {
                    for prefix in provider_prefixes(p) {
                        if let Some((k, e)) = self.lookup_any_case(&format!("{prefix}/{name}")) {
                            return found(k, e, rule);
                        }
                    }
                }
                if let Some((k, e)) = self.lookup_any_case(&name) {
                    return found(k, e, rule);
                }
            }
        }
        // Repeat the date step: `-2025-01-31-preview` style names can carry
        // both a date and a suffix in either order.
        if let Some(next) = strip_date_suffix(&name)
            && let Some((k, e)) = self.lookup_exact(&next)
        {
            return found(k, e, "date suffix removed");
        }
        // A sister provider's entry (Gemini's API and Vertex price the same
        // models): priced, and marked a fallback.
        if let Some(p) = &call_provider {
            let sisters: &[&str] = match p.as_str() {
                "google" | "gemini" | "gcp.gemini" => &["vertex_ai"],
                "vertex_ai" | "gcp.vertex_ai" | "vertex" => &["gemini"],
                _ => &[],
            };
            for s in sisters {
                for n in [lower.as_str(), name.as_str()] {
                    if let Some((k, e)) = self.lookup_any_case(&format!("{s}/{n}")) {
                        return found(k, e, "another provider's entry");
                    }
                }
            }
        }
        if name.starts_with("claude") {
            for candidate in [format!("anthropic.{lower}-v1:0"), format!("anthropic.{name}-v1:0")] {
                if let Some((k, e)) = self.lookup_exact(&candidate) {
                    let mut r = found(k, e, "retired model, Bedrock price")?;
                    r.fallback = true;
                    return Some(r);
                }
            }
        }
        None
    }

    /// The catalog's entries of these modes that cannot price a token call,
    /// with the reason (sorted by key).
    pub fn unpriceable(&self, modes: &[&str]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (key, raw) in &self.raw {
            let Ok(map) = serde_json::from_str::<Map<String, Value>>(raw.get()) else { continue };
            if let Some(target) = map.get("alias_of").and_then(Value::as_str) {
                if self.entry(key).is_none_or(|e| e.alias.is_none()) {
                    out.push((key.clone(), format!("alias_of '{target}', which is not a priced catalog key")));
                }
                continue;
            }
            if !map.get("mode").and_then(Value::as_str).is_some_and(|m| modes.contains(&m)) {
                continue;
            }
            let Some(e) = self.entry(key) else { continue };
            if e.is_priced() {
                continue;
            }
            let costs: Vec<&String> = map.keys().filter(|k| k.contains("cost")).collect();
            let reason = if costs.is_empty() {
                "no price in the entry (LiteLLM prices it at $0)".to_string()
            } else if !e.slots.is_empty() && e.slots.iter().all(|s| s.variant.is_some()) {
                let tiers: Vec<String> = e.variants().iter().map(|v| v.label().to_string()).collect();
                format!("token prices only for the {} tier: standard calls are unpriced", tiers.join("/"))
            } else {
                let units: Vec<&str> = costs
                    .iter()
                    .map(|k| k.as_str())
                    .filter(|k| !k.starts_with("output_cost_per_token"))
                    .take(3)
                    .collect();
                format!("no per-token input price (priced by another unit: {})", units.join(", "))
            };
            out.push((key.clone(), reason));
        }
        out.sort();
        out
    }

    /// Catalog keys containing `needle` (for suggestions), shortest first.
    pub fn suggest(&self, needle: &str, limit: usize) -> Vec<String> {
        let n = needle.to_ascii_lowercase();
        let stem = strip_date_suffix(&n).unwrap_or(n);
        let mut hits: Vec<&String> =
            self.raw.keys().chain(self.config.keys()).filter(|k| k.to_ascii_lowercase().contains(&stem)).collect();
        hits.sort_by_key(|k| (k.len(), k.as_str()));
        hits.dedup();
        hits.into_iter().take(limit).cloned().collect()
    }
}

/// The catalog prefixes of a call's provider: LiteLLM's name for it (a
/// few SDKs and conventions spell it otherwise), else the name as logged.
fn provider_prefixes(provider: &str) -> Vec<String> {
    let known: &[&str] = match provider {
        "google" | "gemini" | "gcp.gemini" => &["gemini"],
        "vertex_ai" | "gcp.vertex_ai" | "vertex" => &["vertex_ai"],
        "mistral" | "mistral_ai" => &["mistral"],
        "xai" | "x_ai" => &["xai"],
        "azure" | "azure.ai.openai" => &["azure"],
        "bedrock" | "aws.bedrock" => &["bedrock"],
        "together" | "together_ai" => &["together_ai"],
        "fireworks" | "fireworks_ai" => &["fireworks_ai"],
        _ => &[],
    };
    if known.is_empty() {
        let p = provider.trim();
        if p.is_empty() || p.contains('/') { vec![] } else { vec![p.to_string()] }
    } else {
        known.iter().map(|k| k.to_string()).collect()
    }
}

/// `ft:<base>:<org>:<suffix>:<id>` → `ft:<base>` (the last three `:`
/// fields dropped, as LiteLLM does).
fn strip_finetune(name: &str) -> Option<String> {
    let mut end = name.len();
    for _ in 0..3 {
        end = name[..end].rfind(':')?;
    }
    let base = &name[..end];
    (base.len() > 3).then(|| base.to_string())
}

/// The LiteLLM provider names a call's provider may be priced under.
fn provider_family(p: &str) -> Vec<String> {
    let extra: &[&str] = match p {
        "openai" => &["text-completion-openai"],
        "azure" | "azure.ai.openai" => &["openai", "azure_text"],
        "azure_ai" => &["azure", "openai"],
        _ => &[],
    };
    let mut f = provider_prefixes(p);
    f.extend(extra.iter().map(|s| s.to_string()));
    f
}

/// Whether an entry of `entry_provider` prices a call of `call_provider`
/// only as a fallback (another provider's price).
fn crosses_provider(call_provider: &str, entry_provider: Option<&str>) -> bool {
    let family = provider_family(call_provider);
    let Some(ep) = entry_provider else { return false };
    if family.is_empty() {
        return false;
    }
    // `vertex_ai-language-models`, `bedrock_converse`...: a family prefix.
    !family.iter().any(|f| ep == f || ep.starts_with(&format!("{f}-")) || ep.starts_with(&format!("{f}_")))
}

fn strip_routing_prefix(name: &str) -> Option<String> {
    name.rfind('/').map(|i| name[i + 1..].to_string()).filter(|s| !s.is_empty())
}

fn strip_region_prefix(name: &str) -> Option<String> {
    for p in ["us-gov.", "us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.", "ap."] {
        if let Some(rest) = name.strip_prefix(p) {
            return Some(rest.to_string());
        }
    }
    None
}

fn strip_vendor_version(name: &str) -> Option<String> {
    let mut s = name;
    for v in ["anthropic.", "meta.", "amazon.", "mistral.", "cohere.", "ai21.", "deepseek."] {
        if let Some(rest) = s.strip_prefix(v) {
            s = rest;
            break;
        }
    }
    // Bedrock versions look like `-v1:0`; a bare `-v3` is part of the name.
    let mut out = s.to_string();
    if let Some(i) = out.rfind("-v") {
        let tail = &out[i + 2..];
        if let Some((major, minor)) = tail.split_once(':')
            && !major.is_empty()
            && major.bytes().all(|b| b.is_ascii_digit())
            && minor.bytes().all(|b| b.is_ascii_digit())
        {
            out.truncate(i);
        }
    }
    (out != name).then_some(out)
}

fn strip_date_suffix(name: &str) -> Option<String> {
    for suffix in ["-latest", ":latest", "@latest"] {
        if let Some(rest) = name.strip_suffix(suffix) {
            return Some(rest.to_string());
        }
    }
    let b = name.as_bytes();
    let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    // -YYYY-MM-DD
    if b.len() > 11 {
        let t = &b[b.len() - 11..];
        if t[0] == b'-'
            && all_digits(&t[1..5])
            && t[5] == b'-'
            && all_digits(&t[6..8])
            && t[8] == b'-'
            && all_digits(&t[9..11])
        {
            return Some(name[..name.len() - 11].to_string());
        }
    }
    // -YYYYMMDD or @YYYYMMDD
    if b.len() > 9 {
        let t = &b[b.len() - 9..];
        if (t[0] == b'-' || t[0] == b'@') && all_digits(&t[1..9]) && (t[1] == b'2' || t[1] == b'1') {
            return Some(name[..name.len() - 9].to_string());
        }
    }
    // -MMDD (older OpenAI snapshots such as gpt-4-0613)
    if b.len() > 5 {
        let t = &b[b.len() - 5..];
        if t[0] == b'-' && all_digits(&t[1..5]) && (t[1] == b'0' || t[1] == b'1') {
            return Some(name[..name.len() - 5].to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_suffixes_and_prefixes() {
        assert_eq!(strip_date_suffix("gpt-4o-2024-08-06").as_deref(), Some("gpt-4o"));
        assert_eq!(strip_date_suffix("claude-sonnet-4-5-20250929").as_deref(), Some("claude-sonnet-4-5"));
        assert_eq!(strip_date_suffix("claude-sonnet-4-5@20250929").as_deref(), Some("claude-sonnet-4-5"));
        assert_eq!(strip_date_suffix("gpt-4-0613").as_deref(), Some("gpt-4"));
        assert_eq!(strip_date_suffix("claude-3-7-sonnet-latest").as_deref(), Some("claude-3-7-sonnet"));
        assert_eq!(strip_date_suffix("gpt-4o"), None);
        assert_eq!(strip_region_prefix("us.anthropic.claude-x").as_deref(), Some("anthropic.claude-x"));
        assert_eq!(strip_vendor_version("anthropic.claude-x-20250514-v1:0").as_deref(), Some("claude-x-20250514"));
        assert_eq!(strip_vendor_version("deepseek-v3"), None);
        assert_eq!(strip_routing_prefix("openrouter/openai/gpt-4o").as_deref(), Some("gpt-4o"));
    }

    #[test]
    fn resolves_through_the_documented_chain() {
        let c = Catalog::embedded();
        let r = |p: Option<&str>, m: &str| c.resolve(p, m).map(|r| (r.key, r.rule));
        assert_eq!(r(None, "gpt-4o"), Some(("gpt-4o".into(), "exact")));
        assert_eq!(r(None, "GPT-4o"), Some(("gpt-4o".into(), "case-insensitive")));
        assert_eq!(r(None, "openai/gpt-4o").map(|x| x.0), Some("gpt-4o".into()));
        assert_eq!(r(None, "gpt-4.1-2099-01-01"), Some(("gpt-4.1".into(), "date suffix removed")));
        // The call's provider first, as LiteLLM looks it up: Gemini's own entry.
        assert_eq!(r(Some("google"), "gemini-2.5-flash").map(|x| x.0), Some("gemini/gemini-2.5-flash".into()));
        let retired = c.resolve(None, "claude-sonnet-4-20250514").unwrap();
        assert_eq!(
            (retired.key.as_str(), retired.rule),
            ("anthropic.claude-sonnet-4-20250514-v1:0", "retired model, Bedrock price")
        );
        assert!(retired.fallback, "another provider's price is a fallback");
        assert_eq!(r(None, "totally-unknown-model"), None);
    }

    /// Keys LiteLLM 1.110.2's own `cost_per_token` used for these calls
    /// (run with its bundled catalog, the one aifin ships).
    #[test]
    fn resolves_as_litellm_does() {
        let c = Catalog::embedded();
        let key = |p: Option<&str>, m: &str| c.resolve(p, m).map(|r| r.key);
        // Capitals kept with the provider prefix (not DeepSeek's own API).
        assert_eq!(
            key(Some("together_ai"), "deepseek-ai/DeepSeek-V4-Flash-0731").as_deref(),
            Some("together_ai/deepseek-ai/DeepSeek-V4-Flash-0731")
        );
        // Fine-tuned names: the ft:<base> entry, never the base model.
        assert_eq!(
            key(Some("openai"), "ft:gpt-3.5-turbo:my-org:custom_suffix:id").as_deref(),
            Some("ft:gpt-3.5-turbo")
        );
        assert_eq!(
            key(Some("openai"), "ft:gpt-4o-mini-2024-07-18:org::id").as_deref(),
            Some("ft:gpt-4o-mini-2024-07-18")
        );
        assert_eq!(key(Some("openai"), "ft:gpt-4.1:org::x"), None, "no ft:gpt-4.1 entry: unpriced");
        // `alias_of`: the target's prices.
        let a = c.resolve(Some("bedrock"), "claude-opus-latest").unwrap();
        assert_eq!((a.key.as_str(), a.rule), ("global.anthropic.claude-opus-5-5", "alias of"));
        assert_eq!(a.entry.alias.as_deref(), Some("bedrock/claude-opus-latest"));
        assert!(!a.fallback);
        // Gemini's API has no entry of its own for gemini-2.0-flash
        // (LiteLLM raises); aifin prices it from Vertex's and marks it.
        let g = c.resolve(Some("gemini"), "gemini-2.0-flash").unwrap();
        assert!(g.fallback, "{g:?}");
        assert!(!c.resolve(Some("vertex_ai"), "gemini-2.0-flash").unwrap().fallback);
    }

    #[test]
    fn config_models_override_and_extend() {
        let mut models = HashMap::new();
        let v: Value = serde_json::json!({"input_cost_per_token": 4e-06});
        models.insert("claude-opus-4-5".to_string(), v.as_object().unwrap().clone());
        let v: Value = serde_json::json!({"input_cost_per_token": 1e-07, "output_cost_per_token": 1e-07});
        models.insert("acme-llm".to_string(), v.as_object().unwrap().clone());
        let mut aliases = HashMap::new();
        aliases.insert("support-model".to_string(), "claude-opus-4-5".to_string());
        let c = Catalog::embedded().with_config(models, aliases);
        let opus = c.resolve(None, "support-model").unwrap();
        assert_eq!(opus.key, "claude-opus-4-5");
        assert_eq!(opus.entry.origin, EntryOrigin::CatalogWithOverrides);
        assert_eq!(opus.entry.lookup(super::super::entry::PriceClass::Input, None, None), Some(4_000_000_000));
        // The rest of the catalog entry is kept.
        assert_eq!(opus.entry.lookup(super::super::entry::PriceClass::Output, None, None), Some(25_000_000_000));
        let acme = c.resolve(None, "acme-llm").unwrap();
        assert_eq!(acme.entry.origin, EntryOrigin::Config);
    }
}
