//! The optional catalog of a bundle: each item's category, price and availability, which the
//! request filters (`filters.categories`, `filters.price`, `filters.available_only`) need.
//!
//! Sections (all four or none; `n` = `counts.items`, `c` = `counts.categories`):
//!
//! | section | content |
//! |---|---|
//! | `catalog_categories` | the `c` category paths, UTF-8, sorted, unique, non-empty, separated by `\n` |
//! | `catalog_item_category` | `n` × u32: index into the categories, or `u32::MAX` for none |
//! | `catalog_price` | `n` × f32: price (finite, >= 0), or NaN for unknown |
//! | `catalog_available` | `n` bytes: 0 unavailable, 1 available, 2 unknown |

use crate::bundle::{f32_bytes, f32_section, u32_bytes, u32_section, Bundle, BundleWriter};
use crate::error::BundleError;

/// Separator of category path levels: `electronics.smartphone` lies below `electronics`.
pub const CATEGORY_SEPARATOR: char = '.';
/// `catalog_item_category` value of an item without a category.
pub const NO_CATEGORY: u32 = u32::MAX;

const SECTIONS: [&str; 4] = [
    "catalog_categories",
    "catalog_item_category",
    "catalog_price",
    "catalog_available",
];

/// What the catalog knows about one item (the trainer's input to [`Catalog::from_entries`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CatalogEntry {
    /// Category path with levels joined by `.`, e.g. `electronics.smartphone`.
    pub category: Option<String>,
    pub price: Option<f32>,
    pub available: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    categories: Vec<String>,
    item_category: Vec<u32>,
    price: Vec<f32>,
    available: Vec<u8>,
}

impl Catalog {
    /// Builds the catalog of `entries` (one per item, in item-index order). Categories are sorted,
    /// so the same entries always give the same bytes. Empty category names count as none,
    /// negative or non-finite prices as unknown.
    pub fn from_entries(entries: &[CatalogEntry]) -> Self {
        let mut categories: Vec<String> = entries
            .iter()
            .filter_map(|e| e.category.clone())
            .filter(|c| !c.is_empty())
            .map(|c| c.replace('\n', " "))
            .collect();
        categories.sort_unstable();
        categories.dedup();
        let item_category = entries
            .iter()
            .map(|e| match &e.category {
                Some(c) if !c.is_empty() => categories
                    .binary_search(&c.replace('\n', " "))
                    .map(|i| i as u32)
                    .unwrap_or(NO_CATEGORY),
                _ => NO_CATEGORY,
            })
            .collect();
        let price = entries
            .iter()
            .map(|e| match e.price {
                Some(p) if p.is_finite() && p >= 0.0 => p,
                _ => f32::NAN,
            })
            .collect();
        let available = entries
            .iter()
            .map(|e| match e.available {
                Some(false) => 0,
                Some(true) => 1,
                None => 2,
            })
            .collect();
        Catalog {
            categories,
            item_category,
            price,
            available,
        }
    }

    pub fn len(&self) -> usize {
        self.item_category.len()
    }

    pub fn is_empty(&self) -> bool {
        self.item_category.is_empty()
    }

    /// The category paths, sorted.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    /// The item's category path, if it has one.
    pub fn category(&self, item: u32) -> Option<&str> {
        let c = self.item_category[item as usize];
        (c != NO_CATEGORY).then(|| self.categories[c as usize].as_str())
    }

    pub fn price(&self, item: u32) -> Option<f32> {
        let p = self.price[item as usize];
        (!p.is_nan()).then_some(p)
    }

