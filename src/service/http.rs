//! A tiny HTTP/1.1 server for local health checks: `/healthz`, `/metrics`, `/snapshot.jpg`.
//!
//! It answers monitoring probes and a curious human, not the internet: one thread accepts and
//! handles each connection in turn, every connection gets [`CONNECTION_DEADLINE`] to send a
//! request of at most [`MAX_REQUEST`] bytes (and as long to take the answer), and every
//! response closes the connection. That keeps a stuck or slow client from wedging it without
//! pulling in an HTTP stack.
//!
//! [`HttpServer`] stops when dropped: the accept loop is woken by a connection to itself.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::RgbImage;

use super::metrics::Metrics;

/// `/healthz` fails when no frame was processed for this long.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(10);

/// The whole time a client has to send its request, and again to take the response.
pub const CONNECTION_DEADLINE: Duration = Duration::from_secs(2);

/// Largest request head accepted; probes send a few hundred bytes.
pub const MAX_REQUEST: usize = 8 * 1024;

/// How long, and how much, we read after answering so that closing does not reset the
/// connection; see [`linger`].
const LINGER: Duration = Duration::from_millis(500);
const LINGER_BYTES: usize = 64 * 1024;

/// JPEG quality of `/snapshot.jpg`: small enough for a Pi's Wi-Fi, sharp enough to see a face.
const JPEG_QUALITY: u8 = 80;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot listen on {addr}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("cannot start the HTTP thread")]
    Spawn(#[source] io::Error),
}

/// What the endpoints serve, shared with the daemon's loop.
pub struct HttpState {
    pub metrics: Arc<Metrics>,
    /// `/healthz` reports unhealthy when the last frame is older than this.
    pub stale_after: Duration,
    snapshot: Mutex<Option<Arc<RgbImage>>>,
}

impl HttpState {
    /// State with no snapshot yet and [`DEFAULT_STALE_AFTER`].
    pub fn new(metrics: Arc<Metrics>) -> HttpState {
        HttpState { metrics, stale_after: DEFAULT_STALE_AFTER, snapshot: Mutex::new(None) }
    }

    pub fn with_stale_after(self, stale_after: Duration) -> HttpState {
        HttpState { stale_after, ..self }
    }

    /// Stores the latest annotated frame for `/snapshot.jpg`. It is encoded only when asked
    /// for, so storing one per frame costs a pointer swap.
    pub fn set_snapshot(&self, frame: Arc<RgbImage>) {
        *self.snapshot.lock().unwrap_or_else(PoisonError::into_inner) = Some(frame);
    }

    /// The latest stored frame.
    pub fn snapshot(&self) -> Option<Arc<RgbImage>> {
        self.snapshot.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl std::fmt::Debug for HttpState {
    /// The snapshot by its size: its pixels would fill the screen.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpState")
            .field("metrics", &self.metrics)
            .field("stale_after", &self.stale_after)
            .field("snapshot", &self.snapshot().map(|s| s.dimensions()))
            .finish()
    }
}

/// A running server; stops when dropped.
#[derive(Debug)]
pub struct HttpServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `addr` (port 0 picks a free port) and serves on a thread of its own.
    pub fn start(addr: SocketAddr, state: Arc<HttpState>) -> Result<HttpServer, HttpError> {
        let listener =
            TcpListener::bind(addr).map_err(|source| HttpError::Bind { addr, source })?;
        let local = listener.local_addr().map_err(|source| HttpError::Bind { addr, source })?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("lookout-http".into())
            .spawn({
                let stop = stop.clone();
                move || accept_loop(listener, &state, &stop)
            })
            .map_err(HttpError::Spawn)?;
        Ok(HttpServer { addr: local, stop, thread: Some(thread) })
    }

