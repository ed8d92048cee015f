//! The one training loop of the transformer ([`edgerec::training::model::SasRec`]), whatever it learns:
//! the next item (`seqrec::train`) or the purchase funnel (`conversion::transformer::train`).
//! Epochs of batches, seeded dropout per step, AdamW on a warm-up + cosine schedule, a finite-loss
//! check, validation after each epoch, early stopping on the validation score, and a progress
//! bar; what a model does differently (its batches, loss, validation, checkpoints) is a
//! [`Trainee`].

use std::time::Instant;

use anyhow::Result;
use candle_core::Tensor;
use edgerec::training::model::Dropout;

use super::finite_loss;
use super::optim::{AdamW, Schedule};

/// What a model brings to [`run_epochs`].
pub trait Trainee {
    /// One training batch.
    type Batch;
    /// The batches of `epoch` (1-based), in order; the loop uses at most `steps_per_epoch`.
    fn batches(&mut self, epoch: usize) -> Vec<Self::Batch>;
    /// The examples in a batch (for the throughput).
    fn examples(&self, batch: &Self::Batch) -> usize;
    /// The batch's mean training loss (with `dropout`) at optimizer step `step` (0-based).
    fn loss(&self, batch: &Self::Batch, dropout: &mut Dropout, step: usize) -> Result<Tensor>;
    /// Validates after an epoch (and logs it): the score that picks the best epoch, higher is
    /// better.
    fn validate(&mut self, epoch: &EpochSummary) -> Result<f64>;
    /// After each epoch (`best`: its score is the best so far): checkpoints.
    fn after_epoch(&mut self, progress: &Progress, best: bool, opt: &AdamW) -> Result<()>;
}

/// How long and how a run trains.
#[derive(Debug, Clone)]
pub struct LoopConfig {
    /// The configured epochs (the schedule's length).
    pub epochs: usize,
    /// Stop after this many epochs in total (`epochs`, or fewer to stop early and resume).
    pub last_epoch: usize,
    /// Epochs without a better validation score before training stops.
    pub patience: usize,
    pub steps_per_epoch: usize,
    pub schedule: Schedule,
    /// The model's dropout rate; each step draws its mask from `seed` and the step.
    pub dropout: f32,
    pub seed: u64,
    /// What the early-stop message names, e.g. `MRR@20`.
    pub select_by: String,
}

impl LoopConfig {
    pub fn total_steps(&self) -> usize {
        self.steps_per_epoch * self.epochs
    }
}

/// Where a run stands: what a resumed run continues from.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub epochs_done: usize,
    /// Optimizer steps taken.
    pub step: usize,
    pub best_epoch: Option<usize>,
    pub best_score: f64,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            epochs_done: 0,
            step: 0,
            best_epoch: None,
            best_score: f64::NEG_INFINITY,
        }
    }
}

/// One epoch's training, as the trainee's validation sees it.
#[derive(Debug, Clone)]
pub struct EpochSummary {
    pub epoch: usize,
    pub steps: usize,
    /// Mean training loss over the epoch's steps.
    pub train_loss: f64,
    /// When the epoch began (validation time = now - this - `train_seconds`).
    pub started: Instant,
    /// Seconds of training (no validation).
    pub train_seconds: f64,
    /// Examples trained on.
    pub examples: usize,
}

/// Trains `trainee` from `progress` until `config.last_epoch` or early stopping.
pub fn run_epochs<T: Trainee>(
    trainee: &mut T,
    opt: &mut AdamW,
    config: &LoopConfig,
    progress: &mut Progress,
) -> Result<()> {
    let total_steps = config.total_steps();
    let mut since_best = progress
        .best_epoch
        .map_or(0, |b| progress.epochs_done.saturating_sub(b));
    while progress.epochs_done < config.last_epoch
        && (progress.best_epoch.is_none() || since_best < config.patience)
    {
        let epoch = progress.epochs_done + 1;
        let started = Instant::now();
        let batches = trainee.batches(epoch);
        let bar = crate::progress::steps_bar(
            config.steps_per_epoch as u64,
            &format!("epoch {epoch}/{}", config.epochs),
        );
        let (mut loss_sum, mut examples) = (0.0, 0usize);
        for (i, batch) in batches.iter().take(config.steps_per_epoch).enumerate() {
            let mut dropout = Dropout::new(
                config.dropout,
                config.seed ^ (progress.step as u64).wrapping_mul(0x2545_F491_4F6C_DD1D),
            );
            let loss = trainee.loss(batch, &mut dropout, progress.step)?;
            let lr = config.schedule.lr_at(progress.step, total_steps);
            opt.apply(&loss.backward()?, lr)?;
            progress.step += 1;
            loss_sum += finite_loss(&loss, progress.step)?;
            examples += trainee.examples(batch);
            bar.set_message(format!(
                "epoch {epoch}/{} loss {:.4} lr {lr:.2e}",
                config.epochs,
                loss_sum / (i + 1) as f64
            ));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let summary = EpochSummary {
            epoch,
            steps: config.steps_per_epoch,
            train_loss: loss_sum / config.steps_per_epoch.max(1) as f64,
            started,
            train_seconds: started.elapsed().as_secs_f64(),
            examples,
        };
        let score = trainee.validate(&summary)?;
        progress.epochs_done = epoch;
        let best = score > progress.best_score;
        if best {
            progress.best_score = score;
            progress.best_epoch = Some(epoch);
            since_best = 0;
        } else {
            since_best += 1;
        }
        trainee.after_epoch(progress, best, opt)?;
    }
    if since_best >= config.patience && progress.epochs_done < config.epochs {
        tracing::info!(
            "early stop: no better {} for {since_best} epochs",
            config.select_by
        );
    }
    Ok(())
}
