//! The capture thread: keeps a source open, hands its frames to the pipeline, and rides out
//! outages. A camera that fails or stays silent for `frame_timeout` is closed and reopened with
//! a back-off, one warning per outage; the daemon never exits because a camera went away.
//! (A read that blocks forever cannot be interrupted from here; that is what the systemd
//! watchdog is for: the pipeline stops feeding it.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::slot::{Closed, FrameSlot};
use super::{BadFrames, FrameSource, SourceError};
use crate::service::metrics::Metrics;
use crate::settings::SourceSettings;

#[derive(Debug, Clone)]
pub struct CaptureOptions {
    pub frame_timeout: Duration,
    pub reconnect_max: Duration,
}

impl CaptureOptions {
    /// The `[source]` timings.
    pub fn new(settings: &SourceSettings) -> CaptureOptions {
        CaptureOptions {
            frame_timeout: settings.frame_timeout,
            reconnect_max: settings.reconnect_max,
        }
    }
}

const FIRST_BACKOFF: Duration = Duration::from_millis(500);

pub fn spawn_capture(
    source: Box<dyn FrameSource>,
    options: CaptureOptions,
    slot: Arc<FrameSlot>,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("capture".into())
        .spawn(move || Capture { source, options, slot, metrics, stop }.run())
}

struct Capture {
    source: Box<dyn FrameSource>,
    options: CaptureOptions,
    slot: Arc<FrameSlot>,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
}

impl Capture {
    fn run(mut self) {
        let name = self.source.describe();
        let live = self.source.is_live();
        let mut open = false;
        let mut backoff = FIRST_BACKOFF;
        let mut outage: Option<Instant> = None;
        let mut last_frame = Instant::now();
        let mut seq = 0u64;
        let mut bad_frames = BadFrames::default();
        while !self.stop.load(Ordering::Relaxed) {
            if !open {
                match self.source.open() {
                    Ok(()) => {
                        open = true;
                        backoff = FIRST_BACKOFF;
                        last_frame = Instant::now();
                        if let Some(since) = outage.take() {
                            log::info!("{name}: back after {:.1} s", since.elapsed().as_secs_f64());
                        }
                    }
                    Err(SourceError::Fatal(msg)) => return self.fail(msg),
                    Err(err) => {
                        if outage.is_none() {
                            log::warn!(
                                "{name}: {err}; retrying every {:.1}-{:.0} s",
                                backoff.as_secs_f64(),
                                self.options.reconnect_max.as_secs_f64()
                            );
                            outage = Some(Instant::now());
                        }
                        self.metrics.source_error();
                        self.sleep(backoff);
                        backoff = (backoff * 2).min(self.options.reconnect_max);
                        continue;
                    }
                }
            }
            match self.source.next_frame(seq + 1) {
                Ok(frame) => {
                    seq += 1;
                    if !self.slot.put(frame, live) {
                        break;
                    }
                    // After the hand-over: a replay waiting for a slow pipeline is not silent.
                    last_frame = Instant::now();
                }
                Err(SourceError::Ended) => {
                    self.slot.close(Closed::Ended);
                    break;
                }
                Err(SourceError::Fatal(msg)) => return self.fail(msg),
                Err(SourceError::BadFrame(msg)) => {
                    self.metrics.source_error();
                    bad_frames.skipped(&name, &msg);
                }
                Err(SourceError::Unavailable(msg)) => {
                    if outage.is_none() {
                        log::warn!("{name}: lost: {msg}; reopening");
                        outage = Some(Instant::now());
                    }
                    self.reopen(&mut open);
                    continue;
                }
            }
            if open && last_frame.elapsed() > self.options.frame_timeout {
                if outage.is_none() {
                    log::warn!(
                        "{name}: no frame for {:.1} s; reopening",
                        last_frame.elapsed().as_secs_f64()
                    );
                    outage = Some(Instant::now());
                }
                self.reopen(&mut open);
            }
        }
        self.source.close();
        self.slot.close(Closed::Stopped);
    }

    fn reopen(&mut self, open: &mut bool) {
        self.source.close();
        *open = false;
        self.metrics.camera_reconnected();
    }

    fn fail(mut self, msg: String) {
        log::error!("{}: {msg}", self.source.describe());
        self.source.close();
        self.slot.close(Closed::Failed(msg));
    }

    /// Sleeps in short steps so a stop request is not kept waiting by a long back-off.
    fn sleep(&self, total: Duration) {
        let until = Instant::now() + total;
        while !self.stop.load(Ordering::Relaxed) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}
