//! `lookout enroll` and `lookout identify`: the gallery of enrolled people, managed on the Pi
//! with no training, and who is in a photo.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{bail, Context};
use clap::Args;
use lookout::identity::gallery::{check_name, Enrolled, Gallery, UNKNOWN};
use lookout::identity::unknown::UnknownStore;
use lookout::pipeline::models::load_identity;
use lookout::pipeline::Pipeline;
use lookout::settings::{IdentitySettings, Settings};
use lookout_vision::cascade::Rect;
use lookout_vision::face::embed::{FaceEmbedder, FaceSample, MIN_FRONTAL};
use lookout_vision::preprocess::{Pixels, Preprocessor};

use super::daemon::{one_face_frames, ConfigArgs};
use super::ImageFiles;

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["name", "list", "list_unknown", "remove"]))]
pub struct EnrollArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The gallery file (created by the first enrolment).
    #[arg(long, value_name = "FILE")]
    gallery: PathBuf,
    /// Who the photos show.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// From the camera (--source camera:N): how many frames of the face to enrol.
    #[arg(long, value_name = "K", requires = "name")]
    count: Option<usize>,
    /// Enrol an unknown visitor the daemon kept (the id in its event, or from --list-unknown).
    #[arg(long, value_name = "ID", requires = "name", conflicts_with = "images")]
    from_unknown: Option<String>,
    /// List the enrolled people.
    #[arg(long)]
    list: bool,
    /// List the unknown visitors kept beside the gallery.
    #[arg(long)]
    list_unknown: bool,
    /// Remove a person from the gallery.
    #[arg(long, value_name = "NAME")]
    remove: Option<String>,
    /// Photos of the person: the largest face of each is enrolled.
    #[arg(value_name = "IMAGE")]
    images: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct IdentifyArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[arg(long, value_name = "FILE")]
    gallery: PathBuf,
    /// One JSON object per image: {"image", "faces": [{"box": [x, y, w, h], "name", "distance"}]}.
    #[arg(long)]
    json: bool,
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
}

/// The settings with `gallery` as the face stage's gallery, and the cascade pipeline the
/// daemon would run (detection only).
fn gallery_settings(
    config: &ConfigArgs,
    gallery: &Path,
) -> anyhow::Result<(Settings, IdentitySettings, Pipeline)> {
    let mut settings = config.load_edited(|raw| {
        raw.face.enabled = true;
        raw.face.gallery = gallery.to_path_buf();
    })?;
    let identity = settings
        .face
        .as_ref()
        .and_then(|f| f.identity.clone())
        .context("the gallery settings did not validate")?;
    // Detection only: the faces are judged here, not by the daemon's stages.
    let mut detect_only = settings.clone();
    detect_only.face = None;
    detect_only.text = None;
    let pipeline = lookout::daemon::build_pipeline(&detect_only)?;
    settings.text = None;
    Ok((settings, identity, pipeline))
}

