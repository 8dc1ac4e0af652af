//! `lookout-tools train`: AdamW with a cosine schedule, per-epoch validation (loss, top-1,
//! top-3), early stopping, checkpoints that `--resume` continues exactly, a progress bar,
//! `metrics.csv` and `curves.png`.
//!
//! Determinism: the data order and every augmentation are drawn from the seed and the epoch
//! ([`crate::dataset::augment::Rng`]); torch's generator (dropout, initial weights) is
//! re-seeded from the same pair at the start of each epoch. A resumed run therefore computes
//! the same weights as an uninterrupted one on the same machine and thread count.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use lookout_vision::preprocess::{Fit, InputSpec, TensorLayout};
use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor};

use crate::checkpoint::{self, AdamW, CheckpointError, EpochMetrics, TrainState};
use crate::dataset::augment::Augment;
use crate::dataset::loader::{Batch, EpochLoader, LoaderConfig, Unreadable};
use crate::dataset::{self, digits, DatasetError, Source};
use crate::nets::{Arch, Net, TrainTask};
use crate::plot;
use crate::warm_start;

/// How many preprocessed validation inputs `verify.safetensors` keeps for `export`.
const VERIFY_SAMPLES: usize = 16;

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub task: TrainTask,
    pub data: PathBuf,
    pub out: PathBuf,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    pub device: Device,
    pub resume: bool,
    pub seed: u64,
    pub val_split: f64,
    pub patience: usize,
    pub workers: usize,
    /// Input channels for face/classify models (hanzi is always gray).
    pub channels: u32,
    /// Stop after this many epochs in this invocation (the schedule still spans `epochs`);
    /// `--resume` continues later as if the run had not paused.
    pub pause_after: Option<usize>,
    /// Keep `.gnt` samples whose code is not a level-1 character (punctuation, level 2).
    pub gnt_symbols: bool,
    pub quiet: bool,
    /// MNIST's folder, for `mnist:M` digit lines.
    pub mnist: Option<PathBuf>,
    /// Start from the weights of an exported model of the same task and labels (fine-tuning).
    pub init_from: Option<PathBuf>,
    /// Any sample that cannot be loaded stops the run (otherwise such samples are left out,
    /// with a warning, up to [`MAX_UNREADABLE`] of the dataset).
    pub strict_data: bool,
}

/// Share of the samples that may be unreadable before a run stops: a few broken photos are a
/// phone's doing; a tenth is a wrong folder or a broken disk.
pub const MAX_UNREADABLE: f64 = 0.1;
/// How many unreadable samples a warning names.
const NAMED_UNREADABLE: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("{0}")]
    Resume(String),
    #[error("{data}: {reason}")]
    Data { data: PathBuf, reason: String },
    #[error("{path}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("torch: {0}")]
    Torch(#[from] tch::TchError),
    #[error(transparent)]
    WarmStart(#[from] crate::warm_start::WarmStartError),
    #[error(
        "{data}: {count} of {total} samples cannot be read (more than {:.0}%), e.g. {}",
        MAX_UNREADABLE * 100.0,
        first.join("; ")
    )]
    Unreadable { data: PathBuf, count: usize, total: usize, first: Vec<String> },
}

/// What each task feeds its network.
pub fn input_spec(task: TrainTask, channels: u32) -> InputSpec {
    let (channels, fit, width, height) = match task {
        TrainTask::Face => (channels, Fit::PadSquare, 64, 64),
        TrainTask::Classify => (channels, Fit::Stretch, 64, 64),
        TrainTask::Hanzi => (1, Fit::InkBox, 64, 64),
        TrainTask::Digits => {
            (1, Fit::Stretch, digits::LINE_WIDTH as u32, digits::LINE_HEIGHT as u32)
        }
    };
    InputSpec {
        width,
        height,
        channels,
        layout: TensorLayout::Nchw,
        scale: 1.0 / 255.0,
        mean: vec![0.5; channels as usize],
        std: vec![0.5; channels as usize],
        fit,
    }
}

