//! What `lookout check`, `lookout run` and every reload verify before anything runs, in one
//! function, so the three can never disagree: the models load and fit their roles, every
//! action's sound decodes to the end, every action answers a label the face model can decide,
//! and a replay folder has images.

use crate::actions::audio::{AudioError, AudioOptions, AudioSink, Overlap, RodioSink, SoundInfo};
use crate::config::{OverlapPolicy, SourceSpec};
use crate::pipeline::models::{load_face_models, load_text, LoadError, Loaded};
use crate::pipeline::{Pipeline, PipelineError};
use crate::settings::{ActionSettings, AudioSettings, Settings};
use crate::source::{replay, SourceError};

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Model(#[from] LoadError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error("[[action]] on = {on:?}")]
    Sound {
        on: String,
        #[source]
        source: AudioError,
    },
    #[error(
        "[[action]] on = {on:?} matches no label of the face model ({}); it would never run",
        labels.join(", ")
    )]
    UnknownLabel { on: String, labels: Vec<String> },
    #[error(transparent)]
    Replay(SourceError),
}

/// Settings checked against the files they name, with what the checks found.
pub struct Prepared {
    pub pipeline: Pipeline,
    /// Each action with what decoding its sound found.
    pub sounds: Vec<(ActionSettings, SoundInfo)>,
    /// The number of images in a replay folder.
    pub replay_frames: Option<usize>,
}

/// Loads the models and checks every file the settings name.
pub fn prepare(settings: &Settings) -> Result<Prepared, PrepareError> {
    let pipeline = build_pipeline(settings)?;
    // With a text model on, actions may answer texts, which no list can hold. In gallery mode
    // an action may name someone not enrolled yet (or removed): said, not refused.
    let labels = match (pipeline.identity(), &settings.text) {
        (None, None) => pipeline.face_labels(),
        _ => Vec::new(),
    };
    if pipeline.identity().is_some() {
        let known = pipeline.face_labels();
        for action in settings.actions.iter().filter(|a| !known.contains(&a.on)) {
            log::warn!(
                "[[action]] on = {:?} names nobody in the gallery ({}); it runs once they are enrolled",
                action.on,
                known.join(", ")
            );
        }
    }
    let mut sounds = Vec::new();
    for action in &settings.actions {
        let info = action
            .sound
            .check()
            .map_err(|source| PrepareError::Sound { on: action.on.clone(), source })?;
        if !labels.is_empty() && !labels.contains(&action.on) {
            return Err(PrepareError::UnknownLabel { on: action.on.clone(), labels });
        }
        sounds.push((action.clone(), info));
    }
    let replay_frames = match &settings.source.input {
        SourceSpec::Replay(dir) => {
            Some(replay::list_images(dir).map_err(PrepareError::Replay)?.len())
        }
        SourceSpec::Camera(_) => None,
    };
    Ok(Prepared { pipeline, sounds, replay_frames })
}

/// Loads the models the settings name and builds the pipeline around them.
pub fn build_pipeline(settings: &Settings) -> Result<Pipeline, PrepareError> {
    let face = settings.face.as_ref().map(load_face_models).transpose()?;
    let text = settings.text.as_ref().map(load_text).transpose()?;
    Ok(Pipeline::new(settings, face, text)?)
}

/// The models a pipeline runs, for log lines.
pub fn describe_models(pipeline: &Pipeline) -> String {
    let text = pipeline.text_model().map(Loaded::describe).unwrap_or_else(|| "off".into());
    format!("{}; text {text}", pipeline.describe_face())
}

/// The real speaker for `[audio]`; with audio off, one that never opens a device.
pub fn default_audio(settings: Option<&AudioSettings>) -> Box<dyn AudioSink> {
    let options = match settings {
        Some(a) => AudioOptions {
            overlap: match a.overlap {
                OverlapPolicy::Skip => Overlap::Skip,
                OverlapPolicy::Queue => Overlap::QueueOne,
            },
            retry: a.retry,
            device: a.device.clone(),
        },
        None => AudioOptions::default(),
    };
    Box::new(RodioSink::new(options))
}
