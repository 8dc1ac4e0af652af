//! The `lookout` command line: thin glue over the library. Parsing happens in `cmd`, the work
//! in `lookout::*`; here we only map the outcome to an exit code.

mod cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    lookout_vision::panic_guard::quiet_caught_panics();
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        // A reader that stopped reading (`lookout detect --json | head`) is not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lookout: {}", lookout_vision::errors::chain(err.as_ref()));
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
