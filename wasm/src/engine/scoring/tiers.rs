//! Scoring in tiers: the co-visitation ranking. Each source keeps its own score and fills the
//! room the sources before it left (co-visited items, then text neighbours, then popular ones).

use crate::api::Source;
use crate::covisit::ScoredItem;
use crate::engine::candidates::{CandidateSource, Keep, Query};

/// Up to `query.k` items from `sources` in priority order, none twice. A popularity fallback
/// item's score is minus its place in the answer: it ranks below every scored item, and its
/// score only orders it.
pub(crate) fn in_tiers(
    sources: &[&dyn CandidateSource],
    query: &Query<'_>,
    n_items: usize,
    keep: &Keep<'_>,
) -> Vec<ScoredItem> {
    let mut taken = vec![false; n_items];
    let mut out: Vec<ScoredItem> = Vec::with_capacity(query.k);
    for source in sources {
        if out.len() >= query.k {
            break;
        }
        let room = query.k - out.len();
        let more = source.candidates(query, room, &|j| !taken[j as usize] && keep(j));
        for mut item in more.into_iter().take(room) {
            taken[item.index as usize] = true;
            if item.source == Source::Popular {
                item.score = -((out.len() + 1) as f32);
            }
            out.push(item);
        }
    }
    out
}
