//! Blend scoring: the transformer's probability among the candidates plus a weight times each
//! candidate's share of the session-kNN votes (the hybrid bundle's ranking).

use super::Scorer;
use crate::session_knn::SessionBlend;

/// The blend of one request: its inputs and the bundle's weights.
pub(crate) struct Blend<'v> {
    pub blend: &'v SessionBlend,
    /// The neighbours' votes, ascending by item.
    pub votes: &'v [(u32, f64)],
    /// The session's item indices.
    pub history: &'v [u32],
}

impl Scorer for Blend<'_> {
    fn score(&self, scored: Vec<(u32, f32)>) -> Vec<(u32, f32)> {
        BlendInputs::new(&scored, self.votes, self.history, self.blend.vote_exponent)
            .blended(self.blend.weight, self.blend.seen_weight)
    }
}

/// What the blend of one request combines, computed once: each candidate's softmax
/// probability among the candidates (edgerec's `exp`, summed in candidate order), its share of
/// all the neighbours' votes (each raised to the blend's exponent, by libm's `pow`, so every
/// platform agrees), and whether it is in the session.
#[derive(Debug, Clone)]
pub struct BlendInputs {
    items: Vec<u32>,
    probability: Vec<f64>,
    share: Vec<f64>,
    seen: Vec<bool>,
}

impl BlendInputs {
    /// From the candidates' exact transformer scores, the votes (ascending by item), the
    /// session's items and [`crate::session_knn::SessionBlend::vote_exponent`].
    pub fn new(
        candidates: &[(u32, f32)],
        votes: &[(u32, f64)],
        history: &[u32],
        vote_exponent: f64,
    ) -> Self {
        let max = candidates
            .iter()
            .map(|s| s.1)
            .fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = candidates
            .iter()
            .map(|s| crate::kernels::float::exp(s.1 - max))
            .collect();
        let z: f64 = exps.iter().map(|&e| e as f64).sum();
        let power = |v: f64| match vote_exponent {
            1.0 => v,
            e => libm::pow(v, e),
        };
        let total: f64 = votes.iter().map(|v| power(v.1)).sum();
        let share = |j: u32| match votes.binary_search_by_key(&j, |v| v.0) {
            Ok(at) if total > 0.0 => power(votes[at].1) / total,
            _ => 0.0,
        };
        BlendInputs {
            items: candidates.iter().map(|c| c.0).collect(),
            probability: exps.iter().map(|&e| e as f64 / z).collect(),
            share: candidates.iter().map(|c| share(c.0)).collect(),
            seen: candidates.iter().map(|c| history.contains(&c.0)).collect(),
        }
    }

    /// The candidates' blended scores, in candidate order: probability plus `weight` times the
    /// share of the votes (`seen_weight` for an item already in the session: whether to repeat
    /// is its own decision). IEEE basic operations only, so every platform ranks alike.
    pub fn blended(&self, weight: f64, seen_weight: f64) -> Vec<(u32, f32)> {
        (0..self.items.len())
            .map(|c| {
                let w = if self.seen[c] { seen_weight } else { weight };
                (
                    self.items[c],
                    (self.probability[c] + w * self.share[c]) as f32,
                )
            })
            .collect()
    }
}
