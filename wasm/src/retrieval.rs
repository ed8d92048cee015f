//! Candidate retrieval over the whole catalog: int8 dot products.
//!
//! Scoring every item of a catalog against a query vector is memory-bound: the f32 table of
//! DIGINETICA's 43,097 items × 64 is 11 MB per request. An int8 copy (one scale per row) is a
//! quarter of that, and the integer dot products are exact, so retrieval is deterministic on
//! every platform. The best few hundred candidates are then re-scored exactly in f32 by the
//! caller. The kernel is isolated behind `cfg`: SIMD128 in wasm, a plain loop natively (which
//! LLVM vectorises).

/// Rows of int8 values with one f32 scale per row: row `r` is `values[r*dim..][..dim] * scales[r]`.
/// Values lie in `-127..=127` (never −128), so a product of two fits an `i16`.
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Rows {
    pub dim: usize,
    pub values: Vec<i8>,
    pub scales: Vec<f32>,
}

impl Int8Rows {
    /// Symmetric per-row quantization: each row's largest magnitude maps to 127.
    pub fn quantize(data: &[f32], dim: usize) -> Self {
        assert!(dim > 0 && data.len().is_multiple_of(dim), "whole rows");
        let mut values = Vec::with_capacity(data.len());
        let mut scales = Vec::with_capacity(data.len() / dim);
        for row in data.chunks_exact(dim) {
            let (row_values, scale) = quantize_row(row);
            values.extend(row_values);
            scales.push(scale);
        }
        Int8Rows {
            dim,
            values,
            scales,
        }
    }

    pub fn rows(&self) -> usize {
        self.scales.len()
    }

    pub fn row(&self, r: usize) -> &[i8] {
        &self.values[r * self.dim..(r + 1) * self.dim]
    }

    pub fn dequantize(&self) -> Vec<f32> {
        self.values
            .chunks_exact(self.dim)
            .zip(&self.scales)
            .flat_map(|(row, s)| row.iter().map(move |&v| v as f32 * s))
            .collect()
    }

    pub fn value_bytes(&self) -> Vec<u8> {
        self.values.iter().map(|&v| v as u8).collect()
    }

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

fn quantize_row(row: &[f32]) -> (impl Iterator<Item = i8> + '_, f32) {
    let max = row.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = max / 127.0;
    let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
    (
        row.iter()
            .map(move |x| (x * inv).round().clamp(-127.0, 127.0) as i8),
        scale,
    )
}

/// The dot product of `q` with each `q.len()`-wide row of `values`.
fn row_dots(values: &[i8], q: &[i8]) -> Vec<i32> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { row_dots_avx2(values, q) };
    }
    row_dots_portable(values, q)
}

#[inline(always)]
fn row_dots_portable(values: &[i8], q: &[i8]) -> Vec<i32> {
    values
        .chunks_exact(q.len())
        .map(|row| dot_i8(row, q))
        .collect()
}

/// The same loop compiled for AVX2 (LLVM vectorises the widening multiply-add), chosen at run
/// time: native builds target baseline x86-64, whose SSE2 has no cheap int8 path.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn row_dots_avx2(values: &[i8], q: &[i8]) -> Vec<i32> {
    row_dots_portable(values, q)
}

/// Exact integer dot product of two equally long int8 slices.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    use core::arch::wasm32::*;
    assert_eq!(a.len(), b.len());
    let chunks = a.len() / 16;
    let mut acc = i32x4_splat(0);
    for c in 0..chunks {
        // SAFETY: `c * 16 + 16 <= len` for both slices; v128_load has no alignment requirement.
        let (va, vb) = unsafe {
            (
                v128_load(a.as_ptr().add(c * 16) as *const v128),
                v128_load(b.as_ptr().add(c * 16) as *const v128),
            )
        };
        // |a·b| <= 127², so each i16 product is exact; pairwise sums widen to i32.
        acc = i32x4_add(
            acc,
            i32x4_extadd_pairwise_i16x8(i16x8_extmul_low_i8x16(va, vb)),
        );
        acc = i32x4_add(
            acc,
            i32x4_extadd_pairwise_i16x8(i16x8_extmul_high_i8x16(va, vb)),
        );
    }
    let mut sum = i32x4_extract_lane::<0>(acc)
        + i32x4_extract_lane::<1>(acc)
        + i32x4_extract_lane::<2>(acc)
        + i32x4_extract_lane::<3>(acc);
    for i in chunks * 16..a.len() {
        sum += a[i] as i32 * b[i] as i32;
    }
    sum
}

/// Exact integer dot product of two equally long int8 slices.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    assert_eq!(a.len(), b.len());
    // Wrapping arithmetic (it cannot wrap: |sum| <= len * 127²) so that builds with overflow
    // checks (the dev profile) vectorise this loop too.
    a.iter().zip(b).fold(0i32, |sum, (&x, &y)| {
        sum.wrapping_add((x as i32).wrapping_mul(y as i32))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn quantize_round_trips_within_half_a_step() {
        let data = [0.5, -1.0, 0.25, 0.0, 0.0, 0.0, 3.0, 2.0, -1.5];
        let rows = Int8Rows::quantize(&data, 3);
        assert_eq!(rows.rows(), 3);
        assert_eq!(rows.row(0), &[64, -127, 32]);
        assert_eq!(rows.row(1), &[0, 0, 0]);
        assert_eq!(rows.scales[1], 0.0);
        for (x, y) in rows.dequantize().iter().zip(data) {
            assert!((x - y).abs() <= 3.0 / 127.0 / 2.0 + 1e-6, "{x} vs {y}");
        }
        assert!(rows.values.iter().all(|&v| v != i8::MIN));
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

        #[test]
        fn dot_is_exact(a in proptest::collection::vec(-127i8..=127, 0..100), seed in 0u64..1000) {
            let b: Vec<i8> = a.iter().enumerate()
                .map(|(i, _)| (((i as u64 * 31 + seed) % 255) as i32 - 127) as i8)
                .collect();
            let expected: i64 = a.iter().zip(&b).map(|(&x, &y)| x as i64 * y as i64).sum();
            prop_assert_eq!(dot_i8(&a, &b) as i64, expected);
        }
    }
}
