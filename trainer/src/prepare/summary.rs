//! A summary of prepared data: counts, the session-level funnel and the session length distribution.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::sessionize::Session;
use super::split::format_ms;
use crate::events::{CatalogItem, Event, EventType};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    pub events: u64,
    pub users: u64,
    pub items: u64,
    pub sessions: u64,
    /// Event count by type name (`view`, `add_to_cart`, ..., custom names as they are).
    pub by_type: BTreeMap<String, u64>,
    /// Events without a value for each optional field (`price`, `quantity`): missing values are kept
    /// missing, never invented; models and profiles skip them.
    pub missing: BTreeMap<String, u64>,
    pub first_event_ms: Option<i64>,
    pub last_event_ms: Option<i64>,
    pub funnel: Funnel,
    /// Events per session.
    pub session_length: Distribution,
}

/// Session-level funnel: of the sessions with a view (or click), how many reach the cart and purchase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Funnel {
    pub sessions_with_view: u64,
    pub sessions_with_cart: u64,
    pub sessions_with_purchase: u64,
    /// Sessions with a cart and a purchase.
    pub sessions_with_cart_and_purchase: u64,
    /// sessions_with_cart / sessions_with_view.
    pub view_to_cart: Option<f64>,
    /// sessions_with_cart_and_purchase / sessions_with_cart.
    pub cart_to_purchase: Option<f64>,
    /// sessions_with_purchase / sessions_with_view.
    pub view_to_purchase: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub mean: f64,
    /// Quantile (`p10`, `p25`, `p50`, `p75`, `p90`, `p99`) -> value (nearest rank).
    pub quantiles: BTreeMap<String, u64>,
    pub max: u64,
    /// `(bucket label, count)`, buckets 1, 2, 3-4, 5-9, 10-19, 20-49, 50+.
    pub histogram: Vec<(String, u64)>,
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The name of an event type as summaries and mapping files write it.
pub fn type_name(event_type: &EventType) -> String {
    match event_type {
        EventType::View => "view".into(),
        EventType::Click => "click".into(),
        EventType::AddToCart => "add_to_cart".into(),
        EventType::RemoveFromCart => "remove_from_cart".into(),
        EventType::Purchase => "purchase".into(),
        EventType::Custom(name) => name.clone(),
    }
}

impl Distribution {
    pub fn of(mut values: Vec<u64>) -> Distribution {
        values.sort_unstable();
        let nearest_rank = |q: f64| -> u64 {
            let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
            values[rank - 1]
        };
        let quantiles = if values.is_empty() {
            BTreeMap::new()
        } else {
            [10, 25, 50, 75, 90, 99]
                .into_iter()
                .map(|p| (format!("p{p}"), nearest_rank(p as f64 / 100.0)))
                .collect()
        };
        const BUCKETS: [(u64, u64, &str); 7] = [
            (1, 1, "1"),
            (2, 2, "2"),
            (3, 4, "3-4"),
            (5, 9, "5-9"),
            (10, 19, "10-19"),
            (20, 49, "20-49"),
            (50, u64::MAX, "50+"),
        ];
        let histogram = BUCKETS
            .iter()
            .map(|&(low, high, label)| {
                let count = values.iter().filter(|v| (low..=high).contains(*v)).count();
                (label.to_string(), count as u64)
            })
            .collect();
        Distribution {
            mean: if values.is_empty() {
                0.0
            } else {
                values.iter().sum::<u64>() as f64 / values.len() as f64
            },
            quantiles,
            max: values.last().copied().unwrap_or(0),
            histogram,
        }
    }
}

impl EventSummary {
    pub fn of(events: &[Event], sessions: &[Session]) -> EventSummary {
        let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
        for event in events {
            *by_type.entry(type_name(&event.event_type)).or_default() += 1;
        }
        let (mut with_view, mut with_cart, mut with_purchase, mut with_both) = (0, 0, 0, 0);
        for session in sessions {
            let has = |f: fn(&EventType) -> bool| {
                session.events.iter().any(|&i| f(&events[i].event_type))
            };
            let view = has(|t| matches!(t, EventType::View | EventType::Click));
            let cart = has(|t| *t == EventType::AddToCart);
            let purchase = has(|t| *t == EventType::Purchase);
            with_view += u64::from(view);
            with_cart += u64::from(cart);
            with_purchase += u64::from(purchase);
            with_both += u64::from(cart && purchase);
        }
        let distinct =
            |key: fn(&Event) -> &str| events.iter().map(key).collect::<HashSet<_>>().len() as u64;
        EventSummary {
            events: events.len() as u64,
            users: distinct(|e| &e.user_id),
            items: distinct(|e| &e.item_id),
            sessions: sessions.len() as u64,
            by_type,
            missing: [
                ("price", events.iter().filter(|e| e.price.is_none()).count()),
                (
                    "quantity",
                    events.iter().filter(|e| e.quantity.is_none()).count(),
                ),
            ]
            .into_iter()
            .map(|(field, n)| (field.to_string(), n as u64))
            .collect(),
            first_event_ms: events.iter().map(|e| e.timestamp_ms).min(),
            last_event_ms: events.iter().map(|e| e.timestamp_ms).max(),
            funnel: Funnel {
                sessions_with_view: with_view,
                sessions_with_cart: with_cart,
                sessions_with_purchase: with_purchase,
                sessions_with_cart_and_purchase: with_both,
                view_to_cart: ratio(with_cart, with_view),
                cart_to_purchase: ratio(with_both, with_cart),
                view_to_purchase: ratio(with_purchase, with_view),
            },
            session_length: Distribution::of(
                sessions.iter().map(|s| s.events.len() as u64).collect(),
            ),
        }
    }
}