pub fn augment_for(task: TrainTask) -> Augment {
    match task {
        TrainTask::Face => Augment::Face,
        TrainTask::Hanzi => Augment::Character,
        TrainTask::Classify => Augment::Photo,
        TrainTask::Digits => Augment::TextLine,
    }
}

/// Opens the dataset at `data`. Digits train on generated lines: `synthetic:N` (N strings
/// rendered from fonts), `mnist:M` (M strings composed from MNIST's training digits in
/// `mnist`), or both, comma-separated. Hanzi read a folder of `.gnt` files or one `.gnt` file;
/// the other tasks folder-per-class images. `gnt_symbols` keeps `.gnt` samples outside the
/// 3755 level-1 characters as classes of their own.
pub fn open_source(
    task: TrainTask,
    data: &Path,
    seed: u64,
    gnt_symbols: bool,
    mnist: Option<&Path>,
) -> Result<Arc<dyn Source>, DatasetError> {
    if task == TrainTask::Digits {
        return open_digit_lines(data, seed, mnist);
    }
    let is_gnt = data.extension().is_some_and(|e| e == "gnt")
        || (task == TrainTask::Hanzi && data.is_dir() && dataset::gnt_set::contains_gnt(data));
    if is_gnt {
        Ok(Arc::new(dataset::gnt_set::GntSource::open_with(data, gnt_symbols)?))
    } else {
        Ok(Arc::new(dataset::folder::FolderSource::open(data)?))
    }
}

fn open_digit_lines(
    data: &Path,
    seed: u64,
    mnist: Option<&Path>,
) -> Result<Arc<dyn Source>, DatasetError> {
    let usage = |reason: String| DatasetError::Layout { path: data.to_path_buf(), reason };
    let spec = data.to_str().ok_or_else(|| usage("not UTF-8".into()))?;
    let mut parts: Vec<(String, Arc<dyn Source>)> = Vec::new();
    for part in spec.split(',') {
        let (kind, count) = part.split_once(':').unwrap_or((part, ""));
        let count = count.parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| {
            usage(format!(
                "{part:?}: digits train on generated lines: synthetic:N (fonts), mnist:M (MNIST's training digits) or both, e.g. synthetic:20000,mnist:60000"
            ))
        })?;
        let source: Arc<dyn Source> = match kind {
            "synthetic" => Arc::new(digits::DigitStrings::training(count, seed)?),
            "mnist" => {
                let dir = mnist.ok_or_else(|| {
                    usage("mnist:M needs the MNIST folder: --mnist DIR or LOOKOUT_MNIST (scripts/mnist.sh sets it)".into())
                })?;
                Arc::new(dataset::handwritten_digits::HandwrittenDigits::training(
                    dir, count, seed,
                )?)
            }
            other => return Err(usage(format!("{other:?}: not synthetic or mnist"))),
        };
        parts.push((part.to_string(), source));
    }
    Ok(Arc::new(dataset::Mixed::new(parts)?))
}

/// The result of a run, for the command line to print.
#[derive(Debug)]
pub struct TrainSummary {
    pub state: TrainState,
    pub out: PathBuf,
}

