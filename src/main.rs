//! The `lookout` command line: thin glue over the library. Parsing happens in `cmd`, the work
//! in `lookout::*`; here we only map the outcome to an exit code.

mod cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    lookout::panic_guard::quiet_caught_panics();
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("lookout: {err:#}");
            ExitCode::from(2)
        }
    }
}
