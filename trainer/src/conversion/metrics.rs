//! Metrics of a binary probability forecast (conversion, purchase): ROC AUC, log loss, expected
//! calibration error with its reliability curve, lift and cumulative gains by decile, and seeded
//! percentile-bootstrap confidence intervals.
//!
//! Every function takes parallel slices: `probabilities[i]` is the forecast for case `i`,
//! `labels[i]` whether it converted.

use std::collections::BTreeMap;

use crate::stats::{intervals_by_name, parallel_map, resample_rng};

/// Probabilities are clipped to `[LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON]` in the log loss, so a
/// single confident mistake costs about 34.5 nats instead of infinity.
pub const LOG_LOSS_EPSILON: f64 = 1e-15;

/// Metric names as they appear in `RunRecord::metrics` and `intervals`.
pub const AUC: &str = "AUC";
pub const LOG_LOSS: &str = "LogLoss";
pub const ECE: &str = "ECE";
pub const LIFT_AT_10: &str = "Lift@10%";

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (the Mann-Whitney statistic with average ranks).
/// `None` when either class is absent.
pub fn roc_auc(probabilities: &[f64], labels: &[bool]) -> Option<f64> {
    assert_eq!(probabilities.len(), labels.len());
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let order = ascending_order(probabilities);
    // Sum of the (1-based, tie-averaged) ranks of the positives.
    let positive_rank_sum: f64 = tied_runs(&order, probabilities)
        .map(|run| {
            let average_rank = (run.start + 1 + run.end) as f64 / 2.0;
            let tied_positives = order[run].iter().filter(|&&i| labels[i]).count();
            average_rank * tied_positives as f64
        })
        .sum();
    let p = positives as f64;
    Some((positive_rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// Mean negative log-likelihood (natural log) of the labels, probabilities clipped by
/// [`LOG_LOSS_EPSILON`].
pub fn log_loss(probabilities: &[f64], labels: &[bool]) -> f64 {
    assert_eq!(probabilities.len(), labels.len());
    let total: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(LOG_LOSS_EPSILON, 1.0 - LOG_LOSS_EPSILON);
            if y {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    total / probabilities.len().max(1) as f64
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, PartialEq)]
pub struct ReliabilityBin {
    /// The bin covers predicted probabilities in `[lower, upper)` (the last one includes 1).
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    pub mean_predicted: f64,
    pub observed_rate: f64,
}

/// Calibration with equal-width bins on `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Expected calibration error: the case-weighted mean of |mean predicted - observed rate|
    /// over the bins.
    pub ece: f64,
    /// The non-empty bins, lowest first.
    pub bins: Vec<ReliabilityBin>,
}

pub fn calibration(probabilities: &[f64], labels: &[bool], num_bins: usize) -> Calibration {
    assert_eq!(probabilities.len(), labels.len());
    assert!(num_bins > 0, "calibration needs at least one bin");
    let mut sum_predicted = vec![0.0; num_bins];
    let mut positives = vec![0usize; num_bins];
    let mut counts = vec![0usize; num_bins];
    for (&p, &y) in probabilities.iter().zip(labels) {
        let bin = ((p.clamp(0.0, 1.0) * num_bins as f64) as usize).min(num_bins - 1);
        sum_predicted[bin] += p;
        positives[bin] += usize::from(y);
        counts[bin] += 1;
    }
    let total = probabilities.len().max(1) as f64;
    let mut ece = 0.0;
    let mut bins = Vec::new();
    for bin in 0..num_bins {
        if counts[bin] == 0 {
            continue;
        }
        let count = counts[bin] as f64;
        let mean_predicted = sum_predicted[bin] / count;
        let observed_rate = positives[bin] as f64 / count;
        ece += count / total * (mean_predicted - observed_rate).abs();
        bins.push(ReliabilityBin {
            lower: bin as f64 / num_bins as f64,
            upper: (bin + 1) as f64 / num_bins as f64,
            count: counts[bin],
            mean_predicted,
            observed_rate,
        });
    }
    Calibration { ece, bins }
}

/// One decile of the cases ranked by predicted probability, highest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Decile {
    /// 1 is the top 10%.
    pub decile: usize,
    pub count: usize,
    /// Positives in the decile; fractional where tied cases straddle a decile boundary.
    pub positives: f64,
    /// Conversion rate in this decile divided by the overall rate.
    pub lift: f64,
    /// Conversion rate in deciles 1..=this one divided by the overall rate.
    pub cumulative_lift: f64,
    /// Share of all positives found in deciles 1..=this one (the cumulative gains curve).
    pub cumulative_gain: f64,
}

/// Lift and cumulative gains by decile. Decile `d` holds the cases ranked
/// `[(d-1)·n/10, d·n/10)`; tied cases share their positives evenly (see below).
/// Empty when there are fewer than 10 cases or no positives.
pub fn deciles(probabilities: &[f64], labels: &[bool]) -> Vec<Decile> {
    assert_eq!(probabilities.len(), labels.len());
    let n = probabilities.len();
    let total_positives = labels.iter().filter(|&&l| l).count();
    if n < 10 || total_positives == 0 {
        return Vec::new();
    }
    let mut order = ascending_order(probabilities);
    order.reverse();
    // Cases with equal scores share their positives evenly: the expected count under a random
    // order of the ties, so a constant forecast has a lift of exactly 1 in every decile.
    let mut expected_positive = vec![0.0; n];
    for run in tied_runs(&order, probabilities) {
        let tied_positives = order[run.clone()].iter().filter(|&&i| labels[i]).count();
        let share = tied_positives as f64 / run.len() as f64;
        expected_positive[run].fill(share);
    }
    let base_rate = total_positives as f64 / n as f64;
    let mut cumulative_positives = 0.0;
    (1..=10)
        .map(|decile| {
            let (start, end) = ((decile - 1) * n / 10, decile * n / 10);
            let positives: f64 = expected_positive[start..end].iter().sum();
            cumulative_positives += positives;
            let count = end - start;
            Decile {
                decile,
                count,
                positives,
                lift: positives / count as f64 / base_rate,
                cumulative_lift: cumulative_positives / end as f64 / base_rate,
                cumulative_gain: cumulative_positives / total_positives as f64,
            }
        })
        .collect()
}

/// The headline figures of one forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversionMetrics {
    pub cases: usize,
    pub positives: usize,
    pub auc: Option<f64>,
    pub log_loss: f64,
    pub calibration: Calibration,
    pub deciles: Vec<Decile>,
}

