//! Faces over time: each detection joins the track whose last box it overlaps most (IoU), and a
//! track's label is decided by a vote over its last frames, once. One visitor standing in front
//! of the camera for a minute is one decision, not nine hundred. Should a different label win
//! the vote later (someone else stepped into the same spot before the track timed out), that is
//! a new decision.

use std::collections::VecDeque;

use lookout_vision::cascade::Rect;

#[derive(Debug, Clone, Copy)]
pub struct TrackerOptions {
    /// A detection continues a track when the boxes overlap at least this much.
    pub iou: f64,
    /// Votes below this confidence count as "unsure".
    pub min_confidence: f32,
    /// A label must win `needed` of the last `window` observed frames.
    pub window: usize,
    pub needed: usize,
    /// Frames without a match before a track is forgotten.
    pub timeout_frames: u64,
}

/// One classified face in one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    pub rect: Rect,
    pub label: usize,
    pub confidence: f32,
}

/// A track's vote was won.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vote {
    pub track: u64,
    pub label: usize,
    /// Mean confidence of the winning votes in the window.
    pub confidence: f32,
    pub rect: Rect,
}

#[derive(Debug)]
struct Track {
    id: u64,
    rect: Rect,
    last_seen: u64,
    votes: VecDeque<Option<(usize, f32)>>,
    decided: Option<usize>,
}

#[derive(Debug)]
pub struct Tracker {
    options: TrackerOptions,
    tracks: Vec<Track>,
    next_id: u64,
    frame: u64,
}

impl Tracker {
    pub fn new(options: TrackerOptions) -> Tracker {
        Tracker { options, tracks: Vec::new(), next_id: 1, frame: 0 }
    }

