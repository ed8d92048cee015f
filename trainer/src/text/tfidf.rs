//! The bag-of-words baseline: TF-IDF features (unigrams and bigrams) and a linear model trained by
//! SGD with L2, the same linear probe that the frozen-encoder reference uses on embeddings.

use std::collections::HashMap;

use serde_json::json;

use super::data::{ItemSplit, Review};
use super::encoder::{argmax, RATINGS};
use super::metrics::TestPredictions;
use crate::conversion::metrics::roc_auc;

/// A sparse row: (feature, value) pairs.
pub type SparseRow = Vec<(u32, f32)>;

/// Lower-cased alphanumeric words (apostrophes kept inside words) and their bigrams.
pub fn terms(text: &str) -> Vec<String> {
    let words: Vec<String> = text
        .to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let bigrams = words.windows(2).map(|w| format!("{} {}", w[0], w[1]));
    words.iter().cloned().chain(bigrams).collect()
}

#[derive(Debug, Clone)]
pub struct Tfidf {
    vocab: HashMap<String, u32>,
    idf: Vec<f32>,
}

impl Tfidf {
    /// Vocabulary: terms in at least `min_df` training documents, at most `max_features` of the
    /// most frequent; smoothed idf `ln((1 + n) / (1 + df)) + 1` as scikit-learn computes it.
    pub fn fit<S: AsRef<str>>(docs: &[S], min_df: usize, max_features: usize) -> Self {
        let mut df: HashMap<String, usize> = HashMap::new();
        for doc in docs {
            let mut seen = terms(doc.as_ref());
            seen.sort();
            seen.dedup();
            for t in seen {
                *df.entry(t).or_default() += 1;
            }
        }
        let mut kept: Vec<(String, usize)> = df.into_iter().filter(|(_, d)| *d >= min_df).collect();
        // Most frequent first, ties by term, so the vocabulary does not depend on hash order.
        kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        kept.truncate(max_features);
        let n = docs.len() as f64;
        let idf = kept
            .iter()
            .map(|(_, d)| (((1.0 + n) / (1.0 + *d as f64)).ln() + 1.0) as f32)
            .collect();
        let vocab = kept
            .into_iter()
            .enumerate()
            .map(|(i, (t, _))| (t, i as u32))
            .collect();
        Self { vocab, idf }
    }

    pub fn len(&self) -> usize {
        self.idf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.idf.is_empty()
    }

    /// Sublinear tf (1 + ln tf) times idf, L2-normalised.
    pub fn transform(&self, text: &str) -> SparseRow {
        let mut tf: HashMap<u32, f32> = HashMap::new();
        for t in terms(text) {
            if let Some(&j) = self.vocab.get(&t) {
                *tf.entry(j).or_default() += 1.0;
            }
        }
        let mut row: SparseRow = tf
            .into_iter()
            .map(|(j, c)| (j, (1.0 + c.ln()) * self.idf[j as usize]))
            .collect();
        row.sort_by_key(|&(j, _)| j);
        let norm = row.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|(_, v)| *v /= norm);
        }
        row
    }
}

/// A dense vector as a sparse row (for the embedding probe).
pub fn dense_row(values: &[f32]) -> SparseRow {
    values
        .iter()
        .enumerate()
        .map(|(j, &v)| (j as u32, v))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeConfig {
    pub l2: f64,
    pub epochs: usize,
    pub learning_rate: f64,
    pub seed: u64,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            l2: 1e-5,
            epochs: 15,
            learning_rate: 0.5,
            seed: 17,
        }
    }
}

/// A linear model over sparse rows: logistic (one output, labels 0/1) or softmax (`classes` > 1
/// outputs, labels 0..classes), trained by per-example SGD with L2 and a decaying rate. L2 is
/// applied through one shared scale factor so that each step touches only the row's features.
#[derive(Debug, Clone)]
pub struct LinearProbe {
    outputs: usize,
    weights: Vec<f64>,
    bias: Vec<f64>,
}

