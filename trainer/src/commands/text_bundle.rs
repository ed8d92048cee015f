//! `edgerec-train text-bundle`: the pretrained text encoder's vocabulary trimmed to the review
//! texts, optionally cut to its first K layers, quantized by each policy into `text-encoder`
//! bundles; each loaded back and compared with the f32 encoder (see [`crate::text::bundle`]).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::Device;
use clap::Args;
use edgerec::training::model::text_encoder::{export_text_encoder, TextExportParts};
use edgerec::training::model::{BertConfig, QuantPolicy, TextEncoderModel};
use edgerec::training::Bundle;

use super::args::{check_file, ComputeArgs, EncoderArgs, PolicyArgs};
use crate::record::{self, DataInfo};
use crate::seqrec::quantize::mib;
use crate::text::bundle::{
    cosines, parts_of, read_weights, TextQuantizeReport, VariantResult, REVIEWS_PATH,
};
use crate::text::data::{read_reviews, split_by_item};
use crate::text::encoder::{
    read_config, tokenize, tokenizer_from_bytes, TextEncoder, DEFAULT_BATCH, TOKENIZER_FILE,
};
use crate::text::metrics::{TestPredictions, AUC};
use crate::text::tfidf::{dense_row, probe_run};
use crate::text::trim::{
    keep_layers, keep_positions, trim_vocabulary, TrimmedVocab, WORD_EMBEDDINGS,
};

#[derive(Debug, Args)]
pub struct TextBundleArgs {
    #[command(flatten)]
    pub encoder: EncoderArgs,
    /// The reviews Parquet file: its texts are the catalog the vocabulary is trimmed to, and
    /// its held-out items measure quality.
    #[arg(long, default_value = REVIEWS_PATH)]
    pub texts: PathBuf,
    /// Use only the first N reviews with text.
    #[arg(long)]
    pub limit: Option<usize>,
    /// A shop export's mapping (with a `[catalog]` section): the texts of its catalog items
    /// (`--catalog-input`) join the reviews in the trimmed vocabulary, so they encode exactly as
    /// with the full one (what `covisit --text-encoder` embeds).
    #[arg(long, requires = "catalog_input")]
    pub catalog_mapping: Option<PathBuf>,
    /// The export `--catalog-mapping` reads.
    #[arg(long, requires = "catalog_mapping")]
    pub catalog_input: Option<PathBuf>,
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Also make each non-f32 policy with only the first K encoder layers (comma-separated Ks).
    #[arg(long, value_delimiter = ',')]
    pub layers: Vec<usize>,
    /// Tokens per text, [CLS] and [SEP] included (recorded in the bundle).
    #[arg(long, default_value_t = 64)]
    pub max_len: usize,
    #[command(flatten)]
    pub compute: ComputeArgs,
    /// Folder for the bundles (`minilm-<variant>.bundle`).
    #[arg(long, default_value = "build/bundles")]
    pub out: PathBuf,
    /// Write the report as `<dir>/quantize/womens-reviews-text.json` (`-int8` with `--compute
    /// quantized`).
    #[arg(long)]
    pub results_dir: Option<PathBuf>,
    /// Share of items (Clothing IDs) for training the linear model; validation and test get
    /// half the rest each.
    #[arg(long, default_value_t = 0.8)]
    pub train_items: f64,
    /// Bootstrap resamples of the test reviews for the reference's 95% intervals.
    #[arg(long, default_value_t = 200)]
    pub bootstrap: usize,
    #[arg(long, default_value_t = 17)]
    pub seed: u64,
}

pub fn run(args: TextBundleArgs) -> Result<()> {
    execute(&args)
        .map(drop)
        .context("making the text-encoder bundles failed")
}

