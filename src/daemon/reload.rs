//! The one owner of reload. A SIGHUP (read the configuration again) and a model file replaced
//! on disk (`scp face.onnx pi:...`) both come to this thread, which checks everything off the
//! frame loop with the same [`prepare`] as `lookout check` and hands the loop a whole
//! whole new generation: the settings and the pipeline built from them, swapped in at one point. A
//! failed reload hands over nothing, so what runs stays exactly as it was. The files watched
//! are always the running settings' files: a SIGHUP that moves `face.model` moves the watch.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::prepare::{build_pipeline, prepare, PrepareError};
use crate::config::ConfigError;
use crate::logging::chain;
use crate::pipeline::Pipeline;
use crate::service::metrics::Metrics;
use crate::settings::{ModelRole, Settings};

/// Reads the configuration again for a SIGHUP (with the command line's overrides applied).
pub type Loader = Box<dyn Fn() -> Result<Settings, ConfigError> + Send>;

/// What the reload thread tells the frame loop, in order.
pub enum Reload {
    /// A SIGHUP is being handled (the loop tells systemd `RELOADING=1`).
    Begun,
    /// New settings and the pipeline built from them, from a SIGHUP: swap everything.
    Settings { settings: Arc<Settings>, pipeline: Pipeline },
    /// A model file changed: the running settings' pipeline with the new model.
    Model(ModelRole, Pipeline),
    /// The SIGHUP's configuration or models were refused; nothing changes.
    Refused,
}

#[derive(Debug, thiserror::Error)]
enum ReloadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Prepare(#[from] PrepareError),
}

/// How often the thread looks at the SIGHUP flag and the stop flag.
const TICK: Duration = Duration::from_millis(50);

pub struct ReloadOwner {
    settings: Arc<Settings>,
    loader: Option<Loader>,
    watched: Vec<Watched>,
    requested: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    reloads: Sender<Reload>,
}

impl ReloadOwner {
    /// The owner for what runs now: `running` with `pipeline` built from it. `requested` is the
    /// SIGHUP flag; without a `loader` a SIGHUP re-checks the running settings' files.
    pub fn new(
        running: Arc<Settings>,
        pipeline: &Pipeline,
        loader: Option<Loader>,
        requested: Arc<AtomicBool>,
        metrics: Arc<Metrics>,
        reloads: Sender<Reload>,
    ) -> ReloadOwner {
        let watched = watch(&running, pipeline);
        ReloadOwner { settings: running, loader, watched, requested, metrics, reloads }
    }

    /// Runs the owner on its own thread until `stop` is raised or the frame loop is gone.
    pub fn spawn(self, stop: Arc<AtomicBool>) -> std::io::Result<()> {
        std::thread::Builder::new().name("reload".into()).spawn(move || self.run(&stop))?;
        Ok(())
    }

    fn run(mut self, stop: &AtomicBool) {
        let mut next_poll = Instant::now() + self.settings.reload.poll;
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(TICK);
            let alive = if self.requested.swap(false, Ordering::Relaxed) {
                self.reload_settings()
            } else if Instant::now() >= next_poll {
                next_poll = Instant::now() + self.settings.reload.poll;
                self.reload_changed_models()
            } else {
                true
            };
            if !alive {
                return;
            }
        }
    }

    /// SIGHUP: new settings, checked like `lookout check` checks them. Returns false when the
    /// frame loop is gone.
    fn reload_settings(&mut self) -> bool {
        if self.reloads.send(Reload::Begun).is_err() {
            return false;
        }
        let checked = self.load().and_then(|settings| {
            let prepared = prepare(&settings)?;
            Ok((settings, prepared.pipeline))
        });
        match checked {
            Ok((settings, pipeline)) => {
                let settings = Arc::new(settings);
                self.watched = watch(&settings, &pipeline);
                self.settings = settings.clone();
                self.reloads.send(Reload::Settings { settings, pipeline }).is_ok()
            }
            Err(e) => {
                log::error!("reload: {}; keeping the running configuration", chain(&e));
                self.metrics.model_reload_failed();
                self.reloads.send(Reload::Refused).is_ok()
            }
        }
    }

    fn load(&self) -> Result<Settings, ReloadError> {
        match &self.loader {
            Some(loader) => Ok(loader()?),
            None => Ok((*self.settings).clone()),
        }
    }

    /// Model files that changed and have settled: the running settings with the new model.
    fn reload_changed_models(&mut self) -> bool {
        let changed: Vec<ModelRole> =
            self.watched.iter_mut().filter_map(|w| w.settled().then_some(w.role)).collect();
        for role in changed {
            match build_pipeline(&self.settings) {
                Ok(pipeline) => {
                    if self.reloads.send(Reload::Model(role, pipeline)).is_err() {
                        return false;
                    }
                }
                Err(e) => {
                    log::error!("model reload rejected, the running model stays: {}", chain(&e));
                    self.metrics.model_reload_failed();
                }
            }
        }
        true
    }
}

/// The model files of `settings` (when it watches them), each with the version `pipeline`
/// runs; a face model missing on disk (the built-in one runs) is loaded when it appears.
fn watch(settings: &Settings, pipeline: &Pipeline) -> Vec<Watched> {
    if !settings.reload.watch_models {
        return Vec::new();
    }
    let loaded_from = |role| match role {
        ModelRole::Face => pipeline.face_model().and_then(|l| l.path.clone()),
        ModelRole::Text => pipeline.text_model().and_then(|l| l.path.clone()),
        ModelRole::Gallery => pipeline.identity().map(|i| i.settings.gallery.clone()),
    };
    settings
        .model_files()
        .into_iter()
        .map(|(role, path)| {
            let running = (loaded_from(role).as_ref() == Some(&path)).then(|| stamp(&path));
            Watched { role, path, running: running.flatten(), pending: None }
        })
        .collect()
}

/// (length, modification time) of a file.
type Stamp = (u64, SystemTime);

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// A model file and the version of it that runs.
struct Watched {
    role: ModelRole,
    path: PathBuf,
    /// The version now running (`None`: none from this file).
    running: Option<Stamp>,
    /// A new version seen at the last poll.
    pending: Option<Stamp>,
}

impl Watched {
    /// True once a changed file has stayed the same for a whole poll interval, so a copy in
    /// progress is not mistaken for a broken model.
    fn settled(&mut self) -> bool {
        let now = stamp(&self.path);
        if now.is_none() || now == self.running {
            self.pending = None;
            return false;
        }
        if now == self.pending {
            self.running = now;
            self.pending = None;
            return true;
        }
        self.pending = now;
        false
    }
}