impl LinearProbe {
    pub fn fit(
        rows: &[SparseRow],
        labels: &[usize],
        dims: usize,
        classes: usize,
        config: &ProbeConfig,
    ) -> Self {
        assert_eq!(rows.len(), labels.len());
        let outputs = if classes == 2 { 1 } else { classes };
        let mut weights = vec![0.0f64; dims * outputs];
        let mut bias = vec![0.0f64; outputs];
        let mut scale = 1.0f64;
        let mut order: Vec<usize> = (0..rows.len()).collect();
        let mut rng = fastrand::Rng::with_seed(config.seed);
        let mut step = 0usize;
        let mut grad = vec![0.0f64; outputs];
        for _ in 0..config.epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let eta = config.learning_rate / (1.0 + step as f64 / rows.len() as f64);
                step += 1;
                let z = logits(&weights, &bias, scale, outputs, &rows[i]);
                probabilities_into(&z, &mut grad);
                if outputs == 1 {
                    grad[0] -= (labels[i] == 1) as u8 as f64;
                } else {
                    grad[labels[i]] -= 1.0;
                }
                scale *= 1.0 - eta * config.l2;
                for &(j, x) in &rows[i] {
                    let base = j as usize * outputs;
                    for k in 0..outputs {
                        weights[base + k] -= eta * grad[k] * x as f64 / scale;
                    }
                }
                for k in 0..outputs {
                    bias[k] -= eta * grad[k];
                }
                if scale < 1e-9 {
                    weights.iter_mut().for_each(|w| *w *= scale);
                    scale = 1.0;
                }
            }
        }
        weights.iter_mut().for_each(|w| *w *= scale);
        Self {
            outputs,
            weights,
            bias,
        }
    }

    /// Class probabilities: `[p(1)]` for a binary model, else one per class.
    pub fn predict(&self, row: &SparseRow) -> Vec<f64> {
        let z = logits(&self.weights, &self.bias, 1.0, self.outputs, row);
        let mut p = vec![0.0; self.outputs];
        probabilities_into(&z, &mut p);
        p
    }
}

fn logits(weights: &[f64], bias: &[f64], scale: f64, outputs: usize, row: &SparseRow) -> Vec<f64> {
    let mut z = bias.to_vec();
    for &(j, x) in row {
        let base = j as usize * outputs;
        for k in 0..outputs {
            z[k] += scale * weights[base + k] * x as f64;
        }
    }
    z
}

fn probabilities_into(z: &[f64], out: &mut [f64]) {
    if z.len() == 1 {
        out[0] = 1.0 / (1.0 + (-z[0]).exp());
        return;
    }
    let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for (o, &v) in out.iter_mut().zip(z) {
        *o = (v - max).exp();
        sum += *o;
    }
    out.iter_mut().for_each(|o| *o /= sum);
}

/// The recommended flags and 0-based rating classes of the reviews at `idx`.
pub fn labels_of(reviews: &[Review], idx: &[usize]) -> (Vec<bool>, Vec<usize>) {
    (
        idx.iter().map(|&i| reviews[i].recommended).collect(),
        idx.iter()
            .map(|&i| reviews[i].rating as usize - 1)
            .collect(),
    )
}

