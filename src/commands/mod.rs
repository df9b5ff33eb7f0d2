//! Subcommand glue: load config, open the store, call the library, print.

mod export;
mod forecast;
mod gate;
mod ingest;
mod ledger;
mod levers;
mod merge;
mod operate;
mod outcomes;
mod prices;
mod rejects;
mod sim;
mod sources;
mod tui;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};

use crate::attribution::Attributor;
use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::pricing::Catalog;
use crate::store;

/// Everything a command needs from the environment.
pub struct Env {
    pub config: Config,
    pub db: PathBuf,
}

impl Env {
    pub fn load(cli: &Cli) -> Result<Env> {
        let config = Config::load(cli.config.as_deref())?;
        let db = match (&cli.db, &config.file.store.db) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => config.resolve_path(p),
            (None, None) => store::default_db_path(),
        };
        Ok(Env { config, db })
    }

    /// The price catalog with the config's models and aliases.
    pub fn catalog(&self) -> Result<Arc<Catalog>> {
        let base = match &self.config.file.pricing.catalog {
            Some(p) => {
                let path = self.config.resolve_path(p);
                Catalog::from_file(&path.to_string_lossy())?
            }
            None => Catalog::embedded(),
        };
        if !self.config.file.pricing.models.is_empty() {
            self.config.check_price_models(&base.entry_keys())?;
        }
        Ok(Arc::new(base.with_config(self.config.price_models(), self.config.price_aliases())))
    }

    pub fn attributor(&self) -> Result<Arc<Attributor>> {
        let a = Attributor::from_config(&self.config.file.attribution)
            .and_then(|a| a.with_outcome_rules(&self.config.file.outcome.rule))
            .with_context(|| match &self.config.path {
                Some(p) => format!("in config file '{}'", p.display()),
                None => "in the config".to_string(),
            })?;
        Ok(Arc::new(a))
    }

    /// The reporting time zone: `--tz`, then `report.tz`, then the system.
    pub fn tz(&self, flag: Option<&str>) -> Result<jiff::tz::TimeZone> {
        let name = flag.or(self.config.file.report.tz.as_deref());
        crate::domain::time::resolve_tz(name).map_err(|e| anyhow::anyhow!("--tz: {e}"))
    }

    pub fn read_conn(&self) -> Result<rusqlite::Connection> {
        Ok(store::open_read(&self.db)?)
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    // A file-size limit (`ulimit -f`) must end in an error that names the
    // cause, not in a silent kill: with SIGXFSZ handled, the write fails
    // with "file too large" and SQLite reports it.
    signal_hook::flag::register(signal_hook::consts::SIGXFSZ, std::sync::Arc::default())?;
    let env = Env::load(&cli)?;
    if let Command::Tui(a) = &cli.command {
        // The TUI owns the terminal; nothing else may write to stdout.
        return tui::run(&env, a);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = match &cli.command {
        Command::Ingest(a) => ingest::run(&env, a, &mut out)?,
        Command::Ledger(a) => ledger::run(&env, a, &mut out)?,
        Command::Forecast(a) => forecast::run(&env, a, &mut out)?,
        Command::Gate(a) => gate::run(&env, a, &mut out)?,
        Command::Outcomes(a) => outcomes::run(&env, a, &mut out)?,
        Command::Raci(a) => operate::raci(&env, a, &mut out)?,
        Command::Alerts(a) => operate::alerts(&env, a, &mut out)?,
        Command::Kpis(a) => operate::kpis(&env, a, &mut out)?,
        Command::Watch(a) => operate::watch(&env, a, &mut out)?,
        Command::Export(a) => export::run(&env, a, &mut out)?,
        Command::Levers(a) => levers::run(&env, a, &mut out)?,
        Command::Merge(a) => merge::run(&env, a, &mut out)?,
        Command::Rejects(a) => rejects::run(&env, a, &mut out)?,
        Command::Prices(a) => prices::run(&env, a, &mut out)?,
        Command::Sources(a) => sources::run(&env, a, &mut out)?,
        Command::Sim(a) => sim::run(&env, a, &mut out)?,
        Command::Tui(_) => unreachable!("handled before stdout is locked"),
    };
    out.flush().ok();
    Ok(code)
}

/// Maps an error to the process exit: a broken pipe (`aifin ledger | head`)
/// is success; anything else prints `error: ...` with its causes, exit 2.
pub fn report_error(err: &anyhow::Error) -> ExitCode {
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return ExitCode::SUCCESS;
        }
    }
    let mut msg = format!("error: {err}");
    for cause in err.chain().skip(1) {
        msg.push_str(&format!("\n  caused by: {cause}"));
    }
    eprintln!("{}", crate::domain::sanitize::clean_multiline(&msg));
    ExitCode::from(2)
}
