//! Candidate stage: where the items a ranking considers come from.
//!
//! Each source proposes items with its own score; a ranker chooses which sources it gathers
//! from and how their items are scored (`super::scoring`).

mod covisit;
mod popular;
#[cfg(feature = "model")]
mod retrieval;
#[cfg(feature = "model")]
mod session_knn;
mod text;

pub(crate) use covisit::CovisitSource;
pub use popular::popular_fill;
pub(crate) use popular::PopularSource;

#[cfg(feature = "model")]
pub(crate) use retrieval::RetrievalSource;
#[cfg(feature = "model")]
pub(crate) use session_knn::{SessionKnnSource, Votes};
pub(crate) use text::TextSource;

pub(crate) use super::query::Query;
use crate::covisit::ScoredItem;

/// Whether an item may be proposed: the policy admits it and the session does not hide it.
pub(crate) type Keep<'a> = dyn Fn(u32) -> bool + 'a;

/// A source of candidate items.
pub(crate) trait CandidateSource {
    /// At most `n` items for which `keep` holds, best first by this source's own score.
    fn candidates(&self, query: &Query<'_>, n: usize, keep: &Keep<'_>) -> Vec<ScoredItem>;
}
