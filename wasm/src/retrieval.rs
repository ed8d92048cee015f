//! Candidate retrieval over the whole catalog: int8 dot products.
//!
//! Scoring every item of a catalog against a query vector is memory-bound: the f32 table of
//! DIGINETICA's 43,097 items × 64 is 11 MB per request. An int8 copy (one scale per row) is a
//! quarter of that, and the integer dot products are exact, so retrieval is deterministic on
//! every platform. The best few hundred candidates are then re-scored exactly in f32 by the
//! caller. The dot products are `crate::kernels::int8`'s (SIMD128 in wasm, AVX2 natively).

use crate::kernels::int8::{quantize_row, row_dots};
use crate::kernels::Int8Rows;

impl Int8Rows {
    /// The `n` rows with the highest approximate dot product with `query` among those `keep`
    /// accepts, best first (ties by row index), with their approximate scores.
    pub fn top(&self, query: &[f32], n: usize, keep: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
        assert_eq!(query.len(), self.dim, "query width");
        let (q, q_scale) = quantize_row(query);
        let q: Vec<i8> = q.collect();
        if n == 0 {
            return Vec::new();
        }
        // The integer dot product is exact and the row scale is one f32 multiplication, so
        // the order is the same on every platform.
        let mut best: Vec<(u32, f32)> = Vec::with_capacity(2 * n.max(16));
        // After a prune, `n` kept rows score at least this; a later row scoring no more ranks
        // after all of them (ties go to the lower index), so it can be skipped.
        let mut threshold = f32::NEG_INFINITY;
        let dots = row_dots(&self.values, &q);
        for (r, (&dot, &scale)) in dots.iter().zip(&self.scales).enumerate() {
            let r = r as u32;
            let score = dot as f32 * scale;
            if score <= threshold || !keep(r) {
                continue;
            }
            best.push((r, score));
            if best.len() >= 2 * n.max(16) {
                select_best(&mut best, n);
                threshold = best.iter().map(|b| b.1).fold(f32::INFINITY, f32::min);
            }
        }
        select_best(&mut best, n);
        best.iter_mut().for_each(|b| b.1 *= q_scale);
        best
    }
}

/// Orders best first (score descending, then index ascending) and keeps `n`.
fn select_best(best: &mut Vec<(u32, f32)>, n: usize) {
    let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if n == 0 {
        best.clear();
    } else if best.len() > n {
        best.select_nth_unstable_by(n - 1, order);
        best.truncate(n);
    }
    best.sort_by(order);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::dot_i8;
    use proptest::prelude::*;

    fn brute_top(rows: &Int8Rows, query: &[f32], n: usize, keep: impl Fn(u32) -> bool) -> Vec<u32> {
        let (q, _) = quantize_row(query);
        let q: Vec<i8> = q.collect();
        let mut all: Vec<(u32, f32)> = (0..rows.rows())
            .filter(|&r| keep(r as u32))
            .map(|r| (r as u32, dot_i8(rows.row(r), &q) as f32 * rows.scales[r]))
            .collect();
        select_best(&mut all, n);
        all.into_iter().map(|x| x.0).collect()
    }

    #[test]
    fn top_finds_the_best_rows_and_honours_keep() {
        let data = [1.0, 0.0, 0.0, 1.0, 0.7, 0.7, -1.0, 0.0];
        let rows = Int8Rows::quantize(&data, 2);
        // f32 dot products with [1, 0.1]: 1.0, 0.1, 0.77, -1.0.
        let top = rows.top(&[1.0, 0.1], 2, |_| true);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), vec![0, 2]);
        let top = rows.top(&[1.0, 0.1], 2, |r| r != 0);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), vec![2, 1]);
        // Scores approximate the f32 dot product.
        assert!((top[0].1 - 0.77).abs() < 0.02, "{}", top[0].1);
        assert!(rows.top(&[1.0, 0.0], 0, |_| true).is_empty());
        assert_eq!(rows.top(&[1.0, 0.0], 10, |_| true).len(), 4);
    }

    proptest! {
        /// The bounded buffer gives exactly what sorting every kept row gives.
        #[test]
        fn top_equals_brute_force(
            data in proptest::collection::vec(-4.0f32..4.0, 7 * 40..=7 * 40),
            query in proptest::collection::vec(-2.0f32..2.0, 7..=7),
            n in 0usize..50,
            skip in 1u32..5,
        ) {
            let rows = Int8Rows::quantize(&data, 7);
            let keep = |r: u32| !r.is_multiple_of(skip) || skip == 1;
            let got: Vec<u32> = rows.top(&query, n, keep).into_iter().map(|x| x.0).collect();
            prop_assert_eq!(got, brute_top(&rows, &query, n, keep));
        }
    }
}
