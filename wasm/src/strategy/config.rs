//! The strategy file (issue 17 §1): slots, business rules, offers, exploration and one
//! experiment, declared in TOML (or the same document as JSON), validated at load.
//!
//! Why one typed document read through `serde_path_to_error`: TOML is first read into a JSON
//! value and both forms then go through the same typed deserialisation, so a bad key or value is
//! named by the same dotted path whichever form the shop wrote (`slots.home_top.size`,
//! `offers.checkout.learner.floor`, `experiments[0].variants[1].share`), and unknown keys are
//! refused everywhere (`deny_unknown_fields`), never silently ignored. Range checks that types
//! cannot express follow in [`StrategyConfig::validate`], with the same paths. What needs the
//! bundle (categories and pinned items that exist) is checked when a decision uses it.
//!
//! ```toml
//! version = "2026-12-04.1"
//! attribution_window_s = 1800
//!
//! [exploration]
//! epsilon = 0.1   # exploration floor for item slots, in (0, 1]
//! pool = 4        # how many top remaining candidates exploration draws from
//!
//! [slots.home_top]
//! size = 4
//! objective = "clicks"          # clicks | purchases | margin
//! exclude_seen = true
//! available_only = true
//! pins = [{ item = "e", position = 1 }]
//! boosts = [{ category = "x", factor = 1.5 }]
//! max_per_category = 2
//! offers = "checkout"
//!
//! [offers.checkout]
//! arms = ["none", "5_off", "free_shipping"]
//! cost = { "5_off" = 0.05 }
//! learner = { kind = "thompson", floor = 0.1, draws = 256, prior = { alpha = 1, beta = 1 } }
//!
//! [[experiments]]
//! name = "bigger_top"
//! salt = "2026-12"
//! holdout = 0.05
//! variants = [{ name = "six", share = 0.5, overrides = { home_top = { size = 6 } } }]
//! ```
//!
//! Objectives: a slot orders its candidates by a value built on a p(click) proxy, the engine's
//! own ranking order 1 / (1 + rank) (the ranking's raw scores are on no common scale: weights,
//! logits, placeholders for the popularity fill). `clicks` uses the proxy; `purchases` and
//! `margin` need p(purchase), which only a transformer bundle's conversion heads give: in this
//! slice the proxy stands in for it on every bundle, so `purchases` orders as `clicks`, and
//! `margin` orders by proxy × price × `margin_rate` (0 for an item without a price). Boosts
//! multiply the value.
//!
//! Experiments: `share`s are fractions of the non-holdout traffic, each in (0, 1], summing to at
//! most 1; when they sum to less, the rest gets the base strategy as an implicit variant named
//! `control` (listed first, the control of the always-valid test). A variant's `overrides` may
//! change a slot's `size`, `objective`, `boosts` and `offers`, nothing else.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::StrategyError;
use super::{BetaPrior, ExperimentConfig, ThompsonConfig, VariantShare, HOLDOUT};

/// Largest slot size.
pub const MAX_SLOT_SIZE: usize = 50;
/// Largest exploration pool.
pub const MAX_POOL: usize = 50;
/// Name of the implicit variant that gets the base strategy when the shares sum below 1.
pub const CONTROL: &str = "control";

/// What a slot orders its items by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    #[default]
    Clicks,
    Purchases,
    Margin,
}

/// An item fixed at a position (1 = first) of a slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    pub item: String,
    pub position: usize,
}

/// Items of a category (or below it) have their score multiplied by `factor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Boost {
    pub category: String,
    pub factor: f64,
}

fn yes() -> bool {
    true
}

/// One placement on a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotConfig {
    /// How many items, 1..=50.
    pub size: usize,
    #[serde(default)]
    pub objective: Objective,
    /// Leave out the session's items (default true).
    #[serde(default = "yes")]
    pub exclude_seen: bool,
    /// Only items in these categories or below them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_max: Option<f64>,
    #[serde(default)]
    pub available_only: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pins: Vec<Pin>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boosts: Vec<Boost>,
    /// At most this many items of one (leaf) category in the slot; items without a category
    /// are not capped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_category: Option<usize>,
    /// The offer group whose learner chooses this slot's offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offers: Option<String>,
    /// For `objective = "margin"`: the share of the price that is margin, in [0, 1] (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin_rate: Option<f64>,
}