    /// The address actually bound, with the port chosen when 0 was asked for.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and waits for the thread: at once when idle, at most twice
    /// [`CONNECTION_DEADLINE`] while a slow client is being served. Dropping the server does
    /// the same.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(thread) = self.thread.take() else { return };
        self.stop.store(true, Ordering::SeqCst);
        // The accept loop blocks in accept(); a connection of our own wakes it to see the flag.
        match TcpStream::connect_timeout(&wake_addr(self.addr), Duration::from_secs(1)) {
            Ok(_) => {
                if thread.join().is_err() {
                    log::warn!("the HTTP thread panicked");
                }
            }
            // Without the wake-up the thread could block forever: leave it to the process exit.
            Err(e) => log::warn!("cannot wake the HTTP thread on {}: {e}", self.addr),
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Where to connect to reach a listener bound to `addr`: an unspecified address listens on
/// loopback too.
fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

fn accept_loop(listener: TcpListener, state: &HttpState, stop: &AtomicBool) {
    loop {
        let accepted = listener.accept();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, peer)) => {
                if let Err(e) = serve(stream, state) {
                    log::debug!("http: {peer}: {e}");
                }
            }
            Err(e) => {
                // Out of file descriptors and the like: retrying at once would spin.
                log::warn!("http: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// A response before it is written.
struct Response {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    allow: bool,
}

impl Response {
    fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into().into_bytes(),
            allow: false,
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

fn serve(mut stream: TcpStream, state: &HttpState) -> io::Result<()> {
    let deadline = Instant::now() + CONNECTION_DEADLINE;
    let (response, head_only) = match read_head(&mut stream, deadline)? {
        Head::Complete(head) => match parse_request_line(&head) {
            Some((method, target)) => {
                let head_only = method == "HEAD";
                (respond(method, target, state), head_only)
            }
            None => (Response::text(400, "malformed request\n"), false),
        },
        Head::TooLarge => (Response::text(431, "request too large\n"), false),
        Head::Truncated => (Response::text(400, "incomplete request\n"), false),
        Head::TimedOut => (Response::text(408, "request timed out\n"), false),
        Head::Closed => return Ok(()),
    };
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    )
    .into_bytes();
    out.extend_from_slice(b"Cache-Control: no-store\r\nConnection: close\r\n");
    if response.allow {
        out.extend_from_slice(b"Allow: GET, HEAD\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(&response.body);
    }
    // The response gets a deadline of its own, again for all of it: a client reading a byte
    // at a time is cut off too.
    let deadline = Instant::now() + CONNECTION_DEADLINE;
    for chunk in out.chunks(16 * 1024) {
        stream.set_write_timeout(Some(remaining(deadline)))?;
        stream.write_all(chunk)?;
    }
    stream.shutdown(Shutdown::Write)?;
    linger(&mut stream, deadline.min(Instant::now() + LINGER));
    Ok(())
}

/// Closing a socket with unread input sends a reset, which can destroy the response before
/// the client has read it (a request body, the rest of an oversized head). So after answering
/// we read and discard until the client closes, for a short while.
fn linger(stream: &mut TcpStream, until: Instant) {
    let mut sink = [0u8; 1024];
    let mut left = LINGER_BYTES;
    while left > 0 && Instant::now() < until {
        if stream.set_read_timeout(Some(remaining(until))).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

/// Time left until `deadline`, never zero (a zero timeout is an error for sockets).
fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))
}

enum Head {
    /// Everything up to the blank line, without it.
    Complete(String),
    TooLarge,
    /// The client closed after sending part of a request.
    Truncated,
    TimedOut,
    /// The client closed without sending anything (a port probe, or our own wake-up).
    Closed,
}

/// Reads the request line and headers. The deadline is for the whole head, not each read, so
/// a client trickling one byte at a time is cut off too.
fn read_head(stream: &mut TcpStream, deadline: Instant) -> io::Result<Head> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if Instant::now() >= deadline {
            return Ok(Head::TimedOut);
        }
        stream.set_read_timeout(Some(remaining(deadline)))?;
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Ok(Head::TimedOut)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(if buf.is_empty() { Head::Closed } else { Head::Truncated });
        }
        let searched_from = buf.len().saturating_sub(2);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = head_end(&buf, searched_from) {
            if end > MAX_REQUEST {
                return Ok(Head::TooLarge);
            }
            buf.truncate(end);
            return Ok(match String::from_utf8(buf) {
                Ok(head) => Head::Complete(head),
                // Not UTF-8 is not a request we serve; an empty head parses as malformed.
                Err(_) => Head::Complete(String::new()),
            });
        }
        if buf.len() > MAX_REQUEST {
            return Ok(Head::TooLarge);
        }
    }
}

/// Where the head ends: at the first blank line, CRLF CRLF or the bare LF LF of a hand-typed
/// request; searching from `from`. The head is `buf[..end]` (maybe ending in CR, which the
/// line parser strips).
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    (from..buf.len()).find(|&i| buf[i..].starts_with(b"\n\n") || buf[i..].starts_with(b"\n\r\n"))
}

