//! `edgerec-train cold-start`: what item text buys for items without behaviour yet.
//!
//! A shop export read through its mapping is split in time: sessions that begin before
//! `--split-at` train co-visitation; every later session is a test session. The catalog is the
//! whole file's (a shop's product feed lists its new products before they sell), so an item first
//! seen after the split is in the bundle with a text but no co-visits: a cold item. Two bundles
//! are served through the engine's own `recommend`: co-visitation alone, and co-visitation with
//! item text vectors (text candidates after the co-visited items). Each test session, with
//! consecutive repeats merged, asks at every prefix for the next item that is not already in the
//! prefix (what a recommendation slot shows: seen items are left out). Hit rate and MRR at K,
//! over all such cases and separately for warm and cold targets, with bootstrap intervals.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use edgerec::{Engine, RecommendRequest};

use super::args::{check_file, BootstrapArgs, CutoffArgs, ExportArgs, ResultsDirArgs};
use crate::covisit::{
    catalog_for, covisit_bundle, read_mapped, train_covisit_with_items, CovisitConfig,
};
use crate::item_text::{item_text_index, read_encoder};
use crate::ranking::metrics::{hit, reciprocal_rank, Rank};
use crate::record::{self, DataInfo, RunRecord};
use crate::stats::{parallel_map, percentile_interval, resample_rng};

#[derive(Debug, Args)]
pub struct ColdStartArgs {
    // The export (`--input`) and its mapping, which needs a `[catalog]` section: the item texts.
    #[command(flatten)]
    pub export: ExportArgs,
    /// The text-encoder bundle that embeds the item texts (`edgerec-train text-bundle`).
    #[arg(long)]
    pub text_encoder: PathBuf,
    /// Sessions that begin before this time (RFC 3339, e.g. 2019-10-01T02:35:00Z) train; the
    /// later ones are the test.
    #[arg(long)]
    pub split_at: String,
    #[command(flatten)]
    pub k: CutoffArgs,
    /// Name of the data set in the records.
    #[arg(long, default_value = "rees46")]
    pub name: String,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    #[arg(long, default_value_t = 17)]
    pub seed: u64,
    // One run record per bundle as `<dir>/<name>-cold-start-<model>.json`.
    #[command(flatten)]
    pub results_dir: ResultsDirArgs,
}

/// One test case: a prefix and the next new item, and whether that item was cold.
struct Case {
    prefix: Vec<String>,
    target: String,
    cold: bool,
}

pub fn run(args: ColdStartArgs) -> Result<()> {
    execute(&args).map(drop)
}

