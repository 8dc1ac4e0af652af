//! Loading the models a config names, with the checks the daemon relies on (task, labels),
//! and the face model built into the binary for a Pi that has none on disk yet.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::identity::gallery::{Gallery, GalleryError};
use crate::settings::{FaceSettings, IdentitySettings, TextSettings};
use lookout_vision::face::embed::{EmbedError, FaceEmbedder};
use lookout_vision::model::{Model, ModelError, Task};

/// The shipped face classifier, so `lookout run` works before any model is copied over.
const BUILTIN_FACE: &[u8] = include_bytes!("../../models/face.onnx");

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{path}: is a {found:?} model; {role} needs a {wanted:?} model")]
    WrongTask { path: PathBuf, role: &'static str, found: Task, wanted: Task },
    #[error("{path}: has no labels")]
    NoLabels { path: PathBuf },
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Gallery(#[from] GalleryError),
}

/// What the face stage runs: the classifier, or (gallery mode) the embedding model with the
/// gallery it compares against.
#[derive(Debug, Clone)]
pub enum FaceModels {
    Classifier(Loaded),
    Identity(IdentityModels),
}

/// Gallery mode's files, loaded and checked against each other.
#[derive(Debug, Clone)]
pub struct IdentityModels {
    pub embedder: FaceEmbedder,
    pub gallery: Arc<Gallery>,
    pub settings: IdentitySettings,
}

impl IdentityModels {
    /// Distances at or under this name a person.
    pub fn threshold(&self) -> f32 {
        self.settings.max_distance.unwrap_or(self.embedder.threshold())
    }

    pub fn describe(&self) -> String {
        let names: Vec<&str> = self.gallery.people.iter().map(|p| p.name.as_str()).collect();
        format!(
            "gallery {} ({} people: {}), embedding {} (sha256 {}…), threshold {}",
            self.settings.gallery.display(),
            names.len(),
            if names.is_empty() { "none".to_string() } else { names.join(", ") },
            self.settings.embed_model.display(),
            &self.embedder.model().sha256[..12],
            self.threshold()
        )
    }
}

/// The face stage's models: gallery mode when `[face] gallery` is set, else the classifier.
pub fn load_face_models(config: &FaceSettings) -> Result<FaceModels, LoadError> {
    match &config.identity {
        Some(identity) => Ok(FaceModels::Identity(load_identity(identity)?)),
        None => Ok(FaceModels::Classifier(load_face(config)?)),
    }
}

/// The embedding and landmark models and the gallery, which must be made with that model.
pub fn load_identity(settings: &IdentitySettings) -> Result<IdentityModels, LoadError> {
    let embedder = FaceEmbedder::load(&settings.landmarks, &settings.embed_model)?;
    let model = embedder.model();
    let dims = model.meta.embedding.as_ref().map_or(0, |e| e.dims);
    let gallery = Gallery::load(&settings.gallery, &model.sha256, dims)?;
    Ok(IdentityModels { embedder, gallery: Arc::new(gallery), settings: settings.clone() })
}

/// A model and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub model: Arc<Model>,
    /// The file, or `None` for the built-in model.
    pub path: Option<PathBuf>,
}

impl Loaded {
    pub fn describe(&self) -> String {
        let origin = match &self.path {
            Some(p) => p.display().to_string(),
            None => "built-in face.onnx".into(),
        };
        format!(
            "{origin} (sha256 {}…, {} labels)",
            &self.model.sha256[..12],
            self.model.meta.labels.len()
        )
    }
}

/// The face model: the configured file, else (with `builtin_fallback`) the built-in one.
pub fn load_face(config: &FaceSettings) -> Result<Loaded, LoadError> {
    if !config.model.exists() && config.builtin_fallback {
        let model = Model::from_bytes(BUILTIN_FACE, Path::new("face.onnx (built in)"))?;
        return Ok(Loaded { model: Arc::new(model), path: None });
    }
    load_file(&config.model, "the face classifier", Task::Classify)
}

/// The text model: a CTC sequence model or a character classifier.
pub fn load_text(config: &TextSettings) -> Result<Loaded, LoadError> {
    let model = Model::load(&config.model)?;
    if model.meta.labels.is_empty() {
        return Err(LoadError::NoLabels { path: config.model.clone() });
    }
    Ok(Loaded { model: Arc::new(model), path: Some(config.model.clone()) })
}

/// Loads `path` and insists on `task`.
pub fn load_file(path: &Path, role: &'static str, wanted: Task) -> Result<Loaded, LoadError> {
    let model = Model::load(path)?;
    if model.meta.task != wanted {
        return Err(LoadError::WrongTask {
            path: path.to_path_buf(),
            role,
            found: model.meta.task,
            wanted,
        });
    }
    if model.meta.labels.is_empty() {
        return Err(LoadError::NoLabels { path: path.to_path_buf() });
    }
    Ok(Loaded { model: Arc::new(model), path: Some(path.to_path_buf()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    #[test]
    fn builtin_face_model_is_used_when_the_file_is_missing() {
        let defaults = Settings::defaults().face.unwrap();
        let config = FaceSettings { model: "/nonexistent/face.onnx".into(), ..defaults };
        let loaded = load_face(&config).unwrap();
        assert!(loaded.path.is_none());
        assert_eq!(loaded.model.meta.labels, vec!["me", "other"]);
        let strict = FaceSettings { builtin_fallback: false, ..config };
        let err = load_face(&strict).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/face.onnx"), "{err}");
    }

    #[test]
    fn a_ctc_model_is_not_a_face_classifier() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/digits.onnx");
        let err = load_file(&path, "the face classifier", Task::Classify).unwrap_err().to_string();
        assert!(err.contains("digits.onnx") && err.contains("Ctc"), "{err}");
    }
}
