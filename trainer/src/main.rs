//! `edgerec-train`: train, evaluate, inspect and query edgerec models.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use edgerec::{Engine, Event, EventType, RecommendRequest};
use edgerec_trainer::covisit::{catalog_for, read_mapped, train_covisit_with_items};
use edgerec_trainer::output::{create_file, write_file};
use edgerec_trainer::record::{self, DataInfo, RunRecord};
use edgerec_trainer::{
    covisit_bundle, data, evaluate, train_covisit, CovisitConfig, RankingMetrics, SessionData,
};
use serde_json::json;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "edgerec-train",
    version,
    about = "Train, evaluate and export edgerec recommendation models"
)]
struct Cli {
    /// More log output (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train an item-to-item co-visitation model on session data, evaluate it and write a bundle.
    Covisit(CovisitArgs),
    /// Evaluate a bundle on a data set's test split (P@K, MRR@K over every test prefix).
    Evaluate {
        /// The model bundle.
        #[arg(long)]
        bundle: PathBuf,
        /// Data folder with train_sessions.txt and test_sessions.tsv.
        #[arg(long, default_value = "data/diginetica")]
        data: PathBuf,
        /// Cut-off K of the metrics.
        #[arg(short, long, default_value_t = 20)]
        k: usize,
    },
    /// Answer recommendation requests natively for test prefixes; writes `{request, response}` JSON lines.
    Recommend {
        #[arg(long)]
        bundle: PathBuf,
        /// A test_sessions.tsv file: each prefix becomes a request.
        #[arg(long)]
        sessions: PathBuf,
        /// Use only the first N lines.
        #[arg(long)]
        limit: Option<usize>,
        #[arg(short, long, default_value_t = 20)]
        k: usize,
        /// Return items already in the history too.
        #[arg(long)]
        include_seen: bool,
        /// Send each prefix as typed, timed `events` (types cycling view, click, cart, purchase),
        /// excluding the true next item and with a slot: exercises the whole request path.
        #[arg(long)]
        events: bool,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// What item text buys for new items: co-visitation with and without text candidates, split
    /// by time, hit rate for warm and cold (first seen after the split) targets.
    ColdStart(edgerec_trainer::coldstart::ColdStartArgs),
    /// Embed texts (one per line) with a text-encoder bundle, as the edge does; writes
    /// `{text, vector}` JSON lines.
    Embed(edgerec_trainer::item_text::EmbedArgs),
    /// Predict who buys: fit purchase models on one time window, measure them on a later one
    /// (AUC, log loss, calibration, lift, with bootstrap intervals), write run records.
    Purchase(edgerec_trainer::conversion::cli::PurchaseArgs),
    /// p(click), p(cart), p(purchase) through the engine for the users of an event file, as of
    /// the purchase task's test cut-off; writes `{user, request, response}` JSON lines.
    Predict(edgerec_trainer::conversion::cli::PredictArgs),
    /// Read a data file through a mapping, deduplicate, sessionise, split by time, label, build
    /// user profiles; print and save the reject report and a summary.
    Prepare(edgerec_trainer::prepare::cli::PrepareArgs),
    /// Verify a bundle (checksums, signature, every section the model needs) and print its
    /// manifest and signer.
    Inspect {
        #[arg(long)]
        bundle: PathBuf,
        /// Require a signature by this public key (a `keygen` `.pub` file or 64 hex digits).
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Evaluate ranking baselines (popularity, co-visitation, SKNN, V-SKNN) with a data set's
    /// standard protocol; kNN settings tuned on validation; 95% bootstrap intervals.
    Baselines(edgerec_trainer::ranking::cli::BaselinesArgs),
    /// Train the transformer conversion model (SASRec-style, candle) on a ranking data set:
    /// validation each epoch, early stopping, safetensors checkpoints, resume; test metrics.
    Train(edgerec_trainer::seqrec::cli::TrainArgs),
    /// A transformer bundle with V-SKNN's session index, blended by the engine: the weight
    /// chosen on validation, the bundle scored on test through the engine.
    Hybrid(edgerec_trainer::seqrec::hybrid::HybridArgs),
    /// Quantize a trained transformer run by one or more policies (f32, q8, q4, ... or a policy
    /// file) into bundles, load each back as the edge does and compare sizes and test quality.
    Quantize(edgerec_trainer::seqrec::quantize::QuantizeArgs),
    /// Make an Ed25519 key pair for signing bundles: `<out>.key` (secret) and `<out>.pub`.
    Keygen {
        /// Path prefix of the two files.
        #[arg(long, default_value = "keys/edgerec")]
        out: PathBuf,
    },
    /// Sign an existing (unsigned) bundle with a secret key from `keygen`.
    Sign {
        #[arg(long)]
        bundle: PathBuf,
        #[arg(long)]
        key: PathBuf,
        /// Output file (default: overwrite --bundle).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Text to conversion (Women's E-Commerce Clothing Reviews): review text -> recommended and
    /// rating, split by item; TF-IDF + linear model, frozen MiniLM + linear model, fine-tuned MiniLM.
    Text(edgerec_trainer::text::cli::TextArgs),
    /// Quantize the text encoder into `text-encoder` bundles: vocabulary trimmed to the review
    /// texts, optional layer pruning, one bundle per policy; each loaded back and compared with
    /// the f32 encoder on held-out reviews (sizes per part, embedding cosine, AUC).
    TextBundle(edgerec_trainer::text::bundle::TextBundleArgs),
    /// Write a self-contained HTML report (tables, SVG plots) from run records.
    Report(edgerec_trainer::report::ReportArgs),
}

#[derive(Args)]
struct CovisitArgs {
    /// Data folder with train_sessions.txt and test_sessions.tsv (DIGINETICA layout).
    #[arg(long, default_value = "data/diginetica", conflicts_with = "mapping")]
    data: PathBuf,
    /// Train instead on a shop export read through this mapping (e.g. mappings/rees46.toml);
    /// every session of `--input` trains, nothing is evaluated, and when the mapping has a
    /// `[catalog]` section the bundle gets a catalog (category, price, availability) for filters.
    #[arg(long, requires = "input")]
    mapping: Option<PathBuf>,
    /// The export `--mapping` reads.
    #[arg(long, requires = "mapping")]
    input: Option<PathBuf>,
    /// With `--mapping`: embed every catalog item's text (title, category, brand, description)
    /// with this text-encoder bundle and store the vectors in the bundle (text candidates,
    /// `similar` by text at the edge, which must load this same encoder). Catalog items that no
    /// session shows join the model too, reachable by text alone.
    #[arg(long, requires = "mapping")]
    text_encoder: Option<PathBuf>,
    /// Where to write the bundle.
    #[arg(long, default_value = "build/model.bundle")]
    out: PathBuf,
    /// Also write the run's results as JSON here.
    #[arg(long)]
    results: Option<PathBuf>,
    /// Name of the data set, recorded in the bundle and results.
    #[arg(long, default_value = "diginetica")]
    name: String,
    /// Pairs at most this many steps apart are counted.
    #[arg(long, default_value_t = CovisitConfig::default().window)]
    window: usize,
    /// Weight of reverse-order pairs relative to forward ones.
    #[arg(long, default_value_t = CovisitConfig::default().backward_weight)]
    backward_weight: f32,
    /// Neighbours kept per item.
    #[arg(long, default_value_t = CovisitConfig::default().max_neighbours)]
    max_neighbours: usize,
    /// Weight decay per step back in the session at serving time.
    #[arg(long, default_value_t = CovisitConfig::default().recency_decay)]
    recency_decay: f32,
    /// Cut-off K of the metrics.
    #[arg(short, long, default_value_t = 20)]
    k: usize,
}

fn main() {
    let cli = Cli::parse();
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "warn",
        (_, 0) => "info",
        (_, 1) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(cli.command) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Covisit(args) => covisit(args),
        Command::ColdStart(args) => edgerec_trainer::coldstart::run_cold_start(&args).map(drop),
        Command::Embed(args) => {
            let lines = edgerec_trainer::item_text::run_embed(&args)?;
            tracing::info!(lines, "embedded");
            Ok(())
        }
        Command::Evaluate { bundle, data, k } => {
            let engine = load_engine(&bundle)?;
            let data = SessionData::load(&data)?;
            print_metrics(
                &bundle.display().to_string(),
                &evaluate(&engine, &data.test, k),
            );
            Ok(())
        }
        Command::Recommend {
            bundle,
            sessions,
            limit,
            k,
            include_seen,
            events,
            out,
        } => {
            let engine = load_engine(&bundle)?;
            let text = fs::read_to_string(&sessions)
                .with_context(|| format!("cannot read {}", sessions.display()))?;
            let mut cases = data::parse_test(&text, &sessions)?;
            cases.truncate(limit.unwrap_or(usize::MAX));
            let mut sink: Box<dyn Write> = match &out {
                Some(path) => Box::new(BufWriter::new(create_file(path)?)),
                None => Box::new(BufWriter::new(std::io::stdout().lock())),
            };
            const TYPES: [EventType; 4] = [
                EventType::View,
                EventType::Click,
                EventType::Cart,
                EventType::Purchase,
            ];
            for (line, case) in cases.into_iter().enumerate() {
                let mut request = RecommendRequest {
                    include_seen,
                    ..RecommendRequest::from_history(case.prefix, k)
                };
                if events {
                    let history = request.history.take().unwrap_or_default();
                    request.events = Some(
                        history
                            .into_iter()
                            .enumerate()
                            .map(|(i, id)| Event {
                                id,
                                kind: TYPES[(line + i) % TYPES.len()],
                                time: Some(1_764_000_000_000 + 1000 * i as u64),
                            })
                            .collect(),
                    );
                    request.filters.exclude = vec![case.next];
                    request.slot = Some("parity".to_string());
                }
                let response = engine.recommend(&request)?;
                writeln!(
                    sink,
                    "{}",
                    json!({ "request": request, "response": response })
                )?;
            }
            sink.flush()?;
            Ok(())
        }
        Command::Purchase(args) => edgerec_trainer::conversion::cli::purchase(args),
        Command::Predict(args) => edgerec_trainer::conversion::cli::predict(args),
        Command::Prepare(args) => args.run(),
        Command::Inspect { bundle, public_key } => {
            let bytes =
                fs::read(&bundle).with_context(|| format!("cannot read {}", bundle.display()))?;
            let trusted = public_key
                .map(|k| {
                    let text = fs::read_to_string(&k).unwrap_or(k);
                    edgerec::TrustedKey::from_hex(&text)
                })
                .transpose()?;
            let parsed = edgerec::training::Bundle::parse_trusted(&bytes, trusted.as_ref())
                .with_context(|| format!("{} is not a usable bundle", bundle.display()))?;
            // Load the model too: the manifest must match the sections and weights.
            match parsed.manifest.model_kind.as_str() {
                edgerec::training::model::SASREC_KIND => {
                    edgerec::training::model::ServingModel::from_bundle(&parsed, Default::default())
                        .map(drop)?
                }
                edgerec::training::model::TEXT_ENCODER_KIND => {
                    edgerec::training::model::TextEncoderModel::from_bundle(
                        &parsed,
                        Default::default(),
                    )
                    .map(drop)?
                }
                _ => Engine::from_bundle(&bytes).map(drop)?,
            }
            println!("{}", serde_json::to_string_pretty(&parsed.manifest)?);
            match &parsed.signer {
                Some(key) => println!("signed by {key}"),
                None => println!("unsigned"),
            }
            Ok(())
        }
        Command::Quantize(args) => edgerec_trainer::seqrec::quantize::run_quantize(args).map(drop),
        Command::Keygen { out } => {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            let signer = edgerec::training::BundleSigner::from_bytes(&secret);
            let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
            let key_path = out.with_extension("key");
            let pub_path = out.with_extension("pub");
            if key_path.exists() {
                anyhow::bail!("{} exists; refusing to overwrite a key", key_path.display());
            }
            write_file(&key_path, format!("{hex}\n"))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600))?;
            }
            write_file(&pub_path, format!("{}\n", signer.public_key().to_hex()))?;
            println!("secret key: {} (keep it private)", key_path.display());
            println!(
                "public key: {} = {}",
                pub_path.display(),
                signer.public_key().to_hex()
            );
            Ok(())
        }
        Command::Sign { bundle, key, out } => {
            let bytes =
                fs::read(&bundle).with_context(|| format!("cannot read {}", bundle.display()))?;
            let text = fs::read_to_string(&key)
                .with_context(|| format!("cannot read {}", key.display()))?;
            let signer = edgerec::training::BundleSigner::from_hex(&text)?;
            let signed = signer.sign(&bytes)?;
            let out = out.unwrap_or(bundle);
            write_file(&out, &signed)?;
            println!(
                "wrote {} signed by {}",
                out.display(),
                signer.public_key().to_hex()
            );
            Ok(())
        }
        Command::Baselines(args) => edgerec_trainer::ranking::cli::run_baselines(args).map(drop),
        Command::Train(args) => edgerec_trainer::seqrec::cli::run_train(args).map(drop),
        Command::Hybrid(args) => edgerec_trainer::seqrec::hybrid::run_hybrid(args).map(drop),
        Command::Text(args) => edgerec_trainer::text::cli::text(args),
        Command::TextBundle(args) => edgerec_trainer::text::bundle::text_bundle(args),
        Command::Report(args) => {
            let runs = edgerec_trainer::report::write_report(&args)?;
            println!("wrote {} ({runs} runs)", args.out.display());
            Ok(())
        }
    }
}

