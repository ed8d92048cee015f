//! Session-based kNN as evaluated by Ludewig and Jannach ("Evaluation of session-based
//! recommendation algorithms", UMUAI 2018; reference code: `session-rec`, `knn/sknn.py` and
//! `knn/vsknn.py`).
//!
//! For the current session, the candidate neighbours are the `sample_size` most recent training
//! sessions that share at least one item with it (found through an item -> sessions index);
//! the `neighbours` most similar ones vote for their items with their similarity.
//!
//! - SKNN: cosine similarity of the binary item sets.
//! - V-SKNN: the current session is a vector whose items weigh more the more recent they are
//!   (`position`); a neighbour's vote decays with how far back its most recent shared item lies
//!   (`match_decay`), and rare items are boosted by `1 + idf_weight * idf(item)`.
//!
//! Training sessions are taken to be in time order (file order), so a higher index is more recent.

use serde::{Deserialize, Serialize};

use super::{top_k, PopularityOrder, Recommender};
use crate::progress;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KnnConfig {
    /// Neighbour sessions that vote (k).
    pub neighbours: usize,
    /// Most recent candidate sessions compared to the current one (0: all that share an item).
    pub sample_size: usize,
    /// V-SKNN's weights; `None` is plain SKNN.
    pub vector: Option<VectorWeights>,
}

impl KnnConfig {
    /// The model name used in results: `sknn` or `vsknn`.
    pub fn model_name(&self) -> &'static str {
        if self.vector.is_some() {
            "vsknn"
        } else {
            "sknn"
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VectorWeights {
    /// Weight of a current-session item by its position (session-rec `weighting`).
    pub position: Decay,
    /// Weight of a neighbour's vote by the step back to its latest shared item
    /// (session-rec `weighting_score`).
    pub match_decay: Decay,
    /// Votes for item `j` are multiplied by `1 + idf_weight * ln(N / sessions with j)`.
    pub idf_weight: f64,
}

/// The decay shapes of session-rec's V-SKNN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    Same,
    Linear,
    Div,
    Quadratic,
}

impl Decay {
    /// Weight of the item at 1-based `position` of a session of `length` items.
    pub fn position_weight(self, position: usize, length: usize) -> f64 {
        let relative = position as f64 / length as f64;
        match self {
            Decay::Same => 1.0,
            Decay::Linear => (1.0 - 0.1 * (length - position) as f64).max(0.0),
            Decay::Div => relative,
            Decay::Quadratic => relative * relative,
        }
    }

    /// Weight of a match `step` items back from the end (1 = the last item).
    pub fn step_weight(self, step: usize) -> f64 {
        let step = step as f64;
        match self {
            Decay::Same => 1.0,
            Decay::Linear => (1.0 - 0.1 * step).max(0.0),
            Decay::Div => 1.0 / step,
            Decay::Quadratic => 1.0 / (step * step),
        }
    }
}

/// Compressed rows: row `r` is `values[offsets[r]..offsets[r + 1]]`.
#[derive(Debug, Clone, Default)]
struct Rows {
    offsets: Vec<usize>,
    values: Vec<u32>,
}

impl Rows {
    fn row(&self, r: usize) -> &[u32] {
        &self.values[self.offsets[r]..self.offsets[r + 1]]
    }
}

#[derive(Debug, Clone)]
pub struct SessionKnn {
    config: KnnConfig,
    /// Each training session's distinct items, ascending.
    session_items: Rows,
    /// Each item's sessions, ascending (oldest first).
    item_sessions: Rows,
    idf: Vec<f64>,
    popularity: PopularityOrder,
}

impl SessionKnn {
    pub fn train(train: &[Vec<u32>], num_items: usize, config: KnnConfig) -> Self {
        let bar = progress::bar(train.len() as u64, "kNN index");
        let mut session_items = Rows {
            offsets: vec![0],
            values: Vec::new(),
        };
        let mut counts = vec![0usize; num_items];
        for session in train {
            let mut items = session.clone();
            items.sort_unstable();
            items.dedup();
            for &i in &items {
                counts[i as usize] += 1;
            }
            session_items.values.extend(items);
            session_items.offsets.push(session_items.values.len());
            bar.inc(1);
        }
        bar.finish_and_clear();
        let mut item_sessions = Rows {
            offsets: Vec::with_capacity(num_items + 1),
            values: vec![0; session_items.values.len()],
        };
        item_sessions.offsets.push(0);
        for &c in &counts {
            item_sessions
                .offsets
                .push(item_sessions.offsets.last().unwrap() + c);
        }
        let mut cursor = item_sessions.offsets[..num_items].to_vec();
        for s in 0..train.len() {
            for &i in session_items.row(s) {
                item_sessions.values[cursor[i as usize]] = s as u32;
                cursor[i as usize] += 1;
            }
        }
        let n = train.len() as f64;
        let idf = counts
            .iter()
            .map(|&c| if c == 0 { 0.0 } else { (n / c as f64).ln() })
            .collect();
        SessionKnn {
            config,
            session_items,
            item_sessions,
            idf,
            popularity: PopularityOrder::count(train, num_items),
        }
    }

