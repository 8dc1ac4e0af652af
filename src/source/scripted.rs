//! A source that follows a script: frames from image files, losses, refused reopenings and
//! stalls. It is the camera's test double: it makes outages happen on cue, here where no camera
//! exists.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::{Captured, FrameSource, SourceError};

#[derive(Debug, Clone)]
pub enum Step {
    /// Deliver this image as the next frame (its file name is the frame's name).
    Image(PathBuf),
    /// The device goes away: the read fails, and the next `refused_opens` opens fail too.
    Lose { refused_opens: usize },
    /// The read blocks this long before going on with the script.
    Stall(Duration),
    /// The read blocks until the test opens the gate, so a test can hold frames back until
    /// something it waits for (a reload) has happened, without guessing a time.
    Wait(Gate),
}

/// A door a scripted read waits at; [`Gate::open`] lets it through (and every later wait).
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    /// Waiting longer than this is a test that forgot to open the gate: go on regardless.
    const LIMIT: Duration = Duration::from_secs(60);

    pub fn new() -> Gate {
        Gate::default()
    }

    pub fn open(&self) {
        let (open, opened) = &*self.0;
        *open.lock().unwrap_or_else(|e| e.into_inner()) = true;
        opened.notify_all();
    }

    fn wait(&self) {
        let (open, opened) = &*self.0;
        let guard = open.lock().unwrap_or_else(|e| e.into_inner());
        let _ = opened.wait_timeout_while(guard, Gate::LIMIT, |open| !*open);
    }
}

pub struct ScriptedSource {
    steps: VecDeque<Step>,
    refuse: usize,
    live: bool,
    opens: Arc<AtomicUsize>,
}

impl ScriptedSource {
    pub fn new(steps: Vec<Step>, live: bool) -> ScriptedSource {
        ScriptedSource { steps: steps.into(), refuse: 0, live, opens: Arc::default() }
    }

    /// Counts successful opens (the first one plus every reconnection).
    pub fn opens(&self) -> Arc<AtomicUsize> {
        self.opens.clone()
    }
}

impl FrameSource for ScriptedSource {
    fn describe(&self) -> String {
        "scripted".into()
    }

    fn open(&mut self) -> Result<(), SourceError> {
        if self.refuse > 0 {
            self.refuse -= 1;
            return Err(SourceError::Unavailable("scripted: device not there".into()));
        }
        self.opens.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn next_frame(&mut self, seq: u64) -> Result<Captured, SourceError> {
        loop {
            match self.steps.pop_front() {
                None => return Err(SourceError::Ended),
                Some(Step::Stall(d)) => std::thread::sleep(d),
                Some(Step::Wait(gate)) => gate.wait(),
                Some(Step::Lose { refused_opens }) => {
                    self.refuse = refused_opens;
                    return Err(SourceError::Unavailable("scripted: device lost".into()));
                }
                // Frames 1/15 s apart, as from a camera at the default rate.
                Some(Step::Image(path)) => {
                    let at = Duration::from_secs_f64(seq.saturating_sub(1) as f64 / 15.0);
                    return super::replay::read_file(&path, seq, at);
                }
            }
        }
    }

    fn close(&mut self) {}

    fn is_live(&self) -> bool {
        self.live
    }
}
