//! Fine-tuning the encoder for the text-to-conversion task. On a CPU the default is
//! parameter-efficient: the bottom layers stay frozen, their output is computed once and cached
//! (in f16, half the memory), and only the top layers and the heads are trained. With
//! `TrainLayers::All` (for a GPU) embeddings and every layer train.
//!
//! Losses: binary cross-entropy on "recommended" plus `rating_weight` times 5-way cross-entropy
//! on the rating. AdamW with linear warm-up then linear decay; validation AUC after every epoch,
//! the best epoch's weights kept, early stopping after `patience` epochs without improvement.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use edgerec::training::model::bert::{l2_normalize, mean_pool};
use edgerec::training::model::{BertConfig, BertEncoder};
use serde::Serialize;

use super::encoder::{
    length_batches, load_tokenizer, pad_batch, read_config, Heads, TextClassifier, TextEncoder,
    TextPrediction, CONFIG_FILE, HEAD_FILE, TOKENIZER_FILE, WEIGHTS_FILE,
};
use crate::conversion::metrics::roc_auc;

/// Which encoder layers train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TrainLayers {
    /// The top N transformer layers (0: the heads alone).
    Top(usize),
    /// Embeddings and every layer.
    All,
}

impl FromStr for TrainLayers {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "all" => Ok(Self::All),
            n => n
                .parse()
                .map(Self::Top)
                .map_err(|_| format!("`{s}` is neither `all` nor a number of top layers")),
        }
    }
}

impl std::fmt::Display for TrainLayers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Top(n) => write!(f, "{n}"),
            Self::All => f.write_str("all"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FinetuneConfig {
    pub train_layers: TrainLayers,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Peak learning rate of the heads, which start from zero and need larger steps than the
    /// pretrained layers.
    pub head_learning_rate: f64,
    pub weight_decay: f64,
    /// Fraction of all steps spent warming the learning rate up from 0.
    pub warmup_fraction: f64,
    /// Epochs without a better validation AUC before stopping.
    pub patience: usize,
    /// Weight of the rating loss next to the recommended loss.
    pub rating_weight: f64,
    pub seed: u64,
    /// Stop each epoch after this many steps (quick runs, tests).
    pub max_steps_per_epoch: Option<usize>,
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        Self {
            train_layers: TrainLayers::Top(2),
            epochs: 2,
            batch_size: 32,
            learning_rate: 5e-5,
            head_learning_rate: 1e-3,
            weight_decay: 0.01,
            warmup_fraction: 0.1,
            patience: 1,
            rating_weight: 0.5,
            seed: 17,
            max_steps_per_epoch: None,
        }
    }
}

/// The labels of every example.
pub struct Labels<'a> {
    pub recommended: &'a [bool],
    /// 1 to 5.
    pub rating: &'a [u8],
}

#[derive(Debug, Clone, Serialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub steps: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    pub val_auc: f64,
    pub seconds: f64,
}

/// What the frozen encoder computes once for every example.
pub struct Prepared {
    /// Output of the frozen bottom layers per example, (tokens, hidden) in f16; empty when the
    /// embeddings train too.
    pub cache: Vec<Tensor>,
    /// The frozen encoder's sentence embedding (mean-pooled, L2-normalised) per example.
    pub frozen_embeddings: Vec<Vec<f32>>,
}

pub struct Finetuner {
    base: HashMap<String, Tensor>,
    frozen: BertEncoder,
    /// The first trained layer; layers below it are frozen.
    from: usize,
    vars: Vec<(String, Var)>,
    pub trainable: BertEncoder,
    head_map: VarMap,
    pub heads: Heads,
    device: Device,
    pub config: BertConfig,
}

fn layer_index(name: &str) -> Option<usize> {
    name.strip_prefix("encoder.layer.")?
        .split('.')
        .next()?
        .parse()
        .ok()
}

