//! [`StrategyState`]: everything the learners and experiments learned, as sufficient
//! statistics that merge.
//!
//! Design: the state is *only* the sum of per-outcome increments (Beta success/failure counts,
//! LinUCB's fixed-point Σxxᵀ and Σrx, experiment exposures, conversions and revenue in
//! micro-units), all integers; priors and ridge λ live in the learners' configuration. Merging
//! is integer addition, so it is exactly associative and commutative, and N replicas that each
//! saw part of an outcome stream and then merged equal one replica that saw all of it, bit for
//! bit (property-tested). Replicas must exchange *deltas* (or merge each peer's state once):
//! merging the same state twice counts its outcomes twice.
//!
//! Serialisation: JSON `{"version": 1, "thompson": {...}, "linear": {...}, "experiments": {...}}`
//! with ordered maps (deterministic bytes); unknown versions, unknown fields and inconsistent
//! values are refused with an error naming the field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::StrategyError;
use super::{ExperimentStats, LinearStats, ThompsonStats};

/// The serialisation version this engine writes and reads.
pub const STATE_VERSION: u32 = 1;

/// The learners' statistics and the experiment counters, each under a name (a learner per slot
/// or offer set, an experiment per test).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrategyState {
    thompson: BTreeMap<String, ThompsonStats>,
    linear: BTreeMap<String, LinearStats>,
    experiments: BTreeMap<String, ExperimentStats>,
}

static EMPTY_THOMPSON: ThompsonStats = ThompsonStats {
    segments: BTreeMap::new(),
};
static EMPTY_EXPERIMENT: ExperimentStats = ExperimentStats {
    variants: BTreeMap::new(),
};

#[derive(Serialize)]
struct WireOut<'a> {
    version: u32,
    thompson: &'a BTreeMap<String, ThompsonStats>,
    linear: &'a BTreeMap<String, LinearStats>,
    experiments: &'a BTreeMap<String, ExperimentStats>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireIn {
    #[serde(rename = "version")]
    _version: u32,
    #[serde(default)]
    thompson: BTreeMap<String, ThompsonStats>,
    #[serde(default)]
    linear: BTreeMap<String, LinearStats>,
    #[serde(default)]
    experiments: BTreeMap<String, ExperimentStats>,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> StrategyError {
    StrategyError::InvalidState {
        field: field.into(),
        message: message.into(),
    }
}

impl StrategyState {
    /// An empty state (every learner at its prior, every counter at zero).
    pub fn new() -> Self {
        Self::default()
    }

    /// The Thompson learner `learner`'s statistics (empty when it never learned).
    pub fn thompson(&self, learner: &str) -> &ThompsonStats {
        self.thompson.get(learner).unwrap_or(&EMPTY_THOMPSON)
    }

    /// The Thompson learner `learner`'s statistics, to update.
    pub fn thompson_mut(&mut self, learner: &str) -> &mut ThompsonStats {
        self.thompson.entry(learner.to_string()).or_default()
    }

    /// The linear learner `learner`'s statistics, if it ever learned.
    pub fn linear(&self, learner: &str) -> Option<&LinearStats> {
        self.linear.get(learner)
    }

    /// The linear learner `learner`'s statistics of dimension `dim`, created empty if needed;
    /// an error if it exists with another dimension.
    pub fn linear_mut(
        &mut self,
        learner: &str,
        dim: usize,
    ) -> Result<&mut LinearStats, StrategyError> {
        if !self.linear.contains_key(learner) {
            self.linear
                .insert(learner.to_string(), LinearStats::new(dim)?);
        }
        let stats = self.linear.get_mut(learner).expect("inserted above");
        if stats.dim != dim {
            return Err(super::error::input(
                "dim",
                format!(
                    "linear learner `{learner}` has dimension {}, not {dim}",
                    stats.dim
                ),
            ));
        }
        Ok(stats)
    }

    /// The experiment `name`'s counters (empty when it has none).
    pub fn experiment(&self, name: &str) -> &ExperimentStats {
        self.experiments.get(name).unwrap_or(&EMPTY_EXPERIMENT)
    }

    /// The experiment `name`'s counters, to record into.
    pub fn experiment_mut(&mut self, name: &str) -> &mut ExperimentStats {
        self.experiments.entry(name.to_string()).or_default()
    }

