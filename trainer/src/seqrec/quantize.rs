//! `edgerec-train quantize`: a trained transformer run -> one bundle per quantization policy,
//! each loaded back through the edge's loader and scored on the same test split as the f32
//! model; sizes of every part and the quality change, printed and recorded as JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::Tensor;
use clap::Args;
use edgerec::model::serving::{export, ExportParts};
use edgerec::model::{Compute, QuantPolicy, ServingModel, StoredTensor};
use edgerec::{Bundle, BundleSigner};
use serde::{Deserialize, Serialize};

use super::{rank_cases, TrainedRun};
use crate::ranking::protocol::{Benchmark, DataSetKind};
use crate::record;

#[derive(Debug, Args)]
pub struct QuantizeArgs {
    /// Which data set the run was trained on (its test split scores every policy).
    #[arg(long, value_enum)]
    pub data_set: DataSetKind,
    /// Data folder (default: the sample shipped in data/<data set>).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The training run folder (`edgerec-train train --out`); its best checkpoint is used.
    #[arg(long, default_value = "runs/sasrec")]
    pub run: PathBuf,
    /// Built-in policies to compare (f32, f16, q8, q6, q5, q4), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "f32,q8,q4")]
    pub policies: Vec<String>,
    /// Extra policies from a TOML file (`[[policy]]` tables: name, default, rules, item_table).
    #[arg(long)]
    pub policy_file: Option<PathBuf>,
    /// Folder for the bundles (`<data set>-sasrec-<policy>.bundle`).
    #[arg(long, default_value = "build/bundles")]
    pub out: PathBuf,
    /// Sign every bundle with this Ed25519 secret key (`edgerec-train keygen`).
    #[arg(long)]
    pub sign_key: Option<PathBuf>,
    /// How the loaded bundles compute: candle's f32 ops on dequantized weights (the trainer's
    /// arithmetic), or edgerec's int8 kernels (what the edge runs by default).
    #[arg(long, value_enum, default_value = "dequantized")]
    pub compute: ComputeArg,
    /// Score only this many test cases (sampled with the run's seed); default all.
    #[arg(long)]
    pub test_cases: Option<usize>,
    /// Write the comparison as `<dir>/quantize/<data set>.json` (`<data set>-int8.json` with
    /// `--compute quantized`).
    #[arg(long)]
    pub results_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ComputeArg {
    Dequantized,
    Quantized,
}

impl ComputeArg {
    pub fn compute(self) -> Compute {
        match self {
            ComputeArg::Dequantized => Compute::Dequantized,
            ComputeArg::Quantized => Compute::Quantized,
        }
    }
}

/// Where a quantization report goes: `<dir>/quantize/<name>.json`, `<name>-int8.json` for the
/// int8 kernels (`Compute::Quantized`).
pub fn report_path(dir: &Path, name: &str, compute: Compute) -> PathBuf {
    let suffix = match compute {
        Compute::Dequantized => "",
        Compute::Quantized => "-int8",
    };
    dir.join("quantize").join(format!("{name}{suffix}.json"))
}

/// The built-in policies `names` (f32, f16, q8, q6, q5, q4), then those of a TOML policy file
/// (`[[policy]]` tables), each validated; `f32` first, added if missing (every change is
/// measured against it).
pub fn read_policies(names: &[String], file: Option<&Path>) -> Result<Vec<QuantPolicy>> {
    let mut policies: Vec<QuantPolicy> = Vec::new();
    for name in names {
        policies.push(QuantPolicy::builtin(name).with_context(|| {
            format!("unknown policy `{name}`; built-in: f32, f16, q8, q6, q5, q4")
        })?);
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file: PolicyFile = toml::from_str(&text)
            .with_context(|| format!("{}: not a policy file", path.display()))?;
        policies.extend(file.policy);
    }
    for p in &policies {
        p.validate()
            .map_err(|e| anyhow::anyhow!("policy `{}`: {e}", p.name))?;
    }
    if let Some(at) = policies.iter().position(|p| p.name == "f32") {
        let f32 = policies.remove(at);
        policies.insert(0, f32);
    } else {
        policies.insert(0, QuantPolicy::builtin("f32").expect("built in"));
    }
    Ok(policies)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    policy: Vec<QuantPolicy>,
}

/// One policy's outcome.
#[derive(Debug, Serialize)]
pub struct PolicyResult {
    pub policy: QuantPolicy,
    pub bundle: String,
    pub bundle_bytes: u64,
    /// Bytes by part: each section, plus `header+manifest+checksum` and `signature`.
    pub parts: BTreeMap<String, u64>,
    pub metrics: BTreeMap<String, f64>,
    /// Relative change against the f32 reference, in percent, by metric.
    pub change_percent: BTreeMap<String, f64>,
    pub load_ms: f64,
    pub tensors: Vec<StoredTensor>,
}

/// What every bundle of a run records besides its weights.
pub struct BundleLineage {
    pub training_data: serde_json::Value,
    /// `(name, value)` metrics of the trained model, recorded in the manifest.
    pub metrics: Vec<(String, f64)>,
    pub created_at: String,
}

/// Exports `parts` once per policy (signed when `signer` is given) to `path_of(policy)`, loads
/// each bundle back through the edge's loader and measures it with `measure`; the changes are
/// relative to the first policy (f32, see [`read_policies`]).
pub fn quantize_policies(
    parts: &ExportParts<'_>,
    policies: &[QuantPolicy],
    lineage: &BundleLineage,
    signer: Option<&BundleSigner>,
    compute: Compute,
    path_of: impl Fn(&QuantPolicy) -> PathBuf,
    measure: impl Fn(&ServingModel) -> Result<BTreeMap<String, f64>>,
) -> Result<Vec<PolicyResult>> {
    let mut results: Vec<PolicyResult> = Vec::new();
    for policy in policies {
        let (mut writer, tensors) = export(parts, policy, lineage.created_at.clone())?;
        writer.training_data(lineage.training_data.clone());
        for (name, value) in &lineage.metrics {
            writer.metric(name, *value);
        }
        let mut bytes = writer.finish();
        if let Some(signer) = signer {
            bytes = signer.sign(&bytes)?;
        }
        let path = path_of(policy);
        crate::output::write_file(&path, &bytes)?;

        let started = Instant::now();
        let bundle = Bundle::parse(&bytes)?;
        let served = ServingModel::from_bundle(&bundle, compute)?;
        let load_ms = started.elapsed().as_secs_f64() * 1e3;
        let mut parts_bytes: BTreeMap<String, u64> = bundle
            .manifest
            .sections
            .iter()
            .map(|s| (s.name.clone(), s.length))
            .collect();
        let sections: u64 = parts_bytes.values().sum();
        let signature = if bundle.signer.is_some() {
            edgerec::SIGNATURE_BLOCK_LEN as u64
        } else {
            0
        };
        parts_bytes.insert(
            "header+manifest+checksum+padding".into(),
            bytes.len() as u64 - sections - signature,
        );
        if signature > 0 {
            parts_bytes.insert("signature".into(), signature);
        }
        let metrics = measure(&served)?;
        let reference = results.first().map(|r| &r.metrics).unwrap_or(&metrics);
        let change_percent = metrics
            .iter()
            .map(|(k, v)| (k.clone(), 100.0 * (v - reference[k]) / reference[k]))
            .collect();
        results.push(PolicyResult {
            policy: policy.clone(),
            bundle: path.display().to_string(),
            bundle_bytes: bytes.len() as u64,
            parts: parts_bytes,
            metrics,
            change_percent,
            load_ms,
            tensors,
        });
    }
    Ok(results)
}

#[derive(Debug, Serialize)]
pub struct QuantizeReport {
    pub data: crate::record::DataInfo,
    pub protocol: String,
    pub run: String,
    pub compute: String,
    /// The training model scored directly (no bundle), for reference.
    pub trained_metrics: BTreeMap<String, f64>,
    pub results: Vec<PolicyResult>,
    pub created_at: String,
    pub code_version: String,
    pub command: String,
}

pub fn run_quantize(args: QuantizeArgs) -> Result<QuantizeReport> {
    let policies = read_policies(&args.policies, args.policy_file.as_deref())?;
    let signer = match &args.sign_key {
        Some(path) => Some(
            BundleSigner::from_hex(
                &std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            )
            .with_context(|| format!("{}: not a secret key", path.display()))?,
        ),
        None => None,
    };

    let bench = Benchmark::load_or_sample(args.data_set, args.data.as_deref())?;
    let run = TrainedRun::load(&args.run, &super::RunData::of(&bench))?;
    let (state, model, table) = (&run.state, &run.model, &run.table);
    let popularity_order = popularity_order(&bench.validation.train, state.model.num_items);
    let parts = run.export_parts(&bench.items, &popularity_order);

    let cases = match args.test_cases {
        Some(n) => crate::ranking::run::sample_cases(&bench.test.cases, n, state.config.train.seed),
        None => bench.test.cases.clone(),
    };
    let c = bench.convention;
    let cutoffs = [10, 20];
    let score = |model: &edgerec::model::SasRec, table: &Tensor, what: &str| -> Result<_> {
        let ranks = rank_cases(model, table, &cases, 20, bench.include_seen, what)?;
        Ok(c.summarize(&ranks, &cutoffs))
    };
    let trained_metrics = score(model, table, "trained f32")?;
    let compute = args.compute.compute();
    let created_at = record::now();
    let validation: Vec<(String, f64)> = state
        .history
        .last()
        .map(|e| e.validation.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (format!("validation {name}"), value))
        .collect();
    let lineage = BundleLineage {
        training_data: serde_json::to_value(&bench.data)?,
        metrics: validation,
        created_at: created_at.clone(),
    };
    let results = quantize_policies(
        &parts,
        &policies,
        &lineage,
        signer.as_ref(),
        compute,
        |policy| {
            args.out
                .join(format!("{}-sasrec-{}.bundle", bench.data.name, policy.name))
        },
        |served| score(&served.model, &served.table, &served.policy.name),
    )?;

    let report = QuantizeReport {
        data: bench.data.clone(),
        protocol: format!(
            "{}; {} of {} test cases",
            bench.protocol,
            cases.len(),
            bench.test.cases.len()
        ),
        run: args.run.display().to_string(),
        compute: format!("{compute:?}").to_lowercase(),
        trained_metrics,
        results,
        created_at,
        code_version: record::code_version(),
        command: record::command_line(),
    };
    print_report(&report, &c.names(&[20]));
    if let Some(dir) = &args.results_dir {
        let path = report_path(dir, &report.data.name, compute);
        crate::output::write_file(&path, serde_json::to_string_pretty(&report)?)?;
        tracing::info!("wrote {}", path.display());
    }
    Ok(report)
}

/// Item indices by training frequency, most frequent first (ties by index).
pub fn popularity_order(train: &[Vec<u32>], num_items: usize) -> Vec<u32> {
    let mut counts = vec![0u64; num_items];
    for &i in train.iter().flatten() {
        counts[i as usize] += 1;
    }
    let mut order: Vec<u32> = (0..num_items as u32).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(counts[i as usize]), i));
    order
}

pub fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

pub fn print_report(report: &QuantizeReport, names: &[String]) {
    println!(
        "{} transformer, {} ({} compute):",
        report.data.name, report.protocol, report.compute
    );
    let metric_header: Vec<String> = names
        .iter()
        .map(|n| format!("{n:>9} {:>7}", "change"))
        .collect();
    println!(
        "  {:<8} {:>10} {:>10} {:>10} {}",
        "policy",
        "bundle",
        "weights",
        "items",
        metric_header.join(" ")
    );
    for r in &report.results {
        let items = r.parts.get("item_vectors").copied().unwrap_or(0)
            + r.parts.get("item_scales").copied().unwrap_or(0);
        let metrics: Vec<String> = names
            .iter()
            .map(|n| {
                format!(
                    "{:>9.4} {:>+6.2}%",
                    r.metrics.get(n).copied().unwrap_or(f64::NAN),
                    r.change_percent.get(n).copied().unwrap_or(f64::NAN)
                )
            })
            .collect();
        println!(
            "  {:<8} {:>10} {:>10} {:>10} {}",
            r.policy.name,
            mib(r.bundle_bytes),
            mib(r.parts.get("weights").copied().unwrap_or(0)),
            mib(items),
            metrics.join(" ")
        );
    }
}
