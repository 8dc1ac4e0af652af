//! `lookout run`, `lookout check` and `lookout capture`: the daemon and its two helpers, all
//! reading the same configuration.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use lookout::config::{Config, SourceSpec};
use lookout::daemon::{self, Control, Devices, RunOptions};
use lookout::preprocess::{face_crop, Preprocessor};
use lookout::service::metrics::Metrics;
use lookout::service::notify::Notifier;
use lookout::source::{self, spawn_capture, CaptureOptions, FrameSlot, Taken};

/// Where to find the configuration and what the command line overrides in it.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// TOML configuration (see systemd/lookout.toml); without it, the built-in defaults
    /// (camera 0, the shipped face model).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Frame source instead of the config's: camera:N, camera:/dev/..., replay:DIR.
    #[arg(long, value_name = "SOURCE")]
    source: Option<SourceSpec>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Event log instead of the config's ("-" = standard output).
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Stop with exit code 0 when a replay runs out of frames.
    #[arg(long)]
    exit_at_end: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Args)]
pub struct CaptureArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The class the crops are for: they go to OUT/LABEL/, ready for `lookout-tools train`.
    #[arg(long, value_name = "NAME")]
    label: String,
    /// How many face crops to save.
    #[arg(long, value_name = "N")]
    count: usize,
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Side of the square crops, in pixels.
    #[arg(long, default_value_t = 64, value_name = "PX")]
    size: u32,
}

impl ConfigArgs {
    /// The configuration with the command line applied; paths given on the command line are
    /// relative to the working directory, those in the file to the file's folder.
    fn load(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        if let Some(source) = &self.source {
            config.source.input = source.clone();
        }
        let origin = self.config.as_deref().unwrap_or(Path::new("command line"));
        config.validate(origin)?;
        Ok(config)
    }
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    lookout::logging::init();
    let load = {
        let args_config = args.config.clone();
        let events = args.events.clone();
        move || -> anyhow::Result<Config> {
            let mut config = args_config.load()?;
            if let Some(events) = &events {
                config.events.path = events.clone();
            }
            Ok(config)
        }
    };
    let config = load()?;
    let control = Control::default();
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, control.stop.clone())
            .context("installing signal handlers")?;
    }
    signal_hook::flag::register(signal_hook::consts::SIGHUP, control.reload.clone())
        .context("installing signal handlers")?;
    let devices = Devices {
        source: source::from_config(&config.source),
        audio: daemon::default_audio(&config),
        notifier: Notifier::from_env(),
    };
    let options = RunOptions {
        exit_at_end: args.exit_at_end,
        reloader: Some(Box::new(move || load().map_err(|e| format!("{e:#}")))),
        ..RunOptions::default()
    };
    let summary = daemon::run(config, devices, control, options)?;
    log::info!(
        "{} frames in {:.1} s ({:.1} fps), {} decisions, {} frames dropped; per frame {:.2} ms, \
         per face {:.3} ms ({} faces)",
        summary.frames,
        summary.seconds,
        summary.frames as f64 / summary.seconds.max(1e-9),
        summary.decisions,
        summary.dropped,
        summary.frame_ms,
        summary.inference_ms,
        summary.faces
    );
    Ok(ExitCode::SUCCESS)
}

