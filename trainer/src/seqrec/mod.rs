//! Training and evaluating the transformer conversion model ([`edgerec::training::model::SasRec`]) on
//! behaviour sequences. The forward pass is the engine's; this module adds data loading,
//! batching, the loss, AdamW with warm-up and decay, validation each epoch, early stopping and
//! checkpoints (safetensors) that a run resumes from exactly.

pub mod hybrid;
pub mod optim;
pub mod quantize;
pub mod run_dir;
pub mod train_loop;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use edgerec::training::model::{
    history_row, Dropout, ItemFeatures, SasRec, SasRecConfig, SeqBatch,
};
use serde::{Deserialize, Serialize};

use crate::ranking::metrics::{MetricConvention, Rank};
use crate::ranking::Case;
use optim::{AdamW, Schedule};
pub use run_dir::{RunData, RunDir};
use train_loop::{run_epochs, EpochSummary, LoopConfig, Progress, Trainee};

/// The cut-offs of the metrics computed on validation each epoch: `select_by` must be one of
/// them (`MRR@20`, `P@10`, ...).
pub const VALIDATION_CUTOFFS: [usize; 2] = [10, 20];

/// The model part of a training configuration (the catalog size comes from the data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub max_len: usize,
    pub ffn: usize,
    pub dropout: f32,
    pub temperature: f32,
}