fn percent(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |v| format!("{:.2}%", 100.0 * v))
}

impl fmt::Display for EventSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "| events | users | items | sessions | first event | last event |"
        )?;
        writeln!(f, "|---:|---:|---:|---:|---|---|")?;
        let time = |t: Option<i64>| t.map_or("-".to_string(), format_ms);
        writeln!(
            f,
            "| {} | {} | {} | {} | {} | {} |",
            self.events,
            self.users,
            self.items,
            self.sessions,
            time(self.first_event_ms),
            time(self.last_event_ms)
        )?;
        writeln!(f, "\n| event type | events |\n|---|---:|")?;
        for (name, count) in &self.by_type {
            writeln!(f, "| {name} | {count} |")?;
        }
        let missing: Vec<String> = self
            .missing
            .iter()
            .map(|(field, n)| format!("{field} {n}"))
            .collect();
        writeln!(f, "\nevents without: {}", missing.join(", "))?;
        let funnel = &self.funnel;
        writeln!(f, "\n| sessions with view | with cart | with purchase | view->cart | cart->purchase | view->purchase |")?;
        writeln!(f, "|---:|---:|---:|---:|---:|---:|")?;
        writeln!(
            f,
            "| {} | {} | {} | {} | {} | {} |",
            funnel.sessions_with_view,
            funnel.sessions_with_cart,
            funnel.sessions_with_purchase,
            percent(funnel.view_to_cart),
            percent(funnel.cart_to_purchase),
            percent(funnel.view_to_purchase)
        )?;
        let length = &self.session_length;
        write!(f, "\nsession length: mean {:.2}", length.mean)?;
        for (q, v) in &length.quantiles {
            write!(f, ", {q} {v}")?;
        }
        writeln!(f, ", max {}", length.max)?;
        let histogram: Vec<String> = length
            .histogram
            .iter()
            .map(|(bucket, count)| format!("{bucket}: {count}"))
            .collect();
        writeln!(f, "sessions by length: {}", histogram.join(", "))
    }
}

/// Counts for catalog data: entries, distinct items and how often each field is filled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogSummary {
    pub entries: u64,
    pub distinct_items: u64,
    /// Field name -> entries where it is filled.
    pub filled: BTreeMap<String, u64>,
    /// Distinct values of the first category level.
    pub top_categories: u64,
}

impl CatalogSummary {
    pub fn of(items: &[CatalogItem]) -> CatalogSummary {
        let count = |f: fn(&CatalogItem) -> bool| items.iter().filter(|i| f(i)).count() as u64;
        let filled = [
            ("title", count(|i| i.title.is_some())),
            ("description", count(|i| i.description.is_some())),
            ("category_path", count(|i| !i.category_path.is_empty())),
            ("brand", count(|i| i.brand.is_some())),
            ("price", count(|i| i.price.is_some())),
            ("available", count(|i| i.available.is_some())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        CatalogSummary {
            entries: items.len() as u64,
            distinct_items: items
                .iter()
                .map(|i| &i.item_id)
                .collect::<HashSet<_>>()
                .len() as u64,
            filled,
            top_categories: items
                .iter()
                .filter_map(|i| i.category_path.first())
                .collect::<HashSet<_>>()
                .len() as u64,
        }
    }
}

impl fmt::Display for CatalogSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "| catalog entries | distinct items | top-level categories |"
        )?;
        writeln!(f, "|---:|---:|---:|")?;
        writeln!(
            f,
            "| {} | {} | {} |",
            self.entries, self.distinct_items, self.top_categories
        )?;
        let filled: Vec<String> = self
            .filled
            .iter()
            .map(|(field, n)| format!("{field} {n}"))
            .collect();
        writeln!(f, "filled: {}", filled.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_uses_nearest_rank_quantiles_and_fixed_buckets() {
        let d = Distribution::of(vec![60, 1, 2, 1, 10, 3]);
        assert_eq!(d.quantiles["p50"], 2);
        assert_eq!(d.quantiles["p90"], 60);
        assert_eq!(d.quantiles["p10"], 1);
        assert_eq!(d.max, 60);
        assert!((d.mean - 77.0 / 6.0).abs() < 1e-12);
        let counts: Vec<u64> = d.histogram.iter().map(|(_, n)| *n).collect();
        assert_eq!(counts, [2, 1, 1, 0, 1, 0, 1]);
        assert!(Distribution::of(Vec::new()).quantiles.is_empty());
    }
}
