//! One decision per visit from a few good frames: every face track asks the embedding thread
//! for descriptors of up to `samples` frames (spaced out, frontal ones kept), then decides once
//! from all of them: for each enrolled person, the mean of that person's distances over the
//! samples; the closest person within the threshold, else `unknown`. A mean over several
//! frames is steadier than any one frame, and a stranger who resembles someone in one frame
//! rarely does in three.
//!
//! The frame loop's cost does not grow with the time a person stands there: once a track has
//! its samples (or has been decided), it costs a tracker update and nothing else.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use image::RgbImage;
use lookout_vision::cascade::Rect;
use lookout_vision::face::embed::{FaceSample, MIN_FRONTAL};

use super::gallery::{Gallery, UNKNOWN};
use super::unknown::{new_id, UnknownStore, UnknownVisitor};
use super::worker::{Described, Worker};
use crate::pipeline::tracker::{Observation, Tracker, TrackerOptions};

/// At the decision, samples blurrier than this share of the track's sharpest sample, or
/// smaller than this share of its largest face, are left out (motion blur, a face far away
/// while a closer view of the same visit exists).
const MIN_RELATIVE_SHARPNESS: f32 = 0.5;
const MIN_RELATIVE_SIZE: f32 = 0.6;
/// Frames between two samples of one track, so the samples differ.
const SAMPLE_GAP: u64 = 2;
/// Requests per track at most (some samples are turned away, some frames are not sharp).
const MAX_ATTEMPTS_PER_SAMPLE: usize = 3;

#[derive(Debug, Clone)]
pub struct IdentifyOptions {
    pub tracker: TrackerOptions,
    /// Frames described per visit before deciding.
    pub samples: usize,
    /// Distances at or under this are a match.
    pub threshold: f32,
    /// Where unknown visitors' chips go; `None`: not kept.
    pub unknown: Option<UnknownStore>,
}

/// A track's identity, decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Identified {
    pub track: u64,
    /// An enrolled name or [`UNKNOWN`].
    pub name: String,
    /// The mean distance to the named person (to the closest person for `unknown`; `None`
    /// when nobody is enrolled).
    pub distance: Option<f32>,
    pub rect: Rect,
    /// For `unknown`: the id under which the chip was kept.
    pub unknown_id: Option<String>,
}

/// A face in this frame with its track and what is known of it so far.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedFace {
    pub rect: Rect,
    pub track: u64,
    /// The decided name, or `None` while samples are being taken.
    pub name: Option<String>,
}

#[derive(Debug, Default)]
struct TrackState {
    rect: Rect,
    requested: usize,
    answered: usize,
    last_request: Option<u64>,
    /// Usable samples and the width of the face box each came from.
    samples: Vec<(FaceSample, i32)>,
    decision: Option<String>,
}

impl TrackState {
    fn pending(&self) -> usize {
        self.requested - self.answered
    }
}

pub struct IdentifyStage {
    options: IdentifyOptions,
    gallery: Arc<Gallery>,
    model_sha256: String,
    tracker: Tracker,
    worker: Worker,
    tracks: HashMap<u64, TrackState>,
    frame: u64,
}

impl IdentifyStage {
    pub fn new(
        options: IdentifyOptions,
        gallery: Arc<Gallery>,
        model_sha256: String,
        worker: Worker,
    ) -> IdentifyStage {
        IdentifyStage {
            tracker: Tracker::new(options.tracker),
            options,
            gallery,
            model_sha256,
            worker,
            tracks: HashMap::new(),
            frame: 0,
        }
    }

    pub fn gallery(&self) -> &Gallery {
        &self.gallery
    }

    /// A face is tracked, or a descriptor asked for has not come back yet.
    pub fn busy(&self) -> bool {
        self.tracker.live_tracks() > 0 || self.tracks.values().any(|s| s.pending() > 0)
    }

