//! LinUCB, a linear contextual bandit (one ridge regression per arm, "disjoint" model) on a
//! small dense context vector (d ≤ [`MAX_DIM`]): page, device, time of day, session features.
//!
//! Why LinUCB rather than LinTS: its greedy choice is a deterministic function of the
//! statistics and the context, so the propensities are exact in closed form
//! (ε / K + (1 − ε) on the UCB winner, ε / K elsewhere) with no Monte-Carlo estimate, no
//! multivariate normal draws, and one Cholesky factorisation per arm per decision.
//!
//! Statistics per arm: A = λI + Σ x xᵀ and b = Σ r x. The state stores only the sums (λ is
//! configuration), in exact **fixed point**: features and rewards are rounded to multiples of
//! 2⁻¹² and the products accumulate in `i64` (checked: an overflow is an error, never a wrap).
//! Integer addition is associative and commutative, so merged replicas equal a single replica
//! bit for bit, whatever the merge order. The solve converts the sums to `f64` and runs a Cholesky
//! factorisation and triangular solves in a fixed loop order, using only IEEE basic operations,
//! so native and wasm compute the same scores.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{add_i64, add_u64, bad_config, input, sub_i64, sub_u64, StrategyError};
use super::{check_arms, check_floor, draw, Choice, DecisionRng};

/// The largest context dimension.
pub const MAX_DIM: usize = 32;
/// The largest feature magnitude (features are fixed point with step 2⁻¹²; scale them into
/// this range, e.g. one-hot, fractions, standardised values).
pub const MAX_FEATURE_ABS: f64 = 16.0;
/// The largest reward magnitude (e.g. a margin in currency units).
pub const MAX_REWARD_ABS: f64 = 65536.0;
/// Fixed-point scale of features and rewards: 2¹².
const SCALE: f64 = 4096.0;

/// How a LinUCB learner chooses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinUcbConfig {
    /// Context dimension d, 1 to [`MAX_DIM`].
    pub dim: usize,
    /// Ridge λ > 0 (A starts at λI).
    #[serde(default = "default_lambda")]
    pub lambda: f64,
    /// Width of the confidence bonus α ≥ 0: score = θᵀx + α √(xᵀA⁻¹x).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Exploration floor ε in [0, 1]: every arm is chosen with probability at least ε / |arms|.
    #[serde(default = "default_floor")]
    pub floor: f64,
}

fn default_lambda() -> f64 {
    1.0
}
fn default_alpha() -> f64 {
    1.0
}
fn default_floor() -> f64 {
    0.05
}

/// One arm's sums in fixed point (units 2⁻¹² for x and r, 2⁻²⁴ for products).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearArmStats {
    /// Number of updates.
    pub n: u64,
    /// Σ x xᵀ, the upper triangle row by row (d(d+1)/2 entries).
    pub xx: Vec<i64>,
    /// Σ r x (d entries).
    pub rx: Vec<i64>,
}

/// A LinUCB learner's sufficient statistics: the dimension and the sums per arm. Only
/// `update`, `merge` and a checked deserialisation change them, so the vector lengths always
/// match the dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearStats {
    pub(crate) dim: usize,
    pub(crate) arms: BTreeMap<String, LinearArmStats>,
}

fn quantize(v: f64, limit: f64, field: &str) -> Result<i64, StrategyError> {
    if !v.is_finite() || v.abs() > limit {
        return Err(input(
            field,
            format!("must be finite with magnitude at most {limit}, found {v}"),
        ));
    }
    // A power-of-two scale is exact; the rounding is the only approximation.
    Ok(libm::round(v * SCALE) as i64)
}

impl LinearStats {
    /// Empty statistics for contexts of dimension `dim`.
    pub fn new(dim: usize) -> Result<Self, StrategyError> {
        check_dim(dim)?;
        Ok(Self {
            dim,
            arms: BTreeMap::new(),
        })
    }

    /// The context dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The sums of `arm` (`None` when it never learned).
    pub fn arm(&self, arm: &str) -> Option<&LinearArmStats> {
        self.arms.get(arm)
    }