    /// Adds `other` into this state: exact, associative and commutative. Atomic: on error (a
    /// dimension conflict or an overflow) this state is unchanged.
    pub fn merge(&mut self, other: &StrategyState) -> Result<(), StrategyError> {
        let mut next = self.clone();
        for (name, s) in &other.thompson {
            next.thompson
                .entry(name.clone())
                .or_default()
                .merge(s)
                .map_err(|e| within("thompson", name, e))?;
        }
        for (name, s) in &other.linear {
            match next.linear.get_mut(name) {
                Some(mine) => mine.merge(s).map_err(|e| within("linear", name, e))?,
                None => {
                    next.linear.insert(name.clone(), s.clone());
                }
            }
        }
        for (name, s) in &other.experiments {
            next.experiments
                .entry(name.clone())
                .or_default()
                .merge(s)
                .map_err(|e| within("experiments", name, e))?;
        }
        *self = next;
        Ok(())
    }

    /// What this state learned since `base`, an earlier snapshot of it: `self − base`, so that
    /// `base.merge(&delta)` gives back this state exactly. A replica ships
    /// `state.delta_since(&last_shipped)` and peers merge each delta once; a `MergeConflict`
    /// when `base` counted something this state did not (it is no earlier snapshot).
    pub fn delta_since(&self, base: &StrategyState) -> Result<StrategyState, StrategyError> {
        let mut delta = self.clone();
        for (name, s) in &base.thompson {
            let mine = delta.thompson.entry(name.clone()).or_default();
            mine.subtract(s).map_err(|e| within("thompson", name, e))?;
        }
        delta.thompson.retain(|_, s| !s.segments.is_empty());
        for (name, s) in &base.linear {
            match delta.linear.get_mut(name) {
                Some(mine) => mine.subtract(s).map_err(|e| within("linear", name, e))?,
                None if s.arms.is_empty() => {}
                None => {
                    return Err(StrategyError::MergeConflict {
                        field: format!("linear.{name}"),
                        message: "the base has a learner this state lacks".into(),
                    })
                }
            }
        }
        delta.linear.retain(|_, s| !s.arms.is_empty());
        for (name, s) in &base.experiments {
            let mine = delta.experiments.entry(name.clone()).or_default();
            mine.subtract(s)
                .map_err(|e| within("experiments", name, e))?;
        }
        delta.experiments.retain(|_, s| !s.variants.is_empty());
        Ok(delta)
    }

    /// The compact versioned JSON form (deterministic bytes for equal states).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&WireOut {
            version: STATE_VERSION,
            thompson: &self.thompson,
            linear: &self.linear,
            experiments: &self.experiments,
        })
        .expect("maps with string keys and integer values always serialise")
    }

    /// Reads a state written by [`to_json`](Self::to_json); refuses other versions
    /// ([`StrategyError::UnsupportedVersion`]) and malformed input
    /// ([`StrategyError::InvalidState`] naming the field).
    pub fn from_json(bytes: &[u8]) -> Result<Self, StrategyError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| invalid(".", format!("not JSON: {e}")))?;
        let Some(object) = value.as_object() else {
            return Err(invalid(".", "a strategy state is a JSON object"));
        };
        match object.get("version") {
            None => return Err(invalid("version", "missing field `version`")),
            Some(v) if v.as_u64() == Some(u64::from(STATE_VERSION)) => {}
            Some(v) => {
                return Err(StrategyError::UnsupportedVersion {
                    found: v.to_string(),
                    supported: STATE_VERSION,
                })
            }
        }
        let wire: WireIn = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            // A field-level error's path ends at the map holding it: name the field too.
            let field = ["unknown field `", "missing field `"]
                .iter()
                .find_map(|p| message.strip_prefix(p))
                .and_then(|rest| rest.split_once('`'))
                .map(|(name, _)| crate::api::field_path(&path, name))
                .unwrap_or(path);
            invalid(field, message)
        })?;
        for (name, s) in &wire.linear {
            s.validate(&format!("linear.{name}"))?;
        }
        Ok(Self {
            thompson: wire.thompson,
            linear: wire.linear,
            experiments: wire.experiments,
        })
    }
}

