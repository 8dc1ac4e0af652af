//! Command-line interface: raw flags (clap) are validated into library types per command.

mod detect;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "lookout",
    version,
    about = "Edge-vision runtime: cascade face detection and more"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Detect faces (or whatever the cascade finds) in image files.
    Detect(detect::DetectArgs),
}

/// Runs the chosen command; `Err` means a usage or set-up problem (exit code 2).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Detect(args) => detect::run(args),
    }
}
