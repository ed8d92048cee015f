//! The purchase-prediction task: who, among the users active in a look-back window, buys in the
//! following horizon; and the profile and funnel features it is predicted from.
//!
//! # Why the task cannot see the future
//!
//! A [`PurchaseWindow`] has a cut-off time `T`. Candidates are the users with at least one event
//! in `[T - lookback, T)`; every feature is computed from the events in that window only (the
//! item and category conversion rates too: they are counted over the same window, not over the
//! whole file). The label is whether the user has a purchase event in `[T, T + horizon)`. Nothing
//! at or after `T` reaches a feature, and the test `features_ignore_everything_from_the_cut_off`
//! checks it by rewriting those events. The train and test windows of a run are placed so that
//! the train labels end where the test cut-off begins (see `task::PurchaseSplit`).
//!
//! # Why users and not (user, item) pairs
//!
//! The Taobao file covers 2 hours with 1.7 events per user: of the users' (user, item) pairs seen
//! before a cut-off, only about 20 are bought within the next 40 minutes, too few to measure
//! anything. About 140 users active before the cut-off buy something in the next 40 minutes, so
//! the unit is the user ("will this visitor buy in the next 40 minutes?"), and item-level signal
//! enters as the conversion rates of the items and categories the user touched.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::events::{Event, EventType};

/// Events of a user, item or category in the look-back window, by funnel step.
#[derive(Debug, Clone, Copy, Default)]
struct FunnelCounts {
    views: u32,
    carts: u32,
    /// Source-specific events (Taobao's `fav`); ranked with views in the funnel.
    other: u32,
    purchases: u32,
}

impl FunnelCounts {
    fn add(&mut self, event_type: &EventType) {
        match event_type {
            EventType::View | EventType::Click => self.views += 1,
            EventType::AddToCart => self.carts += 1,
            EventType::Purchase => self.purchases += 1,
            EventType::Custom(_) => self.other += 1,
            // Removals say little about a coming purchase and are rare in these data sets.
            EventType::RemoveFromCart => {}
        }
    }

    fn total(&self) -> u32 {
        self.views + self.carts + self.other + self.purchases
    }
}

/// One cut-off: features from `[cutoff - lookback, cutoff)`, labels from
/// `[cutoff, cutoff + horizon)`. Times are Unix milliseconds like `Event::timestamp_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurchaseWindow {
    pub cutoff_ms: i64,
    pub lookback_ms: i64,
    pub horizon_ms: i64,
}

/// Names of the feature columns, in column order.
/// The price features are 0 (or 1 for the ratio) where the source has no prices (Taobao), which
/// leaves the models unchanged there: a constant column gets no weight and no split.
pub const FEATURE_NAMES: [&str; 20] = [
    "log_views",
    "log_carts",
    "log_other_events",
    "log_purchases",
    "log_distinct_items",
    "log_distinct_categories",
    "minutes_since_last_event",
    "minutes_since_first_event",
    "minutes_since_last_cart",
    "carted_any",
    "log_carted_items_not_bought",
    "last_event_funnel_stage",
    "max_item_conversion_rate",
    "mean_item_conversion_rate",
    "max_category_conversion_rate",
    "log_max_item_popularity",
    "last_item_conversion_rate",
    "log_mean_price",
    "log_last_price",
    "last_price_over_category_mean",
];

/// Weight, in events, of the window-wide conversion rate that item and category rates are shrunk
/// towards, so that an item seen once and bought once does not get a rate of 1.
pub const RATE_PRIOR_EVENTS: f64 = 20.0;

/// The context field holding an event's category id.
pub const CATEGORY_FIELD: &str = "category_id";

/// Candidates of one window: a feature row and a label per user, users in id order.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureTable {
    pub users: Vec<String>,
    /// Row-major, `FEATURE_NAMES.len()` values per user.
    pub values: Vec<f64>,
    pub labels: Vec<bool>,
}

impl FeatureTable {
    pub const WIDTH: usize = FEATURE_NAMES.len();

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * Self::WIDTH..(i + 1) * Self::WIDTH]
    }

    pub fn positives(&self) -> usize {
        self.labels.iter().filter(|&&l| l).count()
    }

    /// The value of one named column for every row.
    pub fn column(&self, name: &str) -> Vec<f64> {
        let j = FEATURE_NAMES
            .iter()
            .position(|&n| n == name)
            .unwrap_or_else(|| panic!("no feature named {name}"));
        (0..self.len()).map(|i| self.row(i)[j]).collect()
    }
}

