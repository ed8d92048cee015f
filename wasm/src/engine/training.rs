//! The trainer's hooks into the engine (feature `training`): engines from in-memory models,
//! the transformer behind a bundle, and the blend's inputs for choosing its weights. Serving
//! front ends never need these, so they are not part of the default surface.

use std::sync::Arc;

use super::policy::Policies;
use super::query::Query;
use super::rankers::CovisitRanker;
use super::Engine;
use crate::bundle::Manifest;
use crate::covisit::CovisitModel;

impl Engine {
    /// Wraps an in-memory co-visitation model, e.g. one the trainer has just built.
    pub fn from_covisit_model(manifest: Manifest, model: CovisitModel) -> Self {
        let (items, ranker) = CovisitRanker::from_model(model);
        Engine {
            manifest,
            signer: None,
            items: Arc::new(items),
            ranker: Arc::new(ranker),
            text: None,
            #[cfg(feature = "text")]
            embedder: None,
        }
    }

    /// The bundle's item text vectors, if it has them.
    pub fn text_index(&self) -> Option<&crate::text_index::TextIndex> {
        self.text.as_deref()
    }

    /// Answers a history of item indices (as the evaluation sends them: each a view, no
    /// filters) through the engine's own ranking: item indices, best first (what `recommend`
    /// returns, without ids or explanations).
    pub fn recommend_indices(&self, history: &[u32], k: usize, include_seen: bool) -> Vec<u32> {
        let session = self.evaluation_session(history);
        let query = Query {
            session: &session,
            k,
            include_seen,
        };
        self.rank(&query, &Policies(Vec::new()))
            .expect("the ranker answers")
            .into_iter()
            .map(|s| s.index)
            .collect()
    }

    /// A history of item indices as a session: each item a view.
    fn evaluation_session(&self, history: &[u32]) -> Vec<(u32, f32)> {
        let view = self.ranker.session_params().event_weights.view;
        history.iter().map(|&i| (i, view)).collect()
    }
}

#[cfg(feature = "model")]
impl Engine {
    /// The transformer of a `sasrec` bundle (`None` for a co-visitation bundle).
    pub fn transformer(&self) -> Option<&crate::model::ServingModel> {
        self.ranker.transformer()
    }

    fn transformer_ranker(&self) -> Option<&super::rankers::TransformerRanker> {
        self.ranker.as_any().downcast_ref()
    }

    /// The session-kNN blend of a transformer bundle: the index and how its votes count.
    pub fn session_blend(
        &self,
    ) -> Option<(
        &crate::session_knn::SessionKnn,
        &crate::session_knn::SessionBlend,
    )> {
        self.transformer_ranker()?.session_blend()
    }

    /// The same engine with other blend weights (0 and 0: the transformer's order) and vote
    /// exponent; for choosing them on validation. The index is shared, not copied. No change
    /// without one.
    pub fn with_blend_weights(mut self, weight: f64, seen_weight: f64, vote_exponent: f64) -> Self {
        if let Some(ranker) = self.transformer_ranker() {
            self.ranker = Arc::new(ranker.with_blend(weight, seen_weight, vote_exponent));
        }
        self
    }

    /// What the blend combines for a history of item indices (no filters), as a request for
    /// `k` items gathers it, for choosing the blend's weights on validation without re-running
    /// the transformer and the neighbours for each. `None` for a bundle without a session index
    /// (or an empty history).
    pub fn blend_inputs(
        &self,
        history: &[u32],
        k: usize,
        include_seen: bool,
    ) -> Option<super::BlendInputs> {
        if history.is_empty() {
            return None;
        }
        let session = self.evaluation_session(history);
        let query = Query {
            session: &session,
            k,
            include_seen,
        };
        let seen = query.seen_mask(self.items.len());
        let keep = |j: u32| !seen[j as usize];
        self.transformer_ranker()?
            .blend_inputs(&query, self.shared(), &keep)
    }
}
