//! Gradient-boosted regression trees for binary log loss, histogram-based (features cut into at
//! most `max_bins` quantile bins on the training rows), grown depth-first to `max_depth` with
//! Newton leaf values, L2 on the leaves, shrinkage, and early stopping on a stratified held-out
//! part of the training rows.
//!
//! Hand-written rather than a crate: the pure-Rust GBDT crates are unmaintained (`gbdt`) or pull
//! in a heavy tree of dependencies, and LightGBM/XGBoost bindings need a C++ build. This one is
//! small, has no dependencies beyond a seeded generator, and is deterministic for a given seed.

use serde::Serialize;

use super::logistic::sigmoid;
use super::metrics::log_loss;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GbdtConfig {
    /// Upper bound on the number of trees; early stopping usually ends sooner.
    pub max_trees: usize,
    pub learning_rate: f64,
    pub max_depth: usize,
    /// Fewest training rows in a leaf.
    pub min_samples_leaf: usize,
    /// L2 penalty on leaf values (XGBoost's lambda).
    pub l2: f64,
    pub max_bins: usize,
    /// Share of the training rows (of positives and negatives alike) held out for early stopping.
    pub validation_fraction: f64,
    /// Stop after this many trees without a better held-out log loss.
    pub early_stopping_rounds: usize,
    pub seed: u64,
}

impl Default for GbdtConfig {
    fn default() -> Self {
        GbdtConfig {
            max_trees: 500,
            learning_rate: 0.05,
            max_depth: 3,
            min_samples_leaf: 100,
            l2: 10.0,
            max_bins: 32,
            validation_fraction: 0.25,
            early_stopping_rounds: 50,
            seed: 42,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// Rows with `x[feature] <= threshold` go to `left`.
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    Leaf(f64),
}

#[derive(Debug, Clone, PartialEq)]
struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn predict(&self, row: &[f64]) -> f64 {
        let mut at = 0;
        loop {
            match self.nodes[at] {
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    at = if row[feature] <= threshold {
                        left
                    } else {
                        right
                    }
                }
                Node::Leaf(value) => return value,
            }
        }
    }
}

/// A fitted ensemble.
#[derive(Debug, Clone, PartialEq)]
pub struct Gbdt {
    /// Log-odds of the training base rate, the starting score of every row.
    base_score: f64,
    trees: Vec<Tree>,
    /// Held-out log loss after each tree, for the training curve.
    pub validation_log_loss: Vec<f64>,
}

/// Per-bin sums of gradients and Hessians.
#[derive(Debug, Clone, Copy, Default)]
struct BinTotals {
    gradient: f64,
    hessian: f64,
    count: usize,
}

struct BestSplit {
    gain: f64,
    feature: usize,
    bin: usize,
}

