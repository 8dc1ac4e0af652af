//! Events to an MQTT broker, for home automation to react to.
//!
//! [`MqttPublisher`] sends each event as one JSON message (QoS 1, not retained) to
//! `<prefix>/events`, and keeps `<prefix>/availability` at `online` (retained, sent on every
//! connection) or `offline` (retained: the last will, and sent on a clean shutdown).
//! The connection lives on its own thread, so a broker that is down or slow never holds up the
//! caller: events wait in a bounded queue while it reconnects, and beyond that they are refused.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::settings::MqttSettings;
use rumqttc::{Client, Connection, Event, LastWill, Outgoing, Packet, Publish, QoS, Request};

/// Requests (events) waiting for the connection thread; a broker away this long loses the rest.
const QUEUE_CAPACITY: usize = 64;
/// Largest packet we send; rumqttc drops the whole connection on a larger one.
const MAX_PACKET: usize = 64 * 1024;
/// Room for the fixed header, topic length and packet id around topic and payload.
const PACKET_OVERHEAD: usize = 16;
/// How long shutdown waits for `offline` to go out before leaving the thread behind.
const SHUTDOWN: Duration = Duration::from_secs(1);
/// The first reconnect delay, doubled on each failure up to `reconnect_max`.
const FIRST_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    #[error("cannot start the MQTT thread")]
    Thread(#[source] std::io::Error),
    #[error("MQTT queue full ({capacity} messages wait for {broker}); event not sent")]
    QueueFull { broker: String, capacity: usize },
    #[error("event of {bytes} bytes is over the MQTT packet limit of {limit} bytes; not sent")]
    TooLarge { bytes: usize, limit: usize },
    #[error("MQTT publisher has stopped; event not sent")]
    Stopped,
}

