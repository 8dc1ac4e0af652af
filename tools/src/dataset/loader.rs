//! Streams a [`Source`] as batches of preprocessed tensors, in bounded memory.
//!
//! Per epoch: the sample indices are cut into runs of [`RUN`] consecutive samples and the runs
//! are shuffled (consecutive reads stay consecutive on disk, which matters for multi-GB `.gnt`
//! files); worker threads load, distort ([`Augment`]) and preprocess samples (the same
//! `lookout_vision::preprocess` code the Pi runs); a shuffle buffer mixes the runs. Worker `k` takes
//! positions `k, k + W, …` and has its own bounded queue, so results are consumed in a fixed
//! order (the run is deterministic for a seed, however threads are scheduled) and at most
//! `workers · queue + shuffle_buffer` samples exist at once, whatever the dataset's size.
//!
//! A sample that cannot be loaded (a phone's truncated JPEG among forty good photos) either
//! ends the epoch with its error or, with [`LoaderConfig::unreadable`], is left out and
//! recorded there for the caller to report and to judge.

use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use lookout_vision::cascade::Rect;
use lookout_vision::preprocess::{InputSpec, Preprocessor};

use super::augment::{Augment, Rng};
use super::{DatasetError, Source};

/// Consecutive samples that stay together when an epoch is shuffled.
const RUN: usize = 64;

#[derive(Debug, Clone)]
pub struct LoaderConfig {
    pub spec: InputSpec,
    pub batch: usize,
    pub workers: usize,
    /// Samples each worker may have ready ahead of the consumer.
    pub queue: usize,
    /// 0 = keep the order (validation).
    pub shuffle_buffer: usize,
    pub augment: Augment,
    pub seed: u64,
    /// Where samples that cannot be loaded are recorded and skipped; `None`: the first one
    /// ends the epoch with its error.
    pub unreadable: Option<Unreadable>,
}

/// The samples that could not be loaded, by index, with why; shared by the workers of every
/// epoch that records into it.
#[derive(Debug, Clone, Default)]
pub struct Unreadable(Arc<Mutex<BTreeMap<usize, String>>>);

impl Unreadable {
    fn record(&self, index: usize, error: &DatasetError) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(index).or_insert_with(|| lookout_vision::errors::chain(error));
    }

    pub fn count(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Why the first `n` unreadable samples (in index order) could not be loaded.
    pub fn first(&self, n: usize) -> Vec<String> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.values().take(n).cloned().collect()
    }
}

/// Preprocessed inputs (`len · spec.len()` values, NCHW) and their labels; for sequence
/// samples also their texts, concatenated, with one length per sample (CTC's layout).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub inputs: Vec<f32>,
    pub labels: Vec<i64>,
    pub targets: Vec<i64>,
    pub target_lengths: Vec<i64>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// A preprocessed sample: tensor, class, text.
type Prepared = (Vec<f32>, i64, Vec<u32>);
/// `Ok(None)`: a sample left out because it could not be loaded (and recorded).
type Item = Result<Option<Prepared>, DatasetError>;

/// The batches of one epoch over `indices` of `source`.
pub struct EpochLoader {
    queues: Vec<Receiver<Item>>,
    workers: Vec<JoinHandle<()>>,
    position: usize,
    total: usize,
    buffer: Vec<Prepared>,
    buffer_cap: usize,
    rng: Rng,
    batch: usize,
    failed: bool,
}

