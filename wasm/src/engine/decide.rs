//! `Engine::decide`: the strategy as the policy stage after candidates and scoring (issue 17
//! §1), and `Engine::update`, its outcomes.
//!
//! For each requested slot, in page order: the slot's rules as a [`SlotPolicy`] (its filters,
//! and no item already placed on this page, so no item appears twice across slots), the
//! engine's ranking under that policy, then the arrangement (pins, boosts, category caps,
//! exploration with a floor; see `policy/slot.rs` for the propensities), then the offer, drawn
//! by the slot's offer group's Thompson learner from the state's statistics.
//!
//! Pure and deterministic: the engine, the strategy and the state are read, never changed. The
//! draws come from [`DecisionRng::for_request`] keyed by the seed and the decision id and slot,
//! so the same request, state, strategy and seed give the same decision, bit for bit.
//!
//! Pins bypass the slot's filters (a business decision), but not the page: a pinned item
//! already placed by an earlier slot is not pinned again. A slot with too few admissible
//! candidates leaves its last free positions empty (positions are the slot's, 1-based, so a
//! pin is always at its configured position). The experiment's holdout gets the base strategy
//! without offers.

use crate::api::{
    Contribution, DecideRequest, DecidedItem, Decision, DecisionExplanation, OfferDecision,
    PriceRange, SlotDecision, MAX_K,
};
use crate::error::RequestError;
use crate::strategy::{
    stable_hash64, DecisionRng, Objective, Outcome, OutcomeEvent, Strategy, StrategyError,
    StrategyState, UpdateReport, HOLDOUT,
};

use super::policy::{category_mask, Filters, SlotPolicy};
use super::query::Query;
use super::Engine;

/// How many ranked candidates a slot considers: enough for boosts to reorder and for caps and
/// exploration to draw from.
fn candidates_for(size: usize, pool: usize) -> usize {
    (4 * (size + pool)).min(MAX_K)
}

fn strategy_field(slot: &str, key: &str) -> String {
    format!("strategy.slots.{slot}.{key}")
}

