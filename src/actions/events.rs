//! The event log: one JSON line per decision, in a file rotated by size (or on stdout). When
//! the disk refuses a write (full, read-only), lines wait in memory up to a bound and are
//! written when the disk takes them again; beyond the bound the oldest are dropped and counted.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Lines kept while the disk refuses them.
pub const PENDING_LIMIT: usize = 1000;

pub struct EventLog {
    target: Target,
    pending: VecDeque<String>,
    lost: u64,
    failing: bool,
}

enum Target {
    Stdout,
    File { path: PathBuf, file: Option<File>, size: u64, max_bytes: u64, keep: u32 },
}

impl EventLog {
    pub fn stdout() -> EventLog {
        EventLog { target: Target::Stdout, pending: VecDeque::new(), lost: 0, failing: false }
    }

    /// Appends to `path` (created with its folder if missing), rotating at `max_bytes`.
    pub fn file(path: &Path, max_bytes: u64, keep: u32) -> EventLog {
        let target = Target::File {
            path: path.to_path_buf(),
            file: None,
            size: 0,
            max_bytes,
            keep: keep.max(1),
        };
        EventLog { target, pending: VecDeque::new(), lost: 0, failing: false }
    }

    /// Lines dropped because the disk refused them for too long.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Lines waiting in memory.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Queues `line` and writes everything pending. `Err` (already logged once per outage)
    /// means the line is held in memory for now ([`EventLog::lost`] counts what overflowed).
    pub fn write(&mut self, line: String) -> Result<(), String> {
        self.pending.push_back(line);
        if self.pending.len() > PENDING_LIMIT {
            self.pending.pop_front();
            self.lost += 1;
        }
        while let Some(line) = self.pending.pop_front() {
            if let Err(e) = self.write_line(&line) {
                self.pending.push_front(line);
                let msg = format!("{}: {e}", self.describe());
                if !self.failing {
                    log::warn!("events: {msg}; keeping up to {PENDING_LIMIT} events in memory");
                    self.failing = true;
                }
                return Err(msg);
            }
        }
        if self.failing {
            log::info!("events: {} writable again", self.describe());
            self.failing = false;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        match &self.target {
            Target::Stdout => "stdout".into(),
            Target::File { path, .. } => path.display().to_string(),
        }
    }

    fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        match &mut self.target {
            Target::Stdout => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{line}")?;
                out.flush()
            }
            Target::File { path, file, size, max_bytes, keep } => {
                let bytes = line.len() as u64 + 1;
                if file.is_some() && *size > 0 && *size + bytes > *max_bytes {
                    *file = None;
                    rotate(path, *keep)?;
                }
                if file.is_none() {
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir)?;
                    }
                    let f = OpenOptions::new().create(true).append(true).open(&*path)?;
                    *size = f.metadata()?.len();
                    *file = Some(f);
                    if *size > 0 && *size + bytes > *max_bytes {
                        *file = None;
                        rotate(path, *keep)?;
                        *file = Some(OpenOptions::new().create(true).append(true).open(&*path)?);
                        *size = 0;
                    }
                }
                let Some(f) = file.as_mut() else { return Ok(()) };
                let mut buf = Vec::with_capacity(line.len() + 1);
                buf.extend_from_slice(line.as_bytes());
                buf.push(b'\n');
                // One write per line: a failure leaves no half line behind for the next try to
                // duplicate (a short write on a full disk is undone by truncating back).
                if let Err(e) = f.write_all(&buf) {
                    let _ = f.set_len(*size);
                    *file = None;
                    return Err(e);
                }
                *size += bytes;
                Ok(())
            }
        }
    }
}

/// events.jsonl → .1 → .2 …; the oldest beyond `keep` is removed.
fn rotate(path: &Path, keep: u32) -> std::io::Result<()> {
    let numbered = |n: u32| {
        let mut s = path.as_os_str().to_owned();
        s.push(format!(".{n}"));
        PathBuf::from(s)
    };
    let _ = std::fs::remove_file(numbered(keep));
    for n in (1..keep).rev() {
        let from = numbered(n);
        if from.exists() {
            std::fs::rename(&from, numbered(n + 1))?;
        }
    }
    std::fs::rename(path, numbered(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_and_keeps_n_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/events.jsonl");
        let mut log = EventLog::file(&path, 100, 2);
        for i in 0..20 {
            log.write(format!("{{\"n\":{i:02},\"pad\":\"xxxxxxxxxxxxxxxxxxxx\"}}")).unwrap();
        }
        let read = |p: &Path| std::fs::read_to_string(p).unwrap();
        let current = read(&path);
        assert!(
            current.len() <= 100
                && current.ends_with("\"n\":19,\"pad\":\"xxxxxxxxxxxxxxxxxxxx\"}\n"),
            "{current}"
        );
        assert!(dir.path().join("logs/events.jsonl.1").exists());
        assert!(dir.path().join("logs/events.jsonl.2").exists());
        assert!(!dir.path().join("logs/events.jsonl.3").exists());
        let all: usize = ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
            .iter()
            .map(|n| read(&dir.path().join("logs").join(n)).lines().count())
            .sum();
        assert_eq!(all, 6, "three files of two 38-byte lines");
    }

    #[test]
    fn a_full_disk_keeps_events_in_memory_and_counts_what_it_drops() {
        // /dev/full: every write fails with ENOSPC, as on a full disk.
        let mut log = EventLog::file(Path::new("/dev/full"), 1_000_000, 3);
        for i in 0..(PENDING_LIMIT + 7) {
            let err = log.write(format!("{{\"n\":{i}}}")).unwrap_err();
            assert!(err.contains("/dev/full") && err.contains("space"), "{err}");
        }
        assert_eq!((log.pending(), log.lost()), (PENDING_LIMIT, 7));
    }

    #[test]
    fn an_unwritable_log_keeps_events_in_memory_then_catches_up() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file should be: every open fails, as on a broken disk.
        let path = dir.path().join("events.jsonl");
        std::fs::create_dir(&path).unwrap();
        let mut log = EventLog::file(&path, 1_000_000, 3);
        for i in 0..(PENDING_LIMIT + 5) {
            assert!(log.write(format!("{{\"n\":{i}}}")).is_err());
        }
        assert_eq!((log.pending(), log.lost()), (PENDING_LIMIT, 5));
        std::fs::remove_dir(&path).unwrap();
        log.write("{\"n\":\"last\"}".into()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), PENDING_LIMIT);
        assert!(text.starts_with("{\"n\":6}\n") && text.ends_with("{\"n\":\"last\"}\n"));
    }
}
