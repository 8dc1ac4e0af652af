//! The gallery: enrolled people and their face descriptors, in one JSON file that records the
//! embedding model it was made with. Written atomically (temporary file, fsync, rename), so a
//! reader sees the old file or the new one, never half of one; read back with every field
//! checked, so a damaged file is an error naming the file and the field, never a panic.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use lookout_vision::face::embed::distance;

/// What the `format` field of a gallery file says.
const FORMAT: &str = "lookout-gallery";
const VERSION: u32 = 1;

/// Largest gallery file read (a person with 100 photos takes about 300 KB).
const MAX_BYTES: u64 = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum GalleryError {
    #[error("{path}: cannot read the gallery")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: cannot write the gallery (the previous file is unchanged)")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a lookout gallery: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("{path}: was made with another embedding model (sha256 {found}…); the running model is {expected}…. Enrol the people again with this model, or use the model the gallery was made with")]
    OtherModel { path: PathBuf, found: String, expected: String },
    #[error("{path}: is larger than {MAX_BYTES} bytes; not a gallery")]
    TooLarge { path: PathBuf },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum NameError {
    #[error("a name cannot be empty")]
    Empty,
    #[error("{0:?} is longer than 64 characters")]
    TooLong(String),
    #[error("{0:?} contains a path separator or a control character")]
    BadCharacter(String),
    #[error("\"unknown\" is what lookout calls people it does not know; choose another name")]
    Reserved,
}

/// A person's name as labels, events and `[[action]] on` use it.
pub fn check_name(name: &str) -> Result<(), NameError> {
    if name.trim().is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > 64 {
        return Err(NameError::TooLong(name.into()));
    }
    if name.chars().any(|c| c == '/' || c == '\\' || c.is_control()) {
        return Err(NameError::BadCharacter(name.into()));
    }
    if name == UNKNOWN {
        return Err(NameError::Reserved);
    }
    Ok(())
}

/// The label of a face no enrolled person is close to.
pub const UNKNOWN: &str = "unknown";

/// One enrolled photo of a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrolled {
    pub descriptor: Vec<f32>,
    /// Where it came from: the photo's path, `camera:N`, or `unknown:ID`.
    pub source: String,
    /// RFC 3339 time of enrolment.
    pub added: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    pub faces: Vec<Enrolled>,
}

impl Person {
    /// How far `descriptor` is from this person: the distance to their closest enrolled face
    /// (`None` for a person without faces).
    pub fn distance(&self, descriptor: &[f32]) -> Option<f32> {
        self.faces.iter().map(|f| distance(&f.descriptor, descriptor)).reduce(f32::min)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GalleryFile {
    format: String,
    version: u32,
    model_sha256: String,
    dims: usize,
    people: Vec<Person>,
}

/// The enrolled people, for one embedding model.
#[derive(Debug, Clone, PartialEq)]
pub struct Gallery {
    pub model_sha256: String,
    pub dims: usize,
    pub people: Vec<Person>,
}

/// The closest enrolled person to a descriptor.
#[derive(Debug, Clone, PartialEq)]
pub struct Match<'a> {
    pub name: &'a str,
    pub distance: f32,
}

impl Gallery {
    pub fn new(model_sha256: &str, dims: usize) -> Gallery {
        Gallery { model_sha256: model_sha256.into(), dims, people: Vec::new() }
    }

    /// Reads and checks the gallery at `path` against the model that will use it.
    pub fn load(path: &Path, model_sha256: &str, dims: usize) -> Result<Gallery, GalleryError> {
        let read = |source| GalleryError::Read { path: path.to_path_buf(), source };
        let size = std::fs::metadata(path).map_err(read)?.len();
        if size > MAX_BYTES {
            return Err(GalleryError::TooLarge { path: path.to_path_buf() });
        }
        let bytes = std::fs::read(path).map_err(read)?;
        Gallery::from_bytes(&bytes, path, model_sha256, dims)
    }

    /// Like [`Gallery::load`], but a missing file is an empty gallery (the first enrolment).
    pub fn load_or_new(
        path: &Path,
        model_sha256: &str,
        dims: usize,
    ) -> Result<Gallery, GalleryError> {
        match Gallery::load(path, model_sha256, dims) {
            Err(GalleryError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(Gallery::new(model_sha256, dims))
            }
            other => other,
        }
    }

