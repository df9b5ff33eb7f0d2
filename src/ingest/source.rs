//! Log sources: what to read, and how.
//!
//! A source is a file, a directory (read recursively for `*.jsonl`,
//! `*.ndjson`, `*.json`, `*.log`) or a glob, with optional per-source
//! options: a forced format, batch pricing, attribution defaults. Sources
//! come from the command line, from `[[source]]` in `aifin.toml`, or, when
//! nothing is configured, from Claude Code's transcript directories.

use std::path::{Path, PathBuf};

use super::paths::{Expanded, PathError, Pattern, SymlinkPolicy};
use crate::attribution::{AttributionError, Defaults};
use crate::config::Config;
use crate::domain::record::Format;

/// How to read a source's lines.
#[derive(Clone, Debug, Default)]
pub struct SourceOptions {
    /// Read every line as this format.
    pub format: Option<Format>,
    /// Price every call at batch rates (`Some(true)`) or not (`Some(false)`).
    pub batch: Option<bool>,
    /// Attribution defaults.
    pub defaults: Defaults,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source '{path}': {message}")]
    Invalid { path: String, message: String },
    #[error(transparent)]
    Attribution(#[from] AttributionError),
    #[error(transparent)]
    Path(#[from] PathError),
}

/// A source pattern with its options.
#[derive(Clone, Debug)]
pub struct SourceSpec {
    pub pattern: Pattern,
    pub options: SourceOptions,
}

/// Expands a leading `~` to the home directory.
pub fn expand_home(p: &str) -> PathBuf {
    if p == "~" {
        return dirs::home_dir().unwrap_or_else(|| PathBuf::from(p));
    }
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = dirs::home_dir()
    {
        return home.join(rest);
    }
    PathBuf::from(p)
}

impl SourceSpec {
    pub fn new(pattern: PathBuf, options: SourceOptions) -> Result<SourceSpec, SourceError> {
        SourceSpec::with_symlinks(pattern, options, SymlinkPolicy::default())
    }

    pub fn with_symlinks(
        pattern: PathBuf,
        options: SourceOptions,
        symlinks: SymlinkPolicy,
    ) -> Result<SourceSpec, SourceError> {
        Ok(SourceSpec { pattern: Pattern::new(&pattern, symlinks)?, options })
    }

    /// The `[[source]]` entries of a config.
    pub fn from_config(cfg: &Config) -> Result<Vec<SourceSpec>, SourceError> {
        let mut out = Vec::new();
        for s in &cfg.file.sources {
            let invalid = |message: String| SourceError::Invalid { path: s.path.clone(), message };
            let format = s.format.as_deref().map(str::parse::<Format>).transpose().map_err(invalid)?;
            let symlinks = s.symlinks.as_deref().map(str::parse::<SymlinkPolicy>).transpose().map_err(invalid)?;
            let options = SourceOptions { format, batch: s.batch, defaults: Defaults::from_map(&s.path, &s.set)? };
            out.push(SourceSpec::with_symlinks(
                cfg.resolve_path(&expand_home(&s.path)),
                options,
                symlinks.unwrap_or_default(),
            )?);
        }
        Ok(out)
    }

    /// Claude Code's transcript directories, when they exist:
    /// `$CLAUDE_CONFIG_DIR/projects` (a comma-separated list), else
    /// `~/.config/claude/projects` and `~/.claude/projects`.
    pub fn claude_code_defaults() -> Vec<SourceSpec> {
        let dirs: Vec<PathBuf> = match std::env::var("CLAUDE_CONFIG_DIR") {
            Ok(v) if !v.trim().is_empty() => v.split(',').map(|d| expand_home(d.trim()).join("projects")).collect(),
            _ => ["~/.config/claude/projects", "~/.claude/projects"].iter().map(|d| expand_home(d)).collect(),
        };
        dirs.into_iter()
            .filter(|d| d.is_dir())
            .filter_map(|d| {
                let options = SourceOptions {
                    format: Some(Format::ClaudeCode),
                    batch: None,
                    defaults: Defaults::workflow("claude-code"),
                };
                SourceSpec::new(d, options).ok()
            })
            .collect()
    }

    /// The files the source covers right now (missing is not an error),
    /// with what was skipped.
    pub fn expand(&self) -> Expanded {
        self.pattern.expand()
    }

    /// The files the source covers right now.
    pub fn files(&self) -> Vec<PathBuf> {
        self.pattern.expand().files
    }

    /// Whether a path (say, from a file-system event) belongs to the source.
    pub fn matches(&self, path: &Path) -> bool {
        self.pattern.matches(path)
    }

    /// The directory to watch, and whether to watch it recursively.
    pub fn watch_root(&self) -> (PathBuf, bool) {
        self.pattern.watch_root()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_match_and_expand() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(root.join("logs/sub")).unwrap();
        std::fs::write(root.join("logs/a.jsonl"), "").unwrap();
        std::fs::write(root.join("logs/sub/b.log"), "").unwrap();
        std::fs::write(root.join("logs/c.txt"), "").unwrap();
        let dir = SourceSpec::new(root.join("logs"), SourceOptions::default()).unwrap();
        assert_eq!(dir.files().len(), 2);
        assert!(dir.matches(&root.join("logs/new.jsonl")));
        assert!(!dir.matches(&root.join("logs/c.txt")));
        assert_eq!(dir.watch_root(), (root.join("logs"), true));
        let glob = SourceSpec::new(root.join("logs/*.jsonl"), SourceOptions::default()).unwrap();
        assert_eq!(glob.files(), vec![root.join("logs/a.jsonl")]);
        assert!(glob.matches(&root.join("logs/z.jsonl")));
        assert_eq!(glob.watch_root(), (root.join("logs"), true));
        let file = SourceSpec::new(root.join("logs/a.jsonl"), SourceOptions::default()).unwrap();
        assert_eq!(file.watch_root(), (root.join("logs"), false));
        assert!(file.matches(&root.join("logs/a.jsonl")));
    }

    #[test]
    fn config_sources_are_validated() {
        let cfg = Config::from_str("[[source]]\npath = \"/x\"\nformat = \"xml\"\n", None).unwrap();
        assert!(SourceSpec::from_config(&cfg).unwrap_err().to_string().contains("xml"));
        let cfg = Config::from_str("[[source]]\npath = \"/x\"\nset = { colour = \"y\" }\n", None).unwrap();
        assert!(SourceSpec::from_config(&cfg).unwrap_err().to_string().contains("colour"));
        let cfg = Config::from_str(
            "[[source]]\npath = \"~/logs/*.jsonl\"\nformat = \"litellm\"\nbatch = true\nset = { team = \"ML\" }\n",
            None,
        )
        .unwrap();
        let s = SourceSpec::from_config(&cfg).unwrap();
        assert_eq!(s[0].options.format, Some(Format::LiteLlm));
        assert_eq!(s[0].options.batch, Some(true));
        assert!(!s[0].pattern.path.to_string_lossy().starts_with('~'));
    }
}
