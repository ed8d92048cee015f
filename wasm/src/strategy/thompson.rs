//! Beta-Bernoulli Thompson sampling per arm, optionally per segment (a string key such as a
//! device or a page type), with a Beta prior.
//!
//! The statistics are integer success and failure counts ([`ThompsonStats`]); the prior lives in
//! the configuration, not in the state, so replicas' states add up exactly.
//!
//! Propensities: Thompson sampling's choice probabilities have no closed form for more than two
//! arms, so `choose` estimates them with a fixed number of seeded Monte-Carlo draws (each draw
//! samples every arm's posterior and records the winner), mixes that estimate with uniform by the
//! floor ε, and then draws the arm *from that mixture*. The logged probabilities are therefore
//! exactly the distribution the arm came from (not an estimate of it), every one is at least
//! ε / |arms|, and since the Monte-Carlo frequencies are unbiased, the arm's marginal law is
//! still Thompson sampling's (mixed with ε uniform).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{add_u64, bad_config, sub_u64, StrategyError};
use super::{check_arms, check_floor, draw, Choice, DecisionRng};

/// A Beta(α, β) prior on every arm's success rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BetaPrior {
    pub alpha: f64,
    pub beta: f64,
}

impl Default for BetaPrior {
    /// The uniform prior Beta(1, 1).
    fn default() -> Self {
        Self {
            alpha: 1.0,
            beta: 1.0,
        }
    }
}

/// How a Thompson learner chooses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThompsonConfig {
    pub prior: BetaPrior,
    /// Exploration floor ε in [0, 1]: every arm is chosen with probability at least ε / |arms|.
    pub floor: f64,
    /// Monte-Carlo draws that estimate the choice probabilities (1 to 100 000).
    pub draws: u32,
}

impl Default for ThompsonConfig {
    fn default() -> Self {
        Self {
            prior: BetaPrior::default(),
            floor: 0.05,
            draws: 256,
        }
    }
}

/// One arm's outcome counts in one segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmCounts {
    pub successes: u64,
    pub failures: u64,
}

/// A Thompson learner's sufficient statistics: counts per segment per arm (segment `""` when no
/// segment is given). Ordered maps, so serialisation and iteration are deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThompsonStats {
    pub segments: BTreeMap<String, BTreeMap<String, ArmCounts>>,
}

impl ThompsonStats {
    /// The counts of `arm` in `segment` (zero when never updated).
    pub fn counts(&self, segment: Option<&str>, arm: &str) -> ArmCounts {
        self.segments
            .get(segment.unwrap_or(""))
            .and_then(|arms| arms.get(arm))
            .copied()
            .unwrap_or_default()
    }

    /// Records one Bernoulli outcome of `arm` in `segment`.
    pub fn update(
        &mut self,
        segment: Option<&str>,
        arm: &str,
        success: bool,
    ) -> Result<(), StrategyError> {
        let c = self
            .segments
            .entry(segment.unwrap_or("").to_string())
            .or_default()
            .entry(arm.to_string())
            .or_default();
        if success {
            c.successes = add_u64(c.successes, 1, "successes")?;
        } else {
            c.failures = add_u64(c.failures, 1, "failures")?;
        }
        Ok(())
    }

    /// These counts minus `base`'s (an earlier snapshot), dropping arms that did not change.
    pub(crate) fn subtract(&mut self, base: &Self) -> Result<(), StrategyError> {
        for (segment, arms) in &base.segments {
            let mine = self.segments.entry(segment.clone()).or_default();
            for (arm, c) in arms {
                let m = mine.entry(arm.clone()).or_default();
                m.successes = sub_u64(m.successes, c.successes, "successes")?;
                m.failures = sub_u64(m.failures, c.failures, "failures")?;
            }
        }
        for arms in self.segments.values_mut() {
            arms.retain(|_, c| *c != ArmCounts::default());
        }
        self.segments.retain(|_, arms| !arms.is_empty());
        Ok(())
    }

    /// Adds `other`'s counts to these (exact, associative and commutative).
    pub(crate) fn merge(&mut self, other: &Self) -> Result<(), StrategyError> {
        for (segment, arms) in &other.segments {
            let mine = self.segments.entry(segment.clone()).or_default();
            for (arm, c) in arms {
                let m = mine.entry(arm.clone()).or_default();
                m.successes = add_u64(m.successes, c.successes, "successes")?;
                m.failures = add_u64(m.failures, c.failures, "failures")?;
            }
        }
        Ok(())
    }
}

/// A Beta-Bernoulli Thompson sampler: the configuration; the statistics are passed in.
#[derive(Debug, Clone, PartialEq)]
pub struct Thompson {
    config: ThompsonConfig,
}

