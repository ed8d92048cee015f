//! The Women's E-Commerce Clothing Reviews as a text task: review title + text -> recommended
//! (binary) and rating (1-5), split by item (Clothing ID) so that no test item's reviews are seen
//! in training.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::ingest::{read_catalog, Mapping};
use crate::prepare::Splits;

/// The mapping the repository ships for this data set (one catalog entry per review).
const MAPPING: &str = include_str!("../../../mappings/womens-reviews.toml");

/// The real sample shipped in the repository, relative to its root.
pub const SAMPLE_PATH: &str = "data/womens-reviews/reviews_head400.parquet";

#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// Clothing ID.
    pub item: String,
    /// `"<title>. <review text>"`, or the review text alone when there is no title.
    pub text: String,
    pub recommended: bool,
    /// 1 to 5.
    pub rating: u8,
}

/// What the reader dropped, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewCounts {
    pub rows: usize,
    pub kept: usize,
    pub no_text: usize,
    pub bad_label: usize,
}

/// Reads the reviews Parquet file through `mappings/womens-reviews.toml`. Rows without review
/// text are dropped (there is nothing to learn from); rows without a usable rating or
/// recommended flag are dropped and counted.
pub fn read_reviews(path: &Path) -> Result<(Vec<Review>, ReviewCounts)> {
    let mapping = Mapping::from_toml(MAPPING).context("the built-in womens-reviews mapping")?;
    let (items, report) = read_catalog(&mapping, path, false)?;
    let mut counts = ReviewCounts {
        rows: report.rows_read as usize,
        ..Default::default()
    };
    let mut reviews = Vec::with_capacity(items.len());
    for item in items {
        let body = item.description.as_deref().map(str::trim).unwrap_or("");
        if body.is_empty() {
            counts.no_text += 1;
            continue;
        }
        let number = |key: &str| {
            item.attributes
                .get(key)
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        let (Some(rating), Some(recommended)) = (number("Rating"), number("Recommended IND"))
        else {
            counts.bad_label += 1;
            continue;
        };
        if !(1.0..=5.0).contains(&rating) || !(recommended == 0.0 || recommended == 1.0) {
            counts.bad_label += 1;
            continue;
        }
        let text = match item.title.as_deref().map(str::trim) {
            Some(title) if !title.is_empty() => format!("{title}. {body}"),
            _ => body.to_string(),
        };
        reviews.push(Review {
            item: item.item_id,
            text,
            recommended: recommended == 1.0,
            rating: rating.round() as u8,
        });
    }
    counts.kept = reviews.len();
    if reviews.is_empty() {
        bail!(
            "{} has no review with text, rating and recommended flag",
            path.display()
        );
    }
    Ok((reviews, counts))
}

/// Review indices of each part of a split by item, with the number of items of each part.
pub type ItemSplit = Splits<usize, [usize; 3]>;

/// Shuffles the distinct items with `seed` and gives the first `train` fraction of them to
/// training, the next `validation` fraction to validation and the rest to test; every review
/// follows its item.
pub fn split_by_item(
    reviews: &[Review],
    train: f64,
    validation: f64,
    seed: u64,
) -> Result<ItemSplit> {
    if !(0.0 < train && 0.0 <= validation && train + validation < 1.0) {
        bail!("split fractions train {train} and validation {validation} must be positive and sum below 1");
    }
    let mut items: Vec<&str> = reviews
        .iter()
        .map(|r| r.item.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if items.len() < 3 {
        bail!(
            "a split by item needs at least 3 items, the data has {}",
            items.len()
        );
    }
    fastrand::Rng::with_seed(seed).shuffle(&mut items);
    let n = items.len();
    let n_train = ((n as f64 * train).round() as usize).clamp(1, n - 2);
    let n_val = ((n as f64 * validation).round() as usize).clamp(1, n - n_train - 1);
    let part = |item: &str| -> usize {
        let at = items
            .iter()
            .position(|&i| i == item)
            .expect("every item was listed");
        if at < n_train {
            0
        } else if at < n_train + n_val {
            1
        } else {
            2
        }
    };
    let mut item_part = std::collections::HashMap::new();
    let counts = [n_train, n_val, n - n_train - n_val];
    Ok(Splits::place(0..reviews.len(), counts, |&i| {
        let item = reviews[i].item.as_str();
        *item_part.entry(item).or_insert_with(|| part(item))
    }))
}