impl Finetuner {
    /// Loads the encoder of `dir` twice: frozen, and with the trained tensors as variables.
    /// `prior` (the training share of "recommended") sets the initial bias of its head.
    pub fn new(dir: &Path, train_layers: TrainLayers, prior: f64, device: &Device) -> Result<Self> {
        let config = read_config(dir)?;
        let weights = dir.join(WEIGHTS_FILE);
        let base = candle_core::safetensors::load(&weights, device)
            .with_context(|| format!("cannot read {}", weights.display()))?;
        let frozen = BertEncoder::load(
            VarBuilder::from_tensors(base.clone(), DType::F32, device),
            &config,
        )
        .with_context(|| {
            format!(
                "{} does not hold the encoder its config.json describes",
                weights.display()
            )
        })?;
        let n = config.num_hidden_layers;
        let from = match train_layers {
            TrainLayers::All => 0,
            TrainLayers::Top(k) if k > n => {
                bail!("--train-layers {k}: the encoder has only {n} layers")
            }
            TrainLayers::Top(k) => n - k,
        };
        let trains = |name: &str| match layer_index(name) {
            Some(i) => i >= from,
            None => train_layers == TrainLayers::All && name.starts_with("embeddings."),
        };
        let mut combined = base.clone();
        let mut vars = Vec::new();
        let mut names: Vec<&String> = base.keys().collect();
        names.sort();
        for name in names {
            let tensor = &base[name];
            if tensor.dtype() == DType::F32 && trains(name) {
                let var = Var::from_tensor(tensor)?;
                combined.insert(name.clone(), var.as_tensor().clone());
                vars.push((name.clone(), var));
            }
        }
        let trainable = BertEncoder::load(
            VarBuilder::from_tensors(combined, DType::F32, device),
            &config,
        )?;
        let mut head_map = VarMap::new();
        let heads = Heads::load(
            VarBuilder::from_varmap(&head_map, DType::F32, device),
            config.hidden_size,
        )?;
        // Heads start at zero weights (deterministic; candle's CPU generator cannot be seeded), the
        // recommended bias at the prior log-odds, so the first steps do not spend on the base rate.
        let p = prior.clamp(1e-3, 1.0 - 1e-3);
        head_map.set_one(
            "recommended.bias",
            Tensor::new(&[(p / (1.0 - p)).ln() as f32], device)?,
        )?;
        Ok(Self {
            base,
            frozen,
            from,
            vars,
            trainable,
            head_map,
            heads,
            device: device.clone(),
            config,
        })
    }

    pub fn trained_parameters(&self) -> usize {
        self.all_vars().iter().map(|v| v.elem_count()).sum()
    }

    fn all_vars(&self) -> Vec<Var> {
        let mut vars = self.encoder_vars();
        vars.extend(self.head_vars());
        vars
    }

    fn encoder_vars(&self) -> Vec<Var> {
        self.vars.iter().map(|(_, v)| v.clone()).collect()
    }

    fn head_vars(&self) -> Vec<Var> {
        let mut heads: Vec<(String, Var)> = self
            .head_map
            .data()
            .lock()
            .expect("not poisoned")
            .clone()
            .into_iter()
            .collect();
        heads.sort_by(|a, b| a.0.cmp(&b.0));
        heads.into_iter().map(|(_, v)| v).collect()
    }

    /// One pass of the frozen encoder over every example: the cache of the bottom layers' output
    /// and the frozen sentence embeddings (the frozen-encoder reference's features).
    pub fn prepare(&self, tokens: &[Vec<u32>], batch_size: usize) -> Result<Prepared> {
        let n_layers = self.frozen.num_layers();
        let lengths: Vec<usize> = tokens.iter().map(Vec::len).collect();
        let mut cache = if self.from > 0 {
            vec![None; tokens.len()]
        } else {
            Vec::new()
        };
        let mut frozen_embeddings = vec![Vec::new(); tokens.len()];
        let bar = crate::progress::bar(tokens.len() as u64, "frozen pass");
        for batch in length_batches(&lengths, batch_size) {
            let seqs: Vec<&[u32]> = batch.iter().map(|&i| tokens[i].as_slice()).collect();
            let (ids, mask) = pad_batch(&seqs, &self.device)?;
            let bias = BertEncoder::attention_bias(&mask)?;
            let bottom =
                self.frozen
                    .forward_layers(&self.frozen.embed(&ids, None)?, &bias, 0..self.from)?;
            if self.from > 0 {
                for (row, &i) in batch.iter().enumerate() {
                    // to_dtype copies, so the cached row does not keep the whole batch alive.
                    cache[i] = Some(
                        bottom
                            .get(row)?
                            .narrow(0, 0, lengths[i])?
                            .to_dtype(DType::F16)?,
                    );
                }
            }
            let top = self
                .frozen
                .forward_layers(&bottom, &bias, self.from..n_layers)?;
            let rows = l2_normalize(&mean_pool(&top, &mask)?)?.to_vec2::<f32>()?;
            for (&i, row) in batch.iter().zip(rows) {
                frozen_embeddings[i] = row;
            }
            bar.inc(batch.len() as u64);
        }
        bar.finish_and_clear();
        Ok(Prepared {
            cache: cache
                .into_iter()
                .map(|c| c.expect("every example is in a batch"))
                .collect(),
            frozen_embeddings,
        })
    }