    /// One frame's faces: tracks them, asks for samples where a track needs one, and returns
    /// the faces with what is known of them, the decisions made now and the embedding times
    /// that came back.
    pub fn observe(
        &mut self,
        frame: &Arc<RgbImage>,
        faces: &[Rect],
    ) -> (Vec<TrackedFace>, Vec<Identified>, Vec<Duration>) {
        self.frame += 1;
        // The tracker only associates boxes here; its votes are the classifier's business.
        let observations: Vec<Observation> =
            faces.iter().map(|&rect| Observation { rect, label: 0, confidence: 1.0 }).collect();
        let (ids, _) = self.tracker.update(&observations);
        let max_requests = self.options.samples * MAX_ATTEMPTS_PER_SAMPLE;
        for (&rect, &id) in faces.iter().zip(&ids) {
            let state = self.tracks.entry(id).or_default();
            state.rect = rect;
            let wants = state.decision.is_none()
                && state.samples.len() + state.pending() < self.options.samples
                && state.requested < max_requests
                && state.last_request.is_none_or(|f| self.frame - f >= SAMPLE_GAP);
            if wants && frame.width() > 0 && self.worker.describe(id, frame.clone(), rect) {
                state.requested += 1;
                state.last_request = Some(self.frame);
            }
        }
        let ready = self.worker.ready();
        let took = ready.iter().map(|d| d.took).collect();
        let decisions = self.absorb(ready, false);
        let seen = faces
            .iter()
            .zip(ids)
            .map(|(&rect, track)| TrackedFace {
                rect,
                track,
                name: self.tracks.get(&track).and_then(|s| s.decision.clone()),
            })
            .collect();
        (seen, decisions, took)
    }

    /// The end of the stream: waits (up to `limit`) for the descriptors asked for and decides
    /// every track that has any.
    pub fn finish(&mut self, limit: Duration) -> (Vec<Identified>, Vec<Duration>) {
        let ready = self.worker.drain(limit);
        let took = ready.iter().map(|d| d.took).collect();
        (self.absorb(ready, true), took)
    }

    /// Takes in the descriptors that came back and decides the tracks that are ready: enough
    /// samples, or gone (or out of attempts, or `finishing`) with at least one.
    fn absorb(&mut self, ready: Vec<Described>, finishing: bool) -> Vec<Identified> {
        for described in ready {
            let Some(state) = self.tracks.get_mut(&described.track) else { continue };
            state.answered += 1;
            match described.sample {
                Ok(sample) if sample.frontal >= MIN_FRONTAL => {
                    state.samples.push((sample, described.face.width))
                }
                Ok(_) => {}
                Err(e) => log::warn!("face of track {}: {e}", described.track),
            }
        }
        let max_requests = self.options.samples * MAX_ATTEMPTS_PER_SAMPLE;
        let mut decided = Vec::new();
        let mut ids: Vec<u64> = self.tracks.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let live = self.tracker.is_live(id);
            let state = &self.tracks[&id];
            let settled = state.pending() == 0 && !state.samples.is_empty();
            let ready = state.samples.len() >= self.options.samples
                || (settled && (finishing || !live || state.requested >= max_requests));
            if state.decision.is_none() && ready {
                let identified = self.decide(id);
                decided.push(identified);
            }
            let state = &self.tracks[&id];
            if !live && state.pending() == 0 {
                self.tracks.remove(&id);
            }
        }
        decided
    }

    fn decide(&mut self, id: u64) -> Identified {
        let (threshold, gallery) = (self.options.threshold, self.gallery.clone());
        let Some(state) = self.tracks.get_mut(&id) else {
            unreachable!("decide is called for a tracked id");
        };
        let samples = best_samples(&state.samples);
        let best = closest(&gallery, &samples);
        let (name, distance) = match best {
            Some((name, d)) if d <= threshold => (name.to_string(), Some(d)),
            Some((_, d)) => (UNKNOWN.to_string(), Some(d)),
            None => (UNKNOWN.to_string(), None),
        };
        state.decision = Some(name.clone());
        let mut unknown_id = None;
        if name == UNKNOWN {
            if let (Some(store), Some(best)) = (&self.options.unknown, most_frontal(&samples)) {
                let visitor_id = new_id(SystemTime::now(), id);
                let visitor = UnknownVisitor {
                    id: visitor_id.clone(),
                    seen: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
                    track: id,
                    model_sha256: self.model_sha256.clone(),
                    descriptors: samples.iter().map(|s| s.descriptor.clone()).collect(),
                    nearest: best_name(&gallery, &samples),
                };
                let (chip, side) = (best.chip.clone(), best.side);
                if self.worker.keep(store.clone(), visitor, chip, side) {
                    unknown_id = Some(visitor_id);
                }
            }
        }
        Identified { track: id, name, distance, rect: state.rect, unknown_id }
    }
}

