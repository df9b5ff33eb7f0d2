//! `aifin.toml`: prices, attribution rules, ownership and defaults.
//!
//! Found at `--config PATH`, else `$AIFIN_CONFIG`, else `./aifin.toml`, else
//! `$XDG_CONFIG_HOME/aifin/aifin.toml`. Every table is optional; unknown keys
//! are errors (a typo should not silently change a bill). Relative paths in
//! the file are relative to the file's own directory.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file '{path}': {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("config file '{path}' is invalid: {message}")]
    Parse { path: String, message: String },
    #[error("config file '{path}'{message}")]
    Invalid { path: String, message: String },
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub report: ReportSection,
    #[serde(default)]
    pub pricing: PricingSection,
    #[serde(default)]
    pub attribution: AttributionSection,
    /// What counts as a successful outcome, per workflow.
    #[serde(default)]
    pub outcome: OutcomeSection,
    /// Log sources to read (`aifin ingest` with no paths, `--follow`, the TUI).
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    /// Who does what (replaces the paper's table when present).
    pub raci: Option<RaciConfig>,
    /// `[[owner]]`: named people and channels per workflow or team.
    #[serde(default, rename = "owner")]
    pub owners: Vec<OwnerConfig>,
    /// `[[budget]]`: monthly budgets and their burn-rate alerts.
    #[serde(default, rename = "budget")]
    pub budgets: Vec<BudgetConfig>,
    /// `[kpi.<name>]`: KPI targets.
    #[serde(default)]
    pub kpi: BTreeMap<String, KpiConfig>,
    /// `[export.focus]`: FOCUS identity columns.
    #[serde(default)]
    pub export: ExportSection,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ExportSection {
    #[serde(default)]
    pub focus: FocusConfig,
}

/// Overrides of the FOCUS export's derived identity columns.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FocusConfig {
    pub billing_account_id: Option<String>,
    pub billing_account_name: Option<String>,
    pub invoice_issuer_name: Option<String>,
}

/// `[raci] functions = [...]` with `[[raci.activity]]` rows.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RaciConfig {
    pub functions: Vec<String>,
    #[serde(default, rename = "activity")]
    pub activities: Vec<RaciActivityConfig>,
}

/// `[[raci.activity]] name = "...", roles = { Finance = "A", ... }`.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RaciActivityConfig {
    pub name: String,
    #[serde(default)]
    pub roles: BTreeMap<String, String>,
}

/// `[[owner]]`: a workflow's (or a team's) accountable person, on-call
/// channel and contacts per function.
#[derive(Debug, Default, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OwnerConfig {
    pub workflow: Option<String>,
    pub team: Option<String>,
    pub accountable: Option<String>,
    pub oncall: Option<String>,
    #[serde(default)]
    pub contacts: BTreeMap<String, String>,
}

/// `[[budget]] monthly_usd = 720` for a workflow, a team, a customer or
/// (none of them) the total.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    pub monthly_usd: f64,
    pub workflow: Option<String>,
    pub team: Option<String>,
    pub customer: Option<String>,
    /// Burn-rate alert pairs (default: the SRE Workbook's three).
    pub alerts: Option<Vec<AlertConfig>>,
}

/// `{ severity = "page", long = "1h", short = "5m", burn = 14.4 }`.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    pub severity: String,
    pub long: String,
    pub short: String,
    pub burn: f64,
}

/// `[kpi.<name>] target = 0.95, cadence = "monthly"`.
#[derive(Debug, Default, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KpiConfig {
    pub target: Option<f64>,
    pub cadence: Option<String>,
}