    pub fn from_bytes(
        bytes: &[u8],
        path: &Path,
        model_sha256: &str,
        dims: usize,
    ) -> Result<Gallery, GalleryError> {
        let invalid = |reason: String| GalleryError::Invalid { path: path.to_path_buf(), reason };
        let file: GalleryFile =
            serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        if file.format != FORMAT {
            return Err(invalid(format!("format is {:?}, expected {FORMAT:?}", file.format)));
        }
        if file.version != VERSION {
            return Err(invalid(format!(
                "version {} (this lookout reads {VERSION})",
                file.version
            )));
        }
        if file.model_sha256 != model_sha256 {
            let short = |s: &str| s.chars().take(12).collect::<String>();
            return Err(GalleryError::OtherModel {
                path: path.to_path_buf(),
                found: short(&file.model_sha256),
                expected: short(model_sha256),
            });
        }
        if file.dims != dims {
            return Err(invalid(format!("dims is {}, the model gives {dims}", file.dims)));
        }
        for (i, person) in file.people.iter().enumerate() {
            check_name(&person.name).map_err(|e| invalid(format!("people[{i}].name: {e}")))?;
            if file.people[..i].iter().any(|p| p.name == person.name) {
                return Err(invalid(format!("people[{i}]: {:?} appears twice", person.name)));
            }
            for (j, face) in person.faces.iter().enumerate() {
                if face.descriptor.len() != dims || face.descriptor.iter().any(|v| !v.is_finite()) {
                    return Err(invalid(format!(
                        "people[{i}].faces[{j}].descriptor: expected {dims} finite numbers"
                    )));
                }
            }
        }
        Ok(Gallery { model_sha256: file.model_sha256, dims, people: file.people })
    }

    /// Writes the gallery to `path` atomically: a reader (the daemon) sees the old file or the
    /// new one, and a failed write leaves the old one.
    pub fn save(&self, path: &Path) -> Result<(), GalleryError> {
        let file = GalleryFile {
            format: FORMAT.into(),
            version: VERSION,
            model_sha256: self.model_sha256.clone(),
            dims: self.dims,
            people: self.people.clone(),
        };
        let json = serde_json::to_vec_pretty(&file).expect("a gallery serialises");
        write_atomic(path, &json)
            .map_err(|source| GalleryError::Write { path: path.to_path_buf(), source })
    }

    pub fn person(&self, name: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.name == name)
    }

    /// Adds a face to `name`'s entry (created when new). The name must pass [`check_name`].
    pub fn add(&mut self, name: &str, face: Enrolled) {
        match self.people.iter_mut().find(|p| p.name == name) {
            Some(person) => person.faces.push(face),
            None => self.people.push(Person { name: name.into(), faces: vec![face] }),
        }
    }

    /// Removes a person; false when there was none of that name.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.people.len();
        self.people.retain(|p| p.name != name);
        self.people.len() != before
    }

    /// The closest person ([`Person::distance`]), if any is enrolled.
    pub fn nearest(&self, descriptor: &[f32]) -> Option<Match<'_>> {
        self.people
            .iter()
            .filter_map(|p| Some(Match { name: &p.name, distance: p.distance(descriptor)? }))
            .min_by(|a, b| a.distance.total_cmp(&b.distance))
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, synced before the
/// rename, so the file at `path` is always whole.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(v: f32) -> Enrolled {
        Enrolled { descriptor: vec![v, 0.0], source: "test".into(), added: "now".into() }
    }

    #[test]
    fn round_trip_and_nearest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gallery.json");
        let mut g = Gallery::new("abc", 2);
        g.add("ann", face(0.0));
        g.add("bob", face(1.0));
        g.add("ann", face(0.1));
        g.save(&path).unwrap();
        let back = Gallery::load(&path, "abc", 2).unwrap();
        assert_eq!(back, g);
        let m = back.nearest(&[0.9, 0.0]).unwrap();
        assert_eq!((m.name, (m.distance * 10.0).round()), ("bob", 1.0));
        assert!(g.clone().remove("ann") && !g.clone().remove("carl"));
    }

    #[test]
    fn bad_files_are_named_errors() {
        let p = Path::new("g.json");
        let err = |bytes: &[u8]| Gallery::from_bytes(bytes, p, "abc", 2).unwrap_err().to_string();
        assert!(
            err(b"{\"format\": \"lookout-gallery\"").starts_with("g.json: not a lookout gallery")
        );
        let other = br#"{"format":"lookout-gallery","version":1,"model_sha256":"def","dims":2,"people":[]}"#;
        assert!(err(other).contains("another embedding model"), "{}", err(other));
        let nan = br#"{"format":"lookout-gallery","version":1,"model_sha256":"abc","dims":2,"people":[{"name":"a","faces":[{"descriptor":[1],"source":"x","added":"y"}]}]}"#;
        assert!(err(nan).contains("people[0].faces[0].descriptor"), "{}", err(nan));
        let slash = br#"{"format":"lookout-gallery","version":1,"model_sha256":"abc","dims":2,"people":[{"name":"../a","faces":[]}]}"#;
        assert!(err(slash).contains("people[0].name"), "{}", err(slash));
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("Anne-Marie Dupont").is_ok());
        assert!(check_name("王小明").is_ok());
        assert_eq!(check_name(" "), Err(NameError::Empty));
        assert!(matches!(check_name("a/b"), Err(NameError::BadCharacter(_))));
        assert!(matches!(check_name("a\nb"), Err(NameError::BadCharacter(_))));
        assert_eq!(check_name("unknown"), Err(NameError::Reserved));
    }

    #[test]
    fn a_missing_file_is_an_empty_gallery_for_enrolment_only() {
        let path = Path::new("/nonexistent/gallery.json");
        assert!(Gallery::load_or_new(path, "abc", 2).unwrap().people.is_empty());
        assert!(matches!(Gallery::load(path, "abc", 2), Err(GalleryError::Read { .. })));
    }
}
