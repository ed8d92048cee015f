//! Policy stage: what may be shown and in which order, after candidates and scoring.
//!
//! Today the request's filters are the only policy; business rules, promotions, bandits and
//! experiments join here as further implementations, each one file and one entry in the list
//! the engine applies ([`Policies`]).

mod filters;

pub(crate) use filters::Filters;

use crate::covisit::ScoredItem;

/// One policy of a request.
pub(crate) trait Policy {
    /// Whether `item` may be shown at all. The candidate sources only propose items every
    /// policy admits, so a ranking is never cut short by a later filter.
    fn admits(&self, item: u32) -> bool;

    /// The answer from the ranked list (best first, at most `k`): reorder, pin, cap. The
    /// default keeps the ranking.
    fn arrange(&self, ranked: Vec<ScoredItem>, _k: usize) -> Vec<ScoredItem> {
        ranked
    }
}

/// The policies of one request, applied in order.
pub(crate) struct Policies<'p>(pub Vec<&'p dyn Policy>);

impl Policy for Policies<'_> {
    fn admits(&self, item: u32) -> bool {
        self.0.iter().all(|p| p.admits(item))
    }

    fn arrange(&self, ranked: Vec<ScoredItem>, k: usize) -> Vec<ScoredItem> {
        self.0.iter().fold(ranked, |list, p| p.arrange(list, k))
    }
}