impl Gbdt {
    /// Fits on row-major `values` (`width` per row) and `labels`.
    pub fn fit(values: &[f64], width: usize, labels: &[bool], config: &GbdtConfig) -> Self {
        assert_eq!(values.len(), labels.len() * width);
        let (fit_rows, held_out_rows) =
            stratified_split(labels, config.validation_fraction, config.seed);
        let edges: Vec<Vec<f64>> = (0..width)
            .map(|j| {
                bin_edges(
                    fit_rows.iter().map(|&i| values[i * width + j]),
                    config.max_bins,
                )
            })
            .collect();
        // bins[i * width + j]: the bin of row i in feature j; bin b holds x <= edges[j][b].
        let bins: Vec<u16> = values
            .chunks_exact(width)
            .flat_map(|row| {
                row.iter()
                    .zip(&edges)
                    .map(|(&x, e)| e.partition_point(|&edge| edge < x) as u16)
            })
            .collect();

        let positives = fit_rows.iter().filter(|&&i| labels[i]).count() as f64;
        let base_rate = (positives / fit_rows.len().max(1) as f64).clamp(1e-6, 1.0 - 1e-6);
        let base_score = (base_rate / (1.0 - base_rate)).ln();
        let mut scores = vec![base_score; labels.len()];
        let held_out_labels: Vec<bool> = held_out_rows.iter().map(|&i| labels[i]).collect();
        let held_out_loss = |scores: &[f64]| {
            let p: Vec<f64> = held_out_rows.iter().map(|&i| sigmoid(scores[i])).collect();
            log_loss(&p, &held_out_labels)
        };

        let mut model = Gbdt {
            base_score,
            trees: Vec::new(),
            validation_log_loss: Vec::new(),
        };
        let mut best = (held_out_loss(&scores), 0);
        let mut gradients = vec![0.0; labels.len()];
        let mut hessians = vec![0.0; labels.len()];
        let bar = crate::progress::bar(config.max_trees as u64, "boosting");
        for round in 1..=config.max_trees {
            for &i in &fit_rows {
                let p = sigmoid(scores[i]);
                gradients[i] = p - f64::from(u8::from(labels[i]));
                hessians[i] = (p * (1.0 - p)).max(1e-12);
            }
            let mut tree = Tree { nodes: Vec::new() };
            let grower = Grower {
                bins: &bins,
                width,
                edges: &edges,
                gradients: &gradients,
                hessians: &hessians,
                config,
            };
            grower.grow(&mut tree, fit_rows.clone(), 0);
            for (i, row) in values.chunks_exact(width).enumerate() {
                scores[i] += tree.predict(row);
            }
            model.trees.push(tree);
            let loss = held_out_loss(&scores);
            model.validation_log_loss.push(loss);
            bar.inc(1);
            if loss < best.0 {
                best = (loss, round);
            } else if round - best.1 >= config.early_stopping_rounds {
                break;
            }
        }
        bar.finish_and_clear();
        model.trees.truncate(best.1);
        model
    }

    /// Trees kept after early stopping.
    pub fn num_trees(&self) -> usize {
        self.trees.len()
    }

    pub fn predict(&self, row: &[f64]) -> f64 {
        sigmoid(self.base_score + self.trees.iter().map(|t| t.predict(row)).sum::<f64>())
    }

    pub fn predict_all(&self, values: &[f64], width: usize) -> Vec<f64> {
        values
            .chunks_exact(width)
            .map(|row| self.predict(row))
            .collect()
    }
}

/// What one tree's growth needs to see.
struct Grower<'a> {
    bins: &'a [u16],
    width: usize,
    edges: &'a [Vec<f64>],
    gradients: &'a [f64],
    hessians: &'a [f64],
    config: &'a GbdtConfig,
}

impl Grower<'_> {
    /// Appends the subtree of `rows` to `tree` and returns its node index.
    fn grow(&self, tree: &mut Tree, rows: Vec<usize>, depth: usize) -> usize {
        let (g, h) = rows.iter().fold((0.0, 0.0), |(g, h), &i| {
            (g + self.gradients[i], h + self.hessians[i])
        });
        let at = tree.nodes.len();
        tree.nodes.push(Node::Leaf(
            -g / (h + self.config.l2) * self.config.learning_rate,
        ));
        let can_split =
            depth < self.config.max_depth && rows.len() >= 2 * self.config.min_samples_leaf;
        let Some(best) = can_split.then(|| self.best_split(&rows, g, h)).flatten() else {
            return at;
        };
        let (left_rows, right_rows): (Vec<usize>, Vec<usize>) = rows
            .into_iter()
            .partition(|&i| self.bins[i * self.width + best.feature] as usize <= best.bin);
        let left = self.grow(tree, left_rows, depth + 1);
        let right = self.grow(tree, right_rows, depth + 1);
        tree.nodes[at] = Node::Split {
            feature: best.feature,
            threshold: self.edges[best.feature][best.bin],
            left,
            right,
        };
        at
    }

    fn best_split(&self, rows: &[usize], g: f64, h: f64) -> Option<BestSplit> {
        let l2 = self.config.l2;
        let min_leaf = self.config.min_samples_leaf;
        let parent_score = g * g / (h + l2);
        let mut best: Option<BestSplit> = None;
        for feature in 0..self.width {
            // The last bin holds values above every edge and cannot be a left side.
            let splittable = self.edges[feature].len();
            if splittable == 0 {
                continue;
            }
            let mut histogram = vec![BinTotals::default(); splittable + 1];
            for &i in rows {
                let slot = &mut histogram[self.bins[i * self.width + feature] as usize];
                slot.gradient += self.gradients[i];
                slot.hessian += self.hessians[i];
                slot.count += 1;
            }
            let mut left = BinTotals::default();
            for (bin, totals) in histogram[..splittable].iter().enumerate() {
                left.gradient += totals.gradient;
                left.hessian += totals.hessian;
                left.count += totals.count;
                let right_count = rows.len() - left.count;
                if left.count < min_leaf || right_count < min_leaf {
                    continue;
                }
                let (gr, hr) = (g - left.gradient, h - left.hessian);
                let gain = left.gradient * left.gradient / (left.hessian + l2)
                    + gr * gr / (hr + l2)
                    - parent_score;
                if gain > 1e-9 && best.as_ref().is_none_or(|b| gain > b.gain) {
                    best = Some(BestSplit { gain, feature, bin });
                }
            }
        }
        best
    }
}