/// `METHOD SP target SP HTTP/1.x`, with headers after it ignored but required to look like
/// headers.
fn parse_request_line(head: &str) -> Option<(&str, &str)> {
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let mut parts = lines.next()?.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || !target.starts_with('/')
        || !matches!(version, "HTTP/1.0" | "HTTP/1.1")
    {
        return None;
    }
    if !lines.all(|l| l.split_once(':').is_some_and(|(name, _)| is_token(name))) {
        return None;
    }
    Some((method, target))
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn respond(method: &str, target: &str, state: &HttpState) -> Response {
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    let known = matches!(path, "/healthz" | "/metrics" | "/snapshot.jpg");
    if !known {
        return Response::text(404, "not found\n");
    }
    if method != "GET" && method != "HEAD" {
        return Response { allow: true, ..Response::text(405, "method not allowed\n") };
    }
    match path {
        "/healthz" => healthz(state),
        "/metrics" => Response {
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            ..Response::text(200, state.metrics.render())
        },
        _ => snapshot(state),
    }
}

fn healthz(state: &HttpState) -> Response {
    match state.metrics.last_frame_age() {
        None => Response::text(503, "no frame yet\n"),
        Some(age) if age > state.stale_after => {
            Response::text(503, format!("no frame for {:.1} s\n", age.as_secs_f64()))
        }
        Some(_) => Response::text(200, "ok\n"),
    }
}

fn snapshot(state: &HttpState) -> Response {
    let Some(frame) = state.snapshot() else {
        return Response::text(404, "no snapshot yet\n");
    };
    let mut jpeg = Vec::new();
    match JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY).encode_image(&*frame) {
        Ok(()) => Response { status: 200, content_type: "image/jpeg", body: jpeg, allow: false },
        Err(e) => {
            log::warn!("http: cannot encode the snapshot: {e}");
            Response::text(500, "cannot encode the snapshot\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> (HttpServer, Arc<HttpState>) {
        let state = Arc::new(HttpState::new(Arc::new(Metrics::new())));
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let server = HttpServer::start(addr, state.clone()).expect("start the server");
        (server, state)
    }

    /// Sends `request` as is and returns the status line, the headers and the body.
    fn exchange(server: &HttpServer, request: &[u8]) -> (String, String, Vec<u8>) {
        let mut stream = TcpStream::connect(server.local_addr()).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        // The server may answer and close before reading all of an oversized request.
        let _ = stream.write_all(request);
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
        let head = String::from_utf8(response[..split].to_vec()).expect("an ASCII head");
        let body = response[split + 4..].to_vec();
        let (status, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
        (status.to_string(), headers.to_string(), body)
    }

    fn get(server: &HttpServer, path: &str) -> (String, String, Vec<u8>) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n");
        exchange(server, request.as_bytes())
    }

    #[test]
    fn healthz_follows_the_frames() {
        let (server, state) = server();
        let (status, _, body) = get(&server, "/healthz");
        assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
        assert_eq!(body, b"no frame yet\n");

        state.metrics.frame_processed(Duration::from_millis(20));
        let (status, headers, body) = get(&server, "/healthz");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(body, b"ok\n");
        assert!(headers.contains("Connection: close"), "{headers}");
        assert!(headers.contains("Content-Length: 3"), "{headers}");

        let old = Instant::now().checked_sub(Duration::from_secs(12)).expect("a past instant");
        let stale = Arc::new(Metrics::new());
        stale.frame_processed_at(old, Duration::ZERO);
        let state = Arc::new(HttpState::new(stale));
        let server =
            HttpServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), state).expect("start");
        let (status, _, body) = get(&server, "/healthz");
        assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
        let body = String::from_utf8(body).expect("text");
        assert!(body.starts_with("no frame for 12.") && body.ends_with(" s\n"), "{body}");
    }

    #[test]
    fn metrics_are_prometheus_text() {
        let (server, state) = server();
        state.metrics.decision("face", "me");
        let (status, headers, body) = get(&server, "/metrics?x=1");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(headers.contains("Content-Type: text/plain; version=0.0.4"), "{headers}");
        let body = String::from_utf8(body).expect("text");
        assert!(body.contains("lookout_decisions_total{kind=\"face\",label=\"me\"} 1\n"), "{body}");
        assert!(body.contains("lookout_up 1\n"));
    }

    #[test]
    fn snapshot_is_a_jpeg_of_the_last_frame() {
        let (server, state) = server();
        let (status, _, _) = get(&server, "/snapshot.jpg");
        assert_eq!(status, "HTTP/1.1 404 Not Found");

        let frame =
            RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 128]));
        state.set_snapshot(Arc::new(frame));
        let (status, headers, body) = get(&server, "/snapshot.jpg");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(headers.contains("Content-Type: image/jpeg"), "{headers}");
        assert!(headers.contains(&format!("Content-Length: {}", body.len())), "{headers}");
        let decoded = image::load_from_memory_with_format(&body, image::ImageFormat::Jpeg)
            .expect("a decodable JPEG");
        assert_eq!((decoded.width(), decoded.height()), (64, 48));
    }

    #[test]
    fn head_has_headers_and_no_body() {
        let (server, _state) = server();
        let (status, headers, body) = exchange(&server, b"HEAD /metrics HTTP/1.1\r\n\r\n");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(body.is_empty());
        let length: usize = headers
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|n| n.parse().ok())
            .expect("a Content-Length");
        assert!(length > 100, "HEAD announces the GET body's length");
    }

    #[test]
    fn wrong_methods_paths_and_requests() {
        let (server, _state) = server();
        let (status, headers, _) =
            exchange(&server, b"POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
        assert!(headers.contains("Allow: GET, HEAD"), "{headers}");

        let (status, _, _) = get(&server, "/nope");
        assert_eq!(status, "HTTP/1.1 404 Not Found");

        for bad in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET /healthz\r\n\r\n",
            b"GET healthz HTTP/1.1\r\n\r\n",
            b"GET /healthz HTTP/2.0\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n",
            b"\xff\xfe /healthz HTTP/1.1\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\nHost: x", // closed before the blank line
        ] {
            let mut stream = TcpStream::connect(server.local_addr()).expect("connect");
            stream.write_all(bad).expect("write");
            stream.shutdown(Shutdown::Write).expect("half-close");
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response);
            assert!(
                response.starts_with("HTTP/1.1 400 Bad Request\r\n"),
                "{:?} → {response:?}",
                String::from_utf8_lossy(bad)
            );
        }

        let mut huge = b"GET /healthz HTTP/1.1\r\n".to_vec();
        while huge.len() <= MAX_REQUEST + 100 {
            huge.extend_from_slice(
                b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
            );
        }
        huge.extend_from_slice(b"\r\n");
        let (status, _, _) = exchange(&server, &huge);
        assert_eq!(status, "HTTP/1.1 431 Request Header Fields Too Large");

        // Still serving after all that.
        let (status, _, _) = get(&server, "/healthz");
        assert!(status.starts_with("HTTP/1.1 503"), "{status}");
    }

    #[test]
    fn a_silent_client_is_cut_off_at_the_deadline() {
        let (server, _state) = server();
        let start = Instant::now();
        let mut silent = TcpStream::connect(server.local_addr()).expect("connect");
        let (status, _, _) = get(&server, "/healthz");
        assert!(status.starts_with("HTTP/1.1 503"), "{status}");
        assert!(start.elapsed() < CONNECTION_DEADLINE + Duration::from_secs(2));
        let mut response = String::new();
        let _ = silent.read_to_string(&mut response);
        assert!(response.starts_with("HTTP/1.1 408"), "{response:?}");
    }

    #[test]
    fn stop_is_quick_and_frees_the_port() {
        let (server, _state) = server();
        let addr = server.local_addr();
        let (status, _, _) = get(&server, "/healthz");
        assert!(status.starts_with("HTTP/1.1 503"), "{status}");
        let start = Instant::now();
        server.stop();
        assert!(start.elapsed() < Duration::from_millis(500), "{:?}", start.elapsed());
        assert!(TcpStream::connect(addr).is_err(), "nothing listens after stop");
        // Dropping also stops.
        let (server, _state) = self::server();
        let start = Instant::now();
        drop(server);
        assert!(start.elapsed() < Duration::from_millis(500));
    }

    #[test]
    fn binding_error_names_the_address() {
        let (server, state) = server();
        let err = HttpServer::start(server.local_addr(), state).expect_err("port in use");
        let message = err.to_string();
        assert!(message.contains(&server.local_addr().to_string()), "{message}");
    }

    #[test]
    fn unspecified_addresses_are_woken_on_loopback() {
        let wake = wake_addr(SocketAddr::from(([0, 0, 0, 0], 8080)));
        assert_eq!(wake, SocketAddr::from(([127, 0, 0, 1], 8080)));
        let wake = wake_addr("[::]:9".parse().expect("an address"));
        assert_eq!(wake, "[::1]:9".parse().expect("an address"));
    }
}