/// The samples worth deciding on: sharp and large compared with the best of the visit.
fn best_samples(samples: &[(FaceSample, i32)]) -> Vec<&FaceSample> {
    let sharpest = samples.iter().map(|(s, _)| s.sharpness).fold(0.0, f32::max);
    let largest = samples.iter().map(|&(_, w)| w).max().unwrap_or(0) as f32;
    samples
        .iter()
        .filter(|(s, w)| {
            s.sharpness >= MIN_RELATIVE_SHARPNESS * sharpest
                && *w as f32 >= MIN_RELATIVE_SIZE * largest
        })
        .map(|(s, _)| s)
        .collect()
}

/// The enrolled person whose distance, averaged over the samples, is smallest.
fn closest<'a>(gallery: &'a Gallery, samples: &[&FaceSample]) -> Option<(&'a str, f32)> {
    let n = samples.len().max(1) as f32;
    gallery
        .people
        .iter()
        .filter_map(|person| {
            let total: Option<f32> = samples.iter().map(|s| person.distance(&s.descriptor)).sum();
            Some((person.name.as_str(), total? / n))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

fn best_name(gallery: &Gallery, samples: &[&FaceSample]) -> Option<(String, f32)> {
    closest(gallery, samples).map(|(n, d)| (n.to_string(), d))
}

fn most_frontal<'a>(samples: &[&'a FaceSample]) -> Option<&'a FaceSample> {
    samples.iter().copied().max_by(|a, b| a.frontal.total_cmp(&b.frontal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::gallery::Enrolled;
    use lookout_vision::face::Point;

    fn sample(descriptor: [f32; 2], sharpness: f32) -> FaceSample {
        FaceSample {
            landmarks: [Point { x: 0, y: 0 }; 5],
            chip: Vec::new(),
            side: 0,
            descriptor: descriptor.to_vec(),
            frontal: 1.0,
            sharpness,
        }
    }

    fn gallery() -> Gallery {
        let mut g = Gallery::new("abc", 2);
        let face = |v: [f32; 2]| Enrolled {
            descriptor: v.to_vec(),
            source: "t".into(),
            added: "t".into(),
        };
        g.add("ann", face([0.0, 0.0]));
        g.add("ann", face([0.0, 1.0]));
        g.add("bob", face([1.0, 0.0]));
        g
    }

    #[test]
    fn the_person_closest_on_average_over_the_samples_wins() {
        // One sample sits on bob, two near ann's faces: ann's mean is smaller.
        let samples = [sample([1.0, 0.0], 1.0), sample([0.1, 0.0], 1.0), sample([0.0, 0.9], 1.0)];
        let refs: Vec<&FaceSample> = samples.iter().collect();
        let gallery = gallery();
        let (name, mean) = closest(&gallery, &refs).unwrap();
        assert_eq!(name, "ann");
        assert!((mean - (1.0 + 0.1 + 0.1) / 3.0).abs() < 1e-6, "{mean}");
        assert!(closest(&Gallery::new("abc", 2), &refs).is_none());
    }

    #[test]
    fn blurred_and_small_samples_are_left_out_when_better_ones_exist() {
        let samples = [
            (sample([0.0, 0.0], 100.0), 120),
            (sample([1.0, 0.0], 30.0), 120), // motion blur
            (sample([2.0, 0.0], 100.0), 60), // far away
            (sample([3.0, 0.0], 60.0), 100),
        ];
        let kept: Vec<f32> = best_samples(&samples).iter().map(|s| s.descriptor[0]).collect();
        assert_eq!(kept, [0.0, 3.0]);
        // One sample is always kept.
        assert_eq!(best_samples(&samples[1..2]).len(), 1);
    }
}
