//! Session-based kNN as evaluated by Ludewig and Jannach ("Evaluation of session-based
//! recommendation algorithms", UMUAI 2018; reference code: `session-rec`, `knn/sknn.py` and
//! `knn/vsknn.py`): the trainer's baseline and, stored in a transformer bundle, the edge's
//! second opinion that the ranking blends with the transformer's.
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
//! Training sessions are in time order, so a higher index is more recent. Every score is made
//! of IEEE basic operations in a fixed order, and the IDF's logarithm comes from `libm`, so
//! native and wasm answer with the same bits.

use serde::{Deserialize, Serialize};

use crate::bundle::{u32_bytes, u32_section, Bundle, BundleWriter};
use crate::error::BundleError;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
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

/// Where a transformer bundle keeps its [`SessionBlend`]: `model_params.session_knn`.
pub const SESSION_BLEND_PARAM: &str = "session_knn";

/// How the engine blends V-SKNN with the transformer: a candidate's score is its transformer
/// probability (softmax over the candidates re-scored) plus a weight times its share of the
/// neighbours' votes: `weight` for items new to the session, `seen_weight` for items in it
/// (re-views, whose odds the neighbours and the transformer judge differently). A vote share is
/// `votes^vote_exponent` over the sum of all of them: above 1 the neighbours' favourites stand
/// out more (their votes are summed similarities, not probabilities). All three are chosen on
/// validation by `edgerec-train hybrid`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionBlend {
    pub knn: KnnConfig,
    pub weight: f64,
    pub seen_weight: f64,
    /// 1 when absent (bundles written before it existed).
    #[serde(default = "SessionBlend::linear_votes")]
    pub vote_exponent: f64,
}

/// Limits a bundle's blend may declare: far above useful settings, low enough that a request
/// stays bounded.
pub const MAX_NEIGHBOURS: usize = 10_000;
pub const MAX_SAMPLE_SIZE: usize = 1_000_000;
pub const MAX_VOTE_EXPONENT: f64 = 8.0;

impl SessionBlend {
    fn linear_votes() -> f64 {
        1.0
    }

    pub fn validate(&self) -> Result<(), String> {
        let k = &self.knn;
        if k.neighbours == 0 || k.neighbours > MAX_NEIGHBOURS {
            return Err(format!(
                "neighbours is {}; it must be in 1..={MAX_NEIGHBOURS}",
                k.neighbours
            ));
        }
        if k.sample_size > MAX_SAMPLE_SIZE {
            return Err(format!(
                "sample_size is {}; the limit is {MAX_SAMPLE_SIZE}",
                k.sample_size
            ));
        }
        if let Some(v) = &k.vector {
            if !(v.idf_weight.is_finite() && v.idf_weight >= 0.0) {
                return Err(format!(
                    "idf_weight must be finite and >= 0, got {}",
                    v.idf_weight
                ));
            }
        }
        for (name, w) in [("weight", self.weight), ("seen_weight", self.seen_weight)] {
            if !(w.is_finite() && w >= 0.0) {
                return Err(format!("{name} must be finite and >= 0, got {w}"));
            }
        }
        let e = self.vote_exponent;
        if !(e > 0.0 && e <= MAX_VOTE_EXPONENT) {
            return Err(format!(
                "vote_exponent must be in (0, {MAX_VOTE_EXPONENT}], got {e}"
            ));
        }
        Ok(())
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

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }
}

/// The bundle sections of a session index: every training session's distinct items
/// (ascending), concatenated, and where each session starts (one more entry than sessions).
pub const SESSION_ITEMS_SECTION: &str = "session_items";
pub const SESSION_OFFSETS_SECTION: &str = "session_offsets";

#[derive(Debug, Clone)]
pub struct SessionKnn {
    config: KnnConfig,
    /// Each training session's distinct items, ascending.
    session_items: Rows,
    /// Each item's sessions, ascending (oldest first).
    item_sessions: Rows,
    idf: Vec<f64>,
}

