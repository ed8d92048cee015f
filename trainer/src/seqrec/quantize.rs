//! `edgerec-train quantize`: a trained transformer run -> one bundle per quantization policy,
//! each loaded back through the edge's loader and scored on the same test split as the f32
//! model; sizes of every part and the quality change, printed and recorded as JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use edgerec::training::model::serving::{export, ExportParts};
use edgerec::training::model::{Compute, QuantPolicy, ServingModel, StoredTensor};
use edgerec::training::{Bundle, BundleSigner};
use serde::{Deserialize, Serialize};

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
            edgerec::training::SIGNATURE_BLOCK_LEN as u64
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

/// Bytes in MiB, two decimals.
pub fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}