impl Default for ModelSection {
    fn default() -> Self {
        ModelSection {
            hidden: 64,
            layers: 2,
            heads: 2,
            max_len: 20,
            ffn: 256,
            dropout: 0.2,
            temperature: 0.07,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSection {
    pub epochs: usize,
    /// Sequences per step.
    pub batch_size: usize,
    pub lr: f64,
    pub warmup_steps: usize,
    pub final_lr_fraction: f64,
    pub weight_decay: f64,
    /// Epochs without a better validation score before training stops.
    pub patience: usize,
    pub seed: u64,
    /// Validation cases scored after each epoch (a seeded subset; 0 = all).
    pub validation_cases: usize,
    /// The validation metric that picks the best epoch, e.g. `MRR@20`.
    pub select_by: String,
    /// Stop each epoch after this many steps (0 = no limit); for smoke tests.
    pub max_steps_per_epoch: usize,
    /// 0: full softmax over the catalog. Otherwise sampled softmax: the batch's targets plus
    /// this many uniformly drawn items, with the logQ correction (mixed negative sampling,
    /// Yang et al. 2020): about catalog / negatives times less work per step.
    pub negatives: usize,
}

impl Default for TrainSection {
    fn default() -> Self {
        TrainSection {
            epochs: 6,
            batch_size: 256,
            lr: 2e-3,
            warmup_steps: 200,
            final_lr_fraction: 0.05,
            weight_decay: 0.01,
            patience: 2,
            seed: 42,
            validation_cases: 10_000,
            select_by: "MRR@20".into(),
            max_steps_per_epoch: 0,
            negatives: 0,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub model: ModelSection,
    pub train: TrainSection,
}

impl TrainConfig {
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("{}: invalid training config", path.display()))
    }

    pub fn model_config(&self, num_items: usize) -> SasRecConfig {
        let m = &self.model;
        SasRecConfig {
            num_items,
            hidden: m.hidden,
            layers: m.layers,
            heads: m.heads,
            max_len: m.max_len,
            ffn: m.ffn,
            dropout: m.dropout,
            text_dim: 0,
            num_attributes: 0,
            attributes_per_item: 0,
            temperature: m.temperature,
            conversion_hidden: 0,
            input: Default::default(),
        }
    }
}

/// One training example: a window of a sequence; the model predicts `items[t + 1]` from
/// `items[..=t]` at every position.
type Window = Vec<u32>;

/// Splits sequences into windows of at most `max_len + 1` items so every next-item target is
/// used once, the most recent window first.
pub fn windows(sequences: &[Vec<u32>], max_len: usize) -> Vec<Window> {
    let mut out = Vec::new();
    for seq in sequences.iter().filter(|s| s.len() >= 2) {
        let mut end = seq.len();
        while end >= 2 {
            let start = end.saturating_sub(max_len + 1);
            out.push(seq[start..end].to_vec());
            // The next window's last item is this window's first input: no target is repeated.
            end = start + 1;
            if start == 0 {
                break;
            }
        }
    }
    out
}

fn rows(windows: &[&Window]) -> Vec<Vec<(u32, u32, u32)>> {
    windows
        .iter()
        .map(|w| history_row(&w[..w.len() - 1]))
        .collect()
}

/// Batches of window indices for one epoch: shuffled with the epoch's seed, then sorted by
/// length within blocks so a batch pads little, then the batches shuffled again.
fn epoch_batches(windows: &[Window], batch_size: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut order: Vec<usize> = (0..windows.len()).collect();
    rng.shuffle(&mut order);
    for block in order.chunks_mut(batch_size * 32) {
        block.sort_by_key(|&i| windows[i].len());
    }
    let mut batches: Vec<Vec<usize>> = order.chunks(batch_size).map(<[usize]>::to_vec).collect();
    rng.shuffle(&mut batches);
    batches
}

/// Draws the candidate items of sampled softmax and their logQ corrections.
pub struct NegativeSampler {
    /// Each item's share of all training targets.
    share: Vec<f64>,
    negatives: usize,
    seed: u64,
}

impl NegativeSampler {
    pub fn new(windows: &[Window], num_items: usize, negatives: usize, seed: u64) -> Self {
        let mut counts = vec![0f64; num_items];
        let mut total = 0f64;
        for w in windows {
            for &i in &w[1..] {
                counts[i as usize] += 1.0;
                total += 1.0;
            }
        }
        let share = counts.into_iter().map(|c| c / total.max(1.0)).collect();
        NegativeSampler {
            share,
            negatives,
            seed,
        }
    }

    /// Candidates (the distinct targets first, then uniform draws), the targets' positions
    /// among them, and ln(expected inclusions) of each candidate. Draws depend only on the
    /// seed and the step, so a resumed run draws what an uninterrupted one would.
    fn draw(&self, targets: &[u32], step: usize) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
        let n = self.share.len();
        let mut rng =
            fastrand::Rng::with_seed(self.seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut position = std::collections::HashMap::new();
        let mut candidates = Vec::new();
        let mut labels = Vec::with_capacity(targets.len());
        for &t in targets {
            let next = candidates.len() as u32;
            let at = *position.entry(t).or_insert_with(|| {
                candidates.push(t);
                next
            });
            labels.push(at);
        }
        for _ in 0..self.negatives {
            let j = rng.u32(0..n as u32);
            if let std::collections::hash_map::Entry::Vacant(e) = position.entry(j) {
                e.insert(candidates.len() as u32);
                candidates.push(j);
            }
        }
        let in_batch = targets.len() as f64;
        let uniform = self.negatives as f64 / n as f64;
        let log_q = candidates
            .iter()
            .map(|&j| (in_batch * self.share[j as usize] + uniform).ln() as f32)
            .collect();
        (candidates, labels, log_q)
    }
}

/// The mean next-item cross-entropy of one batch (over the full catalog, or sampled).
fn batch_loss(
    model: &SasRec,
    features: &ItemFeatures,
    batch: &[&Window],
    dropout: Option<&mut Dropout>,
    sampler: Option<(&NegativeSampler, usize)>,
) -> Result<Tensor> {
    let device = model.device();
    let seq = SeqBatch::from_rows(&rows(batch), model.config().max_len, device)?;
    let len = seq.items.dim(1)?;
    let (mut positions, mut targets) = (Vec::new(), Vec::new());
    for (b, w) in batch.iter().enumerate() {
        for t in 0..w.len() - 1 {
            positions.push((b * len + t) as u32);
            targets.push(w[t + 1]);
        }
    }
    let table = model.item_table(features)?;
    let hidden = model.encode(&seq, &table, dropout)?;
    let states = model.states_at(&hidden, &positions)?;
    let (logits, labels) = match sampler {
        None => (model.next_item_logits(&states, &table)?, targets),
        Some((sampler, step)) => {
            let (candidates, labels, log_q) = sampler.draw(&targets, step);
            let count = candidates.len();
            let rows = table.index_select(&Tensor::from_vec(candidates, count, device)?, 0)?;
            let log_q = Tensor::from_vec(log_q, (1, count), device)?;
            let logits = model
                .next_item_logits(&states, &rows)?
                .broadcast_sub(&log_q)?;
            (logits, labels)
        }
    };
    let labels = Tensor::from_vec(labels, positions.len(), device)?;
    Ok(candle_nn::loss::cross_entropy(&logits, &labels)?)
}

/// The mean full-catalog next-item cross-entropy over `sequences` (no dropout).
pub fn mean_loss(model: &SasRec, features: &ItemFeatures, sequences: &[Vec<u32>]) -> Result<f64> {
    let windows = windows(sequences, model.config().max_len);
    let (mut sum, mut count) = (0.0, 0usize);
    for chunk in windows.chunks(256) {
        let batch: Vec<&Window> = chunk.iter().collect();
        let targets: usize = chunk.iter().map(|w| w.len() - 1).sum();
        let loss = batch_loss(model, features, &batch, None, None)?.to_scalar::<f32>()? as f64;
        sum += loss * targets as f64;
        count += targets;
    }
    Ok(sum / count.max(1) as f64)
}

/// The rank of each case's target among the model's top `max_k` (the history's items left out
/// unless `include_seen`), scored in batches.
/// `table` is [`SasRec::item_table`] in training, the bundle's (dequantized) table at the edge.
pub fn rank_cases(
    model: &SasRec,
    table: &Tensor,
    cases: &[Case],
    max_k: usize,
    include_seen: bool,
    what: &str,
) -> Result<Vec<Rank>> {
    let bar = crate::progress::bar(cases.len() as u64, what);
    let mut ranks = Vec::with_capacity(cases.len());
    for chunk in cases.chunks(512) {
        let rows: Vec<Vec<(u32, u32, u32)>> =
            chunk.iter().map(|c| history_row(&c.history)).collect();
        let seq = SeqBatch::from_rows(&rows, model.config().max_len, model.device())?;
        let hidden = model.encode(&seq, table, None)?;
        let states = model.states_at(&hidden, &seq.last_positions())?;
        let scores = model.next_item_logits(&states, table)?.to_vec2::<f32>()?;
        ranks.extend(crate::stats::parallel_map(chunk.len(), |i| {
            let case = &chunk[i];
            let exclude: &[u32] = if include_seen { &[] } else { &case.history };
            target_rank(&scores[i], case.target, exclude, max_k)
        }));
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(ranks)
}

/// Where `target` falls in the descending order of `scores` (ties broken by index, excluded
/// items left out), if within the first `max_k`.
pub fn target_rank(scores: &[f32], target: u32, exclude: &[u32], max_k: usize) -> Rank {
    let t = target as usize;
    if t >= scores.len() || exclude.contains(&target) {
        return None;
    }
    let s = scores[t];
    let mut better = 0usize;
    for (j, &x) in scores.iter().enumerate() {
        if (x > s || (x == s && j < t)) && !exclude.contains(&(j as u32)) {
            better += 1;
            if better >= max_k {
                return None;
            }
        }
    }
    Some(better as u32)
}

/// One epoch's figures, for the log, the checkpoint and the training-curve plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub steps: usize,
    pub train_loss: f64,
    pub validation: std::collections::BTreeMap<String, f64>,
    pub seconds: f64,
    pub sequences_per_second: f64,
}

/// What `state.json` beside the checkpoint holds: enough to resume exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    pub config: TrainConfig,
    pub model: SasRecConfig,
    pub epochs_done: usize,
    pub step: usize,
    pub history: Vec<EpochLog>,
    pub best_epoch: Option<usize>,
    pub best_score: f64,
}

pub struct Trained {
    pub model: SasRec,
    pub varmap: VarMap,
    pub state: TrainState,
}

/// A finished run loaded for export: its state, best weights and item table.
pub struct TrainedRun {
    pub state: TrainState,
    pub model: SasRec,
    /// Every variable by name ([`var_tensors`]).
    pub weights: std::collections::BTreeMap<String, Tensor>,
    /// [`SasRec::item_table`] of the best weights.
    pub table: Tensor,
}

impl TrainedRun {
    /// Loads `run`'s best checkpoint, refusing a run trained on other data than `data` (see
    /// [`RunDir::check_data`]) or on another catalog size.
    pub fn load(run: &Path, data: &RunData) -> Result<Self> {
        let dir = RunDir(run.to_path_buf());
        let state = dir.read_state()?;
        dir.check_data(data)?;
        let num_items = data.items;
        if state.model.num_items != num_items {
            bail!(
                "{} was trained on {} items but the data has {num_items}: wrong --data or --data-set?",
                run.display(),
                state.model.num_items
            );
        }
        let (varmap, model) = load_model(&state.model, &dir.best(), &Device::Cpu)?;
        let table = model.item_table(&ItemFeatures::none())?;
        Ok(TrainedRun {
            weights: var_tensors(&varmap),
            state,
            model,
            table,
        })
    }

    /// What a bundle export needs, with the catalog's ids and popularity order.
    pub fn export_parts<'a>(
        &'a self,
        item_ids: &'a [String],
        popularity_order: &'a [u32],
    ) -> edgerec::training::model::serving::ExportParts<'a> {
        edgerec::training::model::serving::ExportParts {
            config: &self.state.model,
            weights: &self.weights,
            item_table: &self.table,
            item_ids,
            popularity_order,
        }
    }
}

