//! Training the item-to-item co-visitation model.

use std::collections::HashMap;

use std::path::Path;

use anyhow::Result;
use edgerec::training::{
    BundleWriter, CatalogEntry, CovisitModel, CovisitParams, CATEGORY_SEPARATOR,
};
use edgerec::Catalog;
use serde::{Deserialize, Serialize};

use crate::events::CatalogItem;
use crate::ingest::{self, Mapping};
use crate::prepare::{sessionize, sort_and_dedup};
use crate::progress;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CovisitConfig {
    /// Pairs of items at most this many steps apart in a session are counted.
    pub window: usize,
    /// Weight of a pair seen in reverse order (j before i) relative to forward order.
    pub backward_weight: f32,
    /// Neighbours kept per item (the bundle's size grows linearly with it).
    pub max_neighbours: usize,
    /// Serving: weight of the item d steps before the last is `recency_decay^d`.
    pub recency_decay: f32,
}

impl Default for CovisitConfig {
    fn default() -> Self {
        // Chosen by a grid on a validation split of DIGINETICA's training sessions (last 10%); see RESULTS.md.
        CovisitConfig {
            window: 5,
            backward_weight: 0.5,
            max_neighbours: 40,
            recency_decay: 0.6,
        }
    }
}

/// Counts co-visits in the training sessions. Item indices follow first appearance, so the
/// same data always gives the same item table.
pub fn train_covisit(sessions: &[Vec<String>], config: &CovisitConfig) -> CovisitModel {
    train_covisit_with_items(sessions, &[], config)
}

