//! Transformer scoring: each candidate's exact cosine score against the session's state.

use super::Scorer;
use crate::model::ServingModel;

pub(crate) struct TransformerScorer<'m> {
    pub model: &'m ServingModel,
    /// The session's state (the one retrieval searched with).
    pub state: &'m [f32],
}

impl Scorer for TransformerScorer<'_> {
    fn score(&self, scored: Vec<(u32, f32)>) -> Vec<(u32, f32)> {
        scored
            .into_iter()
            .map(|(j, _)| (j, self.model.score(self.state, j)))
            .collect()
    }
}