fn covisit(args: CovisitArgs) -> Result<()> {
    if let (Some(mapping), Some(input)) = (&args.mapping, &args.input) {
        return covisit_mapped(&args, mapping, input);
    }
    let data = SessionData::load(&args.data)?;
    let config = covisit_config(&args);
    let started = Instant::now();
    let model = train_covisit(&data.train, &config);
    let train_seconds = started.elapsed().as_secs_f64();
    tracing::info!(
        items = model.item_ids().len(),
        neighbours = model.num_neighbours(),
        "trained in {train_seconds:.1} s"
    );

    let created_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let training_data = json!({
        "name": args.name,
        "path": args.data.display().to_string(),
        "fingerprint_sha256": data.fingerprint,
        "train_sessions": data.train.len(),
        "test_cases": data.test.len(),
    });
    let manifest_for = |metrics: Option<&RankingMetrics>| {
        let mut w = covisit_bundle(&model, &config, created_at.clone());
        w.training_data(training_data.clone());
        if let Some(m) = metrics {
            w.metric(&format!("P@{}", m.k), m.precision)
                .metric(&format!("MRR@{}", m.k), m.mrr);
        }
        w.finish()
    };
    // Evaluate the exact bytes that ship: load them back through the serving path.
    let engine = Engine::from_bundle(&manifest_for(None))?;
    let metrics = evaluate(&engine, &data.test, args.k);
    print_metrics("covisit", &metrics);
    let bytes = manifest_for(Some(&metrics));
    Engine::from_bundle(&bytes).context("the written bundle does not load back")?;
    write_file(&args.out, &bytes)?;
    println!("wrote {} ({} bytes)", args.out.display(), bytes.len());

    if let Some(path) = &args.results {
        let record = RunRecord {
            data: DataInfo {
                name: args.name.clone(),
                path: args.data.display().to_string(),
                fingerprint_sha256: data.fingerprint.clone(),
                sizes: [
                    ("train_sessions", data.train.len()),
                    ("test_cases", data.test.len()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v as u64))
                .collect(),
            },
            split: "standard (SR-GNN): every prefix of the sessions of the last 7 days".to_string(),
            protocol: "full catalog ranked, items in the prefix included".to_string(),
            model: "covisit".to_string(),
            config: serde_json::to_value(config)?,
            metrics: [
                (format!("P@{}", metrics.k), metrics.precision),
                (format!("MRR@{}", metrics.k), metrics.mrr),
            ]
            .into_iter()
            .collect(),
            intervals: Default::default(),
            curves: Vec::new(),
            bundle_bytes: Some(bytes.len() as u64),
            train_seconds,
            created_at: created_at.clone(),
            code_version: record::code_version(),
            command: record::command_line(),
        };
        record.write(path)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn covisit_config(args: &CovisitArgs) -> CovisitConfig {
    CovisitConfig {
        window: args.window,
        backward_weight: args.backward_weight,
        max_neighbours: args.max_neighbours,
        recency_decay: args.recency_decay,
    }
}

/// `covisit --mapping M --input F`: every session of the export trains; the bundle gets the
/// mapping's catalog if it has one. There is no test split, so no metrics.
fn covisit_mapped(args: &CovisitArgs, mapping: &Path, input: &Path) -> Result<()> {
    let data = read_mapped(mapping, input)?;
    let config = covisit_config(args);
    let encoder = args
        .text_encoder
        .as_deref()
        .map(edgerec_trainer::item_text::read_encoder)
        .transpose()?;
    if encoder.is_some() && data.catalog.is_empty() {
        bail!(
            "--text-encoder needs item texts, but {} has no [catalog] section",
            mapping.display()
        );
    }
    let catalog_ids: Vec<String> = match &encoder {
        Some(_) => data.catalog.iter().map(|r| r.item_id.clone()).collect(),
        None => Vec::new(),
    };
    let mut model = train_covisit_with_items(&data.sessions, &catalog_ids, &config);
    let with_catalog = !data.catalog.is_empty();
    if with_catalog {
        let catalog = catalog_for(&model, &data.catalog);
        model = model.with_catalog(catalog);
    }
    let created_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let mut writer = covisit_bundle(&model, &config, created_at);
    if let Some(encoder) = &encoder {
        let (index, summary) =
            edgerec_trainer::item_text::item_text_index(model.item_ids(), &data.catalog, encoder)?;
        index.write(&mut writer);
        println!(
            "item texts: {} of {} items ({} distinct texts), embedded by text encoder {}",
            summary.with_text,
            summary.items,
            summary.distinct_texts,
            encoder.encoder_id()
        );
    }
    writer.training_data(json!({
        "name": args.name,
        "path": input.display().to_string(),
        "mapping": mapping.display().to_string(),
        "fingerprint_sha256": data.fingerprint,
        "train_sessions": data.sessions.len(),
        "catalog_rows": data.catalog.len(),
    }));
    let bytes = writer.finish();
    let engine = Engine::from_bundle(&bytes).context("the written bundle does not load back")?;
    write_file(&args.out, &bytes)?;
    let categories = engine.catalog().map_or(0, |c| c.categories().len());
    println!(
        "trained on {} sessions: {} items, {} neighbours, catalog: {}",
        data.sessions.len(),
        model.item_ids().len(),
        model.num_neighbours(),
        if with_catalog {
            format!("{categories} categories")
        } else {
            "none".to_string()
        }
    );
    println!("wrote {} ({} bytes)", args.out.display(), bytes.len());
    Ok(())
}

fn load_engine(path: &Path) -> Result<Engine> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Engine::from_bundle(&bytes)
        .with_context(|| format!("{} is not a usable bundle", path.display()))
}

fn print_metrics(model: &str, m: &RankingMetrics) {
    println!(
        "| model | cases | P@{k} | MRR@{k} | targets not in catalog |",
        k = m.k
    );
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| {model} | {} | {:.2} | {:.2} | {} |",
        m.cases, m.precision, m.mrr, m.unknown_targets
    );
}
