//! Item-to-item co-visitation with a popularity fallback.
//!
//! For each item the bundle stores its strongest co-visited neighbours (CSR layout). A session
//! is scored by summing its items' neighbour lists, the most recent item weighted most
//! (`recency_decay` per step back). Slots the neighbours cannot fill take the most popular items.

use serde::{Deserialize, Serialize};

use crate::api::{EventType, Source};
use crate::bundle::{f32_bytes, f32_section, u32_bytes, u32_section, Bundle, BundleWriter};
use crate::catalog::Catalog;
use crate::error::BundleError;

pub const MODEL_KIND: &str = crate::bundle::ModelKind::Covisit.as_str();

/// How much each event type counts in scoring, relative to a view. Not tuned: the data sets
/// with a next-item protocol here (DIGINETICA) hold views only, so the defaults are a prior
/// (a cart or purchase says more about intent than a view). A bundle may set its own in
/// `model_params.event_weights`; one without them gets these.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventWeights {
    pub view: f32,
    pub click: f32,
    pub cart: f32,
    pub purchase: f32,
}

impl Default for EventWeights {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl EventWeights {
    pub const DEFAULT: EventWeights = EventWeights {
        view: 1.0,
        click: 1.0,
        cart: 2.0,
        purchase: 2.0,
    };

    pub fn of(&self, kind: EventType) -> f32 {
        match kind {
            EventType::View => self.view,
            EventType::Click => self.click,
            EventType::Cart => self.cart,
            EventType::Purchase => self.purchase,
        }
    }
}

/// Serving parameters stored in the manifest's `model_params`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CovisitParams {
    /// Weight of the item `d` steps before the last one is `recency_decay^d`.
    pub recency_decay: f32,
    /// Weight of each event type (`history` items count as views).
    #[serde(default)]
    pub event_weights: EventWeights,
}

impl CovisitParams {
    /// These serving parameters with the default event weights.
    pub const fn new(recency_decay: f32) -> Self {
        CovisitParams {
            recency_decay,
            event_weights: EventWeights::DEFAULT,
        }
    }
}

/// One ranked item: its index in the model's item table, score, and where it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredItem {
    pub index: u32,
    pub score: f32,
    pub source: Source,
    /// For a popularity fill: the item's place in the popularity order (1 = most popular).
    pub popularity_rank: Option<u32>,
}

impl ScoredItem {
    /// An item scored by co-visitation.
    pub fn covisited(index: u32, score: f32) -> Self {
        ScoredItem::from_source(index, score, Source::Covisit)
    }

