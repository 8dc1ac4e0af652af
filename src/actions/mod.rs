//! What happens after a decision: sounds, the event log, snapshots, MQTT.

pub mod audio;
pub mod events;
pub mod mqtt;
pub mod snapshot;