impl SessionKnn {
    /// Indexes training sessions (item indices below `num_items`, oldest session first).
    pub fn train(train: &[Vec<u32>], num_items: usize, config: KnnConfig) -> Self {
        let mut session_items = Rows {
            offsets: vec![0],
            values: Vec::new(),
        };
        for session in train {
            let mut items = session.clone();
            items.sort_unstable();
            items.dedup();
            session_items.values.extend(items);
            session_items.offsets.push(session_items.values.len());
        }
        Self::from_rows(session_items, num_items, config)
    }

    fn from_rows(session_items: Rows, num_items: usize, config: KnnConfig) -> Self {
        let mut counts = vec![0usize; num_items];
        for &i in &session_items.values {
            counts[i as usize] += 1;
        }
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
        for s in 0..session_items.len() {
            for &i in session_items.row(s) {
                item_sessions.values[cursor[i as usize]] = s as u32;
                cursor[i as usize] += 1;
            }
        }
        let n = session_items.len() as f64;
        let idf = counts
            .iter()
            .map(|&c| if c == 0 { 0.0 } else { libm::log(n / c as f64) })
            .collect();
        SessionKnn {
            config,
            session_items,
            item_sessions,
            idf,
        }
    }

    /// Writes the session index into a bundle (the configuration goes in the model params).
    pub fn write_sections(&self, writer: &mut BundleWriter) {
        let offsets: Vec<u32> = self
            .session_items
            .offsets
            .iter()
            .map(|&o| o as u32)
            .collect();
        writer
            .count("sessions", self.session_items.len() as u64)
            .section(
                SESSION_ITEMS_SECTION,
                "u32le",
                &u32_bytes(&self.session_items.values),
            )
            .section(SESSION_OFFSETS_SECTION, "u32le", &u32_bytes(&offsets));
    }

    /// Reads the session index of a bundle of `num_items` items, checking every value.
    pub fn from_bundle(
        bundle: &Bundle<'_>,
        num_items: usize,
        config: KnnConfig,
    ) -> Result<Self, BundleError> {
        let values = u32_section(
            SESSION_ITEMS_SECTION,
            bundle.section(SESSION_ITEMS_SECTION)?,
        )?;
        let offsets = u32_section(
            SESSION_OFFSETS_SECTION,
            bundle.section(SESSION_OFFSETS_SECTION)?,
        )?;
        let invalid = |name: &str, problem: String| BundleError::InvalidSection {
            name: name.to_string(),
            problem,
        };
        if offsets.first() != Some(&0) || offsets.last().copied() != Some(values.len() as u32) {
            return Err(invalid(
                SESSION_OFFSETS_SECTION,
                format!(
                    "offsets must run from 0 to the {} session items",
                    values.len()
                ),
            ));
        }
        let sessions = offsets.len() - 1;
        if bundle.count("sessions")? != sessions as u64 {
            return Err(BundleError::ManifestMismatch(format!(
                "the manifest counts {} sessions, the session index has {sessions}",
                bundle.count("sessions")?
            )));
        }
        for (s, pair) in offsets.windows(2).enumerate() {
            if pair[0] > pair[1] {
                return Err(invalid(
                    SESSION_OFFSETS_SECTION,
                    format!("session {s} ends before it starts"),
                ));
            }
            let row = &values[pair[0] as usize..pair[1] as usize];
            if let Some(&bad) = row.iter().find(|&&i| i as usize >= num_items) {
                return Err(invalid(
                    SESSION_ITEMS_SECTION,
                    format!("session {s} names item {bad}, but the bundle has {num_items} items"),
                ));
            }
            if row.windows(2).any(|w| w[0] >= w[1]) {
                return Err(invalid(
                    SESSION_ITEMS_SECTION,
                    format!("session {s}'s items are not distinct and ascending"),
                ));
            }
        }
        let rows = Rows {
            offsets: offsets.into_iter().map(|o| o as usize).collect(),
            values,
        };
        Ok(Self::from_rows(rows, num_items, config))
    }

    pub fn config(&self) -> &KnnConfig {
        &self.config
    }

