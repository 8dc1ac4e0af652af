//! `lookout run`, `lookout check` and `lookout capture`: the daemon and its two helpers, all
//! reading the same configuration.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use lookout::actions::audio::Sound;
use lookout::config::{Config, ConfigError, SourceSpec};
use lookout::daemon::{self, Control, Devices, RunOptions};
use lookout::service::metrics::Metrics;
use lookout::service::notify::Notifier;
use lookout::settings::Settings;
use lookout::source::{self, spawn_capture, CaptureOptions, FrameSlot, Taken};
use lookout_vision::preprocess::{face_crop, Preprocessor};

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
    /// The settings with the command line applied: the raw file (or the defaults), the
    /// overrides, then the one validation every command and reload shares. Paths given on the
    /// command line are relative to the working directory, those in the file to the file's
    /// folder.
    fn load(&self, events: Option<&Path>) -> Result<Settings, ConfigError> {
        self.load_edited(|raw| {
            if let Some(events) = events {
                raw.events.path = events.to_path_buf();
            }
        })
    }

    /// Like [`ConfigArgs::load`], with `edit` applied to the raw configuration before it is
    /// validated (a command's own flags).
    pub(super) fn load_edited(
        &self,
        edit: impl FnOnce(&mut Config),
    ) -> Result<Settings, ConfigError> {
        let (mut raw, origin) = match &self.config {
            Some(path) => (Config::load(path)?, path.as_path()),
            None => (Config::default(), Path::new("built-in defaults")),
        };
        if let Some(source) = &self.source {
            raw.source.input = source.clone();
        }
        edit(&mut raw);
        Settings::new(raw, origin)
    }

    /// Whether a frame source was given on the command line.
    pub(super) fn has_source(&self) -> bool {
        self.source.is_some()
    }
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    lookout::logging::init();
    let settings = args.config.load(args.events.as_deref())?;
    let control = Control::default();
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, control.stop.clone())
            .context("installing signal handlers")?;
    }
    signal_hook::flag::register(signal_hook::consts::SIGHUP, control.reload.clone())
        .context("installing signal handlers")?;
    let devices = Devices {
        source: source::from_settings(&settings.source),
        audio: daemon::default_audio(settings.audio.as_ref()),
        notifier: Notifier::from_env(),
    };
    let RunArgs { config, events, exit_at_end } = args;
    let options = RunOptions {
        exit_at_end,
        loader: Some(Box::new(move || config.load(events.as_deref()))),
        ..RunOptions::default()
    };
    let summary = daemon::run(settings, devices, control, options)?;
    log::info!(
        "{} frames in {:.1} s ({:.1} fps), {} decisions, {} frames dropped; {} scanned ({} on \
         moving regions only), {} stopped by the motion gate; per frame {:.2} ms, per face model \
         run {:.3} ms ({} runs, {} faces seen)",
        summary.frames,
        summary.seconds,
        summary.frames as f64 / summary.seconds.max(1e-9),
        summary.decisions,
        summary.dropped,
        summary.detections,
        summary.regions_only,
        summary.gated,
        summary.frame_ms,
        summary.inference_ms,
        summary.inference_runs,
        summary.faces
    );
    Ok(ExitCode::SUCCESS)
}

/// Everything `run` would check, without running: the same settings, then the same
/// [`daemon::prepare`]; prints what it found and the effective settings.
pub fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let settings = args.config.load(None)?;
    let prepared = daemon::prepare(&settings)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "# lookout check: {}: OK", settings.origin.display())?;
    match &settings.motion {
        Some(m) => writeln!(
            out,
            "# motion gate: on: threshold {}, blobs of {}+ px, background {:.1} s, light switch \
             at {:.0}%, scans {} on motion, {:.1} s after it, every {:.1} s anyway; {} mask(s)",
            m.threshold,
            m.min_area,
            m.background.as_secs_f64(),
            m.lightswitch * 100.0,
            match m.scan {
                lookout::config::ScanArea::Regions => "the moving regions",
                lookout::config::ScanArea::Frame => "whole frames",
            },
            m.linger.as_secs_f64(),
            m.full_scan.as_secs_f64(),
            m.masks.len()
        )?,
        None => writeln!(out, "# motion gate: off (every frame goes through the cascade)")?,
    }
    if let Some(face) = prepared.pipeline.face_model() {
        writeln!(out, "# face model: {}", face.describe())?;
        writeln!(
            out,
            "#   labels {:?}, input {}",
            face.model.meta.labels,
            describe_input(&face.model.meta.input)
        )?;
    }
    if let Some(identity) = prepared.pipeline.identity() {
        writeln!(out, "# face identification: {}", identity.describe())?;
        writeln!(
            out,
            "#   labels {:?}, landmarks {}, {} sample(s) per visit, unknown visitors {}",
            prepared.pipeline.face_labels(),
            identity.settings.landmarks.display(),
            identity.settings.samples,
            match &identity.settings.unknown {
                Some(u) => format!(
                    "kept in {} (at most {}, {} MB)",
                    u.dir.display(),
                    u.max_count,
                    u.max_bytes >> 20
                ),
                None => "not kept".into(),
            }
        )?;
    }
    if let Some(text) = prepared.pipeline.text_model() {
        writeln!(out, "# text model: {} ({:?})", text.describe(), text.model.meta.task)?;
        writeln!(out, "#   input {}", describe_input(&text.model.meta.input))?;
    }
    for (action, info) in &prepared.sounds {
        let name = match &action.sound {
            Sound::Chime => "built-in chime".into(),
            Sound::File(path) => path.display().to_string(),
        };
        writeln!(
            out,
            "# on {:?}: {name}: {:.1} s, {} Hz, {} channel(s)",
            action.on,
            info.duration.as_secs_f64(),
            info.sample_rate,
            info.channels
        )?;
    }
    if let (Some(frames), SourceSpec::Replay(dir)) =
        (prepared.replay_frames, &settings.source.input)
    {
        writeln!(out, "# replay: {frames} frames in {}", dir.display())?;
    }
    write!(out, "{}", settings.to_toml())?;
    Ok(ExitCode::SUCCESS)
}

