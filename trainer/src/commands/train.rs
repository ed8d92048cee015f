//! `edgerec-train train`: the transformer on one ranking benchmark, validated each epoch,
//! evaluated on the standard test split, recorded as `<results-dir>/<data set>-sasrec.json`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;
use edgerec::training::model::ItemFeatures;
use serde_json::json;

use super::args::{check_file, BenchmarkArgs, BootstrapArgs, ResultsDirArgs, TestCasesArgs};
use crate::record::{self, Curve, RunRecord, Series};
use crate::seqrec::{
    device, rank_cases, train, RunData, RunDir, RunOptions, TrainConfig, TrainData,
    VALIDATION_CUTOFFS,
};

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub bench: BenchmarkArgs,
    /// A TOML training configuration (see configs/); flags below override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Run folder: checkpoints (safetensors), optimizer state and state.json.
    #[arg(long, default_value = "runs/sasrec")]
    pub out: PathBuf,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Stop after this many epochs in total (checkpointed); `--resume` continues the run.
    #[arg(long)]
    pub stop_after_epochs: Option<usize>,
    /// cpu, or cuda (needs a build with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long)]
    pub batch_size: Option<usize>,
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long)]
    pub hidden: Option<usize>,
    #[arg(long)]
    pub layers: Option<usize>,
    #[arg(long)]
    pub max_len: Option<usize>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Sampled-softmax negatives per step (0: full softmax).
    #[arg(long)]
    pub negatives: Option<usize>,
    #[arg(long)]
    pub dropout: Option<f32>,
    /// Stop each epoch after this many steps (smoke tests).
    #[arg(long)]
    pub max_steps_per_epoch: Option<usize>,
    #[command(flatten)]
    pub test_cases: TestCasesArgs,
    /// Train on every training session (the validation split's held-out sessions too) for
    /// the configured epochs, without validation: the last epoch is the model. For the final
    /// model once the epoch count was chosen on validation.
    #[arg(long)]
    pub all_sessions: bool,
    /// Train only on the most recent fraction of the training sessions (e.g. 0.2), to fine-tune
    /// a model towards what shoppers do now (with --init-from).
    #[arg(long)]
    pub recent_sessions: Option<f64>,
    /// Start from this run's best checkpoint (same model configuration): fine-tuning, with a
    /// fresh optimizer and learning-rate schedule.
    #[arg(long)]
    pub init_from: Option<PathBuf>,
    /// The validation metric that picks the best epoch and stops early (`MRR@20`, `P@10`,
    /// `NDCG@20`, ...: the data set's metrics at K = 10 or 20) [default: the configuration's].
    #[arg(long)]
    pub select_by: Option<String>,
    // The run record as `<data set>-sasrec.json` (`-sasrec-all-sessions` with --all-sessions).
    #[command(flatten)]
    pub results_dir: ResultsDirArgs,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
}

impl TrainArgs {
    pub fn config(&self) -> Result<TrainConfig> {
        let mut c = match &self.config {
            Some(path) => TrainConfig::read(path)?,
            None => TrainConfig::default(),
        };
        let t = &mut c.train;
        let m = &mut c.model;
        macro_rules! set {
            ($flag:ident => $field:expr) => {
                if let Some(v) = self.$flag {
                    $field = v;
                }
            };
        }
        set!(epochs => t.epochs);
        set!(batch_size => t.batch_size);
        set!(lr => t.lr);
        set!(seed => t.seed);
        set!(negatives => t.negatives);
        set!(dropout => m.dropout);
        set!(max_steps_per_epoch => t.max_steps_per_epoch);
        set!(hidden => m.hidden);
        set!(layers => m.layers);
        set!(max_len => m.max_len);
        if let Some(select_by) = &self.select_by {
            t.select_by = select_by.clone();
        }
        Ok(c)
    }

    /// The training configuration, with every cheap check done before any data is read: the
    /// selection metric is one that validation computes, the folders and fractions make sense.
    pub fn checked_config(&self) -> Result<TrainConfig> {
        let config = self.config()?;
        let flag = match self.select_by {
            Some(_) => "--select-by",
            None => "select_by (the configuration's)",
        };
        self.bench
            .check_metric(flag, &config.train.select_by, &VALIDATION_CUTOFFS)?;
        if let Some(f) = self.recent_sessions {
            if !(f > 0.0 && f <= 1.0) {
                bail!("--recent-sessions {f}: expected a fraction in (0, 1]");
            }
        }
        if let Some(run) = &self.init_from {
            check_file("--init-from", &RunDir(run.clone()).best())?;
        }
        self.bench.check()?;
        device(&self.device)?;
        Ok(config)
    }
}

pub fn run(args: TrainArgs) -> Result<()> {
    execute(args).map(drop)
}