    /// Records that `arm`, shown in `context`, earned `reward`. Atomic: on error nothing changes.
    pub fn update(&mut self, arm: &str, context: &[f64], reward: f64) -> Result<(), StrategyError> {
        let x = self.quantize_context(context)?;
        let r = quantize(reward, MAX_REWARD_ABS, "reward")?;
        let d = self.dim;
        let mut next = self
            .arms
            .get(arm)
            .cloned()
            .unwrap_or_else(|| LinearArmStats::empty(d));
        next.n = add_u64(next.n, 1, "n")?;
        let mut k = 0;
        for i in 0..d {
            for j in i..d {
                next.xx[k] = add_i64(next.xx[k], x[i] * x[j], "xx")?;
                k += 1;
            }
            next.rx[i] = add_i64(next.rx[i], r * x[i], "rx")?;
        }
        self.arms.insert(arm.to_string(), next);
        Ok(())
    }

    /// Adds `other`'s sums to these (exact integer addition).
    pub(crate) fn merge(&mut self, other: &Self) -> Result<(), StrategyError> {
        if self.dim != other.dim {
            return Err(StrategyError::MergeConflict {
                field: "dim".into(),
                message: format!("dimension {} against {}", self.dim, other.dim),
            });
        }
        for (arm, o) in &other.arms {
            let m = self
                .arms
                .entry(arm.clone())
                .or_insert_with(|| LinearArmStats::empty(other.dim));
            m.n = add_u64(m.n, o.n, "n")?;
            for (a, b) in m.xx.iter_mut().zip(&o.xx) {
                *a = add_i64(*a, *b, "xx")?;
            }
            for (a, b) in m.rx.iter_mut().zip(&o.rx) {
                *a = add_i64(*a, *b, "rx")?;
            }
        }
        Ok(())
    }

    /// These sums minus `base`'s (an earlier snapshot), dropping arms that did not change.
    pub(crate) fn subtract(&mut self, base: &Self) -> Result<(), StrategyError> {
        if self.dim != base.dim {
            return Err(StrategyError::MergeConflict {
                field: "dim".into(),
                message: format!("dimension {} against {}", self.dim, base.dim),
            });
        }
        for (arm, o) in &base.arms {
            let m = self
                .arms
                .entry(arm.clone())
                .or_insert_with(|| LinearArmStats::empty(base.dim));
            m.n = sub_u64(m.n, o.n, "n")?;
            for (a, b) in m.xx.iter_mut().zip(&o.xx) {
                *a = sub_i64(*a, *b, "xx")?;
            }
            for (a, b) in m.rx.iter_mut().zip(&o.rx) {
                *a = sub_i64(*a, *b, "rx")?;
            }
        }
        self.arms.retain(|_, s| s.n != 0);
        Ok(())
    }

    /// Checks a deserialised value: the dimension and every arm's vector lengths.
    pub(crate) fn validate(&self, path: &str) -> Result<(), StrategyError> {
        check_dim(self.dim).map_err(|e| StrategyError::InvalidState {
            field: format!("{path}.dim"),
            message: e.to_string(),
        })?;
        let d = self.dim;
        for (arm, s) in &self.arms {
            let bad = |field: &str, want: usize, got: usize| StrategyError::InvalidState {
                field: format!("{path}.arms.{arm}.{field}"),
                message: format!("expected {want} entries for dimension {d}, found {got}"),
            };
            if s.xx.len() != d * (d + 1) / 2 {
                return Err(bad("xx", d * (d + 1) / 2, s.xx.len()));
            }
            if s.rx.len() != d {
                return Err(bad("rx", d, s.rx.len()));
            }
        }
        Ok(())
    }

    fn quantize_context(&self, context: &[f64]) -> Result<Vec<i64>, StrategyError> {
        if context.len() != self.dim {
            return Err(input(
                "context",
                format!("expected {} features, found {}", self.dim, context.len()),
            ));
        }
        context
            .iter()
            .map(|&v| quantize(v, MAX_FEATURE_ABS, "context"))
            .collect()
    }
}

impl LinearArmStats {
    fn empty(d: usize) -> Self {
        Self {
            n: 0,
            xx: vec![0; d * (d + 1) / 2],
            rx: vec![0; d],
        }
    }
}

fn check_dim(dim: usize) -> Result<(), StrategyError> {
    if !(1..=MAX_DIM).contains(&dim) {
        return Err(bad_config(
            "dim",
            format!("must be between 1 and {MAX_DIM}, found {dim}"),
        ));
    }
    Ok(())
}