pub fn new_model(cfg: &SasRecConfig, device: &Device) -> Result<(VarMap, SasRec)> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let model = SasRec::new(cfg, vb)?;
    Ok((varmap, model))
}

/// Loads a checkpoint's weights into a new model of `cfg`.
pub fn load_model(cfg: &SasRecConfig, weights: &Path, device: &Device) -> Result<(VarMap, SasRec)> {
    let (mut varmap, model) = new_model(cfg, device)?;
    varmap
        .load(weights)
        .with_context(|| format!("cannot load weights from {}", weights.display()))?;
    Ok((varmap, model))
}

/// A step's scalar loss, or an error saying training diverged at `step`.
pub(crate) fn finite_loss(loss: &Tensor, step: usize) -> Result<f64> {
    let loss = loss.to_scalar::<f32>()? as f64;
    if !loss.is_finite() {
        bail!("training diverged at step {step}: loss {loss}");
    }
    Ok(loss)
}

/// Every variable's tensor by name: what a bundle export reads.
pub(crate) fn var_tensors(varmap: &VarMap) -> std::collections::BTreeMap<String, Tensor> {
    named_vars(varmap)
        .into_iter()
        .map(|(name, var)| (name, var.as_tensor().clone()))
        .collect()
}

pub(crate) fn named_vars(varmap: &VarMap) -> Vec<(String, Var)> {
    let data = varmap.data().lock().expect("var map lock");
    let mut vars: Vec<(String, Var)> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

/// What a model trains and validates on.
pub struct TrainData<'a> {
    /// The data set and its item ids, recorded in the run folder and checked on resume.
    pub data_set: &'a RunData,
    pub train: &'a [Vec<u32>],
    pub validation: &'a [Case],
    pub convention: MetricConvention,
    /// Whether history items may be recommended (and count as hits) in validation.
    pub include_seen: bool,
}

