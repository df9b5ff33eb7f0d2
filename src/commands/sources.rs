use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use super::Env;
use crate::cli::SourcesArgs;
use crate::reports::print::{self, OutputFormat};
use crate::reports::sources::{Detail, SourceLine, SourcesReport};
use crate::store::queries;

pub fn run(env: &Env, args: &SourcesArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let conn = env.read_conn()?;
    let report = SourcesReport {
        sources: queries::sources(&conn)?.into_iter().map(SourceLine::of).collect(),
        now_ms: crate::domain::time::now_ms(),
    };
    match args.output.format() {
        OutputFormat::Json => print::json(&mut *out, &report.json())?,
        f => print::table_or_csv(out, &report.table(Detail::Full), f)?,
    }
    Ok(ExitCode::SUCCESS)
}
