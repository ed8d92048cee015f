//! What the transformer's integration tests share: a configuration small enough to train in
//! seconds on the shipped DIGINETICA sample, and one way to run it.

use std::path::Path;

use candle_core::Device;
use edgerec_trainer::ranking::protocol::{Benchmark, DataSetKind};
use edgerec_trainer::ranking::Case;
use edgerec_trainer::seqrec::{train, RunData, RunOptions, TrainConfig, TrainData, Trained};

pub fn sample() -> Benchmark {
    Benchmark::load(DataSetKind::Diginetica, Path::new("../data/diginetica")).unwrap()
}

/// Hidden 16, one layer, 12 steps of 64 sequences per epoch, 512 sampled negatives.
pub fn tiny_config(epochs: usize) -> TrainConfig {
    let mut c = TrainConfig::default();
    c.model.hidden = 16;
    c.model.layers = 1;
    c.model.heads = 2;
    c.model.max_len = 10;
    c.model.ffn = 32;
    c.train.epochs = epochs;
    c.train.batch_size = 64;
    c.train.lr = 5e-3;
    c.train.warmup_steps = 4;
    c.train.max_steps_per_epoch = 12;
    c.train.validation_cases = 300;
    c.train.negatives = 512;
    c.train.patience = 10;
    c
}

/// Trains `config` on `sessions` into `dir`, validating on `validation` (empty: none).
pub fn train_run(
    bench: &Benchmark,
    config: &TrainConfig,
    sessions: &[Vec<u32>],
    validation: &[Case],
    dir: &Path,
    resume: bool,
    stop: Option<usize>,
) -> anyhow::Result<Trained> {
    let data_set = RunData::of(bench);
    let data = TrainData {
        data_set: &data_set,
        train: sessions,
        validation,
        convention: bench.convention,
        include_seen: bench.include_seen,
    };
    let options = RunOptions {
        dir: dir.to_path_buf(),
        resume,
        stop_after_epochs: stop,
        init_from: None,
        device: Device::Cpu,
    };
    train(config, &data, &options)
}
