//! The hybrid bundle (`edgerec-train hybrid`): a transformer bundle that also carries V-SKNN's session index, so
//! the engine ranks with both (a candidate's transformer probability plus a weight times its
//! share of the neighbours' votes; see `edgerec::training::SessionBlend`).
//!
//! The weight is chosen on validation: the validation run (trained on the validation split's
//! training data) with an index of those sessions, scored through the engine for every weight
//! tried. The shipped bundle then holds the final run and an index of every training session,
//! and is scored on the test split through the engine, as the edge answers: the transformer
//! alone (weight 0) and the blend, each recorded as a run.

use anyhow::Result;
use edgerec::training::model::serving::export;
use edgerec::training::model::QuantPolicy;
use edgerec::training::{SessionBlend, SessionKnn};

use super::TrainedRun;
use crate::ranking::protocol::Benchmark;

/// A hybrid bundle: `run`'s transformer quantized by `policy`, plus V-SKNN over `sessions`.
pub fn hybrid_bundle(
    bench: &Benchmark,
    run: &std::path::Path,
    policy: &QuantPolicy,
    sessions: &[Vec<u32>],
    blend: SessionBlend,
    created_at: String,
) -> Result<Vec<u8>> {
    let run = TrainedRun::load(run, &super::RunData::of(bench))?;
    let popularity_order = super::quantize::popularity_order(sessions, bench.items.len());
    let (mut writer, _) = export(
        &run.export_parts(&bench.items, &popularity_order),
        policy,
        created_at,
    )?;
    SessionKnn::train(sessions, bench.items.len(), blend.knn).write_sections(&mut writer);
    writer.model_param(
        edgerec::training::SESSION_BLEND_PARAM,
        serde_json::to_value(blend)?,
    );
    writer.training_data(serde_json::to_value(&bench.data)?);
    Ok(writer.finish())
}

/// The target's 0-based rank in a case's blend with these weights (ties broken by item index,
/// as the engine sorts), or `None` outside the top `max_k` or the candidates.
pub fn blended_rank(
    input: &edgerec::training::BlendInputs,
    target: u32,
    weight: f64,
    seen_weight: f64,
    max_k: usize,
) -> Option<u32> {
    let blended = input.blended(weight, seen_weight);
    let (_, score) = *blended.iter().find(|c| c.0 == target)?;
    let better = blended
        .iter()
        .filter(|c| c.1 > score || (c.1 == score && c.0 < target))
        .count();
    (better < max_k).then_some(better as u32)
}