    /// Changes the neighbourhood and weights; the index stays (tuning tries many on one index).
    pub fn set_config(&mut self, config: KnnConfig) {
        self.config = config;
    }

    pub fn num_sessions(&self) -> usize {
        self.session_items.len()
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

    /// Every item the neighbours vote for with its summed vote, ascending by item (items in
    /// `history` left out unless `include_seen`). Items past the index are ignored.
    pub fn scores(&self, history: &[u32], include_seen: bool) -> Vec<(u32, f64)> {
        let known = self.idf.len();
        let history: Vec<u32> = history
            .iter()
            .copied()
            .filter(|&i| (i as usize) < known)
            .collect();
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
        scores
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

    fn ranked(model: &SessionKnn, history: &[u32], include_seen: bool) -> Vec<u32> {
        let mut s = model.scores(history, include_seen);
        s.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        s.into_iter().map(|x| x.0).collect()
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
        // has 1/sqrt(3); item 1 wins, 2 and 3 tie (broken by index).
        let train = vec![vec![0, 1], vec![0, 2, 3], vec![4, 4, 4]];
        let model = SessionKnn::train(&train, 5, sknn(10, 0));
        assert_eq!(ranked(&model, &[0], false), [1, 2, 3]);
        assert_eq!(ranked(&model, &[0], true), [0, 1, 2, 3]);
        // With one neighbour only the most similar session votes.
        let model = SessionKnn::train(&train, 5, sknn(1, 0));
        assert_eq!(ranked(&model, &[0], false), [1]);
        // Unknown items are ignored, not a panic.
        assert_eq!(ranked(&model, &[0, 99], false), [1]);
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
        assert_eq!(ranked(&model, &[0, 1], false), [6, 5]);
        // Plain SKNN sees two equally similar sessions and breaks the tie by item index.
        let plain = SessionKnn::train(&train, 7, sknn(10, 0));
        assert_eq!(ranked(&plain, &[0, 1], false), [5, 6]);
    }

    fn bundle_with(values: &[u32], offsets: &[u32], sessions: u64) -> Vec<u8> {
        let mut w = BundleWriter::new("test", serde_json::json!({}), "now".into());
        w.count("sessions", sessions)
            .section(SESSION_ITEMS_SECTION, "u32le", &u32_bytes(values))
            .section(SESSION_OFFSETS_SECTION, "u32le", &u32_bytes(offsets));
        w.finish()
    }

    #[test]
    fn the_session_index_round_trips_through_a_bundle() {
        let train = vec![vec![3, 1, 3], vec![2], vec![1, 4]];
        let model = SessionKnn::train(&train, 5, sknn(10, 0));
        let mut w = BundleWriter::new("test", serde_json::json!({}), "now".into());
        model.write_sections(&mut w);
        let bytes = w.finish();
        let loaded =
            SessionKnn::from_bundle(&Bundle::parse(&bytes).unwrap(), 5, sknn(10, 0)).unwrap();
        for history in [&[1u32][..], &[3, 2], &[4]] {
            assert_eq!(loaded.scores(history, true), model.scores(history, true));
        }
    }

    #[test]
    fn bad_session_indexes_are_refused_with_the_reason() {
        let refused = |bytes: Vec<u8>, words: &str| {
            let err = SessionKnn::from_bundle(&Bundle::parse(&bytes).unwrap(), 5, sknn(10, 0))
                .unwrap_err()
                .to_string();
            assert!(err.contains(words), "{err}");
        };
        refused(bundle_with(&[1, 7], &[0, 2], 1), "names item 7");
        refused(
            bundle_with(&[2, 1], &[0, 2], 1),
            "not distinct and ascending",
        );
        refused(bundle_with(&[1, 2], &[0, 3], 1), "offsets must run from 0");
        refused(
            bundle_with(&[1, 2], &[0, 2, 1, 2], 3),
            "ends before it starts",
        );
        refused(bundle_with(&[1, 2], &[0, 1, 2], 5), "counts 5 sessions");
    }
}
