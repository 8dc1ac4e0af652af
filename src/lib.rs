//! lookout: the edge runtime for the Raspberry Pi (the `lookout` binary and its library). The
//! vision code it runs (cascade, preprocessing, ONNX models, CTC, image decoding) is the
//! `lookout-vision` crate, shared with the desktop tools; this crate holds what only the Pi
//! needs: devices, the daemon and its services.
//!
//! - [`config`]: the TOML file as written (raw sections, every default built in, unknown keys
//!   refused) and [`settings`]: the validated [`settings::Settings`] made from it once, which
//!   `check`, `run`, `capture` and reload all use.
//! - [`source`]: where frames come from (V4L2 camera, replay folder, scripted test double), the
//!   capture thread and the newest-frame-wins slot; frames arrive with a small preview and are
//!   decoded in full only when the gate lets them through.
//! - [`motion`]: the motion gate: whether and where the cascade runs on a frame.
//! - [`pipeline`]: one frame in, decisions out: cascade, face classifier, tracker and vote,
//!   the text region ([`pipeline::Pipeline`]); the models a config names ([`pipeline::models`]).
//! - [`actions`]: what a decision sets off, on its own thread: sound ([`actions::audio`]),
//!   event log, snapshots, MQTT.
//! - [`daemon`]: `lookout run`'s threads and frame loop; [`daemon::prepare`], the checks `check`,
//!   `run` and reload share; [`daemon::reload`], the one owner of reload.
//! - [`service`]: systemd notifications, the HTTP endpoint and the metrics behind it.
//! - [`logging`]: log lines for a terminal or for the journal.

pub mod actions;
pub mod config;
pub mod daemon;
pub mod identity;
pub mod logging;
pub mod motion;
pub mod pipeline;
pub mod service;
pub mod settings;
pub mod source;
