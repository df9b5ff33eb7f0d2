use std::process::ExitCode;

use clap::Parser;

// Records are built on the parse thread and freed on the writer thread;
// mimalloc handles that cross-thread traffic far better than glibc malloc.
// It is built without transparent huge pages (`no_thp`): memory it hands
// back between batches came back as 2 MiB pages zeroed whole, which cost a
// bulk import a tenth of its CPU time in the kernel.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = aifin::cli::Cli::parse();
    match aifin::commands::run(cli) {
        Ok(code) => code,
        Err(e) => aifin::commands::report_error(&e),
    }
}