/// Checks the arguments, trains both bundles, scores them and returns their run records (one
/// printed row each).
pub fn execute(args: &ColdStartArgs) -> Result<Vec<RunRecord>> {
    let split_ms = chrono::DateTime::parse_from_rfc3339(&args.split_at)
        .with_context(|| format!("--split-at {}: not an RFC 3339 time", args.split_at))?
        .timestamp_millis();
    args.export.check()?;
    check_file("--text-encoder", &args.text_encoder)?;
    let data = read_mapped(&args.export.mapping, &args.export.input)?;
    if data.catalog.is_empty() {
        bail!(
            "{} has no [catalog] section: there are no item texts",
            args.export.mapping.display()
        );
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (session, &start) in data.sessions.iter().zip(&data.session_starts) {
        if start < split_ms {
            train.push(session.clone());
        } else {
            test.push(session.clone());
        }
    }
    let warm: HashSet<&str> = train.iter().flatten().map(String::as_str).collect();
    let cases = test_cases(&test, &warm);
    let cold_cases = cases.iter().filter(|c| c.cold).count();
    tracing::info!(
        train_sessions = train.len(),
        test_sessions = test.len(),
        cases = cases.len(),
        cold_cases,
        "split at {}",
        args.split_at
    );
    if cases.is_empty() {
        bail!(
            "no test cases after {}: move --split-at earlier",
            args.split_at
        );
    }

    let started = Instant::now();
    let config = CovisitConfig::default();
    let catalog_ids: Vec<String> = data.catalog.iter().map(|r| r.item_id.clone()).collect();
    let model = train_covisit_with_items(&train, &catalog_ids, &config);
    let catalog = catalog_for(&model, &data.catalog);
    let model = model.with_catalog(catalog);
    let created_at = record::now();
    let plain = covisit_bundle(&model, &config, created_at.clone()).finish();
    let encoder = read_encoder(&args.text_encoder)?;
    let (index, summary) = item_text_index(model.item_ids(), &data.catalog, &encoder)?;
    let mut writer = covisit_bundle(&model, &config, created_at.clone());
    index.write(&mut writer);
    let with_text = writer.finish();
    let train_seconds = started.elapsed().as_secs_f64();

    let fingerprint = crate::fingerprint::file_fingerprint(&args.export.input)?;
    let mut records = Vec::new();
    for (model_name, bytes) in [("covisit", &plain), ("covisit+text", &with_text)] {
        let engine = Engine::from_bundle(bytes).context("the bundle does not load back")?;
        let ranks = rank(&engine, &cases, args.k.k);
        let (metrics, intervals) = metrics(
            &cases,
            &ranks,
            args.k.k,
            args.bootstrap.bootstrap,
            args.seed,
        );
        print_row(model_name, &metrics, args.k.k);
        let data = DataInfo::new(
            format!("{}-cold-start", args.name),
            &args.export.input,
            &fingerprint,
            &[
                ("train_sessions", train.len()),
                ("test_sessions", test.len()),
                ("test_cases", cases.len()),
                ("cold_cases", cold_cases),
                ("items", model.item_ids().len()),
                ("cold_items", model.item_ids().len() - warm.len()),
                ("items_with_text", summary.with_text),
            ],
        );
        let split = format!(
                "by time: sessions beginning before {} train co-visitation; later sessions are the test; \
                 the catalog (item texts) is the whole file's, so items first seen after the split are cold \
                 (in the bundle, no co-visits)",
                args.split_at
            );
        let protocol = format!(
                "every prefix of each test session (consecutive repeats merged) asks the engine's recommend \
                 (k = {}, seen items left out) for the next item not in the prefix; hit rate and MRR in \
                 percent over all cases, warm targets and cold targets",
                args.k.k
            );
        records.push(RunRecord {
            config: serde_json::json!({
                "covisit": config,
                "text_encoder": args.text_encoder.display().to_string(),
                "text_encoder_sha256": encoder.encoder_id(),
                "item_texts": model_name.ends_with("text").then_some(summary.distinct_texts),
            }),
            metrics,
            intervals,
            bundle_bytes: Some(bytes.len() as u64),
            train_seconds,
            created_at: created_at.clone(),
            ..RunRecord::new(data, split, protocol, model_name)
        });
    }
    for r in &records {
        let file = format!("{}-{}.json", r.data.name, r.model.replace('+', "-"));
        args.results_dir.write(&file, r)?;
    }
    Ok(records)
}

fn test_cases(sessions: &[Vec<String>], warm: &HashSet<&str>) -> Vec<Case> {
    let mut cases = Vec::new();
    for session in sessions {
        let mut merged: Vec<&String> = session.iter().collect();
        merged.dedup();
        for t in 1..merged.len() {
            let prefix = &merged[..t];
            let target = merged[t];
            if prefix.contains(&target) {
                continue;
            }
            cases.push(Case {
                prefix: prefix.iter().map(|s| s.to_string()).collect(),
                target: target.clone(),
                cold: !warm.contains(target.as_str()),
            });
        }
    }
    cases
}

/// The 0-based rank of each case's target in the engine's answer, if within `k`.
fn rank(engine: &Engine, cases: &[Case], k: usize) -> Vec<Rank> {
    parallel_map(cases.len(), |i| {
        let request = RecommendRequest::from_history(cases[i].prefix.clone(), k);
        let answer = engine.recommend(&request).expect("a valid request");
        answer
            .items
            .iter()
            .position(|item| item.id == cases[i].target)
            .map(|p| p as u32)
    })
}

type Metrics = (BTreeMap<String, f64>, BTreeMap<String, (f64, f64)>);

fn metrics(cases: &[Case], ranks: &[Rank], k: usize, bootstrap: usize, seed: u64) -> Metrics {
    // Metric name prefix, and which cases (None: all; Some(cold)).
    let groups = [("", None), ("Warm", Some(false)), ("Cold", Some(true))];
    let (mut values, mut intervals) = (BTreeMap::new(), BTreeMap::new());
    for (prefix, cold) in groups {
        let chosen: Vec<Rank> = cases
            .iter()
            .zip(ranks)
            .filter(|(c, _)| cold.is_none_or(|cold| c.cold == cold))
            .map(|(_, &r)| r)
            .collect();
        if chosen.is_empty() {
            continue;
        }
        let score = |rs: &mut dyn Iterator<Item = Rank>| -> (f64, f64) {
            let (mut h, mut m, mut n) = (0.0, 0.0, 0.0);
            for r in rs {
                h += hit(r, k);
                m += reciprocal_rank(r, k);
                n += 1.0;
            }
            (100.0 * h / n, 100.0 * m / n)
        };
        let (hr, mrr) = score(&mut chosen.iter().copied());
        values.insert(format!("{prefix}HR@{k}"), hr);
        values.insert(format!("{prefix}MRR@{k}"), mrr);
        if bootstrap > 0 {
            let samples: Vec<(f64, f64)> = parallel_map(bootstrap, |b| {
                let mut rng = resample_rng(seed, b);
                let n = chosen.len();
                score(&mut (0..n).map(|_| chosen[rng.usize(..n)]))
            });
            let (mut hs, mut ms): (Vec<f64>, Vec<f64>) = samples.into_iter().unzip();
            intervals.insert(format!("{prefix}HR@{k}"), percentile_interval(&mut hs));
            intervals.insert(format!("{prefix}MRR@{k}"), percentile_interval(&mut ms));
        }
    }
    (values, intervals)
}

fn print_row(model: &str, m: &BTreeMap<String, f64>, k: usize) {
    let get = |name: &str| {
        m.get(&format!("{name}@{k}"))
            .map_or("-".to_string(), |v| format!("{v:.2}"))
    };
    println!(
        "| {model} | HR@{k} {} | MRR@{k} {} | warm HR@{k} {} | cold HR@{k} {} | cold MRR@{k} {} |",
        get("HR"),
        get("MRR"),
        get("WarmHR"),
        get("ColdHR"),
        get("ColdMRR")
    );
}
