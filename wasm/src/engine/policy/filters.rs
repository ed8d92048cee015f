//! The request's filters as a policy: exclusions, categories, price band, availability.

use super::Policy;
use crate::api::Filters as RequestFilters;
use crate::catalog::{Catalog, NO_CATEGORY};
use crate::engine::items::ItemTable;
use crate::error::RequestError;

/// A request's filters resolved against the model: which item indices may be returned.
pub(crate) struct Filters<'a> {
    catalog: Option<&'a Catalog>,
    excluded: Vec<bool>,
    /// Per category index: allowed. `None`: no category filter.
    categories: Option<Vec<bool>>,
    price: Option<(f64, f64)>,
    available_only: bool,
}

impl Policy for Filters<'_> {
    fn admits(&self, item: u32) -> bool {
        if self.excluded.get(item as usize).copied().unwrap_or(false) {
            return false;
        }
        let Some(catalog) = self.catalog else {
            return true;
        };
        if let Some(mask) = &self.categories {
            let c = catalog.category_index(item);
            if c == NO_CATEGORY || !mask[c as usize] {
                return false;
            }
        }
        if let Some((min, max)) = self.price {
            match catalog.price(item) {
                Some(p) if (min..=max).contains(&f64::from(p)) => {}
                _ => return false,
            }
        }
        !(self.available_only && catalog.available(item) == Some(false))
    }
}

impl<'a> Filters<'a> {
    /// The request's filters resolved against the item table: which indices may be returned.
    /// A category no catalog has, or a catalog filter without a catalog, is an error naming it.
    pub fn resolve(items: &'a ItemTable, f: &RequestFilters) -> Result<Self, RequestError> {
        let catalog = items.catalog();
        if catalog.is_none() {
            let needing = [
                ("filters.categories", f.categories.is_some()),
                ("filters.price", f.price.is_some()),
                ("filters.available_only", f.available_only),
            ];
            if let Some((field, _)) = needing.into_iter().find(|n| n.1) {
                return Err(RequestError::UnsupportedFilter {
                    field: field.to_string(),
                    message: "this model bundle has no catalog (category, price, availability); \
                              only `filters.exclude` applies"
                        .to_string(),
                });
            }
        }
        let mut excluded = Vec::new();
        if !f.exclude.is_empty() {
            excluded = vec![false; items.len()];
            for index in f.exclude.iter().filter_map(|id| items.index(id)) {
                excluded[index as usize] = true;
            }
        }
        let mut categories = None;
        if let (Some(names), Some(catalog)) = (&f.categories, catalog) {
            let mut mask = vec![false; catalog.categories().len()];
            for (i, name) in names.iter().enumerate() {
                let matching = category_mask(catalog, name, || format!("filters.categories[{i}]"))?;
                for (m, hit) in mask.iter_mut().zip(matching) {
                    *m |= hit;
                }
            }
            categories = Some(mask);
        }
        let price = f.price.map(|p| {
            (
                p.min.unwrap_or(f64::NEG_INFINITY),
                p.max.unwrap_or(f64::INFINITY),
            )
        });
        Ok(Filters {
            catalog,
            excluded,
            categories,
            price,
            available_only: f.available_only,
        })
    }
}

/// The catalog's categories at or below `name` (a mask over `Catalog::categories`): what a
/// category filter and a strategy's boost both select. A name the catalog does not have, at
/// any level, is `unknown_value` at `field`.
pub(crate) fn category_mask(
    catalog: &Catalog,
    name: &str,
    field: impl FnOnce() -> String,
) -> Result<Vec<bool>, RequestError> {
    catalog
        .matching_categories(name)
        .ok_or_else(|| RequestError::UnknownValue {
            field: field(),
            message: format!("`{name}` is not a category of this catalog, nor a level above one"),
        })
}