/// Checks the arguments, writes one bundle per variant, measures each loaded back, prints the
/// comparison and returns it (also written with `--results-dir`).
pub fn execute(args: &TextBundleArgs) -> Result<TextQuantizeReport> {
    let policies = args.policies.read()?;
    args.encoder.check()?;
    check_file("--texts", &args.texts)?;
    let config = read_config(&args.encoder.encoder)?;
    if args.max_len < 2 || args.max_len > config.max_position_embeddings {
        bail!(
            "--max-len {} must be within 2..={} (the encoder's positions)",
            args.max_len,
            config.max_position_embeddings
        );
    }
    if let Some(&k) = args
        .layers
        .iter()
        .find(|&&k| k == 0 || k >= config.num_hidden_layers)
    {
        bail!(
            "--layers {k}: keep between 1 and {} of the encoder's {} layers",
            config.num_hidden_layers - 1,
            config.num_hidden_layers
        );
    }
    let (mut reviews, counts) = read_reviews(&args.texts)?;
    if let Some(limit) = args.limit {
        reviews.truncate(limit);
    }
    let validation_share = (1.0 - args.train_items) / 2.0;
    let split = split_by_item(&reviews, args.train_items, validation_share, args.seed)?;
    let texts: Vec<&str> = reviews.iter().map(|r| r.text.as_str()).collect();
    let catalog_texts = match (&args.catalog_mapping, &args.catalog_input) {
        (Some(mapping), Some(input)) => {
            let mapping = crate::ingest::Mapping::load(mapping)?;
            let (rows, _) = crate::ingest::read_catalog(&mapping, input, false)?;
            let mut texts: Vec<String> = rows.iter().filter_map(|r| r.text()).collect();
            texts.sort_unstable();
            texts.dedup();
            tracing::info!(
                texts = texts.len(),
                "catalog item texts of {}",
                input.display()
            );
            texts
        }
        _ => Vec::new(),
    };
    tracing::info!(
        rows = counts.rows,
        reviews = reviews.len(),
        train = split.train.len(),
        validation = split.validation.len(),
        test = split.test.len(),
        "split by item"
    );

    // The reference: the untrimmed f32 encoder, straight from its folder.
    let reference = TextEncoder::load(&args.encoder.encoder, args.max_len, &Device::Cpu)?;
    let tokens = tokenize(&reference.tokenizer, &texts)?;
    let started = Instant::now();
    let reference_embeddings = reference.embed_tokens(&tokens, DEFAULT_BATCH)?;
    tracing::info!(
        "reference pass over {} reviews in {:.0} s",
        tokens.len(),
        started.elapsed().as_secs_f64()
    );
    let hidden = config.hidden_size;
    let quality = |embeddings: &[Vec<f32>]| -> TestPredictions {
        let rows: Vec<_> = embeddings.iter().map(|e| dense_row(e)).collect();
        probe_run(&rows, hidden, &reviews, &split, args.seed).0
    };
    let reference_predictions = quality(&reference_embeddings);
    let reference_metrics = reference_predictions.metrics();
    let reference_intervals = reference_predictions.intervals(args.bootstrap, args.seed);
    drop(reference);

    // Trim to every review's pieces (the catalog), then check the promise on every review.
    let tokenizer_path = args.encoder.encoder.join(TOKENIZER_FILE);
    let tokenizer_json = std::fs::read(&tokenizer_path)
        .with_context(|| format!("cannot read {}", tokenizer_path.display()))?;
    let all_texts: Vec<&str> = texts
        .iter()
        .copied()
        .chain(catalog_texts.iter().map(String::as_str))
        .collect();
    let trimmed: TrimmedVocab = trim_vocabulary(&tokenizer_json, &all_texts)?;
    tracing::info!(
        "vocabulary {} -> {} tokens ({} pieces used by the texts)",
        trimmed.old_size(),
        trimmed.new_size(),
        trimmed.used
    );
    let trimmed_tokenizer = tokenizer_from_bytes(&trimmed.tokenizer_json, args.max_len)?;
    let trimmed_tokens = tokenize(&trimmed_tokenizer, &texts)?;
    for (i, (new, old)) in trimmed_tokens.iter().zip(&tokens).enumerate() {
        if *new != trimmed.remap(old)? {
            bail!("review {i} tokenizes differently after trimming: {old:?} became {new:?}",);
        }
    }
    {
        let full = tokenizer_from_bytes(&tokenizer_json, args.max_len)?;
        let old = tokenize(&full, &catalog_texts)?;
        let new = tokenize(&trimmed_tokenizer, &catalog_texts)?;
        for (i, (new, old)) in new.iter().zip(&old).enumerate() {
            if *new != trimmed.remap(old)? {
                bail!("catalog text {i} tokenizes differently after trimming");
            }
        }
    }

    let weights = read_weights(&args.encoder.encoder, &config)?;
    let untrimmed_f32_bytes = {
        let parts = TextExportParts {
            config: &config,
            weights: &weights,
            tokenizer_json: &tokenizer_json,
            max_len: args.max_len,
        };
        let f32 = QuantPolicy::builtin("f32").expect("built in");
        export_text_encoder(&parts, &f32, String::new())?
            .0
            .finish()
            .len() as u64
    };
    let mut trimmed_weights = weights;
    let table = trimmed.slice_embeddings(&trimmed_weights[WORD_EMBEDDINGS])?;
    trimmed_weights.insert(WORD_EMBEDDINGS.to_string(), table);
    keep_positions(&mut trimmed_weights, args.max_len)?;
    let trimmed_config = BertConfig {
        vocab_size: trimmed.new_size(),
        max_position_embeddings: args.max_len,
        ..config.clone()
    };

    let mut variants: Vec<(String, &QuantPolicy, usize)> = policies
        .iter()
        .map(|p| (p.name.clone(), p, config.num_hidden_layers))
        .collect();
    for &k in &args.layers {
        for p in policies.iter().filter(|p| p.name != "f32") {
            variants.push((format!("{}-L{k}", p.name), p, k));
        }
    }
    let compute = args.compute.compute();
    let created_at = crate::record::now();
    let test_reference: Vec<Vec<f32>> = split
        .test
        .iter()
        .map(|&i| reference_embeddings[i].clone())
        .collect();
    let mut results = Vec::new();
    for (name, policy, layers) in variants {
        let mut weights = trimmed_weights.clone();
        keep_layers(&mut weights, layers);
        let config = BertConfig {
            num_hidden_layers: layers,
            ..trimmed_config.clone()
        };
        let parts = TextExportParts {
            config: &config,
            weights: &weights,
            tokenizer_json: &trimmed.tokenizer_json,
            max_len: args.max_len,
        };
        let (mut writer, tensors) = export_text_encoder(&parts, policy, created_at.clone())?;
        writer.training_data(serde_json::json!({
            "encoder": args.encoder.encoder.display().to_string(),
            "vocabulary_trimmed_from": trimmed.old_size(),
            "trimmed_to_texts": args.texts.display().to_string(),
            "texts": texts.len(),
            "catalog_texts": catalog_texts.len(),
            "catalog_input": args.catalog_input.as_ref().map(|p| p.display().to_string()),
        }));
        let bytes = writer.finish();
        let path = args.out.join(format!("minilm-{name}.bundle"));
        crate::output::write_file(&path, &bytes)?;

        let started = Instant::now();
        let model = TextEncoderModel::from_bundle(&Bundle::parse(&bytes)?, compute)
            .with_context(|| format!("the {name} bundle does not load"))?;
        let load_ms = started.elapsed().as_secs_f64() * 1e3;
        let tokenizer = tokenizer_from_bytes(&model.tokenizer_json, model.params.max_len)?;
        let served = TextEncoder {
            encoder: model.encoder,
            tokenizer,
            device: Device::Cpu,
        };
        let started = Instant::now();
        let embeddings = served.embed_texts(&texts, DEFAULT_BATCH)?;
        let embed_seconds = started.elapsed().as_secs_f64();
        let test: Vec<Vec<f32>> = split.test.iter().map(|&i| embeddings[i].clone()).collect();
        let (mean_cosine, min_cosine) = cosines(&test_reference, &test);
        let metrics = quality(&embeddings).metrics();
        let auc_change = metrics.get(AUC).copied().unwrap_or(f64::NAN)
            - reference_metrics.get(AUC).copied().unwrap_or(f64::NAN);
        tracing::info!(
            "{name}: {} bundle, cosine {mean_cosine:.5}, AUC change {auc_change:+.4}",
            mib(bytes.len() as u64)
        );
        results.push(VariantResult {
            name,
            policy: policy.clone(),
            layers,
            bundle: path.display().to_string(),
            parts: parts_of(&bytes, &tensors)?,
            vocab: trimmed.new_size(),
            mean_cosine,
            min_cosine,
            metrics,
            auc_change,
            load_ms,
            embed_seconds,
            tensors,
        });
    }

    let fingerprint = crate::fingerprint::file_fingerprint(&args.texts)?;
    let sizes = [
        ("reviews", reviews.len()),
        ("train_reviews", split.train.len()),
        ("validation_reviews", split.validation.len()),
        ("test_reviews", split.test.len()),
    ];
    let report = TextQuantizeReport {
        data: DataInfo {
            name: "womens-reviews".to_string(),
            path: args.texts.display().to_string(),
            fingerprint_sha256: fingerprint,
            sizes: sizes.iter().map(|&(k, v)| (k.to_string(), v as u64)).collect(),
        },
        protocol: format!(
            "vocabulary trimmed to the word pieces of all {} reviews (plus special pieces and the \
             single characters of ASCII and of the reviews), position embeddings cut to {} rows; \
             sentence embeddings (mean-pooled, L2-normalised, max {} tokens) from each bundle \
             loaded through the edge loader; cosine to the untrimmed f32 encoder on the test reviews; \
             linear model (L2 tuned on validation) on the embeddings of the training reviews predicting \
             `recommended`, AUC on the test reviews; split by item (Clothing ID), seed {}",
            reviews.len(),
            args.max_len,
            args.max_len,
            args.seed
        ),
        encoder: args.encoder.encoder.display().to_string(),
        max_len: args.max_len,
        compute: format!("{compute:?}").to_lowercase(),
        vocab_before: trimmed.old_size(),
        vocab_after: trimmed.new_size(),
        pieces_used: trimmed.used,
        untrimmed_f32_bytes,
        reference_metrics,
        reference_intervals,
        results,
        created_at,
        code_version: record::code_version(),
        command: record::command_line(),
    };
    print_report(&report);
    if let Some(dir) = &args.results_dir {
        let path = crate::seqrec::quantize::report_path(dir, "womens-reviews-text", compute);
        crate::output::write_file(&path, serde_json::to_string_pretty(&report)?)?;
        println!("wrote {}", path.display());
    }
    Ok(report)
}

