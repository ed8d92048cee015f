//! Next-item evaluation with the standard session-based protocol: every test prefix, the full
//! catalog ranked (items already in the prefix included), hit rate (P@K) and MRR@K in percent.

use edgerec::Engine;
use serde::Serialize;

use crate::data::TestCase;
use crate::progress;

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
    let bar = progress::bar(cases.len() as u64, "evaluating");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = cases.len().div_ceil(threads).max(1);
    let (hits, rr, unknown) = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                let bar = bar.clone();
                scope.spawn(move || {
                    let (mut hits, mut rr, mut unknown) = (0usize, 0f64, 0usize);
                    for case in part {
                        let history: Vec<u32> = case
                            .prefix
                            .iter()
                            .filter_map(|id| engine.item_index(id))
                            .collect();
                        let Some(target) = engine.item_index(&case.next) else {
                            unknown += 1;
                            continue;
                        };
                        let ranked = engine.model().recommend_indices(&history, k, true);
                        if let Some(rank) = ranked.iter().position(|s| s.index == target) {
                            hits += 1;
                            rr += 1.0 / (rank + 1) as f64;
                        }
                        bar.inc(1);
                    }
                    (hits, rr, unknown)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("evaluation thread"))
            .fold((0, 0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2))
    });
    bar.finish_and_clear();
    let n = cases.len().max(1) as f64;
    RankingMetrics {
        k,
        cases: cases.len(),
        precision: 100.0 * hits as f64 / n,
        mrr: 100.0 * rr / n,
        unknown_targets: unknown,
    }
}
