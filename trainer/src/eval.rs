//! Next-item evaluation of a bundle with the standard session-based protocol: every test prefix,
//! the full catalog ranked (items already in the prefix included), hit rate (P@K) and MRR@K in
//! percent. The ranking itself is the shared harness's ([`crate::ranking`]).

use edgerec::Engine;
use serde::Serialize;

use crate::data::TestCase;
use crate::ranking::metrics::{hit, reciprocal_rank};
use crate::ranking::{rank_cases, Case};

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RankingMetrics {
    pub k: usize,
    pub cases: usize,
    /// Hit rate at K, in percent.
    pub precision: f64,
    /// Mean reciprocal rank at K, in percent.
    pub mrr: f64,
    /// Test cases whose next item is not in the model's catalog (always a miss).
    pub unknown_targets: usize,
}

/// Evaluates through the engine's own ranking code, the one that serves, on all cores.
pub fn evaluate(engine: &Engine, cases: &[TestCase], k: usize) -> RankingMetrics {
    let mut unknown_targets = 0;
    let known: Vec<Case> = cases
        .iter()
        .filter_map(|case| {
            let Some(target) = engine.items().index(&case.next) else {
                unknown_targets += 1;
                return None;
            };
            let history = case
                .prefix
                .iter()
                .filter_map(|id| engine.items().index(id))
                .collect();
            Some(Case { history, target })
        })
        .collect();
    let ranks = rank_cases(engine, &known, k, true, "evaluating");
    // Unknown targets are misses: they count in the denominator only.
    let n = cases.len().max(1) as f64;
    RankingMetrics {
        k,
        cases: cases.len(),
        precision: 100.0 * ranks.iter().map(|&r| hit(r, k)).sum::<f64>() / n,
        mrr: 100.0 * ranks.iter().map(|&r| reciprocal_rank(r, k)).sum::<f64>() / n,
        unknown_targets,
    }
}
