//! Experiments: deterministic bucketing of users into variants, per-variant counters, and
//! always-valid inference on the difference of conversion rates.
//!
//! Bucketing hashes (salt, user id) with [`stable_hash64`] (integer arithmetic only, the same on
//! every platform) to a uniform number u in [0, 1): u below the holdout fraction is the holdout,
//! the rest is split among the variants in proportion to their shares. A new salt reshuffles.
//!
//! Inference is a two-sample **mSPRT** (mixture sequential probability ratio test, Johari et al.
//! 2017) on θ = rate(variant) − rate(control) with a normal mixture N(0, τ²) on θ and the normal
//! approximation Δ̂ ~ N(θ, V), V the sum of the two rates' variances (each rate smoothed by one
//! pseudo-success and one pseudo-failure so V > 0). The mixture likelihood ratio
//! Λ = √(V / (V + τ²)) · exp(τ² Δ̂² / (2 V (V + τ²))) is a nonnegative martingale under θ = 0, so
//! by Ville's inequality p = min(1, 1/Λ) is valid at any stopping time: the summary can be read
//! after every outcome without inflating false positives. Inverting the test gives the
//! confidence sequence Δ̂ ± √(V (V + τ²) / τ² · (2 ln(1/α) + ln((V + τ²) / V))), and the verdict
//! is `ahead` when the interval lies above zero, `behind` below, `undecided` otherwise (and
//! before either arm has `min_exposures` exposures, where the normal approximation is poor).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{add_i64, add_u64, bad_config, input, sub_i64, sub_u64, StrategyError};
use super::stable_hash64;

/// The name under which holdout traffic is counted.
pub const HOLDOUT: &str = "holdout";

/// One variant and its share of the non-holdout traffic (a positive weight; shares need not
/// sum to 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantShare {
    pub name: String,
    pub share: f64,
}

/// An experiment: its salt, variants (the first is the control every other one is compared
/// with), holdout fraction and test settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    pub salt: String,
    pub variants: Vec<VariantShare>,
    /// Fraction of all users held out, in [0, 1).
    #[serde(default)]
    pub holdout: f64,
    /// Level α of the always-valid test and intervals, in (0, 1).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Standard deviation τ of the mixture on the difference of rates (about the effect size
    /// one hopes to detect).
    #[serde(default = "default_tau")]
    pub tau: f64,
    /// Exposures each arm needs before any verdict.
    #[serde(default = "default_min_exposures")]
    pub min_exposures: u64,
}

fn default_alpha() -> f64 {
    0.05
}
fn default_tau() -> f64 {
    0.05
}
fn default_min_exposures() -> u64 {
    100
}

/// Where a user falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignment {
    Holdout,
    /// An index into the configured variants.
    Variant(usize),
}

/// One arm's counters. Revenue is kept in integer micro-units so that merging is exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantCounts {
    pub exposures: u64,
    pub conversions: u64,
    pub revenue_micros: i64,
}

/// An experiment's counters per variant (and [`HOLDOUT`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentStats {
    pub variants: BTreeMap<String, VariantCounts>,
}

impl ExperimentStats {
    /// Counts one exposure (a user shown the variant's strategy).
    pub fn record_exposure(&mut self, variant: &str) -> Result<(), StrategyError> {
        let c = self.variants.entry(variant.to_string()).or_default();
        c.exposures = add_u64(c.exposures, 1, "exposures")?;
        Ok(())
    }

    /// Counts one conversion and its revenue (rounded to micro-units). At most one conversion
    /// per exposure is assumed by the test.
    pub fn record_conversion(&mut self, variant: &str, revenue: f64) -> Result<(), StrategyError> {
        if !revenue.is_finite() || revenue.abs() > 1e12 {
            return Err(input(
                "revenue",
                format!("must be finite and at most 1e12 in magnitude, found {revenue}"),
            ));
        }
        let micros = libm::round(revenue * 1e6) as i64;
        let mut c = self.variants.get(variant).copied().unwrap_or_default();
        c.conversions = add_u64(c.conversions, 1, "conversions")?;
        c.revenue_micros = add_i64(c.revenue_micros, micros, "revenue_micros")?;
        self.variants.insert(variant.to_string(), c);
        Ok(())
    }

    /// Adds `other`'s counters to these (exact).
    pub(crate) fn merge(&mut self, other: &Self) -> Result<(), StrategyError> {
        for (name, o) in &other.variants {
            let m = self.variants.entry(name.clone()).or_default();
            m.exposures = add_u64(m.exposures, o.exposures, "exposures")?;
            m.conversions = add_u64(m.conversions, o.conversions, "conversions")?;
            m.revenue_micros = add_i64(m.revenue_micros, o.revenue_micros, "revenue_micros")?;
        }
        Ok(())
    }
}

