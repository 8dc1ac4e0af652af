//! Log lines on stderr, shaped for whoever reads them.
//!
//! Under systemd (`JOURNAL_STREAM` names our stderr) each line starts with its syslog priority,
//! `<4>disk full`, and journald adds the time and keeps the level; in a terminal a line reads
//! `2026-11-22T17:20:01.123Z WARN disk full`, in UTC so logs from several Pis line up.
//!
//! The level comes from `LOOKOUT_LOG` (`error`, `warn`, `info`, `debug`, `trace`; default
//! `info`) and applies to lookout's own modules. Dependencies are held to warnings and errors:
//! at debug, rumqttc, symphonia and cpal would bury ours. Their lines name their module.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use log::{Level, LevelFilter, Log, Metadata, Record};

/// The variable that sets the level.
pub const LEVEL_VAR: &str = "LOOKOUT_LOG";

/// The level when [`LEVEL_VAR`] is unset.
pub const DEFAULT_LEVEL: LevelFilter = LevelFilter::Info;

/// Dependencies log at most this much, whatever [`LEVEL_VAR`] says.
const DEPENDENCY_LEVEL: LevelFilter = LevelFilter::Warn;

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Installs the stderr logger, configured from the environment. Later calls do nothing, as
/// does a call after another logger was installed.
pub fn init() {
    let raw = std::env::var(LEVEL_VAR).ok();
    let parsed = raw.as_deref().map(parse_level);
    let logger = LOGGER.get_or_init(|| Logger {
        level: parsed.flatten().unwrap_or(DEFAULT_LEVEL),
        journal: stderr_is_journal(),
    });
    if log::set_logger(logger).is_err() {
        return;
    }
    log::set_max_level(logger.level);
    if let (Some(raw), Some(None)) = (&raw, parsed) {
        log::warn!(
            "{LEVEL_VAR}={raw:?} is not one of error, warn, info, debug, trace; using {}",
            DEFAULT_LEVEL.as_str().to_ascii_lowercase()
        );
    }
}

/// Reads a level name, case-insensitively: `error`, `warn`, `info`, `debug` or `trace`.
pub fn parse_level(name: &str) -> Option<LevelFilter> {
    match name.trim().to_ascii_lowercase().as_str() {
        "error" => Some(LevelFilter::Error),
        "warn" => Some(LevelFilter::Warn),
        "info" => Some(LevelFilter::Info),
        "debug" => Some(LevelFilter::Debug),
        "trace" => Some(LevelFilter::Trace),
        _ => None,
    }
}

#[derive(Debug)]
struct Logger {
    level: LevelFilter,
    /// Write syslog priority prefixes instead of timestamps.
    journal: bool,
}

