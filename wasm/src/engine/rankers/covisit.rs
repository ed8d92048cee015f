//! The co-visitation ranking: co-visited items, then text neighbours, then popular ones.

use super::{Ranker, Shared};
use crate::api::{Source, MAX_EXPLAIN};
use crate::bundle::Bundle;
use crate::covisit::{CovisitModel, CovisitParams, ScoredItem};
use crate::engine::candidates::{CovisitSource, Keep, PopularSource, Query, TextSource};
use crate::engine::items::ItemTable;
use crate::engine::scoring::{best, in_tiers};
use crate::error::{BundleError, RequestError};

#[derive(Debug)]
pub(crate) struct CovisitRanker {
    /// The neighbour lists (the item table lives in the engine).
    model: CovisitModel,
}

impl CovisitRanker {
    pub fn load(bundle: &Bundle<'_>) -> Result<(ItemTable, Self), BundleError> {
        let (items, model) = CovisitModel::from_bundle(bundle)?.into_item_table();
        Ok((items, CovisitRanker { model }))
    }

    /// An engine's ranker from a model built in memory (the trainer's).
    #[cfg(any(test, feature = "training"))]
    pub fn from_model(model: CovisitModel) -> (ItemTable, Self) {
        let (items, model) = model.into_item_table();
        (items, CovisitRanker { model })
    }
}

impl Ranker for CovisitRanker {
    fn session_params(&self) -> CovisitParams {
        self.model.params()
    }

    fn rank(
        &self,
        query: &Query<'_>,
        shared: Shared<'_>,
        keep: &Keep<'_>,
    ) -> Result<Vec<ScoredItem>, RequestError> {
        let text = TextSource {
            index: shared.text,
            recency_decay: self.model.params().recency_decay,
        };
        let sources: [&dyn crate::engine::candidates::CandidateSource; 3] = [
            &CovisitSource(&self.model),
            &text,
            &PopularSource(shared.items),
        ];
        Ok(in_tiers(&sources, query, shared.items.len(), keep))
    }

    /// The item's co-visitation neighbours by weight; then, with item text vectors, the items
    /// whose text is nearest (so a new item without co-visits still has neighbours).
    fn similar(&self, item: u32, k: usize, shared: Shared<'_>, keep: &Keep<'_>) -> Vec<ScoredItem> {
        let neighbours: Vec<(u32, f32)> = self
            .model
            .neighbours(item)
            .filter(|&(j, _)| keep(j))
            .collect();
        let mut out: Vec<ScoredItem> = best(neighbours, k)
            .into_iter()
            .map(|(j, w)| ScoredItem::covisited(j, w))
            .collect();
        let room = k - out.len();
        if let (Some(index), true) = (shared.text, room > 0) {
            let listed: Vec<u32> = out.iter().map(|s| s.index).collect();
            let texts = index.nearest(&index.vector(item), room, |j| {
                keep(j) && !listed.contains(&j)
            });
            out.extend(
                texts
                    .into_iter()
                    .map(|(j, cosine)| ScoredItem::from_source(j, cosine, Source::Text)),
            );
        }
        out
    }

    fn because(&self, session: &[(u32, f32)], item: u32) -> Vec<(usize, f32)> {
        let mut contributions = self.model.contributions(session, item);
        contributions.truncate(MAX_EXPLAIN);
        contributions
    }

    #[cfg(all(feature = "model", any(test, feature = "training")))]
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
