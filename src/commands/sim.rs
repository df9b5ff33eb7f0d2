use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::Env;
use crate::cli::{SimArgs, SimKind};
use crate::pricing::{Catalog, Pricer};
use crate::sim;

pub fn run(env: &Env, args: &SimArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let (path, n) = match &args.kind {
        SimKind::PaperMonth { out: path, seed } => {
            let mut f = create(path)?;
            let mut pricer = Pricer::new(env.catalog()?);
            let mut list = Pricer::new(Arc::new(Catalog::embedded()));
            let n = sim::paper_month(&mut f, &mut pricer, &mut list, *seed)?;
            f.flush()?;
            (path, n)
        }
        SimKind::ClaudeTree { out: path, lines, seed, dense } => {
            let now = crate::domain::time::now_ms();
            let (n, bytes) = if *dense {
                sim::claude_code_dense_tree(path, *lines, now, *seed)?
            } else {
                sim::claude_code_tree(path, *lines, now, *seed)?
            };
            writeln!(out, "{}", crate::reports::table::bytes(bytes))?;
            (path, n)
        }
        SimKind::Bulk { out: path, lines, days, seed } => {
            let mut f = create(path)?;
            let n = sim::bulk(&mut f, *lines, *days, crate::domain::time::now_ms(), *seed)?;
            f.flush()?;
            (path, n)
        }
    };
    writeln!(out, "wrote {n} lines to {}", path.display())?;
    Ok(ExitCode::SUCCESS)
}

fn create(path: &std::path::Path) -> Result<BufWriter<std::fs::File>> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating '{}'", dir.display()))?;
    }
    let f = std::fs::File::create(path).with_context(|| format!("creating '{}'", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, f))
}
