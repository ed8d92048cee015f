//! Retrieval candidates: the transformer's int8 nearest items to the session's state.

use super::{CandidateSource, Keep};
use crate::api::Source;
use crate::covisit::ScoredItem;
use crate::engine::query::Query;
use crate::model::ServingModel;

pub(crate) struct RetrievalSource<'m> {
    pub model: &'m ServingModel,
    /// The session's state, computed once per request (the scorer re-uses it).
    pub state: &'m [f32],
}

impl CandidateSource for RetrievalSource<'_> {
    /// The approximate (int8) nearest items; their score is re-computed exactly by the scorer.
    fn candidates(&self, _query: &Query<'_>, n: usize, keep: &Keep<'_>) -> Vec<ScoredItem> {
        self.model
            .retrieve(self.state, n, keep)
            .into_iter()
            .map(|j| ScoredItem::from_source(j, 0.0, Source::Model))
            .collect()
    }
}
