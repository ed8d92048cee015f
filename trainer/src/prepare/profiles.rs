//! User profiles: interests (categories, brands), price level, recency, frequency and purchase
//! history, as features for the models and the strategy engine. Built from training events only.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::events::{CatalogItem, Event, EventType};

/// Interests kept per kind (categories, brands).
pub const TOP_INTERESTS: usize = 5;
const MS_PER_DAY: f64 = 86_400_000.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interest {
    pub name: String,
    /// Share of the user's interaction weight (views 1, clicks 2, carts 3, purchases 5).
    pub weight: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceBucket {
    /// Below the catalog's 33rd price percentile.
    Low,
    Mid,
    /// Above the catalog's 67th price percentile.
    High,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceLevel {
    /// Median price over the user's events that carry a price (or whose item has one in the catalog).
    pub median_price: f64,
    /// Share of catalog items priced at or below that median.
    pub catalog_percentile: f64,
    pub bucket: PriceBucket,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Purchase {
    pub item_id: String,
    pub timestamp_ms: i64,
    pub price: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserProfile {
    pub user_id: String,
    /// Frequency: events, sessions and distinct UTC days with activity.
    pub events: u64,
    pub sessions: u64,
    pub active_days: u64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// Recency: days from the last event to the reference time (the end of the training data).
    pub recency_days: f64,
    pub top_categories: Vec<Interest>,
    pub top_brands: Vec<Interest>,
    pub price_level: Option<PriceLevel>,
    pub purchases: Vec<Purchase>,
    /// Numeric features normalised with scalings fitted on the training profiles (see `prepare`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub features: BTreeMap<String, f64>,
}

/// The catalog as profiles need it: the latest entry per item, and the sorted item prices.
pub struct CatalogIndex {
    pub items: HashMap<String, CatalogItem>,
    sorted_prices: Vec<f64>,
}

impl CatalogIndex {
    /// Later entries for the same item replace earlier ones (prices change over a log).
    pub fn new(entries: Vec<CatalogItem>) -> CatalogIndex {
        let mut items = HashMap::new();
        for item in entries {
            items.insert(item.item_id.clone(), item);
        }
        let mut sorted_prices: Vec<f64> = items.values().filter_map(|i| i.price).collect();
        sorted_prices.sort_by(f64::total_cmp);
        CatalogIndex {
            items,
            sorted_prices,
        }
    }

    /// Share of catalog items priced at or below `price`; `None` without catalog prices.
    pub fn price_percentile(&self, price: f64) -> Option<f64> {
        (!self.sorted_prices.is_empty()).then(|| {
            self.sorted_prices.partition_point(|p| *p <= price) as f64
                / self.sorted_prices.len() as f64
        })
    }
}

fn interest_weight(event_type: &EventType) -> f64 {
    match event_type {
        EventType::View | EventType::Custom(_) => 1.0,
        EventType::Click => 2.0,
        EventType::AddToCart => 3.0,
        EventType::RemoveFromCart => 0.0,
        EventType::Purchase => 5.0,
    }
}

fn top(weights: HashMap<String, f64>) -> Vec<Interest> {
    let total: f64 = weights.values().sum();
    let mut interests: Vec<Interest> = weights
        .into_iter()
        .filter(|(_, w)| *w > 0.0)
        .map(|(name, w)| Interest {
            name,
            weight: w / total,
        })
        .collect();
    interests.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.name.cmp(&b.name)));
    interests.truncate(TOP_INTERESTS);
    interests
}

/// The median of non-empty values (the mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// One profile per user of `events`, which must be sorted by user then time and sessionised.
pub fn build_profiles(
    events: &[Event],
    catalog: &CatalogIndex,
    reference_ms: i64,
) -> Vec<UserProfile> {
    let bar = crate::progress::bar(events.len() as u64, "profiles");
    let mut profiles = Vec::new();
    for user_events in events.chunk_by(|a, b| a.user_id == b.user_id) {
        bar.inc(user_events.len() as u64);
        let mut categories: HashMap<String, f64> = HashMap::new();
        let mut brands: HashMap<String, f64> = HashMap::new();
        let mut prices = Vec::new();
        let mut purchases = Vec::new();
        for event in user_events {
            let item = catalog.items.get(&event.item_id);
            let weight = interest_weight(&event.event_type);
            if let Some(item) = item {
                if !item.category_path.is_empty() {
                    *categories.entry(item.category_path.join(".")).or_default() += weight;
                }
                if let Some(brand) = &item.brand {
                    *brands.entry(brand.clone()).or_default() += weight;
                }
            }
            let price = event.price.or_else(|| item.and_then(|i| i.price));
            prices.extend(price);
            if event.event_type == EventType::Purchase {
                purchases.push(Purchase {
                    item_id: event.item_id.clone(),
                    timestamp_ms: event.timestamp_ms,
                    price,
                });
            }
        }
        let price_level = median(&mut prices).map(|median_price| {
            let catalog_percentile = catalog.price_percentile(median_price).unwrap_or(0.5);
            PriceLevel {
                median_price,
                catalog_percentile,
                bucket: match catalog_percentile {
                    p if p < 1.0 / 3.0 => PriceBucket::Low,
                    p if p <= 2.0 / 3.0 => PriceBucket::Mid,
                    _ => PriceBucket::High,
                },
            }
        });
        let first = &user_events[0];
        let last = &user_events[user_events.len() - 1];
        let distinct = |key: &dyn Fn(&Event) -> String| {
            user_events.iter().map(key).collect::<HashSet<_>>().len() as u64
        };
        profiles.push(UserProfile {
            user_id: first.user_id.clone(),
            events: user_events.len() as u64,
            sessions: distinct(&|e| e.session_id.clone().unwrap_or_default()),
            active_days: distinct(&|e| e.timestamp_ms.div_euclid(86_400_000).to_string()),
            first_seen_ms: first.timestamp_ms,
            last_seen_ms: last.timestamp_ms,
            recency_days: (reference_ms - last.timestamp_ms) as f64 / MS_PER_DAY,
            top_categories: top(categories),
            top_brands: top(brands),
            price_level,
            purchases,
            features: BTreeMap::new(),
        });
    }
    bar.finish_and_clear();
    profiles
}
