//! `edgerec-train text`: the text-to-conversion evaluation from the command line.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;

use super::data::{read_reviews, split_by_item, ItemSplit, Review, SAMPLE_PATH};
use super::encoder::{argmax, load_tokenizer, tokenize, TextPrediction, DEFAULT_MAX_LEN, RATINGS};
use super::finetune::{EpochLog, FinetuneConfig, Finetuner, Labels, TrainLayers};
use super::metrics::{TestPredictions, ACCURACY, AUC, LOG_LOSS, RATING_ACCURACY, RATING_MAE};
use super::tfidf::{dense_row, LinearProbe, ProbeConfig, SparseRow, Tfidf};
use crate::conversion::metrics::roc_auc;
use crate::fingerprint::file_fingerprint;
use crate::record::{Curve, DataInfo, RunRecord, Series};

/// The models `text` can compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextModel {
    /// TF-IDF of unigrams and bigrams, linear models (L2 tuned on validation).
    TfidfLr,
    /// The pretrained encoder, frozen: mean-pooled sentence embedding, linear models.
    FrozenLr,
    /// The encoder fine-tuned with the two heads.
    Finetuned,
}

impl TextModel {
    pub const ALL: [TextModel; 3] = [
        TextModel::TfidfLr,
        TextModel::FrozenLr,
        TextModel::Finetuned,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TextModel::TfidfLr => "tfidf-lr",
            TextModel::FrozenLr => "minilm-frozen-lr",
            TextModel::Finetuned => "minilm-finetuned",
        }
    }
}

#[derive(Debug, Args)]
pub struct TextArgs {
    /// The reviews Parquet file [default: the shipped sample, data/womens-reviews/reviews_head400.parquet].
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Folder of the pretrained encoder (config.json, tokenizer.json, model.safetensors).
    #[arg(long, default_value = "../shared/models/all-MiniLM-L6-v2")]
    pub encoder: PathBuf,
    /// Where to write the fine-tuned model folder (loads as the base one does, plus head.safetensors).
    #[arg(long, default_value = "build/text-model")]
    pub out: PathBuf,
    /// Write one run record per model here, as `womens-reviews-text-<model>.json`.
    #[arg(long)]
    pub results_dir: Option<PathBuf>,
    /// Models to compare, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = TextModel::ALL)]
    pub model: Vec<TextModel>,
    /// Use only the first N reviews with text (quick runs).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Train every model on at most this many training reviews (a seeded sample, the same for
    /// every model; validation and test stay whole): keeps a CPU fine-tuning run short.
    #[arg(long)]
    pub max_train_reviews: Option<usize>,
    /// Share of items (Clothing IDs) for training; validation gets the same share as test.
    #[arg(long, default_value_t = 0.8)]
    pub train_items: f64,
    /// Tokens per text, [CLS] and [SEP] included; longer texts are truncated.
    #[arg(long, default_value_t = DEFAULT_MAX_LEN)]
    pub max_len: usize,
    /// Encoder layers to fine-tune: the top N (below them, outputs are cached once) or `all`.
    #[arg(long, default_value_t = FinetuneConfig::default().train_layers)]
    pub train_layers: TrainLayers,
    /// Most epochs (early stopping on validation AUC may stop sooner).
    #[arg(long, default_value_t = FinetuneConfig::default().epochs)]
    pub epochs: usize,
    /// Stop each epoch after this many steps.
    #[arg(long)]
    pub max_steps_per_epoch: Option<usize>,
    #[arg(long, default_value_t = FinetuneConfig::default().batch_size)]
    pub batch_size: usize,
    /// Peak AdamW learning rate (after warm-up, then linear decay to 0).
    #[arg(long, default_value_t = FinetuneConfig::default().learning_rate)]
    pub learning_rate: f64,
    /// Peak AdamW learning rate of the two heads (they start from zero).
    #[arg(long, default_value_t = FinetuneConfig::default().head_learning_rate)]
    pub head_learning_rate: f64,
    #[arg(long, default_value_t = FinetuneConfig::default().weight_decay)]
    pub weight_decay: f64,
    /// Fraction of the steps spent warming up.
    #[arg(long, default_value_t = FinetuneConfig::default().warmup_fraction)]
    pub warmup: f64,
    /// Epochs without a better validation AUC before stopping.
    #[arg(long, default_value_t = FinetuneConfig::default().patience)]
    pub patience: usize,
    /// Weight of the rating loss next to the recommended loss.
    #[arg(long, default_value_t = FinetuneConfig::default().rating_weight)]
    pub rating_weight: f64,
    /// Bootstrap resamples of the test reviews for the 95% intervals (0: none).
    #[arg(long, default_value_t = 200)]
    pub bootstrap: usize,
    /// Seed of every random choice (split, batches, SGD order, bootstrap).
    #[arg(long, default_value_t = 17)]
    pub seed: u64,
    /// Train on the first CUDA GPU (needs the trainer's `cuda` feature; otherwise the CPU is used).
    #[arg(long)]
    pub cuda: bool,
}

