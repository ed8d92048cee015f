//! Text-encoder bundles (`edgerec-train text-bundle`): the pretrained text encoder -> vocabulary trimmed to the review
//! texts, optionally cut to its first K layers, quantized by each policy into a `text-encoder`
//! bundle; each bundle loaded back through the edge's loader and measured against the untrimmed
//! f32 encoder on held-out Women's reviews (cosine of sentence embeddings, and the AUC of a
//! linear model on the embeddings predicting `recommended`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use edgerec::training::model::quant::StoredTensor;
use edgerec::training::model::text_encoder::{encoder_shapes, TOKENIZER_SECTION};
use edgerec::training::model::{BertConfig, QuantPolicy};
use edgerec::training::Bundle;
use serde::Serialize;

use super::encoder::WEIGHTS_FILE;
use super::trim::WORD_EMBEDDINGS;
use crate::record::DataInfo;

/// The full Women's reviews file in the shared data folder.
pub const REVIEWS_PATH: &str =
    "../shared/data/womens-reviews/WomensClothingE-CommerceReviews.parquet.brotli";

/// Bytes of each part of a bundle.
#[derive(Debug, Clone, Serialize)]
pub struct PartBytes {
    pub word_embeddings: u64,
    /// Position and token-type tables, embedding layer norm.
    pub other_embeddings: u64,
    pub encoder_layers: u64,
    /// GGUF header and alignment inside the weights section.
    pub weights_overhead: u64,
    pub tokenizer: u64,
    /// Bundle header, manifest, section alignment, checksum.
    pub container: u64,
    pub total: u64,
}

/// One bundle's outcome.
#[derive(Debug, Serialize)]
pub struct VariantResult {
    pub name: String,
    pub policy: QuantPolicy,
    pub layers: usize,
    pub bundle: String,
    pub parts: PartBytes,
    pub vocab: usize,
    /// Cosine between this bundle's and the untrimmed f32 encoder's sentence embedding of each
    /// test review.
    pub mean_cosine: f64,
    pub min_cosine: f64,
    /// Test metrics of the linear model trained on this bundle's embeddings.
    pub metrics: BTreeMap<String, f64>,
    /// AUC minus the reference's AUC.
    pub auc_change: f64,
    pub load_ms: f64,
    pub embed_seconds: f64,
    pub tensors: Vec<StoredTensor>,
}

#[derive(Debug, Serialize)]
pub struct TextQuantizeReport {
    pub data: DataInfo,
    pub protocol: String,
    pub encoder: String,
    pub max_len: usize,
    pub compute: String,
    pub vocab_before: usize,
    pub vocab_after: usize,
    /// Word pieces the review texts use (single characters and special tokens not counted).
    pub pieces_used: usize,
    /// The f32 bundle of the untrimmed encoder, for scale.
    pub untrimmed_f32_bytes: u64,
    /// The untrimmed f32 encoder (no bundle): test metrics and their 95% intervals.
    pub reference_metrics: BTreeMap<String, f64>,
    pub reference_intervals: BTreeMap<String, (f64, f64)>,
    pub results: Vec<VariantResult>,
    pub created_at: String,
    pub code_version: String,
    pub command: String,
}

/// The encoder's tensors under the names the bundle stores (no `bert.` prefix, no pooler).
pub fn read_weights(dir: &Path, config: &BertConfig) -> Result<BTreeMap<String, Tensor>> {
    let path = dir.join(WEIGHTS_FILE);
    let mut all = candle_core::safetensors::load(&path, &Device::Cpu)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = BTreeMap::new();
    for name in encoder_shapes(config)?.keys() {
        let tensor = all
            .remove(name)
            .or_else(|| all.remove(&format!("bert.{name}")))
            .with_context(|| format!("{} has no tensor `{name}`", path.display()))?;
        out.insert(name.clone(), tensor.to_dtype(candle_core::DType::F32)?);
    }
    Ok(out)
}

pub fn parts_of(bytes: &[u8], tensors: &[StoredTensor]) -> Result<PartBytes> {
    let bundle = Bundle::parse(bytes)?;
    let section = |name: &str| -> Result<u64> { Ok(bundle.section(name)?.len() as u64) };
    let sum = |f: &dyn Fn(&str) -> bool| -> u64 {
        tensors
            .iter()
            .filter(|t| f(&t.name))
            .map(|t| t.bytes as u64)
            .sum()
    };
    let word_embeddings = sum(&|n| n == WORD_EMBEDDINGS);
    let other_embeddings = sum(&|n| n.starts_with("embeddings.") && n != WORD_EMBEDDINGS);
    let encoder_layers = sum(&|n| n.starts_with("encoder."));
    let weights = section("weights")?;
    let tokenizer = section(TOKENIZER_SECTION)?;
    let total = bytes.len() as u64;
    Ok(PartBytes {
        word_embeddings,
        other_embeddings,
        encoder_layers,
        weights_overhead: weights - word_embeddings - other_embeddings - encoder_layers,
        tokenizer,
        container: total - weights - tokenizer,
        total,
    })
}

/// Mean and minimum of the row-wise dot products (unit vectors: cosines).
pub fn cosines(a: &[Vec<f32>], b: &[Vec<f32>]) -> (f64, f64) {
    let dots: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(x, y)| {
            x.iter()
                .zip(y)
                .map(|(p, q)| (*p as f64) * (*q as f64))
                .sum()
        })
        .collect();
    let mean = dots.iter().sum::<f64>() / dots.len().max(1) as f64;
    (mean, dots.iter().copied().fold(f64::INFINITY, f64::min))
}