/// What we keep per user while scanning the window.
#[derive(Default)]
struct UserHistory<'a> {
    funnel: FunnelCounts,
    first_ms: i64,
    last_ms: i64,
    last_cart_ms: Option<i64>,
    last_stage: u8,
    last_item: &'a str,
    items: HashSet<&'a str>,
    categories: HashSet<&'a str>,
    carted: HashSet<&'a str>,
    bought: HashSet<&'a str>,
    price_sum: f64,
    priced_events: u32,
    /// Price and category of the last event that had a price.
    last_priced: Option<(f64, Option<&'a str>)>,
}

/// Smoothed conversion rates (purchases per event) of the keys seen in the window.
struct ConversionRates<'a> {
    counts: HashMap<&'a str, FunnelCounts>,
    prior_rate: f64,
}

impl<'a> ConversionRates<'a> {
    fn new(counts: HashMap<&'a str, FunnelCounts>, prior_rate: f64) -> Self {
        ConversionRates { counts, prior_rate }
    }

    fn rate(&self, key: &str) -> f64 {
        let c = self.counts.get(key).copied().unwrap_or_default();
        (c.purchases as f64 + RATE_PRIOR_EVENTS * self.prior_rate)
            / (c.total() as f64 + RATE_PRIOR_EVENTS)
    }

    fn popularity(&self, key: &str) -> u32 {
        self.counts.get(key).map_or(0, FunnelCounts::total)
    }
}