/// Fits the recommended and rating probes on `train` rows, choosing each L2 on validation
/// (AUC, rating accuracy), and predicts the test rows.
pub fn probe_run(
    rows: &[SparseRow],
    dims: usize,
    reviews: &[Review],
    split: &ItemSplit,
    seed: u64,
) -> (TestPredictions, serde_json::Value) {
    let pick = |idx: &[usize]| idx.iter().map(|&i| rows[i].clone()).collect::<Vec<_>>();
    let (train, val, test) = (
        pick(&split.train),
        pick(&split.validation),
        pick(&split.test),
    );
    let (train_rec, train_rating) = labels_of(reviews, &split.train);
    let (val_rec, val_rating) = labels_of(reviews, &split.validation);
    let grid = [1e-6, 1e-5, 1e-4];
    let config = |l2| ProbeConfig {
        l2,
        seed,
        ..ProbeConfig::default()
    };
    let rec_labels: Vec<usize> = train_rec.iter().map(|&y| y as usize).collect();
    let mut tried = Vec::new();
    let mut best_rec: Option<(f64, f64, LinearProbe)> = None;
    for &l2 in &grid {
        let probe = LinearProbe::fit(&train, &rec_labels, dims, 2, &config(l2));
        let p: Vec<f64> = val.iter().map(|r| probe.predict(r)[0]).collect();
        let auc = roc_auc(&p, &val_rec).unwrap_or(f64::NAN);
        tried.push(json!({"head": "recommended", "l2": l2, "val_auc": auc}));
        if best_rec.as_ref().is_none_or(|b| auc > b.0) {
            best_rec = Some((auc, l2, probe));
        }
    }
    let mut best_rating: Option<(f64, f64, LinearProbe)> = None;
    for &l2 in &grid {
        let probe = LinearProbe::fit(&train, &train_rating, dims, RATINGS, &config(l2));
        let hits = val
            .iter()
            .zip(&val_rating)
            .filter(|(r, &y)| argmax(&probe.predict(r)) == y)
            .count();
        let acc = hits as f64 / val.len().max(1) as f64;
        tried.push(json!({"head": "rating", "l2": l2, "val_accuracy": acc}));
        if best_rating.as_ref().is_none_or(|b| acc > b.0) {
            best_rating = Some((acc, l2, probe));
        }
    }
    let (_, rec_l2, rec) = best_rec.expect("grid is not empty");
    let (_, rating_l2, rating) = best_rating.expect("grid is not empty");
    let (test_rec, test_rating) = labels_of(reviews, &split.test);
    let predictions = TestPredictions {
        p_recommended: test.iter().map(|r| rec.predict(r)[0]).collect(),
        recommended: test_rec,
        rating_predicted: test
            .iter()
            .map(|r| argmax(&rating.predict(r)) as u8 + 1)
            .collect(),
        rating: test_rating.iter().map(|&r| r as u8 + 1).collect(),
    };
    let defaults = ProbeConfig::default();
    let config = json!({
        "probe": "linear, SGD with L2 (per-example, decaying rate), L2 chosen on validation",
        "epochs": defaults.epochs, "learning_rate": defaults.learning_rate,
        "recommended_l2": rec_l2, "rating_l2": rating_l2, "tuning": tried,
    });
    (predictions, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_words_and_bigrams() {
        assert_eq!(
            terms("Love it, don't return!"),
            [
                "love",
                "it",
                "don't",
                "return",
                "love it",
                "it don't",
                "don't return"
            ]
        );
    }

    #[test]
    fn probe_separates_words() {
        let docs = [
            "great dress love it",
            "love this great top",
            "awful fit returned it",
            "returned awful quality",
        ];
        let tfidf = Tfidf::fit(&docs, 1, 1000);
        let rows: Vec<SparseRow> = docs.iter().map(|d| tfidf.transform(d)).collect();
        let probe = LinearProbe::fit(
            &rows,
            &[1, 1, 0, 0],
            tfidf.len(),
            2,
            &ProbeConfig::default(),
        );
        let good = probe.predict(&tfidf.transform("love it"))[0];
        let bad = probe.predict(&tfidf.transform("awful, returned"))[0];
        assert!(good > 0.5 && bad < 0.5, "{good} {bad}");
        let multi = LinearProbe::fit(
            &rows,
            &[2, 2, 0, 1],
            tfidf.len(),
            3,
            &ProbeConfig::default(),
        );
        let p = multi.predict(&rows[0]);
        assert_eq!(p.len(), 3);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9 && p[2] > 0.5);
    }
}
