//! A face box in, a descriptor out: dlib's 5 landmarks in the box, the aligned chip, the
//! embedding model (`lookout.task = embed`, e.g. `models/face_embed.onnx`). Two descriptors
//! of one person lie closer than the model's threshold (Euclidean).

use std::path::Path;
use std::sync::Arc;

use super::chip::{chip_details, extract_chip, RECOGNITION_PADDING};
use super::landmarks::{LandmarkError, ShapePredictor};
use super::{predictor_box, Point};
use crate::cascade::Rect;
use crate::model::{Model, ModelError, Task};
use crate::preprocess::{Pixels, Preprocessor};

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Landmarks(#[from] LandmarkError),
    #[error("{path}: is a {found:?} model; identifying faces needs an embedding model (lookout.task = embed)")]
    NotEmbedding { path: String, found: Task },
    #[error("{path}: takes {width}x{height}x{channels} input; the aligned face chip is {side}x{side} RGB")]
    ChipSize { path: String, width: u32, height: u32, channels: u32, side: usize },
}

/// A face turned further than this from the camera ([`FaceSample::frontal`]) is not used for
/// identification: neither enrolled nor compared.
pub const MIN_FRONTAL: f32 = 0.35;

/// One face as the identity stage sees it.
#[derive(Debug, Clone)]
pub struct FaceSample {
    pub landmarks: [Point; 5],
    /// The aligned chip, `side`×`side` RGB, interleaved.
    pub chip: Vec<u8>,
    pub side: usize,
    pub descriptor: Vec<f32>,
    /// 1 for a face looking into the camera, falling towards 0 as it turns away (from where
    /// the nose sits between the eyes).
    pub frontal: f32,
    /// Variance of the Laplacian of the chip's gray values: low for a blurred face (motion,
    /// focus). Only comparable between chips of one face.
    pub sharpness: f32,
}

/// The landmark predictor and the embedding model, shared; cheap to clone for another thread.
#[derive(Clone)]
pub struct FaceEmbedder {
    predictor: Arc<ShapePredictor>,
    model: Arc<Model>,
    side: usize,
    threshold: f32,
}

impl std::fmt::Debug for FaceEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceEmbedder").field("model", &self.model.sha256).finish()
    }
}

impl FaceEmbedder {
    /// Loads both files; the model must be an embedding model for square RGB chips.
    pub fn load(predictor: &Path, model: &Path) -> Result<FaceEmbedder, EmbedError> {
        // The model first: its load's transient copies are handed back before the landmark
        // model takes its place, so the two peaks do not add up.
        let embedding = Arc::new(Model::load(model)?);
        let predictor = Arc::new(ShapePredictor::load(predictor)?);
        crate::memory::release_free_memory();
        FaceEmbedder::new(predictor, embedding, model)
    }

    /// `name` is where the model came from, for errors.
    pub fn new(
        predictor: Arc<ShapePredictor>,
        model: Arc<Model>,
        name: &Path,
    ) -> Result<FaceEmbedder, EmbedError> {
        let meta = &model.meta;
        let path = name.display().to_string();
        let Some(spec) = meta.embedding.as_ref().filter(|_| meta.task == Task::Embed) else {
            return Err(EmbedError::NotEmbedding { path, found: meta.task });
        };
        let input = &meta.input;
        if input.width != input.height || input.channels != 3 {
            return Err(EmbedError::ChipSize {
                path,
                width: input.width,
                height: input.height,
                channels: input.channels,
                side: input.width as usize,
            });
        }
        let (threshold, side) = (spec.threshold, input.width as usize);
        Ok(FaceEmbedder { predictor, model, side, threshold })
    }

    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// Descriptors closer than this are one person (the model's `lookout.embedding`).
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Landmarks, chip and descriptor of the face the cascade found at `face`. `image` is RGB
    /// (a gray frame gives gray in all three channels of the chip).
    pub fn describe(
        &self,
        pre: &mut Preprocessor,
        image: Pixels,
        face: Rect,
    ) -> Result<FaceSample, ModelError> {
        let landmarks = self.predictor.predict(image, predictor_box(face));
        let details = chip_details(&landmarks, self.side, RECOGNITION_PADDING);
        let chip = extract_chip(image, &details);
        let chip =
            if image.channels == 1 { chip.iter().flat_map(|&v| [v, v, v]).collect() } else { chip };
        let descriptor = self.describe_chip(pre, &chip)?;
        let sharpness = sharpness(&chip, self.side);
        Ok(FaceSample {
            landmarks,
            chip,
            side: self.side,
            descriptor,
            frontal: frontal(&landmarks),
            sharpness,
        })
    }