pub fn train(options: &TrainOptions) -> Result<TrainSummary, TrainError> {
    // A resumed run keeps the seed and split it started with, whatever the flags say now.
    let resumed = if options.resume { Some(TrainState::load(&options.out)?) } else { None };
    let (seed, val_split) = match &resumed {
        Some(state) => (state.seed, state.val_split),
        None => (options.seed, options.val_split),
    };
    let source = open_source(
        options.task,
        &options.data,
        seed,
        options.gnt_symbols,
        options.mnist.as_deref(),
    )?;
    let (train_idx, val_idx) = dataset::split(source.as_ref(), val_split, seed);
    if train_idx.is_empty() {
        return Err(TrainError::Data {
            data: options.data.clone(),
            reason: "no training samples".into(),
        });
    }
    let out = &options.out;
    std::fs::create_dir_all(out).map_err(|source| TrainError::Io { path: out.clone(), source })?;

    let spec = input_spec(options.task, options.channels);
    let classes = source.labels().len() as i64;
    let mut state = if let Some(state) = resumed {
        check_resumable(&state, options, source.labels())?;
        TrainState { epochs: options.epochs, ..state }
    } else {
        TrainState {
            task: options.task,
            data: options.data.display().to_string(),
            labels: source.labels().to_vec(),
            input: spec.clone(),
            in_channels: spec.channels as i64,
            epochs: options.epochs,
            batch: options.batch,
            lr: options.lr,
            seed: options.seed,
            val_split: options.val_split,
            patience: options.patience,
            train_samples: train_idx.len(),
            val_samples: val_idx.len(),
            epochs_done: 0,
            steps_done: 0,
            best_epoch: None,
            best_val_top1: -1.0,
            best_val_loss: f64::INFINITY,
            history: Vec::new(),
            stopped_early: false,
            init_from: None,
        }
    };

    tch::manual_seed(state.seed as i64);
    let vs = tch::nn::VarStore::new(options.device);
    let arch = Arch::for_task(state.task, state.in_channels, classes);
    let net = Net::new(&vs.root(), &arch);
    let mut opt = AdamW::new(&vs, 1e-4);
    if let (false, Some(model)) = (options.resume, &options.init_from) {
        let weights = warm_start::weights_from_onnx(model, &state.labels)?;
        checkpoint::restore(&vs, &weights, model)?;
        state.init_from = Some(model.display().to_string());
    }
    if options.resume {
        let path = out.join(checkpoint::LAST);
        let tensors = checkpoint::load_tensors(&path)?;
        checkpoint::restore(&vs, &tensors, &path)?;
        opt.restore(&tensors, &path)?;
    } else {
        save_verify_inputs(&source, &val_idx, &train_idx, &state, out)?;
    }

    let unreadable = (!options.strict_data).then(Unreadable::default);
    let loader = |augment, shuffle_buffer| LoaderConfig {
        spec: state.input.clone(),
        batch: state.batch,
        workers: options.workers,
        queue: 2 * state.batch.max(8),
        shuffle_buffer,
        augment,
        seed: state.seed,
        unreadable: unreadable.clone(),
    };
    let mut reported_unreadable = 0;
    let train_cfg = loader(augment_for(state.task), 8 * state.batch.max(32));
    let val_cfg = loader(Augment::None, 0);
    let steps_per_epoch = train_idx.len().div_ceil(state.batch) as u64;
    let total_steps = steps_per_epoch * state.epochs as u64;

    let pause_at = options.pause_after.map(|n| state.epochs_done + n);
    while state.epochs_done < state.epochs
        && !state.stopped_early
        && pause_at != Some(state.epochs_done)
    {
        let epoch = state.epochs_done + 1;
        tch::manual_seed((state.seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9)) as i64);
        let started = Instant::now();
        let bar = progress(options.quiet, steps_per_epoch, epoch, state.epochs);
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0i64, 0usize);
        let mut lr = state.lr;
        for batch in EpochLoader::new(source.clone(), &train_idx, epoch as u64, &train_cfg) {
            let batch = batch?;
            lr = cosine_lr(state.lr, state.steps_done, total_steps);
            let scored = score(&net, &batch, &state.input, state.task, options.device, true);
            opt.zero_grad();
            scored.loss.backward();
            opt.step(lr);
            state.steps_done += 1;
            let n = batch.len();
            loss_sum += scored.loss.double_value(&[]) * n as f64;
            correct += scored.top1;
            seen += n;
            let rate = seen as f64 / started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "loss {:.4} acc {:.3} {:.0} samples/s",
                loss_sum / seen as f64,
                correct as f64 / seen as f64,
                rate
            ));
            bar.inc(1);
        }
        let samples_per_s = seen as f64 / started.elapsed().as_secs_f64().max(1e-9);
        let val = if val_idx.is_empty() {
            Validation {
                loss: f64::NAN,
                top1: correct as f64 / seen.max(1) as f64,
                top3: f64::NAN,
                cer: f64::NAN,
            }
        } else {
            evaluate(&net, &source, &val_idx, epoch as u64, &val_cfg, state.task, options.device)?
        };
        let (val_loss, val_top1, val_top3) = (val.loss, val.top1, val.top3);
        bar.finish_and_clear();
        if let Some(unreadable) = &unreadable {
            check_unreadable(unreadable, &mut reported_unreadable, source.len(), &options.data)?;
        }
        let metrics = EpochMetrics {
            epoch,
            lr,
            train_loss: loss_sum / seen.max(1) as f64,
            train_top1: correct as f64 / seen.max(1) as f64,
            val_loss,
            val_top1,
            val_top3,
            val_cer: val.cer,
            samples_per_s,
        };
        if !options.quiet {
            let figures = if state.task.is_sequence() {
                format!("exact {:.4} CER {:.4}", val_top1, val.cer)
            } else {
                format!("top-1 {val_top1:.4} top-3 {val_top3:.4}")
            };
            eprintln!(
                "epoch {epoch}/{}: train loss {:.4} top-1 {:.4} | val loss {val_loss:.4} {figures} | {samples_per_s:.0} samples/s",
                state.epochs, metrics.train_loss, metrics.train_top1
            );
        }
        state.history.push(metrics);
        state.epochs_done = epoch;
        // NaN (no validation set, or a fresh run read back) never blocks an improvement.
        let better_loss = !matches!(
            val_loss.partial_cmp(&state.best_val_loss),
            Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
        );
        if val_top1 > state.best_val_top1 || (val_top1 == state.best_val_top1 && better_loss) {
            state.best_val_top1 = val_top1;
            state.best_val_loss = val_loss;
            state.best_epoch = Some(epoch);
            checkpoint::save_tensors(
                &out.join(checkpoint::BEST),
                &checkpoint::named_variables(&vs),
            )?;
        } else if epoch - state.best_epoch.unwrap_or(0) >= state.patience {
            state.stopped_early = true;
        }
        let mut last = checkpoint::named_variables(&vs);
        last.extend(opt.state());
        checkpoint::save_tensors(&out.join(checkpoint::LAST), &last)?;
        state.save(out)?;
        write_metrics_csv(&out.join("metrics.csv"), &state.history)?;
        if let Err(e) = plot::training_curves(&out.join("curves.png"), &state.history) {
            eprintln!(
                "warning: {}: cannot draw the training curves: {}",
                out.join("curves.png").display(),
                lookout_vision::errors::chain(&e)
            );
        }
    }
    Ok(TrainSummary { state, out: out.clone() })
}

