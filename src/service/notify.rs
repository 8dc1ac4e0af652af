//! systemd's `sd_notify` protocol, spoken directly over a Unix datagram socket.
//!
//! Under `Type=notify` (or `notify-reload`) systemd passes a socket in `NOTIFY_SOCKET` and waits
//! for `READY=1`; the watchdog wants `WATCHDOG=1` more often than `WATCHDOG_USEC`. The protocol
//! is one datagram of `KEY=value` lines, so libsystemd is not worth linking for it.
//!
//! A [`Notifier`] without a socket (run from a terminal, in tests) does nothing, and a failing
//! socket is reported once and otherwise ignored: telling systemd is never worth stopping the
//! camera for.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Sends service state changes to systemd.
#[derive(Debug)]
pub struct Notifier {
    target: Option<Target>,
    watchdog: Option<Duration>,
    warned: AtomicBool,
}

#[derive(Debug)]
struct Target {
    socket: UnixDatagram,
    addr: SocketAddr,
    /// How the address was given, for the warning.
    name: String,
}

impl Notifier {
    /// The notifier systemd asked for through `NOTIFY_SOCKET` (a path, or `@name` in the
    /// abstract namespace), with the watchdog interval from `WATCHDOG_USEC`/`WATCHDOG_PID`.
    /// Without the variable, or with one we cannot use (reported), the notifier is disabled.
    pub fn from_env() -> Notifier {
        let watchdog = watchdog_from(
            std::env::var("WATCHDOG_USEC").ok().as_deref(),
            std::env::var("WATCHDOG_PID").ok().as_deref(),
            std::process::id(),
        );
        let Some(socket) = std::env::var_os("NOTIFY_SOCKET").filter(|s| !s.is_empty()) else {
            return Notifier::disabled();
        };
        let name = socket.to_string_lossy().into_owned();
        match notify_addr(&name, Path::new(&socket)).and_then(|addr| Target::new(addr, &name)) {
            Ok(target) => {
                Notifier { target: Some(target), watchdog, warned: AtomicBool::new(false) }
            }
            Err(e) => {
                log::warn!("NOTIFY_SOCKET={name}: {e}; not notifying systemd");
                Notifier::disabled()
            }
        }
    }

    /// A notifier sending to the datagram socket at `path`, without a watchdog; for tests.
    pub fn to_path(path: &Path) -> std::io::Result<Notifier> {
        let name = path.display().to_string();
        let target = Target::new(SocketAddr::from_pathname(path)?, &name)?;
        Ok(Notifier { target: Some(target), watchdog: None, warned: AtomicBool::new(false) })
    }

    /// A notifier that sends nothing.
    pub fn disabled() -> Notifier {
        Notifier { target: None, watchdog: None, warned: AtomicBool::new(false) }
    }

    /// Whether messages go anywhere.
    pub fn is_enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Startup is complete: systemd considers the service started.
    pub fn ready(&self) {
        self.send("READY=1");
    }

    /// A reload began; send [`Notifier::ready`] when it is done.
    ///
    /// `Type=notify-reload` wants the reload's `CLOCK_MONOTONIC` time to tell it from an older
    /// one; std has no way to read that clock, so it comes from libc's `clock_gettime`, which
    /// std links anyway. Where that fails only `RELOADING=1` is sent, which systemd accepts.
    pub fn reloading(&self) {
        if !self.is_enabled() {
            return;
        }
        match monotonic_usec() {
            Some(usec) => self.send(&format!("RELOADING=1\nMONOTONIC_USEC={usec}")),
            None => self.send("RELOADING=1"),
        }
    }