impl Thompson {
    /// A learner, once its configuration is checked.
    pub fn new(config: ThompsonConfig) -> Result<Self, StrategyError> {
        let p = config.prior;
        if !(p.alpha > 0.0 && p.alpha.is_finite()) {
            return Err(config_err("prior.alpha", p.alpha));
        }
        if !(p.beta > 0.0 && p.beta.is_finite()) {
            return Err(config_err("prior.beta", p.beta));
        }
        check_floor(config.floor)?;
        if !(1..=100_000).contains(&config.draws) {
            return Err(bad_config(
                "draws",
                format!("must be between 1 and 100000, found {}", config.draws),
            ));
        }
        Ok(Self { config })
    }

    pub fn config(&self) -> &ThompsonConfig {
        &self.config
    }

    /// Chooses one of `arms` for `segment` from the posteriors in `stats` (see the module doc
    /// for how the probabilities are obtained). Ties in a draw go to the earlier arm.
    pub fn choose(
        &self,
        stats: &ThompsonStats,
        segment: Option<&str>,
        arms: &[&str],
        rng: &mut DecisionRng,
    ) -> Result<Choice, StrategyError> {
        check_arms(arms)?;
        let posteriors: Vec<(f64, f64)> = arms
            .iter()
            .map(|arm| {
                let c = stats.counts(segment, arm);
                (
                    self.config.prior.alpha + c.successes as f64,
                    self.config.prior.beta + c.failures as f64,
                )
            })
            .collect();
        let mut wins = vec![0u32; arms.len()];
        for _ in 0..self.config.draws {
            let mut best = 0;
            let mut best_value = f64::NEG_INFINITY;
            for (i, &(a, b)) in posteriors.iter().enumerate() {
                let v = rng.beta(a, b);
                if v > best_value {
                    best = i;
                    best_value = v;
                }
            }
            wins[best] += 1;
        }
        let draws = f64::from(self.config.draws);
        let q: Vec<f64> = wins.iter().map(|&w| f64::from(w) / draws).collect();
        Ok(draw(&q, self.config.floor, rng))
    }
}

fn config_err(field: &str, value: f64) -> StrategyError {
    bad_config(field, format!("must be positive and finite, found {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learner(floor: f64) -> Thompson {
        Thompson::new(ThompsonConfig {
            floor,
            ..ThompsonConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn config_errors_name_the_field() {
        let bad = |c: ThompsonConfig| Thompson::new(c).unwrap_err().field().to_string();
        let d = ThompsonConfig::default();
        assert_eq!(bad(ThompsonConfig { floor: 1.5, ..d }), "floor");
        assert_eq!(bad(ThompsonConfig { draws: 0, ..d }), "draws");
        assert_eq!(
            bad(ThompsonConfig {
                prior: BetaPrior {
                    alpha: 0.0,
                    beta: 1.0
                },
                ..d
            }),
            "prior.alpha"
        );
        let err = learner(0.1)
            .choose(
                &ThompsonStats::default(),
                None,
                &[],
                &mut DecisionRng::new(1),
            )
            .unwrap_err();
        assert_eq!(err.field(), "arms");
    }

    #[test]
    fn same_seed_same_choice() {
        let t = learner(0.1);
        let mut stats = ThompsonStats::default();
        stats.update(None, "b", true).unwrap();
        let arms = ["a", "b", "c"];
        let one = t
            .choose(&stats, None, &arms, &mut DecisionRng::for_request(9, "req"))
            .unwrap();
        let two = t
            .choose(&stats, None, &arms, &mut DecisionRng::for_request(9, "req"))
            .unwrap();
        assert_eq!(one, two);
    }

    #[test]
    fn concentrates_on_the_best_arm() {
        // A simulated Bernoulli stream (seeded): arm rates 0.04, 0.06, 0.10.
        let rates = [0.04, 0.06, 0.10];
        let arms = ["low", "mid", "high"];
        let t = learner(0.05);
        let mut stats = ThompsonStats::default();
        let mut world = DecisionRng::new(2024);
        let mut late_best = 0;
        let rounds = 4000;
        for round in 0..rounds {
            let mut rng = DecisionRng::for_request(1, &round.to_string());
            let c = t.choose(&stats, Some("web"), &arms, &mut rng).unwrap();
            let reward = world.next_f64() < rates[c.arm];
            stats.update(Some("web"), arms[c.arm], reward).unwrap();
            if round >= rounds - 1000 && c.arm == 2 {
                late_best += 1;
            }
        }
        assert!(
            late_best > 800,
            "best arm chosen {late_best} of the last 1000"
        );
        // The segment kept its own counts; the global segment saw nothing.
        assert_eq!(stats.counts(None, "high"), ArmCounts::default());
        let pulls = stats.counts(Some("web"), "high");
        assert!(pulls.successes + pulls.failures > 2500);
    }
}