/// A running connection to the broker. Dropping it publishes `offline` and disconnects.
pub struct MqttPublisher {
    client: Client,
    broker: String,
    events_topic: String,
    availability_topic: String,
    connected: Arc<AtomicBool>,
    stopped: Arc<AtomicBool>,
    /// Dropped to tell the thread to stop.
    stop: Option<mpsc::Sender<()>>,
    /// Disconnects when the thread ends.
    done: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl MqttPublisher {
    /// Starts the connection thread (the settings were checked by [`crate::settings`]);
    /// returns without waiting for the broker, which may well be down at boot.
    pub fn start(options: &MqttSettings) -> Result<MqttPublisher, MqttError> {
        let broker = format!("{}:{}", options.host, options.port);
        let events_topic = options.topic_prefix.topic("events");
        let availability_topic = options.topic_prefix.topic("availability");

        let mut mqtt = rumqttc::MqttOptions::new(&options.client_id, &options.host, options.port);
        // rumqttc asserts on less than a second; the settings never hold less.
        mqtt.set_keep_alive(options.keep_alive.max(Duration::from_secs(1)))
            .set_max_packet_size(10 * 1024, MAX_PACKET)
            .set_last_will(LastWill::new(&availability_topic, "offline", QoS::AtLeastOnce, true));
        if let Some(username) = &options.username {
            mqtt.set_credentials(username, options.password.clone().unwrap_or_default());
        }
        let (client, connection) = Client::new(mqtt, QUEUE_CAPACITY);

        let connected = Arc::new(AtomicBool::new(false));
        let stopped = Arc::new(AtomicBool::new(false));
        let (stop_tx, stop_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let link = Link {
            broker: broker.clone(),
            availability_topic: availability_topic.clone(),
            reconnect_max: options.reconnect_max,
            connected: connected.clone(),
            stopped: stopped.clone(),
            stop: stop_rx,
            _done: done_tx,
        };
        let thread = std::thread::Builder::new()
            .name("mqtt".into())
            .spawn(move || link.run(connection))
            .map_err(MqttError::Thread)?;
        Ok(MqttPublisher {
            client,
            broker,
            events_topic,
            availability_topic,
            connected,
            stopped,
            stop: Some(stop_tx),
            done: done_rx,
            thread: Some(thread),
        })
    }

    /// Queues one event for `<prefix>/events` without waiting for the broker. While the broker is
    /// away, events wait (up to a queue's worth) and go out after reconnecting.
    pub fn publish_event(&self, json: &str) -> Result<(), MqttError> {
        let limit = MAX_PACKET.saturating_sub(PACKET_OVERHEAD + self.events_topic.len());
        if json.len() > limit {
            return Err(MqttError::TooLarge { bytes: json.len(), limit });
        }
        self.client.try_publish(&self.events_topic, QoS::AtLeastOnce, false, json).map_err(|_| {
            if self.stopped.load(Ordering::SeqCst) {
                MqttError::Stopped
            } else {
                MqttError::QueueFull { broker: self.broker.clone(), capacity: QUEUE_CAPACITY }
            }
        })
    }

    /// Whether the broker has accepted the connection and it has not failed since.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }
}

impl Drop for MqttPublisher {
    fn drop(&mut self) {
        if self.is_connected() {
            // Retained, so whoever subscribes later also sees that we left on purpose; the
            // clean disconnect after it tells the broker not to send the last will.
            let _ = self.client.try_publish(
                &self.availability_topic,
                QoS::AtLeastOnce,
                true,
                "offline",
            );
            let _ = self.client.try_disconnect();
        }
        drop(self.stop.take());
        match self.done.recv_timeout(SHUTDOWN) {
            Err(RecvTimeoutError::Timeout) => {
                log::warn!("mqtt: the connection did not close within 1 s; leaving it")
            }
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                if let Some(thread) = self.thread.take() {
                    let _ = thread.join();
                }
            }
        }
    }
}

/// The connection thread's side.
struct Link {
    broker: String,
    availability_topic: String,
    reconnect_max: Duration,
    connected: Arc<AtomicBool>,
    stopped: Arc<AtomicBool>,
    stop: mpsc::Receiver<()>,
    /// Dropped when the thread ends, which wakes a waiting shutdown.
    _done: mpsc::Sender<()>,
}

impl Link {
    fn run(self, mut connection: Connection) {
        let first_retry = FIRST_RETRY.min(self.reconnect_max);
        let mut retry = first_retry;
        let mut in_outage = false;
        let mut ever_connected = false;
        let mut stop_deadline = None;
        // `recv` returns an error only once rumqttc has no more requests to serve.
        while let Ok(event) = connection.recv() {
            if matches!(self.stop.try_recv(), Err(TryRecvError::Disconnected)) {
                // Still connected: let `offline` and the disconnect go out, but not forever.
                let deadline = *stop_deadline.get_or_insert_with(|| Instant::now() + SHUTDOWN);
                if Instant::now() > deadline {
                    break;
                }
            }
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    // First in line, ahead of events queued while the broker was away: a fresh
                    // broker (or one that lost its retained messages) learns we are here.
                    let mut online =
                        Publish::new(&self.availability_topic, QoS::AtLeastOnce, "online");
                    online.retain = true;
                    connection.eventloop.pending.push_front(Request::Publish(online));
                    self.connected.store(true, Ordering::SeqCst);
                    retry = first_retry;
                    let again = if ever_connected { " again" } else { "" };
                    log::info!("mqtt: connected to {}{again}", self.broker);
                    in_outage = false;
                    ever_connected = true;
                }
                Ok(Event::Outgoing(Outgoing::Disconnect)) => break,
                Ok(_) => {}
                Err(e) => {
                    self.connected.store(false, Ordering::SeqCst);
                    if stop_deadline.is_some() {
                        break;
                    }
                    if in_outage {
                        log::debug!("mqtt: {} still unreachable: {e}", self.broker);
                    } else {
                        log::warn!(
                            "mqtt: broker {} unreachable: {e}; retrying, at most {} s apart",
                            self.broker,
                            self.reconnect_max.as_secs_f64()
                        );
                        in_outage = true;
                    }
                    // The wait doubles as the stop signal: a shutdown ends it at once.
                    match self.stop.recv_timeout(retry) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    }
                    retry = (retry * 2).min(self.reconnect_max);
                }
            }
        }
        self.connected.store(false, Ordering::SeqCst);
        self.stopped.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::TopicPrefix;

    /// A loopback port nothing listens on: connecting is refused at once.
    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    #[test]
    fn a_missing_broker_costs_the_caller_nothing() {
        let options = MqttSettings {
            host: "127.0.0.1".into(),
            port: closed_port(),
            client_id: "lookout".into(),
            topic_prefix: TopicPrefix::new("lookout").unwrap(),
            keep_alive: Duration::from_secs(30),
            username: None,
            password: None,
            reconnect_max: Duration::from_millis(100),
        };
        let started = Instant::now();
        let publisher = MqttPublisher::start(&options).unwrap();
        assert!(started.elapsed() < Duration::from_millis(200), "start waited for the broker");
        // The queue holds what the broker will get once it is back; beyond that, refused.
        for i in 0..QUEUE_CAPACITY {
            publisher.publish_event(&format!(r#"{{"n":{i}}}"#)).unwrap();
        }
        let refused = publisher.publish_event("{}").unwrap_err();
        assert!(matches!(refused, MqttError::QueueFull { .. }), "{refused}");
        assert!(!publisher.is_connected());
        let too_large = publisher.publish_event(&"x".repeat(MAX_PACKET)).unwrap_err();
        assert!(matches!(too_large, MqttError::TooLarge { .. }), "{too_large}");
        let stopping = Instant::now();
        drop(publisher);
        assert!(stopping.elapsed() < Duration::from_millis(500), "{:?}", stopping.elapsed());
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }
}
