//! A real mosquitto broker on a free loopback port and a subscriber that records what it
//! sees, for the tests that need MQTT. Needs /usr/sbin/mosquitto (`apt-get install mosquitto`);
//! without it those tests fail.
#![allow(dead_code)]

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lookout::settings::{MqttSettings, TopicPrefix};
use rumqttc::{Client, Event, Packet, QoS};

pub const MOSQUITTO: &str = "/usr/sbin/mosquitto";
pub const PREFIX: &str = "lookout-test";

static STARTS: AtomicUsize = AtomicUsize::new(0);

/// A mosquitto process, killed when dropped.
pub struct Broker {
    child: Child,
    log: PathBuf,
}

impl Broker {
    /// Starts mosquitto on 127.0.0.1:`port` with its config and log in `dir`, and waits until it
    /// accepts connections.
    pub fn start(dir: &Path, port: u16) -> Broker {
        assert!(
            Path::new(MOSQUITTO).exists(),
            "{MOSQUITTO} not found: this test needs a real broker; `apt-get install mosquitto`"
        );
        let config = dir.join("mosquitto.conf");
        let settings = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n\
             log_type all\n"
        );
        std::fs::write(&config, settings).unwrap();
        // One log per start, so a restart does not hide why the first run failed.
        let log = dir.join(format!("mosquitto-{}.log", STARTS.fetch_add(1, Ordering::SeqCst)));
        let child = Command::new(MOSQUITTO)
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {MOSQUITTO}: {e}"));
        let mut broker = Broker { child, log };
        broker.wait_listening(port);
        broker
    }

    fn wait_listening(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("mosquitto exited ({status}): {}", self.log());
            }
            assert!(Instant::now() < deadline, "mosquitto not listening after 5 s: {}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// PUBLISH packets the broker received from `client` on `topic` (from its log: counts what
    /// arrived even when no subscriber was there yet).
    pub fn publishes_received(&self, client: &str, topic: &str) -> usize {
        let from = format!("Received PUBLISH from {client} ");
        let on = format!("'{topic}'");
        self.log().lines().filter(|l| l.contains(&from) && l.contains(&on)).count()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Subscribed,
    Message { topic: String, payload: String, retain: bool },
}

/// A test client subscribed to `<prefix>/#`, resubscribing after every reconnection.
pub struct Subscriber {
    seen: Receiver<Seen>,
    client: Client,
    stop: Arc<AtomicBool>,
}

impl Subscriber {
    pub fn start(port: u16, name: &str) -> Subscriber {
        let mut options = rumqttc::MqttOptions::new(name, "127.0.0.1", port);
        options.set_keep_alive(Duration::from_secs(5));
        let (client, mut connection) = Client::new(options, 16);
        let (tx, seen) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let thread_client = client.clone();
        let thread_stop = stop.clone();
        std::thread::spawn(move || {
            for event in connection.iter() {
                let sent = match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ =
                            thread_client.try_subscribe(format!("{PREFIX}/#"), QoS::AtLeastOnce);
                        Ok(())
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => tx.send(Seen::Subscribed),
                    Ok(Event::Incoming(Packet::Publish(p))) => tx.send(Seen::Message {
                        topic: p.topic,
                        payload: String::from_utf8_lossy(&p.payload).into_owned(),
                        retain: p.retain,
                    }),
                    Ok(_) => Ok(()),
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(50));
                        Ok(())
                    }
                };
                if sent.is_err() || thread_stop.load(Ordering::SeqCst) {
                    break;
                }
            }
        });
        Subscriber { seen, client, stop }
    }

    /// Waits for the first message `wanted` accepts, failing with everything seen meanwhile.
    pub fn wait_for(&self, what: &str, wanted: impl Fn(&Seen) -> bool) -> Seen {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.seen.recv_timeout(left) {
                Ok(s) if wanted(&s) => return s,
                Ok(s) => seen.push(s),
                Err(_) => break,
            }
        }
        panic!("no {what} within 10 s; saw {seen:#?}");
    }

    pub fn wait_message(&self, topic: &str, payload: &str) -> Seen {
        self.wait_for(&format!("{payload:?} on {topic}"), |s| {
            matches!(s, Seen::Message { topic: t, payload: p, .. } if t == topic && p == payload)
        })
    }

    /// The retained message on `topic`, as a client subscribing now receives it.
    pub fn retained(port: u16, name: &str, topic: &str) -> String {
        let fresh = Subscriber::start(port, name);
        let what = format!("retained message on {topic}");
        match fresh.wait_for(&what, |s| matches!(s, Seen::Message { topic: t, .. } if t == topic)) {
            Seen::Message { payload, retain: true, .. } => payload,
            other => panic!("{topic}: not retained: {other:?}"),
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.client.try_disconnect();
    }
}

/// Settings for a publisher under test on `port`: quick keep-alive and reconnects.
pub fn publisher_settings(port: u16, client_id: &str) -> MqttSettings {
    MqttSettings {
        host: "127.0.0.1".into(),
        port,
        client_id: client_id.into(),
        topic_prefix: TopicPrefix::new(PREFIX).unwrap(),
        keep_alive: Duration::from_secs(2),
        username: None,
        password: None,
        reconnect_max: Duration::from_millis(200),
    }
}