impl EpochLoader {
    pub fn new(
        source: Arc<dyn Source>,
        indices: &[usize],
        epoch: u64,
        config: &LoaderConfig,
    ) -> Self {
        let mut order = indices.to_vec();
        let mut rng = Rng::for_sample(config.seed, epoch, u64::MAX);
        if config.shuffle_buffer > 0 {
            let mut runs: Vec<&[usize]> = indices.chunks(RUN).collect();
            rng.shuffle(&mut runs);
            order = runs.concat();
        }
        let order = Arc::new(order);
        let n_workers = config.workers.max(1);
        let mut queues = Vec::with_capacity(n_workers);
        let mut workers = Vec::with_capacity(n_workers);
        for k in 0..n_workers {
            let (tx, rx) = sync_channel::<Item>(config.queue.max(1));
            let (source, order, config) = (source.clone(), order.clone(), config.clone());
            workers.push(std::thread::spawn(move || {
                let mut pre = Preprocessor::default();
                for &index in order.iter().skip(k).step_by(n_workers) {
                    let item = source.load(index).map(|sample| {
                        let mut rng = Rng::for_sample(config.seed, epoch, index as u64);
                        let image = config.augment.apply(&sample.image, &mut rng);
                        let full = Rect {
                            x: 0,
                            y: 0,
                            width: image.width as i32,
                            height: image.height as i32,
                        };
                        let mut tensor = Vec::with_capacity(config.spec.len());
                        pre.prepare(&config.spec, image.pixels(), full, &mut tensor);
                        Some((tensor, sample.label as i64, sample.text))
                    });
                    let item = match (item, &config.unreadable) {
                        (Err(e), Some(unreadable)) => {
                            unreadable.record(index, &e);
                            Ok(None)
                        }
                        (item, _) => item,
                    };
                    let failed = item.is_err();
                    if tx.send(item).is_err() || failed {
                        return;
                    }
                }
            }));
            queues.push(rx);
        }
        EpochLoader {
            queues,
            workers,
            position: 0,
            total: indices.len(),
            buffer: Vec::with_capacity(config.shuffle_buffer),
            buffer_cap: config.shuffle_buffer,
            rng,
            batch: config.batch.max(1),
            failed: false,
        }
    }

    /// Number of batches this epoch yields.
    pub fn batches(&self) -> usize {
        self.total.div_ceil(self.batch)
    }

    fn next_in_order(&mut self) -> Option<Item> {
        if self.position >= self.total {
            return None;
        }
        let queue = &self.queues[self.position % self.queues.len()];
        self.position += 1;
        Some(queue.recv().unwrap_or_else(|_| {
            Err(DatasetError::Layout {
                path: "<loader>".into(),
                reason: "worker thread stopped".into(),
            })
        }))
    }

