//! `edgerec-train covisit`: an item-to-item co-visitation model trained on session data (or on
//! a shop export read through a mapping), evaluated through the serving engine, written as a
//! bundle.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use edgerec::Engine;
use serde_json::json;

use super::args::{check_dir, check_file, CutoffArgs};
use super::evaluate::print_metrics;
use crate::covisit::{catalog_for, read_mapped, train_covisit_with_items};
use crate::output::write_file;
use crate::record::{DataInfo, RunRecord};
use crate::{covisit_bundle, evaluate, train_covisit, CovisitConfig, RankingMetrics, SessionData};

#[derive(Debug, Args)]
pub struct CovisitArgs {
    /// Data folder with train_sessions.txt and test_sessions.tsv (DIGINETICA layout).
    #[arg(long, default_value = "data/diginetica", conflicts_with = "mapping")]
    pub data: PathBuf,
    /// Train instead on a shop export read through this mapping (e.g. mappings/rees46.toml);
    /// every session of `--input` trains, nothing is evaluated, and when the mapping has a
    /// `[catalog]` section the bundle gets a catalog (category, price, availability) for filters.
    #[arg(long, requires = "input")]
    pub mapping: Option<PathBuf>,
    /// The export `--mapping` reads.
    #[arg(long, requires = "mapping")]
    pub input: Option<PathBuf>,
    /// With `--mapping`: embed every catalog item's text (title, category, brand, description)
    /// with this text-encoder bundle and store the vectors in the bundle (text candidates,
    /// `similar` by text at the edge, which must load this same encoder). Catalog items that no
    /// session shows join the model too, reachable by text alone.
    #[arg(long, requires = "mapping")]
    pub text_encoder: Option<PathBuf>,
    /// Where to write the bundle.
    #[arg(long, default_value = "build/model.bundle")]
    pub out: PathBuf,
    /// Also write the run's results as JSON here.
    #[arg(long)]
    pub results: Option<PathBuf>,
    /// Name of the data set, recorded in the bundle and results.
    #[arg(long, default_value = "diginetica")]
    pub name: String,
    /// Pairs at most this many steps apart are counted.
    #[arg(long, default_value_t = CovisitConfig::default().window)]
    pub window: usize,
    /// Weight of reverse-order pairs relative to forward ones.
    #[arg(long, default_value_t = CovisitConfig::default().backward_weight)]
    pub backward_weight: f32,
    /// Neighbours kept per item.
    #[arg(long, default_value_t = CovisitConfig::default().max_neighbours)]
    pub max_neighbours: usize,
    /// Weight decay per step back in the session at serving time.
    #[arg(long, default_value_t = CovisitConfig::default().recency_decay)]
    pub recency_decay: f32,
    #[command(flatten)]
    pub k: CutoffArgs,
}

/// Checks the arguments, trains, evaluates and writes the bundle (and the run record).
pub fn run(args: CovisitArgs) -> Result<()> {
    check(&args)?;
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

    let created_at = crate::record::now();
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
    let metrics = evaluate(&engine, &data.test, args.k.k);
    print_metrics("covisit", &metrics);
    let bytes = manifest_for(Some(&metrics));
    Engine::from_bundle(&bytes).context("the written bundle does not load back")?;
    write_file(&args.out, &bytes)?;
    println!("wrote {} ({} bytes)", args.out.display(), bytes.len());

    if let Some(path) = &args.results {
        let data_info = DataInfo::new(
            &args.name,
            &args.data,
            &data.fingerprint,
            &[
                ("train_sessions", data.train.len()),
                ("test_cases", data.test.len()),
            ],
        );
        let record = RunRecord {
            config: serde_json::to_value(config)?,
            metrics: [
                (format!("P@{}", metrics.k), metrics.precision),
                (format!("MRR@{}", metrics.k), metrics.mrr),
            ]
            .into_iter()
            .collect(),
            bundle_bytes: Some(bytes.len() as u64),
            train_seconds,
            created_at: created_at.clone(),
            ..RunRecord::new(
                data_info,
                "standard (SR-GNN): every prefix of the sessions of the last 7 days",
                "full catalog ranked, items in the prefix included",
                "covisit",
            )
        };
        record.write(path)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// The cheap checks: the files and folders named exist.
fn check(args: &CovisitArgs) -> Result<()> {
    match (&args.mapping, &args.input) {
        (Some(mapping), Some(input)) => {
            check_file("--mapping", mapping)?;
            check_file("--input", input)?;
            if let Some(encoder) = &args.text_encoder {
                check_file("--text-encoder", encoder)?;
            }
            Ok(())
        }
        _ => check_dir("--data", &args.data),
    }
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
        .map(crate::item_text::read_encoder)
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
    let created_at = crate::record::now();
    let mut writer = covisit_bundle(&model, &config, created_at);
    if let Some(encoder) = &encoder {
        let (index, summary) =
            crate::item_text::item_text_index(model.item_ids(), &data.catalog, encoder)?;
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
