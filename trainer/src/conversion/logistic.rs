//! L2-regularised logistic regression fitted by Newton's method (iteratively reweighted least
//! squares) on standardised features. With a few dozen features the Hessian is tiny, so each
//! Newton step is an exact solve and the fit converges in a handful of passes, deterministically.

use serde::Serialize;

/// Settings of [`LogisticRegression::fit`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LogisticConfig {
    /// L2 penalty on the (standardised) weights, not on the intercept, as a total over the
    /// training set: the objective is `sum log loss + l2 / 2 · |w|²`.
    pub l2: f64,
    pub max_iterations: usize,
    /// Stop when no parameter moves by more than this in a Newton step.
    pub tolerance: f64,
}

impl Default for LogisticConfig {
    fn default() -> Self {
        LogisticConfig {
            l2: 1.0,
            max_iterations: 50,
            tolerance: 1e-8,
        }
    }
}

/// Column means and standard deviations of the training rows; constant columns get scale 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standardizer {
    pub means: Vec<f64>,
    pub scales: Vec<f64>,
}

impl Standardizer {
    pub fn fit(values: &[f64], width: usize) -> Self {
        let n = (values.len() / width).max(1) as f64;
        let mut means = vec![0.0; width];
        for row in values.chunks_exact(width) {
            for (m, &x) in means.iter_mut().zip(row) {
                *m += x / n;
            }
        }
        let mut scales = vec![0.0; width];
        for row in values.chunks_exact(width) {
            for ((s, &m), &x) in scales.iter_mut().zip(&means).zip(row) {
                *s += (x - m) * (x - m) / n;
            }
        }
        for s in &mut scales {
            *s = if *s > 1e-24 { s.sqrt() } else { 1.0 };
        }
        Standardizer { means, scales }
    }

    fn apply(&self, row: &[f64], out: &mut [f64]) {
        for (j, o) in out.iter_mut().enumerate() {
            *o = (row[j] - self.means[j]) / self.scales[j];
        }
    }
}

/// A fitted model: `p = σ(intercept + w · standardise(x))`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogisticRegression {
    pub standardizer: Standardizer,
    pub intercept: f64,
    pub weights: Vec<f64>,
    /// Newton steps taken.
    pub iterations: usize,
}

pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl LogisticRegression {
    /// Fits on row-major `values` (`width` per row) and `labels`.
    pub fn fit(values: &[f64], width: usize, labels: &[bool], config: &LogisticConfig) -> Self {
        assert_eq!(values.len(), labels.len() * width);
        let standardizer = Standardizer::fit(values, width);
        // Parameters: [intercept, w_1..w_width]; rows get a leading 1.
        let d = width + 1;
        let rows: Vec<f64> = values
            .chunks_exact(width)
            .flat_map(|row| {
                let mut z = vec![1.0; d];
                standardizer.apply(row, &mut z[1..]);
                z
            })
            .collect();
        let mut theta = vec![0.0; d];
        let mut iterations = 0;
        while iterations < config.max_iterations {
            iterations += 1;
            // Gradient and Hessian of the penalised negative log-likelihood.
            let mut gradient = vec![0.0; d];
            let mut hessian = vec![0.0; d * d];
            for (x, &y) in rows.chunks_exact(d).zip(labels) {
                let p = sigmoid(dot(&theta, x));
                let residual = p - f64::from(u8::from(y));
                let weight = (p * (1.0 - p)).max(1e-12);
                for a in 0..d {
                    gradient[a] += residual * x[a];
                    let wa = weight * x[a];
                    for b in 0..=a {
                        hessian[a * d + b] += wa * x[b];
                    }
                }
            }
            for a in 1..d {
                gradient[a] += config.l2 * theta[a];
                hessian[a * d + a] += config.l2;
            }
            // Tiny ridge on the intercept keeps the system solvable with one class only.
            hessian[0] += 1e-9;
            let step = solve_symmetric_lower(&mut hessian, &gradient, d);
            let mut largest_move: f64 = 0.0;
            for (t, s) in theta.iter_mut().zip(&step) {
                *t -= s;
                largest_move = largest_move.max(s.abs());
            }
            if largest_move < config.tolerance {
                break;
            }
        }
        LogisticRegression {
            standardizer,
            intercept: theta[0],
            weights: theta[1..].to_vec(),
            iterations,
        }
    }

    pub fn predict(&self, row: &[f64]) -> f64 {
        let mut z = vec![0.0; self.weights.len()];
        self.standardizer.apply(row, &mut z);
        sigmoid(self.intercept + dot(&self.weights, &z))
    }

    pub fn predict_all(&self, values: &[f64]) -> Vec<f64> {
        values
            .chunks_exact(self.weights.len())
            .map(|row| self.predict(row))
            .collect()
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Solves `A x = b` for a symmetric positive-definite `A` of which the lower triangle is filled
/// (row-major, `n × n`), by Cholesky decomposition in place.
fn solve_symmetric_lower(a: &mut [f64], b: &[f64], n: usize) -> Vec<f64> {
    for j in 0..n {
        let mut diagonal = a[j * n + j];
        for k in 0..j {
            diagonal -= a[j * n + k] * a[j * n + k];
        }
        let pivot = diagonal.max(1e-12).sqrt();
        a[j * n + j] = pivot;
        for i in j + 1..n {
            let mut value = a[i * n + j];
            for k in 0..j {
                value -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = value / pivot;
        }
    }
    // L y = b, then Lᵀ x = y.
    let mut y = b.to_vec();
    for i in 0..n {
        for k in 0..i {
            y[i] -= a[i * n + k] * y[k];
        }
        y[i] /= a[i * n + i];
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            y[i] -= a[k * n + i] * y[k];
        }
        y[i] /= a[i * n + i];
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_known_system() {
        // [[4, 2], [2, 3]] x = [2, 1] -> x = [0.5, 0].
        let mut a = vec![4.0, 0.0, 2.0, 3.0];
        let x = solve_symmetric_lower(&mut a, &[2.0, 1.0], 2);
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12, "{x:?}");
    }

    #[test]
    fn recovers_the_base_rate_and_a_monotone_effect() {
        // No usable feature: the intercept alone must match the base rate of 1 in 4.
        let labels = [true, false, false, false];
        let flat = LogisticRegression::fit(&[1.0; 4], 1, &labels, &LogisticConfig::default());
        assert!((flat.predict(&[1.0]) - 0.25).abs() < 1e-6);

        // Positives more frequent at larger x: the fitted weight is positive and predictions rise.
        let values: Vec<f64> = (0..100).map(|i| (i % 10) as f64).collect();
        let labels: Vec<bool> = (0..100).map(|i| (i * 37) % 10 < i % 10).collect();
        let model = LogisticRegression::fit(&values, 1, &labels, &LogisticConfig::default());
        assert!(model.weights[0] > 0.0);
        assert!(model.predict(&[9.0]) > model.predict(&[0.0]));
        assert!(model.iterations < 20);
    }
}