/// One model's outcome.
pub struct TextRun {
    pub model: TextModel,
    pub predictions: TestPredictions,
    pub metrics: std::collections::BTreeMap<String, f64>,
    pub intervals: std::collections::BTreeMap<String, (f64, f64)>,
    pub config: serde_json::Value,
    pub curves: Vec<Curve>,
    pub train_seconds: f64,
}

fn labels_of(reviews: &[Review], idx: &[usize]) -> (Vec<bool>, Vec<usize>) {
    (
        idx.iter().map(|&i| reviews[i].recommended).collect(),
        idx.iter()
            .map(|&i| reviews[i].rating as usize - 1)
            .collect(),
    )
}

/// Fits the recommended and rating probes on `train` rows, choosing each L2 on validation
/// (AUC, rating accuracy), and predicts the test rows.
pub(crate) fn probe_run(
    rows: &[SparseRow],
    dims: usize,
    reviews: &[Review],
    split: &ItemSplit,
    seed: u64,
) -> (TestPredictions, serde_json::Value) {
    let pick = |idx: &[usize]| idx.iter().map(|&i| rows[i].clone()).collect::<Vec<_>>();
    let (train, val, test) = (
        pick(&split.train),
        pick(&split.validation),
        pick(&split.test),
    );
    let (train_rec, train_rating) = labels_of(reviews, &split.train);
    let (val_rec, val_rating) = labels_of(reviews, &split.validation);
    let grid = [1e-6, 1e-5, 1e-4];
    let config = |l2| ProbeConfig {
        l2,
        seed,
        ..ProbeConfig::default()
    };
    let rec_labels: Vec<usize> = train_rec.iter().map(|&y| y as usize).collect();
    let mut tried = Vec::new();
    let mut best_rec: Option<(f64, f64, LinearProbe)> = None;
    for &l2 in &grid {
        let probe = LinearProbe::fit(&train, &rec_labels, dims, 2, &config(l2));
        let p: Vec<f64> = val.iter().map(|r| probe.predict(r)[0]).collect();
        let auc = roc_auc(&p, &val_rec).unwrap_or(f64::NAN);
        tried.push(json!({"head": "recommended", "l2": l2, "val_auc": auc}));
        if best_rec.as_ref().is_none_or(|b| auc > b.0) {
            best_rec = Some((auc, l2, probe));
        }
    }
    let mut best_rating: Option<(f64, f64, LinearProbe)> = None;
    for &l2 in &grid {
        let probe = LinearProbe::fit(&train, &train_rating, dims, RATINGS, &config(l2));
        let hits = val
            .iter()
            .zip(&val_rating)
            .filter(|(r, &y)| argmax(&probe.predict(r)) == y)
            .count();
        let acc = hits as f64 / val.len().max(1) as f64;
        tried.push(json!({"head": "rating", "l2": l2, "val_accuracy": acc}));
        if best_rating.as_ref().is_none_or(|b| acc > b.0) {
            best_rating = Some((acc, l2, probe));
        }
    }
    let (_, rec_l2, rec) = best_rec.expect("grid is not empty");
    let (_, rating_l2, rating) = best_rating.expect("grid is not empty");
    let (test_rec, test_rating) = labels_of(reviews, &split.test);
    let predictions = TestPredictions {
        p_recommended: test.iter().map(|r| rec.predict(r)[0]).collect(),
        recommended: test_rec,
        rating_predicted: test
            .iter()
            .map(|r| argmax(&rating.predict(r)) as u8 + 1)
            .collect(),
        rating: test_rating.iter().map(|&r| r as u8 + 1).collect(),
    };
    let defaults = ProbeConfig::default();
    let config = json!({
        "probe": "linear, SGD with L2 (per-example, decaying rate), L2 chosen on validation",
        "epochs": defaults.epochs, "learning_rate": defaults.learning_rate,
        "recommended_l2": rec_l2, "rating_l2": rating_l2, "tuning": tried,
    });
    (predictions, config)
}