    /// The descriptor of an aligned RGB chip (`side`×`side`, interleaved).
    pub fn describe_chip(
        &self,
        pre: &mut Preprocessor,
        chip: &[u8],
    ) -> Result<Vec<f32>, ModelError> {
        let pixels = Pixels { width: self.side, height: self.side, channels: 3, data: chip };
        let mut tensor = Vec::new();
        pre.prepare(&self.model.meta.input, pixels, pixels.whole(), &mut tensor);
        self.model.run(&tensor)
    }
}

/// Euclidean distance between two descriptors.
pub fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
}

/// How squarely a face looks at the camera: the nose halfway between the eyes gives 1; a nose
/// under one eye (a face turned about 45°) gives 0.
fn frontal(p: &[Point; 5]) -> f32 {
    let eye = |a: Point, b: Point| ((a.x + b.x) as f32 / 2.0, (a.y + b.y) as f32 / 2.0);
    let (right, left) = (eye(p[0], p[1]), eye(p[2], p[3]));
    let span = ((right.0 - left.0).powi(2) + (right.1 - left.1).powi(2)).sqrt();
    if span < 1.0 {
        return 0.0;
    }
    let middle = (right.0 + left.0) / 2.0;
    let offset = (p[4].x as f32 - middle).abs() / (span / 2.0);
    (1.0 - offset).clamp(0.0, 1.0)
}

/// Variance of the 4-neighbour Laplacian over the inside of an RGB chip's gray values.
fn sharpness(chip: &[u8], side: usize) -> f32 {
    if side < 3 || chip.len() < side * side * 3 {
        return 0.0;
    }
    let gray: Vec<f32> =
        chip.chunks_exact(3).map(|p| (p[0] as f32 + p[1] as f32 + p[2] as f32) / 3.0).collect();
    let (mut sum, mut sum_sq, mut n) = (0f64, 0f64, 0f64);
    for y in 1..side - 1 {
        for x in 1..side - 1 {
            let i = y * side + x;
            let l = gray[i - 1] + gray[i + 1] + gray[i - side] + gray[i + side] - 4.0 * gray[i];
            sum += l as f64;
            sum_sq += (l * l) as f64;
            n += 1.0;
        }
    }
    let mean = sum / n;
    (sum_sq / n - mean * mean) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontal_faces_score_high_turned_faces_low() {
        let pt = |x, y| Point { x, y };
        let straight = [pt(80, 40), pt(60, 40), pt(20, 40), pt(40, 40), pt(50, 70)];
        assert_eq!(frontal(&straight), 1.0);
        let turned = [pt(80, 40), pt(60, 40), pt(20, 40), pt(40, 40), pt(75, 70)];
        assert!(frontal(&turned) < 0.2, "{}", frontal(&turned));
    }

    #[test]
    fn a_blurred_chip_is_less_sharp() {
        let side = 20;
        let edges: Vec<u8> =
            (0..side * side).flat_map(|i| [((i % side) % 2 * 255) as u8; 3]).collect();
        let flat = vec![128u8; side * side * 3];
        assert!(sharpness(&edges, side) > 1000.0 * sharpness(&flat, side).max(1.0));
    }

    #[test]
    fn distance_is_euclidean() {
        assert_eq!(distance(&[0.0, 3.0], &[4.0, 0.0]), 5.0);
    }
}