    pub fn config(&self) -> &KnnConfig {
        &self.config
    }

    /// Changes the neighbourhood and weights; the index stays (tuning tries many on one index).
    pub fn set_config(&mut self, config: KnnConfig) {
        self.config = config;
    }

    /// The `sample_size` most recent sessions containing any of `items`, most recent first:
    /// a merge from the ends of the items' (ascending) session lists, so only what is taken is read.
    fn candidate_sessions(&self, items: &[u32]) -> Vec<u32> {
        let lists: Vec<&[u32]> = items
            .iter()
            .map(|&i| self.item_sessions.row(i as usize))
            .collect();
        let mut ends: Vec<usize> = lists.iter().map(|l| l.len()).collect();
        let limit = if self.config.sample_size == 0 {
            usize::MAX
        } else {
            self.config.sample_size
        };
        let mut out = Vec::new();
        while out.len() < limit {
            let newest = lists
                .iter()
                .zip(&ends)
                .filter(|(_, &e)| e > 0)
                .map(|(l, &e)| l[e - 1])
                .max();
            let Some(newest) = newest else { break };
            for (l, e) in lists.iter().zip(ends.iter_mut()) {
                if *e > 0 && l[*e - 1] == newest {
                    *e -= 1;
                }
            }
            out.push(newest);
        }
        out
    }
}

impl Recommender for SessionKnn {
    fn recommend(&self, history: &[u32], k: usize, include_seen: bool) -> Vec<u32> {
        // The current session's distinct items with their weight; an item's last position counts.
        let mut current: Vec<(u32, f64)> = Vec::new();
        for (p, &item) in history.iter().enumerate() {
            let w = match &self.config.vector {
                Some(v) => v.position.position_weight(p + 1, history.len()),
                None => 1.0,
            };
            match current.iter_mut().find(|(i, _)| *i == item) {
                Some(entry) => entry.1 = w,
                None => current.push((item, w)),
            }
        }
        let items: Vec<u32> = current.iter().map(|&(i, _)| i).collect();
        let mut neighbours: Vec<(u32, f64)> = self
            .candidate_sessions(&items)
            .into_iter()
            .map(|s| {
                let their = self.session_items.row(s as usize);
                let similarity = match self.config.vector {
                    None => {
                        let shared = their.iter().filter(|j| items.contains(j)).count();
                        shared as f64 / ((items.len() * their.len()) as f64).sqrt()
                    }
                    Some(_) => {
                        let shared: f64 = current
                            .iter()
                            .filter(|(i, _)| their.binary_search(i).is_ok())
                            .map(|&(_, w)| w)
                            .sum();
                        shared / current.len() as f64
                    }
                };
                (s, similarity)
            })
            .filter(|&(_, sim)| sim > 0.0)
            .collect();
        // The most similar first; among equals the more recent session.
        neighbours.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        neighbours.truncate(self.config.neighbours);

        let mut votes: Vec<(u32, f64)> = Vec::new();
        for &(s, similarity) in &neighbours {
            let their = self.session_items.row(s as usize);
            let weight = match &self.config.vector {
                None => similarity,
                Some(v) => {
                    let step = 1 + history
                        .iter()
                        .rev()
                        .position(|i| their.binary_search(i).is_ok())
                        .expect("a neighbour shares an item");
                    similarity * v.match_decay.step_weight(step)
                }
            };
            for &j in their {
                if !include_seen && history.contains(&j) {
                    continue;
                }
                let boost = self
                    .config
                    .vector
                    .map_or(1.0, |v| 1.0 + v.idf_weight * self.idf[j as usize]);
                votes.push((j, weight * boost));
            }
        }
        // Stable sort: an item's votes are summed in neighbour order, so scores are reproducible.
        votes.sort_by_key(|&(j, _)| j);
        let mut scores: Vec<(u32, f64)> = Vec::new();
        for (j, v) in votes {
            match scores.last_mut() {
                Some(last) if last.0 == j => last.1 += v,
                _ => scores.push((j, v)),
            }
        }
        let mut ranked = top_k(scores, k);
        self.popularity.fill(&mut ranked, k, history, include_seen);
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sknn(neighbours: usize, sample_size: usize) -> KnnConfig {
        KnnConfig {
            neighbours,
            sample_size,
            vector: None,
        }
    }

    #[test]
    fn samples_the_most_recent_sessions_sharing_an_item() {
        let train = vec![vec![0, 1], vec![1, 2], vec![3], vec![0, 2], vec![1, 1]];
        let model = SessionKnn::train(&train, 5, sknn(10, 3));
        assert_eq!(model.candidate_sessions(&[0, 1]), [4, 3, 1]);
        let all = SessionKnn::train(&train, 5, sknn(10, 0));
        assert_eq!(all.candidate_sessions(&[0, 1]), [4, 3, 1, 0]);
        assert_eq!(all.candidate_sessions(&[4]), Vec::<u32>::new());
    }

    #[test]
    fn neighbours_vote_with_cosine_similarity() {
        // Current session {0}: session 0 = {0, 1} has cosine 1/sqrt(2), session 1 = {0, 2, 3}
        // has 1/sqrt(3); item 1 wins, 2 and 3 tie (by index), then popularity fills.
        let train = vec![vec![0, 1], vec![0, 2, 3], vec![4, 4, 4]];
        let model = SessionKnn::train(&train, 5, sknn(10, 0));
        assert_eq!(model.recommend(&[0], 5, false), [1, 2, 3, 4]);
        assert_eq!(model.recommend(&[0], 5, true), [0, 1, 2, 3, 4]);
        // With one neighbour only the most similar session votes.
        let model = SessionKnn::train(&train, 5, sknn(1, 0));
        assert_eq!(model.recommend(&[0], 2, false), [1, 4]);
    }

    #[test]
    fn vector_variant_prefers_neighbours_of_recent_items() {
        // Current session [0, 1]: session 0 shares the older item 0, session 1 the latest item 1.
        let train = vec![vec![0, 5], vec![1, 6]];
        let config = KnnConfig {
            vector: Some(VectorWeights {
                position: Decay::Div,
                match_decay: Decay::Div,
                idf_weight: 0.0,
            }),
            ..sknn(10, 0)
        };
        let model = SessionKnn::train(&train, 7, config);
        assert_eq!(model.recommend(&[0, 1], 2, false), [6, 5]);
        // Plain SKNN sees two equally similar sessions and breaks the tie by item index.
        let plain = SessionKnn::train(&train, 7, sknn(10, 0));
        assert_eq!(plain.recommend(&[0, 1], 2, false), [5, 6]);
    }
}