/// As [`train_covisit`], and every item of `catalog` that no session shows is added after the
/// others (in catalog order) with no co-visits: a new product, which text candidates can still
/// reach.
pub fn train_covisit_with_items(
    sessions: &[Vec<String>],
    catalog: &[String],
    config: &CovisitConfig,
) -> CovisitModel {
    let mut index_of: HashMap<&str, u32> = HashMap::new();
    let mut item_ids = Vec::new();
    let encoded: Vec<Vec<u32>> = sessions
        .iter()
        .map(|s| {
            s.iter()
                .map(|id| {
                    *index_of.entry(id.as_str()).or_insert_with(|| {
                        item_ids.push(id.clone());
                        (item_ids.len() - 1) as u32
                    })
                })
                .collect()
        })
        .collect();
    for id in catalog {
        index_of.entry(id.as_str()).or_insert_with(|| {
            item_ids.push(id.clone());
            (item_ids.len() - 1) as u32
        });
    }
    let n = item_ids.len();
    let mut popularity = vec![0u64; n];
    // (from << 32 | to, weight) contributions, merged by sorting: deterministic and compact.
    let mut pairs: Vec<(u64, f32)> = Vec::new();
    let bar = progress::bar(encoded.len() as u64, "co-visits");
    for session in &encoded {
        for (a, &i) in session.iter().enumerate() {
            popularity[i as usize] += 1;
            for (d, &j) in session[a + 1..].iter().take(config.window).enumerate() {
                if i == j {
                    continue;
                }
                let w = 1.0 / (d + 1) as f32;
                pairs.push(((i as u64) << 32 | j as u64, w));
                if config.backward_weight > 0.0 {
                    pairs.push(((j as u64) << 32 | i as u64, config.backward_weight * w));
                }
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    pairs.sort_unstable_by_key(|p| p.0);
    let mut neighbours: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
    let mut k = 0;
    while k < pairs.len() {
        let key = pairs[k].0;
        let mut w = 0f32;
        while k < pairs.len() && pairs[k].0 == key {
            w += pairs[k].1;
            k += 1;
        }
        neighbours[(key >> 32) as usize].push((key as u32, w));
    }
    for list in &mut neighbours {
        list.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        list.truncate(config.max_neighbours);
    }
    CovisitModel::new(
        item_ids,
        &popularity,
        &neighbours,
        CovisitParams::new(config.recency_decay),
    )
}

/// Training sessions (item ids in time order, every event type) and catalog rows from a shop
/// export read through a mapping, with the input file's SHA-256. The catalog is empty when the
/// mapping has no `[catalog]` section.
pub struct MappedData {
    pub sessions: Vec<Vec<String>>,
    /// When each session began (Unix ms, its first event).
    pub session_starts: Vec<i64>,
    pub catalog: Vec<CatalogItem>,
    pub fingerprint: String,
}

pub fn read_mapped(mapping_path: &Path, input: &Path) -> Result<MappedData> {
    let mapping = Mapping::load(mapping_path)?;
    let (mut events, report) = ingest::read_events(&mapping, input, false)?;
    tracing::info!(
        read = report.rows_read,
        accepted = report.rows_accepted,
        "events of {}",
        input.display()
    );
    sort_and_dedup(&mut events);
    sessionize::sessionize(&mut events, sessionize::DEFAULT_GAP_MS, false);
    let (sessions, session_starts): (Vec<Vec<String>>, Vec<i64>) = sessionize::sessions(&events)
        .into_iter()
        .filter(|s| !s.events.is_empty())
        .map(|s| {
            let items = s
                .events
                .iter()
                .map(|&i| events[i].item_id.clone())
                .collect();
            (items, events[s.events[0]].timestamp_ms)
        })
        .unzip();
    let catalog = if mapping.catalog.is_some() {
        ingest::read_catalog(&mapping, input, false)?.0
    } else {
        Vec::new()
    };
    let fingerprint = crate::fingerprint::file_fingerprint(input)?;
    Ok(MappedData {
        sessions,
        session_starts,
        catalog,
        fingerprint,
    })
}

/// The catalog of the model's items from catalog rows (the last row of an item wins, so a file
/// in time order gives each item's latest attributes). Items without a row get no attributes.
pub fn catalog_for(model: &CovisitModel, rows: &[CatalogItem]) -> Catalog {
    let mut latest: HashMap<&str, &CatalogItem> = HashMap::new();
    for row in rows {
        latest.insert(row.item_id.as_str(), row);
    }
    let entries: Vec<CatalogEntry> = model
        .item_ids()
        .iter()
        .map(|id| match latest.get(id.as_str()) {
            Some(row) => CatalogEntry {
                category: (!row.category_path.is_empty())
                    .then(|| row.category_path.join(&CATEGORY_SEPARATOR.to_string())),
                price: row.price.map(|p| p as f32),
                available: row.available,
            },
            None => CatalogEntry::default(),
        })
        .collect();
    Catalog::from_entries(&entries)
}

/// A bundle writer for a trained model that also records the training configuration.
pub fn covisit_bundle(
    model: &CovisitModel,
    config: &CovisitConfig,
    created_at: String,
) -> BundleWriter {
    let mut writer = model.bundle_writer(created_at);
    writer.model_param(
        "training",
        serde_json::to_value(config).expect("config serialises"),
    );
    writer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(items: &str) -> Vec<String> {
        items.split(' ').map(String::from).collect()
    }

    #[test]
    fn counts_forward_pairs_more_than_backward() {
        let config = CovisitConfig {
            window: 2,
            backward_weight: 0.5,
            max_neighbours: 10,
            recency_decay: 1.0,
        };
        let model = train_covisit(&[s("a b c"), s("a b")], &config);
        assert_eq!(model.item_ids(), ["a", "b", "c"]);
        // After a: b (2 forward pairs at distance 1 = 2.0), c (distance 2 = 0.5).
        let recs = model.recommend_indices(&[0], 3, false);
        assert_eq!(recs.iter().map(|r| r.index).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(recs[0].score, 2.0);
        assert_eq!(recs[1].score, 0.5);
        // After c: b backward (0.5 * 1), a backward (0.5 * 0.5).
        let recs = model.recommend_indices(&[2], 3, false);
        assert_eq!(
            recs.iter().map(|r| (r.index, r.score)).collect::<Vec<_>>(),
            [(1, 0.5), (0, 0.25)]
        );
    }

    #[test]
    fn keeps_at_most_max_neighbours() {
        let config = CovisitConfig {
            max_neighbours: 1,
            ..CovisitConfig::default()
        };
        let model = train_covisit(&[s("a b c d")], &config);
        assert_eq!(model.num_neighbours(), 4);
    }
}
