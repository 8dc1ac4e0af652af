//! The gate on scenes made up frame by frame at 15 fps: a room with sensor noise, someone
//! walking in, lights, a flickering screen, someone sitting still.

use super::*;
use crate::settings::Settings;

const FPS: f64 = 15.0;
const FRAME: (u32, u32) = (640, 480);

fn settings() -> MotionSettings {
    Settings::defaults().motion.expect("the gate is on by default")
}

/// An 80x60 gate picture of a 640x480 room: a gradient, with pixel noise of ±`noise` that
/// changes with `frame`, and a filled rectangle (frame pixels) of brightness `v` for each
/// of `shapes`.
fn room(frame: u64, noise: u8, light: i16, shapes: &[(Rect, u8)]) -> GrayImage {
    let (w, h) = (80usize, 60usize);
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as i32 * 8, y as i32 * 8);
            let mut v = 60 + (x / 2) as i16 + (y / 3) as i16 + light;
            for (r, b) in shapes {
                if fx >= r.x && fx < r.x + r.width && fy >= r.y && fy < r.y + r.height {
                    v = *b as i16;
                }
            }
            // A cheap hash of (x, y, frame): deterministic noise.
            let n = (x as u64 * 7919 + y as u64 * 104_729 + frame * 1_299_709) % 65_521;
            let jitter = (n % (2 * noise as u64 + 1)) as i16 - noise as i16;
            pixels.push((v + jitter).clamp(0, 255) as u8);
        }
    }
    GrayImage::new(w, h, pixels).unwrap()
}

fn at(frame: u64) -> Duration {
    Duration::from_secs_f64(frame as f64 / FPS)
}

fn person(x: i32) -> (Rect, u8) {
    (Rect { x, y: 120, width: 120, height: 300 }, 200)
}

/// Runs `frames` through a gate, returning every look.
fn run(gate: &mut Gate, frames: impl Iterator<Item = (u64, GrayImage)>) -> Vec<Look> {
    frames.map(|(i, picture)| gate.look_at(&picture, FRAME, at(i), false)).collect()
}

fn count(looks: &[Look], f: impl Fn(&Look) -> bool) -> usize {
    looks.iter().filter(|l| f(l)).count()
}

#[test]
fn an_empty_noisy_room_costs_only_a_scan_every_few_seconds() {
    let mut gate = Gate::new(settings(), 40);
    // One minute of an empty room with sensor noise of ±8 gray levels.
    let looks = run(&mut gate, (0..900).map(|i| (i, room(i, 8, 0, &[]))));
    assert!(looks.iter().all(|l| l.moving.is_empty()), "noise is not motion");
    let whole = count(&looks, |l| matches!(l.scan, Scan::Whole(Why::Periodic)));
    // The first frame, then one every 5 s: 0, 75, ..., 825.
    assert_eq!(whole, 12);
    assert_eq!(count(&looks, |l| l.scan == Scan::Skip), 900 - 12);
}

#[test]
fn someone_walking_in_is_scanned_where_they_move_then_for_the_linger() {
    let mut gate = Gate::new(settings(), 40);
    let empty = (0..30).map(|i| (i, room(i, 4, 0, &[])));
    // Walks in from the left 8 px per frame for 2 s, then leaves the picture empty again.
    let walk = (30..60).map(|i| (i, room(i, 4, 0, &[person(8 * (i as i32 - 30))])));
    let after = (60..120).map(|i| (i, room(i, 4, 0, &[])));
    let looks = run(&mut gate, empty.chain(walk).chain(after));
    for (i, look) in looks.iter().enumerate().take(60).skip(31) {
        let Scan::Regions(regions) = &look.scan else { panic!("frame {i}: {:?}", look.scan) };
        let x = 8 * (i as i32 - 30);
        let covered = regions.iter().any(|r| {
            r.x <= x + 10 && r.x + r.width >= x + 110 && r.y <= 130 && r.y + r.height >= 400
        });
        assert!(covered, "frame {i}: the person at x={x} is inside {regions:?}");
        assert!(regions::area(regions) < 640 * 480 / 2);
    }
    // The picture empties at frame 60 (motion where the person was), then 2 s of linger.
    let linger = count(&looks[61..], |l| l.scan == Scan::Whole(Why::Linger));
    assert!((28..=31).contains(&linger), "{linger}");
    assert_eq!(looks[119].scan, Scan::Skip);
}

#[test]
fn lights_on_and_off_relearn_the_background_without_a_storm_of_scans() {
    let mut gate = Gate::new(settings(), 40);
    let frames = (0..300).map(|i| {
        // Lights on at 4 s (+90), off at 12 s.
        let light = if (60..180).contains(&i) { 90 } else { 0 };
        (i, room(i, 4, light, &[]))
    });
    let looks = run(&mut gate, frames);
    let switches: Vec<usize> =
        looks.iter().enumerate().filter(|(_, l)| l.light_switch).map(|(i, _)| i).collect();
    assert_eq!(switches, [60, 180]);
    assert!(looks.iter().all(|l| l.moving.is_empty()), "a light switch is not motion");
    // 20 s at 15 fps: nothing but the periodic scans.
    assert_eq!(count(&looks, |l| l.scan != Scan::Skip), 4);
}

