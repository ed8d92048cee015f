//! Helpers shared by the model loaders' tests.

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};

use super::serving::{export, ExportParts};
use super::{ItemFeatures, QuantPolicy, SasRec, SasRecConfig};
use crate::bundle::{Bundle, BundleWriter};

/// Rewrites a bundle's `model_params` and counts (`edit_params`) or a section's bytes
/// (`edit_section`) and re-assembles a valid container, so only the model loader's own checks
/// stand between the change and the engine.
pub fn rebuilt(
    bytes: &[u8],
    edit_params: impl Fn(&mut serde_json::Value, &mut BTreeMap<String, u64>),
    edit_section: impl Fn(&str, &mut Vec<u8>),
) -> Vec<u8> {
    let b = Bundle::parse(bytes).unwrap();
    let mut params = b.manifest.model_params.clone();
    let mut counts = b.manifest.counts.clone();
    edit_params(&mut params, &mut counts);
    let mut w = BundleWriter::new(&b.manifest.model_kind, params, "t".into());
    for (k, v) in &counts {
        w.count(k, *v);
    }
    for s in &b.manifest.sections {
        let mut data = b.section(&s.name).unwrap().to_vec();
        edit_section(&s.name, &mut data);
        w.section(&s.name, &s.encoding, &data);
    }
    w.finish()
}

/// The largest absolute difference between two tables of the same shape.
pub fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

pub fn sasrec_config() -> SasRecConfig {
    SasRecConfig {
        num_items: 40,
        hidden: 32,
        layers: 2,
        heads: 2,
        max_len: 8,
        ffn: 64,
        dropout: 0.0,
        text_dim: 0,
        num_attributes: 0,
        attributes_per_item: 0,
        temperature: 0.1,
        conversion_hidden: 32,
        input: Default::default(),
    }
}

/// A small transformer (40 items `item0`..`item39`, with conversion heads): one randomly initialised model per test binary (candle's initialisation is not seeded).
pub fn sasrec_model() -> (SasRec, BTreeMap<String, Tensor>) {
    static WEIGHTS: std::sync::OnceLock<BTreeMap<String, Tensor>> = std::sync::OnceLock::new();
    let weights = WEIGHTS.get_or_init(|| {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        SasRec::new(&sasrec_config(), vb).unwrap();
        let data = varmap.data().lock().unwrap();
        data.iter()
            .map(|(n, v)| (n.clone(), v.as_tensor().copy().unwrap()))
            .collect()
    });
    let tensors: HashMap<String, Tensor> = weights
        .iter()
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect();
    let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
    (SasRec::new(&sasrec_config(), vb).unwrap(), weights.clone())
}

pub fn sasrec_bundle(policy: &str) -> Vec<u8> {
    sasrec_writer(policy).finish()
}

/// [`sasrec_bundle`] with a V-SKNN session index over `sessions` and its blend `weight`.
pub fn hybrid_bundle(policy: &str, sessions: &[Vec<u32>], weight: f64) -> Vec<u8> {
    let mut w = sasrec_writer(policy);
    let blend = crate::session_knn::SessionBlend {
        knn: crate::session_knn::KnnConfig {
            neighbours: 50,
            sample_size: 500,
            vector: Some(crate::session_knn::VectorWeights {
                position: crate::session_knn::Decay::Div,
                match_decay: crate::session_knn::Decay::Div,
                idf_weight: 1.0,
            }),
        },
        weight,
        seen_weight: weight,
        vote_exponent: 1.0,
    };
    crate::session_knn::SessionKnn::train(sessions, 40, blend.knn).write_sections(&mut w);
    w.model_param(
        crate::session_knn::SESSION_BLEND_PARAM,
        serde_json::to_value(blend).unwrap(),
    );
    w.finish()
}

fn sasrec_writer(policy: &str) -> BundleWriter {
    let (model, weights) = sasrec_model();
    let table = model.item_table(&ItemFeatures::none()).unwrap();
    let ids: Vec<String> = (0..40).map(|i| format!("item{i}")).collect();
    let order: Vec<u32> = (0..40).rev().collect();
    let parts = ExportParts {
        config: &sasrec_config(),
        weights: &weights,
        item_table: &table,
        item_ids: &ids,
        popularity_order: &order,
    };
    let policy = QuantPolicy::builtin(policy).unwrap();
    export(&parts, &policy, "2026-11-29T00:00:00Z".into())
        .unwrap()
        .0
}
