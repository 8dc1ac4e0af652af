//! Running as a service: systemd notifications, the health/metrics HTTP endpoint and the
//! counters behind it.

pub mod http;
pub mod metrics;
pub mod notify;
