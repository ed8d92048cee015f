//! `edgerec-train text`: text to conversion (Women's E-Commerce Clothing Reviews): review text
//! to recommended and rating, split by item; TF-IDF, frozen and fine-tuned MiniLM compared.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;

use super::args::{check_file, EncoderArgs, ResultsDirArgs};
use crate::fingerprint::file_fingerprint;
use crate::record::{Curve, DataInfo, RunRecord, Series};
use crate::text::data::{read_reviews, split_by_item, ItemSplit, Review, SAMPLE_PATH};
use crate::text::encoder::{load_tokenizer, tokenize, TextPrediction, DEFAULT_MAX_LEN};
use crate::text::finetune::{EpochLog, FinetuneConfig, Finetuner, Labels, TrainLayers};
use crate::text::metrics::{TestPredictions, ACCURACY, AUC, LOG_LOSS, RATING_ACCURACY, RATING_MAE};
use crate::text::tfidf::{dense_row, labels_of, probe_run, SparseRow, Tfidf};

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
    #[command(flatten)]
    pub encoder: EncoderArgs,
    /// Where to write the fine-tuned model folder (loads as the base one does, plus head.safetensors).
    #[arg(long, default_value = "build/text-model")]
    pub out: PathBuf,
    // One run record per model, as `womens-reviews-text-<model>.json`.
    #[command(flatten)]
    pub results_dir: ResultsDirArgs,
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

/// Checks the arguments, fits and measures every model, prints a table, writes the run records
/// and returns the runs.
pub fn execute(args: &TextArgs) -> Result<Vec<TextRun>> {
    check(args)?;
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
        let tokenizer = load_tokenizer(&args.encoder.encoder, args.max_len)?;
        let texts: Vec<&str> = reviews.iter().map(|r| r.text.as_str()).collect();
        let tokens = tokenize(&tokenizer, &texts)?;
        let mean_len = tokens.iter().map(Vec::len).sum::<usize>() as f64 / tokens.len() as f64;
        let truncated = tokens.iter().filter(|t| t.len() >= args.max_len).count();
        tracing::info!(
            "tokens per review: mean {mean_len:.1}, {truncated} truncated at {}",
            args.max_len
        );
        let finetuner = Finetuner::new(&args.encoder.encoder, args.train_layers, prior, &device)?;
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
            config["features"] = json!({"kind": "frozen encoder, mean-pooled last hidden states, L2-normalised", "encoder": args.encoder.encoder.display().to_string(), "max_len": args.max_len});
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
            finetuner.save(&args.encoder.encoder, &args.out)?;
            println!("wrote {}", args.out.display());
            // Test through the full forward pass from tokens, as the model serves.
            let classifier = finetuner.classifier(&args.encoder.encoder, args.max_len)?;
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
                "encoder": args.encoder.encoder.display().to_string(), "saved_to": args.out.display().to_string(),
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
    if args.results_dir.results_dir.is_some() {
        let fingerprint = file_fingerprint(&input)?;
        for run in &runs {
            let file = format!("womens-reviews-text-{}.json", run.model.name());
            let record = record_of(run, &reviews, &split, &input, &fingerprint, args);
            args.results_dir.write(&file, &record)?;
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

/// The cheap checks: files and folders exist, shares and lengths make sense.
fn check(args: &TextArgs) -> Result<()> {
    if let Some(input) = &args.input {
        check_file("--input", input)?;
    }
    if !(args.train_items > 0.0 && args.train_items < 1.0) {
        bail!(
            "--train-items {}: expected a share in (0, 1)",
            args.train_items
        );
    }
    if args.model.is_empty() {
        bail!("--model: expected at least one model");
    }
    if args.model.iter().any(|&m| m != TextModel::TfidfLr) {
        args.encoder.check()?;
    }
    Ok(())
}

pub fn run(args: TextArgs) -> Result<()> {
    execute(&args)
        .map(drop)
        .context("the text evaluation failed")
}