    /// Mean-pooled output of the trained layers for a batch: from the cache, or from the tokens
    /// when the embeddings train.
    fn pooled(
        &self,
        prepared: &Prepared,
        tokens: &[Vec<u32>],
        batch: &[usize],
    ) -> candle_core::Result<Tensor> {
        let seqs: Vec<&[u32]> = batch.iter().map(|&i| tokens[i].as_slice()).collect();
        let (ids, mask) = pad_batch(&seqs, &self.device)?;
        let bias = BertEncoder::attention_bias(&mask)?;
        let input = if self.from > 0 {
            let len = ids.dim(1)?;
            let rows = batch
                .iter()
                .map(|&i| {
                    let cached = &prepared.cache[i];
                    cached.pad_with_zeros(0, 0, len - cached.dim(0)?)
                })
                .collect::<candle_core::Result<Vec<_>>>()?;
            Tensor::stack(&rows, 0)?
                .to_dtype(DType::F32)?
                .to_device(&self.device)?
        } else {
            self.trainable.embed(&ids, None)?
        };
        let hidden =
            self.trainable
                .forward_layers(&input, &bias, self.from..self.trainable.num_layers())?;
        mean_pool(&hidden, &mask)
    }

    fn loss(
        &self,
        pooled: &Tensor,
        batch: &[usize],
        labels: &Labels,
        rating_weight: f64,
    ) -> candle_core::Result<Tensor> {
        let (z, rating) = self.heads.forward(pooled)?;
        let y: Vec<f32> = batch
            .iter()
            .map(|&i| labels.recommended[i] as u8 as f32)
            .collect();
        let y = Tensor::from_vec(y, batch.len(), &self.device)?;
        // Binary cross-entropy on logits, in the stable form max(z, 0) - z y + ln(1 + e^-|z|).
        let bce =
            ((z.relu()? - (&z * &y)?)? + (z.abs()?.neg()?.exp()? + 1.0)?.log()?)?.mean_all()?;
        let r: Vec<u32> = batch.iter().map(|&i| labels.rating[i] as u32 - 1).collect();
        let r = Tensor::from_vec(r, batch.len(), &self.device)?;
        let ce = candle_nn::loss::cross_entropy(&rating, &r)?;
        bce + (ce * rating_weight)?
    }

    /// Mean loss over `indices` (no update), through the cached path.
    pub fn mean_loss(
        &self,
        prepared: &Prepared,
        tokens: &[Vec<u32>],
        labels: &Labels,
        indices: &[usize],
        rating_weight: f64,
    ) -> Result<f64> {
        let lengths: Vec<usize> = indices.iter().map(|&i| tokens[i].len()).collect();
        let mut total = 0.0;
        for positions in length_batches(&lengths, 64) {
            let batch: Vec<usize> = positions.iter().map(|&p| indices[p]).collect();
            let pooled = self.pooled(prepared, tokens, &batch)?;
            let loss = self.loss(&pooled, &batch, labels, rating_weight)?.detach();
            total += loss.to_scalar::<f32>()? as f64 * batch.len() as f64;
        }
        Ok(total / indices.len().max(1) as f64)
    }