    pub fn available(&self, item: u32) -> Option<bool> {
        match self.available[item as usize] {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    pub(crate) fn category_index(&self, item: u32) -> u32 {
        self.item_category[item as usize]
    }

    /// For each category index, whether it is `name` or lies below it; `None` if no category
    /// is `name` or lies below it (an unknown category).
    pub fn matching_categories(&self, name: &str) -> Option<Vec<bool>> {
        let below = |c: &str| {
            c == name
                || c.len() > name.len()
                    && c.starts_with(name)
                    && c[name.len()..].starts_with(CATEGORY_SEPARATOR)
        };
        let mask: Vec<bool> = self.categories.iter().map(|c| below(c)).collect();
        mask.iter().any(|&m| m).then_some(mask)
    }

    /// Adds the catalog's sections and count to a bundle.
    pub fn write(&self, w: &mut BundleWriter) {
        w.count("categories", self.categories.len() as u64)
            .section(
                "catalog_categories",
                "utf8-lines",
                self.categories.join("\n").as_bytes(),
            )
            .section(
                "catalog_item_category",
                "u32le",
                &u32_bytes(&self.item_category),
            )
            .section("catalog_price", "f32le", &f32_bytes(&self.price))
            .section("catalog_available", "u8", &self.available);
    }

    /// Reads the catalog of a verified bundle with `n_items` items: `None` if it has none, an
    /// error if it has part of one or any of it is inconsistent.
    pub fn from_bundle(bundle: &Bundle<'_>, n_items: u64) -> Result<Option<Self>, BundleError> {
        let present: Vec<&str> = SECTIONS
            .into_iter()
            .filter(|name| bundle.manifest.sections.iter().any(|s| s.name == *name))
            .collect();
        if present.is_empty() {
            return Ok(None);
        }
        if let Some(missing) = SECTIONS.into_iter().find(|s| !present.contains(s)) {
            return Err(BundleError::InvalidSection {
                name: missing.to_string(),
                problem: format!(
                    "missing: the bundle has the catalog sections {} but a catalog needs all of {}",
                    present.join(", "),
                    SECTIONS.join(", ")
                ),
            });
        }
        let bad = |name: &str, problem: String| BundleError::InvalidSection {
            name: name.to_string(),
            problem,
        };
        let n_categories = bundle.count("categories")?;
        let text = std::str::from_utf8(bundle.section("catalog_categories")?)
            .map_err(|e| bad("catalog_categories", format!("not UTF-8: {e}")))?;
        let categories: Vec<String> = if text.is_empty() {
            Vec::new()
        } else {
            text.split('\n').map(str::to_string).collect()
        };
        if categories.len() as u64 != n_categories {
            return Err(bad(
                "catalog_categories",
                format!(
                    "holds {} categories but the manifest counts {n_categories}",
                    categories.len()
                ),
            ));
        }
        if categories.iter().any(String::is_empty) {
            return Err(bad("catalog_categories", "a category is empty".to_string()));
        }
        if let Some(w) = categories.windows(2).find(|w| w[0] >= w[1]) {
            return Err(bad(
                "catalog_categories",
                format!("not sorted and unique at `{}`, `{}`", w[0], w[1]),
            ));
        }
        let length = |name: &str, len: usize| {
            if len as u64 == n_items {
                Ok(())
            } else {
                Err(bad(name, format!("has {len} entries for {n_items} items")))
            }
        };
        let item_category = u32_section(
            "catalog_item_category",
            bundle.section("catalog_item_category")?,
        )?;
        length("catalog_item_category", item_category.len())?;
        if let Some(c) = item_category
            .iter()
            .find(|&&c| c != NO_CATEGORY && u64::from(c) >= n_categories)
        {
            return Err(bad(
                "catalog_item_category",
                format!("category index {c} is out of range (there are {n_categories} categories)"),
            ));
        }
        let price = f32_section("catalog_price", bundle.section("catalog_price")?)?;
        length("catalog_price", price.len())?;
        if let Some(p) = price
            .iter()
            .find(|p| !(p.is_nan() || p.is_finite() && **p >= 0.0))
        {
            return Err(bad(
                "catalog_price",
                format!("price {p} is neither a finite number >= 0 nor NaN (unknown)"),
            ));
        }
        let available = bundle.section("catalog_available")?.to_vec();
        length("catalog_available", available.len())?;
        if let Some(a) = available.iter().find(|&&a| a > 2) {
            return Err(bad(
                "catalog_available",
                format!("value {a} is not 0 (no), 1 (yes) or 2 (unknown)"),
            ));
        }
        Ok(Some(Catalog {
            categories,
            item_category,
            price,
            available,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(category: Option<&str>, price: Option<f32>, available: Option<bool>) -> CatalogEntry {
        CatalogEntry {
            category: category.map(String::from),
            price,
            available,
        }
    }

    fn sample() -> Catalog {
        Catalog::from_entries(&[
            entry(Some("electronics.phone"), Some(100.0), Some(true)),
            entry(Some("electronics"), Some(-1.0), None),
            entry(None, None, Some(false)),
            entry(Some("electronicsx"), Some(f32::INFINITY), None),
        ])
    }

    #[test]
    fn entries_round_trip() {
        let c = sample();
        assert_eq!(
            c.categories(),
            ["electronics", "electronics.phone", "electronicsx"]
        );
        assert_eq!(c.category(0), Some("electronics.phone"));
        assert_eq!(c.category(2), None);
        assert_eq!(
            (c.price(0), c.price(1), c.price(3)),
            (Some(100.0), None, None)
        );
        assert_eq!(
            (c.available(0), c.available(1), c.available(2)),
            (Some(true), None, Some(false))
        );
    }

    #[test]
    fn categories_match_themselves_and_below_only() {
        let c = sample();
        assert_eq!(
            c.matching_categories("electronics"),
            Some(vec![true, true, false])
        );
        assert_eq!(
            c.matching_categories("electronics.phone"),
            Some(vec![false, true, false])
        );
        assert_eq!(c.matching_categories("electro"), None);
        assert_eq!(c.matching_categories("phone"), None);
    }
}
