//! Ranking metrics from per-case ranks, metric@K curves and seeded bootstrap intervals.
//!
//! Every metric here depends on a case only through the rank at which its target came
//! (or did not come) in the top list, so the evaluation keeps one rank per case and derives
//! everything, intervals included, from those.

use std::collections::BTreeMap;

use crate::progress;
use crate::record::{Curve, Series};
use crate::stats::{self, parallel_map};

/// The 0-based rank of a case's target within the top list, `None` when it is not there.
pub type Rank = Option<u32>;

/// 1 when the target is in the top `k`, else 0 (HR@K, called P@K in session-based papers).
pub fn hit(rank: Rank, k: usize) -> f64 {
    match rank {
        Some(r) if (r as usize) < k => 1.0,
        _ => 0.0,
    }
}

/// 1 / (rank + 1) when the target is in the top `k`, else 0.
pub fn reciprocal_rank(rank: Rank, k: usize) -> f64 {
    match rank {
        Some(r) if (r as usize) < k => 1.0 / (r as f64 + 1.0),
        _ => 0.0,
    }
}

/// NDCG with one relevant item: 1 / log2(rank + 2) when the target is in the top `k`, else 0.
/// The ideal DCG is 1 (the target at rank 0), so no normalisation is left to do.
pub fn ndcg(rank: Rank, k: usize) -> f64 {
    match rank {
        Some(r) if (r as usize) < k => 1.0 / (r as f64 + 2.0).log2(),
        _ => 0.0,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Hit,
    Mrr,
    Ndcg,
}

impl MetricKind {
    pub const ALL: [MetricKind; 3] = [MetricKind::Hit, MetricKind::Mrr, MetricKind::Ndcg];

    pub fn of(self, rank: Rank, k: usize) -> f64 {
        match self {
            MetricKind::Hit => hit(rank, k),
            MetricKind::Mrr => reciprocal_rank(rank, k),
            MetricKind::Ndcg => ndcg(rank, k),
        }
    }
}

/// How a data set's literature names and scales its metrics: DIGINETICA papers say `P@20` and
/// report percent, Amazon papers say `HR@20` and report fractions. Results follow their
/// literature so published figures can sit beside ours unconverted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricConvention {
    /// Name of the hit rate: `P` or `HR`.
    pub hit_name: &'static str,
    /// 100 for percent, 1 for fractions.
    pub scale: f64,
}

