//! One ranker per model kind: which candidate sources it gathers from and how it scores them.
//!
//! A new model kind is one file here implementing [`Ranker`] and one arm in [`load`].

mod covisit;
#[cfg(feature = "model")]
mod transformer;

pub(crate) use covisit::CovisitRanker;
#[cfg(feature = "model")]
pub(crate) use transformer::TransformerRanker;
#[cfg(all(feature = "model", feature = "training"))]
pub use transformer::{KNN_CANDIDATES, RERANK_CANDIDATES, TEXT_CANDIDATES};

use std::sync::Arc;

use super::candidates::{Keep, Query};
use super::items::ItemTable;
use super::LoadOptions;
use crate::bundle::{Bundle, ModelKind};
use crate::covisit::{CovisitParams, ScoredItem};
use crate::error::{BundleError, RequestError};
use crate::text_index::TextIndex;

/// What a ranker reads besides its own model: the item table and the item text vectors.
#[derive(Clone, Copy)]
pub(crate) struct Shared<'e> {
    pub items: &'e ItemTable,
    pub text: Option<&'e TextIndex>,
}

/// The ranking of one model kind.
pub(crate) trait Ranker: std::fmt::Debug + Send + Sync {
    /// How a request's event types weigh, and how fast older items fade in text profiles.
    fn session_params(&self) -> CovisitParams;

    /// The best `query.k` items for which `keep` holds, best first.
    fn rank(
        &self,
        query: &Query<'_>,
        shared: Shared<'_>,
        keep: &Keep<'_>,
    ) -> Result<Vec<ScoredItem>, RequestError>;

    /// Up to `k` items like `item`, for which `keep` holds, most similar first.
    fn similar(&self, item: u32, k: usize, shared: Shared<'_>, keep: &Keep<'_>) -> Vec<ScoredItem>;

    /// The session positions whose items made this ranker propose `item`, strongest first,
    /// with their share (at most `crate::MAX_EXPLAIN`).
    fn because(&self, session: &[(u32, f32)], item: u32) -> Vec<(usize, f32)>;

    /// The transformer, for a kind that has one (conversion heads, training hooks).
    #[cfg(feature = "model")]
    fn transformer(&self) -> Option<&crate::model::ServingModel> {
        None
    }

    /// For the training hooks that rebuild a ranker with other settings.
    #[cfg(all(feature = "model", any(test, feature = "training")))]
    fn as_any(&self) -> &dyn std::any::Any;
}

/// The item table and the ranker of a verified bundle, by its model kind.
pub(crate) fn load(
    bundle: &Bundle<'_>,
    options: &LoadOptions,
) -> Result<(ItemTable, Arc<dyn Ranker>), BundleError> {
    let _ = options;
    match bundle.manifest.kind()? {
        ModelKind::Covisit => {
            let (items, ranker) = CovisitRanker::load(bundle)?;
            Ok((items, Arc::new(ranker)))
        }
        #[cfg(feature = "model")]
        ModelKind::SasRec => {
            let (items, ranker) = TransformerRanker::load(bundle, options.compute)?;
            Ok((items, Arc::new(ranker)))
        }
        other => Err(BundleError::UnsupportedModel {
            found: other.as_str().to_string(),
        }),
    }
}
