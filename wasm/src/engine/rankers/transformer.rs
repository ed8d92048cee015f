//! The transformer ranking: int8 retrieval over the whole catalog plus co-visitation, text and
//! session-kNN candidates, re-scored exactly, blended with the neighbours' votes when the bundle
//! has a session index.

use std::sync::Arc;

use super::{Ranker, Shared};
use crate::api::Source;
use crate::bundle::Bundle;
use crate::catalog::Catalog;
use crate::covisit::{CovisitParams, ScoredItem};
use crate::engine::candidates::{
    CandidateSource, Keep, PopularSource, Query, RetrievalSource, SessionKnnSource, TextSource,
    Votes,
};
use crate::engine::items::ItemTable;
#[cfg(any(test, feature = "training"))]
use crate::engine::scoring::BlendInputs;
use crate::engine::scoring::{best, in_tiers, Blend, Scorer, TransformerScorer};
use crate::error::{BundleError, RequestError};
use crate::model::{Compute, ServingModel};
use crate::session_knn::{SessionBlend, SessionKnn};

/// How many candidates the transformer re-scores exactly: the best of the int8 retrieval over
/// the whole catalog (at least `k`), plus the other sources' candidates.
pub const RERANK_CANDIDATES: usize = 100;
/// Text candidates (items whose text is like the session's) added likewise.
pub const TEXT_CANDIDATES: usize = 20;
/// The items with the most session-kNN votes added likewise, when the bundle has a session
/// index: the transformer and the neighbours then score them together.
pub const KNN_CANDIDATES: usize = 100;

/// A transformer bundle's text profile uses the last session item only (decay 0), and every
/// event type counts alike: the transformer itself reads event types.
const SESSION_PARAMS: CovisitParams = CovisitParams::new(0.0);

#[derive(Clone)]
pub(crate) struct TransformerRanker {
    model: Arc<ServingModel>,
    /// V-SKNN over the training sessions and how its votes blend in, when the bundle has a
    /// session index.
    blend: Option<(Arc<SessionKnn>, SessionBlend)>,
}

impl std::fmt::Debug for TransformerRanker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransformerRanker")
            .field("items", &self.model.item_count())
            .field("compute", &self.model.compute)
            .field("blend", &self.blend.as_ref().map(|b| b.1))
            .finish()
    }
}

/// One request's transformer inputs, computed once: the session's items, its state and the
/// neighbours' votes.
struct Prepared {
    history: Vec<u32>,
    state: Vec<f32>,
    votes: Votes,
}

impl TransformerRanker {
    pub fn load(bundle: &Bundle<'_>, compute: Compute) -> Result<(ItemTable, Self), BundleError> {
        let model = ServingModel::from_bundle(bundle, compute)?;
        let catalog = Catalog::from_bundle(bundle, model.item_count() as u64)?;
        let items = ItemTable::new(
            model.item_ids.clone(),
            model.popularity_order.clone(),
            catalog,
        );
        let blend = match model.session_blend {
            None => None,
            Some(blend) => {
                blend.validate().map_err(|e| {
                    BundleError::InvalidManifest(format!(
                        "model_params.{}: {e}",
                        crate::session_knn::SESSION_BLEND_PARAM
                    ))
                })?;
                let knn = SessionKnn::from_bundle(bundle, model.item_count(), blend.knn)?;
                Some((Arc::new(knn), blend))
            }
        };
        Ok((
            items,
            TransformerRanker {
                model: Arc::new(model),
                blend,
            },
        ))
    }

    #[cfg(any(test, feature = "training"))]
    pub fn session_blend(&self) -> Option<(&SessionKnn, &SessionBlend)> {
        self.blend
            .as_ref()
            .map(|(knn, blend)| (knn.as_ref(), blend))
    }

    #[cfg(any(test, feature = "training"))]
    /// The same ranker with other blend weights and vote exponent (the index is shared).
    pub fn with_blend(&self, weight: f64, seen_weight: f64, vote_exponent: f64) -> Self {
        let mut ranker = self.clone();
        if let Some((_, blend)) = &mut ranker.blend {
            blend.weight = weight;
            blend.seen_weight = seen_weight;
            blend.vote_exponent = vote_exponent;
        }
        ranker
    }