impl ExperimentStats {
    /// These counters minus `base`'s (an earlier snapshot), dropping variants that did not
    /// change.
    pub(crate) fn subtract(&mut self, base: &Self) -> Result<(), StrategyError> {
        for (name, o) in &base.variants {
            let m = self.variants.entry(name.clone()).or_default();
            m.exposures = sub_u64(m.exposures, o.exposures, "exposures")?;
            m.conversions = sub_u64(m.conversions, o.conversions, "conversions")?;
            m.revenue_micros = sub_i64(m.revenue_micros, o.revenue_micros, "revenue_micros")?;
        }
        self.variants.retain(|_, c| *c != VariantCounts::default());
        Ok(())
    }
}

/// What the data say about one arm against the control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Control,
    Ahead,
    Behind,
    Undecided,
}

/// One arm of the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantSummary {
    pub name: String,
    pub exposures: u64,
    pub conversions: u64,
    pub conversion_rate: f64,
    pub revenue: f64,
    pub revenue_per_exposure: f64,
    /// Conversion rate minus the control's.
    pub difference: f64,
    /// The always-valid (1 − α) interval on the difference; `None` for the control and before
    /// `min_exposures`.
    pub interval: Option<[f64; 2]>,
    /// The always-valid p-value of "no difference" (1 for the control and before
    /// `min_exposures`).
    pub p_value: f64,
    pub verdict: Verdict,
}

/// An experiment's summary: every variant (then the holdout, when it has exposures) against
/// the control.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentSummary {
    pub control: String,
    pub alpha: f64,
    pub variants: Vec<VariantSummary>,
}

/// A checked experiment configuration with its bucket thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    config: ExperimentConfig,
    /// Upper bucket bound of each variant in [0, 1]; the last is 1.
    bounds: Vec<f64>,
}

impl Experiment {
    pub fn new(config: ExperimentConfig) -> Result<Self, StrategyError> {
        if config.variants.is_empty() {
            return Err(super::error::bad_config(
                "variants",
                "at least one variant is needed",
            ));
        }
        for (i, v) in config.variants.iter().enumerate() {
            let field = format!("variants[{i}]");
            if v.name.is_empty() || v.name == HOLDOUT {
                return Err(bad_config(
                    &format!("{field}.name"),
                    format!("must be non-empty and not `{HOLDOUT}`, found `{}`", v.name),
                ));
            }
            if config.variants[..i].iter().any(|w| w.name == v.name) {
                return Err(bad_config(
                    &format!("{field}.name"),
                    format!("variant `{}` is listed twice", v.name),
                ));
            }
            if !(v.share > 0.0 && v.share.is_finite()) {
                return Err(bad_config(
                    &format!("{field}.share"),
                    format!("must be positive and finite, found {}", v.share),
                ));
            }
        }
        if !(0.0..1.0).contains(&config.holdout) {
            return Err(bad_config(
                "holdout",
                format!("must be in [0, 1), found {}", config.holdout),
            ));
        }
        if !(config.alpha > 0.0 && config.alpha < 1.0) {
            return Err(bad_config(
                "alpha",
                format!("must be in (0, 1), found {}", config.alpha),
            ));
        }
        if !(config.tau > 0.0 && config.tau.is_finite()) {
            return Err(bad_config(
                "tau",
                format!("must be positive and finite, found {}", config.tau),
            ));
        }
        let total: f64 = config.variants.iter().map(|v| v.share).sum();
        let mut cumulative = 0.0;
        let mut bounds: Vec<f64> = config
            .variants
            .iter()
            .map(|v| {
                cumulative += v.share;
                config.holdout + (1.0 - config.holdout) * (cumulative / total)
            })
            .collect();
        if let Some(last) = bounds.last_mut() {
            *last = 1.0;
        }
        Ok(Self { config, bounds })
    }

    pub fn config(&self) -> &ExperimentConfig {
        &self.config
    }

