//! Log sources: what to read, and how.
//!
//! A source is a file, a directory (read recursively for `*.jsonl`,
//! `*.ndjson`, `*.json`, `*.log`) or a glob, with optional per-source
//! options: a forced format, batch pricing, attribution defaults. Sources
//! come from the command line, from `[[source]]` in `aifin.toml`, or, when
//! nothing is configured, from Claude Code's transcript directories.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};

use super::paths::is_log_name;
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
}

/// A source pattern with its options.
#[derive(Clone, Debug)]
pub struct SourceSpec {
    /// A file, directory or glob (absolute).
    pub pattern: PathBuf,
    pub options: SourceOptions,
    glob: Option<GlobMatcher>,
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

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

impl SourceSpec {
    pub fn new(pattern: PathBuf, options: SourceOptions) -> Result<SourceSpec, SourceError> {
        let pattern = if pattern.is_absolute() {
            pattern
        } else {
            std::env::current_dir().map(|d| d.join(&pattern)).unwrap_or(pattern)
        };
        let pattern = canonical_pattern(&pattern);
        let text = pattern.to_string_lossy().to_string();
        let glob = if is_glob(&text) && !pattern.exists() {
            Some(
                Glob::new(&text)
                    .map_err(|e| SourceError::Invalid { path: text.clone(), message: e.kind().to_string() })?
                    .compile_matcher(),
            )
        } else {
            None
        };
        Ok(SourceSpec { pattern, options, glob })
    }

    /// The `[[source]]` entries of a config.
    pub fn from_config(cfg: &Config) -> Result<Vec<SourceSpec>, SourceError> {
        let mut out = Vec::new();
        for s in &cfg.file.sources {
            let format = match &s.format {
                Some(f) => Some(
                    f.parse::<Format>().map_err(|message| SourceError::Invalid { path: s.path.clone(), message })?,
                ),
                None => None,
            };
            let options = SourceOptions { format, batch: s.batch, defaults: Defaults::from_map(&s.path, &s.set)? };
            out.push(SourceSpec::new(cfg.resolve_path(&expand_home(&s.path)), options)?);
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

    /// The files the source covers right now (missing is not an error).
    pub fn files(&self) -> Vec<PathBuf> {
        let text = self.pattern.to_string_lossy();
        let mut out = Vec::new();
        if self.glob.is_some() {
            if let Ok(paths) = glob::glob(&text) {
                for p in paths.flatten() {
                    collect(&p, &mut out);
                }
            }
        } else if self.pattern.exists() {
            collect(&self.pattern, &mut out);
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether a path (say, from a file-system event) belongs to the source.
    pub fn matches(&self, path: &Path) -> bool {
        match &self.glob {
            Some(g) => g.is_match(path),
            None if self.pattern.is_dir() => path.starts_with(&self.pattern) && is_log_name(path),
            None => path == self.pattern,
        }
    }

    /// The directory to watch, and whether to watch it recursively.
    pub fn watch_root(&self) -> (PathBuf, bool) {
        if self.glob.is_some() {
            let mut root = PathBuf::new();
            for c in self.pattern.components() {
                if is_glob(&c.as_os_str().to_string_lossy()) {
                    break;
                }
                root.push(c);
            }
            return (root, true);
        }
        if self.pattern.is_dir() {
            return (self.pattern.clone(), true);
        }
        (self.pattern.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(".")), false)
    }
}

/// Canonicalizes the longest existing literal prefix of a pattern, so that
/// paths from file-system events (always canonical here) match it.
fn canonical_pattern(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    let comps: Vec<_> = p.components().collect();
    for cut in (1..comps.len()).rev() {
        let head: PathBuf = comps[..cut].iter().collect();
        if is_glob(&head.to_string_lossy()) {
            continue;
        }
        if let Ok(c) = std::fs::canonicalize(&head) {
            let mut out = c;
            for rest in &comps[cut..] {
                out.push(rest);
            }
            return out;
        }
    }
    p.to_path_buf()
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        for e in walkdir::WalkDir::new(p).follow_links(true).into_iter().flatten() {
            if e.file_type().is_file() && is_log_name(e.path()) {
                out.push(std::fs::canonicalize(e.path()).unwrap_or_else(|_| e.path().to_path_buf()));
            }
        }
    } else if p.is_file() {
        out.push(std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()));
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
        assert!(!s[0].pattern.to_string_lossy().starts_with('~'));
    }
}