/// The comparison as a table: per variant the sizes of its parts, cosine and AUC.
fn print_report(report: &TextQuantizeReport) {
    println!(
        "text encoder {}: vocabulary {} -> {} tokens; untrimmed f32 bundle {}; {} test reviews; {} compute",
        report.encoder,
        report.vocab_before,
        report.vocab_after,
        mib(report.untrimmed_f32_bytes),
        report.data.sizes.get("test_reviews").copied().unwrap_or(0),
        report.compute
    );
    let auc = report
        .reference_metrics
        .get(AUC)
        .copied()
        .unwrap_or(f64::NAN);
    let (lo, hi) = report
        .reference_intervals
        .get(AUC)
        .copied()
        .unwrap_or((f64::NAN, f64::NAN));
    println!("reference (untrimmed f32, no bundle): AUC {auc:.4} [{lo:.4}, {hi:.4}]");
    println!("| variant | layers | word emb | other emb | encoder layers | tokenizer | total | mean cos | min cos | AUC | ΔAUC |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &report.results {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.5} | {:.4} | {:.4} | {:+.4} |",
            r.name,
            r.layers,
            mib(r.parts.word_embeddings),
            mib(r.parts.other_embeddings),
            mib(r.parts.encoder_layers),
            mib(r.parts.tokenizer),
            mib(r.parts.total),
            r.mean_cosine,
            r.min_cosine,
            r.metrics.get(AUC).copied().unwrap_or(f64::NAN),
            r.auc_change
        );
    }
}
