//! Session-kNN (SKNN) and V-SKNN as [`Recommender`]s: the engine's [`edgerec::training::SessionKnn`]
//! (one implementation for the baseline and the edge's blend), its votes completed by the most
//! popular items so every model ranks the full catalog.

pub use edgerec::training::{Decay, KnnConfig, VectorWeights};

use super::{top_k, PopularityOrder, Recommender};

#[derive(Debug, Clone)]
pub struct SessionKnn {
    knn: edgerec::training::SessionKnn,
    popularity: PopularityOrder,
}

impl SessionKnn {
    pub fn train(train: &[Vec<u32>], num_items: usize, config: KnnConfig) -> Self {
        SessionKnn {
            knn: edgerec::training::SessionKnn::train(train, num_items, config),
            popularity: PopularityOrder::count(train, num_items),
        }
    }

    pub fn config(&self) -> &KnnConfig {
        self.knn.config()
    }

    /// Changes the neighbourhood and weights; the index stays (tuning tries many on one index).
    pub fn set_config(&mut self, config: KnnConfig) {
        self.knn.set_config(config);
    }

    /// The engine's index, e.g. to write into a bundle.
    pub fn index(&self) -> &edgerec::training::SessionKnn {
        &self.knn
    }

    /// Every voted item with its summed vote, ascending by item.
    pub fn scores(&self, history: &[u32], include_seen: bool) -> Vec<(u32, f64)> {
        self.knn.scores(history, include_seen)
    }
}

impl Recommender for SessionKnn {
    fn recommend(&self, history: &[u32], k: usize, include_seen: bool) -> Vec<u32> {
        let mut ranked = top_k(self.scores(history, include_seen), k);
        self.popularity.fill(&mut ranked, k, history, include_seen);
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popular_items_complete_the_neighbours_votes() {
        // Current session {0}: sessions 0 and 1 vote for 1, then 2 and 3; popularity adds 4.
        let train = vec![vec![0, 1], vec![0, 2, 3], vec![4, 4, 4]];
        let config = KnnConfig {
            neighbours: 10,
            sample_size: 0,
            vector: None,
        };
        let model = SessionKnn::train(&train, 5, config);
        assert_eq!(model.recommend(&[0], 5, false), [1, 2, 3, 4]);
        assert_eq!(model.recommend(&[0], 5, true), [0, 1, 2, 3, 4]);
    }
}