    /// An item scored by a source that has no popularity rank to give.
    pub fn from_source(index: u32, score: f32, source: Source) -> Self {
        ScoredItem {
            index,
            score,
            source,
            popularity_rank: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CovisitModel {
    item_ids: Vec<String>,
    /// All item indices, most popular first (ties by index).
    popularity_order: Vec<u32>,
    /// CSR: the neighbours of item `i` are `neighbour_items[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<u32>,
    neighbour_items: Vec<u32>,
    neighbour_weights: Vec<f32>,
    params: CovisitParams,
    /// Item attributes for filters, if the bundle has them.
    catalog: Option<Catalog>,
}

impl CovisitModel {
    /// Builds a model from per-item neighbour lists (each sorted strongest first) and popularity counts.
    pub fn new(
        item_ids: Vec<String>,
        popularity: &[u64],
        neighbours: &[Vec<(u32, f32)>],
        params: CovisitParams,
    ) -> Self {
        assert_eq!(item_ids.len(), popularity.len());
        assert_eq!(item_ids.len(), neighbours.len());
        let mut popularity_order: Vec<u32> = (0..item_ids.len() as u32).collect();
        popularity_order.sort_by(|&a, &b| {
            popularity[b as usize]
                .cmp(&popularity[a as usize])
                .then(a.cmp(&b))
        });
        let mut offsets = Vec::with_capacity(item_ids.len() + 1);
        let (mut neighbour_items, mut neighbour_weights) = (Vec::new(), Vec::new());
        offsets.push(0);
        for list in neighbours {
            for &(j, w) in list {
                neighbour_items.push(j);
                neighbour_weights.push(w);
            }
            offsets.push(neighbour_items.len() as u32);
        }
        CovisitModel {
            item_ids,
            popularity_order,
            offsets,
            neighbour_items,
            neighbour_weights,
            params,
            catalog: None,
        }
    }

    /// A model with no co-visitation lists, only the popularity order: the fallback of an
    /// engine whose ranking comes from elsewhere (a transformer bundle).
    pub fn from_popularity_order(item_ids: Vec<String>, popularity_order: Vec<u32>) -> Self {
        assert_eq!(item_ids.len(), popularity_order.len());
        CovisitModel {
            offsets: vec![0; item_ids.len() + 1],
            item_ids,
            popularity_order,
            neighbour_items: Vec::new(),
            neighbour_weights: Vec::new(),
            params: CovisitParams::new(0.0),
            catalog: None,
        }
    }

    /// Item `i`'s co-visitation neighbours with their weights, in stored order.
    pub fn neighbours(&self, i: u32) -> impl Iterator<Item = (u32, f32)> + '_ {
        let (start, end) = self.neighbour_range(i);
        self.neighbour_items[start..end]
            .iter()
            .copied()
            .zip(self.neighbour_weights[start..end].iter().copied())
    }

    /// Attaches a catalog (one entry per item, in item order), written into the bundle.
    pub fn with_catalog(mut self, catalog: Catalog) -> Self {
        assert_eq!(
            catalog.len(),
            self.item_ids.len(),
            "one catalog entry per item"
        );
        self.catalog = Some(catalog);
        self
    }

    pub fn catalog(&self) -> Option<&Catalog> {
        self.catalog.as_ref()
    }

    pub fn item_ids(&self) -> &[String] {
        &self.item_ids
    }

    pub fn params(&self) -> CovisitParams {
        self.params
    }

    pub fn num_neighbours(&self) -> usize {
        self.neighbour_items.len()
    }

    /// Ranks items for a session given as item indices, oldest first, each counting as a view
    /// of weight 1 (the evaluation protocol's form).
    ///
    /// Returns at most `k` items, highest score first, ties broken by item index so the order is
    /// the same on every platform. Items in `history` are left out unless `include_seen`.
    pub fn recommend_indices(
        &self,
        history: &[u32],
        k: usize,
        include_seen: bool,
    ) -> Vec<ScoredItem> {
        let session: Vec<(u32, f32)> = history.iter().map(|&i| (i, 1.0)).collect();
        self.rank(&session, k, include_seen, &|_| true)
    }

    /// Ranks items for a session of (item index, event weight), oldest first: co-visited
    /// items first (see [`Self::covisited`]), then popular ones; only items for which `allowed`
    /// holds. The engine ranks through its own stages; this is the model alone, for training.
    pub fn rank(
        &self,
        session: &[(u32, f32)],
        k: usize,
        include_seen: bool,
        allowed: &dyn Fn(u32) -> bool,
    ) -> Vec<ScoredItem> {
        let mut excluded = vec![false; self.item_ids.len()];
        if !include_seen {
            for &(item, _) in session {
                excluded[item as usize] = true;
            }
        }
        let mut out: Vec<ScoredItem> = self
            .covisited(session, k, &|j| !excluded[j as usize] && allowed(j))
            .into_iter()
            .map(|(index, score)| ScoredItem::covisited(index, score))
            .collect();
        for s in &out {
            excluded[s.index as usize] = true;
        }
        let fill =
            crate::engine::popular_fill(&self.popularity_order, k - out.len(), out.len(), &|j| {
                !excluded[j as usize] && allowed(j)
            });
        out.extend(fill);
        out
    }

    /// The co-visited items of a session of (item index, event weight), oldest first: each
    /// item's neighbour weights count `recency_decay^d` × its event weight, summed. At most `n`
    /// items with a positive sum for which `keep` holds, highest first, ties by index.
    pub fn covisited(
        &self,
        session: &[(u32, f32)],
        n: usize,
        keep: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        // Dense accumulation: one pass over the neighbour lists, no hashing.
        let mut acc = vec![0f32; self.offsets.len() - 1];
        let mut touched = Vec::new();
        let mut recency = 1f32;
        for &(item, event_weight) in session.iter().rev() {
            let weight = recency * event_weight;
            let (start, end) = self.neighbour_range(item);
            for (&j, &w) in self.neighbour_items[start..end]
                .iter()
                .zip(&self.neighbour_weights[start..end])
            {
                if acc[j as usize] == 0.0 {
                    touched.push(j);
                }
                acc[j as usize] += weight * w;
            }
            recency *= self.params.recency_decay;
        }
        let mut scores: Vec<(u32, f32)> = touched
            .into_iter()
            .filter(|&j| acc[j as usize] > 0.0 && keep(j))
            .map(|j| (j, acc[j as usize]))
            .collect();
        scores.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scores.truncate(n);
        scores
    }

    /// Splits a loaded model into the engine's item table (ids, popularity, catalog, moved, not
    /// copied) and the neighbour lists, which keep only what scoring and explaining need.
    pub(crate) fn into_item_table(mut self) -> (crate::engine::ItemTable, CovisitModel) {
        let items = crate::engine::ItemTable::new(
            std::mem::take(&mut self.item_ids),
            std::mem::take(&mut self.popularity_order),
            self.catalog.take(),
        );
        (items, self)
    }

    fn neighbour_range(&self, item: u32) -> (usize, usize) {
        (
            self.offsets[item as usize] as usize,
            self.offsets[item as usize + 1] as usize,
        )
    }

    /// What each session item added to `target`'s score in [`Self::rank`] with the same session:
    /// (position of the item's latest occurrence, contribution summed over its occurrences),
    /// largest first (ties: latest first). Items that did not contribute are left out.
    pub fn contributions(&self, session: &[(u32, f32)], target: u32) -> Vec<(usize, f32)> {
        let mut by_item: Vec<(u32, usize, f32)> = Vec::new();
        let mut recency = 1f32;
        for (position, &(item, event_weight)) in session.iter().enumerate().rev() {
            let weight = recency * event_weight;
            recency *= self.params.recency_decay;
            let (start, end) = self.neighbour_range(item);
            let Some(at) = self.neighbour_items[start..end]
                .iter()
                .position(|&j| j == target)
            else {
                continue;
            };
            let c = weight * self.neighbour_weights[start + at];
            match by_item.iter_mut().find(|e| e.0 == item) {
                Some(e) => e.2 += c,
                None => by_item.push((item, position, c)),
            }
        }
        let mut out: Vec<(usize, f32)> = by_item
            .into_iter()
            .filter(|e| e.2 > 0.0)
            .map(|(_, position, c)| (position, c))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        out
    }

    /// A bundle writer holding this model (kind, serving parameters, counts, sections); the
    /// caller may add metrics and lineage before `finish`.
    pub fn bundle_writer(&self, created_at: String) -> BundleWriter {
        let params = serde_json::to_value(self.params).expect("params serialise");
        let mut w = BundleWriter::new(MODEL_KIND, params, created_at);
        let ids = self.item_ids.join("\n");
        w.count("items", self.item_ids.len() as u64)
            .count("neighbours", self.neighbour_items.len() as u64)
            .section("item_ids", "utf8-lines", ids.as_bytes())
            .section(
                "popularity_order",
                "u32le",
                &u32_bytes(&self.popularity_order),
            )
            .section("neighbour_offsets", "u32le", &u32_bytes(&self.offsets))
            .section(
                "neighbour_items",
                "u32le",
                &u32_bytes(&self.neighbour_items),
            )
            .section(
                "neighbour_weights",
                "f32le",
                &f32_bytes(&self.neighbour_weights),
            );
        if let Some(catalog) = &self.catalog {
            catalog.write(&mut w);
        }
        w
    }

    /// Reads the model from a verified bundle, checking every section against the manifest.
    pub fn from_bundle(bundle: &Bundle<'_>) -> Result<Self, BundleError> {
        let m = &bundle.manifest;
        if m.model_kind != MODEL_KIND {
            return Err(BundleError::UnsupportedModel {
                found: m.model_kind.clone(),
            });
        }
        let params: CovisitParams = serde_json::from_value(m.model_params.clone())
            .map_err(|e| BundleError::InvalidManifest(format!("model_params: {e}")))?;
        if !(params.recency_decay.is_finite() && params.recency_decay >= 0.0) {
            return Err(BundleError::InvalidManifest(format!(
                "model_params.recency_decay must be a finite number >= 0, got {}",
                params.recency_decay
            )));
        }
        let ew = params.event_weights;
        if let Some(w) = [ew.view, ew.click, ew.cart, ew.purchase]
            .into_iter()
            .find(|w| !(w.is_finite() && *w > 0.0))
        {
            return Err(BundleError::InvalidManifest(format!(
                "model_params.event_weights must be finite numbers > 0, got {w}"
            )));
        }
        let n_items = bundle.count("items")?;
        let n_neighbours = bundle.count("neighbours")?;
        let bad = |name: &str, problem: String| BundleError::InvalidSection {
            name: name.to_string(),
            problem,
        };

        let item_ids = crate::bundle::item_ids_section(bundle, n_items)?;
        let popularity_order = crate::bundle::popularity_section(bundle, n_items)?;

        let offsets = u32_section("neighbour_offsets", bundle.section("neighbour_offsets")?)?;
        if offsets.len() as u64 != n_items + 1 {
            return Err(bad(
                "neighbour_offsets",
                format!(
                    "has {} entries, expected items + 1 = {}",
                    offsets.len(),
                    n_items + 1
                ),
            ));
        }
        if offsets.first() != Some(&0)
            || offsets.windows(2).any(|w| w[0] > w[1])
            || u64::from(*offsets.last().unwrap_or(&0)) != n_neighbours
        {
            return Err(bad(
                "neighbour_offsets",
                format!("must rise from 0 to the neighbour count {n_neighbours}"),
            ));
        }
        let neighbour_items = u32_section("neighbour_items", bundle.section("neighbour_items")?)?;
        let neighbour_weights =
            f32_section("neighbour_weights", bundle.section("neighbour_weights")?)?;
        for (name, len) in [
            ("neighbour_items", neighbour_items.len()),
            ("neighbour_weights", neighbour_weights.len()),
        ] {
            if len as u64 != n_neighbours {
                return Err(bad(
                    name,
                    format!("has {len} entries but the manifest counts {n_neighbours} neighbours"),
                ));
            }
        }
        if let Some(j) = neighbour_items.iter().find(|&&j| u64::from(j) >= n_items) {
            return Err(bad(
                "neighbour_items",
                format!("item index {j} is out of range (there are {n_items} items)"),
            ));
        }
        if let Some(w) = neighbour_weights
            .iter()
            .find(|w| !(w.is_finite() && **w > 0.0))
        {
            return Err(bad(
                "neighbour_weights",
                format!("weight {w} is not a finite positive number"),
            ));
        }
        let catalog = Catalog::from_bundle(bundle, n_items)?;
        Ok(CovisitModel {
            item_ids,
            popularity_order,
            offsets,
            neighbour_items,
            neighbour_weights,
            params,
            catalog,
        })
    }
}
