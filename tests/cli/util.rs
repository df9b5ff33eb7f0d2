//! Test harness: an isolated environment per test (database, config and
//! XDG directories in a temp dir) and helpers to run `aifin`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub config: Option<PathBuf>,
}

impl Env {
    pub fn new() -> Env {
        Env { dir: tempfile::tempdir().unwrap(), config: None }
    }

    /// An environment using the sample config.
    pub fn sample() -> Env {
        let mut e = Env::new();
        e.config = Some(repo().join("sample-data/aifin.toml"));
        e
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("ledger.db")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        p
    }

    pub fn append(&self, name: &str, content: impl AsRef<[u8]>) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(self.path(name)).unwrap();
        f.write_all(content.as_ref()).unwrap();
    }

    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// A plain `std::process::Command` (for spawning long-running children).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_aifin"));
        c.current_dir(self.dir.path())
            .env("AIFIN_DB", self.db())
            .env_remove("AIFIN_CONFIG")
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg-config"))
            .env("XDG_DATA_HOME", self.dir.path().join("xdg-data"))
            .env("TZ", "UTC")
            .env("NO_COLOR", "1");
        if let Some(cfg) = &self.config {
            c.arg("--config").arg(cfg);
        }
        c
    }

    /// Runs `aifin ARGS`, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "aifin {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `aifin ARGS` expecting exit code 2; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "aifin {args:?}: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8(out.stderr).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut a: Vec<&str> = args.to_vec();
        a.push("--json");
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    /// Ingests paths and returns the JSON summary.
    pub fn ingest(&self, paths: &[&Path]) -> Value {
        let mut c = self.cmd();
        c.arg("ingest").arg("--json");
        for p in paths {
            c.arg(p);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The ledger by workflow (all time) as JSON.
    pub fn ledger(&self, by: &str) -> Value {
        self.json(&["ledger", "--by", by, "--tz", "UTC"])
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an unsigned integer: {v}"))
}

pub fn i(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// The ledger row with this key.
pub fn row<'a>(ledger: &'a Value, key: &str) -> &'a Value {
    ledger["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no row '{key}' in {ledger:#}"))
}

/// A native-format line.
pub fn native(ts: &str, id: &str, model: &str, workflow: &str, input: u64, output: u64) -> String {
    format!(
        r#"{{"ts":"{ts}","request_id":"{id}","model":"{model}","workflow":"{workflow}","usage":{{"uncached_input":{input},"output":{output}}}}}"#
    )
}

/// `n` distinct native lines, one per minute from 2026-10-01T00:00Z.
pub fn native_lines(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|k| {
            let ts = format!("2026-10-01T{:02}:{:02}:00Z", k / 60 % 24, k % 60);
            native(&ts, &format!("{prefix}-{k}"), "gpt-4o", "wf", 1000, 100) + "\n"
        })
        .collect()
}