    /// The user's bucket in [0, 1): the stable hash of (salt, user id), 53 bits.
    fn bucket(&self, user_id: &str) -> f64 {
        let h = stable_hash64(&[self.config.salt.as_bytes(), user_id.as_bytes()]);
        (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Where `user_id` falls: the same answer on every platform, for as long as the salt, the
    /// holdout and the shares stay the same.
    pub fn assign(&self, user_id: &str) -> Assignment {
        let u = self.bucket(user_id);
        if u < self.config.holdout {
            return Assignment::Holdout;
        }
        let i = self
            .bounds
            .iter()
            .position(|&b| u < b)
            .unwrap_or(self.bounds.len() - 1);
        Assignment::Variant(i)
    }

    /// The name counted for an assignment: the variant's, or [`HOLDOUT`].
    pub fn arm_name(&self, assignment: Assignment) -> &str {
        match assignment {
            Assignment::Holdout => HOLDOUT,
            Assignment::Variant(i) => &self.config.variants[i].name,
        }
    }

    /// Every variant (and the holdout, once it has exposures) against the control, with the
    /// always-valid interval and p-value at the configured α.
    pub fn summary(&self, stats: &ExperimentStats) -> ExperimentSummary {
        let counts = |name: &str| stats.variants.get(name).copied().unwrap_or_default();
        let control_name = &self.config.variants[0].name;
        let control = counts(control_name);
        let mut names: Vec<&str> = self
            .config
            .variants
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        if counts(HOLDOUT).exposures > 0 {
            names.push(HOLDOUT);
        }
        let variants = names
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let c = counts(name);
                let rate = rate(&c);
                let revenue = c.revenue_micros as f64 / 1e6;
                let mut s = VariantSummary {
                    name: name.to_string(),
                    exposures: c.exposures,
                    conversions: c.conversions,
                    conversion_rate: rate,
                    revenue,
                    revenue_per_exposure: if c.exposures > 0 {
                        revenue / c.exposures as f64
                    } else {
                        0.0
                    },
                    difference: rate - self::rate(&control),
                    interval: None,
                    p_value: 1.0,
                    verdict: Verdict::Undecided,
                };
                if i == 0 {
                    s.verdict = Verdict::Control;
                } else if c.exposures >= self.config.min_exposures.max(1)
                    && control.exposures >= self.config.min_exposures.max(1)
                {
                    let (p, lo, hi) = msprt(&control, &c, self.config.tau, self.config.alpha);
                    s.p_value = p;
                    s.interval = Some([lo, hi]);
                    s.verdict = if lo > 0.0 {
                        Verdict::Ahead
                    } else if hi < 0.0 {
                        Verdict::Behind
                    } else {
                        Verdict::Undecided
                    };
                }
                s
            })
            .collect();
        ExperimentSummary {
            control: control_name.clone(),
            alpha: self.config.alpha,
            variants,
        }
    }
}

/// Conversions per exposure, capped at 1 (0 without exposures).
fn rate(c: &VariantCounts) -> f64 {
    if c.exposures == 0 {
        return 0.0;
    }
    (c.conversions as f64 / c.exposures as f64).min(1.0)
}