fn describe_input(spec: &lookout_vision::preprocess::InputSpec) -> String {
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
    let mut settings = args.config.load(None)?;
    // Only the cascade runs: the crops are for training a model, not judged by one.
    settings.face = None;
    settings.text = None;
    let mut pipeline = daemon::build_pipeline(&settings)?;
    let dir = args.out.join(&args.label);
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let mut next = first_free_number(&dir)?;

    eprintln!("capturing {} faces of {:?} into {}", args.count, args.label, dir.display());
    let mut pre = Preprocessor::default();
    let mut saved = 0;
    let seen = one_face_frames(&settings, &mut pipeline, |frame, face| {
        let crop = face_crop(&mut pre, &frame.rgb, face, args.size);
        let path = dir.join(format!("{next:05}.png"));
        lookout_vision::image_io::write_png(&crop, &path)?;
        next += 1;
        saved += 1;
        eprint!("\r{saved}/{} saved", args.count);
        Ok(saved < args.count)
    })?;
    eprintln!();
    eprintln!(
        "{saved} crops in {} ({} frames read, {} with more than one face skipped)",
        dir.display(),
        seen.frames,
        seen.crowded
    );
    Ok(if saved < args.count { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// What [`one_face_frames`] went through.
pub(super) struct Seen {
    pub frames: u64,
    pub crowded: u64,
}

/// Reads frames from the settings' source (in colour) and calls `each` with every frame that
/// holds exactly one face (with two in view, whose face is whose cannot be told), until `each`
/// returns false, the source ends, or Ctrl-C.
pub(super) fn one_face_frames(
    settings: &Settings,
    pipeline: &mut lookout::pipeline::Pipeline,
    mut each: impl FnMut(&lookout::source::Frame, lookout_vision::cascade::Rect) -> anyhow::Result<bool>,
) -> anyhow::Result<Seen> {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone())
        .context("installing signal handlers")?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, stop.clone())
        .context("installing signal handlers")?;
    let slot = Arc::new(FrameSlot::new());
    let options = CaptureOptions::new(&settings.source);
    let source = source::from_settings(&settings.source);
    eprintln!("reading frames from {}", source.describe());
    spawn_capture(source, options, slot.clone(), Arc::new(Metrics::new()), stop.clone())?;
    let mut seen = Seen { frames: 0, crowded: 0 };
    let result = loop {
        if stop.load(Ordering::Relaxed) {
            break Ok(seen);
        }
        let frame = match slot.take(Duration::from_millis(200)) {
            Taken::Frame(captured) => match captured.decode(true) {
                Ok(frame) => frame,
                Err(e) => {
                    eprintln!("skipping a frame: {e}");
                    continue;
                }
            },
            Taken::Empty => continue,
            Taken::Closed(source::slot::Closed::Failed(msg)) => break Err(anyhow::anyhow!(msg)),
            Taken::Closed(_) => break Ok(seen),
        };
        seen.frames += 1;
        let faces = pipeline.detect(&frame.gray);
        if faces.len() != 1 {
            seen.crowded += (faces.len() > 1) as u64;
            continue;
        }
        match each(&frame, faces[0]) {
            Ok(true) => {}
            Ok(false) => break Ok(seen),
            Err(e) => break Err(e),
        }
    };
    stop.store(true, Ordering::Relaxed);
    slot.close(source::slot::Closed::Stopped);
    result
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
