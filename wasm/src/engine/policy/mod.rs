//! Policy stage: what may be shown and in which order, after candidates and scoring.
//!
//! The request's filters ([`Filters`]) and a decision's slot ([`SlotPolicy`]: the strategy
//! file's filters, "not already on this page", pins, boosts, category caps and exploration);
//! further rules join here, each one file.

mod filters;
mod slot;

pub(crate) use filters::{category_mask, Filters};
pub(crate) use slot::SlotPolicy;

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