    /// Shutdown began.
    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }

    /// Keeps the watchdog from restarting the service; call at least every
    /// [`Notifier::watchdog_interval`], ideally every half of it.
    pub fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }

    /// One line shown by `systemctl status`. Line breaks become spaces, since each line of a
    /// notification is an assignment of its own.
    pub fn status(&self, text: &str) {
        if !self.is_enabled() {
            return;
        }
        self.send(&format!("STATUS={}", text.replace(['\n', '\r'], " ")));
    }

    /// How often systemd expects [`Notifier::watchdog`]; `None` when the watchdog is off, is
    /// meant for another process (`WATCHDOG_PID`), or nothing would receive the pings.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.target.as_ref().and(self.watchdog)
    }

    fn send(&self, message: &str) {
        let Some(target) = &self.target else { return };
        if let Err(e) = target.socket.send_to_addr(message.as_bytes(), &target.addr) {
            // The same failure would repeat with every watchdog ping; once is enough.
            if !self.warned.swap(true, Ordering::Relaxed) {
                log::warn!(
                    "cannot notify systemd on {}: {e}; ignoring further failures",
                    target.name
                );
            }
        }
    }
}

impl Target {
    fn new(addr: SocketAddr, name: &str) -> std::io::Result<Target> {
        Ok(Target { socket: UnixDatagram::unbound()?, addr, name: name.to_string() })
    }
}

/// Parses `NOTIFY_SOCKET` the way `sd_notify` does: an absolute path, or `@` for the abstract
/// namespace.
fn notify_addr(name: &str, path: &Path) -> std::io::Result<SocketAddr> {
    let unsupported =
        |why: &str| std::io::Error::new(std::io::ErrorKind::Unsupported, why.to_string());
    if let Some(abstract_name) = name.strip_prefix('@') {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use std::os::linux::net::SocketAddrExt;
            return SocketAddr::from_abstract_name(abstract_name.as_bytes());
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = abstract_name;
            return Err(unsupported("abstract sockets exist only on Linux"));
        }
    }
    if path.is_absolute() {
        SocketAddr::from_pathname(path)
    } else {
        Err(unsupported("expected an absolute path or @name"))
    }
}

/// The watchdog interval from `WATCHDOG_USEC`, unless `WATCHDOG_PID` names another process
/// (a wrapper script that exec'd us keeps the pid, a child we spawned does not).
fn watchdog_from(usec: Option<&str>, pid: Option<&str>, our_pid: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|u| *u > 0)?;
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok() != Some(our_pid) {
            return None;
        }
    }
    Some(Duration::from_micros(usec))
}