/// Which learner chooses an offer group's arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LearnerKind {
    #[default]
    Thompson,
}

fn default_floor() -> f64 {
    ThompsonConfig::default().floor
}
fn default_draws() -> u32 {
    ThompsonConfig::default().draws
}

/// An offer group's learner and its settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnerConfig {
    #[serde(default)]
    pub kind: LearnerKind,
    /// Exploration floor ε in [0, 1]: each arm's propensity is at least ε / |arms|.
    #[serde(default = "default_floor")]
    pub floor: f64,
    #[serde(default)]
    pub prior: BetaPrior,
    #[serde(default = "default_draws")]
    pub draws: u32,
}

impl Default for LearnerConfig {
    fn default() -> Self {
        Self {
            kind: LearnerKind::Thompson,
            floor: default_floor(),
            prior: BetaPrior::default(),
            draws: default_draws(),
        }
    }
}

impl LearnerConfig {
    pub fn thompson(&self) -> ThompsonConfig {
        ThompsonConfig {
            prior: self.prior,
            floor: self.floor,
            draws: self.draws,
        }
    }
}

/// A set of offers (arms) one learner chooses among.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferGroup {
    pub arms: Vec<String>,
    #[serde(default)]
    pub learner: LearnerConfig,
    /// What showing an arm costs per conversion (validated and kept for off-policy evaluation
    /// and the margin objective; the Bernoulli learner does not read it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cost: BTreeMap<String, f64>,
}

fn default_epsilon() -> f64 {
    0.1
}
fn default_pool() -> usize {
    4
}

/// Exploration of item slots: at every free position, with probability 1 − ε the best
/// remaining item, with ε one drawn uniformly from the best `pool` remaining.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exploration {
    #[serde(default = "default_epsilon")]
    pub epsilon: f64,
    #[serde(default = "default_pool")]
    pub pool: usize,
}

impl Default for Exploration {
    fn default() -> Self {
        Self {
            epsilon: default_epsilon(),
            pool: default_pool(),
        }
    }
}

/// What a variant may change in one slot.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<Objective>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boosts: Option<Vec<Boost>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offers: Option<String>,
}

/// One variant of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    pub name: String,
    pub share: f64,
    /// Per slot name, what this variant changes.
    #[serde(default)]
    pub overrides: BTreeMap<String, SlotOverride>,
}

fn default_alpha() -> f64 {
    0.05
}

/// An experiment over strategy variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    pub name: String,
    pub salt: String,
    /// Fraction of users held out: base strategy, no offers. In [0, 1).
    #[serde(default)]
    pub holdout: f64,
    pub variants: Vec<VariantSpec>,
    /// Level of the always-valid test.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
}

fn default_window() -> u64 {
    1800
}

/// A whole strategy file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    /// Echoed in every decision, so outcomes and evaluations know which strategy decided.
    pub version: String,
    /// How long after a decision an outcome still counts (seconds, 1..=30 days).
    #[serde(default = "default_window")]
    pub attribution_window_s: u64,
    #[serde(default)]
    pub exploration: Exploration,
    pub slots: BTreeMap<String, SlotConfig>,
    #[serde(default)]
    pub offers: BTreeMap<String, OfferGroup>,
    /// At most one in this version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub experiments: Vec<ExperimentSpec>,
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> StrategyError {
    StrategyError::InvalidConfig {
        field: field.into(),
        message: message.into(),
    }
}

/// serde's message and path as an `InvalidConfig` naming the key (as `StrategyState`'s reader
/// does: a field-level error's path ends at the table holding the key).
fn from_serde(path: String, message: String) -> StrategyError {
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_string();
    let field = ["unknown field `", "missing field `", "unknown variant `"]
        .iter()
        .find_map(|p| message.strip_prefix(p).map(|rest| (*p, rest)))
        .and_then(|(p, rest)| {
            let (name, _) = rest.split_once('`')?;
            if p.starts_with("unknown variant") {
                return None; // the path already names the key whose value is bad
            }
            Some(crate::api::field_path(&path, name))
        })
        .unwrap_or(path);
    bad(field, message)
}