fn check_resumable(
    state: &TrainState,
    options: &TrainOptions,
    labels: &[String],
) -> Result<(), TrainError> {
    let out = options.out.display();
    if state.task != options.task {
        return Err(TrainError::Resume(format!(
            "{out}: the checkpoint is a {:?} run, not {:?}",
            state.task, options.task
        )));
    }
    if state.labels != labels {
        return Err(TrainError::Resume(format!(
            "{out}: the dataset's classes changed since the checkpoint ({} then, {} now)",
            state.labels.len(),
            labels.len()
        )));
    }
    if options.epochs < state.epochs_done {
        return Err(TrainError::Resume(format!(
            "{out}: --epochs {} is fewer than the {} epochs already done",
            options.epochs, state.epochs_done
        )));
    }
    Ok(())
}

/// Cosine decay from `lr` to `lr / 100` over the run.
pub fn cosine_lr(lr: f64, step: u64, total: u64) -> f64 {
    let t = (step as f64 / total.max(1) as f64).min(1.0);
    let floor = lr / 100.0;
    floor + 0.5 * (lr - floor) * (1.0 + (std::f64::consts::PI * t).cos())
}

fn tensors(batch: &Batch, spec: &InputSpec, device: Device) -> (Tensor, Tensor) {
    let shape = [batch.len() as i64, spec.channels as i64, spec.height as i64, spec.width as i64];
    let xs = Tensor::from_slice(&batch.inputs).view(shape).to_device(device);
    let ys = Tensor::from_slice(&batch.labels).to_device(device);
    (xs, ys)
}