/// Equal-width bins of the reported calibration.
pub const CALIBRATION_BINS: usize = 10;

impl ConversionMetrics {
    pub fn compute(probabilities: &[f64], labels: &[bool]) -> Self {
        ConversionMetrics {
            cases: labels.len(),
            positives: labels.iter().filter(|&&l| l).count(),
            auc: roc_auc(probabilities, labels),
            log_loss: log_loss(probabilities, labels),
            calibration: calibration(probabilities, labels, CALIBRATION_BINS),
            deciles: deciles(probabilities, labels),
        }
    }

    /// Lift in the top 10% of cases.
    pub fn lift_at_10(&self) -> Option<f64> {
        self.deciles.first().map(|d| d.lift)
    }

    /// The figures by metric name (as in `RunRecord::metrics`); undefined ones are left out.
    pub fn by_name(&self) -> BTreeMap<String, f64> {
        let mut named = BTreeMap::new();
        named.insert(LOG_LOSS.to_string(), self.log_loss);
        named.insert(ECE.to_string(), self.calibration.ece);
        if let Some(auc) = self.auc {
            named.insert(AUC.to_string(), auc);
        }
        if let Some(lift) = self.lift_at_10() {
            named.insert(LIFT_AT_10.to_string(), lift);
        }
        named
    }
}

/// Percentile-bootstrap 95% intervals of every metric in [`ConversionMetrics::by_name`]: the cases
/// are resampled with replacement `resamples` times from a generator seeded with `seed`.
pub fn bootstrap_intervals(
    probabilities: &[f64],
    labels: &[bool],
    resamples: usize,
    seed: u64,
) -> BTreeMap<String, (f64, f64)> {
    assert_eq!(probabilities.len(), labels.len());
    let n = labels.len();
    if n == 0 || resamples == 0 {
        return BTreeMap::new();
    }
    let bar = crate::progress::bar(resamples as u64, "bootstrap");
    let estimates: Vec<BTreeMap<String, f64>> = parallel_map(resamples, |b| {
        let mut rng = resample_rng(seed, b);
        let (mut p, mut y) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            let i = rng.usize(..n);
            p.push(probabilities[i]);
            y.push(labels[i]);
        }
        bar.inc(1);
        ConversionMetrics::compute(&p, &y).by_name()
    });
    bar.finish_and_clear();
    intervals_by_name(estimates)
}

/// Ranges of positions in `order` over which the probability is the same.
fn tied_runs<'a>(
    order: &'a [usize],
    probabilities: &'a [f64],
) -> impl Iterator<Item = std::ops::Range<usize>> + 'a {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= order.len() {
            return None;
        }
        let mut end = start + 1;
        while end < order.len() && probabilities[order[end]] == probabilities[order[start]] {
            end += 1;
        }
        let run = start..end;
        start = end;
        Some(run)
    })
}