    /// Predictions for `indices` through the cached path (validation during training).
    pub fn predict_cached(
        &self,
        prepared: &Prepared,
        tokens: &[Vec<u32>],
        indices: &[usize],
        batch_size: usize,
    ) -> Result<Vec<TextPrediction>> {
        let lengths: Vec<usize> = indices.iter().map(|&i| tokens[i].len()).collect();
        let mut out = vec![None; indices.len()];
        for positions in length_batches(&lengths, batch_size) {
            let batch: Vec<usize> = positions.iter().map(|&p| indices[p]).collect();
            let pooled = self.pooled(prepared, tokens, &batch)?;
            let rows = self
                .heads
                .probabilities(&pooled)?
                .detach()
                .to_vec2::<f32>()?;
            for (&p, row) in positions.iter().zip(rows) {
                let mut rating = [0.0; super::encoder::RATINGS];
                for (r, &v) in rating.iter_mut().zip(&row[1..]) {
                    *r = v as f64;
                }
                out[p] = Some(TextPrediction {
                    p_recommended: row[0] as f64,
                    rating,
                });
            }
        }
        Ok(out
            .into_iter()
            .map(|p| p.expect("every index predicted"))
            .collect())
    }

    /// Trains on `train`, validating on `validation` after every epoch; leaves the best epoch's
    /// weights in place and returns the log of every epoch.
    pub fn train(
        &self,
        prepared: &Prepared,
        tokens: &[Vec<u32>],
        labels: &Labels,
        train: &[usize],
        validation: &[usize],
        config: &FinetuneConfig,
    ) -> Result<Vec<EpochLog>> {
        if train.is_empty() || validation.is_empty() {
            bail!(
                "fine-tuning needs training and validation examples ({} and {})",
                train.len(),
                validation.len()
            );
        }
        let vars = self.all_vars();
        let params = |lr| ParamsAdamW {
            lr,
            weight_decay: config.weight_decay,
            ..Default::default()
        };
        let mut encoder_opt = AdamW::new(self.encoder_vars(), params(config.learning_rate))?;
        let mut head_opt = AdamW::new(self.head_vars(), params(config.head_learning_rate))?;
        let mut rng = fastrand::Rng::with_seed(config.seed);
        let per_epoch = train.len().div_ceil(config.batch_size);
        let per_epoch = config
            .max_steps_per_epoch
            .map_or(per_epoch, |m| m.min(per_epoch));
        let total = (per_epoch * config.epochs).max(1);
        let warmup = ((total as f64 * config.warmup_fraction).ceil() as usize).max(1);
        let schedule = |step: usize| -> f64 {
            if step < warmup {
                (step as f64 + 1.0) / warmup as f64
            } else {
                ((total - step) as f64 / (total - warmup).max(1) as f64).max(0.0)
            }
        };
        let val_labels: Vec<bool> = validation.iter().map(|&i| labels.recommended[i]).collect();
        let mut log = Vec::new();
        let mut best: Option<(f64, Vec<Tensor>)> = None;
        let mut since_best = 0;
        let mut step = 0;
        for epoch in 1..=config.epochs {
            let started = Instant::now();
            let batches = shuffled_length_batches(train, tokens, config.batch_size, &mut rng);
            let bar = crate::progress::bar(per_epoch as u64, &format!("epoch {epoch}"));
            let (mut sum, mut count, mut smooth) = (0.0, 0usize, None::<f64>);
            for batch in batches.iter().take(per_epoch) {
                encoder_opt.set_learning_rate(config.learning_rate * schedule(step));
                head_opt.set_learning_rate(config.head_learning_rate * schedule(step));
                let pooled = self.pooled(prepared, tokens, batch)?;
                let loss = self.loss(&pooled, batch, labels, config.rating_weight)?;
                let grads = loss.backward()?;
                encoder_opt.step(&grads)?;
                head_opt.step(&grads)?;
                let value = loss.to_scalar::<f32>()? as f64;
                if !value.is_finite() {
                    bail!(
                        "the training loss became {value} at step {step} (learning rate {})",
                        config.learning_rate * schedule(step)
                    );
                }
                sum += value;
                count += 1;
                step += 1;
                let s = smooth.map_or(value, |m| 0.95 * m + 0.05 * value);
                smooth = Some(s);
                bar.set_message(format!("loss {s:.4}"));
                bar.inc(1);
            }
            bar.finish_and_clear();
            let predictions =
                self.predict_cached(prepared, tokens, validation, config.batch_size * 2)?;
            let p: Vec<f64> = predictions.iter().map(|p| p.p_recommended).collect();
            let val_auc = roc_auc(&p, &val_labels).unwrap_or(f64::NAN);
            let val_loss = super::metrics::log_loss_rec(&p, &val_labels);
            let entry = EpochLog {
                epoch,
                steps: count,
                train_loss: sum / count.max(1) as f64,
                val_loss,
                val_auc,
                seconds: started.elapsed().as_secs_f64(),
            };
            tracing::info!(
                epoch,
                train_loss = format!("{:.4}", entry.train_loss),
                val_log_loss = format!("{val_loss:.4}"),
                val_auc = format!("{val_auc:.4}"),
                "epoch done in {:.0} s",
                entry.seconds
            );
            log.push(entry);
            if best.as_ref().is_none_or(|(auc, _)| val_auc > *auc) {
                best = Some((
                    val_auc,
                    vars.iter()
                        .map(|v| v.as_tensor().copy())
                        .collect::<candle_core::Result<_>>()?,
                ));
                since_best = 0;
            } else {
                since_best += 1;
                if since_best >= config.patience {
                    tracing::info!(
                        epoch,
                        "validation AUC did not improve for {since_best} epoch(s): stopping"
                    );
                    break;
                }
            }
        }
        if let Some((auc, snapshot)) = best {
            tracing::info!("keeping the weights of the best validation AUC, {auc:.4}");
            for (var, value) in vars.iter().zip(snapshot) {
                var.set(&value)?;
            }
        }
        Ok(log)
    }

