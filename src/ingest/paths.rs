//! The one path expander: a source's pattern (a file, a directory or a
//! glob) into the files to read, for `aifin ingest PATH` with and without
//! `--follow`, `[[source]]` entries and the cockpit alike.
//!
//! * A file named as the pattern is read whatever its name (and whatever
//!   a symlink it is points to).
//! * A directory is walked recursively for `*.jsonl`, `*.ndjson`, `*.json`
//!   and `*.log`; a glob (`*`, `?`, `[` in a path that does not exist as
//!   written) is matched against the files under its literal prefix. One
//!   glob crate (globset) serves here and in attribution rules.
//! * Symlinks met while walking are followed only when their target lies
//!   under the walk's root, unless the policy says `any`; a symlink loop is
//!   skipped with a warning, never the whole directory.
//! * Only regular files are read: a FIFO, socket or device is skipped with
//!   a warning (opening a FIFO would wait for a writer forever).

use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};

/// Which symlinks a walk follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SymlinkPolicy {
    /// Only links whose target lies under the walk's root.
    #[default]
    UnderRoot,
    /// Any link.
    Any,
}

impl std::str::FromStr for SymlinkPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "under-root" | "root" => Ok(SymlinkPolicy::UnderRoot),
            "any" => Ok(SymlinkPolicy::Any),
            other => Err(format!("symlinks = '{other}': use 'under-root' (the default) or 'any'")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("'{0}': no such file or directory")]
    Missing(String),
    #[error("'{pattern}': invalid glob pattern: {message}")]
    BadGlob { pattern: String, message: String },
    #[error("'{0}': the pattern matched no files")]
    NoMatch(String),
}

const LOG_EXTENSIONS: [&str; 4] = ["jsonl", "ndjson", "json", "log"];

/// True for names a directory walk picks up.
pub fn is_log_name(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| LOG_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

pub fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// A pattern made ready to expand.
#[derive(Clone, Debug)]
pub struct Pattern {
    /// The pattern as an absolute path (its literal prefix canonical).
    pub path: PathBuf,
    /// For a glob: the matcher and the directory its matches lie under.
    glob: Option<(GlobMatcher, PathBuf)>,
    pub symlinks: SymlinkPolicy,
}

/// The files a pattern covers now, and what was skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expanded {
    pub files: Vec<PathBuf>,
    pub warnings: Vec<String>,
}

impl Pattern {
    pub fn new(pattern: &Path, symlinks: SymlinkPolicy) -> Result<Pattern, PathError> {
        let abs = if pattern.is_absolute() {
            pattern.to_path_buf()
        } else {
            std::env::current_dir().map(|d| d.join(pattern)).unwrap_or_else(|_| pattern.to_path_buf())
        };
        let path = canonical_prefix(&abs);
        let text = path.to_string_lossy().to_string();
        let glob = if is_glob(&text) && !path.exists() {
            let m = Glob::new(&text)
                .map_err(|e| PathError::BadGlob { pattern: text.clone(), message: e.kind().to_string() })?
                .compile_matcher();
            Some((m, literal_root(&path)))
        } else {
            None
        };
        Ok(Pattern { path, glob, symlinks })
    }

    pub fn is_glob(&self) -> bool {
        self.glob.is_some()
    }

    /// Whether a path (say, from a file-system event) belongs here.
    pub fn matches(&self, p: &Path) -> bool {
        match &self.glob {
            Some((g, _)) => g.is_match(p),
            None if self.path.is_dir() => p.starts_with(&self.path) && is_log_name(p),
            None => p == self.path,
        }
    }

    /// The directory to watch, and whether to watch it recursively.
    pub fn watch_root(&self) -> (PathBuf, bool) {
        match &self.glob {
            Some((_, root)) => (root.clone(), true),
            None if self.path.is_dir() => (self.path.clone(), true),
            None => (self.path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(".")), false),
        }
    }

    /// The files now (a missing pattern gives none).
    pub fn expand(&self) -> Expanded {
        let mut out = Expanded::default();
        match &self.glob {
            Some((g, root)) => walk(root, self.symlinks, &|p| g.is_match(p), &mut out),
            None if self.path.is_dir() => walk(&self.path, self.symlinks, &|p| is_log_name(p), &mut out),
            None => match std::fs::metadata(&self.path) {
                Ok(m) if m.is_file() => out.files.push(self.path.clone()),
                Ok(_) => out
                    .warnings
                    .push(format!("'{}': not a regular file (a FIFO or device?); skipped", self.path.display())),
                Err(_) => {}
            },
        }
        out.files.sort();
        out.files.dedup();
        out
    }

    /// The files now; a pattern that names nothing is an error (for
    /// one-off runs; a follower waits for it instead).
    pub fn expand_required(&self) -> Result<Expanded, PathError> {
        let e = self.expand();
        if e.files.is_empty() {
            let text = self.path.display().to_string();
            return Err(match (&self.glob, self.path.exists()) {
                (Some(_), _) => PathError::NoMatch(text),
                (None, false) => PathError::Missing(text),
                (None, true) => return Ok(e),
            });
        }
        Ok(e)
    }
}