fn finish(
    model: TextModel,
    predictions: TestPredictions,
    config: serde_json::Value,
    curves: Vec<Curve>,
    train_seconds: f64,
    args: &TextArgs,
) -> TextRun {
    let metrics = predictions.metrics();
    let intervals = predictions.intervals(args.bootstrap, args.seed);
    TextRun {
        model,
        predictions,
        metrics,
        intervals,
        config,
        curves,
        train_seconds,
    }
}

pub fn run_text(args: &TextArgs) -> Result<Vec<TextRun>> {
    let input = args
        .input
        .clone()
        .unwrap_or_else(|| crate::conversion::task::repo_path(SAMPLE_PATH));
    let (mut reviews, counts) = read_reviews(&input)?;
    if let Some(limit) = args.limit {
        reviews.truncate(limit);
    }
    let validation_share = (1.0 - args.train_items) / 2.0;
    let mut split = split_by_item(&reviews, args.train_items, validation_share, args.seed)?;
    if let Some(max) = args.max_train_reviews.filter(|&m| m < split.train.len()) {
        fastrand::Rng::with_seed(args.seed ^ 0x7261_696e).shuffle(&mut split.train);
        split.train.truncate(max);
        split.train.sort_unstable();
        // Keep only the reviews in use, so that the encoder's passes skip the rest.
        let mut kept = Vec::new();
        let mut remap = |part: &mut Vec<usize>| {
            for i in part.iter_mut() {
                kept.push(reviews[*i].clone());
                *i = kept.len() - 1;
            }
        };
        remap(&mut split.train);
        remap(&mut split.validation);
        remap(&mut split.test);
        reviews = kept;
    }
    let positives = split
        .train
        .iter()
        .filter(|&&i| reviews[i].recommended)
        .count();
    let prior = positives as f64 / split.train.len() as f64;
    tracing::info!(
        rows = counts.rows, no_text = counts.no_text, bad_label = counts.bad_label,
        reviews = reviews.len(), train = split.train.len(), validation = split.validation.len(), test = split.test.len(),
        items = ?split.how, "split by item"
    );
    let test_majority = split
        .test
        .iter()
        .filter(|&&i| reviews[i].recommended)
        .count() as f64
        / split.test.len().max(1) as f64;
    tracing::info!("share recommended: train {prior:.3}, test {test_majority:.3} (accuracy of always saying yes)");
    let mut runs = Vec::new();

    if args.model.contains(&TextModel::TfidfLr) {
        let started = Instant::now();
        let train_texts: Vec<&str> = split
            .train
            .iter()
            .map(|&i| reviews[i].text.as_str())
            .collect();
        let tfidf = Tfidf::fit(&train_texts, 2, 50_000);
        let rows: Vec<SparseRow> = reviews.iter().map(|r| tfidf.transform(&r.text)).collect();
        let (predictions, mut config) = probe_run(&rows, tfidf.len(), &reviews, &split, args.seed);
        config["features"] = json!({"kind": "tf-idf, unigrams + bigrams, sublinear tf, smoothed idf, L2-normalised rows", "min_df": 2, "vocabulary": tfidf.len()});
        runs.push(finish(
            TextModel::TfidfLr,
            predictions,
            config,
            Vec::new(),
            started.elapsed().as_secs_f64(),
            args,
        ));
    }

    let wants_frozen = args.model.contains(&TextModel::FrozenLr);
    let wants_finetuned = args.model.contains(&TextModel::Finetuned);
    if wants_frozen || wants_finetuned {
        let device = if args.cuda {
            candle_core::Device::cuda_if_available(0)?
        } else {
            candle_core::Device::Cpu
        };
        let tokenizer = load_tokenizer(&args.encoder, args.max_len)?;
        let texts: Vec<&str> = reviews.iter().map(|r| r.text.as_str()).collect();
        let tokens = tokenize(&tokenizer, &texts)?;
        let mean_len = tokens.iter().map(Vec::len).sum::<usize>() as f64 / tokens.len() as f64;
        let truncated = tokens.iter().filter(|t| t.len() >= args.max_len).count();
        tracing::info!(
            "tokens per review: mean {mean_len:.1}, {truncated} truncated at {}",
            args.max_len
        );
        let finetuner = Finetuner::new(&args.encoder, args.train_layers, prior, &device)?;
        let started = Instant::now();
        let prepared = finetuner.prepare(&tokens, 64)?;
        let frozen_seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            "frozen pass over {} reviews in {frozen_seconds:.0} s",
            tokens.len()
        );

        if wants_frozen {
            let started = Instant::now();
            let rows: Vec<SparseRow> = prepared
                .frozen_embeddings
                .iter()
                .map(|e| dense_row(e))
                .collect();
            let (predictions, mut config) = probe_run(
                &rows,
                finetuner.config.hidden_size,
                &reviews,
                &split,
                args.seed,
            );
            config["features"] = json!({"kind": "frozen encoder, mean-pooled last hidden states, L2-normalised", "encoder": args.encoder.display().to_string(), "max_len": args.max_len});
            let seconds = frozen_seconds + started.elapsed().as_secs_f64();
            runs.push(finish(
                TextModel::FrozenLr,
                predictions,
                config,
                Vec::new(),
                seconds,
                args,
            ));
        }

        if wants_finetuned {
            let config = FinetuneConfig {
                train_layers: args.train_layers,
                epochs: args.epochs,
                batch_size: args.batch_size,
                learning_rate: args.learning_rate,
                head_learning_rate: args.head_learning_rate,
                weight_decay: args.weight_decay,
                warmup_fraction: args.warmup,
                patience: args.patience,
                rating_weight: args.rating_weight,
                seed: args.seed,
                max_steps_per_epoch: args.max_steps_per_epoch,
            };
            let recommended: Vec<bool> = reviews.iter().map(|r| r.recommended).collect();
            let rating: Vec<u8> = reviews.iter().map(|r| r.rating).collect();
            let labels = Labels {
                recommended: &recommended,
                rating: &rating,
            };
            tracing::info!(parameters = finetuner.trained_parameters(), layers = %args.train_layers, "fine-tuning");
            let started = Instant::now();
            let log = finetuner.train(
                &prepared,
                &tokens,
                &labels,
                &split.train,
                &split.validation,
                &config,
            )?;
            let train_seconds = frozen_seconds + started.elapsed().as_secs_f64();
            finetuner.save(&args.encoder, &args.out)?;
            println!("wrote {}", args.out.display());
            // Test through the full forward pass from tokens, as the model serves.
            let classifier = finetuner.classifier(&args.encoder, args.max_len)?;
            let test_tokens: Vec<Vec<u32>> =
                split.test.iter().map(|&i| tokens[i].clone()).collect();
            let preds: Vec<TextPrediction> = classifier.predict_tokens(&test_tokens, 64)?;
            let (test_rec, test_rating) = labels_of(&reviews, &split.test);
            let predictions = TestPredictions {
                p_recommended: preds.iter().map(|p| p.p_recommended).collect(),
                recommended: test_rec,
                rating_predicted: preds.iter().map(TextPrediction::rating_class).collect(),
                rating: test_rating.iter().map(|&r| r as u8 + 1).collect(),
            };
            let run_config = json!({
                "encoder": args.encoder.display().to_string(), "saved_to": args.out.display().to_string(),
                "max_len": args.max_len, "trained_parameters": finetuner.trained_parameters(),
                "finetune": config, "epochs_run": log, "frozen_pass_seconds": frozen_seconds,
            });
            runs.push(finish(
                TextModel::Finetuned,
                predictions,
                run_config,
                epoch_curves(&log),
                train_seconds,
                args,
            ));
        }
    }
    print_table(&runs);
    if let Some(dir) = &args.results_dir {
        let fingerprint = file_fingerprint(&input)?;
        for run in &runs {
            let path = dir.join(format!("womens-reviews-text-{}.json", run.model.name()));
            record_of(run, &reviews, &split, &input, &fingerprint, args).write(&path)?;
            println!("wrote {}", path.display());
        }
    }
    Ok(runs)
}

