use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Result, anyhow};

use super::Env;
use crate::attribution::Attributor;
use crate::cli::TuiArgs;
use crate::ingest::SourceSpec;
use crate::pricing::Catalog;
use crate::tui::{TuiOptions, run as run_tui};

pub fn run(env: &Env, args: &TuiArgs) -> Result<ExitCode> {
    if !std::io::stdout().is_terminal() {
        return Err(anyhow!("aifin tui needs a terminal; for scripts use `aifin ledger --json`"));
    }
    let tz = env.tz(args.tz.as_deref())?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut specs = SourceSpec::from_config(&env.config)?;
    if specs.is_empty() {
        specs = SourceSpec::claude_code_defaults();
    }
    let demo_reason = if args.demo {
        Some(
            "demo: the sample month as the 31 days before now, traffic at its daily rate; a runaway in about a minute"
                .to_string(),
        )
    } else if specs.is_empty() && !env.db.exists() {
        Some(format!(
            "no sources configured and no ledger at {}: showing the built-in demo (add [[source]] to aifin.toml)",
            env.db.display()
        ))
    } else {
        None
    };
    if let Some(notice) = demo_reason {
        let demo = crate::demo::prepare()?;
        let catalog =
            Arc::new(Catalog::embedded().with_config(demo.config.price_models(), demo.config.price_aliases()));
        let attributor = Arc::new(Attributor::from_config(&demo.config.file.attribution)?);
        crate::demo::record_gate_runs(&demo, Arc::clone(&catalog)).map_err(|e| anyhow::anyhow!("demo: {e}"))?;
        let traffic = crate::demo::simulate(demo.path().join("live/gateway.jsonl"), Arc::clone(&stop));
        let r = run_tui(TuiOptions {
            db: demo.db.clone(),
            specs: demo.specs.clone(),
            catalog,
            attributor,
            tz,
            notice: Some(notice),
            stop: Arc::clone(&stop),
            operate: Arc::new(crate::operate::Operate::from_config(&demo.config.file)),
            rules_hash: super::export::rules_hash_of(&demo.config),
        });
        let _ = traffic.join();
        r?;
        return Ok(ExitCode::SUCCESS);
    }
    let operate = crate::operate::Operate::from_config(&env.config.file);
    let notice = operate.warning_line().or_else(|| {
        specs.is_empty().then(|| "not following any source: add [[source]] to aifin.toml to watch live".to_string())
    });
    run_tui(TuiOptions {
        db: env.db.clone(),
        specs,
        catalog: env.catalog()?,
        attributor: env.attributor()?,
        tz,
        notice,
        stop,
        operate: Arc::new(operate),
        rules_hash: super::export::rules_hash(env),
    })?;
    Ok(ExitCode::SUCCESS)
}
