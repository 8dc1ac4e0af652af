//! One frame in, decisions out: gray → (downscale) → cascade → face crops from the full frame →
//! the shared preprocessing → tract classifier → tracker and vote; plus the optional text
//! region. Everything here is synchronous and deterministic; threads live in `daemon`.

pub mod models;
pub mod text;
pub mod tracker;

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::settings::{Settings, TextSettings};
use crate::source::Frame;
use lookout_vision::cascade::{self, DetectParams, Detector, Rect};
use lookout_vision::imgproc::{resize_bilinear_exact, GrayImage, ResizeScratch};
use lookout_vision::model::{ModelError, Reading, Task};
use lookout_vision::preprocess::{Pixels, Preprocessor};

use crate::identity::tracks::{IdentifyOptions, IdentifyStage};
use crate::identity::worker::Worker;
pub use models::{FaceModels, IdentityModels, LoadError, Loaded};
use text::Stability;
use tracker::{Observation, Tracker, TrackerOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Face,
    Text,
}

/// Something the daemon acts on: a face track's label was voted in, or a text became stable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub kind: Kind,
    pub label: String,
    pub confidence: f32,
    /// [x, y, width, height] in frame pixels (the face, or the text region).
    #[serde(rename = "box")]
    pub rect: [i32; 4],
    /// Face decisions: the track (one per visit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track: Option<u64>,
    /// Character classifiers: the best labels with their probabilities.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<(String, f32)>,
    /// Which model decided (sha256 of the ONNX file).
    pub model_sha256: String,
    /// Gallery mode: the mean embedding distance to the named person (to the closest enrolled
    /// person for `unknown`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<f32>,
    /// Gallery mode, `unknown`: the id its chip was kept under, for
    /// `lookout enroll --from-unknown ID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_id: Option<String>,
}