    /// The trained encoder and heads as a classifier (full forward from tokens, as served).
    pub fn classifier(&self, base_dir: &Path, max_len: usize) -> Result<TextClassifier> {
        Ok(TextClassifier {
            text: TextEncoder {
                encoder: self.trainable.clone(),
                tokenizer: load_tokenizer(base_dir, max_len)?,
                device: self.device.clone(),
            },
            heads: self.heads.clone(),
        })
    }

    /// Writes a model folder that loads as the base one does: config.json and tokenizer.json
    /// copied, model.safetensors with every tensor of the base file under the same names (trained
    /// ones updated), and head.safetensors.
    pub fn save(&self, base_dir: &Path, out: &Path) -> Result<()> {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        for file in [CONFIG_FILE, TOKENIZER_FILE] {
            std::fs::copy(base_dir.join(file), out.join(file)).with_context(|| {
                format!(
                    "cannot copy {} to {}",
                    base_dir.join(file).display(),
                    out.display()
                )
            })?;
        }
        let mut state = self.base.clone();
        for (name, var) in &self.vars {
            state.insert(name.clone(), var.as_tensor().detach());
        }
        let weights = out.join(WEIGHTS_FILE);
        candle_core::safetensors::save(&state, &weights)
            .with_context(|| format!("cannot write {}", weights.display()))?;
        let head = out.join(HEAD_FILE);
        self.head_map
            .save(&head)
            .with_context(|| format!("cannot write {}", head.display()))?;
        Ok(())
    }
}

/// Seeded shuffle, then examples of similar length grouped into batches (sorted within windows of
/// 50 batches), then the batches shuffled: little padding, yet random batches.
fn shuffled_length_batches(
    indices: &[usize],
    tokens: &[Vec<u32>],
    batch_size: usize,
    rng: &mut fastrand::Rng,
) -> Vec<Vec<usize>> {
    let mut order = indices.to_vec();
    rng.shuffle(&mut order);
    let mut batches = Vec::new();
    for window in order.chunks_mut(batch_size * 50) {
        window.sort_by_key(|&i| tokens[i].len());
        batches.extend(window.chunks(batch_size).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut batches);
    batches
}
