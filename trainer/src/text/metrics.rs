//! Test metrics of the text task: recommended (AUC, accuracy at 0.5, log loss) and rating
//! (accuracy of the most probable star count, mean absolute error in stars), with seeded
//! percentile-bootstrap intervals over test reviews.

use std::collections::BTreeMap;

use crate::conversion::metrics::{log_loss, roc_auc};
use crate::stats::{intervals_by_name, parallel_map, resample_rng};

pub const AUC: &str = "AUC";
pub const ACCURACY: &str = "Accuracy";
pub const LOG_LOSS: &str = "LogLoss";
pub const RATING_ACCURACY: &str = "RatingAccuracy";
pub const RATING_MAE: &str = "RatingMAE";
pub const ALL: [&str; 5] = [AUC, ACCURACY, LOG_LOSS, RATING_ACCURACY, RATING_MAE];

pub fn log_loss_rec(p: &[f64], labels: &[bool]) -> f64 {
    log_loss(p, labels)
}

/// Predictions of one model on the test reviews.
#[derive(Debug, Clone, Default)]
pub struct TestPredictions {
    pub p_recommended: Vec<f64>,
    pub recommended: Vec<bool>,
    /// Predicted and true ratings, 1 to 5.
    pub rating_predicted: Vec<u8>,
    pub rating: Vec<u8>,
}

impl TestPredictions {
    fn subset(&self, rows: impl Iterator<Item = usize>) -> Self {
        let mut s = Self::default();
        for i in rows {
            s.p_recommended.push(self.p_recommended[i]);
            s.recommended.push(self.recommended[i]);
            s.rating_predicted.push(self.rating_predicted[i]);
            s.rating.push(self.rating[i]);
        }
        s
    }

    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let n = self.recommended.len().max(1) as f64;
        let correct = self
            .p_recommended
            .iter()
            .zip(&self.recommended)
            .filter(|(&p, &y)| (p >= 0.5) == y)
            .count();
        let rating_hits = self
            .rating_predicted
            .iter()
            .zip(&self.rating)
            .filter(|(a, b)| a == b)
            .count();
        let mae = self
            .rating_predicted
            .iter()
            .zip(&self.rating)
            .map(|(&a, &b)| (a as f64 - b as f64).abs())
            .sum::<f64>();
        let mut m = BTreeMap::new();
        if let Some(auc) = roc_auc(&self.p_recommended, &self.recommended) {
            m.insert(AUC.to_string(), auc);
        }
        m.insert(ACCURACY.to_string(), correct as f64 / n);
        m.insert(
            LOG_LOSS.to_string(),
            log_loss(&self.p_recommended, &self.recommended),
        );
        m.insert(RATING_ACCURACY.to_string(), rating_hits as f64 / n);
        m.insert(RATING_MAE.to_string(), mae / n);
        m
    }

    /// 95% percentile-bootstrap intervals of every metric (reviews resampled with replacement).
    pub fn intervals(&self, resamples: usize, seed: u64) -> BTreeMap<String, (f64, f64)> {
        let n = self.recommended.len();
        if n == 0 || resamples == 0 {
            return BTreeMap::new();
        }
        let estimates = parallel_map(resamples, |b| {
            let mut rng = resample_rng(seed, b);
            self.subset((0..n).map(|_| rng.usize(..n))).metrics()
        });
        intervals_by_name(estimates)
    }
}