fn epoch_curves(log: &[EpochLog]) -> Vec<Curve> {
    let series = |name: &str, f: fn(&EpochLog) -> f64| Series {
        name: name.to_string(),
        points: log.iter().map(|e| (e.epoch as f64, f(e))).collect(),
    };
    vec![
        Curve {
            name: "loss by epoch".to_string(),
            x_label: "epoch".to_string(),
            y_label: "loss".to_string(),
            series: vec![
                series("train (recommended + weighted rating)", |e| e.train_loss),
                series("validation log loss (recommended)", |e| e.val_loss),
            ],
        },
        Curve {
            name: "validation AUC by epoch".to_string(),
            x_label: "epoch".to_string(),
            y_label: "AUC".to_string(),
            series: vec![series("validation", |e| e.val_auc)],
        },
    ]
}

fn record_of(
    run: &TextRun,
    reviews: &[Review],
    split: &ItemSplit,
    input: &Path,
    fingerprint: &str,
    args: &TextArgs,
) -> RunRecord {
    let sizes = [
        ("reviews", reviews.len()),
        ("train_reviews", split.train.len()),
        ("validation_reviews", split.validation.len()),
        ("test_reviews", split.test.len()),
        ("train_items", split.how[0]),
        ("validation_items", split.how[1]),
        ("test_items", split.how[2]),
    ];
    let data = DataInfo::new("womens-reviews", input, fingerprint, &sizes);
    let split = format!(
        "by item (Clothing ID), seeded ({}): {:.0}/{:.0}/{:.0}% of items for train/validation/test{}",
        args.seed,
        args.train_items * 100.0,
        (1.0 - args.train_items) * 50.0,
        (1.0 - args.train_items) * 50.0,
        match args.max_train_reviews {
            Some(m) => format!("; training on a seeded sample of at most {m} of the training items' reviews"),
            None => String::new(),
        }
    );
    let protocol =
        "review title + text -> recommended (AUC, accuracy at p >= 0.5, log loss) and rating 1-5 \
        (accuracy and mean absolute error of the most probable rating); 95% percentile-bootstrap \
        intervals over test reviews";
    RunRecord {
        config: run.config.clone(),
        metrics: run.metrics.clone(),
        intervals: run.intervals.clone(),
        curves: run.curves.clone(),
        train_seconds: run.train_seconds,
        ..RunRecord::new(data, split, protocol, format!("text {}", run.model.name()))
    }
}

fn print_table(runs: &[TextRun]) {
    let columns = [AUC, ACCURACY, LOG_LOSS, RATING_ACCURACY, RATING_MAE];
    println!(
        "| model | test reviews | {} | train s |",
        columns.join(" | ")
    );
    println!("|---|---:|{}---:|", "---:|".repeat(columns.len()));
    for run in runs {
        let cells: Vec<String> = columns
            .iter()
            .map(|&c| match (run.metrics.get(c), run.intervals.get(c)) {
                (Some(v), Some((lo, hi))) => format!("{v:.4} [{lo:.4}, {hi:.4}]"),
                (Some(v), None) => format!("{v:.4}"),
                _ => "n/a".to_string(),
            })
            .collect();
        println!(
            "| {} | {} | {} | {:.0} |",
            run.model.name(),
            run.predictions.recommended.len(),
            cells.join(" | "),
            run.train_seconds
        );
    }
}

/// Runs the command (the `main` entry point).
pub fn text(args: TextArgs) -> Result<()> {
    run_text(&args)
        .map(drop)
        .context("the text evaluation failed")
}