/// A `[[source]]` entry.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// A file, a directory (read recursively for *.jsonl, *.ndjson, *.json,
    /// *.log) or a glob; `~` expands to the home directory.
    pub path: String,
    /// Force a format instead of detecting it per line.
    pub format: Option<String>,
    /// Price every call from this source at batch rates (or not).
    pub batch: Option<bool>,
    /// Attribution defaults for calls from this source (fill gaps only).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Which symlinks a walk follows: "under-root" (default) or "any".
    pub symlinks: Option<String>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// Database path (overridden by `--db` and `AIFIN_DB`).
    pub db: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    /// Reporting time zone (IANA name); default: the system zone.
    pub tz: Option<String>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct PricingSection {
    /// A LiteLLM-format catalog file to use instead of the embedded one.
    pub catalog: Option<PathBuf>,
    /// Model name → catalog key.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// Private models and overrides, in LiteLLM's key vocabulary
    /// (`input_cost_per_token`, `cache_read_input_token_cost`, ...).
    #[serde(default)]
    pub models: BTreeMap<String, toml::Table>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AttributionSection {
    /// Workflow → owning team.
    #[serde(default)]
    pub owners: BTreeMap<String, String>,
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Field → glob. All must match. Fields: model, provider, workflow,
    /// team, customer, user, project, session, trace, request_id,
    /// service_tier, format, source (the file path), `tag.<name>`.
    #[serde(rename = "match", default)]
    pub matches: BTreeMap<String, String>,
    /// Dimension → value: workflow, team, customer, user, project,
    /// `tag.<name>`.
    pub set: BTreeMap<String, String>,
    /// Replace values the record already has (default: only fill gaps).
    #[serde(default, rename = "override")]
    pub override_existing: bool,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct OutcomeSection {
    /// `[[outcome.rule]]`: success definitions for logs that already carry
    /// the signal.
    #[serde(default)]
    pub rule: Vec<OutcomeRuleConfig>,
}

/// `[[outcome.rule]] workflow = "...", match = { "tag.resolved" = "true" },
/// per = "call" | "trace" | "session"`.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRuleConfig {
    /// The workflow whose calls the rule reads (after attribution).
    pub workflow: String,
    /// Field → glob, as in `[[attribution.rules]]`.
    #[serde(rename = "match", default)]
    pub matches: BTreeMap<String, String>,
    /// What one outcome is: a call (default), a trace or a session.
    pub per: Option<String>,
    /// A matching call marks a success (default) or a failure.
    pub success: Option<bool>,
}

/// A loaded config and where it came from.
#[derive(Debug, Default, Clone)]
pub struct Config {
    pub file: ConfigFile,
    pub path: Option<PathBuf>,
    /// The file's text (for pointing at a line).
    text: String,
}

/// Price-key suffixes the catalog's grammar adds to a base key.
fn strip_price_suffixes(key: &str) -> &str {
    let mut k = key;
    loop {
        let before = k;
        for suffix in ["_batches", "_priority", "_flex"] {
            k = k.strip_suffix(suffix).unwrap_or(k);
        }
        if let Some(i) = k.rfind("_above_")
            && let Some(rest) = k[i + 7..].strip_suffix("_tokens")
            && rest.trim_end_matches(['k', 'K']).bytes().all(|b| b.is_ascii_digit())
            && !rest.is_empty()
        {
            k = &k[..i];
        }
        if k == before {
            return k;
        }
    }
}

impl Config {
    /// Finds and loads the config. `explicit` is `--config`; it must exist.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        if let Some(p) = explicit {
            return Config::from_path(p);
        }
        if let Some(p) = std::env::var_os("AIFIN_CONFIG").filter(|v| !v.is_empty()) {
            return Config::from_path(Path::new(&p));
        }
        let local = PathBuf::from("aifin.toml");
        if local.is_file() {
            return Config::from_path(&local);
        }
        if let Some(dir) = dirs::config_dir() {
            let p = dir.join("aifin").join("aifin.toml");
            if p.is_file() {
                return Config::from_path(&p);
            }
        }
        Ok(Config::default())
    }

    pub fn from_path(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Config::from_str(&text, Some(path))
    }

    pub fn from_str(text: &str, path: Option<&Path>) -> Result<Config, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.map(|p| p.display().to_string()).unwrap_or_else(|| "<inline>".into()),
            message: e.to_string().trim().to_string(),
        })?;
        Ok(Config { file, path: path.map(Path::to_path_buf), text: text.to_string() })
    }

    /// The line (1-based) of `key` inside the table whose header contains
    /// `table`, for messages.
    fn line_of(&self, table: &str, key: &str) -> Option<usize> {
        let mut inside = false;
        for (i, line) in self.text.lines().enumerate() {
            let t = line.trim_start();
            if t.starts_with('[') {
                inside = t.contains(table);
            } else if inside && (t.starts_with(key) || t.starts_with(&format!("\"{key}\""))) {
                return Some(i + 1);
            }
        }
        None
    }

    /// Checks the price overrides against the catalog's vocabulary: an
    /// unknown key (a typo would silently keep the catalog's price) or a
    /// cost that is not a finite number >= 0 is an error naming the key and
    /// its line.
    pub fn check_price_models(&self, known: &std::collections::BTreeSet<String>) -> Result<(), ConfigError> {
        let path = self.path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "<inline>".into());
        for (model, table) in &self.file.pricing.models {
            for (key, value) in table {
                let at = self.line_of(model, key).map(|l| format!(" line {l}")).unwrap_or_default();
                let base_known = known.contains(key) || known.contains(strip_price_suffixes(key));
                if !base_known {
                    let hint = known
                        .iter()
                        .filter(|k| k.contains("cost") == key.contains("cost"))
                        .min_by_key(|k| edit_distance(k, key))
                        .map(|k| format!("; did you mean '{k}'?"))
                        .unwrap_or_default();
                    return Err(ConfigError::Invalid {
                        path,
                        message: format!(
                            "{at}: [pricing.models.\"{model}\"] unknown key '{key}'{hint} (keys are LiteLLM's, as in the catalog)"
                        ),
                    });
                }
                if key == crate::pricing::entry::MIN_CACHEABLE_KEY
                    && !matches!(value, toml::Value::Integer(i) if *i >= 0)
                {
                    return Err(ConfigError::Invalid {
                        path,
                        message: format!(
                            "{at}: [pricing.models.\"{model}\"] {key} = {value}: a whole number of tokens >= 0"
                        ),
                    });
                }
                if key.contains("cost") {
                    let ok = match value {
                        toml::Value::Float(f) => f.is_finite() && *f >= 0.0,
                        toml::Value::Integer(i) => *i >= 0,
                        _ => false,
                    };
                    if !ok {
                        return Err(ConfigError::Invalid {
                            path,
                            message: format!(
                                "{at}: [pricing.models.\"{model}\"] {key} = {value}: a price must be a number >= 0 (USD per unit)"
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Resolves a path written in the config relative to the config file.
    pub fn resolve_path(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            return p.to_path_buf();
        }
        match self.path.as_ref().and_then(|c| c.parent()) {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join(p),
            _ => p.to_path_buf(),
        }
    }

    /// The config's private models / overrides as JSON maps.
    pub fn price_models(&self) -> HashMap<String, serde_json::Map<String, serde_json::Value>> {
        self.file
            .pricing
            .models
            .iter()
            .filter_map(|(k, v)| {
                let json = serde_json::to_value(v).ok()?;
                json.as_object().map(|o| (k.clone(), o.clone()))
            })
            .collect()
    }

    pub fn price_aliases(&self) -> HashMap<String, String> {
        self.file.pricing.aliases.clone().into_iter().collect()
    }
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_config() {
        let c = Config::from_str(
            r#"
[report]
tz = "Europe/Paris"

[pricing]
catalog = "prices.json"
[pricing.aliases]
"support-model" = "claude-opus-4-5"
[pricing.models."acme-llm"]
input_cost_per_token = 1e-07
output_cost_per_token = 2e-07

[attribution.owners]
support-copilot = "CX"

[[attribution.rules]]
match = { "tag.app" = "*", model = "gpt-4*" }
set = { workflow = "everything-else" }
"#,
            Some(Path::new("/etc/aifin/aifin.toml")),
        )
        .unwrap();
        assert_eq!(c.file.report.tz.as_deref(), Some("Europe/Paris"));
        assert_eq!(c.file.attribution.rules.len(), 1);
        assert_eq!(c.file.attribution.rules[0].matches["tag.app"], "*");
        let models = c.price_models();
        assert_eq!(models["acme-llm"]["input_cost_per_token"], serde_json::json!(1e-07));
        assert_eq!(c.resolve_path(c.file.pricing.catalog.as_ref().unwrap()), PathBuf::from("/etc/aifin/prices.json"));
    }

    #[test]
    fn price_overrides_are_checked_against_the_catalogs_vocabulary() {
        let known = crate::pricing::Catalog::embedded().entry_keys();
        let check = |toml: &str| Config::from_str(toml, Some(Path::new("a.toml"))).unwrap().check_price_models(&known);
        let typo =
            check("[pricing.models.\"claude-opus-4-5\"]\ninput_cost_per_tokn = 1e-06\n").unwrap_err().to_string();
        assert!(typo.contains("line 2") && typo.contains("input_cost_per_tokn"), "{typo}");
        assert!(typo.contains("did you mean 'input_cost_per_token'"), "{typo}");
        for bad in ["-1e-06", "nan", "\"cheap\"", "inf"] {
            let e =
                check(&format!("[pricing.models.\"m\"]\n\ninput_cost_per_token = {bad}\n")).unwrap_err().to_string();
            assert!(e.contains("line 3") && e.contains("input_cost_per_token") && e.contains(">= 0"), "{bad}: {e}");
        }
        // The grammar's tiers and variants are known even when no entry uses them.
        check("[pricing.models.\"m\"]\ninput_cost_per_token_above_300k_tokens_batches = 1e-06\noutput_cost_per_token = 0\n").unwrap();
        check("[pricing.models.\"m\"]\nmode = \"chat\"\nmax_input_tokens = 1000\n").unwrap();
        // aifin's own key: the minimum cacheable prefix, a whole number.
        check("[pricing.models.\"m\"]\nmin_cacheable_tokens = 2048\n").unwrap();
        for bad in ["-1", "1.5", "\"big\""] {
            let e = check(&format!("[pricing.models.\"m\"]\nmin_cacheable_tokens = {bad}\n")).unwrap_err().to_string();
            assert!(e.contains("line 2") && e.contains("whole number"), "{bad}: {e}");
        }
    }

    #[test]
    fn unknown_keys_are_errors_with_a_location() {
        let e = Config::from_str("[pricing]\ncatalogue = \"x\"\n", Some(Path::new("a.toml"))).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("a.toml"), "{msg}");
        assert!(msg.contains("catalogue"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
    }
}