pub fn enroll(args: EnrollArgs) -> anyhow::Result<ExitCode> {
    // The camera's warnings (missing, reconnecting) matter when enrolling from it.
    lookout::logging::init();
    let (settings, identity, mut pipeline) = gallery_settings(&args.config, &args.gallery)?;
    let embedder = FaceEmbedder::load(&identity.landmarks, &identity.embed_model)?;
    let model = embedder.model().clone();
    let dims = model.meta.embedding.as_ref().map_or(0, |e| e.dims);
    let path = &args.gallery;
    let _lock = lock(path)?;
    let mut gallery = Gallery::load_or_new(path, &model.sha256, dims)?;
    let unknown = identity.unknown.clone().unwrap_or(UnknownStore {
        dir: UnknownStore::beside(path),
        max_count: 0,
        max_bytes: 0,
    });

    if args.list {
        for person in &gallery.people {
            println!("{}: {} face(s)", person.name, person.faces.len());
        }
        if gallery.people.is_empty() {
            eprintln!("{}: nobody is enrolled", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.list_unknown {
        for id in unknown.ids() {
            let visitor = unknown.load(&id)?;
            let nearest = visitor
                .nearest
                .map(|(n, d)| format!(", closest {n} at {d:.3}"))
                .unwrap_or_default();
            println!(
                "{id}: seen {}{nearest} ({})",
                visitor.seen,
                unknown.chip_path(&id)?.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(name) = &args.remove {
        if !gallery.remove(name) {
            bail!("{}: nobody called {name:?} is enrolled", path.display());
        }
        gallery.save(path)?;
        println!("{}: removed {name:?}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let Some(name) = &args.name else { bail!("--name, --list, --list-unknown or --remove") };
    check_name(name).with_context(|| format!("--name {name:?}"))?;
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();

    if let Some(id) = &args.from_unknown {
        let visitor = unknown.load(id)?;
        if visitor.model_sha256 != model.sha256 {
            bail!("unknown visitor {id} was described by another embedding model; enrol from photos instead");
        }
        for descriptor in visitor.descriptors {
            gallery.add(
                name,
                Enrolled { descriptor, source: format!("unknown:{id}"), added: now.clone() },
            );
        }
        gallery.save(path)?;
        unknown.remove(id)?;
        println!("{}: {name:?} enrolled from unknown visitor {id}", path.display());
        return Ok(ExitCode::SUCCESS);
    }

    let mut pre = Preprocessor::default();
    let mut added = 0usize;
    let mut files = ImageFiles::default();
    if let Some(count) = args.count {
        if !args.config.has_source() || !args.images.is_empty() {
            bail!("--count enrols from a camera: give --source camera:N and no images");
        }
        let source = settings.source.input.to_string();
        let mut since = 0u32;
        one_face_frames(&settings, &mut pipeline, |frame, face| {
            // Every third usable frame, so the enrolled faces differ a little.
            since += 1;
            if since < 3 {
                return Ok(true);
            }
            let sample = describe(&embedder, &mut pre, &frame.rgb, face)?;
            if sample.frontal >= MIN_FRONTAL {
                since = 0;
                gallery.add(
                    name,
                    Enrolled {
                        descriptor: sample.descriptor,
                        source: source.clone(),
                        added: now.clone(),
                    },
                );
                added += 1;
                eprint!("\r{added}/{count} faces");
            }
            Ok(added < count)
        })?;
        eprintln!();
    } else {
        if args.images.is_empty() {
            bail!("--name {name:?}: give photos of {name}, --source camera:N --count K, or --from-unknown ID");
        }
        for image in &args.images {
            let Some(decoded) = files.read(image) else { continue };
            let faces = pipeline.detect(&decoded.gray);
            let Some(largest) = faces.iter().max_by_key(|r| r.width as i64 * r.height as i64)
            else {
                eprintln!("lookout: {}: no face found; skipped", image.display());
                files.failed = true;
                continue;
            };
            let sample = describe(&embedder, &mut pre, &decoded.rgb, *largest)?;
            if sample.frontal < MIN_FRONTAL {
                eprintln!(
                    "lookout: {}: the face is turned away from the camera; skipped",
                    image.display()
                );
                files.failed = true;
                continue;
            }
            let source = image.display().to_string();
            gallery
                .add(name, Enrolled { descriptor: sample.descriptor, source, added: now.clone() });
            added += 1;
        }
    }
    if added == 0 {
        bail!("no face was enrolled; {} is unchanged", path.display());
    }
    gallery.save(path)?;
    let total = gallery.person(name).map_or(0, |p| p.faces.len());
    println!("{}: {added} face(s) of {name:?} enrolled ({total} in all)", path.display());
    Ok(files.exit_code())
}

pub fn identify(args: IdentifyArgs) -> anyhow::Result<ExitCode> {
    let (_, identity, mut pipeline) = gallery_settings(&args.config, &args.gallery)?;
    let models = load_identity(&identity)?;
    let threshold = models.threshold();
    let mut pre = Preprocessor::default();
    let mut files = ImageFiles::default();
    let mut out = std::io::stdout().lock();
    for image in &args.images {
        let Some(decoded) = files.read(image) else { continue };
        let mut faces = Vec::new();
        for rect in pipeline.detect(&decoded.gray) {
            let sample = describe(&models.embedder, &mut pre, &decoded.rgb, rect)?;
            let nearest = models.gallery.nearest(&sample.descriptor);
            let name = match &nearest {
                Some(m) if m.distance <= threshold => m.name.to_string(),
                _ => UNKNOWN.to_string(),
            };
            let distance = nearest.map(|m| m.distance);
            faces.push(FaceLine {
                rect: [rect.x, rect.y, rect.width, rect.height],
                name,
                distance,
            });
        }
        let shown = image.display().to_string();
        let line = if args.json {
            serde_json::to_string(&ImageLine { image: &shown, faces: &faces })?
        } else if faces.is_empty() {
            format!("{shown}: no face")
        } else {
            let list: Vec<String> = faces
                .iter()
                .map(|f| match f.distance {
                    Some(d) => format!("{} ({d:.3}) at {:?}", f.name, f.rect),
                    None => format!("{} at {:?}", f.name, f.rect),
                })
                .collect();
            format!("{shown}: {}", list.join(", "))
        };
        if writeln!(out, "{line}").is_err() {
            // A closed pipe (| head) is not an error.
            return Ok(files.exit_code());
        }
    }
    Ok(files.exit_code())
}

/// One `identify --json` line; fields serialise in this order.
#[derive(serde::Serialize)]
struct ImageLine<'a> {
    image: &'a str,
    faces: &'a [FaceLine],
}

#[derive(serde::Serialize)]
struct FaceLine {
    #[serde(rename = "box")]
    rect: [i32; 4],
    name: String,
    /// `None` (null) when nobody is enrolled.
    distance: Option<f32>,
}

fn describe(
    embedder: &FaceEmbedder,
    pre: &mut Preprocessor,
    rgb: &image::RgbImage,
    face: Rect,
) -> anyhow::Result<FaceSample> {
    Ok(embedder.describe(pre, Pixels::rgb(rgb), face)?)
}

/// Holds `<gallery>.lock` exclusively while the gallery is read, changed and written, so two
/// enrolments at once cannot lose each other's people. (The daemon only reads the gallery,
/// and the rename makes every version it reads whole.)
fn lock(gallery: &Path) -> anyhow::Result<File> {
    let mut name = gallery.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let file =
        File::options().create(true).truncate(false).write(true).open(&path).with_context(
            || format!("{}: cannot create the gallery's lock file", path.display()),
        )?;
    file.lock().with_context(|| format!("{}: cannot lock", path.display()))?;
    Ok(file)
}