/// Where and how a run executes.
pub struct RunOptions {
    /// Checkpoints (safetensors), optimizer state and `state.json`.
    pub dir: PathBuf,
    /// Continue from the checkpoint in `dir` (same configuration only).
    pub resume: bool,
    /// Stop after this many epochs in total, as if interrupted; a later `resume` continues.
    pub stop_after_epochs: Option<usize>,
    /// Start from this run's best checkpoint (a run of the same model configuration, trained on
    /// the same data) instead of the seeded initialisation, with a fresh optimizer and
    /// schedule: fine-tuning.
    pub init_from: Option<PathBuf>,
    pub device: Device,
}

/// Trains, validating after each epoch; writes checkpoints and resumes from them.
pub fn train(config: &TrainConfig, data: &TrainData, options: &RunOptions) -> Result<Trained> {
    let (num_items, train, validation) = (data.data_set.items, data.train, data.validation);
    let (convention, include_seen) = (data.convention, data.include_seen);
    // Before any work: a metric that validation does not compute would fail after an epoch.
    let validated = convention.names(&VALIDATION_CUTOFFS);
    if !validation.is_empty() && !validated.contains(&config.train.select_by) {
        bail!(
            "select_by `{}` is not a validation metric; one of {validated:?}",
            config.train.select_by
        );
    }
    let (dir, resume, device) = (options.dir.as_path(), options.resume, &options.device);
    let run = RunDir(dir.to_path_buf());
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let model_cfg = config.model_config(num_items);
    let (mut varmap, model) = new_model(&model_cfg, device)?;
    // Seeded initialisation: candle's CPU RNG cannot be seeded, so every variable is
    // re-drawn from our generator (same weights on every run and platform).
    seeded_init(&varmap, config.train.seed)?;
    if let Some(init) = &options.init_from {
        let init = RunDir(init.clone());
        init.check_data(data.data_set)?;
        let path = init.best();
        varmap
            .load(&path)
            .with_context(|| format!("cannot start from {}", path.display()))?;
        tracing::info!("starting from {}", path.display());
    }
    let mut opt = AdamW::new(named_vars(&varmap), config.train.weight_decay)?;
    let mut state = TrainState {
        config: config.clone(),
        model: model_cfg.clone(),
        epochs_done: 0,
        step: 0,
        history: Vec::new(),
        best_epoch: None,
        best_score: f64::NEG_INFINITY,
    };
    if resume && run.state().exists() {
        run.check_data(data.data_set)?;
        let saved = run.read_state()?;
        if saved.config != *config || saved.model != model_cfg {
            bail!(
                "{} was trained with another configuration; use a new --out or the same config",
                dir.display()
            );
        }
        varmap
            .load(run.latest())
            .with_context(|| format!("cannot load {}", run.latest().display()))?;
        opt.load(&run.optimizer(), saved.step)?;
        tracing::info!(
            epochs_done = saved.epochs_done,
            step = saved.step,
            "resuming {}",
            dir.display()
        );
        state = saved;
    } else {
        run.write_data(data.data_set)?;
    }
    let tc = &config.train;
    let windows = windows(train, model_cfg.max_len);
    let steps_per_epoch = {
        let n = windows.len().div_ceil(tc.batch_size);
        if tc.max_steps_per_epoch > 0 {
            n.min(tc.max_steps_per_epoch)
        } else {
            n
        }
    };
    let total_steps = steps_per_epoch * tc.epochs;
    let schedule = Schedule {
        lr: tc.lr,
        warmup_steps: tc.warmup_steps.min(total_steps / 2),
        final_lr_fraction: tc.final_lr_fraction,
    };
    let validation =
        crate::ranking::run::sample_cases_or_all(validation, tc.validation_cases, tc.seed);
    tracing::info!(
        windows = windows.len(),
        steps_per_epoch,
        validation_cases = validation.len(),
        "training {}-layer transformer, hidden {}, {} items",
        model_cfg.layers,
        model_cfg.hidden,
        num_items
    );
    let sampler = (tc.negatives > 0)
        .then(|| NegativeSampler::new(&windows, num_items, tc.negatives, tc.seed));
    let loop_config = LoopConfig {
        epochs: tc.epochs,
        last_epoch: options
            .stop_after_epochs
            .map_or(tc.epochs, |n| n.min(tc.epochs)),
        patience: tc.patience,
        steps_per_epoch,
        schedule,
        dropout: model_cfg.dropout,
        seed: tc.seed,
        select_by: tc.select_by.clone(),
    };
    let mut progress = Progress {
        epochs_done: state.epochs_done,
        step: state.step,
        best_epoch: state.best_epoch,
        best_score: state.best_score,
    };
    let mut trainee = NextItem {
        model: &model,
        varmap: &varmap,
        features: ItemFeatures::none(),
        windows: &windows,
        batch_size: tc.batch_size,
        seed: tc.seed,
        sampler,
        validation: &validation,
        convention,
        include_seen,
        select_by: &tc.select_by,
        run: &run,
        state: &mut state,
    };
    run_epochs(&mut trainee, &mut opt, &loop_config, &mut progress)?;
    let (varmap, model) = load_model(&model_cfg, &run.best(), device)?;
    Ok(Trained {
        model,
        varmap,
        state,
    })
}