/// One batch through the network: the loss to minimise, and how many samples were right
/// (top-1, top-3 for classifiers; exact strings and summed character error rate for
/// sequence models, decoded greedily by the runtime's own [`lookout_vision::ctc`]).
pub struct Scored {
    pub loss: Tensor,
    pub top1: i64,
    pub top3: i64,
    pub cer_sum: f64,
}

pub fn score(
    net: &Net,
    batch: &Batch,
    spec: &InputSpec,
    task: TrainTask,
    device: Device,
    train: bool,
) -> Scored {
    let (xs, ys) = tensors(batch, spec, device);
    let logits = net.forward_t(&xs, train);
    if !task.is_sequence() {
        let loss = logits.cross_entropy_for_logits(&ys);
        let k = logits.size()[1].min(3);
        let (_, best) = logits.topk(k, -1, true, true);
        let hits = best.eq_tensor(&ys.unsqueeze(1));
        let top1 = hits.narrow(1, 0, 1).sum(Kind::Int64).int64_value(&[]);
        let top3 = hits.sum(Kind::Int64).int64_value(&[]);
        return Scored { loss, top1, top3, cer_sum: 0.0 };
    }
    // logits: [T, N, blank + labels]; CTC wants log-probabilities and classes shifted past
    // the blank.
    let (steps, n, classes) = logits.size3().expect("sequence logits are 3-D");
    let log_probs = logits.log_softmax(-1, Kind::Float);
    let targets = Tensor::from_slice(&batch.targets.iter().map(|t| t + 1).collect::<Vec<i64>>())
        .to_device(device);
    let input_lengths = vec![steps; n as usize];
    let loss = Tensor::ctc_loss(
        &log_probs,
        &targets,
        input_lengths.as_slice(),
        batch.target_lengths.as_slice(),
        0,
        tch::Reduction::Mean,
        true,
    );
    let probs = Vec::<f32>::try_from(
        log_probs.exp().permute([1, 0, 2]).contiguous().flatten(0, -1).to_device(Device::Cpu),
    )
    .expect("float probabilities");
    let (mut exact, mut cer_sum, mut offset) = (0i64, 0.0f64, 0usize);
    for (i, &len) in batch.target_lengths.iter().enumerate() {
        let truth: Vec<usize> =
            batch.targets[offset..offset + len as usize].iter().map(|&t| t as usize).collect();
        offset += len as usize;
        let per_sample = (steps * classes) as usize;
        let decoded = lookout_vision::ctc::greedy(
            &probs[i * per_sample..(i + 1) * per_sample],
            classes as usize,
        );
        exact += i64::from(decoded == truth);
        cer_sum +=
            lookout_vision::ctc::edit_distance(&decoded, &truth) as f64 / truth.len().max(1) as f64;
    }
    Scored { loss, top1: exact, top3: exact, cer_sum }
}

/// Validation figures: mean loss, top-1 (exact strings for sequence models), top-3 (NaN for
/// sequence models) and character error rate (NaN for classifiers).
#[derive(Debug, Clone, Copy)]
pub struct Validation {
    pub loss: f64,
    pub top1: f64,
    pub top3: f64,
    pub cer: f64,
}

