//! The estimators, as pure functions of per-decision columns: importance weights
//! `w_i = π_e(a_i | x_i, p_i) / π_0(a_i | x_i, p_i)`, rewards `r_i`, and for doubly robust the
//! reward model's prediction for the logged action `q̂(x_i, a_i, p_i)` and its expectation under
//! the evaluated policy `Σ_a π_e(a | x_i, p_i) q̂(x_i, a, p_i)`.
//!
//! - IPS: `(1/n) Σ w_i r_i`
//! - SNIPS: `Σ w_i r_i / Σ w_i` (0 when every weight is 0)
//! - DR: `(1/n) Σ [ Σ_a π_e(a|x_i,p_i) q̂(x_i,a,p_i) + w_i (r_i − q̂(x_i,a_i,p_i)) ]`
//! - effective sample size: `(Σ w_i)² / Σ w_i²` (0 when every weight is 0)
//!
//! Intervals are 95% percentile-bootstrap intervals over decisions, resampled with
//! [`crate::stats::resample_rng`] (seeded per resample, so the same seed gives the same interval
//! however the resamples are spread over threads).

use serde::Serialize;

/// The per-decision columns every estimator reads (all of the same length).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OpeColumns {
    pub weights: Vec<f64>,
    pub rewards: Vec<f64>,
    /// `q̂(x_i, a_i, p_i)`: the reward model on the logged action.
    pub q_logged: Vec<f64>,
    /// `Σ_a π_e(a | x_i, p_i) q̂(x_i, a, p_i)`: the reward model under the evaluated policy.
    pub q_target: Vec<f64>,
}

impl OpeColumns {
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }
}

/// Inverse propensity scoring over the decisions `rows` (indices into the columns; repeats allowed).
pub fn ips(c: &OpeColumns, rows: &[usize]) -> f64 {
    if rows.is_empty() {
        return 0.0;
    }
    rows.iter()
        .map(|&i| c.weights[i] * c.rewards[i])
        .sum::<f64>()
        / rows.len() as f64
}

/// Self-normalised IPS over `rows`.
pub fn snips(c: &OpeColumns, rows: &[usize]) -> f64 {
    let total: f64 = rows.iter().map(|&i| c.weights[i]).sum();
    if total <= 0.0 {
        return 0.0;
    }
    rows.iter()
        .map(|&i| c.weights[i] * c.rewards[i])
        .sum::<f64>()
        / total
}

/// Doubly robust over `rows`.
pub fn dr(c: &OpeColumns, rows: &[usize]) -> f64 {
    if rows.is_empty() {
        return 0.0;
    }
    rows.iter()
        .map(|&i| c.q_target[i] + c.weights[i] * (c.rewards[i] - c.q_logged[i]))
        .sum::<f64>()
        / rows.len() as f64
}

/// The plain mean reward over `rows` (the on-policy estimate of the logging policy's value).
pub fn mean_reward(c: &OpeColumns, rows: &[usize]) -> f64 {
    if rows.is_empty() {
        return 0.0;
    }
    rows.iter().map(|&i| c.rewards[i]).sum::<f64>() / rows.len() as f64
}

/// Effective sample size `(Σw)² / Σw²` of the weights.
pub fn effective_sample_size(weights: &[f64]) -> f64 {
    let sum: f64 = weights.iter().sum();
    let squares: f64 = weights.iter().map(|w| w * w).sum();
    if squares <= 0.0 {
        0.0
    } else {
        sum * sum / squares
    }
}

/// Every row once: the indices `0..n`.
pub fn all_rows(n: usize) -> Vec<usize> {
    (0..n).collect()
}

/// 95% percentile-bootstrap interval of `statistic` over `n` rows: `resamples` resamples of `n`
/// rows drawn with replacement, resample `b` from [`crate::stats::resample_rng`]`(seed, b)`.
/// `None` when `resamples` is 0 or there are no rows.
pub fn bootstrap_interval(
    n: usize,
    resamples: usize,
    seed: u64,
    statistic: impl Fn(&[usize]) -> f64 + Sync,
) -> Option<(f64, f64)> {
    if resamples == 0 || n == 0 {
        return None;
    }
    let mut estimates = crate::stats::parallel_map(resamples, |b| {
        let mut rng = crate::stats::resample_rng(seed, b);
        let rows: Vec<usize> = (0..n).map(|_| rng.usize(..n)).collect();
        statistic(&rows)
    });
    Some(crate::stats::percentile_interval(&mut estimates))
}

/// One estimate with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub value: f64,
    /// 95% percentile-bootstrap interval; `None` without resamples.
    pub interval: Option<(f64, f64)>,
}

