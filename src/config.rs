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
    /// Log sources to read (`aifin ingest` with no paths, `--follow`, the TUI).
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
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

/// A loaded config and where it came from.
#[derive(Debug, Default, Clone)]
pub struct Config {
    pub file: ConfigFile,
    pub path: Option<PathBuf>,
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
        Ok(Config { file, path: path.map(Path::to_path_buf) })
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
    fn unknown_keys_are_errors_with_a_location() {
        let e = Config::from_str("[pricing]\ncatalogue = \"x\"\n", Some(Path::new("a.toml"))).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("a.toml"), "{msg}");
        assert!(msg.contains("catalogue"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
    }
}