impl Logger {
    fn allows(&self, target: &str, level: Level) -> bool {
        let max = if is_ours(target) { self.level } else { self.level.min(DEPENDENCY_LEVEL) };
        level <= max
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        self.allows(metadata.target(), metadata.level())
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let text = format_record(self.journal, record, since_epoch);
        // One write per record, so lines from several threads do not interleave.
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// Our crates: the library and binary `lookout`, and `lookout_*` (the tools).
fn is_ours(target: &str) -> bool {
    target.starts_with("lookout")
}

/// The lines for one record, each ending in a line feed.
fn format_record(journal: bool, record: &Record, since_epoch: Duration) -> String {
    let message = if is_ours(record.target()) {
        record.args().to_string()
    } else {
        format!("{}: {}", record.target(), record.args())
    };
    let mut out = String::with_capacity(message.len() + 32);
    if journal {
        // journald starts an entry at every line feed, each with the default priority unless
        // the line carries one: repeat it so a multi-line message keeps its level.
        let priority = syslog_priority(record.level());
        for line in message.lines() {
            let _ = writeln!(out, "<{priority}>{line}");
        }
        if out.is_empty() {
            let _ = writeln!(out, "<{priority}>");
        }
    } else {
        let _ = writeln!(out, "{} {} {message}", format_utc(since_epoch), record.level());
    }
    out
}

/// syslog priorities as journald reads them: err, warning, info, debug.
fn syslog_priority(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// Whether stderr is the journal stream systemd announced. The variable is inherited by
/// anything we run and survives a redirection of stderr, so it is checked against stderr's
/// device and inode, as systemd.exec(5) advises; where that cannot be read it is trusted.
fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else { return false };
    let stderr = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self/fd/2").ok().map(|m| (m.dev(), m.ino()))
    };
    journal_stream_matches(&value.to_string_lossy(), stderr)
}

/// `JOURNAL_STREAM` is `device:inode` in decimal.
fn journal_stream_matches(value: &str, stderr: Option<(u64, u64)>) -> bool {
    let Some(stderr) = stderr else { return true };
    let parsed =
        value.split_once(':').and_then(|(dev, ino)| Some((dev.parse().ok()?, ino.parse().ok()?)));
    parsed.is_none_or(|stream| stream == stderr)
}

pub use lookout_vision::errors::chain;

/// `2026-11-22T17:20:01.123Z` (RFC 3339, UTC, milliseconds), for log lines and event times.
pub fn rfc3339(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// `20261122T172001.123Z`: sorts by time and is safe in file names.
pub fn compact_timestamp(time: std::time::SystemTime) -> String {
    rfc3339(time).chars().filter(|c| *c != '-' && *c != ':').collect()
}

fn format_utc(since_epoch: Duration) -> String {
    rfc3339(std::time::UNIX_EPOCH + since_epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_as_rfc3339_utc() {
        // Epoch seconds from `date -u -d <date> +%s`.
        let at = |secs: u64, millis: u64| {
            format_utc(Duration::from_secs(secs) + Duration::from_millis(millis))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(1_795_368_001, 123), "2026-11-22T17:20:01.123Z");
        assert_eq!(at(951_868_799, 999), "2000-02-29T23:59:59.999Z");
        assert_eq!(at(4_107_542_399, 0), "2100-02-28T23:59:59.000Z", "2100 is no leap year");
        assert_eq!(
            compact_timestamp(std::time::UNIX_EPOCH + Duration::from_millis(1_795_368_001_123)),
            "20261122T172001.123Z"
        );
    }

    #[test]
    fn levels_parse() {
        assert_eq!(parse_level("error"), Some(LevelFilter::Error));
        assert_eq!(parse_level("warn"), Some(LevelFilter::Warn));
        assert_eq!(parse_level("info"), Some(LevelFilter::Info));
        assert_eq!(parse_level(" DEBUG\n"), Some(LevelFilter::Debug));
        assert_eq!(parse_level("Trace"), Some(LevelFilter::Trace));
        assert_eq!(parse_level("verbose"), None);
        assert_eq!(parse_level(""), None);
    }

    #[test]
    fn dependencies_are_held_to_warnings() {
        let logger = Logger { level: LevelFilter::Trace, journal: false };
        assert!(logger.allows("lookout::daemon", Level::Trace));
        assert!(logger.allows("lookout_tools::train", Level::Debug));
        assert!(logger.allows("rumqttc::state", Level::Warn));
        assert!(!logger.allows("rumqttc::state", Level::Info));
        assert!(!logger.allows("symphonia_core::probe", Level::Debug));

        let quiet = Logger { level: LevelFilter::Error, journal: false };
        assert!(!quiet.allows("lookout::daemon", Level::Warn));
        assert!(!quiet.allows("cpal::host::alsa", Level::Warn));
        assert!(quiet.allows("cpal::host::alsa", Level::Error));
    }

    fn line(journal: bool, level: Level, target: &str, message: &str) -> String {
        let args = format_args!("{message}");
        let record = Record::builder().level(level).target(target).args(args).build();
        format_record(journal, &record, Duration::from_millis(1_795_368_001_123))
    }

    #[test]
    fn lines_for_a_terminal() {
        assert_eq!(
            line(false, Level::Warn, "lookout::daemon", "disk full"),
            "2026-11-22T17:20:01.123Z WARN disk full\n"
        );
        assert_eq!(
            line(false, Level::Error, "rumqttc::state", "broker gone"),
            "2026-11-22T17:20:01.123Z ERROR rumqttc::state: broker gone\n"
        );
    }

    #[test]
    fn lines_for_the_journal() {
        assert_eq!(line(true, Level::Error, "lookout", "boom"), "<3>boom\n");
        assert_eq!(line(true, Level::Warn, "lookout", "hm"), "<4>hm\n");
        assert_eq!(line(true, Level::Info, "lookout", "ready"), "<6>ready\n");
        assert_eq!(line(true, Level::Debug, "lookout", "d"), "<7>d\n");
        assert_eq!(line(true, Level::Trace, "lookout", "t"), "<7>t\n");
        assert_eq!(line(true, Level::Warn, "lookout", "two\nlines"), "<4>two\n<4>lines\n");
        assert_eq!(line(true, Level::Info, "lookout", ""), "<6>\n");
    }

    #[test]
    fn journal_stream_is_checked_against_stderr() {
        assert!(journal_stream_matches("8:1234", Some((8, 1234))));
        assert!(!journal_stream_matches("8:1234", Some((8, 999))), "stderr was redirected");
        assert!(journal_stream_matches("8:1234", None), "cannot check: trust it");
        assert!(journal_stream_matches("garbled", Some((8, 1234))));
    }
}