    /// The next loaded sample in order, past the ones left out.
    fn next_loaded(&mut self) -> Option<Result<Prepared, DatasetError>> {
        loop {
            match self.next_in_order()? {
                Ok(Some(sample)) => return Some(Ok(sample)),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Next sample after the shuffle buffer.
    fn next_sample(&mut self) -> Option<Result<Prepared, DatasetError>> {
        if self.buffer_cap == 0 {
            return self.next_loaded();
        }
        while self.buffer.len() < self.buffer_cap && self.position < self.total {
            match self.next_loaded() {
                Some(Ok(sample)) => self.buffer.push(sample),
                Some(Err(e)) => return Some(Err(e)),
                None => break,
            }
        }
        if self.buffer.is_empty() {
            return None;
        }
        let pick = self.rng.below(self.buffer.len());
        Some(Ok(self.buffer.swap_remove(pick)))
    }
}

impl Iterator for EpochLoader {
    type Item = Result<Batch, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let mut batch = Batch {
            inputs: Vec::new(),
            labels: Vec::with_capacity(self.batch),
            targets: Vec::new(),
            target_lengths: Vec::new(),
        };
        while batch.labels.len() < self.batch {
            match self.next_sample() {
                Some(Ok((tensor, label, text))) => {
                    batch.inputs.extend_from_slice(&tensor);
                    batch.labels.push(label);
                    batch.target_lengths.push(text.len() as i64);
                    batch.targets.extend(text.iter().map(|&t| t as i64));
                }
                Some(Err(e)) => {
                    self.failed = true;
                    return Some(Err(e));
                }
                None => break,
            }
        }
        (!batch.is_empty()).then_some(Ok(batch))
    }
}

impl Drop for EpochLoader {
    fn drop(&mut self) {
        // Closing the queues makes blocked workers' sends fail, so they return.
        self.queues.clear();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Image, Sample};
    use lookout_vision::preprocess::{Fit, TensorLayout};

    /// Sample `i` is a 2×2 gray image of value `i`, label `i % 3`.
    struct Counting(usize, Vec<String>);

    impl Source for Counting {
        fn len(&self) -> usize {
            self.0
        }
        fn labels(&self) -> &[String] {
            &self.1
        }
        fn key(&self, i: usize) -> String {
            i.to_string()
        }
        fn load(&self, i: usize) -> Result<Sample, DatasetError> {
            if i == 999 {
                return Err(DatasetError::Layout {
                    path: "sample-999".into(),
                    reason: "broken".into(),
                });
            }
            let image = Image { width: 2, height: 2, channels: 1, data: vec![i as u8; 4] };
            Ok(Sample { image, label: i % 3, text: vec![i as u32 % 10; i % 4] })
        }
    }

    fn config(shuffle_buffer: usize, workers: usize) -> LoaderConfig {
        LoaderConfig {
            spec: InputSpec {
                width: 2,
                height: 2,
                channels: 1,
                layout: TensorLayout::Nchw,
                scale: 1.0,
                mean: vec![0.0],
                std: vec![1.0],
                fit: Fit::Stretch,
            },
            batch: 32,
            workers,
            queue: 4,
            shuffle_buffer,
            augment: Augment::None,
            seed: 5,
            unreadable: None,
        }
    }

    fn values(loader: EpochLoader) -> Vec<usize> {
        loader
            .flat_map(|b| b.unwrap().inputs.chunks(4).map(|c| c[0] as usize).collect::<Vec<_>>())
            .collect()
    }

    fn source(n: usize) -> Arc<dyn Source> {
        Arc::new(Counting(n, vec!["a".into(), "b".into(), "c".into()]))
    }

    #[test]
    fn validation_order_is_kept_and_every_sample_comes_once() {
        let indices: Vec<usize> = (0..200).collect();
        let loader = EpochLoader::new(source(200), &indices, 0, &config(0, 3));
        assert_eq!(loader.batches(), 7);
        assert_eq!(values(loader), indices);
        let mut loader = EpochLoader::new(source(200), &indices, 0, &config(0, 2));
        let batch = loader.next().unwrap().unwrap();
        assert_eq!(&batch.target_lengths[..5], [0, 1, 2, 3, 0]);
        assert_eq!(&batch.targets[..6], [1, 2, 2, 3, 3, 3]);
    }

    #[test]
    fn shuffled_epochs_are_permutations_that_repeat_for_a_seed() {
        let indices: Vec<usize> = (0..250).collect();
        let a = values(EpochLoader::new(source(250), &indices, 1, &config(50, 3)));
        let b = values(EpochLoader::new(source(250), &indices, 1, &config(50, 2)));
        let c = values(EpochLoader::new(source(250), &indices, 2, &config(50, 3)));
        assert_eq!(a, b, "worker count must not change the order");
        assert_ne!(a, c, "another epoch, another order");
        assert_ne!(a, indices);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, indices);
    }

    #[test]
    fn a_broken_sample_ends_the_epoch_with_its_error() {
        let indices = vec![1, 2, 999, 3];
        let mut loader = EpochLoader::new(source(1000), &indices, 0, &config(0, 2));
        let err = loader.next().unwrap().unwrap_err().to_string();
        assert!(err.contains("sample-999"), "{err}");
        assert!(loader.next().is_none());
    }

    #[test]
    fn unreadable_samples_can_be_left_out_and_recorded_instead() {
        let indices = vec![1, 2, 999, 3];
        let unreadable = Unreadable::default();
        let config = LoaderConfig { unreadable: Some(unreadable.clone()), ..config(2, 2) };
        let mut got = values(EpochLoader::new(source(1000), &indices, 0, &config));
        got.sort();
        assert_eq!(got, vec![1, 2, 3]);
        assert_eq!(unreadable.count(), 1);
        assert_eq!(unreadable.first(5), vec!["sample-999: broken".to_string()]);
        // The next epoch meets it again; it is recorded once.
        assert_eq!(values(EpochLoader::new(source(1000), &indices, 1, &config)).len(), 3);
        assert_eq!(unreadable.count(), 1);
    }

    #[test]
    fn dropping_a_loader_mid_epoch_stops_its_workers() {
        let indices: Vec<usize> = (0..100_000).map(|i| i % 255).collect();
        let mut loader = EpochLoader::new(source(255), &indices, 0, &config(16, 2));
        assert!(loader.next().unwrap().is_ok());
        drop(loader);
    }
}
