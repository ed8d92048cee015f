//! One slot of a decision as a policy: the slot's filters, "not already on this page", then
//! the arrangement with pins, boosts, category caps and exploration with a floor.
//!
//! Exploration, position by position (pins are fixed and not drawn, propensity 1): the
//! remaining candidates are ordered by the slot objective (boosts applied); those a category
//! cap forbids are skipped; of the best `pool` left (m ≤ pool of them), the best is taken with
//! probability 1 − ε + ε/m and each other with ε/m. That distribution is exactly what the
//! generator draws from, so the logged propensity of an item is the probability that this
//! policy puts it at that position given the earlier positions: it sums to 1 over the pool and
//! is never below ε / pool.

use super::{Filters, Policy};
use crate::catalog::{Catalog, NO_CATEGORY};
use crate::covisit::ScoredItem;
use crate::strategy::{DecisionRng, Objective};

/// The item rules of one slot, resolved against the bundle.
pub(crate) struct SlotPolicy<'a> {
    pub filters: Filters<'a>,
    pub catalog: Option<&'a Catalog>,
    /// Items already placed on the page (earlier slots) or pinned in this one.
    pub taken: &'a [bool],
    /// (position index, item) of each pin, by position.
    pub pins: Vec<(usize, u32)>,
    /// (category name, mask over catalog categories, factor).
    pub boosts: Vec<(String, Vec<bool>, f64)>,
    pub max_per_category: Option<usize>,
    pub objective: Objective,
    pub margin_rate: f64,
    pub size: usize,
    pub epsilon: f64,
    pub pool: usize,
}

impl Policy for SlotPolicy<'_> {
    fn admits(&self, item: u32) -> bool {
        !self.taken[item as usize] && self.filters.admits(item)
    }
}

/// One placed item: the ranked item (`None` for a pin), its position index, objective score,
/// propensity and the rules that moved it.
pub(crate) struct Placed {
    pub item: u32,
    pub scored: Option<ScoredItem>,
    pub position: usize,
    pub score: f64,
    pub propensity: f64,
    pub rules: Vec<String>,
}

impl SlotPolicy<'_> {
    fn category(&self, item: u32) -> Option<u32> {
        let c = self.catalog?.category_index(item);
        (c != NO_CATEGORY).then_some(c)
    }

    /// The objective's value of the item at `rank` (0 = best) of the engine's ranking, and the
    /// boosts that applied to it. The ranking's scores are not on one scale (co-visitation
    /// weights, transformer logits, negative placeholders for the popularity fill), so the
    /// p(click) proxy is the ranking's order, 1 / (1 + rank): positive, in (0, 1], and
    /// decreasing. `margin` multiplies it by price × margin rate (0 without a price), and
    /// each matching boost by its factor.
    fn value(&self, rank: usize, item: u32) -> (f64, Vec<String>) {
        let proxy = 1.0 / (1.0 + rank as f64);
        let mut value = match self.objective {
            Objective::Clicks | Objective::Purchases => proxy,
            Objective::Margin => {
                let price = self.catalog.and_then(|c| c.price(item));
                price.map_or(0.0, |p| proxy * f64::from(p) * self.margin_rate)
            }
        };
        let mut rules = Vec::new();
        if let Some(c) = self.category(item) {
            for (name, mask, factor) in &self.boosts {
                if mask[c as usize] {
                    value *= factor;
                    rules.push(format!("boosted:{name}"));
                }
            }
        }
        (value, rules)
    }

    /// The slot from the ranked candidates (best first): see the module documentation.
    pub fn place(&self, ranked: Vec<ScoredItem>, rng: &mut DecisionRng) -> Vec<Placed> {
        let mut remaining: Vec<(ScoredItem, f64, Vec<String>)> = ranked
            .into_iter()
            .enumerate()
            .map(|(rank, s)| {
                let (v, rules) = self.value(rank, s.index);
                (s, v, rules)
            })
            .collect();
        // Stable: equal values keep the ranking's order.
        remaining.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut per_category: std::collections::HashMap<u32, usize> = Default::default();
        for &(_, item) in &self.pins {
            if let Some(c) = self.category(item) {
                *per_category.entry(c).or_default() += 1;
            }
        }
        let capped = |item: u32, counts: &std::collections::HashMap<u32, usize>| match (
            self.max_per_category,
            self.category(item),
        ) {
            (Some(cap), Some(c)) => counts.get(&c).copied().unwrap_or(0) >= cap,
            _ => false,
        };
        let mut placed = Vec::new();
        for position in 0..self.size {
            if let Some(&(_, item)) = self.pins.iter().find(|p| p.0 == position) {
                placed.push(Placed {
                    item,
                    scored: None,
                    position,
                    score: 0.0,
                    propensity: 1.0,
                    rules: vec!["pinned".into()],
                });
                continue;
            }
            // The best `pool` candidates no cap forbids, each with whether a capped item was
            // passed over to reach it.
            let mut eligible: Vec<(usize, bool)> = Vec::new();
            let mut passed_capped = false;
            for (at, (s, _, _)) in remaining.iter().enumerate() {
                if eligible.len() == self.pool {
                    break;
                }
                if capped(s.index, &per_category) {
                    passed_capped = true;
                } else {
                    eligible.push((at, passed_capped));
                }
            }
            if eligible.is_empty() {
                continue;
            }
            let m = eligible.len() as f64;
            let probabilities: Vec<f64> = (0..eligible.len())
                .map(|j| {
                    let greedy = if j == 0 { 1.0 - self.epsilon } else { 0.0 };
                    greedy + self.epsilon / m
                })
                .collect();
            let j = rng.pick(&probabilities);
            let (at, was_capped) = eligible[j];
            let (s, score, mut rules) = remaining.remove(at);
            if was_capped {
                rules.push("capped".into());
            }
            if j != 0 {
                rules.push("explored".into());
            }
            if let Some(c) = self.category(s.index) {
                *per_category.entry(c).or_default() += 1;
            }
            placed.push(Placed {
                item: s.index,
                scored: Some(s),
                position,
                score,
                propensity: probabilities[j],
                rules,
            });
        }
        placed
    }
}
