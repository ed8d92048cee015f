//! Popular candidates: the fallback when the other sources have too few items.

use super::{CandidateSource, Keep};
use crate::api::Source;
use crate::covisit::ScoredItem;
use crate::engine::items::ItemTable;
use crate::engine::query::Query;

pub(crate) struct PopularSource<'i>(pub &'i ItemTable);

impl CandidateSource for PopularSource<'_> {
    fn candidates(&self, _query: &Query<'_>, n: usize, keep: &Keep<'_>) -> Vec<ScoredItem> {
        popular_fill(self.0.popularity_order(), n, 0, keep)
    }
}

/// The `n` most popular items of `popularity_order` for which `keep` holds. Fallback items rank
/// below every other source's: their score, `-(rank_base + r)` for the `r`-th, only orders them.
pub fn popular_fill(
    popularity_order: &[u32],
    n: usize,
    rank_base: usize,
    keep: &Keep<'_>,
) -> Vec<ScoredItem> {
    popularity_order
        .iter()
        .enumerate()
        .filter(|&(_, &j)| keep(j))
        .take(n)
        .enumerate()
        .map(|(r, (place, &index))| ScoredItem {
            index,
            score: -((rank_base + r + 1) as f32),
            source: Source::Popular,
            popularity_rank: Some(place as u32 + 1),
        })
        .collect()
}
