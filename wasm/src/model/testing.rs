//! Helpers shared by the model loaders' tests.

use std::collections::BTreeMap;

use crate::{Bundle, BundleWriter};

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
