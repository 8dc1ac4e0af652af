//! `lookout classify` and `lookout recognize`: run a model on whole image files, the way the
//! daemon runs it on a face or a text region (same preprocessing, same tract plan).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use lookout_vision::model::{Model, Task};
use lookout_vision::preprocess::{Pixels, Preprocessor};

use super::ImageFiles;

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// ONNX model exported by lookout-tools (`lookout.task = classify`).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// How many labels to print per image.
    #[arg(long, default_value_t = 3, value_name = "K")]
    top: usize,
    /// One JSON object per image: {"image", "top": [[label, probability], ...]}.
    #[arg(long)]
    json: bool,
    /// Image files; each whole image is the model's input region.
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RecognizeArgs {
    /// ONNX model: a CTC sequence model (digit strings) or a character classifier.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Beam width for CTC decoding (1 = greedy).
    #[arg(long, default_value_t = 1, value_name = "W")]
    beam: usize,
    /// One JSON object per image: {"image", "text", "confidence"}.
    #[arg(long)]
    json: bool,
    /// Image files; each whole image is the text region.
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
}

pub fn classify(args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    let model = load(&args.model, Task::Classify)?;
    for_each_output(&model, &args.images, |path, probs| {
        let top = model.top_labels(probs, args.top.max(1));
        if args.json {
            serde_json::json!({"image": path.display().to_string(), "top": top}).to_string()
        } else {
            let list: Vec<String> = top.iter().map(|(l, p)| format!("{l} {p:.3}")).collect();
            format!("{}: {}", path.display(), list.join(", "))
        }
    })
}

pub fn recognize(args: RecognizeArgs) -> anyhow::Result<ExitCode> {
    let model = Model::load(&args.model)?;
    for_each_output(&model, &args.images, |path, probs| {
        let reading = model.read_text(probs, args.beam, 1);
        let (text, confidence) = (reading.text, reading.confidence);
        if args.json {
            serde_json::json!({"image": path.display().to_string(), "text": text, "confidence": confidence}).to_string()
        } else {
            format!("{}: {text} ({confidence:.3})", path.display())
        }
    })
}

fn load(path: &Path, task: Task) -> anyhow::Result<Model> {
    let model = Model::load(path)?;
    if model.meta.task != task {
        anyhow::bail!(
            "{}: is a {:?} model, this command needs a {task:?} model",
            path.display(),
            model.meta.task
        );
    }
    Ok(model)
}

/// Runs `model` on each image and prints `line(path, output)`. Unreadable images are reported
/// and skipped (exit code 1); the others are still processed.
fn for_each_output(
    model: &Model,
    images: &[PathBuf],
    mut line: impl FnMut(&Path, &[f32]) -> String,
) -> anyhow::Result<ExitCode> {
    let mut pre = Preprocessor::default();
    let mut tensor = Vec::new();
    let mut files = ImageFiles::default();
    let stdout = std::io::stdout();
    for path in images {
        let Some(decoded) = files.read(path) else { continue };
        let pixels = Pixels::rgb(&decoded.rgb);
        pre.prepare(&model.meta.input, pixels, pixels.whole(), &mut tensor);
        let probs = model.run(&tensor).with_context(|| format!("{}", path.display()))?;
        writeln!(stdout.lock(), "{}", line(path, &probs)).context("writing to stdout")?;
    }
    Ok(files.exit_code())
}
