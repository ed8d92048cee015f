//! Popularity and the co-visitation engine as [`Recommender`]s.

use edgerec::Engine;

use super::{PopularityOrder, Recommender};
use crate::covisit::{covisit_bundle, train_covisit, CovisitConfig};

/// PopRec: the most popular training items, the same list for everyone.
#[derive(Debug, Clone)]
pub struct Popularity(PopularityOrder);

impl Popularity {
    pub fn train(train: &[Vec<u32>], num_items: usize) -> Self {
        Popularity(PopularityOrder::count(train, num_items))
    }
}

impl Recommender for Popularity {
    fn recommend(&self, history: &[u32], k: usize, include_seen: bool) -> Vec<u32> {
        let mut ranked = Vec::with_capacity(k);
        self.0.fill(&mut ranked, k, history, include_seen);
        ranked
    }
}

/// The co-visitation model evaluated through the serving engine, loaded from the very bundle
/// bytes that would ship, with its item table mapped to the benchmark's catalog.
pub struct CovisitEngine {
    engine: Engine,
    /// Catalog index -> engine index (items the model never saw have none).
    to_engine: Vec<Option<u32>>,
    /// Engine index -> catalog index.
    to_catalog: Vec<u32>,
    bundle_bytes: usize,
}

impl CovisitEngine {
    /// Trains on `train` (catalog indices; `items` gives their ids) and loads the bundle back.
    pub fn train(
        train: &[Vec<u32>],
        items: &[String],
        config: &CovisitConfig,
        created_at: String,
    ) -> anyhow::Result<Self> {
        let sessions: Vec<Vec<String>> = train
            .iter()
            .map(|s| s.iter().map(|&i| items[i as usize].clone()).collect())
            .collect();
        let model = train_covisit(&sessions, config);
        let bytes = covisit_bundle(&model, config, created_at).finish();
        let engine = Engine::from_bundle(&bytes)?;
        Ok(Self::new(engine, items, bytes.len()))
    }

    pub fn new(engine: Engine, items: &[String], bundle_bytes: usize) -> Self {
        let to_engine: Vec<Option<u32>> = items.iter().map(|id| engine.items().index(id)).collect();
        let mut to_catalog = vec![u32::MAX; engine.items().ids().len()];
        for (catalog, e) in to_engine.iter().enumerate() {
            if let Some(e) = e {
                to_catalog[*e as usize] = catalog as u32;
            }
        }
        assert!(
            !to_catalog.contains(&u32::MAX),
            "the engine knows items the catalog does not"
        );
        CovisitEngine {
            engine,
            to_engine,
            to_catalog,
            bundle_bytes,
        }
    }

    pub fn bundle_bytes(&self) -> usize {
        self.bundle_bytes
    }
}

/// The serving engine ranks in its own item table; items it does not know are left out of
/// the history, as the engine does for requests.
impl Recommender for Engine {
    fn recommend(&self, history: &[u32], k: usize, include_seen: bool) -> Vec<u32> {
        self.recommend_indices(history, k, include_seen)
    }
}

impl Recommender for CovisitEngine {
    fn recommend(&self, history: &[u32], k: usize, include_seen: bool) -> Vec<u32> {
        let history: Vec<u32> = history
            .iter()
            .filter_map(|&i| self.to_engine[i as usize])
            .collect();
        Recommender::recommend(&self.engine, &history, k, include_seen)
            .into_iter()
            .map(|e| self.to_catalog[e as usize])
            .collect()
    }
}