/// A LinUCB learner: the configuration; the statistics are passed in.
#[derive(Debug, Clone, PartialEq)]
pub struct LinUcb {
    config: LinUcbConfig,
}

impl LinUcb {
    /// A learner, once its configuration is checked.
    pub fn new(config: LinUcbConfig) -> Result<Self, StrategyError> {
        check_dim(config.dim)?;
        if !(config.lambda > 0.0 && config.lambda.is_finite()) {
            return Err(super::error::bad_config(
                "lambda",
                format!("must be positive and finite, found {}", config.lambda),
            ));
        }
        if !(config.alpha >= 0.0 && config.alpha.is_finite()) {
            return Err(super::error::bad_config(
                "alpha",
                format!("must be non-negative and finite, found {}", config.alpha),
            ));
        }
        check_floor(config.floor)?;
        Ok(Self { config })
    }

    pub fn config(&self) -> &LinUcbConfig {
        &self.config
    }

    /// Every arm's upper confidence bound θᵀx + α √(xᵀA⁻¹x) in `context` (arms never updated
    /// have θ = 0 and A = λI).
    pub fn scores(
        &self,
        stats: &LinearStats,
        context: &[f64],
        arms: &[&str],
    ) -> Result<Vec<f64>, StrategyError> {
        if stats.dim != self.config.dim {
            return Err(input(
                "stats.dim",
                format!(
                    "the learner has dimension {}, the statistics {}",
                    self.config.dim, stats.dim
                ),
            ));
        }
        // The context the statistics saw: rounded the same way.
        let x: Vec<f64> = stats
            .quantize_context(context)?
            .into_iter()
            .map(|v| v as f64 / SCALE)
            .collect();
        let empty = LinearArmStats::empty(self.config.dim);
        arms.iter()
            .map(|arm| self.ucb(stats.arms.get(*arm).unwrap_or(&empty), &x))
            .collect()
    }

    /// Chooses one of `arms` in `context`: the highest UCB (ties to the earlier arm) with
    /// probability 1 − ε, uniform with probability ε; the probabilities are exact.
    pub fn choose(
        &self,
        stats: &LinearStats,
        context: &[f64],
        arms: &[&str],
        rng: &mut DecisionRng,
    ) -> Result<Choice, StrategyError> {
        check_arms(arms)?;
        let scores = self.scores(stats, context, arms)?;
        let mut best = 0;
        for (i, &s) in scores.iter().enumerate() {
            if s > scores[best] {
                best = i;
            }
        }
        let mut q = vec![0.0; arms.len()];
        q[best] = 1.0;
        Ok(draw(&q, self.config.floor, rng))
    }

    fn ucb(&self, s: &LinearArmStats, x: &[f64]) -> Result<f64, StrategyError> {
        let d = self.config.dim;
        let unit = 1.0 / (SCALE * SCALE);
        // A = λI + Σxxᵀ, full symmetric, row-major.
        let mut a = vec![0.0; d * d];
        let mut k = 0;
        for i in 0..d {
            for j in i..d {
                let v = s.xx[k] as f64 * unit;
                a[i * d + j] = v;
                a[j * d + i] = v;
                k += 1;
            }
            a[i * d + i] += self.config.lambda;
        }
        let b: Vec<f64> = s.rx.iter().map(|&v| v as f64 * unit).collect();
        let l = cholesky(&a, d).ok_or_else(|| StrategyError::InvalidState {
            field: "xx".into(),
            message: "the design matrix is not positive definite".into(),
        })?;
        // θ = A⁻¹b through L Lᵀ θ = b; the bonus through z = L⁻¹x, xᵀA⁻¹x = |z|².
        let theta = solve_upper(&l, d, &solve_lower(&l, d, &b));
        let z = solve_lower(&l, d, x);
        let mut mean = 0.0;
        let mut width2 = 0.0;
        for i in 0..d {
            mean += theta[i] * x[i];
            width2 += z[i] * z[i];
        }
        Ok(mean + self.config.alpha * libm::sqrt(width2))
    }
}