/// Runs `net` over `indices` without augmentation.
pub fn evaluate(
    net: &Net,
    source: &Arc<dyn Source>,
    indices: &[usize],
    epoch: u64,
    config: &LoaderConfig,
    task: TrainTask,
    device: Device,
) -> Result<Validation, TrainError> {
    let _guard = tch::no_grad_guard();
    let (mut loss_sum, mut top1, mut top3, mut cer_sum, mut seen) =
        (0.0f64, 0i64, 0i64, 0.0f64, 0usize);
    for batch in EpochLoader::new(source.clone(), indices, epoch, config) {
        let batch = batch?;
        let scored = score(net, &batch, &config.spec, task, device, false);
        loss_sum += scored.loss.double_value(&[]) * batch.len() as f64;
        top1 += scored.top1;
        top3 += scored.top3;
        cer_sum += scored.cer_sum;
        seen += batch.len();
    }
    let n = seen.max(1) as f64;
    let sequence = task.is_sequence();
    Ok(Validation {
        loss: loss_sum / n,
        top1: top1 as f64 / n,
        top3: if sequence { f64::NAN } else { top3 as f64 / n },
        cer: if sequence { cer_sum / n } else { f64::NAN },
    })
}

fn save_verify_inputs(
    source: &Arc<dyn Source>,
    val_idx: &[usize],
    train_idx: &[usize],
    state: &TrainState,
    out: &Path,
) -> Result<(), TrainError> {
    let pool = if val_idx.is_empty() { train_idx } else { val_idx };
    let picked: Vec<usize> = pool.iter().copied().take(VERIFY_SAMPLES).collect();
    // The export check needs readable samples only; training decides about the others.
    let config = LoaderConfig {
        spec: state.input.clone(),
        batch: picked.len().max(1),
        workers: 1,
        queue: 4,
        shuffle_buffer: 0,
        augment: Augment::None,
        seed: state.seed,
        unreadable: Some(Unreadable::default()),
    };
    if let Some(batch) = EpochLoader::new(source.clone(), &picked, 0, &config).next() {
        let (xs, _) = tensors(&batch?, &state.input, Device::Cpu);
        checkpoint::save_tensors(&out.join(checkpoint::VERIFY), &[("inputs".to_string(), xs)])?;
    }
    Ok(())
}

/// Warns once about each batch of newly found unreadable samples (counted, the first few
/// named) and stops the run when they are more than [`MAX_UNREADABLE`] of the dataset.
fn check_unreadable(
    unreadable: &Unreadable,
    reported: &mut usize,
    total: usize,
    data: &Path,
) -> Result<(), TrainError> {
    let count = unreadable.count();
    if count as f64 > MAX_UNREADABLE * total as f64 {
        let first = unreadable.first(NAMED_UNREADABLE);
        return Err(TrainError::Unreadable { data: data.to_path_buf(), count, total, first });
    }
    if count > *reported {
        let named = unreadable.first(NAMED_UNREADABLE);
        let more = if count > named.len() {
            format!(" and {} more", count - named.len())
        } else {
            String::new()
        };
        eprintln!(
            "warning: left out {count} of {total} samples that cannot be read \
             (--strict-data stops instead): {}{more}",
            named.join("; ")
        );
        *reported = count;
    }
    Ok(())
}

fn progress(quiet: bool, steps: u64, epoch: usize, epochs: usize) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(steps);
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({eta})")
        .expect("valid template")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(format!("epoch {epoch}/{epochs}"));
    bar
}

fn write_metrics_csv(path: &Path, history: &[EpochMetrics]) -> Result<(), TrainError> {
    let mut text = String::from(
        "epoch,lr,train_loss,train_top1,val_loss,val_top1,val_top3,val_cer,samples_per_s\n",
    );
    for m in history {
        text.push_str(&format!(
            "{},{:.6e},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.1}\n",
            m.epoch,
            m.lr,
            m.train_loss,
            m.train_top1,
            m.val_loss,
            m.val_top1,
            m.val_top3,
            m.val_cer,
            m.samples_per_s
        ));
    }
    checkpoint::write_atomic(path, text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_schedule_runs_from_lr_to_a_hundredth() {
        assert!((cosine_lr(1e-3, 0, 100) - 1e-3).abs() < 1e-12);
        assert!((cosine_lr(1e-3, 100, 100) - 1e-5).abs() < 1e-12);
        assert!(cosine_lr(1e-3, 50, 100) < 1e-3 && cosine_lr(1e-3, 50, 100) > 1e-5);
    }
}
