//! Co-visitation candidates: the items other sessions viewed next to the session's items.

use super::{CandidateSource, Keep};
use crate::covisit::{CovisitModel, ScoredItem};
use crate::engine::query::Query;

pub(crate) struct CovisitSource<'m>(pub &'m CovisitModel);

impl CandidateSource for CovisitSource<'_> {
    fn candidates(&self, query: &Query<'_>, n: usize, keep: &Keep<'_>) -> Vec<ScoredItem> {
        if self.0.num_neighbours() == 0 {
            return Vec::new();
        }
        self.0
            .covisited(query.session, n, keep)
            .into_iter()
            .map(|(index, score)| ScoredItem::covisited(index, score))
            .collect()
    }
}