fn check_name(field: &str, name: &str) -> Result<(), StrategyError> {
    if name.is_empty()
        || name.len() > crate::api::MAX_NAME_BYTES
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:/".contains(c))
    {
        return Err(bad(
            field,
            format!("`{name}` is not a name: 1 to 256 of letters, digits and _ - . : /"),
        ));
    }
    Ok(())
}

fn check_boosts(field: &str, boosts: &[Boost]) -> Result<(), StrategyError> {
    for (i, b) in boosts.iter().enumerate() {
        if b.category.is_empty() {
            return Err(bad(format!("{field}[{i}].category"), "is empty"));
        }
        if !(b.factor >= 0.0 && b.factor.is_finite()) {
            return Err(bad(
                format!("{field}[{i}].factor"),
                format!("must be a finite number >= 0, found {}", b.factor),
            ));
        }
    }
    Ok(())
}

fn check_size(field: &str, size: usize) -> Result<(), StrategyError> {
    if !(1..=MAX_SLOT_SIZE).contains(&size) {
        return Err(bad(
            field,
            format!("must be between 1 and {MAX_SLOT_SIZE}, found {size}"),
        ));
    }
    Ok(())
}

impl StrategyConfig {
    /// Reads and validates a TOML strategy file.
    pub fn from_toml(text: &str) -> Result<Self, StrategyError> {
        let value: serde_json::Value = toml::from_str(text).map_err(|e| {
            bad(
                ".",
                format!("not a TOML document: {}", e.message().trim_end()),
            )
        })?;
        Self::from_value(value)
    }