/// Builds the candidates, features and labels of one window. `events` may be in any order and
/// may extend beyond the window on both sides.
pub fn build_features(events: &[Event], window: &PurchaseWindow) -> FeatureTable {
    let start = window.cutoff_ms - window.lookback_ms;
    let in_history = |e: &&Event| e.timestamp_ms >= start && e.timestamp_ms < window.cutoff_ms;
    let mut history: Vec<&Event> = events.iter().filter(in_history).collect();
    // Time order, ties by the input order, so "last event" is well defined.
    history.sort_by_key(|e| e.timestamp_ms);

    let mut item_counts: HashMap<&str, FunnelCounts> = HashMap::new();
    let mut category_counts: HashMap<&str, FunnelCounts> = HashMap::new();
    let mut window_counts = FunnelCounts::default();
    // Sum and count of the prices seen per category.
    let mut category_prices: HashMap<&str, (f64, u32)> = HashMap::new();
    let mut users: BTreeMap<&str, UserHistory> = BTreeMap::new();
    for &e in &history {
        let category = e.context.get(CATEGORY_FIELD).map(String::as_str);
        item_counts
            .entry(&e.item_id)
            .or_default()
            .add(&e.event_type);
        if let Some(c) = category {
            category_counts.entry(c).or_default().add(&e.event_type);
        }
        window_counts.add(&e.event_type);

        let user = users
            .entry(e.user_id.as_str())
            .or_insert_with(|| UserHistory {
                first_ms: e.timestamp_ms,
                ..Default::default()
            });
        user.funnel.add(&e.event_type);
        user.last_ms = e.timestamp_ms;
        user.last_stage = e.event_type.funnel_stage();
        user.last_item = e.item_id.as_str();
        user.items.insert(e.item_id.as_str());
        if let Some(c) = category {
            user.categories.insert(c);
        }
        if let Some(price) = e.price {
            user.price_sum += price;
            user.priced_events += 1;
            user.last_priced = Some((price, category));
            if let Some(c) = category {
                let (sum, n) = category_prices.entry(c).or_default();
                *sum += price;
                *n += 1;
            }
        }
        match e.event_type {
            EventType::AddToCart => {
                user.last_cart_ms = Some(e.timestamp_ms);
                user.carted.insert(e.item_id.as_str());
            }
            EventType::Purchase => {
                user.bought.insert(e.item_id.as_str());
            }
            _ => {}
        }
    }
    let prior_rate = window_counts.purchases as f64 / window_counts.total().max(1) as f64;
    let item_rates = ConversionRates::new(item_counts, prior_rate);
    let category_rates = ConversionRates::new(category_counts, prior_rate);

    let buyers: HashSet<&str> = events
        .iter()
        .filter(|e| {
            e.event_type == EventType::Purchase
                && e.timestamp_ms >= window.cutoff_ms
                && e.timestamp_ms < window.cutoff_ms + window.horizon_ms
        })
        .map(|e| e.user_id.as_str())
        .collect();

    let minutes_before_cutoff = |ms: i64| (window.cutoff_ms - ms) as f64 / 60_000.0;
    let log = |n: usize| (n as f64).ln_1p();
    let mut table = FeatureTable {
        users: Vec::with_capacity(users.len()),
        values: Vec::with_capacity(users.len() * FeatureTable::WIDTH),
        labels: Vec::with_capacity(users.len()),
    };
    for (user_id, user) in &users {
        // Sorted, so that the float sums below do not depend on hash order.
        let mut items: Vec<&str> = user.items.iter().copied().collect();
        items.sort_unstable();
        let rates: Vec<f64> = items.iter().map(|i| item_rates.rate(i)).collect();
        let max_category_rate = user
            .categories
            .iter()
            .map(|c| category_rates.rate(c))
            .fold(prior_rate, f64::max);
        let row: [f64; FeatureTable::WIDTH] = [
            log(user.funnel.views as usize),
            log(user.funnel.carts as usize),
            log(user.funnel.other as usize),
            log(user.funnel.purchases as usize),
            log(user.items.len()),
            log(user.categories.len()),
            minutes_before_cutoff(user.last_ms),
            minutes_before_cutoff(user.first_ms),
            minutes_before_cutoff(user.last_cart_ms.unwrap_or(start)),
            f64::from(u8::from(!user.carted.is_empty())),
            log(user.carted.difference(&user.bought).count()),
            f64::from(user.last_stage),
            rates.iter().copied().fold(0.0, f64::max),
            rates.iter().sum::<f64>() / rates.len() as f64,
            max_category_rate,
            log(items
                .iter()
                .map(|i| item_rates.popularity(i))
                .max()
                .unwrap_or(0) as usize),
            item_rates.rate(user.last_item),
            if user.priced_events > 0 {
                (user.price_sum / f64::from(user.priced_events)).ln_1p()
            } else {
                0.0
            },
            user.last_priced.map_or(0.0, |(price, _)| price.ln_1p()),
            user.last_priced
                .and_then(|(price, category)| {
                    let (sum, n) = category_prices.get(category?)?;
                    let mean = sum / f64::from(*n);
                    (mean > 0.0).then(|| price / mean)
                })
                .unwrap_or(1.0),
        ];
        table.users.push(user_id.to_string());
        table.values.extend_from_slice(&row);
        table.labels.push(buyers.contains(user_id));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversion::readers::read_taobao_csv;
    use crate::conversion::task::{repo_path, SAMPLE_PATH};

    fn sample() -> Vec<Event> {
        read_taobao_csv(&repo_path(SAMPLE_PATH)).unwrap()
    }

    fn window(events: &[Event]) -> PurchaseWindow {
        let first = events.iter().map(|e| e.timestamp_ms).min().unwrap();
        PurchaseWindow {
            cutoff_ms: first + 60 * 60_000,
            lookback_ms: 60 * 60_000,
            horizon_ms: 40 * 60_000,
        }
    }

    #[test]
    fn features_ignore_everything_from_the_cut_off() {
        let events = sample();
        let w = window(&events);
        let table = build_features(&events, &w);
        assert!(
            table.len() > 1000 && table.positives() > 10,
            "{}",
            table.len()
        );

        // Rewrite every event at or after the cut-off: new users, items, types, times.
        let mut changed = events.clone();
        for (i, e) in changed.iter_mut().enumerate() {
            if e.timestamp_ms >= w.cutoff_ms {
                e.event_type = EventType::AddToCart;
                e.item_id = format!("other-item-{i}");
                e.context
                    .insert(CATEGORY_FIELD.into(), "other-category".into());
                e.timestamp_ms += 1_000;
            }
        }
        let after = build_features(&changed, &w);
        assert_eq!(after.users, table.users);
        assert_eq!(after.values, table.values);
        assert_ne!(
            after.labels, table.labels,
            "the labels do come from the future"
        );
    }

    #[test]
    fn labels_are_purchases_in_the_horizon() {
        let events = sample();
        let w = window(&events);
        let table = build_features(&events, &w);
        for (user, &label) in table.users.iter().zip(&table.labels) {
            let buys = events.iter().any(|e| {
                &e.user_id == user
                    && e.event_type == EventType::Purchase
                    && (w.cutoff_ms..w.cutoff_ms + w.horizon_ms).contains(&e.timestamp_ms)
            });
            assert_eq!(buys, label, "user {user}");
        }
        // Carting is the classic signal: carting users convert more often than the rest.
        let carted = table.column("carted_any");
        let rate = |flag: f64| {
            let group: Vec<bool> = (0..table.len())
                .filter(|&i| carted[i] == flag)
                .map(|i| table.labels[i])
                .collect();
            group.iter().filter(|&&l| l).count() as f64 / group.len() as f64
        };
        assert!(rate(1.0) > rate(0.0), "{} vs {}", rate(1.0), rate(0.0));
    }
}
