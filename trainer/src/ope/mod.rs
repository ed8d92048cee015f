//! Off-policy evaluation: how would another policy have done on the decisions a logging policy
//! made? Pure functions over a table of logged decisions ([`LoggedTable`]): each decision has a
//! context, the action (item) shown, the position it filled, the reward (click) and the logging
//! policy's propensity of that action at that position.
//!
//! - [`estimators`]: IPS, SNIPS and doubly robust, each with a 95% bootstrap interval, and the
//!   effective sample size `(Σw)²/Σw²` of the importance weights.
//! - [`reward`]: the reward model of DR, a click rate per (action, position) shrunk towards the
//!   action's rate and that towards the log's rate, fitted by cross-fitting (each decision's
//!   prediction comes from a model fitted on the other folds, so DR carries no overfitting bias).
//! - [`readers`]: the Open Bandit CSV format and edgerec's own logged-decision JSON lines.
//! - [`open_bandit`]: the Open Bandit Dataset check (each of the A/B-tested policies' click
//!   rate estimated from the other's logs) and a policy learned from the uniform-random logs.
//!
//! Policies are per-position action distributions (`π(a | x, p)`, [`Policy`]); the importance
//! weight of a logged decision is `π_e(a|x,p) / propensity`. An evaluated policy that puts mass on
//! (action, position) pairs the log never shows cannot be estimated there by IPS/SNIPS (they
//! see only what was logged); [`columns`] reports that mass as `unsupported_mass` so the bias
//! is visible, and DR covers it through its reward model.

pub mod estimators;
pub mod open_bandit;
pub mod readers;
pub mod reward;

use serde::{Deserialize, Serialize};

pub use estimators::{estimate_all, Estimate, OpeColumns, OpeEstimates};

/// One logged decision. `position` and `action` are 0-based indices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedDecision {
    /// Numeric context features (Open Bandit: the user-item affinity of every item, by item id).
    #[serde(default)]
    pub context: Vec<f64>,
    pub action: usize,
    #[serde(default)]
    pub position: usize,
    pub reward: f64,
    /// The logging policy's probability of `action` at `position` given the context, in (0, 1].
    pub propensity: f64,
}

/// A log of decisions over `actions` actions and `positions` positions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoggedTable {
    pub actions: usize,
    pub positions: usize,
    pub decisions: Vec<LoggedDecision>,
}

impl LoggedTable {
    /// A table whose action and position counts are at least what the decisions use.
    pub fn new(decisions: Vec<LoggedDecision>, actions: usize, positions: usize) -> Self {
        let actions = decisions
            .iter()
            .map(|d| d.action + 1)
            .fold(actions, usize::max);
        let positions = decisions
            .iter()
            .map(|d| d.position + 1)
            .fold(positions, usize::max);
        LoggedTable {
            actions,
            positions,
            decisions,
        }
    }

    pub fn len(&self) -> usize {
        self.decisions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.decisions.is_empty()
    }

    /// The mean reward (the logging policy's on-policy value).
    pub fn mean_reward(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        self.decisions.iter().map(|d| d.reward).sum::<f64>() / self.len() as f64
    }

    /// Count of decisions per (position, action), `[position][action]`.
    pub fn counts(&self) -> Vec<Vec<usize>> {
        let mut counts = vec![vec![0; self.actions]; self.positions];
        for d in &self.decisions {
            counts[d.position][d.action] += 1;
        }
        counts
    }

    /// The rows `rows` as a table of their own (same action and position counts).
    pub fn subset(&self, rows: &[usize]) -> LoggedTable {
        LoggedTable {
            actions: self.actions,
            positions: self.positions,
            decisions: rows.iter().map(|&i| self.decisions[i].clone()).collect(),
        }
    }
}

/// A policy to evaluate: its action distribution for a decision's context and position.
pub trait Policy: Sync {
    /// Writes `π(a | context, position)` for every action `a` into `out` (length = actions).
    fn distribution(&self, decision: &LoggedDecision, out: &mut [f64]);
}

/// A context-free policy: one action distribution per position, `[position][action]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PositionPolicy {
    pub probabilities: Vec<Vec<f64>>,
}

impl PositionPolicy {
    /// Every action equally likely at every position.
    pub fn uniform(actions: usize, positions: usize) -> Self {
        PositionPolicy {
            probabilities: vec![vec![1.0 / actions as f64; actions]; positions],
        }
    }

    /// The logging policy's average action distribution per position, estimated by how often
    /// each action fills each position in `table` (a context-free policy's marginal over the
    /// logging period). Pairs the log never shows get probability 0; a position with no
    /// decisions at all is uniform.
    pub fn empirical(table: &LoggedTable) -> Self {
        let probabilities = table
            .counts()
            .into_iter()
            .map(|row| {
                let total: usize = row.iter().sum();
                if total == 0 {
                    vec![1.0 / table.actions as f64; table.actions]
                } else {
                    row.iter().map(|&c| c as f64 / total as f64).collect()
                }
            })
            .collect();
        PositionPolicy { probabilities }
    }

    /// The same policy over at least `actions` actions and `positions` positions (new actions get
    /// probability 0, new positions are uniform).
    pub fn widened(mut self, actions: usize, positions: usize) -> Self {
        let actions = self
            .probabilities
            .first()
            .map_or(actions, |r| r.len().max(actions));
        for row in &mut self.probabilities {
            row.resize(actions, 0.0);
        }
        while self.probabilities.len() < positions {
            self.probabilities.push(vec![1.0 / actions as f64; actions]);
        }
        self
    }
}