/// The next-item model as [`train_loop::run_epochs`] trains it: windows in length-sorted
/// batches, (sampled) softmax, validation by rank metrics, checkpoints and `state.json` after
/// every epoch.
struct NextItem<'a> {
    model: &'a SasRec,
    varmap: &'a VarMap,
    features: ItemFeatures,
    windows: &'a [Window],
    batch_size: usize,
    seed: u64,
    sampler: Option<NegativeSampler>,
    validation: &'a [Case],
    convention: MetricConvention,
    include_seen: bool,
    select_by: &'a str,
    run: &'a RunDir,
    state: &'a mut TrainState,
}

impl Trainee for NextItem<'_> {
    type Batch = Vec<usize>;

    fn batches(&mut self, epoch: usize) -> Vec<Vec<usize>> {
        epoch_batches(
            self.windows,
            self.batch_size,
            self.seed.wrapping_add(epoch as u64),
        )
    }

    fn examples(&self, batch: &Vec<usize>) -> usize {
        batch.len()
    }

    fn loss(&self, batch: &Vec<usize>, dropout: &mut Dropout, step: usize) -> Result<Tensor> {
        let batch: Vec<&Window> = batch.iter().map(|&j| &self.windows[j]).collect();
        batch_loss(
            self.model,
            &self.features,
            &batch,
            Some(dropout),
            self.sampler.as_ref().map(|s| (s, step)),
        )
    }

    fn validate(&mut self, e: &EpochSummary) -> Result<f64> {
        // No validation cases (training on every session): each epoch scores its own number,
        // so each is the best so far and the last one is the model.
        let (metrics, score) = if self.validation.is_empty() {
            (Default::default(), e.epoch as f64)
        } else {
            let ranks = rank_cases(
                self.model,
                &self.model.item_table(&self.features)?,
                self.validation,
                20,
                self.include_seen,
                "validate",
            )?;
            let metrics = self.convention.summarize(&ranks, &VALIDATION_CUTOFFS);
            let score = *metrics.get(self.select_by).with_context(|| {
                format!(
                    "select_by `{}` is not one of {:?}",
                    self.select_by,
                    metrics.keys()
                )
            })?;
            (metrics, score)
        };
        let log = EpochLog {
            epoch: e.epoch,
            steps: e.steps,
            train_loss: e.train_loss,
            validation: metrics,
            seconds: e.started.elapsed().as_secs_f64(),
            sequences_per_second: e.examples as f64 / e.train_seconds,
        };
        let validated = match log.validation.is_empty() {
            true => "no validation".to_string(),
            false => format!("validation {} {score:.3}", self.select_by),
        };
        tracing::info!(
            "epoch {}: loss {:.4}, {validated}, {:.0} sequences/s, {:.0} s",
            e.epoch,
            log.train_loss,
            log.sequences_per_second,
            log.seconds
        );
        self.state.history.push(log);
        Ok(score)
    }

    fn after_epoch(&mut self, progress: &Progress, best: bool, opt: &AdamW) -> Result<()> {
        let state = &mut *self.state;
        state.epochs_done = progress.epochs_done;
        state.step = progress.step;
        state.best_epoch = progress.best_epoch;
        state.best_score = progress.best_score;
        let run = self.run;
        if best {
            self.varmap
                .save(run.best())
                .with_context(|| format!("cannot write {}", run.best().display()))?;
        }
        self.varmap
            .save(run.latest())
            .with_context(|| format!("cannot write {}", run.latest().display()))?;
        opt.save(&run.optimizer())?;
        crate::output::write_file(&run.state(), serde_json::to_string_pretty(&*state)?)
    }
}