/// The mSPRT of `b` against `a` (both with exposures): the always-valid p-value and the
/// confidence-sequence interval on rate(b) − rate(a).
fn msprt(a: &VariantCounts, b: &VariantCounts, tau: f64, alpha: f64) -> (f64, f64, f64) {
    let smoothed = |c: &VariantCounts| {
        let n = c.exposures as f64;
        let p = (c.conversions.min(c.exposures) as f64 + 1.0) / (n + 2.0);
        p * (1.0 - p) / n
    };
    let v = smoothed(a) + smoothed(b);
    let t2 = tau * tau;
    let delta = rate(b) - rate(a);
    let log_lambda = 0.5 * libm::log(v / (v + t2)) + t2 * delta * delta / (2.0 * v * (v + t2));
    let p = libm::exp(-log_lambda.max(0.0));
    let half =
        libm::sqrt(v * (v + t2) / t2 * (2.0 * libm::log(1.0 / alpha) + libm::log((v + t2) / v)));
    (p, delta - half, delta + half)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::DecisionRng;

    fn experiment(holdout: f64, shares: &[(&str, f64)]) -> Experiment {
        Experiment::new(ExperimentConfig {
            salt: "exp-1".into(),
            variants: shares
                .iter()
                .map(|&(name, share)| VariantShare {
                    name: name.into(),
                    share,
                })
                .collect(),
            holdout,
            alpha: 0.05,
            tau: 0.05,
            min_exposures: 100,
        })
        .unwrap()
    }

    #[test]
    fn bucketing_is_stable_on_fixed_vectors() {
        // These must never change: changing them reshuffles every running experiment.
        assert_eq!(stable_hash64(&[b"exp-1", b"user-1"]), STABLE_HASH_VECTOR);
        let e = experiment(0.1, &[("control", 1.0), ("treatment", 1.0)]);
        let got: Vec<&str> = (1..=12)
            .map(|i| e.arm_name(e.assign(&format!("u{i}"))))
            .collect();
        assert_eq!(got, BUCKET_VECTOR);
    }

    // Checked against an independent Python transcription of FNV-1a + SplitMix64.
    const STABLE_HASH_VECTOR: u64 = 9_148_801_453_875_362_242;
    const BUCKET_VECTOR: [&str; 12] = [
        "control",
        "control",
        "control",
        "treatment",
        "control",
        "treatment",
        "treatment",
        "treatment",
        "control",
        "holdout",
        "control",
        "control",
    ];

    #[test]
    fn shares_are_respected() {
        let e = experiment(0.1, &[("a", 1.0), ("b", 1.0), ("c", 2.0)]);
        let mut counts = BTreeMap::new();
        let n = 100_000;
        for i in 0..n {
            *counts
                .entry(e.arm_name(e.assign(&format!("user-{i}"))).to_string())
                .or_insert(0usize) += 1;
        }
        for (name, want) in [("holdout", 0.1), ("a", 0.225), ("b", 0.225), ("c", 0.45)] {
            let got = counts[name] as f64 / n as f64;
            assert!((got - want).abs() < 0.006, "{name}: {got} against {want}");
        }
    }

    #[test]
    fn config_errors_name_the_field() {
        let base = experiment(0.0, &[("a", 1.0), ("b", 1.0)]).config().clone();
        let bad = |f: &dyn Fn(&mut ExperimentConfig)| {
            let mut c = base.clone();
            f(&mut c);
            Experiment::new(c).unwrap_err().field().to_string()
        };
        assert_eq!(bad(&|c| c.variants.clear()), "variants");
        assert_eq!(bad(&|c| c.variants[1].share = 0.0), "variants[1].share");
        assert_eq!(
            bad(&|c| c.variants[1].name = "a".into()),
            "variants[1].name"
        );
        assert_eq!(
            bad(&|c| c.variants[0].name = HOLDOUT.into()),
            "variants[0].name"
        );
        assert_eq!(bad(&|c| c.holdout = 1.0), "holdout");
        assert_eq!(bad(&|c| c.alpha = 0.0), "alpha");
        assert_eq!(bad(&|c| c.tau = f64::NAN), "tau");
        let mut s = ExperimentStats::default();
        assert_eq!(
            s.record_conversion("a", f64::NAN).unwrap_err().field(),
            "revenue"
        );
    }

    /// Simulates one experiment of `n` users per arm, reading the summary every `look` users;
    /// the verdict of the first decided look, if any.
    fn run(rates: [f64; 2], n: usize, look: usize, rng: &mut DecisionRng) -> Verdict {
        let e = experiment(0.0, &[("a", 1.0), ("b", 1.0)]);
        let mut s = ExperimentStats::default();
        for i in 1..=n {
            for (arm, p) in ["a", "b"].into_iter().zip(rates) {
                s.record_exposure(arm).unwrap();
                if rng.next_f64() < p {
                    s.record_conversion(arm, 10.0).unwrap();
                }
            }
            if i % look == 0 {
                let v = e.summary(&s).variants[1].verdict;
                if v != Verdict::Undecided {
                    return v;
                }
            }
        }
        Verdict::Undecided
    }

    #[test]
    fn always_valid_on_a_a_and_detects_a_real_difference() {
        let mut rng = DecisionRng::new(17);
        let runs = 200;
        let false_positives = (0..runs)
            .filter(|_| run([0.05, 0.05], 10_000, 100, &mut rng) != Verdict::Undecided)
            .count();
        // Continuous monitoring (100 looks per run) and still at most α.
        assert!(
            false_positives as f64 / runs as f64 <= 0.05,
            "{false_positives} of {runs} A/A runs decided"
        );
        let detected = (0..50)
            .filter(|_| run([0.05, 0.08], 10_000, 100, &mut rng) == Verdict::Ahead)
            .count();
        assert!(
            detected >= 45,
            "a 5% -> 8% lift detected in {detected} of 50 runs"
        );
    }

    #[test]
    fn summary_reports_counts_and_intervals() {
        let e = experiment(0.1, &[("a", 1.0), ("b", 1.0)]);
        let mut s = ExperimentStats::default();
        for _ in 0..1000 {
            s.record_exposure("a").unwrap();
            s.record_exposure("b").unwrap();
        }
        for _ in 0..50 {
            s.record_conversion("a", 2.5).unwrap();
        }
        for _ in 0..150 {
            s.record_conversion("b", 2.5).unwrap();
        }
        s.record_exposure(HOLDOUT).unwrap();
        let sum = e.summary(&s);
        assert_eq!(sum.control, "a");
        assert_eq!(sum.variants.len(), 3);
        assert_eq!(sum.variants[0].verdict, Verdict::Control);
        let b = &sum.variants[1];
        assert_eq!(b.verdict, Verdict::Ahead);
        assert!((b.difference - 0.1).abs() < 1e-12);
        assert!((b.revenue - 375.0).abs() < 1e-9);
        let [lo, hi] = b.interval.unwrap();
        assert!(lo > 0.0 && lo < 0.1 && hi > 0.1);
        assert!(b.p_value <= 0.05);
        // The holdout has one exposure: below min_exposures, so undecided.
        assert_eq!(sum.variants[2].name, HOLDOUT);
        assert_eq!(sum.variants[2].verdict, Verdict::Undecided);
    }
}