pub fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let origin = args
        .config
        .config
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or("built-in defaults".into());
    let pipeline = daemon::build_pipeline(&config)?;
    let mut labels: Vec<String> = Vec::new();
    println!("# lookout check: {origin}: OK");
    if let Some(face) = pipeline.face_model() {
        println!("# face model: {}", face.describe());
        println!(
            "#   labels {:?}, input {}",
            face.model.meta.labels,
            describe_input(&face.model.meta.input)
        );
        labels.extend(face.model.meta.labels.iter().cloned());
    }
    if let Some(text) = pipeline.text_model() {
        println!("# text model: {} ({:?})", text.describe(), text.model.meta.task);
        println!("#   input {}", describe_input(&text.model.meta.input));
    }
    for action in &config.actions {
        let info = lookout::actions::sound_of(action).check()?;
        let name = if action.sound.as_os_str().is_empty() {
            "built-in chime".into()
        } else {
            action.sound.display().to_string()
        };
        println!(
            "# on {:?}: {name}: {:.1} s, {} Hz, {} channel(s)",
            action.on,
            info.duration.as_secs_f64(),
            info.sample_rate,
            info.channels
        );
        if !config.text.enabled && !labels.is_empty() && !labels.contains(&action.on) {
            bail!(
                "[[action]] on = {:?} matches no label of the face model ({}); it would never run",
                action.on,
                labels.join(", ")
            );
        }
    }
    if let SourceSpec::Replay(dir) = &config.source.input {
        let frames = source::replay::list_images(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("# replay: {} frames in {}", frames.len(), dir.display());
    }
    print!("{}", config.to_toml());
    Ok(ExitCode::SUCCESS)
}

fn describe_input(spec: &lookout::preprocess::InputSpec) -> String {
    format!("{}x{}x{} ({:?})", spec.width, spec.height, spec.channels, spec.fit)
}

pub fn capture(args: CaptureArgs) -> anyhow::Result<ExitCode> {
    lookout::logging::init();
    if args.label.is_empty() || args.label.contains(['/', '\\']) || args.label.starts_with('.') {
        bail!("--label {:?}: must be a plain folder name", args.label);
    }
    if args.count == 0 || !(16..=1024).contains(&args.size) {
        bail!("--count must be at least 1 and --size within 16..=1024");
    }
    let mut config = args.config.load()?;
    config.face.enabled = false;
    config.text.enabled = false;
    let mut pipeline = daemon::build_pipeline(&config)?;
    let dir = args.out.join(&args.label);
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let mut next = first_free_number(&dir)?;

    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone())
        .context("installing signal handlers")?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, stop.clone())
        .context("installing signal handlers")?;
    let slot = Arc::new(FrameSlot::new());
    // The crops are saved in colour.
    let options = CaptureOptions::new(&config.source, true);
    let source = source::from_config(&config.source);
    eprintln!(
        "capturing {} faces of {:?} from {} into {}",
        args.count,
        args.label,
        source.describe(),
        dir.display()
    );
    spawn_capture(source, options, slot.clone(), Arc::new(Metrics::new()), stop.clone())?;
    let mut pre = Preprocessor::default();
    let (mut saved, mut frames, mut crowded) = (0, 0u64, 0u64);
    while saved < args.count && !stop.load(Ordering::Relaxed) {
        let frame = match slot.take(Duration::from_millis(200)) {
            Taken::Frame(frame) => frame,
            Taken::Empty => continue,
            Taken::Closed(source::slot::Closed::Failed(msg)) => bail!("{msg}"),
            Taken::Closed(_) => break,
        };
        frames += 1;
        let faces = pipeline.detect(&frame.gray);
        // With two faces in view we could not tell whose face is whose: skip the frame.
        if faces.len() != 1 {
            crowded += (faces.len() > 1) as u64;
            continue;
        }
        let crop = face_crop(&mut pre, &frame.rgb, faces[0], args.size);
        let path = dir.join(format!("{next:05}.png"));
        lookout::image_io::write_png(&crop, &path)?;
        next += 1;
        saved += 1;
        eprint!("\r{saved}/{} saved ({frames} frames)", args.count);
    }
    stop.store(true, Ordering::Relaxed);
    slot.close(source::slot::Closed::Stopped);
    eprintln!();
    eprintln!(
        "{saved} crops in {} ({frames} frames read, {crowded} with more than one face skipped)",
        dir.display()
    );
    Ok(if saved < args.count { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Numbering continues after the crops already there, so a second session adds to the first.
fn first_free_number(dir: &Path) -> anyhow::Result<u64> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?;
    let highest = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.path().file_stem()?.to_str()?.parse::<u64>().ok())
        .max();
    Ok(highest.map_or(1, |n| n + 1))
}
