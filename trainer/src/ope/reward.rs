//! DR's reward model: the click rate per (action, position), shrunk towards the action's rate
//! over all positions, which is shrunk towards the log's overall rate:
//!
//! `q(a) = (clicks(a) + m·g) / (shown(a) + m)`, `q(a, p) = (clicks(a, p) + m·q(a)) / (shown(a, p) + m)`
//!
//! with `g` the log's mean reward and `m` the prior strength (pseudo-decisions). Actions or pairs
//! never shown get the rate they shrink to. It is fitted by cross-fitting: decisions are split
//! into `folds` seeded folds and each decision's prediction comes from the model of the other
//! folds.

use serde::Serialize;

use super::LoggedTable;

/// Settings of the reward model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RewardConfig {
    /// Pseudo-decisions of the shrinkage prior (`m`).
    pub prior_strength: f64,
    /// Cross-fitting folds (at least 2; 1 fits and predicts on the same decisions).
    pub folds: usize,
    pub seed: u64,
}

impl Default for RewardConfig {
    fn default() -> Self {
        RewardConfig {
            prior_strength: 100.0,
            folds: 5,
            seed: 17,
        }
    }
}

/// Fitted rates `[position][action]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateModel {
    pub rates: Vec<Vec<f64>>,
}

impl RateModel {
    /// Fits on the decisions `rows` of `log`.
    pub fn fit(log: &LoggedTable, rows: &[usize], prior_strength: f64) -> Self {
        let (a_n, p_n) = (log.actions, log.positions);
        let mut shown = vec![vec![0.0; a_n]; p_n];
        let mut clicks = vec![vec![0.0; a_n]; p_n];
        let mut total = 0.0;
        for &i in rows {
            let d = &log.decisions[i];
            shown[d.position][d.action] += 1.0;
            clicks[d.position][d.action] += d.reward;
            total += d.reward;
        }
        let global = if rows.is_empty() {
            0.0
        } else {
            total / rows.len() as f64
        };
        let m = prior_strength;
        let action_rate: Vec<f64> = (0..a_n)
            .map(|a| {
                let s: f64 = (0..p_n).map(|p| shown[p][a]).sum();
                let c: f64 = (0..p_n).map(|p| clicks[p][a]).sum();
                (c + m * global) / (s + m).max(f64::MIN_POSITIVE)
            })
            .collect();
        let rates = (0..p_n)
            .map(|p| {
                (0..a_n)
                    .map(|a| {
                        (clicks[p][a] + m * action_rate[a])
                            / (shown[p][a] + m).max(f64::MIN_POSITIVE)
                    })
                    .collect()
            })
            .collect();
        RateModel { rates }
    }

    /// `q(·, position)` into `out`.
    pub fn predict(&self, position: usize, out: &mut [f64]) {
        out.copy_from_slice(&self.rates[position]);
    }
}

/// Seeded fold of every decision (a shuffled round-robin, so folds differ in size by at most 1).
pub fn fold_of(n: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    fastrand::Rng::with_seed(seed).shuffle(&mut order);
    let mut fold = vec![0; n];
    for (k, &i) in order.iter().enumerate() {
        fold[i] = k % folds.max(1);
    }
    fold
}

/// The cross-fitted reward model of `log`: one model per fold, fitted on the other folds.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossFitted {
    pub fold: Vec<usize>,
    pub models: Vec<RateModel>,
}

impl CrossFitted {
    pub fn fit(log: &LoggedTable, config: &RewardConfig) -> Self {
        let folds = config.folds.max(1);
        let fold = fold_of(log.len(), folds, config.seed);
        let models = (0..folds)
            .map(|k| {
                let rows: Vec<usize> = (0..log.len())
                    .filter(|&i| folds == 1 || fold[i] != k)
                    .collect();
                RateModel::fit(log, &rows, config.prior_strength)
            })
            .collect();
        CrossFitted { fold, models }
    }

    /// `q̂(x_i, ·, p_i)` of decision `i` from the model that did not see it.
    pub fn predict(&self, log: &LoggedTable, i: usize, out: &mut [f64]) {
        self.models[self.fold[i]].predict(log.decisions[i].position, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ope::LoggedDecision;

    fn d(action: usize, position: usize, reward: f64) -> LoggedDecision {
        LoggedDecision {
            context: vec![],
            action,
            position,
            reward,
            propensity: 0.5,
        }
    }

    #[test]
    fn shrunk_rates_by_hand() {
        // Action 0 at position 0: 2 shown, 1 click; action 1 at position 0: 2 shown, 0 clicks.
        let log = LoggedTable::new(
            vec![d(0, 0, 1.0), d(0, 0, 0.0), d(1, 0, 0.0), d(1, 0, 0.0)],
            2,
            1,
        );
        let model = RateModel::fit(&log, &[0, 1, 2, 3], 2.0);
        // g = 1/4; q(0) = (1 + 0.5) / 4 = 0.375; q(0,0) = (1 + 0.75) / 4 = 0.4375
        assert!((model.rates[0][0] - 0.4375).abs() < 1e-12);
        // q(1) = 0.5 / 4 = 0.125; q(1,0) = (0 + 0.25) / 4 = 0.0625
        assert!((model.rates[0][1] - 0.0625).abs() < 1e-12);
    }

    #[test]
    fn cross_fitting_never_predicts_from_the_own_fold() {
        let log = LoggedTable::new((0..20).map(|i| d(i % 2, 0, (i % 3) as f64)).collect(), 2, 1);
        let cf = CrossFitted::fit(
            &log,
            &RewardConfig {
                folds: 4,
                ..RewardConfig::default()
            },
        );
        assert_eq!(cf.models.len(), 4);
        for k in 0..4 {
            assert_eq!(cf.fold.iter().filter(|&&f| f == k).count(), 5);
        }
        assert_eq!(cf.fold, fold_of(20, 4, RewardConfig::default().seed));
    }
}
