//! `edgerec-train`: train, evaluate, inspect and query edgerec models. This file is the command
//! list, logging and dispatch; each subcommand's flags and work are in
//! `edgerec_trainer::commands`.

use anyhow::Result;
use clap::{Parser, Subcommand};
use edgerec_trainer::commands::{
    baselines, cold_start, covisit, embed, evaluate, hybrid, inspect, keygen, ope, predict,
    prepare, purchase, quantize, recommend, report, sign, strategy, text, text_bundle, train,
};

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
    Covisit(covisit::CovisitArgs),
    /// Evaluate a bundle on a data set's test split (P@K, MRR@K over every test prefix).
    Evaluate(evaluate::EvaluateArgs),
    /// Answer recommendation requests natively for test prefixes; writes `{request, response}` JSON lines.
    Recommend(recommend::RecommendArgs),
    /// What item text buys for new items: co-visitation with and without text candidates, split
    /// by time, hit rate for warm and cold (first seen after the split) targets.
    ColdStart(cold_start::ColdStartArgs),
    /// Embed texts (one per line) with a text-encoder bundle, as the edge does; writes
    /// `{text, vector}` JSON lines.
    Embed(embed::EmbedArgs),
    /// Predict who buys: fit purchase models on one time window, measure them on a later one
    /// (AUC, log loss, calibration, lift, with bootstrap intervals), write run records.
    Purchase(purchase::PurchaseArgs),
    /// p(click), p(cart), p(purchase) through the engine for the users of an event file, as of
    /// the purchase task's test cut-off; writes `{user, request, response}` JSON lines.
    Predict(predict::PredictArgs),
    /// Read a data file through a mapping, deduplicate, sessionise, split by time, label, build
    /// user profiles; print and save the reject report and a summary.
    Prepare(prepare::PrepareArgs),
    /// Verify a bundle (checksums, signature, every section the model needs) and print its
    /// manifest and signer.
    Inspect(inspect::InspectArgs),
    /// Evaluate ranking baselines (popularity, co-visitation, SKNN, V-SKNN) with a data set's
    /// standard protocol; kNN settings tuned on validation; 95% bootstrap intervals.
    Baselines(baselines::BaselinesArgs),
    /// Train the transformer conversion model (SASRec-style, candle) on a ranking data set:
    /// validation each epoch, early stopping, safetensors checkpoints, resume; test metrics.
    Train(train::TrainArgs),
    /// A transformer bundle with V-SKNN's session index, blended by the engine: the weight
    /// chosen on validation, the bundle scored on test through the engine.
    Hybrid(hybrid::HybridArgs),
    /// Quantize a trained transformer run by one or more policies (f32, q8, q4, ... or a policy
    /// file) into bundles, load each back as the edge does and compare sizes and test quality.
    Quantize(quantize::QuantizeArgs),
    /// Strategy files (slots, offers, exploration, experiments): `strategy check FILE`.
    Strategy(strategy::StrategyArgs),
    /// Make an Ed25519 key pair for signing bundles: `<out>.key` (secret) and `<out>.pub`.
    Keygen(keygen::KeygenArgs),
    /// Sign an existing (unsigned) bundle with a secret key from `keygen`.
    Sign(sign::SignArgs),
    /// Text to conversion (Women's E-Commerce Clothing Reviews): review text -> recommended and
    /// rating, split by item; TF-IDF + linear model, frozen MiniLM + linear model, fine-tuned MiniLM.
    Text(text::TextArgs),
    /// Quantize the text encoder into `text-encoder` bundles: vocabulary trimmed to the review
    /// texts, optional layer pruning, one bundle per policy; each loaded back and compared with
    /// the f32 encoder on held-out reviews (sizes per part, embedding cosine, AUC).
    TextBundle(text_bundle::TextBundleArgs),
    /// Off-policy evaluation on the Open Bandit Dataset: each logged policy's click rate
    /// estimated from the other's logs (IPS, SNIPS, DR with bootstrap intervals), and a policy
    /// learned from the random logs.
    Ope(ope::OpeArgs),
    /// Write a self-contained HTML report (tables, SVG plots) from run records.
    Report(report::ReportArgs),
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
        Command::Covisit(args) => covisit::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Recommend(args) => recommend::run(args),
        Command::ColdStart(args) => cold_start::run(args),
        Command::Embed(args) => embed::run(args),
        Command::Purchase(args) => purchase::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Prepare(args) => prepare::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Baselines(args) => baselines::run(args),
        Command::Train(args) => train::run(args),
        Command::Hybrid(args) => hybrid::run(args),
        Command::Quantize(args) => quantize::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Sign(args) => sign::run(args),
        Command::Text(args) => text::run(args),
        Command::TextBundle(args) => text_bundle::run(args),
        Command::Ope(args) => ope::run(args),
        Command::Strategy(args) => strategy::run(args),
        Command::Report(args) => report::run(args),
    }
}
