//! Command-line interface: raw flags (clap) are validated into library types per command.

mod daemon;
mod detect;
mod faces;
mod models;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "lookout",
    version,
    about = "Edge-vision runtime: cascade face detection, ONNX classification and text recognition"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The daemon: frames → faces → decisions → sounds, events, MQTT.
    Run(daemon::RunArgs),
    /// Validate a configuration, its models and sounds; print the settings it would run with.
    Check(daemon::CheckArgs),
    /// Enrolment: save square face crops from the camera (or a replay) for training.
    Capture(daemon::CaptureArgs),
    /// Enrol people in a gallery from photos, the camera or a kept unknown visitor; list or
    /// remove them. The daemon identifies them with `[face] gallery = "FILE"`.
    Enroll(faces::EnrollArgs),
    /// Who is in each photo: every face with the closest enrolled name (or "unknown").
    Identify(faces::IdentifyArgs),
    /// Detect faces (or whatever the cascade finds) in image files.
    Detect(detect::DetectArgs),
    /// Run a classifier (e.g. models/face.onnx) on image files: top labels with probabilities.
    Classify(models::ClassifyArgs),
    /// Read text: a CTC model (models/digits.onnx) or a character classifier (models/hanzi.onnx).
    Recognize(models::RecognizeArgs),
}

/// Runs the chosen command; `Err` means a usage or set-up problem (exit code 2).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => daemon::run(args),
        Command::Check(args) => daemon::check(args),
        Command::Capture(args) => daemon::capture(args),
        Command::Enroll(args) => faces::enroll(args),
        Command::Identify(args) => faces::identify(args),
        Command::Detect(args) => detect::run(args),
        Command::Classify(args) => models::classify(args),
        Command::Recognize(args) => models::recognize(args),
    }
}

/// Reads the image files a command was given: an unreadable file is reported on stderr and
/// remembered, and the command goes on with the others, ending with exit code 1.
#[derive(Debug, Default)]
struct ImageFiles {
    failed: bool,
}

impl ImageFiles {
    fn read(&mut self, path: &std::path::Path) -> Option<lookout_vision::image_io::Decoded> {
        match lookout_vision::image_io::read(path) {
            Ok(decoded) => Some(decoded),
            Err(err) => {
                self.fail(&err);
                None
            }
        }
    }

    fn fail(&mut self, err: &(dyn std::error::Error + 'static)) {
        eprintln!("lookout: {}", lookout_vision::errors::chain(err));
        self.failed = true;
    }

    fn exit_code(&self) -> ExitCode {
        if self.failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    }
}
