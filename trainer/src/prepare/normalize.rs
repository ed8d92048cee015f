//! Normalisation of numeric features, fitted on the training split only so that no statistic of
//! validation or test data reaches the model.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// (x - mean) / std.
    ZScore,
    /// z-score of ln(1 + x): for skewed non-negative values such as prices and counts.
    #[default]
    Log1pZScore,
}

/// A fitted scaling for one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    pub feature: String,
    pub scaling: Scaling,
    pub mean: f64,
    /// Standard deviation; 1 when the training values are all equal, so values map to 0.
    pub std: f64,
    /// How many training values it was fitted on.
    pub fitted_on: usize,
}

impl Normalizer {
    /// Fits on `values` (the training split's); `None` when there are none.
    pub fn fit(
        feature: &str,
        scaling: Scaling,
        values: impl IntoIterator<Item = f64>,
    ) -> Option<Self> {
        let transformed: Vec<f64> = values.into_iter().map(|x| transform(scaling, x)).collect();
        if transformed.is_empty() {
            return None;
        }
        let n = transformed.len() as f64;
        let mean = transformed.iter().sum::<f64>() / n;
        let variance = transformed.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let std = if variance > 0.0 { variance.sqrt() } else { 1.0 };
        Some(Normalizer {
            feature: feature.to_string(),
            scaling,
            mean,
            std,
            fitted_on: transformed.len(),
        })
    }

    pub fn apply(&self, x: f64) -> f64 {
        (transform(self.scaling, x) - self.mean) / self.std
    }
}

fn transform(scaling: Scaling, x: f64) -> f64 {
    match scaling {
        Scaling::ZScore => x,
        // Negative inputs cannot occur for prices (rejected) and counts; clamp rather than NaN.
        Scaling::Log1pZScore => x.max(0.0).ln_1p(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalings_centre_and_scale_the_fitted_values() {
        let z = Normalizer::fit("price", Scaling::ZScore, [1.0, 3.0]).unwrap();
        assert_eq!((z.mean, z.std, z.fitted_on), (2.0, 1.0, 2));
        assert_eq!((z.apply(1.0), z.apply(3.0), z.apply(5.0)), (-1.0, 1.0, 3.0));
        let e = std::f64::consts::E;
        let log = Normalizer::fit("price", Scaling::Log1pZScore, [0.0, e - 1.0]).unwrap();
        assert!((log.apply(0.0) + 1.0).abs() < 1e-12 && (log.apply(e - 1.0) - 1.0).abs() < 1e-12);
        let constant = Normalizer::fit("price", Scaling::ZScore, [4.0, 4.0]).unwrap();
        assert_eq!(constant.apply(4.0), 0.0);
        assert!(Normalizer::fit("price", Scaling::ZScore, []).is_none());
    }
}