#[test]
fn a_flickering_screen_under_a_mask_is_ignored() {
    let screen = Rect { x: 400, y: 40, width: 160, height: 120 };
    let flicker = |i: u64| (screen, if i.is_multiple_of(2) { 20 } else { 230 });
    let frames = || (0..150).map(move |i| (i, room(i, 4, 0, &[flicker(i)])));

    let mut unmasked = Gate::new(settings(), 40);
    let looks = run(&mut unmasked, frames());
    // At first the background holds the dark screen, so only the bright frames move.
    assert!(count(&looks, |l| !l.moving.is_empty()) >= 74, "without a mask the screen moves");

    let mut masked_settings = settings();
    let (x0, y0, x1, y1) = (390, 30, 570, 170);
    masked_settings.masks = vec![vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]]];
    let mut masked = Gate::new(masked_settings, 40);
    let looks = run(&mut masked, frames());
    assert!(looks.iter().all(|l| l.moving.is_empty() && l.fraction == 0.0));
    assert_eq!(count(&looks, |l| l.scan != Scan::Skip), 2, "only the periodic scans");

    // Someone walking in front of the masked screen is still seen.
    let walk = room(200, 4, 0, &[flicker(200), person(100)]);
    let look = masked.look_at(&walk, FRAME, at(200), false);
    assert!(matches!(look.scan, Scan::Regions(_)), "{:?}", look.scan);
}

#[test]
fn someone_sitting_still_for_a_minute_is_scanned_every_few_seconds() {
    let mut gate = Gate::new(settings(), 40);
    let sits = person(260);
    // Empty for 2 s, walks in over 1 s, then sits still for 60 s.
    let frames = (0..30)
        .map(|i| (i, room(i, 4, 0, &[])))
        .chain((30..45).map(|i| (i, room(i, 4, 0, &[person(260 - 4 * (45 - i as i32))]))))
        .chain((45..945).map(|i| (i, room(i, 4, 0, &[sits]))));
    let looks = run(&mut gate, frames);
    let still = &looks[45..];
    // The background takes the sitter in; until then they count as motion (where they sit).
    let moving = count(still, |l| !l.moving.is_empty());
    assert!(moving > 15 && moving < 600, "{moving}");
    // After that, whole-frame scans every 5 s see them (the cascade finds the face there and
    // the pipeline's track then keeps whole frames coming: see the next test).
    let last_minute_half = &still[600..];
    let periodic = count(last_minute_half, |l| l.scan == Scan::Whole(Why::Periodic));
    assert_eq!(periodic, 4, "one every 5 s over the last 20 s");
    assert_eq!(count(last_minute_half, |l| l.scan == Scan::Skip), 300 - 4);
}

#[test]
fn a_tracked_face_gets_whole_frames_even_when_nothing_moves() {
    let mut gate = Gate::new(settings(), 40);
    for i in 0..200 {
        let look = gate.look_at(&room(i, 4, 0, &[]), FRAME, at(i), true);
        assert_eq!(look.scan, Scan::Whole(Why::Tracking));
    }
}

#[test]
fn scan_frame_runs_the_whole_frame_on_motion() {
    let mut s = settings();
    s.scan = ScanArea::Frame;
    let mut gate = Gate::new(s, 40);
    gate.look_at(&room(0, 4, 0, &[]), FRAME, at(0), false);
    let look = gate.look_at(&room(1, 4, 0, &[person(100)]), FRAME, at(1), false);
    assert_eq!(look.scan, Scan::Whole(Why::Motion));
    assert!(!look.moving.is_empty());
}

#[test]
fn a_camera_that_comes_back_at_another_size_starts_a_new_background() {
    let mut gate = Gate::new(settings(), 40);
    gate.look_at(&room(0, 4, 0, &[]), FRAME, at(0), false);
    let other = GrayImage::new(40, 30, vec![9; 40 * 30]).unwrap();
    let look = gate.look_at(&other, (320, 240), at(1), false);
    assert!(look.moving.is_empty() && !look.light_switch);
}

#[test]
fn the_wall_behind_someone_who_sat_and_left_is_not_motion_for_long() {
    let mut gate = Gate::new(settings(), 40);
    let sits = person(260);
    // Empty 2 s, someone sits there for 30 s, leaves; then 20 s of the empty room.
    let frames = (0..30)
        .map(|i| (i, room(i, 4, 0, &[])))
        .chain((30..480).map(|i| (i, room(i, 4, 0, &[sits]))))
        .chain((480..780).map(|i| (i, room(i, 4, 0, &[]))));
    let looks = run(&mut gate, frames);
    let after = &looks[480..];
    let ghost = after.iter().take_while(|l| !l.moving.is_empty()).count();
    // `stationary_s` = 5 s: the revealed wall is background again within 5 s (75 frames).
    assert!((1..=76).contains(&ghost), "{ghost} frames of ghost");
    assert!(after[90..].iter().all(|l| l.moving.is_empty()));
    // While they sat, the same: motion for 5 s, then part of the scene.
    let sitting = count(&looks[30..480], |l| !l.moving.is_empty());
    assert!((60..=80).contains(&sitting), "{sitting}");
}