/// Case indices sorted by probability, ascending, ties by index.
fn ascending_order(probabilities: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&a, &b| {
        probabilities[a]
            .total_cmp(&probabilities[b])
            .then(a.cmp(&b))
    });
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn auc_counts_ties_as_one_half() {
        // Positives 0.8 and 0.4; negatives 0.4 and 0.1. Pairs: (0.8>0.4) 1, (0.8>0.1) 1,
        // (0.4=0.4) 0.5, (0.4>0.1) 1 -> 3.5 / 4.
        let p = [0.8, 0.4, 0.4, 0.1];
        let y = [true, true, false, false];
        assert!(close(roc_auc(&p, &y).unwrap(), 0.875));
        // A perfect ranking, a reversed one, and one class only.
        assert!(close(roc_auc(&[0.9, 0.1], &[true, false]).unwrap(), 1.0));
        assert!(close(roc_auc(&[0.1, 0.9], &[true, false]).unwrap(), 0.0));
        assert!(close(
            roc_auc(&[0.3, 0.3, 0.3], &[true, false, true]).unwrap(),
            0.5
        ));
        assert_eq!(roc_auc(&[0.2, 0.7], &[false, false]), None);
    }

    #[test]
    fn log_loss_matches_hand_values_and_clips() {
        let ll = log_loss(&[0.9, 0.2], &[true, false]);
        assert!(close(ll, -(0.9f64.ln() + 0.8f64.ln()) / 2.0));
        // A certain mistake costs -ln(1e-15), not infinity.
        assert!(close(log_loss(&[0.0], &[true]), -(1e-15f64).ln()));
    }

    #[test]
    fn ece_and_reliability_bins_by_hand() {
        // Bin [0.1,0.2): 0.1, 0.15 with one positive -> mean 0.125, observed 0.5, gap 0.375.
        // Bin [0.9,1]: 0.9, 1.0 both positive -> mean 0.95, observed 1.0, gap 0.05.
        let p = [0.1, 0.15, 0.9, 1.0];
        let y = [true, false, true, true];
        let c = calibration(&p, &y, 10);
        assert_eq!(c.bins.len(), 2);
        assert_eq!((c.bins[0].count, c.bins[1].count), (2, 2));
        assert!(close(c.bins[0].mean_predicted, 0.125));
        assert!(close(c.bins[0].observed_rate, 0.5));
        assert!(close(c.bins[1].lower, 0.9));
        assert!(close(c.ece, 0.5 * 0.375 + 0.5 * 0.05));
    }

    #[test]
    fn lift_and_gains_by_decile() {
        // 20 cases, scores 20..1; positives at ranks 1, 2 and 11: decile 1 (ranks 1-2) holds 2 of
        // the 3 positives at rate 1.0 against a base rate of 0.15.
        let p: Vec<f64> = (0..20).map(|i| (20 - i) as f64 / 20.0).collect();
        let y: Vec<bool> = (0..20).map(|i| i == 0 || i == 1 || i == 10).collect();
        let d = deciles(&p, &y);
        assert_eq!(d.len(), 10);
        assert_eq!((d[0].count, d[0].positives), (2, 2.0));
        assert!(close(d[0].lift, 1.0 / 0.15));
        assert!(close(d[0].cumulative_gain, 2.0 / 3.0));
        assert!(close(d[5].cumulative_gain, 1.0));
        assert!(close(d[5].cumulative_lift, (3.0 / 12.0) / 0.15));
        assert!(close(d[9].cumulative_lift, 1.0));

        // A constant forecast: every decile holds its share of the positives.
        let flat = deciles(&[0.3; 20], &y);
        assert!(flat.iter().all(|d| close(d.lift, 1.0)), "{flat:?}");
        assert!(close(flat[0].cumulative_gain, 0.1));
    }

    #[test]
    fn bootstrap_is_seeded_and_brackets_the_estimate() {
        let p: Vec<f64> = (0..200).map(|i| (i % 17) as f64 / 17.0).collect();
        let y: Vec<bool> = (0..200)
            .map(|i| (i * 7) % 11 < (i % 17) * 11 / 17)
            .collect();
        let point = ConversionMetrics::compute(&p, &y).by_name();
        let a = bootstrap_intervals(&p, &y, 100, 7);
        assert_eq!(a, bootstrap_intervals(&p, &y, 100, 7));
        assert_ne!(a, bootstrap_intervals(&p, &y, 100, 8));
        let (low, high) = a[AUC];
        assert!(low < point[AUC] && point[AUC] < high, "{low} {high}");
    }
}