/// The lower Cholesky factor of the d×d row-major matrix `a`, in a fixed loop order; `None`
/// when `a` is not (numerically) positive definite.
fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for j in 0..d {
        let mut s = a[j * d + j];
        for k in 0..j {
            s -= l[j * d + k] * l[j * d + k];
        }
        if !(s > 0.0 && s.is_finite()) {
            return None;
        }
        let diag = libm::sqrt(s);
        l[j * d + j] = diag;
        for i in j + 1..d {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            l[i * d + j] = s / diag;
        }
    }
    Some(l)
}

/// Solves L y = b (forward substitution).
fn solve_lower(l: &[f64], d: usize, b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; d];
    for i in 0..d {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * d + k] * y[k];
        }
        y[i] = s / l[i * d + i];
    }
    y
}

/// Solves Lᵀ x = y (back substitution).
fn solve_upper(l: &[f64], d: usize, y: &[f64]) -> Vec<f64> {
    let mut x = vec![0.0; d];
    for i in (0..d).rev() {
        let mut s = y[i];
        for k in i + 1..d {
            s -= l[k * d + i] * x[k];
        }
        x[i] = s / l[i * d + i];
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learner(dim: usize, floor: f64) -> LinUcb {
        LinUcb::new(LinUcbConfig {
            dim,
            lambda: 1.0,
            alpha: 0.5,
            floor,
        })
        .unwrap()
    }

    #[test]
    fn ridge_solution_matches_a_hand_computed_one() {
        // d = 1, λ = 1, one update x = 2, r = 3: A = 1 + 4 = 5, b = 6, θ = 1.2;
        // at x = 1: mean 1.2, bonus 0.5 · √(1/5).
        let l = learner(1, 0.0);
        let mut s = LinearStats::new(1).unwrap();
        s.update("a", &[2.0], 3.0).unwrap();
        let got = l.scores(&s, &[1.0], &["a", "b"]).unwrap();
        assert!((got[0] - (1.2 + 0.5 * (0.2f64).sqrt())).abs() < 1e-12);
        assert!((got[1] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn learns_which_arm_pays_in_which_context() {
        // Two contexts (one-hot + bias); arm "x" pays in context 0, arm "y" in context 1.
        let l = learner(3, 0.1);
        let mut s = LinearStats::new(3).unwrap();
        let mut world = DecisionRng::new(5);
        let arms = ["x", "y"];
        let ctx = |c: usize| {
            if c == 0 {
                [1.0, 0.0, 1.0]
            } else {
                [0.0, 1.0, 1.0]
            }
        };
        for round in 0..3000u32 {
            let c = (round % 2) as usize;
            let mut rng = DecisionRng::for_request(3, &round.to_string());
            let choice = l.choose(&s, &ctx(c), &arms, &mut rng).unwrap();
            let p = if choice.arm == c { 0.3 } else { 0.1 };
            let r = if world.next_f64() < p { 1.0 } else { 0.0 };
            s.update(arms[choice.arm], &ctx(c), r).unwrap();
        }
        for c in 0..2 {
            let choice = l
                .choose(&s, &ctx(c), &arms, &mut DecisionRng::new(1))
                .unwrap();
            assert!(choice.probabilities[c] > 0.9, "context {c}: {choice:?}");
        }
    }

    #[test]
    fn inputs_are_checked_with_named_fields() {
        let l = learner(2, 0.1);
        let mut s = LinearStats::new(2).unwrap();
        assert_eq!(s.update("a", &[1.0], 1.0).unwrap_err().field(), "context");
        assert_eq!(
            s.update("a", &[1.0, f64::NAN], 1.0).unwrap_err().field(),
            "context"
        );
        assert_eq!(
            s.update("a", &[1.0, 0.0], f64::INFINITY)
                .unwrap_err()
                .field(),
            "reward"
        );
        assert!(s.arms.is_empty(), "failed updates change nothing");
        let other = LinearStats::new(3).unwrap();
        assert_eq!(
            l.scores(&other, &[0.0; 3], &["a"]).unwrap_err().field(),
            "stats.dim"
        );
        assert_eq!(LinearStats::new(0).unwrap_err().field(), "dim");
        assert_eq!(LinearStats::new(33).unwrap_err().field(), "dim");
        assert_eq!(s.merge(&other).unwrap_err().code(), "merge_conflict");
    }
}
