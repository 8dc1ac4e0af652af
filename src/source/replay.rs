//! A folder of images played back as a camera: name order, every frame (unless paced and the
//! pipeline falls behind), the same result on every run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Captured, FrameSource, SourceError};

const EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "bmp", "pgm", "ppm", "pnm"];

pub struct Replay {
    dir: PathBuf,
    fps: f64,
    /// The frame rate of the replay's own clock ([`Captured::at`]): `fps` when paced, else the
    /// camera's configured rate, as if the folder had been recorded by it.
    clock_fps: f64,
    loops: u32,
    files: Vec<PathBuf>,
    /// Frames handed out so far, over all passes.
    played: usize,
    started: Option<Instant>,
}

impl Replay {
    /// `fps` > 0 paces frames in real time; 0 delivers them as fast as they are taken, with
    /// frame times `camera_fps` apart. `loops` passes over the folder (0: until stopped).
    pub fn new(dir: PathBuf, fps: f64, camera_fps: f64, loops: u32) -> Replay {
        let clock_fps = if fps > 0.0 { fps } else { camera_fps.max(1.0) };
        Replay { dir, fps, clock_fps, loops, files: Vec::new(), played: 0, started: None }
    }
}

/// The images in `dir`, sorted by file name.
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| SourceError::Fatal(format!("replay folder {}: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(SourceError::Fatal(format!(
            "replay folder {}: no images ({})",
            dir.display(),
            EXTENSIONS.join(", ")
        )));
    }
    Ok(files)
}

impl FrameSource for Replay {
    fn describe(&self) -> String {
        format!("replay:{}", self.dir.display())
    }

    fn open(&mut self) -> Result<(), SourceError> {
        if self.files.is_empty() {
            self.files = list_images(&self.dir)?;
        }
        Ok(())
    }

    fn next_frame(&mut self, seq: u64) -> Result<Captured, SourceError> {
        let pass = self.played / self.files.len().max(1);
        if self.files.is_empty() || (self.loops > 0 && pass >= self.loops as usize) {
            return Err(SourceError::Ended);
        }
        let path = self.files[self.played % self.files.len()].clone();
        if self.fps > 0.0 {
            let started = *self.started.get_or_insert_with(Instant::now);
            let due = started + Duration::from_secs_f64(self.played as f64 / self.fps);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let at = Duration::from_secs_f64(self.played as f64 / self.clock_fps);
        self.played += 1;
        read_file(&path, seq, at)
    }

    fn close(&mut self) {}

    fn is_live(&self) -> bool {
        self.fps > 0.0
    }
}

/// An image file as a captured frame: a JPEG stays encoded until the gate lets it through,
/// anything else is decoded now (its preview is made from the full picture).
pub fn read_file(path: &Path, seq: u64, at: Duration) -> Result<Captured, SourceError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let bytes = std::fs::read(path)
        .map_err(|e| SourceError::BadFrame(format!("{}: cannot read: {e}", path.display())))?;
    if lookout_vision::image_io::is_jpeg(&bytes) {
        return Captured::jpeg(bytes, path, seq, name, at);
    }
    let decoded =
        lookout_vision::image_io::decode(&bytes, path, lookout_vision::image_io::MAX_PIXELS)
            .map_err(|e| SourceError::BadFrame(crate::logging::chain(&e)))?;
    Ok(Captured::decoded(decoded, seq, name, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_images_in_name_order_and_skips_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let img = image::RgbImage::from_pixel(8, 6, image::Rgb([10, 20, 30]));
        img.save(dir.path().join("0002.png")).unwrap();
        img.save(dir.path().join("0001.png")).unwrap();
        std::fs::write(dir.path().join("0003.jpg"), b"not a jpeg").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
        let mut replay = Replay::new(dir.path().to_path_buf(), 0.0, 10.0, 1);
        replay.open().unwrap();
        let first = replay.next_frame(1).unwrap();
        assert_eq!((first.name.as_deref(), first.at), (Some("0001.png"), Duration::ZERO));
        let second = replay.next_frame(2).unwrap();
        assert_eq!((second.name.as_deref(), second.width), (Some("0002.png"), 8));
        assert_eq!(second.at, Duration::from_millis(100));
        assert_eq!(second.decode(false).unwrap().gray.width, 8);
        match replay.next_frame(3) {
            Err(SourceError::BadFrame(msg)) => assert!(msg.contains("0003.jpg"), "{msg}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(replay.next_frame(4), Err(SourceError::Ended)));
    }

    #[test]
    fn loops_replay_the_folder_again() {
        let dir = tempfile::tempdir().unwrap();
        let img = image::RgbImage::from_pixel(4, 4, image::Rgb([1, 2, 3]));
        img.save(dir.path().join("a.png")).unwrap();
        img.save(dir.path().join("b.png")).unwrap();
        let names = |loops: u32, take: u64| {
            let mut replay = Replay::new(dir.path().to_path_buf(), 0.0, 15.0, loops);
            replay.open().unwrap();
            (1..=take)
                .map_while(|seq| replay.next_frame(seq).ok().and_then(|f| f.name))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(2, 10), ["a.png", "b.png", "a.png", "b.png"]);
        // 0 plays until the consumer stops.
        assert_eq!(names(0, 7).len(), 7);
    }

    #[test]
    fn missing_or_empty_folders_are_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let err = Replay::new(dir.path().to_path_buf(), 0.0, 15.0, 1).open().unwrap_err();
        assert!(matches!(err, SourceError::Fatal(ref m) if m.contains("no images")), "{err}");
        let err = Replay::new(dir.path().join("nope"), 0.0, 15.0, 1).open().unwrap_err();
        assert!(matches!(err, SourceError::Fatal(ref m) if m.contains("nope")), "{err}");
    }
}