    fn prepare(&self, query: &Query<'_>, keep: &Keep<'_>) -> Result<Prepared, RequestError> {
        let history = query.history();
        let state = self
            .model
            .query(&history)
            .map_err(|e| RequestError::Internal {
                message: e.to_string(),
            })?;
        let votes = match &self.blend {
            Some((knn, _)) => SessionKnnSource::votes(knn, &history, query.include_seen, keep),
            None => Vec::new(),
        };
        Ok(Prepared {
            history,
            state,
            votes,
        })
    }

    /// Every source's candidates, once each, with their exact transformer scores.
    fn candidates(
        &self,
        query: &Query<'_>,
        prepared: &Prepared,
        shared: Shared<'_>,
        keep: &Keep<'_>,
    ) -> Vec<(u32, f32)> {
        let text = TextSource {
            index: shared.text,
            recency_decay: SESSION_PARAMS.recency_decay,
        };
        let sources: [(&dyn CandidateSource, usize); 3] = [
            (
                &RetrievalSource {
                    model: &self.model,
                    state: &prepared.state,
                },
                RERANK_CANDIDATES.max(query.k),
            ),
            (&text, TEXT_CANDIDATES),
            (
                &SessionKnnSource {
                    votes: &prepared.votes,
                },
                KNN_CANDIDATES,
            ),
        ];
        let mut candidates: Vec<u32> = Vec::new();
        for (source, n) in sources {
            for item in source.candidates(query, n, keep) {
                if !candidates.contains(&item.index) {
                    candidates.push(item.index);
                }
            }
        }
        TransformerScorer {
            model: &self.model,
            state: &prepared.state,
        }
        .score(candidates.into_iter().map(|j| (j, 0.0)).collect())
    }

    #[cfg(any(test, feature = "training"))]
    /// What the blend combines for a query, for choosing its weights on validation.
    pub fn blend_inputs(
        &self,
        query: &Query<'_>,
        shared: Shared<'_>,
        keep: &Keep<'_>,
    ) -> Option<BlendInputs> {
        let (_, blend) = self.blend.as_ref()?;
        let prepared = self.prepare(query, keep).ok()?;
        let candidates = self.candidates(query, &prepared, shared, keep);
        Some(BlendInputs::new(
            &candidates,
            &prepared.votes,
            &prepared.history,
            blend.vote_exponent,
        ))
    }
}

impl Ranker for TransformerRanker {
    fn session_params(&self) -> CovisitParams {
        SESSION_PARAMS
    }

    fn rank(
        &self,
        query: &Query<'_>,
        shared: Shared<'_>,
        keep: &Keep<'_>,
    ) -> Result<Vec<ScoredItem>, RequestError> {
        if query.session.is_empty() {
            return Ok(in_tiers(
                &[&PopularSource(shared.items)],
                query,
                shared.items.len(),
                keep,
            ));
        }
        let prepared = self.prepare(query, keep)?;
        let mut scored = self.candidates(query, &prepared, shared, keep);
        if let Some((_, blend)) = &self.blend {
            scored = Blend {
                blend,
                votes: &prepared.votes,
                history: &prepared.history,
            }
            .score(scored);
        }
        Ok(best(scored, query.k)
            .into_iter()
            .map(|(j, score)| ScoredItem::from_source(j, score, Source::Model))
            .collect())
    }

    /// The nearest items by the transformer's item representations (cosine).
    fn similar(
        &self,
        item: u32,
        k: usize,
        _shared: Shared<'_>,
        keep: &Keep<'_>,
    ) -> Vec<ScoredItem> {
        let retrieved =
            self.model
                .retrieve(self.model.item_row(item), RERANK_CANDIDATES.max(k), keep);
        let scored = retrieved
            .into_iter()
            .map(|j| (j, self.model.similarity(item, j)))
            .collect();
        best(scored, k)
            .into_iter()
            .map(|(j, s)| ScoredItem::from_source(j, s, Source::Model))
            .collect()
    }

    /// The session items most like `item` by the transformer's item representations.
    fn because(&self, session: &[(u32, f32)], item: u32) -> Vec<(usize, f32)> {
        crate::engine::explain::most_similar(session, |h| self.model.similarity(h, item))
    }

    fn transformer(&self) -> Option<&ServingModel> {
        Some(&self.model)
    }

    #[cfg(all(feature = "model", any(test, feature = "training")))]
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
