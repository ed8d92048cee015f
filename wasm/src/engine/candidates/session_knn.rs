//! Session-kNN candidates: the items most voted for by the training sessions most like this one.

use super::{CandidateSource, Keep};
use crate::api::Source;
use crate::covisit::ScoredItem;
use crate::engine::query::Query;

/// Session-kNN votes: (item index, summed vote), ascending by item.
pub(crate) type Votes = Vec<(u32, f64)>;

/// The votes of one request (the blend scorer reads them too).
pub(crate) struct SessionKnnSource<'v> {
    pub votes: &'v [(u32, f64)],
}

impl SessionKnnSource<'_> {
    /// The neighbours' votes for a session's items, only for items `keep` admits.
    pub fn votes(
        knn: &crate::session_knn::SessionKnn,
        history: &[u32],
        include_seen: bool,
        keep: &Keep<'_>,
    ) -> Votes {
        knn.scores(history, include_seen)
            .into_iter()
            .filter(|&(j, _)| keep(j))
            .collect()
    }
}

impl CandidateSource for SessionKnnSource<'_> {
    /// The `n` most voted items, most votes first (ties by index).
    fn candidates(&self, _query: &Query<'_>, n: usize, keep: &Keep<'_>) -> Vec<ScoredItem> {
        let by_vote = |a: &(u32, f64), b: &(u32, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        let mut most_voted: Vec<(u32, f64)> = self
            .votes
            .iter()
            .copied()
            .filter(|&(j, _)| keep(j))
            .collect();
        if most_voted.len() > n && n > 0 {
            most_voted.select_nth_unstable_by(n - 1, by_vote);
        }
        most_voted.truncate(n);
        most_voted.sort_by(by_vote);
        most_voted
            .into_iter()
            .map(|(j, vote)| ScoredItem::from_source(j, vote as f32, Source::Model))
            .collect()
    }
}
