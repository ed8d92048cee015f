//! The item table every bundle kind shares: ids, their indices, popularity and the catalog.

use std::collections::HashMap;

use crate::catalog::Catalog;

/// Every item a bundle knows, by index: what the engine answers in and what filters read.
///
/// Co-visitation and transformer bundles alike hand theirs to the engine at load, so the
/// stages after it (candidates, scoring, policy, explanations) never ask which model
/// produced an index.
#[derive(Debug, Clone)]
pub struct ItemTable {
    ids: Vec<String>,
    index_of: HashMap<String, u32>,
    /// All item indices, most popular first.
    popularity_order: Vec<u32>,
    /// Per item, its place in `popularity_order` (0 = most popular).
    popularity_places: Vec<u32>,
    catalog: Option<Catalog>,
}

impl ItemTable {
    /// `popularity_order` holds every index of `ids` once; `catalog`, if any, one entry per item
    /// (both are checked by the bundle loaders before they get here).
    pub(crate) fn new(
        ids: Vec<String>,
        popularity_order: Vec<u32>,
        catalog: Option<Catalog>,
    ) -> Self {
        debug_assert_eq!(ids.len(), popularity_order.len());
        let index_of = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i as u32))
            .collect();
        let mut popularity_places = vec![0; popularity_order.len()];
        for (place, &item) in popularity_order.iter().enumerate() {
            popularity_places[item as usize] = place as u32;
        }
        ItemTable {
            ids,
            index_of,
            popularity_order,
            popularity_places,
            catalog,
        }
    }

    /// The item ids, by index.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The index of an item id.
    pub fn index(&self, id: &str) -> Option<u32> {
        self.index_of.get(id).copied()
    }

    /// The id of an item index.
    pub fn id(&self, index: u32) -> &str {
        &self.ids[index as usize]
    }

    /// Item indices, most popular first.
    pub fn popularity_order(&self) -> &[u32] {
        &self.popularity_order
    }

    /// An item's place in the popularity order, 1 = most popular.
    pub fn popularity_rank(&self, index: u32) -> u32 {
        self.popularity_places[index as usize] + 1
    }

    /// The item attributes (category, price, availability), if the bundle has a catalog.
    pub fn catalog(&self) -> Option<&Catalog> {
        self.catalog.as_ref()
    }
}