/// Upper edges of at most `max_bins` bins: every distinct value when there are few, otherwise
/// quantiles of the values.
fn bin_edges(values: impl Iterator<Item = f64>, max_bins: usize) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.collect();
    sorted.sort_by(f64::total_cmp);
    let mut distinct = sorted.clone();
    distinct.dedup();
    if distinct.len() <= max_bins {
        // The largest value needs no edge of its own: everything above the others is "right".
        distinct.pop();
        return distinct;
    }
    let mut edges: Vec<f64> = (1..max_bins)
        .map(|k| sorted[k * sorted.len() / max_bins])
        .collect();
    edges.dedup();
    if edges.last() == sorted.last() {
        edges.pop();
    }
    edges
}

/// Row indices for fitting and for early stopping, each class shuffled and split on its own so
/// the rare positives are shared out in proportion.
fn stratified_split(
    labels: &[bool],
    held_out_fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut fit, mut held_out) = (Vec::new(), Vec::new());
    for class in [true, false] {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rng.shuffle(&mut rows);
        let cut = (rows.len() as f64 * held_out_fraction).round() as usize;
        held_out.extend_from_slice(&rows[..cut]);
        fit.extend_from_slice(&rows[cut..]);
    }
    fit.sort_unstable();
    held_out.sort_unstable();
    (fit, held_out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversion::metrics::roc_auc;

    #[test]
    fn bin_edges_use_distinct_values_or_quantiles() {
        assert_eq!(
            bin_edges([3.0, 1.0, 2.0, 1.0].into_iter(), 8),
            vec![1.0, 2.0]
        );
        let many = bin_edges((0..1000).map(f64::from), 4);
        assert_eq!(many, vec![250.0, 500.0, 750.0]);
    }

    #[test]
    fn learns_a_band_a_linear_model_cannot() {
        // Label = x0 inside (0.3, 0.7), x1 irrelevant, on a deterministic grid: no monotone
        // score separates the classes, a two-level tree does.
        let n = 2000;
        let values: Vec<f64> = (0..n)
            .flat_map(|i| [(i % 37) as f64 / 37.0, (i % 41) as f64 / 41.0])
            .collect();
        let labels: Vec<bool> = values
            .chunks_exact(2)
            .map(|r| r[0] > 0.3 && r[0] < 0.7)
            .collect();
        let config = GbdtConfig {
            min_samples_leaf: 20,
            learning_rate: 0.3,
            ..GbdtConfig::default()
        };
        let model = Gbdt::fit(&values, 2, &labels, &config);
        let p = model.predict_all(&values, 2);
        assert!(roc_auc(&p, &labels).unwrap() > 0.99);
        assert!(model.num_trees() >= 1);
        assert_eq!(
            model,
            Gbdt::fit(&values, 2, &labels, &config),
            "deterministic"
        );
    }
}