impl Engine {
    /// Fills `request.slots` as `strategy` says, learning nothing: `state` holds what the
    /// learners learned so far (see the module documentation).
    pub fn decide(
        &self,
        request: &DecideRequest,
        state: &StrategyState,
        strategy: &Strategy,
    ) -> Result<Decision, RequestError> {
        request.validate()?;
        let config = strategy.config();
        for (i, name) in request.slots.iter().enumerate() {
            if !config.slots.contains_key(name) {
                return Err(RequestError::UnknownValue {
                    field: format!("slots[{i}]"),
                    message: format!("`{name}` is not a slot of strategy {}", strategy.version()),
                });
            }
        }
        let canonical = serde_json::to_vec(&DecideRequest {
            seed: None,
            ..request.clone()
        })
        .map_err(|e| RequestError::Internal {
            message: e.to_string(),
        })?;
        let seed = request
            .seed
            .unwrap_or_else(|| stable_hash64(&[b"edgerec.decide.seed", &canonical]));
        let bundle = &self.manifest.payload_sha256;
        let decision_id = format!(
            "{:016x}",
            stable_hash64(&[
                b"edgerec.decision",
                &seed.to_le_bytes(),
                &canonical,
                strategy.version().as_bytes(),
                bundle.as_bytes(),
            ])
        );
        let variant = strategy.variant_of(request.user.as_deref());
        let entries = request.session();
        let (session, positions, ignored) = self.resolve_session(&entries);
        let id_at = |at: usize| entries[positions[at]].0;
        let mut on_page = vec![false; self.items.len()];
        let mut slots = Vec::with_capacity(request.slots.len());
        for name in &request.slots {
            let slot = config
                .slot(name, variant.as_deref())
                .expect("slot names checked above");
            let catalog = self.items.catalog();
            let filters = crate::api::Filters {
                categories: slot.categories.clone(),
                price: (slot.price_min.is_some() || slot.price_max.is_some()).then_some(
                    PriceRange {
                        min: slot.price_min,
                        max: slot.price_max,
                    },
                ),
                available_only: slot.available_only,
                exclude: Vec::new(),
            };
            let filters = Filters::resolve(&self.items, &filters).map_err(|e| {
                let rename = |field: &str| {
                    let key = field.strip_prefix("filters.").unwrap_or(field);
                    let key = if key == "price" { "price_min" } else { key };
                    strategy_field(name, key)
                };
                match e {
                    RequestError::UnknownValue { field, message } => RequestError::UnknownValue {
                        field: rename(&field),
                        message,
                    },
                    RequestError::UnsupportedFilter { field, message } => {
                        RequestError::UnsupportedFilter {
                            field: rename(&field),
                            message,
                        }
                    }
                    other => other,
                }
            })?;
            let mut pins = Vec::new();
            for (i, pin) in slot.pins.iter().enumerate() {
                let item =
                    self.items
                        .index(&pin.item)
                        .ok_or_else(|| RequestError::UnknownValue {
                            field: strategy_field(name, &format!("pins[{i}].item")),
                            message: format!("`{}` is not an item of this model", pin.item),
                        })?;
                if !on_page[item as usize] {
                    pins.push((pin.position - 1, item));
                }
            }
            let mut boosts = Vec::new();
            for (i, b) in slot.boosts.iter().enumerate() {
                let field = strategy_field(name, &format!("boosts[{i}].category"));
                let Some(catalog) = catalog else {
                    return Err(RequestError::UnsupportedFilter {
                        field,
                        message: "this model bundle has no catalog (categories)".into(),
                    });
                };
                let mask = category_mask(catalog, &b.category, || field)?;
                boosts.push((b.category.clone(), mask, b.factor));
            }
            if slot.objective == Objective::Margin && catalog.is_none() {
                return Err(RequestError::UnsupportedFilter {
                    field: strategy_field(name, "objective"),
                    message: "the margin objective needs the catalog's prices; this model \
                              bundle has no catalog"
                        .into(),
                });
            }
            let mut taken = on_page.clone();
            for &(_, item) in &pins {
                taken[item as usize] = true;
            }
            let exploration = config.exploration;
            let policy = SlotPolicy {
                filters,
                catalog,
                taken: &taken,
                pins,
                boosts,
                max_per_category: slot.max_per_category,
                objective: slot.objective,
                margin_rate: slot.margin_rate.unwrap_or(1.0),
                size: slot.size,
                epsilon: exploration.epsilon,
                pool: exploration.pool,
            };
            let query = Query {
                session: &session,
                k: candidates_for(slot.size, exploration.pool),
                include_seen: !slot.exclude_seen,
            };
            let ranked = self.rank(&query, &policy)?;
            let mut rng = DecisionRng::for_request(seed, &format!("{decision_id}/{name}/items"));
            let placed = policy.place(ranked, &mut rng);
            let mut items = Vec::with_capacity(placed.len());
            for p in placed {
                on_page[p.item as usize] = true;
                let explanation = match p.scored {
                    Some(s) => {
                        let e = self.explanation(&session, &s, &id_at);
                        DecisionExplanation {
                            signal: Some(e.signal),
                            because: e.because,
                            rules: p.rules,
                        }
                    }
                    None => DecisionExplanation {
                        signal: None,
                        because: Vec::<Contribution>::new(),
                        rules: p.rules,
                    },
                };
                items.push(DecidedItem {
                    id: self.items.id(p.item).to_string(),
                    position: p.position + 1,
                    score: p.score,
                    propensity: p.propensity,
                    explanation,
                });
            }
            let offer = match (&slot.offers, variant.as_deref()) {
                (_, Some(HOLDOUT)) | (None, _) => None,
                (Some(group), _) => {
                    let learner = strategy.learner(group).expect("groups checked at load");
                    let arms: Vec<&str> = config.offers[group]
                        .arms
                        .iter()
                        .map(String::as_str)
                        .collect();
                    let mut rng =
                        DecisionRng::for_request(seed, &format!("{decision_id}/{name}/offer"));
                    let choice = learner
                        .choose(
                            state.thompson(group),
                            request.segment.as_deref(),
                            &arms,
                            &mut rng,
                        )
                        .map_err(|e| RequestError::Internal {
                            message: e.to_string(),
                        })?;
                    Some(OfferDecision {
                        group: group.clone(),
                        arm: arms[choice.arm].to_string(),
                        propensity: choice.probabilities[choice.arm],
                    })
                }
            };
            slots.push(SlotDecision {
                slot: name.clone(),
                items,
                offer,
            });
        }
        Ok(Decision {
            decision_id,
            strategy_version: strategy.version().to_string(),
            bundle: bundle.clone(),
            variant,
            segment: request.segment.clone(),
            seed,
            slots,
            ignored,
            context: request.context.clone(),
        })
    }

    /// Counts outcomes of earlier decisions into `state`: [`Strategy::update`].
    pub fn update(
        &self,
        strategy: &Strategy,
        state: &mut StrategyState,
        outcomes: &[Outcome],
    ) -> Result<UpdateReport, StrategyError> {
        strategy.update(state, outcomes)
    }
}

impl Decision {
    /// The outcome of one of this decision's slots, carrying what the decision logged (variant,
    /// offer arm, segment); `None` if the decision has no such slot.
    pub fn outcome(
        &self,
        slot: &str,
        event: OutcomeEvent,
        decided_at_ms: u64,
        at_ms: u64,
    ) -> Option<Outcome> {
        let s = self.slots.iter().find(|s| s.slot == slot)?;
        Some(Outcome {
            decision_id: self.decision_id.clone(),
            slot: slot.to_string(),
            variant: self.variant.clone(),
            offer_arm: s.offer.as_ref().map(|o| o.arm.clone()),
            segment: self.segment.clone(),
            event,
            revenue: None,
            decided_at_ms,
            at_ms,
        })
    }
}
