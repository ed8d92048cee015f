//! Statistics helpers shared by every evaluation: parallel map, quantiles, seeded bootstrap.

/// The random generator of bootstrap resample `b`: seeded per resample, so results do not
/// depend on how resamples are spread over threads.
pub fn resample_rng(seed: u64, b: usize) -> fastrand::Rng {
    fastrand::Rng::with_seed(seed ^ (b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// The 95% percentile interval of bootstrap estimates (sorted in place).
pub fn percentile_interval(estimates: &mut [f64]) -> (f64, f64) {
    estimates.sort_by(f64::total_cmp);
    (quantile(estimates, 0.025), quantile(estimates, 0.975))
}

/// 95% percentile intervals per metric name, from one `name -> value` map per bootstrap
/// resample (a metric missing from some resamples, e.g. AUC without both classes, uses the rest).
pub fn intervals_by_name(
    estimates: impl IntoIterator<Item = std::collections::BTreeMap<String, f64>>,
) -> std::collections::BTreeMap<String, (f64, f64)> {
    let mut samples: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for (name, value) in estimates.into_iter().flatten() {
        samples.entry(name).or_default().push(value);
    }
    samples
        .into_iter()
        .map(|(name, mut values)| (name, percentile_interval(&mut values)))
        .collect()
}

/// The `q` quantile of sorted values, interpolating linearly between neighbours.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let at = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64)
}

/// `f(0..n)` on all cores, results in order. Work is handed out in small chunks so that
/// uneven items (long sessions, popular items) do not leave a core idle.
pub fn parallel_map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const CHUNK: usize = 64;
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let next = AtomicUsize::new(0);
    let mut parts: Vec<(usize, Vec<T>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                        if start >= n {
                            break done;
                        }
                        done.push((start, (start..(start + CHUNK).min(n)).map(&f).collect()));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker thread panicked"))
            .collect()
    });
    parts.sort_unstable_by_key(|p| p.0);
    parts.into_iter().flat_map(|p| p.1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_keeps_order() {
        assert_eq!(
            parallel_map(1000, |i| i * 2),
            (0..1000).map(|i| i * 2).collect::<Vec<_>>()
        );
    }

    #[test]
    fn interval_of_known_values() {
        let mut v: Vec<f64> = (0..=100).rev().map(f64::from).collect();
        assert_eq!(percentile_interval(&mut v), (2.5, 97.5));
    }
}
