//! MQTT against a real broker: mosquitto on a free loopback port, started and killed by the
//! test (tests/common/mqtt.rs). The publisher on its own (availability, exact JSON, a broker
//! restart, a broker down from the start), the daemon publishing its decisions, and the last will when the daemon dies.
//!
//! Needs /usr/sbin/mosquitto (`apt-get install mosquitto`); without it the tests fail.

mod common;

use common::root;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::mqtt::{free_port, publisher_settings, Broker, Seen, Subscriber, PREFIX};
use common::{lookout, settings, wait_until};
use lookout::actions::mqtt::MqttPublisher;

/// Publishing only queues: it must return at once whatever the broker's state.
fn publish_quickly(publisher: &MqttPublisher, json: &str) {
    let started = Instant::now();
    publisher.publish_event(json).unwrap();
    assert!(started.elapsed() < Duration::from_millis(100), "publish blocked: {json}");
}

/// Shutting the publisher down (`offline`, disconnect) is bounded even with no broker, so
/// stopping the daemon never hangs on the network.
fn drop_quickly(publisher: MqttPublisher) {
    let started = Instant::now();
    drop(publisher);
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "shutdown took {:?}",
        started.elapsed()
    );
}

#[test]
fn events_reach_the_broker_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut broker = Broker::start(dir.path(), port);
    let availability = format!("{PREFIX}/availability");
    let events = format!("{PREFIX}/events");

    let subscriber = Subscriber::start(port, "test-watcher");
    subscriber.wait_for("subscription", |s| *s == Seen::Subscribed);

    let options = publisher_settings(port, "lookout-under-test");
    let started = Instant::now();
    let publisher = MqttPublisher::start(&options).unwrap();
    assert!(started.elapsed() < Duration::from_millis(500), "start waited for the network");
    subscriber.wait_message(&availability, "online");
    wait_until("connected", Duration::from_secs(5), || publisher.is_connected());
    assert_eq!(Subscriber::retained(port, "test-late-1", &availability), "online");

    let sent = [
        r#"{"label":"me","confidence":0.97,"actions":["sound: started (me.mp3)"]}"#,
        r#"{"label":"visitor","note":"quotes \" and ünïcödé 👻"}"#,
        "{}",
    ];
    for json in sent {
        publisher.publish_event(json).unwrap();
    }
    for json in sent {
        match subscriber.wait_message(&events, json) {
            Seen::Message { retain, .. } => assert!(!retain, "events must not be retained"),
            Seen::Subscribed => unreachable!(),
        }
    }

    // The broker goes away: nothing blocks, nothing panics, events wait in the queue.
    drop(broker);
    wait_until("disconnect noticed", Duration::from_secs(5), || !publisher.is_connected());
    publish_quickly(&publisher, r#"{"during":"outage"}"#);

    // Back on the same port, without its retained messages: `online` must be sent again.
    broker = Broker::start(dir.path(), port);
    wait_until("reconnected", Duration::from_secs(5), || publisher.is_connected());
    subscriber.wait_for("subscription after restart", |s| *s == Seen::Subscribed);
    assert_eq!(Subscriber::retained(port, "test-late-2", &availability), "online");
    let after = r#"{"label":"me","after":"restart"}"#;
    publisher.publish_event(after).unwrap();
    subscriber.wait_message(&events, after);

    drop_quickly(publisher);
    subscriber.wait_message(&availability, "offline");
    assert_eq!(Subscriber::retained(port, "test-late-3", &availability), "offline");
    drop(broker);
}

fn payload_json(seen: Seen) -> serde_json::Value {
    match seen {
        Seen::Message { payload, .. } => serde_json::from_str(&payload).unwrap(),
        Seen::Subscribed => unreachable!(),
    }
}