/// Walks `root` for files that `keep` accepts, with the symlink policy.
fn walk(root: &Path, policy: SymlinkPolicy, keep: &dyn Fn(&Path) -> bool, out: &mut Expanded) {
    let croot = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let walker = walkdir::WalkDir::new(root).follow_links(true).sort_by_file_name().into_iter();
    let mut it = walker;
    // The canonical path of each directory on the way down, by depth: an
    // entry that is not a symlink is its parent's canonical path plus its
    // name, so only symlinks need resolving (one system call per path
    // component) to be checked against the root.
    let mut dirs: Vec<PathBuf> = Vec::new();
    while let Some(entry) = it.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let what = if e.loop_ancestor().is_some() { "a symlink loop" } else { "cannot be read" };
                let at = e.path().map(|p| p.display().to_string()).unwrap_or_else(|| root.display().to_string());
                out.warnings.push(format!("'{at}': {what}; skipped"));
                continue;
            }
        };
        let p = entry.path();
        let depth = entry.depth();
        let parent = depth.checked_sub(1).and_then(|d| dirs.get(d));
        let target = match (parent, entry.path_is_symlink(), p.file_name()) {
            (Some(dir), false, Some(name)) => dir.join(name),
            (None, false, _) if depth == 0 => croot.clone(),
            _ => std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()),
        };
        if entry.file_type().is_dir() {
            dirs.truncate(depth);
            dirs.push(target.clone());
        }
        if entry.path_is_symlink() && policy == SymlinkPolicy::UnderRoot && !target.starts_with(&croot) {
            out.warnings.push(format!(
                "'{}': a symlink to '{}' outside '{}'; skipped (symlinks = \"any\" follows it)",
                p.display(),
                target.display(),
                croot.display()
            ));
            if entry.file_type().is_dir() {
                it.skip_current_dir();
            }
            continue;
        }
        let ft = entry.file_type();
        if ft.is_dir() || !keep(p) {
            continue;
        }
        if ft.is_file() {
            out.files.push(target);
        } else {
            out.warnings.push(format!("'{}': not a regular file (a FIFO or device?); skipped", p.display()));
        }
    }
}

/// The directory part of a glob before its first wildcard.
fn literal_root(p: &Path) -> PathBuf {
    let mut root = PathBuf::new();
    for c in p.components() {
        if is_glob(&c.as_os_str().to_string_lossy()) {
            break;
        }
        root.push(c);
    }
    root
}

/// Canonicalizes the longest existing literal prefix of a pattern, so that
/// paths from file-system events (always canonical here) match it.
fn canonical_prefix(p: &Path) -> PathBuf {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(e: &Expanded) -> Vec<String> {
        e.files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into()).collect()
    }

    #[test]
    fn expands_files_dirs_and_globs() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        for f in ["a/x.jsonl", "a/b/y.log", "a/b/z.txt", "a/w.json", "top.ndjson"] {
            std::fs::write(root.join(f), "").unwrap();
        }
        let p = |s: &str| Pattern::new(&root.join(s), SymlinkPolicy::UnderRoot).unwrap();
        assert_eq!(names(&p("a").expand()), ["y.log", "w.json", "x.jsonl"]);
        assert_eq!(names(&p("*.ndjson").expand()), ["top.ndjson"]);
        assert_eq!(names(&p("a/*/*.log").expand()), ["y.log"]);
        assert_eq!(names(&p("a/b/z.txt").expand()), ["z.txt"], "explicit files are taken whatever their name");
        assert!(matches!(p("nope.jsonl").expand_required(), Err(PathError::Missing(_))));
        assert!(matches!(p("*.nothing").expand_required(), Err(PathError::NoMatch(_))));
        assert!(p("*.nothing").expand().files.is_empty(), "a follower just waits");
        let g = p("a/*.jsonl");
        assert!(g.matches(&root.join("a/new.jsonl")));
        assert_eq!(g.watch_root(), (root.join("a"), true));
        assert_eq!(p("a/x.jsonl").watch_root(), (root.join("a"), false));
    }

    #[cfg(unix)]
    #[test]
    fn loops_fifos_and_links_out_of_the_tree_are_skipped_with_a_warning() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(root.join("logs")).unwrap();
        std::fs::create_dir_all(root.join("private")).unwrap();
        std::fs::write(root.join("logs/good.jsonl"), "").unwrap();
        std::fs::write(root.join("private/secret.jsonl"), "").unwrap();
        std::os::unix::fs::symlink(root.join("logs"), root.join("logs/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("private/secret.jsonl"), root.join("logs/out.jsonl")).unwrap();
        let fifo = root.join("logs/pipe.jsonl");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let e = Pattern::new(&root.join("logs"), SymlinkPolicy::UnderRoot).unwrap().expand();
        assert_eq!(names(&e), ["good.jsonl"], "{e:?}");
        let all = e.warnings.join("\n");
        assert!(all.contains("symlink loop") && all.contains("outside") && all.contains("not a regular file"), "{all}");
        let any = Pattern::new(&root.join("logs"), SymlinkPolicy::Any).unwrap().expand();
        assert_eq!(names(&any), ["good.jsonl", "secret.jsonl"]);
        // A FIFO named outright is skipped too; a link named outright is read.
        let f = Pattern::new(&fifo, SymlinkPolicy::UnderRoot).unwrap().expand();
        assert!(f.files.is_empty() && f.warnings.len() == 1);
        let l = Pattern::new(&root.join("logs/out.jsonl"), SymlinkPolicy::UnderRoot).unwrap().expand();
        assert_eq!(names(&l), ["secret.jsonl"]);
    }
}
