//! The hand-over between capture and inference: room for one frame. A live source replaces a
//! frame the pipeline has not taken yet (the newest frame wins, the stale one is counted as
//! dropped); a replay waits instead, so a replay is deterministic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::Captured;

#[derive(Debug, Default)]
pub struct FrameSlot {
    state: Mutex<State>,
    changed: Condvar,
    dropped: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    frame: Option<Captured>,
    closed: Option<Closed>,
}

/// Why no more frames will come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    Ended,
    Failed(String),
    Stopped,
}

#[derive(Debug)]
pub enum Taken {
    Frame(Captured),
    /// Nothing arrived within the timeout.
    Empty,
    Closed(Closed),
}

impl FrameSlot {
    pub fn new() -> FrameSlot {
        FrameSlot::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves a frame or nothing: both are fine to use.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Live: replaces a waiting frame. Not live: waits until the slot is empty. Returns false
    /// when the slot is closed (the frame is discarded).
    pub fn put(&self, frame: Captured, live: bool) -> bool {
        let mut state = self.lock();
        loop {
            if state.closed.is_some() {
                return false;
            }
            if state.frame.is_none() || live {
                if state.frame.replace(frame).is_some() {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
                self.changed.notify_all();
                return true;
            }
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    pub fn take(&self, timeout: Duration) -> Taken {
        let mut state = self.lock();
        if state.frame.is_none() && state.closed.is_none() {
            state = self.changed.wait_timeout(state, timeout).unwrap_or_else(|p| p.into_inner()).0;
        }
        if let Some(frame) = state.frame.take() {
            self.changed.notify_all();
            return Taken::Frame(frame);
        }
        match &state.closed {
            Some(closed) => Taken::Closed(closed.clone()),
            None => Taken::Empty,
        }
    }

    /// No more frames; a frame still waiting is delivered first. The first reason sticks.
    pub fn close(&self, why: Closed) {
        let mut state = self.lock();
        state.closed.get_or_insert(why);
        self.changed.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed.is_some()
    }

    /// Frames replaced before the pipeline took them.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_vision::image_io::decoded;
    use std::sync::Arc;

    fn frame(seq: u64) -> Captured {
        Captured::decoded(decoded(image::DynamicImage::new_rgb8(4, 4)), seq, None, Duration::ZERO)
    }

    #[test]
    fn live_frames_replace_stale_ones() {
        let slot = FrameSlot::new();
        assert!(slot.put(frame(1), true));
        assert!(slot.put(frame(2), true));
        assert_eq!(slot.dropped(), 1);
        match slot.take(Duration::ZERO) {
            Taken::Frame(f) => assert_eq!(f.seq, 2),
            other => panic!("{other:?}"),
        }
        assert!(matches!(slot.take(Duration::from_millis(1)), Taken::Empty));
    }

    #[test]
    fn replay_waits_for_the_pipeline() {
        let slot = Arc::new(FrameSlot::new());
        let writer = {
            let slot = slot.clone();
            std::thread::spawn(move || (1..=20).all(|i| slot.put(frame(i), false)))
        };
        let mut seen = Vec::new();
        while seen.len() < 20 {
            if let Taken::Frame(f) = slot.take(Duration::from_millis(100)) {
                seen.push(f.seq);
            }
        }
        assert!(writer.join().unwrap());
        assert_eq!(seen, (1..=20).collect::<Vec<_>>());
        assert_eq!(slot.dropped(), 0);
    }

    #[test]
    fn close_delivers_the_last_frame_then_the_reason() {
        let slot = FrameSlot::new();
        slot.put(frame(1), false);
        slot.close(Closed::Ended);
        assert!(!slot.put(frame(2), true));
        assert!(matches!(slot.take(Duration::ZERO), Taken::Frame(_)));
        assert!(matches!(slot.take(Duration::ZERO), Taken::Closed(Closed::Ended)));
    }
}
