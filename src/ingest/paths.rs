//! Turning command-line paths into the list of files to read.
//!
//! A file is read whatever its name. A directory is walked recursively for
//! `*.jsonl`, `*.ndjson`, `*.json` and `*.log`. A path with `*`, `?` or `[`
//! that does not exist as written is expanded as a glob.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("'{0}': no such file or directory")]
    Missing(String),
    #[error("'{pattern}': invalid glob pattern: {message}")]
    BadGlob { pattern: String, message: String },
    #[error("'{0}': the pattern matched no files")]
    NoMatch(String),
    #[error("'{path}': {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

const LOG_EXTENSIONS: [&str; 4] = ["jsonl", "ndjson", "json", "log"];

/// True for names a directory walk picks up.
pub fn is_log_name(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| LOG_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expands paths into a sorted, de-duplicated list of canonical files.
pub fn expand(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, PathError> {
    let mut out = Vec::new();
    for input in inputs {
        let text = input.to_string_lossy();
        if !input.exists() && is_glob(&text) {
            let paths = glob::glob(&text)
                .map_err(|e| PathError::BadGlob { pattern: text.to_string(), message: e.msg.to_string() })?;
            let before = out.len();
            for p in paths.flatten() {
                add(&p, &mut out)?;
            }
            if out.len() == before {
                return Err(PathError::NoMatch(text.to_string()));
            }
            continue;
        }
        if !input.exists() {
            return Err(PathError::Missing(text.to_string()));
        }
        add(input, &mut out)?;
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn add(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), PathError> {
    let canon =
        |p: &Path| std::fs::canonicalize(p).map_err(|source| PathError::Io { path: p.display().to_string(), source });
    if p.is_dir() {
        for entry in walkdir::WalkDir::new(p).follow_links(true).sort_by_file_name() {
            let entry = entry.map_err(|e| PathError::Io { path: p.display().to_string(), source: e.into() })?;
            if entry.file_type().is_file() && is_log_name(entry.path()) {
                out.push(canon(entry.path())?);
            }
        }
    } else {
        out.push(canon(p)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_files_dirs_and_globs() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        for f in ["a/x.jsonl", "a/b/y.log", "a/b/z.txt", "a/w.json", "top.ndjson"] {
            std::fs::write(root.join(f), "").unwrap();
        }
        let got = expand(&[root.join("a")]).unwrap();
        let names: Vec<String> = got.iter().map(|p| p.file_name().unwrap().to_string_lossy().into()).collect();
        assert_eq!(names, ["y.log", "w.json", "x.jsonl"]);
        let got = expand(&[root.join("*.ndjson"), root.join("a/b/z.txt")]).unwrap();
        assert_eq!(got.len(), 2, "explicit files are taken whatever their name");
        assert!(matches!(expand(&[root.join("nope.jsonl")]), Err(PathError::Missing(_))));
        assert!(matches!(expand(&[root.join("*.nothing")]), Err(PathError::NoMatch(_))));
    }
}