impl Estimate {
    /// `statistic` on every row, with its bootstrap interval.
    pub fn of(
        n: usize,
        resamples: usize,
        seed: u64,
        statistic: impl Fn(&[usize]) -> f64 + Sync,
    ) -> Self {
        Estimate {
            value: statistic(&all_rows(n)),
            interval: bootstrap_interval(n, resamples, seed, statistic),
        }
    }

    /// Whether the interval contains `value` (false without an interval).
    pub fn contains(&self, value: f64) -> bool {
        self.interval
            .is_some_and(|(lo, hi)| lo <= value && value <= hi)
    }
}

/// IPS, SNIPS and DR of one evaluated policy on one log, with the weights' effective sample size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OpeEstimates {
    pub decisions: usize,
    pub ips: Estimate,
    pub snips: Estimate,
    pub dr: Estimate,
    pub effective_sample_size: f64,
    /// The largest importance weight.
    pub max_weight: f64,
}

/// The three estimators on `columns`, each with its bootstrap interval (the same resamples for
/// all three: resample `b` draws the same rows for each).
pub fn estimate_all(columns: &OpeColumns, resamples: usize, seed: u64) -> OpeEstimates {
    let n = columns.len();
    OpeEstimates {
        decisions: n,
        ips: Estimate::of(n, resamples, seed, |rows| ips(columns, rows)),
        snips: Estimate::of(n, resamples, seed, |rows| snips(columns, rows)),
        dr: Estimate::of(n, resamples, seed, |rows| dr(columns, rows)),
        effective_sample_size: effective_sample_size(&columns.weights),
        max_weight: columns.weights.iter().copied().fold(0.0, f64::max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Five decisions, computed by hand:
    /// weights 2, 0.5, 1, 0, 4; rewards 1, 0, 1, 1, 0;
    /// q_logged 0.5, 0.2, 0.4, 0.3, 0.1; q_target 0.4, 0.3, 0.5, 0.2, 0.2.
    fn table() -> OpeColumns {
        OpeColumns {
            weights: vec![2.0, 0.5, 1.0, 0.0, 4.0],
            rewards: vec![1.0, 0.0, 1.0, 1.0, 0.0],
            q_logged: vec![0.5, 0.2, 0.4, 0.3, 0.1],
            q_target: vec![0.4, 0.3, 0.5, 0.2, 0.2],
        }
    }

    #[test]
    fn hand_computed_values() {
        let c = table();
        let rows = all_rows(5);
        // IPS: (2 + 0 + 1 + 0 + 0) / 5 = 0.6
        assert!((ips(&c, &rows) - 0.6).abs() < 1e-12);
        // SNIPS: 3 / (2 + 0.5 + 1 + 0 + 4) = 3 / 7.5 = 0.4
        assert!((snips(&c, &rows) - 0.4).abs() < 1e-12);
        // DR terms: 0.4 + 2·0.5 = 1.4; 0.3 + 0.5·(−0.2) = 0.2; 0.5 + 1·0.6 = 1.1; 0.2 + 0 = 0.2;
        // 0.2 + 4·(−0.1) = −0.2; sum 2.7, mean 0.54.
        assert!((dr(&c, &rows) - 0.54).abs() < 1e-12);
        // ESS: 7.5² / (4 + 0.25 + 1 + 0 + 16) = 56.25 / 21.25
        assert!((effective_sample_size(&c.weights) - 56.25 / 21.25).abs() < 1e-12);
        assert!((mean_reward(&c, &rows) - 0.6).abs() < 1e-12);
        // Repeated rows count twice: rows 0, 0, 1 -> IPS (2 + 2 + 0) / 3.
        assert!((ips(&c, &[0, 0, 1]) - 4.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(effective_sample_size(&[0.0, 0.0]), 0.0);
        assert_eq!(effective_sample_size(&[1.0; 10]), 10.0);
        let c = table();
        assert_eq!(snips(&c, &[3]), 0.0);
        assert_eq!(ips(&c, &[]), 0.0);
        assert_eq!(bootstrap_interval(0, 100, 1, |_| 0.0), None);
        assert_eq!(bootstrap_interval(5, 0, 1, |_| 0.0), None);
    }

    #[test]
    fn bootstrap_is_deterministic_per_seed() {
        let c = table();
        let a = estimate_all(&c, 200, 7);
        let b = estimate_all(&c, 200, 7);
        assert_eq!(a, b);
        let (lo, hi) = a.ips.interval.unwrap();
        assert!(lo <= a.ips.value && a.ips.value <= hi);
        let other = estimate_all(&c, 200, 8);
        assert_ne!(a.ips.interval, other.ips.interval);
    }
}
