//! Scoring stage: how a ranker orders the candidates its sources gathered.

#[cfg(feature = "model")]
mod blend;
mod tiers;
#[cfg(feature = "model")]
mod transformer;

#[cfg(feature = "model")]
pub(crate) use blend::Blend;
#[cfg(all(feature = "model", any(test, feature = "training")))]
pub use blend::BlendInputs;
pub(crate) use tiers::in_tiers;
#[cfg(feature = "model")]
pub(crate) use transformer::TransformerScorer;

/// Scores candidates: (item index, score) in, the same items with new scores out, in order.
#[cfg(feature = "model")]
pub(crate) trait Scorer {
    fn score(&self, scored: Vec<(u32, f32)>) -> Vec<(u32, f32)>;
}

/// The best `k` of `scored`, highest score first, ties by item index (the same order on every
/// platform).
pub(crate) fn best(mut scored: Vec<(u32, f32)>, k: usize) -> Vec<(u32, f32)> {
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(k);
    scored
}