/// Re-draws every variable from a seeded generator: embeddings and weight matrices
/// N(0, 0.02), norms' weights 1, biases 0 (the same rules as the model's own initialisers).
pub(crate) fn seeded_init(varmap: &VarMap, seed: u64) -> Result<()> {
    let mut rng = fastrand::Rng::with_seed(seed);
    for (name, var) in named_vars(varmap) {
        let n = var.elem_count();
        let values: Vec<f32> = if name.ends_with("bias") {
            vec![0.0; n]
        } else if name.contains("ln_") && name.ends_with("weight") {
            vec![1.0; n]
        } else {
            (0..n).map(|_| 0.02 * normal(&mut rng)).collect()
        };
        var.set(&Tensor::from_vec(values, var.shape(), var.device())?)?;
    }
    Ok(())
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut fastrand::Rng) -> f32 {
    let u1 = rng.f64().max(f64::MIN_POSITIVE);
    let u2 = rng.f64();
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}

pub fn device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" => {
            #[cfg(feature = "cuda")]
            {
                Ok(Device::new_cuda(0)?)
            }
            #[cfg(not(feature = "cuda"))]
            bail!("--device cuda: this edgerec-train was built without the `cuda` feature (cargo build -p edgerec-trainer --features cuda)")
        }
        other => bail!("unknown device `{other}`: expected cpu or cuda"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_use_every_target_once() {
        let seqs = vec![vec![1, 2, 3, 4, 5, 6, 7], vec![9], vec![1, 2]];
        let w = windows(&seqs, 3);
        assert_eq!(w, vec![vec![4, 5, 6, 7], vec![1, 2, 3, 4], vec![1, 2]]);
        let targets: usize = w.iter().map(|w| w.len() - 1).sum();
        assert_eq!(targets, 6 + 1);
    }

    #[test]
    fn target_rank_counts_better_items() {
        let scores = [0.1, 0.9, 0.5, 0.5, 0.2];
        assert_eq!(target_rank(&scores, 1, &[], 5), Some(0));
        assert_eq!(target_rank(&scores, 3, &[], 5), Some(2)); // tie with 2 goes to 2
        assert_eq!(target_rank(&scores, 3, &[1], 5), Some(1));
        assert_eq!(target_rank(&scores, 0, &[], 3), None);
        assert_eq!(target_rank(&scores, 1, &[1], 5), None);
    }
}