    /// Feeds one frame's faces. Returns the track id of each observation (same order) and the
    /// votes decided in this frame.
    pub fn update(&mut self, observations: &[Observation]) -> (Vec<u64>, Vec<Vote>) {
        self.frame += 1;
        let frame = self.frame;
        let timeout = self.options.timeout_frames;
        self.tracks.retain(|t| frame - t.last_seen <= timeout);

        // Greedy matching, best overlaps first: good enough for the handful of faces a door
        // camera sees, and stable.
        let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
        for (o, obs) in observations.iter().enumerate() {
            for (t, track) in self.tracks.iter().enumerate() {
                let iou = obs.rect.iou(&track.rect);
                if iou >= self.options.iou {
                    pairs.push((iou, o, t));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut track_of: Vec<Option<usize>> = vec![None; observations.len()];
        let mut taken = vec![false; self.tracks.len()];
        for (_, o, t) in pairs {
            if track_of[o].is_none() && !taken[t] {
                track_of[o] = Some(t);
                taken[t] = true;
            }
        }

        let mut ids = Vec::with_capacity(observations.len());
        let mut votes = Vec::new();
        for (o, obs) in observations.iter().enumerate() {
            let t = match track_of[o] {
                Some(t) => t,
                None => {
                    self.tracks.push(Track {
                        id: self.next_id,
                        rect: obs.rect,
                        last_seen: frame,
                        votes: VecDeque::new(),
                        decided: None,
                    });
                    self.next_id += 1;
                    self.tracks.len() - 1
                }
            };
            let track = &mut self.tracks[t];
            track.rect = obs.rect;
            track.last_seen = frame;
            let sure = obs.confidence >= self.options.min_confidence;
            track.votes.push_back(sure.then_some((obs.label, obs.confidence)));
            if track.votes.len() > self.options.window {
                track.votes.pop_front();
            }
            ids.push(track.id);
            if let Some((label, confidence)) = winner(&track.votes, self.options.needed) {
                if track.decided != Some(label) {
                    track.decided = Some(label);
                    votes.push(Vote { track: track.id, label, confidence, rect: obs.rect });
                }
            }
        }
        (ids, votes)
    }

    /// Tracks currently alive (seen within the timeout).
    pub fn live_tracks(&self) -> usize {
        self.tracks.len()
    }

    /// Whether track `id` is still alive (seen within the timeout).
    pub fn is_live(&self, id: u64) -> bool {
        self.tracks.iter().any(|t| t.id == id)
    }
}

/// The label with at least `needed` sure votes, and their mean confidence.
fn winner(votes: &VecDeque<Option<(usize, f32)>>, needed: usize) -> Option<(usize, f32)> {
    let mut counts: Vec<(usize, usize, f32)> = Vec::new();
    for &(label, confidence) in votes.iter().flatten() {
        match counts.iter_mut().find(|c| c.0 == label) {
            Some(c) => {
                c.1 += 1;
                c.2 += confidence;
            }
            None => counts.push((label, 1, confidence)),
        }
    }
    counts
        .into_iter()
        .filter(|c| c.1 >= needed)
        .max_by_key(|c| c.1)
        .map(|(label, n, sum)| (label, sum / n as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> TrackerOptions {
        TrackerOptions { iou: 0.3, min_confidence: 0.7, window: 5, needed: 3, timeout_frames: 3 }
    }

    fn obs(x: i32, label: usize, confidence: f32) -> Observation {
        Observation { rect: Rect { x, y: 100, width: 100, height: 100 }, label, confidence }
    }

    #[test]
    fn one_visit_one_decision() {
        let mut tracker = Tracker::new(options());
        let mut decided = Vec::new();
        for i in 0..20 {
            let (ids, votes) = tracker.update(&[obs(100 + i * 3, 0, 0.9)]);
            assert_eq!(ids, vec![1]);
            decided.extend(votes.into_iter().map(|v| (i, v.track, v.label)));
        }
        assert_eq!(decided, vec![(2, 1, 0)], "decided on the third sure frame, once");
    }

    #[test]
    fn unsure_frames_do_not_vote() {
        let mut tracker = Tracker::new(options());
        let confidences = [0.9, 0.5, 0.6, 0.95, 0.4, 0.8];
        let decided: Vec<usize> = confidences
            .iter()
            .enumerate()
            .filter(|(_, &c)| !tracker.update(&[obs(100, 1, c)]).1.is_empty())
            .map(|(i, _)| i)
            .collect();
        // Sure votes at frames 0, 3 and 5: no window of 5 frames holds all three.
        assert!(decided.is_empty(), "{decided:?}");
    }

    #[test]
    fn a_new_visit_after_the_timeout_is_a_new_track() {
        let mut tracker = Tracker::new(options());
        let mut tracks = Vec::new();
        for _ in 0..4 {
            tracks.extend(tracker.update(&[obs(100, 0, 0.9)]).1.iter().map(|v| v.track));
        }
        for _ in 0..4 {
            tracker.update(&[]);
        }
        assert_eq!(tracker.live_tracks(), 0);
        for _ in 0..4 {
            tracks.extend(tracker.update(&[obs(100, 0, 0.9)]).1.iter().map(|v| v.track));
        }
        assert_eq!(tracks, vec![1, 2]);
    }

    #[test]
    fn someone_else_in_the_same_spot_is_a_new_decision() {
        let mut tracker = Tracker::new(options());
        let mut decided = Vec::new();
        for i in 0..12 {
            let label = if i < 6 { 0 } else { 1 };
            decided.extend(tracker.update(&[obs(100, label, 0.9)]).1.iter().map(|v| (i, v.label)));
        }
        assert_eq!(decided, vec![(2, 0), (8, 1)]);
    }

    #[test]
    fn two_faces_two_tracks() {
        let mut tracker = Tracker::new(options());
        let mut votes = Vec::new();
        for _ in 0..3 {
            let (ids, v) = tracker.update(&[obs(0, 0, 0.9), obs(400, 1, 0.8)]);
            assert_eq!(ids, vec![1, 2]);
            votes.extend(v);
        }
        let got: Vec<(u64, usize)> = votes.iter().map(|v| (v.track, v.label)).collect();
        assert_eq!(got, vec![(1, 0), (2, 1)]);
        assert!((votes[1].confidence - 0.8).abs() < 1e-6);
    }
}
