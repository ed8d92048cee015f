//! Ranking evaluation shared by every next-item model: one trait, one evaluation loop, one set
//! of metrics, whatever the model and the data set.
//!
//! - [`metrics`]: HR/P@K, MRR@K, NDCG@K from per-case ranks; bootstrap intervals; curves.
//! - [`protocol`]: the data sets' standard protocols (DIGINETICA prefixes, Amazon leave-one-out).
//! - [`baselines`]: popularity and the co-visitation engine behind the [`Recommender`] trait.
//! - [`sknn`]: session-kNN (SKNN) and vector-multiplication session-kNN (V-SKNN).
//! - [`run`]: tuning on validation, the test run and its [`crate::record::RunRecord`].
//! - [`cli`]: the `baselines` subcommand.

pub mod baselines;
pub mod metrics;
pub mod protocol;
pub mod run;
pub mod sknn;

use metrics::Rank;

use crate::progress;

/// A next-item model as the evaluation sees it. Items are indices into the benchmark's catalog.
pub trait Recommender: Sync {
    /// Up to `k` distinct item indices, best first, for a history given oldest first. Items in
    /// `history` are left out unless `include_seen`. Must be deterministic.
    fn recommend(&self, history: &[u32], k: usize, include_seen: bool) -> Vec<u32>;
}

/// One evaluation case: what the user did so far, and the item that came next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub history: Vec<u32>,
    pub target: u32,
}

/// The rank of every case's target in the model's top `max_k`, in case order, on all cores.
pub fn rank_cases(
    model: &dyn Recommender,
    cases: &[Case],
    max_k: usize,
    include_seen: bool,
    what: &str,
) -> Vec<Rank> {
    let bar = progress::bar(cases.len() as u64, what);
    let ranks = crate::stats::parallel_map(cases.len(), |i| {
        let case = &cases[i];
        let top = model.recommend(&case.history, max_k, include_seen);
        debug_assert!(top.len() <= max_k);
        bar.inc(1);
        top.iter().position(|&j| j == case.target).map(|r| r as u32)
    });
    bar.finish_and_clear();
    ranks
}

/// All catalog items, most popular first (ties by index): the fallback that completes every
/// model's list, so each model ranks the full catalog.
#[derive(Debug, Clone)]
pub struct PopularityOrder(Vec<u32>);

impl PopularityOrder {
    /// Counts every occurrence of an item in the training sequences.
    pub fn count(train: &[Vec<u32>], num_items: usize) -> Self {
        let mut counts = vec![0u64; num_items];
        for &item in train.iter().flatten() {
            counts[item as usize] += 1;
        }
        let mut order: Vec<u32> = (0..num_items as u32).collect();
        order.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        PopularityOrder(order)
    }

    /// Appends the most popular items not yet in `ranked` (nor in `history` unless
    /// `include_seen`) until `ranked` holds `k` items.
    pub fn fill(&self, ranked: &mut Vec<u32>, k: usize, history: &[u32], include_seen: bool) {
        let mut candidates = self.0.iter().copied();
        while ranked.len() < k {
            let Some(j) = candidates.next() else { break };
            if (include_seen || !history.contains(&j)) && !ranked.contains(&j) {
                ranked.push(j);
            }
        }
    }
}

/// The `k` best `(item, score)` pairs, highest score first, ties by item index; at most one
/// entry per item is expected.
pub fn top_k(mut scored: Vec<(u32, f64)>, k: usize) -> Vec<u32> {
    let order = |a: &(u32, f64), b: &(u32, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if scored.len() > k && k > 0 {
        scored.select_nth_unstable_by(k - 1, order);
    }
    scored.truncate(k);
    scored.sort_unstable_by(order);
    scored.into_iter().map(|(j, _)| j).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popularity_fill_completes_without_repeats_or_seen_items() {
        let order = PopularityOrder::count(&[vec![2, 2, 1], vec![2, 1, 3]], 5);
        assert_eq!(order.0, [2, 1, 3, 0, 4]);
        let mut ranked = vec![3];
        order.fill(&mut ranked, 4, &[1], false);
        assert_eq!(ranked, [3, 2, 0, 4]);
        let mut ranked = vec![3];
        order.fill(&mut ranked, 3, &[1], true);
        assert_eq!(ranked, [3, 2, 1]);
    }

    #[test]
    fn top_k_breaks_ties_by_index() {
        let scored = vec![(5, 1.0), (3, 2.0), (4, 1.0), (9, 0.5), (1, 1.0)];
        assert_eq!(top_k(scored.clone(), 3), [3, 1, 4]);
        assert_eq!(top_k(scored, 10), [3, 1, 4, 5, 9]);
    }
}