/// Prefixes a merge error's field with where it happened.
fn within(kind: &str, name: &str, e: StrategyError) -> StrategyError {
    let field = format!("{kind}.{name}.{}", e.field());
    match e {
        StrategyError::Overflow { .. } => StrategyError::Overflow { field },
        StrategyError::MergeConflict { message, .. } => {
            StrategyError::MergeConflict { field, message }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::VariantCounts;
    use proptest::prelude::*;

    /// One outcome of a mixed stream.
    #[derive(Debug, Clone)]
    enum Outcome {
        Bernoulli {
            learner: u8,
            segment: Option<u8>,
            arm: u8,
            success: bool,
        },
        Linear {
            arm: u8,
            x: [f64; 3],
            reward: f64,
        },
        Exposure(u8),
        Conversion(u8, f64),
    }

    fn apply(state: &mut StrategyState, o: &Outcome) {
        match o {
            Outcome::Bernoulli {
                learner,
                segment,
                arm,
                success,
            } => {
                let seg = segment.map(|s| format!("seg{s}"));
                state
                    .thompson_mut(&format!("t{learner}"))
                    .update(seg.as_deref(), &format!("arm{arm}"), *success)
                    .unwrap()
            }
            Outcome::Linear { arm, x, reward } => state
                .linear_mut("lin", 3)
                .unwrap()
                .update(&format!("arm{arm}"), x, *reward)
                .unwrap(),
            Outcome::Exposure(v) => state
                .experiment_mut("exp")
                .record_exposure(&format!("v{v}"))
                .unwrap(),
            Outcome::Conversion(v, revenue) => state
                .experiment_mut("exp")
                .record_conversion(&format!("v{v}"), *revenue)
                .unwrap(),
        }
    }

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            (0u8..2, proptest::option::of(0u8..3), 0u8..4, any::<bool>()).prop_map(
                |(learner, segment, arm, success)| Outcome::Bernoulli {
                    learner,
                    segment,
                    arm,
                    success
                }
            ),
            (
                0u8..3,
                proptest::array::uniform3(-16.0f64..16.0),
                -1000.0f64..1000.0
            )
                .prop_map(|(arm, x, reward)| Outcome::Linear { arm, x, reward }),
            (0u8..3).prop_map(Outcome::Exposure),
            (0u8..3, 0.0f64..500.0).prop_map(|(v, r)| Outcome::Conversion(v, r)),
        ]
    }

    fn state_of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> StrategyState {
        let mut s = StrategyState::new();
        for o in outcomes {
            apply(&mut s, o);
        }
        s
    }

    fn merged(a: &StrategyState, b: &StrategyState) -> StrategyState {
        let mut m = a.clone();
        m.merge(b).unwrap();
        m
    }

    proptest! {
        #[test]
        fn replicas_that_merge_equal_one_that_saw_everything(
            stream in proptest::collection::vec((outcome(), 0usize..3), 0..120),
        ) {
            let single = state_of(stream.iter().map(|(o, _)| o));
            let replicas: Vec<StrategyState> = (0..3)
                .map(|r| state_of(stream.iter().filter(|(_, to)| *to == r).map(|(o, _)| o)))
                .collect();
            let (a, b, c) = (&replicas[0], &replicas[1], &replicas[2]);
            // Associative and commutative, and equal to the single stream, exactly.
            let left = merged(&merged(a, b), c);
            let right = merged(a, &merged(b, c));
            let shuffled = merged(&merged(c, a), b);
            prop_assert_eq!(&left, &single);
            prop_assert_eq!(&right, &single);
            prop_assert_eq!(&shuffled, &single);
            prop_assert_eq!(merged(a, b), merged(b, a));
            // A replica that ships deltas: snapshot after part of its stream, then the rest.
            let cut = stream.len() / 2;
            let early = state_of(stream[..cut].iter().map(|(o, _)| o));
            let delta = single.delta_since(&early).unwrap();
            prop_assert_eq!(merged(&early, &delta), single.clone());
            prop_assert_eq!(single.delta_since(&single).unwrap(), StrategyState::new());
            // The empty state is the identity.
            prop_assert_eq!(merged(&single, &StrategyState::new()), single.clone());
            // Serialisation round-trips and is deterministic.
            let json = single.to_json();
            let back = StrategyState::from_json(json.as_bytes()).unwrap();
            prop_assert_eq!(back.to_json(), json);
            prop_assert_eq!(back, single);
        }
    }

    #[test]
    fn refuses_unknown_versions_and_malformed_input_naming_the_field() {
        let field = |json: &str| {
            let e = StrategyState::from_json(json.as_bytes()).unwrap_err();
            (e.code(), e.field().to_string())
        };
        assert_eq!(
            field(r#"{"version": 2}"#),
            ("unsupported_state_version", "version".into())
        );
        assert_eq!(
            field(r#"{"version": "1"}"#),
            ("unsupported_state_version", "version".into())
        );
        assert_eq!(field(r#"{}"#), ("invalid_state", "version".into()));
        assert_eq!(field("[1]"), ("invalid_state", ".".into()));
        assert_eq!(field("{"), ("invalid_state", ".".into()));
        assert_eq!(
            field(r#"{"version": 1, "bandits": {}}"#),
            ("invalid_state", "bandits".into())
        );
        assert_eq!(
            field(
                r#"{"version": 1, "thompson": {"t": {"segments": {"": {"a": {"successes": -1, "failures": 0}}}}}}"#
            ),
            ("invalid_state", "thompson.t.segments..a.successes".into())
        );
        assert_eq!(
            field(
                r#"{"version": 1, "experiments": {"e": {"variants": {"a": {"exposures": 1, "conversions": 0}}}}}"#
            ),
            (
                "invalid_state",
                "experiments.e.variants.a.revenue_micros".into()
            )
        );
        assert_eq!(
            field(
                r#"{"version": 1, "linear": {"l": {"dim": 2, "arms": {"a": {"n": 1, "xx": [1, 2], "rx": [0, 0]}}}}}"#
            ),
            ("invalid_state", "linear.l.arms.a.xx".into())
        );
        assert_eq!(
            field(r#"{"version": 1, "linear": {"l": {"dim": 0, "arms": {}}}}"#),
            ("invalid_state", "linear.l.dim".into())
        );
    }

    #[test]
    fn delta_since_refuses_a_base_that_is_no_earlier_snapshot() {
        let mut a = StrategyState::new();
        a.thompson_mut("t").update(None, "x", true).unwrap();
        let mut b = a.clone();
        b.thompson_mut("t").update(None, "x", true).unwrap();
        let e = a.delta_since(&b).unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("merge_conflict", "thompson.t.successes")
        );
        let mut c = StrategyState::new();
        c.linear_mut("l", 2)
            .unwrap()
            .update("x", &[1.0, 0.0], 1.0)
            .unwrap();
        let e = a.delta_since(&c).unwrap_err();
        assert_eq!((e.code(), e.field()), ("merge_conflict", "linear.l"));
    }

    #[test]
    fn empty_state_has_a_small_fixed_form() {
        let json = StrategyState::new().to_json();
        assert_eq!(
            json,
            r#"{"version":1,"thompson":{},"linear":{},"experiments":{}}"#
        );
        assert_eq!(
            StrategyState::from_json(br#"{"version":1}"#).unwrap(),
            StrategyState::new()
        );
    }

    #[test]
    fn merge_conflicts_and_overflows_leave_the_state_unchanged() {
        let mut a = StrategyState::new();
        a.linear_mut("l", 2).unwrap();
        a.experiment_mut("e").record_exposure("v").unwrap();
        let mut b = StrategyState::new();
        b.linear_mut("l", 3).unwrap();
        b.experiment_mut("e").record_exposure("v").unwrap();
        let before = a.clone();
        let e = a.merge(&b).unwrap_err();
        assert_eq!((e.code(), e.field()), ("merge_conflict", "linear.l.dim"));
        assert_eq!(a, before);
        assert_eq!(a.linear_mut("l", 3).unwrap_err().field(), "dim");

        let mut big = StrategyState::new();
        big.experiment_mut("e").variants.insert(
            "v".into(),
            VariantCounts {
                exposures: u64::MAX,
                ..VariantCounts::default()
            },
        );
        let before = big.clone();
        let e = big.merge(&before.clone()).unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("state_overflow", "experiments.e.exposures")
        );
        assert_eq!(big, before);
    }
}
