//! The canonical event and catalog model every reader produces and every model consumes.
//!
//! Shops' exports differ; a mapping file (see `mappings/`) says how a file's columns become these
//! types, so nothing downstream depends on a particular source format.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What the user did, as a shop's export says it: the core's [`edgerec::EventType`] (what a
/// request and the models know) plus what only data preparation needs, a removal from the cart
/// and custom names from a shop's own vocabulary (kept, not dropped). [`EventType::core`] is the
/// one mapping to the core's vocabulary, and so (through `edgerec::training::model::EventKind::from`) to
/// the transformer's event kinds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    View,
    Click,
    AddToCart,
    RemoveFromCart,
    Purchase,
    Custom(String),
}

impl EventType {
    /// The core's event type. A custom event (Taobao's `fav`) stands for intent between a view
    /// and a cart, so it takes the otherwise unused `Click`; a removal from the cart counts as a
    /// view of the item.
    pub fn core(&self) -> edgerec::EventType {
        match self {
            EventType::View | EventType::RemoveFromCart => edgerec::EventType::View,
            EventType::Click | EventType::Custom(_) => edgerec::EventType::Click,
            EventType::AddToCart => edgerec::EventType::Cart,
            EventType::Purchase => edgerec::EventType::Purchase,
        }
    }

    /// Funnel depth: view/click < cart < purchase. Custom events rank with views.
    pub fn funnel_stage(&self) -> u8 {
        match self {
            EventType::View | EventType::Custom(_) => 0,
            EventType::Click => 1,
            EventType::AddToCart | EventType::RemoveFromCart => 2,
            EventType::Purchase => 3,
        }
    }
}

impl From<edgerec::EventType> for EventType {
    fn from(kind: edgerec::EventType) -> Self {
        match kind {
            edgerec::EventType::View => EventType::View,
            edgerec::EventType::Click => EventType::Click,
            edgerec::EventType::Cart => EventType::AddToCart,
            edgerec::EventType::Purchase => EventType::Purchase,
        }
    }
}

/// One behaviour event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub user_id: String,
    /// Session id from the source if it has one; otherwise assigned by sessionisation.
    pub session_id: Option<String>,
    /// Unix time in milliseconds (UTC).
    pub timestamp_ms: i64,
    pub event_type: EventType,
    pub item_id: String,
    pub price: Option<f64>,
    pub quantity: Option<u32>,
    /// Free context fields (page, device, category id, ...), kept as the source gave them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, String>,
}

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CatalogItem {
    pub item_id: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// Category path from the root, e.g. `["electronics", "smartphone"]`.
    #[serde(default)]
    pub category_path: Vec<String>,
    pub brand: Option<String>,
    pub price: Option<f64>,
    pub available: Option<bool>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl CatalogItem {
    /// The item's text for a text encoder: title, category levels, brand and description,
    /// separated by `. ` (`_` in category names read as spaces); `None` if it has none.
    pub fn text(&self) -> Option<String> {
        let category = self.category_path.join(" ").replace('_', " ");
        let parts: Vec<&str> = [
            self.title.as_deref(),
            Some(category.as_str()),
            self.brand.as_deref(),
            self.description.as_deref(),
        ]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
        (!parts.is_empty()).then(|| parts.join(". "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_event_types_round_trip() {
        for kind in [
            edgerec::EventType::View,
            edgerec::EventType::Click,
            edgerec::EventType::Cart,
            edgerec::EventType::Purchase,
        ] {
            assert_eq!(EventType::from(kind).core(), kind);
        }
        assert_eq!(
            EventType::Custom("fav".into()).core(),
            edgerec::EventType::Click
        );
        assert_eq!(EventType::RemoveFromCart.core(), edgerec::EventType::View);
    }
}