impl MetricConvention {
    /// `P`, `HR`, `MRR` or `NDCG`.
    pub fn family(&self, kind: MetricKind) -> &'static str {
        match kind {
            MetricKind::Hit => self.hit_name,
            MetricKind::Mrr => "MRR",
            MetricKind::Ndcg => "NDCG",
        }
    }

    pub fn name(&self, kind: MetricKind, k: usize) -> String {
        format!("{}@{k}", self.family(kind))
    }

    /// The names `summarize` and `bootstrap` report, cut-off by cut-off.
    pub fn names(&self, cutoffs: &[usize]) -> Vec<String> {
        cutoffs
            .iter()
            .flat_map(|&k| MetricKind::ALL.map(|kind| self.name(kind, k)))
            .collect()
    }

    /// Metric name -> value for every kind at each cut-off.
    pub fn summarize(&self, ranks: &[Rank], cutoffs: &[usize]) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for &k in cutoffs {
            for kind in MetricKind::ALL {
                out.insert(self.name(kind, k), self.mean(ranks, kind, k));
            }
        }
        out
    }

    fn mean(&self, ranks: &[Rank], kind: MetricKind, k: usize) -> f64 {
        let sum: f64 = ranks.iter().map(|&r| kind.of(r, k)).sum();
        self.scale * sum / ranks.len().max(1) as f64
    }

    /// One curve per metric kind, its value at K = 1..=max_k (the report's metric@K plots).
    pub fn curves(&self, ranks: &[Rank], max_k: usize) -> Vec<Curve> {
        MetricKind::ALL
            .into_iter()
            .map(|kind| {
                let name = format!("{}@K", self.family(kind));
                Curve {
                    name: name.clone(),
                    x_label: "K".to_string(),
                    y_label: if self.scale == 100.0 {
                        format!("{name} (%)")
                    } else {
                        name.clone()
                    },
                    series: vec![Series {
                        name,
                        points: (1..=max_k)
                            .map(|k| (k as f64, self.mean(ranks, kind, k)))
                            .collect(),
                    }],
                }
            })
            .collect()
    }

    /// 95% percentile-bootstrap intervals for every metric of `summarize`: `resamples` draws of
    /// the cases with replacement. Seeded per resample, so the result does not depend on the
    /// number of threads.
    pub fn bootstrap(
        &self,
        ranks: &[Rank],
        cutoffs: &[usize],
        resamples: usize,
        seed: u64,
    ) -> BTreeMap<String, (f64, f64)> {
        if ranks.is_empty() || resamples == 0 {
            return BTreeMap::new();
        }
        // A case matters only through its rank, so a resample is a histogram over ranks
        // (bucket `max_k` = a miss): one increment per draw, then the metrics from the buckets.
        let max_k = cutoffs.iter().copied().max().unwrap_or(0);
        let bucket = |r: Rank| r.map_or(max_k, |r| (r as usize).min(max_k));
        let buckets: Vec<u16> = ranks.iter().map(|&r| bucket(r) as u16).collect();
        let metrics: Vec<(String, MetricKind, usize)> = cutoffs
            .iter()
            .flat_map(|&k| MetricKind::ALL.map(|kind| (self.name(kind, k), kind, k)))
            .collect();
        let value_of_bucket: Vec<Vec<f64>> = metrics
            .iter()
            .map(|&(_, kind, k)| {
                (0..=max_k)
                    .map(|b| kind.of((b < max_k).then_some(b as u32), k))
                    .collect()
            })
            .collect();
        let bar = progress::bar(resamples as u64, "bootstrap");
        let estimates: Vec<Vec<f64>> = parallel_map(resamples, |b| {
            let mut rng = stats::resample_rng(seed, b);
            let mut counts = vec![0u64; max_k + 1];
            for _ in 0..buckets.len() {
                counts[buckets[rng.usize(..buckets.len())] as usize] += 1;
            }
            bar.inc(1);
            value_of_bucket
                .iter()
                .map(|values| {
                    let sum: f64 = values.iter().zip(&counts).map(|(v, &c)| v * c as f64).sum();
                    self.scale * sum / buckets.len() as f64
                })
                .collect()
        });
        bar.finish_and_clear();
        metrics
            .iter()
            .enumerate()
            .map(|(m, (name, _, _))| {
                let mut values: Vec<f64> = estimates.iter().map(|e| e[m]).collect();
                (name.clone(), stats::percentile_interval(&mut values))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERCENT: MetricConvention = MetricConvention {
        hit_name: "P",
        scale: 100.0,
    };

    #[test]
    fn metrics_on_hand_checked_ranks() {
        assert_eq!(hit(Some(0), 1), 1.0);
        assert_eq!(hit(Some(1), 1), 0.0);
        assert_eq!(hit(None, 20), 0.0);
        assert_eq!(ndcg(Some(0), 20), 1.0);
        assert!((ndcg(Some(1), 20) - 1.0 / 3f64.log2()).abs() < 1e-12);
        assert!((ndcg(Some(2), 20) - 0.5).abs() < 1e-12, "1/log2(4)");
        assert_eq!(ndcg(Some(20), 20), 0.0, "rank 21 is outside the top 20");
        assert_eq!(reciprocal_rank(Some(3), 20), 0.25);
        assert_eq!(reciprocal_rank(Some(3), 3), 0.0);
    }

    #[test]
    fn summary_names_and_scales() {
        // Ranks 1, 2, 4 and a miss.
        let ranks = [Some(0), Some(1), Some(3), None];
        let m = PERCENT.summarize(&ranks, &[1, 20]);
        assert_eq!(m["P@1"], 25.0);
        assert_eq!(m["P@20"], 75.0);
        assert!((m["MRR@20"] - 100.0 * (1.0 + 0.5 + 0.25) / 4.0).abs() < 1e-9);
        assert!((m["NDCG@1"] - 25.0).abs() < 1e-9);
        let hr = MetricConvention {
            hit_name: "HR",
            scale: 1.0,
        };
        assert_eq!(hr.summarize(&ranks, &[20])["HR@20"], 0.75);
        let curves = hr.curves(&ranks, 4);
        assert_eq!(curves[0].name, "HR@K");
        assert_eq!(
            curves[0].series[0].points,
            [(1.0, 0.25), (2.0, 0.5), (3.0, 0.5), (4.0, 0.75)]
        );
    }

    #[test]
    fn bootstrap_interval_holds_the_estimate_and_is_seeded() {
        let ranks: Vec<Rank> = (0..500u32)
            .map(|i| (i % 3 != 0).then_some(i % 25))
            .collect();
        let point = PERCENT.summarize(&ranks, &[5, 20]);
        let ci = PERCENT.bootstrap(&ranks, &[5, 20], 300, 7);
        assert_eq!(ci.len(), point.len());
        for (name, &(lo, hi)) in &ci {
            assert!(
                lo < point[name] && point[name] < hi,
                "{name}: {lo} {} {hi}",
                point[name]
            );
            assert!(hi - lo < 15.0, "{name}: interval too wide for 500 cases");
        }
        assert_eq!(ci, PERCENT.bootstrap(&ranks, &[5, 20], 300, 7));
        assert_ne!(ci, PERCENT.bootstrap(&ranks, &[5, 20], 300, 8));
    }
}