impl Policy for PositionPolicy {
    fn distribution(&self, decision: &LoggedDecision, out: &mut [f64]) {
        match self.probabilities.get(decision.position) {
            Some(row) => {
                out.fill(0.0);
                for (o, &p) in out.iter_mut().zip(row) {
                    *o = p;
                }
            }
            None => out.fill(1.0 / out.len() as f64),
        }
    }
}

/// The estimators' columns for evaluating `policy` on `log`, with the reward model's
/// cross-fitted predictions (`predictions[i][a]` = `q̂(x_i, a, p_i)` for decision `i`).
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationColumns {
    pub columns: OpeColumns,
    /// Mean over decisions of the evaluated policy's mass on (action, position) pairs that never
    /// occur in the log: what IPS and SNIPS cannot see.
    pub unsupported_mass: f64,
    /// Decisions whose logged action the evaluated policy never takes (weight 0).
    pub zero_weight_decisions: usize,
}

/// Builds the estimators' columns of `policy` on `log` from the reward model's per-decision
/// predictions over all actions (`predictions(i, out)` writes `q̂(x_i, ·, p_i)`).
pub fn columns(
    log: &LoggedTable,
    policy: &dyn Policy,
    predictions: impl Fn(usize, &mut [f64]),
) -> EvaluationColumns {
    let counts = log.counts();
    let n = log.len();
    let mut c = OpeColumns {
        weights: Vec::with_capacity(n),
        rewards: Vec::with_capacity(n),
        q_logged: Vec::with_capacity(n),
        q_target: Vec::with_capacity(n),
    };
    let mut pi = vec![0.0; log.actions];
    let mut q = vec![0.0; log.actions];
    let mut unsupported = 0.0;
    let mut zero = 0;
    for (i, d) in log.decisions.iter().enumerate() {
        policy.distribution(d, &mut pi);
        predictions(i, &mut q);
        let w = pi[d.action] / d.propensity;
        if w == 0.0 {
            zero += 1;
        }
        c.weights.push(w);
        c.rewards.push(d.reward);
        c.q_logged.push(q[d.action]);
        c.q_target.push(pi.iter().zip(&q).map(|(p, q)| p * q).sum());
        unsupported += pi
            .iter()
            .zip(&counts[d.position])
            .filter(|(_, &count)| count == 0)
            .map(|(p, _)| p)
            .sum::<f64>();
    }
    EvaluationColumns {
        columns: c,
        unsupported_mass: if n == 0 { 0.0 } else { unsupported / n as f64 },
        zero_weight_decisions: zero,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(action: usize, reward: f64, propensity: f64) -> LoggedDecision {
        LoggedDecision {
            context: vec![],
            action,
            position: 0,
            reward,
            propensity,
        }
    }

    /// Four decisions over three actions (action 2 never logged), one position; the evaluated
    /// policy is (0.75, 0.2, 0.05), the reward model predicts (0.4, 0.2, 0.1) everywhere.
    #[test]
    fn columns_and_estimates_by_hand() {
        let log = LoggedTable::new(
            vec![
                d(0, 1.0, 0.5),
                d(1, 0.0, 0.5),
                d(0, 0.0, 0.25),
                d(1, 1.0, 0.8),
            ],
            3,
            1,
        );
        let policy = PositionPolicy {
            probabilities: vec![vec![0.75, 0.2, 0.05]],
        };
        let cols = columns(&log, &policy, |_, out| {
            out.copy_from_slice(&[0.4, 0.2, 0.1])
        });
        // weights 0.75/0.5, 0.2/0.5, 0.75/0.25, 0.2/0.8
        assert_eq!(cols.columns.weights, vec![1.5, 0.4, 3.0, 0.25]);
        assert!((cols.unsupported_mass - 0.05).abs() < 1e-12);
        assert_eq!(cols.zero_weight_decisions, 0);
        let est = estimate_all(&cols.columns, 0, 1);
        // IPS: (1.5 + 0.25) / 4 = 0.4375
        assert!((est.ips.value - 0.4375).abs() < 1e-12);
        // SNIPS: 1.75 / 5.15
        assert!((est.snips.value - 1.75 / 5.15).abs() < 1e-12);
        // DR: q_target = 0.3 + 0.04 + 0.005 = 0.345; terms 0.345 + 1.5·0.6 = 1.245,
        // 0.345 − 0.4·0.2 = 0.265, 0.345 − 3·0.4 = −0.855, 0.345 + 0.25·0.8 = 0.545; mean 0.3
        assert!((est.dr.value - 0.3).abs() < 1e-12);
        // ESS: 5.15² / (2.25 + 0.16 + 9 + 0.0625)
        assert!((est.effective_sample_size - 5.15 * 5.15 / 11.4725).abs() < 1e-12);
        assert_eq!(est.ips.interval, None);
    }

    #[test]
    fn empirical_policy_is_the_share_per_position() {
        let mut rows = vec![d(0, 0.0, 0.5), d(0, 0.0, 0.5), d(1, 0.0, 0.5)];
        rows.push(LoggedDecision {
            position: 1,
            ..d(2, 0.0, 0.5)
        });
        let log = LoggedTable::new(rows, 4, 3);
        let p = PositionPolicy::empirical(&log);
        assert_eq!(p.probabilities[0], vec![2.0 / 3.0, 1.0 / 3.0, 0.0, 0.0]);
        assert_eq!(p.probabilities[1], vec![0.0, 0.0, 1.0, 0.0]);
        // A position with no decisions is uniform.
        assert_eq!(p.probabilities[2], vec![0.25; 4]);
    }
}
