//! Learning from outcomes (issue 17 §2, `update`): what users did after a decision, joined to
//! it by its id within the strategy's attribution window.
//!
//! The protocol: the caller sends **one outcome per decided slot** (per `decision_id` and
//! `slot`), either the first event on the slot (`click`, `cart`, `purchase`) or `none` when
//! the window closed without one. The outcome carries what the decision logged (its variant,
//! offer arm and segment) so that `update` needs no store of past decisions.
//!
//! - Inside the window (`decided_at_ms <= at_ms <= decided_at_ms + attribution_window_s·1000`)
//!   a `click`, `cart` or `purchase` is a **success** for the offer arm that was shown (a cart
//!   or purchase implies the click), `none` a **failure**.
//! - Outside the window (later, or before the decision) the event is not attributed: it counts
//!   as a failure, as `none` would, and its index is **reported** in
//!   [`UpdateReport::outside_window`], never silently dropped.
//! - The experiment counts every outcome as one exposure of the decision's variant and a
//!   `purchase` inside the window as a conversion (with its `revenue`, if given).
//!
//! The offer learner's statistics live in the state under the offer group's name (the slot's
//! group as the decision's variant sees it), per segment. `update` is atomic: every outcome is
//! checked first, and on any error the state is left unchanged.

use serde::{Deserialize, Serialize};

use super::config::Strategy;
use super::error::{input, StrategyError};
use super::{StrategyState, HOLDOUT};

/// What happened on a decided slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeEvent {
    Click,
    Cart,
    Purchase,
    None,
}

/// One decided slot's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    pub decision_id: String,
    pub slot: String,
    /// The decision's experiment arm (a variant or `holdout`), as logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The offer arm the decision showed on this slot, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_arm: Option<String>,
    /// The learner segment the decision used, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    pub event: OutcomeEvent,
    /// The purchase's value, for the experiment's revenue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue: Option<f64>,
    /// When the decision was made and when the event happened, ms since the Unix epoch.
    pub decided_at_ms: u64,
    pub at_ms: u64,
}

/// What `update` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateReport {
    /// Outcomes counted (all of them, on success).
    pub applied: usize,
    /// Successes given to offer arms.
    pub successes: usize,
    /// Indices of outcomes whose event fell outside the attribution window (counted as
    /// failures, not as successes).
    pub outside_window: Vec<usize>,
}

impl Strategy {
    /// Whether an outcome's event lies inside this strategy's attribution window.
    pub fn in_window(&self, outcome: &Outcome) -> bool {
        let window = self.config().attribution_window_s.saturating_mul(1000);
        outcome.at_ms >= outcome.decided_at_ms && outcome.at_ms - outcome.decided_at_ms <= window
    }

    /// Counts `outcomes` into `state` (see the module documentation). Errors name the outcome
    /// field at fault (`outcomes[3].offer_arm`); the state is then unchanged.
    pub fn update(
        &self,
        state: &mut StrategyState,
        outcomes: &[Outcome],
    ) -> Result<UpdateReport, StrategyError> {
        let mut next = state.clone();
        let mut report = UpdateReport::default();
        for (i, o) in outcomes.iter().enumerate() {
            let at = |key: &str| format!("outcomes[{i}].{key}");
            if o.decision_id.is_empty() {
                return Err(input(&at("decision_id"), "is empty"));
            }
            let variant = o.variant.as_deref();
            let Some(slot) = self.config().slot(&o.slot, variant) else {
                return Err(input(
                    &at("slot"),
                    format!("`{}` is not a slot of strategy {}", o.slot, self.version()),
                ));
            };
            if let (Some(v), Some((_, e))) = (variant, self.experiment()) {
                let known = v == HOLDOUT || e.config().variants.iter().any(|x| x.name == v);
                if !known {
                    return Err(input(
                        &at("variant"),
                        format!("`{v}` is not an arm of the experiment"),
                    ));
                }
            }
            let inside = self.in_window(o);
            if !inside {
                report.outside_window.push(i);
            }
            let success = inside && o.event != OutcomeEvent::None;
            if let Some(arm) = &o.offer_arm {
                let group = slot.offers.as_deref().ok_or_else(|| {
                    input(
                        &at("offer_arm"),
                        format!("slot `{}` shows no offers", o.slot),
                    )
                })?;
                if !self.config().offers[group].arms.contains(arm) {
                    return Err(input(
                        &at("offer_arm"),
                        format!("`{arm}` is not an arm of offer group `{group}`"),
                    ));
                }
                next.thompson_mut(group)
                    .update(o.segment.as_deref(), arm, success)
                    .map_err(|e| input(&at("offer_arm"), e.to_string()))?;
                report.successes += usize::from(success);
            }
            if let (Some(v), Some((name, _))) = (variant, self.experiment()) {
                let stats = next.experiment_mut(name);
                stats
                    .record_exposure(v)
                    .map_err(|e| input(&at("variant"), e.to_string()))?;
                if inside && o.event == OutcomeEvent::Purchase {
                    stats
                        .record_conversion(v, o.revenue.unwrap_or(0.0))
                        .map_err(|e| input(&at("revenue"), e.to_string()))?;
                }
            }
            report.applied += 1;
        }
        *state = next;
        Ok(report)
    }
}
