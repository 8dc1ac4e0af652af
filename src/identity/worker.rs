//! The embedding thread: landmarks, chip and descriptor for the faces the frame loop asks
//! about, off the frame loop (a descriptor takes about 20 ms on x86-64 and several times that
//! on a Pi core; detection must not wait for it). Also writes unknown visitors' chips, so the
//! frame loop never touches the disk for them.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::RgbImage;
use lookout_vision::cascade::Rect;
use lookout_vision::face::embed::{FaceEmbedder, FaceSample};
use lookout_vision::preprocess::{Pixels, Preprocessor};

use super::unknown::{UnknownStore, UnknownVisitor};

/// Requests waiting at most; a full queue means the worker is behind and the frame loop asks
/// again on a later frame rather than waiting.
const QUEUE: usize = 4;

enum Job {
    Describe { track: u64, frame: Arc<RgbImage>, face: Rect },
    Keep { store: UnknownStore, visitor: Box<UnknownVisitor>, chip: Vec<u8>, side: usize },
}

/// A described face (or why it could not be).
#[derive(Debug)]
pub struct Described {
    pub track: u64,
    /// The face box the sample was taken from.
    pub face: Rect,
    pub sample: Result<FaceSample, String>,
    pub took: Duration,
}

pub struct Worker {
    jobs: SyncSender<Job>,
    results: Receiver<Described>,
    in_flight: usize,
}

impl Worker {
    pub fn spawn(embedder: FaceEmbedder) -> std::io::Result<Worker> {
        let (jobs, job_rx) = mpsc::sync_channel::<Job>(QUEUE);
        let (result_tx, results) = mpsc::channel();
        std::thread::Builder::new().name("embed".into()).spawn(move || {
            let mut pre = Preprocessor::default();
            // Ends when the pipeline (and so the sender) is dropped.
            for job in job_rx {
                match job {
                    Job::Describe { track, frame, face } => {
                        let started = Instant::now();
                        let pixels = Pixels::rgb(&frame);
                        let sample =
                            embedder.describe(&mut pre, pixels, face).map_err(|e| e.to_string());
                        let took = started.elapsed();
                        if result_tx.send(Described { track, face, sample, took }).is_err() {
                            break;
                        }
                    }
                    Job::Keep { store, visitor, chip, side } => keep(&store, &visitor, chip, side),
                }
            }
        })?;
        Ok(Worker { jobs, results, in_flight: 0 })
    }

    /// Asks for the descriptor of `face` in `frame`; false when the queue is full.
    pub fn describe(&mut self, track: u64, frame: Arc<RgbImage>, face: Rect) -> bool {
        match self.jobs.try_send(Job::Describe { track, frame, face }) {
            Ok(()) => {
                self.in_flight += 1;
                true
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    /// Stores an unknown visitor's chip and record on the worker thread; false (and nothing
    /// kept) when its queue is full, so that no event names a visitor that was not kept.
    pub fn keep(
        &mut self,
        store: UnknownStore,
        visitor: UnknownVisitor,
        chip: Vec<u8>,
        side: usize,
    ) -> bool {
        let id = visitor.id.clone();
        let job = Job::Keep { store, visitor: Box::new(visitor), chip, side };
        let queued = self.jobs.try_send(job).is_ok();
        if !queued {
            log::warn!("unknown visitor {id} not kept: the embedding thread is busy");
        }
        queued
    }

    /// Results ready now.
    pub fn ready(&mut self) -> Vec<Described> {
        let done: Vec<Described> = self.results.try_iter().collect();
        self.in_flight -= done.len().min(self.in_flight);
        done
    }

    /// Waits (up to `limit`) for every request made so far.
    pub fn drain(&mut self, limit: Duration) -> Vec<Described> {
        let deadline = Instant::now() + limit;
        let mut done = Vec::new();
        while self.in_flight > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.results.recv_timeout(left) {
                Ok(d) => {
                    self.in_flight -= 1;
                    done.push(d);
                }
                Err(_) => break,
            }
        }
        done
    }
}

fn keep(store: &UnknownStore, visitor: &UnknownVisitor, chip: Vec<u8>, side: usize) {
    let Some(image) = RgbImage::from_raw(side as u32, side as u32, chip) else { return };
    let mut png = Vec::new();
    let encoded = image.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png);
    if let Err(e) = encoded {
        log::warn!("unknown visitor {}: cannot encode the chip: {e}", visitor.id);
        return;
    }
    match store.keep(visitor, &png) {
        Ok(dropped) => {
            log::info!("unknown visitor kept as {} in {}", visitor.id, store.dir.display());
            for id in dropped {
                log::info!("unknown visitor {id} dropped (the folder is full)");
            }
        }
        Err(e) => log::warn!("{}", crate::logging::chain(&e)),
    }
}
