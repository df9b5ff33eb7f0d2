use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = aifin::cli::Cli::parse();
    match aifin::commands::run(cli) {
        Ok(code) => code,
        Err(e) => aifin::commands::report_error(&e),
    }
}