/// Checks the arguments, trains (or resumes), scores the test split, prints the headline
/// metrics and returns the run record (also written with `--results-dir`).
pub fn execute(args: TrainArgs) -> Result<RunRecord> {
    let config = args.checked_config()?;
    let bench = args.bench.load()?;
    let device = device(&args.device)?;
    let created_at = record::now();
    let started = Instant::now();
    // Early stopping on validation cases that come after the training data in time
    // (DIGINETICA: the last 10% of training sessions; Amazon: each user's second-to-last item);
    // the test split stays unseen until the end.
    let (train_on, validate_on) = if args.all_sessions {
        (&bench.test.train, &[][..])
    } else {
        (&bench.validation.train, &bench.validation.cases[..])
    };
    let train_on = match args.recent_sessions {
        None => &train_on[..],
        Some(f) if f > 0.0 && f <= 1.0 => {
            let keep = ((train_on.len() as f64 * f).round() as usize).max(1);
            &train_on[train_on.len() - keep..]
        }
        Some(f) => bail!("--recent-sessions {f}: expected a fraction in (0, 1]"),
    };
    let data_set = RunData::of(&bench);
    let data = TrainData {
        data_set: &data_set,
        train: train_on,
        validation: validate_on,
        convention: bench.convention,
        include_seen: bench.include_seen,
    };
    let options = RunOptions {
        dir: args.out.clone(),
        resume: args.resume,
        stop_after_epochs: args.stop_after_epochs,
        init_from: args.init_from.clone(),
        device,
    };
    let trained = train(&config, &data, &options)?;
    // Across resumes: the sum of every epoch's time (training and validation).
    let train_seconds: f64 = trained.state.history.iter().map(|e| e.seconds).sum();
    tracing::debug!("this invocation: {:.0} s", started.elapsed().as_secs_f64());
    let cases = args.test_cases.pick(&bench.test.cases, config.train.seed);
    let cutoffs = [5, 10, 20];
    let curve_max_k = 50;
    let ranks = rank_cases(
        &trained.model,
        &trained.model.item_table(&ItemFeatures::none())?,
        &cases,
        curve_max_k,
        bench.include_seen,
        "test",
    )?;
    let c = bench.convention;
    let mut curves = c.curves(&ranks, curve_max_k);
    let history = &trained.state.history;
    curves.push(training_curve(history, &config.train.select_by));
    // The final model (every training session) is recorded beside the validated run.
    let model_name = if args.all_sessions {
        "sasrec-all-sessions"
    } else {
        "sasrec"
    };
    let protocol = format!(
        "{}; {} of {} test cases",
        bench.protocol,
        cases.len(),
        bench.test.cases.len()
    );
    let record = RunRecord {
        config: json!({
            "train": config,
            "model": trained.state.model,
            "device": args.device,
            "epochs_trained": trained.state.epochs_done,
            "best_epoch": trained.state.best_epoch,
            "history": history,
            "init_from": args.init_from.as_ref().map(|p| p.display().to_string()),
            "recent_sessions": args.recent_sessions,
            "trained_on": if args.all_sessions {
                "every training session, the configured epochs (no validation)"
            } else {
                "the validation split's training data (early stopping on validation)"
            },
            "run_dir": args.out.display().to_string(),
        }),
        metrics: c.summarize(&ranks, &cutoffs),
        intervals: c.bootstrap(
            &ranks,
            &cutoffs,
            args.bootstrap.bootstrap,
            config.train.seed,
        ),
        curves,
        train_seconds,
        created_at,
        ..RunRecord::new(bench.data.clone(), &bench.split, protocol, model_name)
    };
    let names = c.names(&[20]);
    let digits = if c.scale == 100.0 { 2 } else { 4 };
    println!(
        "{} {model_name} ({} test cases, {:.0} s training):",
        bench.data.name,
        cases.len(),
        train_seconds
    );
    for n in names {
        let v = record.metrics.get(&n).copied().unwrap_or(f64::NAN);
        println!("  {n} {v:.digits$}");
    }
    let file = format!("{}-{model_name}.json", record.data.name);
    args.results_dir.write(&file, &record)?;
    Ok(record)
}

/// The training-curve plot of a run: train loss per epoch, and the validation metric of the
/// epochs that were validated (none when training on every session: a missing point, not a
/// NaN, which JSON cannot hold and the report could not read back).
fn training_curve(history: &[crate::seqrec::EpochLog], select: &str) -> Curve {
    let validated: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|e| Some((e.epoch as f64, *e.validation.get(select)?)))
        .collect();
    let mut series = vec![Series {
        name: "train loss".into(),
        points: history
            .iter()
            .map(|e| (e.epoch as f64, e.train_loss))
            .collect(),
    }];
    if !validated.is_empty() {
        series.push(Series {
            name: format!("validation {select}"),
            points: validated,
        });
    }
    Curve {
        name: "training".into(),
        x_label: "epoch".into(),
        y_label: match series.len() {
            1 => "train loss".into(),
            _ => format!("train loss / validation {select}"),
        },
        series,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seqrec::EpochLog;

    fn epoch(epoch: usize, validation: &[(&str, f64)]) -> EpochLog {
        EpochLog {
            epoch,
            steps: 10,
            train_loss: 5.0 - epoch as f64,
            validation: validation
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            seconds: 1.0,
            sequences_per_second: 100.0,
        }
    }

    #[test]
    fn an_unvalidated_run_plots_its_loss_only_and_its_record_reads_back() {
        let curve = training_curve(&[epoch(1, &[]), epoch(2, &[])], "MRR@20");
        assert_eq!(curve.series.len(), 1);
        assert_eq!(curve.series[0].points, vec![(1.0, 4.0), (2.0, 3.0)]);
        let json = serde_json::to_string(&curve).unwrap();
        assert_eq!(serde_json::from_str::<Curve>(&json).unwrap(), curve);

        let curve = training_curve(
            &[epoch(1, &[("MRR@20", 15.0)]), epoch(2, &[("MRR@20", 16.5)])],
            "MRR@20",
        );
        assert_eq!(curve.series[1].name, "validation MRR@20");
        assert_eq!(curve.series[1].points, vec![(1.0, 15.0), (2.0, 16.5)]);
    }
}