#[test]
fn a_broker_down_then_up_then_down_blocks_nothing_and_delivers_what_waited() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let options = publisher_settings(port, "lookout-down-up-down");
    let events = format!("{PREFIX}/events");
    // Down: nothing listens on the port yet.
    let publisher = MqttPublisher::start(&options).unwrap();
    for n in 0..3 {
        publish_quickly(&publisher, &format!(r#"{{"while":"down","n":{n}}}"#));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(!publisher.is_connected());

    // Up: the events that waited arrive.
    let broker = Broker::start(dir.path(), port);
    wait_until("connected", Duration::from_secs(5), || publisher.is_connected());
    wait_until("the 3 waiting events at the broker", Duration::from_secs(5), || {
        broker.publishes_received("lookout-down-up-down", &events) >= 3
    });

    // Down again: noticed, and publishing still costs nothing.
    drop(broker);
    wait_until("disconnect noticed", Duration::from_secs(5), || !publisher.is_connected());
    publish_quickly(&publisher, r#"{"while":"down again"}"#);
    drop_quickly(publisher);
}

#[test]
fn the_daemon_publishes_each_decision_and_says_when_it_goes() {
    use lookout::actions::audio::RecordingSink;
    use lookout::daemon::{self, Control, Devices, RunOptions};
    use lookout::source::scripted::{ScriptedSource, Step};

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let broker = Broker::start(dir.path(), port);
    let subscriber = Subscriber::start(port, "test-daemon-watcher");
    subscriber.wait_for("subscription", |s| *s == Seen::Subscribed);

    let mut config = common::demo_config(dir.path());
    config.mqtt.enabled = true;
    config.mqtt.host = "127.0.0.1".into();
    config.mqtt.port = port;
    config.mqtt.topic_prefix = PREFIX.into();
    // Me (frames 7-18), the room, a stranger (25-36).
    let steps: Vec<Step> = (7..=36)
        .map(|n| Step::Image(root().join(format!("examples/demo/frames/{n:04}.jpg"))))
        .collect();
    let devices = Devices {
        source: Box::new(ScriptedSource::new(steps, false)),
        audio: Box::new(RecordingSink::new().0),
        notifier: lookout::service::notify::Notifier::disabled(),
    };
    let options = RunOptions { exit_at_end: true, ..RunOptions::default() };
    daemon::run(settings(config), devices, Control::default(), options).unwrap();

    let events = format!("{PREFIX}/events");
    let is_event = |s: &Seen| matches!(s, Seen::Message { topic, .. } if *topic == events);
    let first = payload_json(subscriber.wait_for("first event", is_event));
    let second = payload_json(subscriber.wait_for("second event", is_event));
    assert_eq!((first["label"].as_str(), first["frame"].as_str()), (Some("me"), Some("0009.jpg")));
    assert_eq!(
        (second["label"].as_str(), second["frame"].as_str()),
        (Some("other"), Some("0027.jpg"))
    );
    assert_eq!(first["kind"], "face");
    // The event log has the same event, plus how the publish went.
    let logged: Vec<serde_json::Value> = std::fs::read_to_string(dir.path().join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(logged[0]["time"], first["time"]);
    assert_eq!(logged[0]["actions"].as_array().unwrap().last().unwrap(), "mqtt: sent");
    subscriber.wait_message(&format!("{PREFIX}/availability"), "offline");
    drop(broker);
}

#[test]
fn the_last_will_says_offline_when_the_daemon_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let broker = Broker::start(dir.path(), port);
    let subscriber = Subscriber::start(port, "test-will-watcher");
    subscriber.wait_for("subscription", |s| *s == Seen::Subscribed);
    let config = dir.path().join("lookout.toml");
    let text = format!(
        "[source]\ninput = \"replay:{}\"\nreplay_fps = 5.0\n[mqtt]\nenabled = true\nhost = \"127.0.0.1\"\n\
         port = {port}\ntopic_prefix = \"{PREFIX}\"\n[events]\npath = \"\"\n",
        root().join("examples/demo/frames").display()
    );
    std::fs::write(&config, text).unwrap();
    let mut child = lookout()
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let availability = format!("{PREFIX}/availability");
    subscriber.wait_message(&availability, "online");
    child.kill().unwrap();
    child.wait().unwrap();
    let started = Instant::now();
    subscriber.wait_message(&availability, "offline");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(broker);
}