/// A face in this frame, classified and tracked.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenFace {
    pub rect: Rect,
    pub label: String,
    pub confidence: f32,
    pub track: u64,
    /// Someone the owner knows: the classifier's first label ("me"), or an enrolled name.
    pub known: bool,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub faces: Vec<SeenFace>,
    pub text: Option<Reading>,
    pub decisions: Vec<Decision>,
    /// Time in the classifier, per face.
    pub inference: Vec<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Cascade(#[from] cascade::CascadeError),
    #[error(transparent)]
    Model(#[from] LoadError),
    #[error("cannot start the embedding thread")]
    Thread(#[source] std::io::Error),
}

enum FaceStage {
    Classify { loaded: Loaded, tracker: Tracker },
    Identify { models: IdentityModels, stage: Box<IdentifyStage> },
}

struct TextStage {
    loaded: Loaded,
    settings: TextSettings,
    stability: Stability,
    warned_outside: bool,
}

pub struct Pipeline {
    detector: Detector,
    params: DetectParams,
    detect_width: Option<NonZeroU32>,
    threads: usize,
    face: Option<FaceStage>,
    text: Option<TextStage>,
    pre: Preprocessor,
    tensor: Vec<f32>,
    small: GrayImage,
    /// A motion region cut out of the frame.
    crop: GrayImage,
    scratch: ResizeScratch,
}

impl Pipeline {
    /// Builds the pipeline from settings and the models they name: `face` runs when both
    /// `settings.face` and the face model are there, and the same for `text`. The reload owner
    /// builds a new pipeline for every change, so tracks and text readings start over with it.
    pub fn new(
        settings: &Settings,
        face: Option<FaceModels>,
        text: Option<Loaded>,
    ) -> Result<Pipeline, PipelineError> {
        let d = &settings.detect;
        let cascade = cascade::load_or_default(d.cascade.as_deref())?;
        let face = match settings.face.as_ref().zip(face) {
            None => None,
            Some((f, models)) => {
                let tracker = TrackerOptions {
                    iou: f.track_iou,
                    min_confidence: f.min_confidence,
                    window: f.vote_window.get(),
                    needed: f.vote_needed.get(),
                    timeout_frames: f.track_timeout_frames,
                };
                Some(match models {
                    FaceModels::Classifier(loaded) => {
                        FaceStage::Classify { loaded, tracker: Tracker::new(tracker) }
                    }
                    FaceModels::Identity(models) => {
                        let options = IdentifyOptions {
                            tracker,
                            samples: models.settings.samples.get(),
                            threshold: models.threshold(),
                            unknown: models.settings.unknown.clone(),
                        };
                        let worker = Worker::spawn(models.embedder.clone())
                            .map_err(PipelineError::Thread)?;
                        let sha = models.embedder.model().sha256.clone();
                        let stage = Box::new(IdentifyStage::new(
                            options,
                            models.gallery.clone(),
                            sha,
                            worker,
                        ));
                        FaceStage::Identify { models, stage }
                    }
                })
            }
        };
        let text = settings.text.as_ref().zip(text).map(|(t, loaded)| TextStage {
            loaded,
            settings: t.clone(),
            stability: Stability::new(t.stable_frames.get()),
            warned_outside: false,
        });
        Ok(Pipeline {
            detector: Detector::new(cascade),
            params: DetectParams {
                scale_factor: d.scale_factor,
                min_neighbors: d.min_neighbors,
                min_size: (d.min_size, d.min_size),
                max_size: None,
            },
            detect_width: d.detect_width,
            threads: d.threads.get(),
            face,
            text,
            pre: Preprocessor::default(),
            tensor: Vec::new(),
            small: GrayImage { width: 0, height: 0, pixels: Vec::new() },
            crop: GrayImage { width: 0, height: 0, pixels: Vec::new() },
            scratch: ResizeScratch::default(),
        })
    }

    /// The face classifier (not in gallery mode).
    pub fn face_model(&self) -> Option<&Loaded> {
        match &self.face {
            Some(FaceStage::Classify { loaded, .. }) => Some(loaded),
            _ => None,
        }
    }

    /// Gallery mode's models and gallery.
    pub fn identity(&self) -> Option<&IdentityModels> {
        match &self.face {
            Some(FaceStage::Identify { models, .. }) => Some(models),
            _ => None,
        }
    }

    /// The labels the face stage can decide: the classifier's, or every enrolled name and
    /// `unknown`.
    pub fn face_labels(&self) -> Vec<String> {
        match &self.face {
            Some(FaceStage::Classify { loaded, .. }) => loaded.model.meta.labels.clone(),
            Some(FaceStage::Identify { models, .. }) => models
                .gallery
                .people
                .iter()
                .map(|p| p.name.clone())
                .chain([crate::identity::gallery::UNKNOWN.to_string()])
                .collect(),
            None => Vec::new(),
        }
    }

    /// The face stage for log lines.
    pub fn describe_face(&self) -> String {
        match &self.face {
            Some(FaceStage::Classify { loaded, .. }) => format!("face model {}", loaded.describe()),
            Some(FaceStage::Identify { models, .. }) => models.describe(),
            None => "face off".into(),
        }
    }

    pub fn text_model(&self) -> Option<&Loaded> {
        self.text.as_ref().map(|s| &s.loaded)
    }

    /// Whether any model reads colour.
    pub fn needs_color(&self) -> bool {
        self.identity().is_some()
            || [self.face_model(), self.text_model()]
                .into_iter()
                .flatten()
                .any(|l| l.model.meta.input.channels == 3)
    }

    /// Face boxes in full-frame pixels.
    pub fn detect(&mut self, gray: &GrayImage) -> Vec<Rect> {
        let scale = self.detect_scale(gray.width);
        self.detect_scaled(gray, scale)
    }

    /// Face boxes in full-frame pixels, looking only inside `regions` (frame pixels, not
    /// overlapping): each is cut out and scanned at the scale the whole frame would have been.
    pub fn detect_regions(&mut self, gray: &GrayImage, regions: &[Rect]) -> Vec<Rect> {
        let scale = self.detect_scale(gray.width);
        let mut faces = Vec::new();
        for r in regions {
            let (x0, y0) = (r.x.max(0) as usize, r.y.max(0) as usize);
            let x1 = ((r.x + r.width).max(0) as usize).min(gray.width);
            let y1 = ((r.y + r.height).max(0) as usize).min(gray.height);
            if x1 <= x0 || y1 <= y0 {
                continue;
            }
            let mut pixels = std::mem::take(&mut self.crop.pixels);
            pixels.clear();
            for y in y0..y1 {
                pixels.extend_from_slice(&gray.row(y)[x0..x1]);
            }
            let crop = GrayImage { width: x1 - x0, height: y1 - y0, pixels };
            let found = self.detect_scaled(&crop, scale);
            self.crop = crop;
            faces.extend(found.into_iter().map(|f| Rect {
                x: f.x + x0 as i32,
                y: f.y + y0 as i32,
                ..f
            }));
        }
        faces
    }

    /// The factor frames `width` pixels wide are scaled by for detection (`detect_width`);
    /// `None` for full size.
    fn detect_scale(&self, width: usize) -> Option<f64> {
        match self.detect_width.map(NonZeroU32::get) {
            Some(w) if width > w as usize => Some(w as f64 / width as f64),
            _ => None,
        }
    }

    fn detect_scaled(&mut self, gray: &GrayImage, scale: Option<f64>) -> Vec<Rect> {
        let scale = match scale {
            Some(s) if gray.height > 0 && gray.width > 0 => s,
            _ => return self.detector.detect(gray, &self.params, self.threads),
        };
        let (dw, dh) = (
            ((gray.width as f64 * scale).round() as usize).max(1),
            ((gray.height as f64 * scale).round() as usize).max(1),
        );
        let mut pixels = std::mem::take(&mut self.small.pixels);
        pixels.resize(dw * dh, 0);
        resize_bilinear_exact(
            &gray.pixels,
            gray.width,
            gray.height,
            &mut pixels,
            dw,
            dh,
            &mut self.scratch,
        );
        self.small = GrayImage { width: dw, height: dh, pixels };
        let mut params = self.params;
        let min = (self.params.min_size.0 as f64 * scale).round() as u32;
        params.min_size = (min, min);
        let faces = self.detector.detect(&self.small, &params, self.threads);
        let back = |v: i32| (v as f64 / scale).round() as i32;
        faces
            .into_iter()
            .map(|r| Rect {
                x: back(r.x),
                y: back(r.y),
                width: back(r.width),
                height: back(r.height),
            })
            .collect()
    }

    /// Whether the face stage follows a face or waits for a descriptor: it needs whole frames
    /// (a track must see its face to go on or to end), whatever the motion gate thinks.
    pub fn tracking(&self) -> bool {
        match &self.face {
            Some(FaceStage::Classify { tracker, .. }) => tracker.live_tracks() > 0,
            Some(FaceStage::Identify { stage, .. }) => stage.busy(),
            None => false,
        }
    }

    /// One frame: faces on the whole frame.
    pub fn process(&mut self, frame: &Frame) -> Result<Outcome, ModelError> {
        self.process_in(frame, None)
    }

    /// One frame, with faces looked for only inside `regions` (frame pixels) when given.
    pub fn process_in(
        &mut self,
        frame: &Frame,
        regions: Option<&[Rect]>,
    ) -> Result<Outcome, ModelError> {
        let mut outcome = Outcome::default();
        if self.face.is_some() {
            let boxes = match regions {
                Some(regions) => self.detect_regions(&frame.gray, regions),
                None => self.detect(&frame.gray),
            };
            if matches!(self.face, Some(FaceStage::Identify { .. })) {
                self.identify_faces(frame, &boxes, &mut outcome);
            } else {
                self.classify_faces(frame, &boxes, &mut outcome)?;
            }
        }
        self.read_text(frame, &mut outcome)?;
        Ok(outcome)
    }

    /// The end of the stream: gallery mode waits (up to `limit`) for the descriptors it asked
    /// for and decides the visits it has samples of. Nothing to do for the classifier.
    pub fn finish(&mut self, limit: Duration) -> Outcome {
        let mut outcome = Outcome::default();
        if let Some(FaceStage::Identify { models, stage }) = &mut self.face {
            let (identified, took) = stage.finish(limit);
            outcome.inference = took;
            let sha = &models.embedder.model().sha256;
            outcome.decisions = identified.into_iter().map(|i| identity_decision(i, sha)).collect();
        }
        outcome
    }

    fn identify_faces(&mut self, frame: &Frame, boxes: &[Rect], outcome: &mut Outcome) {
        let Some(FaceStage::Identify { models, stage }) = &mut self.face else { return };
        let (seen, identified, took) = stage.observe(&frame.rgb, boxes);
        outcome.inference = took;
        for face in seen {
            let known =
                face.name.as_deref().is_some_and(|n| n != crate::identity::gallery::UNKNOWN);
            outcome.faces.push(SeenFace {
                rect: face.rect,
                label: face.name.unwrap_or_else(|| "?".into()),
                confidence: 0.0,
                track: face.track,
                known,
            });
        }
        let sha = &models.embedder.model().sha256;
        outcome.decisions.extend(identified.into_iter().map(|i| identity_decision(i, sha)));
    }

    fn classify_faces(
        &mut self,
        frame: &Frame,
        boxes: &[Rect],
        outcome: &mut Outcome,
    ) -> Result<(), ModelError> {
        let Some(FaceStage::Classify { loaded, tracker }) = &mut self.face else { return Ok(()) };
        let model = loaded.model.clone();
        let mut observations = Vec::with_capacity(boxes.len());
        for rect in boxes {
            let started = Instant::now();
            self.pre.prepare(
                &model.meta.input,
                pixels_for(frame, model.meta.input.channels),
                *rect,
                &mut self.tensor,
            );
            let probs = model.run(&self.tensor)?;
            outcome.inference.push(started.elapsed());
            let label = lookout_vision::scores::argmax(&probs);
            observations.push(Observation {
                rect: *rect,
                label,
                confidence: probs.get(label).copied().unwrap_or(0.0),
            });
        }
        let (tracks, votes) = tracker.update(&observations);
        let labels = &model.meta.labels;
        let name = |i: usize| labels.get(i).cloned().unwrap_or_else(|| format!("#{i}"));
        for (obs, track) in observations.iter().zip(tracks) {
            outcome.faces.push(SeenFace {
                rect: obs.rect,
                label: name(obs.label),
                confidence: obs.confidence,
                track,
                known: obs.label == 0,
            });
        }
        for vote in votes {
            outcome.decisions.push(Decision {
                kind: Kind::Face,
                label: name(vote.label),
                confidence: vote.confidence,
                rect: rect_array(vote.rect),
                track: Some(vote.track),
                alternatives: Vec::new(),
                model_sha256: model.sha256.clone(),
                distance: None,
                unknown_id: None,
            });
        }
        Ok(())
    }

    fn read_text(&mut self, frame: &Frame, outcome: &mut Outcome) -> Result<(), ModelError> {
        let Some(stage) = &mut self.text else { return Ok(()) };
        let (beam, min_confidence, top_k) =
            (stage.settings.beam, stage.settings.min_confidence, stage.settings.top_k);
        let (fw, fh) = (frame.gray.width as i32, frame.gray.height as i32);
        let roi = stage.settings.roi;
        if roi.x >= fw || roi.y >= fh || roi.x + roi.width > fw || roi.y + roi.height > fh {
            if !stage.warned_outside {
                log::warn!(
                    "text.roi {:?} does not fit in the {fw}x{fh} frame; text is not read",
                    rect_array(roi)
                );
                stage.warned_outside = true;
            }
            return Ok(());
        }
        let model = stage.loaded.model.clone();
        self.pre.prepare(
            &model.meta.input,
            pixels_for(frame, model.meta.input.channels),
            roi,
            &mut self.tensor,
        );
        let probs = model.run(&self.tensor)?;
        let reading = model.read_text(&probs, beam, top_k);
        let legible = !reading.text.is_empty()
            && (model.meta.task == Task::Ctc || reading.confidence >= min_confidence as f64);
        let reading = legible.then_some(reading);
        if stage.stability.feed(reading.as_ref()) {
            if let Some(r) = &reading {
                outcome.decisions.push(Decision {
                    kind: Kind::Text,
                    label: r.text.clone(),
                    confidence: r.confidence as f32,
                    rect: rect_array(roi),
                    track: None,
                    alternatives: r.alternatives.clone(),
                    model_sha256: model.sha256.clone(),
                    distance: None,
                    unknown_id: None,
                });
            }
        }
        outcome.text = reading;
        Ok(())
    }
}

/// A visit's identity as a decision. Confidence is 1 − distance (clamped to [0, 1]): higher
/// is closer, as for the classifier; the distance itself travels along.
fn identity_decision(i: crate::identity::tracks::Identified, model_sha256: &str) -> Decision {
    Decision {
        kind: Kind::Face,
        label: i.name,
        confidence: i.distance.map_or(0.0, |d| (1.0 - d).clamp(0.0, 1.0)),
        rect: rect_array(i.rect),
        track: Some(i.track),
        alternatives: Vec::new(),
        model_sha256: model_sha256.to_string(),
        distance: i.distance,
        unknown_id: i.unknown_id,
    }
}

pub fn rect_array(r: Rect) -> [i32; 4] {
    [r.x, r.y, r.width, r.height]
}

/// The frame in the form a model wants: its gray plane or RGB.
fn pixels_for(frame: &Frame, channels: u32) -> Pixels<'_> {
    // Without colour (dropped by the capture thread) a colour model sees gray in all three
    // channels: degraded, but running.
    if channels == 1 || frame.rgb.width() == 0 {
        Pixels {
            width: frame.gray.width,
            height: frame.gray.height,
            channels: 1,
            data: &frame.gray.pixels,
        }
    } else {
        Pixels::rgb(&frame.rgb)
    }
}