/// `CLOCK_MONOTONIC` in microseconds, the clock systemd stamps reloads with.
#[cfg(target_os = "linux")]
fn monotonic_usec() -> Option<u64> {
    use std::ffi::{c_int, c_long};

    /// `struct timespec` of the `clock_gettime` symbol: both fields are `long` on every Linux
    /// ABI we build for (on 32-bit ARM that is the 32-bit `time_t` variant, which lasts past
    /// 2100 for an uptime).
    #[repr(C)]
    struct Timespec {
        tv_sec: c_long,
        tv_nsec: c_long,
    }
    const CLOCK_MONOTONIC: c_int = 1;
    unsafe extern "C" {
        fn clock_gettime(clock: c_int, tp: *mut Timespec) -> c_int;
    }

    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a live, writable timespec for the duration of the call, and
    // CLOCK_MONOTONIC is always available on Linux.
    let rc = unsafe { clock_gettime(CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u64::try_from(ts.tv_nsec).ok()?;
    secs.checked_mul(1_000_000)?.checked_add(nanos / 1_000)
}

#[cfg(not(target_os = "linux"))]
fn monotonic_usec() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener() -> (tempfile::TempDir, UnixDatagram, Notifier) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind the test socket");
        socket.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
        let notifier = Notifier::to_path(&path).expect("a notifier");
        (dir, socket, notifier)
    }

    fn recv(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).expect("a notification");
        String::from_utf8(buf[..n].to_vec()).expect("UTF-8")
    }

    #[test]
    fn messages_arrive_verbatim() {
        let (_dir, socket, notifier) = listener();
        assert!(notifier.is_enabled());
        notifier.ready();
        assert_eq!(recv(&socket), "READY=1");
        notifier.status("9.8 fps, 120 frames\nREADY=1");
        assert_eq!(recv(&socket), "STATUS=9.8 fps, 120 frames READY=1");
        notifier.watchdog();
        assert_eq!(recv(&socket), "WATCHDOG=1");
        notifier.stopping();
        assert_eq!(recv(&socket), "STOPPING=1");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reloading_carries_the_monotonic_clock() {
        let (_dir, socket, notifier) = listener();
        let before = monotonic_usec().expect("CLOCK_MONOTONIC");
        notifier.reloading();
        let after = monotonic_usec().expect("CLOCK_MONOTONIC");
        let message = recv(&socket);
        let usec: u64 = message
            .strip_prefix("RELOADING=1\nMONOTONIC_USEC=")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected {message:?}"));
        assert!(before <= usec && usec <= after, "{before} <= {usec} <= {after}");
        assert!(before > 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn monotonic_clock_matches_instant() {
        // std's Instant reads CLOCK_MONOTONIC on Linux: an interval measured both ways agrees.
        let (start, t0) = (std::time::Instant::now(), monotonic_usec().expect("clock"));
        std::thread::sleep(Duration::from_millis(30));
        let (t1, elapsed) = (monotonic_usec().expect("clock"), start.elapsed());
        let ours = Duration::from_micros(t1 - t0);
        let diff = ours.abs_diff(elapsed);
        assert!(diff < Duration::from_millis(5), "{ours:?} vs {elapsed:?}");
    }

    #[test]
    fn a_missing_socket_is_reported_not_fatal() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let notifier = Notifier::to_path(&dir.path().join("nobody-listens")).expect("a notifier");
        notifier.ready();
        notifier.watchdog();
        assert!(notifier.warned.load(Ordering::Relaxed));
    }

    #[test]
    fn disabled_does_nothing() {
        let notifier = Notifier::disabled();
        assert!(!notifier.is_enabled());
        notifier.ready();
        notifier.reloading();
        notifier.status("x");
        assert_eq!(notifier.watchdog_interval(), None);
        assert!(!notifier.warned.load(Ordering::Relaxed));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn abstract_and_path_addresses() {
        let addr = notify_addr("@lookout-test", Path::new("@lookout-test")).expect("abstract");
        use std::os::linux::net::SocketAddrExt;
        assert_eq!(addr.as_abstract_name(), Some(&b"lookout-test"[..]));
        let addr =
            notify_addr("/run/systemd/notify", Path::new("/run/systemd/notify")).expect("path");
        assert_eq!(addr.as_pathname(), Some(Path::new("/run/systemd/notify")));
        assert!(notify_addr("relative", Path::new("relative")).is_err());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn abstract_socket_receives() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("lookout-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("an abstract address");
        let socket = UnixDatagram::bind_addr(&addr).expect("bind the abstract socket");
        socket.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
        let target =
            Target::new(notify_addr(&format!("@{name}"), Path::new("")).expect("parse"), &name)
                .expect("a socket");
        let notifier =
            Notifier { target: Some(target), watchdog: None, warned: AtomicBool::new(false) };
        notifier.ready();
        assert_eq!(recv(&socket), "READY=1");
    }

    #[test]
    fn watchdog_interval_follows_the_pid() {
        let thirty = Some(Duration::from_secs(30));
        assert_eq!(watchdog_from(Some("30000000"), None, 42), thirty);
        assert_eq!(watchdog_from(Some("30000000"), Some("42"), 42), thirty);
        assert_eq!(watchdog_from(Some("30000000"), Some("43"), 42), None);
        assert_eq!(watchdog_from(Some("30000000"), Some("nope"), 42), None);
        assert_eq!(watchdog_from(Some("0"), None, 42), None);
        assert_eq!(watchdog_from(Some("soon"), None, 42), None);
        assert_eq!(watchdog_from(None, Some("42"), 42), None);
    }
}