    /// Reads and validates the same document as JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, StrategyError> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| bad(".", format!("not a JSON document: {e}")))?;
        Self::from_value(value)
    }

    fn from_value(value: serde_json::Value) -> Result<Self, StrategyError> {
        if !value.is_object() {
            return Err(bad(".", "a strategy file is a table (a JSON object)"));
        }
        let config: Self = serde_path_to_error::deserialize(value)
            .map_err(|e| from_serde(e.path().to_string(), e.into_inner().to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// The range and consistency checks the types do not express, each error naming its key.
    pub fn validate(&self) -> Result<(), StrategyError> {
        if self.version.is_empty() || self.version.len() > crate::api::MAX_NAME_BYTES {
            return Err(bad("version", "must be 1 to 256 bytes long"));
        }
        if !(1..=30 * 86_400).contains(&self.attribution_window_s) {
            return Err(bad(
                "attribution_window_s",
                format!(
                    "must be between 1 and 2592000 (30 days), found {}",
                    self.attribution_window_s
                ),
            ));
        }
        let e = self.exploration;
        if !(e.epsilon > 0.0 && e.epsilon <= 1.0) {
            return Err(bad(
                "exploration.epsilon",
                format!("must be in (0, 1], found {}", e.epsilon),
            ));
        }
        if !(1..=MAX_POOL).contains(&e.pool) {
            return Err(bad(
                "exploration.pool",
                format!("must be between 1 and {MAX_POOL}, found {}", e.pool),
            ));
        }
        if self.slots.is_empty() {
            return Err(bad("slots", "declare at least one slot"));
        }
        for (name, slot) in &self.slots {
            let at = |key: &str| format!("slots.{name}.{key}");
            check_name(&format!("slots.{name}"), name)?;
            check_size(&at("size"), slot.size)?;
            if let Some(categories) = &slot.categories {
                if categories.is_empty() {
                    return Err(bad(
                        at("categories"),
                        "is empty; name a category or leave it out",
                    ));
                }
                if let Some(i) = categories.iter().position(String::is_empty) {
                    return Err(bad(at(&format!("categories[{i}]")), "is empty"));
                }
            }
            for (key, v) in [("price_min", slot.price_min), ("price_max", slot.price_max)] {
                if let Some(v) = v {
                    if !(v >= 0.0 && v.is_finite()) {
                        return Err(bad(at(key), format!("must be a price >= 0, found {v}")));
                    }
                }
            }
            if let (Some(lo), Some(hi)) = (slot.price_min, slot.price_max) {
                if lo > hi {
                    return Err(bad(
                        at("price_min"),
                        format!("{lo} is above price_max {hi}"),
                    ));
                }
            }
            for (i, pin) in slot.pins.iter().enumerate() {
                if pin.item.is_empty() {
                    return Err(bad(at(&format!("pins[{i}].item")), "is empty"));
                }
                if !(1..=slot.size).contains(&pin.position) {
                    return Err(bad(
                        at(&format!("pins[{i}].position")),
                        format!(
                            "must be between 1 and the slot's size {}, found {}",
                            slot.size, pin.position
                        ),
                    ));
                }
                if let Some(j) = slot.pins[..i]
                    .iter()
                    .position(|p| p.position == pin.position || p.item == pin.item)
                {
                    return Err(bad(
                        at(&format!("pins[{i}]")),
                        format!("pins[{j}] already pins this item or position"),
                    ));
                }
            }
            check_boosts(&at("boosts"), &slot.boosts)?;
            if slot.max_per_category == Some(0) {
                return Err(bad(at("max_per_category"), "must be at least 1, found 0"));
            }
            if let Some(rate) = slot.margin_rate {
                if !(0.0..=1.0).contains(&rate) {
                    return Err(bad(
                        at("margin_rate"),
                        format!("must be in [0, 1], found {rate}"),
                    ));
                }
            }
            self.check_group(&at("offers"), slot.offers.as_deref())?;
        }
        for (name, group) in &self.offers {
            let at = |key: &str| format!("offers.{name}.{key}");
            check_name(&format!("offers.{name}"), name)?;
            if group.arms.is_empty() {
                return Err(bad(at("arms"), "list at least one arm"));
            }
            for (i, arm) in group.arms.iter().enumerate() {
                check_name(&at(&format!("arms[{i}]")), arm)?;
                if group.arms[..i].contains(arm) {
                    return Err(bad(
                        at(&format!("arms[{i}]")),
                        format!("arm `{arm}` is listed twice"),
                    ));
                }
            }
            super::Thompson::new(group.learner.thompson()).map_err(|e| match e {
                StrategyError::InvalidConfig { field, message } => {
                    bad(at(&format!("learner.{field}")), message)
                }
                other => other,
            })?;
            for (arm, &cost) in &group.cost {
                if !group.arms.contains(arm) {
                    return Err(bad(
                        at(&format!("cost.{arm}")),
                        format!("`{arm}` is not one of the group's arms"),
                    ));
                }
                if !(cost >= 0.0 && cost.is_finite()) {
                    return Err(bad(
                        at(&format!("cost.{arm}")),
                        format!("must be a finite number >= 0, found {cost}"),
                    ));
                }
            }
        }
        if self.experiments.len() > 1 {
            return Err(bad(
                "experiments",
                "at most one experiment per strategy file in this version",
            ));
        }
        for (x, spec) in self.experiments.iter().enumerate() {
            let at = |key: &str| format!("experiments[{x}].{key}");
            check_name(&at("name"), &spec.name)?;
            if spec.variants.is_empty() {
                return Err(bad(at("variants"), "list at least one variant"));
            }
            let total: f64 = spec.variants.iter().map(|v| v.share).sum();
            for (i, v) in spec.variants.iter().enumerate() {
                let vat = |key: &str| at(&format!("variants[{i}].{key}"));
                check_name(&vat("name"), &v.name)?;
                let reserved = v.name == HOLDOUT || (v.name == CONTROL && total < 1.0 - 1e-9);
                if reserved || spec.variants[..i].iter().any(|w| w.name == v.name) {
                    return Err(bad(
                        vat("name"),
                        format!("`{}` is reserved or listed twice", v.name),
                    ));
                }
                if !(v.share > 0.0 && v.share <= 1.0) {
                    return Err(bad(
                        vat("share"),
                        format!("must be in (0, 1], found {}", v.share),
                    ));
                }
                for (slot, o) in &v.overrides {
                    let oat = |key: &str| vat(&format!("overrides.{slot}.{key}"));
                    let Some(base) = self.slots.get(slot) else {
                        return Err(bad(
                            vat(&format!("overrides.{slot}")),
                            format!("`{slot}` is not a slot of this strategy"),
                        ));
                    };
                    if let Some(size) = o.size {
                        check_size(&oat("size"), size)?;
                        if let Some(p) = base.pins.iter().find(|p| p.position > size) {
                            return Err(bad(
                                oat("size"),
                                format!("{size} leaves out the pin at position {}", p.position),
                            ));
                        }
                    }
                    if let Some(boosts) = &o.boosts {
                        check_boosts(&oat("boosts"), boosts)?;
                    }
                    self.check_group(&oat("offers"), o.offers.as_deref())?;
                }
            }
            if total > 1.0 + 1e-9 {
                return Err(bad(
                    at("variants"),
                    format!("the shares sum to {total}; they must sum to at most 1"),
                ));
            }
            if !(0.0..1.0).contains(&spec.holdout) {
                return Err(bad(
                    at("holdout"),
                    format!("must be in [0, 1), found {}", spec.holdout),
                ));
            }
            super::Experiment::new(self.experiment_config(spec)).map_err(|e| match e {
                StrategyError::InvalidConfig { field, message } => bad(at(&field), message),
                other => other,
            })?;
        }
        Ok(())
    }

    fn check_group(&self, field: &str, group: Option<&str>) -> Result<(), StrategyError> {
        match group {
            Some(g) if !self.offers.contains_key(g) => Err(bad(
                field,
                format!("`{g}` is not an offer group of this strategy (declare [offers.{g}])"),
            )),
            _ => Ok(()),
        }
    }

    /// The experiment core's configuration of a spec: the implicit `control` first when the
    /// shares leave room for it.
    pub(crate) fn experiment_config(&self, spec: &ExperimentSpec) -> ExperimentConfig {
        let total: f64 = spec.variants.iter().map(|v| v.share).sum();
        let mut variants = Vec::new();
        if total < 1.0 - 1e-9 {
            variants.push(VariantShare {
                name: CONTROL.into(),
                share: 1.0 - total,
            });
        }
        variants.extend(spec.variants.iter().map(|v| VariantShare {
            name: v.name.clone(),
            share: v.share,
        }));
        ExperimentConfig {
            salt: spec.salt.clone(),
            variants,
            holdout: spec.holdout,
            alpha: spec.alpha,
            tau: 0.05,
            min_exposures: 100,
        }
    }

    /// The slot `name` as variant `variant` of the experiment sees it (the base slot for no
    /// variant, `control` and the holdout).
    pub fn slot(&self, name: &str, variant: Option<&str>) -> Option<SlotConfig> {
        let mut slot = self.slots.get(name)?.clone();
        let spec = self.experiments.first();
        let o = spec
            .and_then(|s| s.variants.iter().find(|v| Some(v.name.as_str()) == variant))
            .and_then(|v| v.overrides.get(name));
        if let Some(o) = o {
            if let Some(size) = o.size {
                slot.size = size;
            }
            if let Some(objective) = o.objective {
                slot.objective = objective;
            }
            if let Some(boosts) = &o.boosts {
                slot.boosts = boosts.clone();
            }
            if let Some(offers) = &o.offers {
                slot.offers = Some(offers.clone());
            }
        }
        Some(slot)
    }
}

/// A validated strategy file, ready to decide with: its experiment and its offer learners built.
#[derive(Debug, Clone, PartialEq)]
pub struct Strategy {
    config: StrategyConfig,
    experiment: Option<(String, super::Experiment)>,
    learners: BTreeMap<String, super::Thompson>,
}

impl Strategy {
    /// Builds a strategy from a configuration (validated again here).
    pub fn new(config: StrategyConfig) -> Result<Self, StrategyError> {
        config.validate()?;
        let experiment = match config.experiments.first() {
            Some(spec) => Some((
                spec.name.clone(),
                super::Experiment::new(config.experiment_config(spec))?,
            )),
            None => None,
        };
        let learners = config
            .offers
            .iter()
            .map(|(name, g)| Ok((name.clone(), super::Thompson::new(g.learner.thompson())?)))
            .collect::<Result<_, StrategyError>>()?;
        Ok(Self {
            config,
            experiment,
            learners,
        })
    }

    pub fn from_toml(text: &str) -> Result<Self, StrategyError> {
        Self::new(StrategyConfig::from_toml(text)?)
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, StrategyError> {
        Self::new(StrategyConfig::from_json(bytes)?)
    }

    pub fn config(&self) -> &StrategyConfig {
        &self.config
    }

    pub fn version(&self) -> &str {
        &self.config.version
    }

    /// The experiment (its name and core), if the file declares one.
    pub fn experiment(&self) -> Option<(&str, &super::Experiment)> {
        self.experiment.as_ref().map(|(n, e)| (n.as_str(), e))
    }

    /// The experiment arm of a user: a variant name or [`HOLDOUT`]; `None` without an
    /// experiment or without a user id.
    pub fn variant_of(&self, user: Option<&str>) -> Option<String> {
        let (_, e) = self.experiment.as_ref()?;
        Some(e.arm_name(e.assign(user?)).to_string())
    }

    /// The learner of an offer group.
    pub fn learner(&self, group: &str) -> Option<&super::Thompson> {
        self.learners.get(group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
version = "v1"
attribution_window_s = 600

[exploration]
epsilon = 0.2
pool = 3

[slots.home_top]
size = 4
objective = "clicks"
pins = [{ item = "e", position = 1 }]
boosts = [{ category = "x", factor = 1.5 }]
max_per_category = 2
offers = "checkout"

[slots.cart_addon]
size = 2
objective = "margin"
margin_rate = 0.3

[offers.checkout]
arms = ["none", "5_off", "free_shipping"]
cost = { "5_off" = 0.05 }
learner = { kind = "thompson", floor = 0.1, draws = 128, prior = { alpha = 1, beta = 1 } }

[[experiments]]
name = "bigger_top"
salt = "s1"
holdout = 0.1
variants = [{ name = "six", share = 0.5, overrides = { home_top = { size = 6 } } }]
"#;

    /// `BASE` with `from` replaced by `to`: the field of the error it gives.
    fn field_of(from: &str, to: &str) -> (String, String) {
        assert!(BASE.contains(from), "{from}");
        let text = BASE.replacen(from, to, 1);
        let e = StrategyConfig::from_toml(&text).unwrap_err();
        assert_eq!(e.code(), "invalid_strategy_config");
        (e.field().to_string(), e.to_string())
    }

    #[test]
    fn a_valid_file_loads_in_toml_and_as_json() {
        let config = StrategyConfig::from_toml(BASE).unwrap();
        assert_eq!(config.version, "v1");
        assert_eq!(config.slots["home_top"].pins[0].position, 1);
        assert!(config.slots["home_top"].exclude_seen);
        assert_eq!(config.offers["checkout"].learner.draws, 128);
        let json = serde_json::to_vec(&config).unwrap();
        assert_eq!(StrategyConfig::from_json(&json).unwrap(), config);
        // The variant's override, the implicit control and the holdout.
        assert_eq!(config.slot("home_top", Some("six")).unwrap().size, 6);
        assert_eq!(config.slot("home_top", Some(CONTROL)).unwrap().size, 4);
        assert_eq!(config.slot("home_top", None).unwrap().size, 4);
        let strategy = Strategy::new(config).unwrap();
        let (name, e) = strategy.experiment().unwrap();
        assert_eq!(name, "bigger_top");
        let names: Vec<&str> = e
            .config()
            .variants
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        assert_eq!(names, [CONTROL, "six"]);
        let arms: std::collections::BTreeSet<String> = (0..2000)
            .filter_map(|i| strategy.variant_of(Some(&format!("u{i}"))))
            .collect();
        assert_eq!(arms.len(), 3, "{arms:?}");
        assert_eq!(strategy.variant_of(None), None);
    }

    #[test]
    fn every_invalid_file_is_refused_naming_the_key() {
        let cases: &[(&str, &str, &str)] = &[
            ("pool = 3", "pool = 3\nspeed = 2", "exploration.speed"),
            ("version = \"v1\"", "version = \"v1\"\nbogus = 1", "bogus"),
            (
                "max_per_category = 2",
                "max_per_category = 2\ncolour = \"red\"",
                "slots.home_top.colour",
            ),
            ("size = 4", "size = 0", "slots.home_top.size"),
            ("size = 4", "size = 51", "slots.home_top.size"),
            ("size = 4", "size = -1", "slots.home_top.size"),
            (
                "position = 1",
                "position = 5",
                "slots.home_top.pins[0].position",
            ),
            (
                "position = 1",
                "position = 0",
                "slots.home_top.pins[0].position",
            ),
            (
                "factor = 1.5",
                "factor = -1.5",
                "slots.home_top.boosts[0].factor",
            ),
            ("epsilon = 0.2", "epsilon = 0", "exploration.epsilon"),
            ("epsilon = 0.2", "epsilon = 1.5", "exploration.epsilon"),
            ("pool = 3", "pool = 0", "exploration.pool"),
            (
                "objective = \"clicks\"",
                "objective = \"views\"",
                "slots.home_top.objective",
            ),
            (
                "share = 0.5",
                "share = 0.7 }, { name = \"b\", share = 0.4",
                "experiments[0].variants",
            ),
            (
                "share = 0.5",
                "share = 0",
                "experiments[0].variants[0].share",
            ),
            (
                "offers = \"checkout\"",
                "offers = \"banner\"",
                "slots.home_top.offers",
            ),
            (
                "size = 6",
                "offers = \"nope\"",
                "experiments[0].variants[0].overrides.home_top.offers",
            ),
            (
                "home_top = { size = 6 }",
                "home_middle = { size = 6 }",
                "experiments[0].variants[0].overrides.home_middle",
            ),
            (
                "size = 6",
                "size = 6, pins = []",
                "experiments[0].variants[0].overrides.home_top.pins",
            ),
            (
                "floor = 0.1",
                "floor = 1.1",
                "offers.checkout.learner.floor",
            ),
            ("draws = 128", "draws = 0", "offers.checkout.learner.draws"),
            (
                "alpha = 1, beta",
                "alpha = 0, beta",
                "offers.checkout.learner.prior.alpha",
            ),
            (
                "kind = \"thompson\"",
                "kind = \"ucb\"",
                "offers.checkout.learner.kind",
            ),
            (
                "\"5_off\" = 0.05",
                "\"10_off\" = 0.05",
                "offers.checkout.cost.10_off",
            ),
            (
                "\"5_off\" = 0.05",
                "\"5_off\" = -1",
                "offers.checkout.cost.5_off",
            ),
            ("\"free_shipping\"]", "\"none\"]", "offers.checkout.arms[2]"),
            (
                "margin_rate = 0.3",
                "margin_rate = 3",
                "slots.cart_addon.margin_rate",
            ),
            ("holdout = 0.1", "holdout = 1", "experiments[0].holdout"),
            (
                "name = \"six\"",
                "name = \"holdout\"",
                "experiments[0].variants[0].name",
            ),
            (
                "name = \"six\"",
                "name = \"control\"",
                "experiments[0].variants[0].name",
            ),
            (
                "attribution_window_s = 600",
                "attribution_window_s = 0",
                "attribution_window_s",
            ),
            (
                "max_per_category = 2",
                "max_per_category = 0",
                "slots.home_top.max_per_category",
            ),
            (
                "[slots.cart_addon]",
                "[slots.\"cart addon\"]",
                "slots.cart addon",
            ),
            ("version = \"v1\"", "", "version"),
        ];
        for &(from, to, field) in cases {
            let (got, message) = field_of(from, to);
            assert_eq!(got, field, "{from} -> {to}: {message}");
        }
        // A pin may not share a position or an item with another.
        let (got, _) = field_of(
            "pins = [{ item = \"e\", position = 1 }]",
            "pins = [{ item = \"e\", position = 1 }, { item = \"a\", position = 1 }]",
        );
        assert_eq!(got, "slots.home_top.pins[1]");
        // Syntax errors and non-tables.
        let e = StrategyConfig::from_toml("version = ").unwrap_err();
        assert_eq!(e.field(), ".");
        assert_eq!(StrategyConfig::from_json(b"[1]").unwrap_err().field(), ".");
        // Two experiments.
        let two = format!("{BASE}\n[[experiments]]\nname = \"b\"\nsalt = \"t\"\nvariants = [{{ name = \"v\", share = 1 }}]\n");
        assert_eq!(
            StrategyConfig::from_toml(&two).unwrap_err().field(),
            "experiments"
        );
        // The JSON form names the same keys.
        let mut json: serde_json::Value =
            serde_json::to_value(StrategyConfig::from_toml(BASE).unwrap()).unwrap();
        json["slots"]["home_top"]["size"] = 0.into();
        let e = StrategyConfig::from_json(json.to_string().as_bytes()).unwrap_err();
        assert_eq!(e.field(), "slots.home_top.size");
        json["slots"]["home_top"]["size"] = 4.into();
        json["exploration"]["epsilon"] = 2.0.into();
        let e = StrategyConfig::from_json(json.to_string().as_bytes()).unwrap_err();
        assert_eq!(e.field(), "exploration.epsilon");
    }
}
