//! Int8 values with per-row scales, and their exact integer products.
//!
//! Two shapes of the same idea:
//! - [`Int8Rows`]: a table of int8 rows (the item table for retrieval), dotted with one
//!   int8 query at a time.
//! - [`Int8Matrix`] × [`ActivationRows`]: a linear layer's weights (one int8 row per output)
//!   times a batch of activations quantized per row, at run time, to integers in 16 bits.
//!   The integer sums are exact whatever the order, so the SIMD kernels may tile and reorder
//!   freely and still give the same bits on every target; only the final
//!   `sum × row scale × weight scale + bias` is floating point, in one fixed order.

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
}

/// The largest `|x|` of a slice (NaNs are passed over). A compare-and-select, not `f32::max`:
/// that is a libm call (`fmaxf`) in wasm, this a vector `pmax`.
pub(crate) fn largest_magnitude(x: &[f32]) -> f32 {
    x.iter().fold(0f32, |m, v| {
        let a = v.abs();
        if a > m {
            a
        } else {
            m
        }
    })
}

/// One row's int8 values and scale: its largest magnitude maps to 127.
pub(crate) fn quantize_row(row: &[f32]) -> (impl Iterator<Item = i8> + '_, f32) {
    let max = largest_magnitude(row);
    let scale = max / 127.0;
    let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
    (
        row.iter()
            .map(move |x| (x * inv).round().clamp(-127.0, 127.0) as i8),
        scale,
    )
}

/// The dot product of `q` with each `q.len()`-wide row of `values`.
pub(crate) fn row_dots(values: &[i8], q: &[i8]) -> Vec<i32> {
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

/// Rows of [`Int8Matrix`] and [`ActivationRows`] are padded with zeros to a multiple of this
/// many columns, so the SIMD loops have no tails.
pub const COLUMN_STEP: usize = 16;

fn padded(cols: usize) -> usize {
    cols.div_ceil(COLUMN_STEP) * COLUMN_STEP
}

/// A linear layer's weight `[outputs, inputs]` as int8 rows (one scale per output), padded to
/// [`COLUMN_STEP`] columns: what [`Int8Matrix::matmul`] multiplies with.
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Matrix {
    rows: usize,
    cols: usize,
    stride: usize,
    values: Vec<i8>,
    scales: Vec<f32>,
}

impl Int8Matrix {
    /// Quantizes `weights` (`rows × cols`, row-major) row by row, as [`Int8Rows::quantize`].
    pub fn quantize(weights: &[f32], rows: usize, cols: usize) -> Self {
        assert!(
            cols > 0 && weights.len() == rows * cols,
            "a {rows} x {cols} matrix"
        );
        let stride = padded(cols);
        let mut values = vec![0i8; rows * stride];
        let mut scales = Vec::with_capacity(rows);
        for (row, out) in weights
            .chunks_exact(cols)
            .zip(values.chunks_exact_mut(stride))
        {
            let (row_values, scale) = quantize_row(row);
            out.iter_mut().zip(row_values).for_each(|(o, v)| *o = v);
            scales.push(scale);
        }
        Int8Matrix {
            rows,
            cols,
            stride,
            values,
            scales,
        }
    }

    /// Outputs (rows of the weight).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Inputs (columns of the weight).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `out[i][j] = x[i] · self[j] (+ bias[j])` for every activation row `i` and output `j`:
    /// `out` is `x.rows() × self.rows()`, row-major.
    pub fn matmul(&self, x: &ActivationRows, bias: Option<&[f32]>, out: &mut [f32]) {
        assert_eq!(x.cols, self.cols, "activation width = weight inputs");
        assert_eq!(out.len(), x.rows * self.rows, "output size");
        if let Some(b) = bias {
            assert_eq!(b.len(), self.rows, "one bias per output");
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        // SAFETY: rows are `stride` long, a multiple of 16, for both operands (checked above:
        // equal `cols`, hence equal `stride`).
        unsafe {
            drive::<simd128::Kernel>(x, self, bias, out)
        }
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2; rows are `stride` long, a multiple of 16.
                unsafe { avx2::matmul(x, self, bias, out) };
                return;
            }
            // SAFETY: the portable kernel only reads within the rows.
            unsafe { drive::<Portable>(x, self, bias, out) }
        }
        #[cfg(not(any(
            target_arch = "x86_64",
            all(target_arch = "wasm32", target_feature = "simd128")
        )))]
        // SAFETY: the portable kernel only reads within the rows.
        unsafe {
            drive::<Portable>(x, self, bias, out)
        }
    }
}

/// Activations (`rows × cols`, row-major) quantized per row, symmetric, to integers within
/// ±[`ActivationRows::limit`]: as many bits as the `i32` sums of a product allow (13 to 15), so
/// the activations add far less error than the int8 weights.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationRows {
    rows: usize,
    cols: usize,
    stride: usize,
    values: Vec<i16>,
    scales: Vec<f32>,
}

/// Adding 1.5 × 2²³ and subtracting it again rounds an f32 below 2²² in magnitude to the
/// nearest integer (ties to even) with two IEEE additions: the same on every target, and it
/// vectorises (`f32::round_ties_even` is a libm call on baseline x86-64).
const ROUNDING: f32 = 12_582_912.0;

impl ActivationRows {
    /// The largest magnitude of a quantized activation for rows of `stride` columns: a dot
    /// product of such a row with an int8 row stays within `i32` (`stride × limit × 127`).
    pub fn limit(stride: usize) -> i32 {
        assert!(
            stride <= (i32::MAX / 127) as usize,
            "rows of {stride} columns"
        );
        (i32::MAX / (127 * stride.max(1) as i32)).min(i16::MAX as i32)
    }

    /// Quantizes each `cols`-wide row of `x`.
    pub fn quantize(x: &[f32], cols: usize) -> Self {
        assert!(cols > 0 && x.len().is_multiple_of(cols), "whole rows");
        let rows = x.len() / cols;
        let stride = padded(cols);
        let limit = Self::limit(stride) as f32;
        let mut values = vec![0i16; rows * stride];
        let mut scales = Vec::with_capacity(rows);
        for (row, out) in x.chunks_exact(cols).zip(values.chunks_exact_mut(stride)) {
            let max = largest_magnitude(row);
            if !(max > 0.0 && max.is_finite()) {
                // All zeros, or not finite: the row stays zeros (scale 0).
                scales.push(0.0);
                continue;
            }
            let (scale, inv) = (max / limit, limit / max);
            for (o, &v) in out.iter_mut().zip(row) {
                let q = (v * inv + ROUNDING) - ROUNDING;
                // Within ±limit but for the rounding of `inv`; compare-and-select and a
                // saturating conversion (NaN to 0) vectorise (`f32::clamp` would not in wasm).
                let q = if q > limit {
                    limit
                } else if q < -limit {
                    -limit
                } else {
                    q
                };
                *o = q as i32 as i16;
            }
            scales.push(scale);
        }
        ActivationRows {
            rows,
            cols,
            stride,
            values,
            scales,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }
}

/// A micro-kernel: the `MR × NR` dot products of `MR` activation rows with `NR` weight rows.
trait Kernel {
    /// # Safety
    /// `a` points at `MR` rows `a_stride` apart, `w` at `NR` rows `w_stride` apart, each
    /// readable for `k` values; `k` is a multiple of [`COLUMN_STEP`].
    unsafe fn tile<const MR: usize, const NR: usize>(
        a: *const i16,
        a_stride: usize,
        w: *const i8,
        w_stride: usize,
        k: usize,
    ) -> [[i32; NR]; MR];
}

/// Activation rows per tile and weight rows per panel: as many accumulators as the vector
/// registers hold next to the operands (measured best: 4 × 3 in V8, 4 × 2 with AVX2).
const MR: usize = 4;
#[cfg(target_arch = "wasm32")]
const NR: usize = 3;
#[cfg(not(target_arch = "wasm32"))]
const NR: usize = 2;

/// The blocked product: panels of `NR` weight rows outside (each read from memory once, then
/// from L1 for every activation tile), tiles of `MR` activation rows inside; leftover rows and
/// columns in narrower tiles.
///
/// # Safety
/// `K::tile` must be sound for rows of `stride` values (see [`Kernel::tile`]).
#[inline(always)]
unsafe fn drive<K: Kernel>(
    x: &ActivationRows,
    w: &Int8Matrix,
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    let full_cols = w.rows - w.rows % NR;
    for j in (0..full_cols).step_by(NR) {
        panel::<K, NR>(x, w, bias, out, j);
    }
    for j in full_cols..w.rows {
        panel::<K, 1>(x, w, bias, out, j);
    }
}

/// Every activation row against the `C` weight rows from `j`.
#[inline(always)]
fn panel<K: Kernel, const C: usize>(
    x: &ActivationRows,
    w: &Int8Matrix,
    bias: Option<&[f32]>,
    out: &mut [f32],
    j: usize,
) {
    let full_rows = x.rows - x.rows % MR;
    for i in (0..full_rows).step_by(MR) {
        block::<K, MR, C>(x, w, bias, out, i, j);
    }
    for i in full_rows..x.rows {
        block::<K, 1, C>(x, w, bias, out, i, j);
    }
}

/// One tile's products, scaled back to floats: `sum × (row scale × weight scale) + bias`.
#[inline(always)]
fn block<K: Kernel, const R: usize, const C: usize>(
    x: &ActivationRows,
    w: &Int8Matrix,
    bias: Option<&[f32]>,
    out: &mut [f32],
    i0: usize,
    j0: usize,
) {
    let n = w.rows;
    assert!((i0 + R) * x.stride <= x.values.len() && (j0 + C) * w.stride <= w.values.len());
    // SAFETY: R activation rows from i0 and C weight rows from j0, `stride` values each (a
    // multiple of COLUMN_STEP), lie within the operands (asserted just above).
    let dots = unsafe {
        K::tile::<R, C>(
            x.values.as_ptr().add(i0 * x.stride),
            x.stride,
            w.values.as_ptr().add(j0 * w.stride),
            w.stride,
            x.stride,
        )
    };
    for (r, row) in dots.iter().enumerate() {
        let scale = x.scales[i0 + r];
        for (c, &dot) in row.iter().enumerate() {
            let j = j0 + c;
            let v = dot as f32 * (scale * w.scales[j]);
            out[(i0 + r) * n + j] = match bias {
                Some(b) => v + b[j],
                None => v,
            };
        }
    }
}

/// Plain loops: targets without a SIMD kernel here.
#[allow(dead_code)] // unused where every build has a SIMD kernel (wasm32 + simd128)
struct Portable;

impl Kernel for Portable {
    #[inline(always)]
    unsafe fn tile<const R: usize, const C: usize>(
        a: *const i16,
        a_stride: usize,
        w: *const i8,
        w_stride: usize,
        k: usize,
    ) -> [[i32; C]; R] {
        let mut out = [[0i32; C]; R];
        for (r, row) in out.iter_mut().enumerate() {
            let a = std::slice::from_raw_parts(a.add(r * a_stride), k);
            for (c, o) in row.iter_mut().enumerate() {
                let w = std::slice::from_raw_parts(w.add(c * w_stride), k);
                *o = a.iter().zip(w).fold(0i32, |s, (&x, &y)| {
                    s.wrapping_add((x as i32).wrapping_mul(y as i32))
                });
            }
        }
        out
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use core::arch::wasm32::*;

    pub struct Kernel;

    impl super::Kernel for Kernel {
        #[inline(always)]
        unsafe fn tile<const R: usize, const C: usize>(
            a: *const i16,
            a_stride: usize,
            w: *const i8,
            w_stride: usize,
            k: usize,
        ) -> [[i32; C]; R] {
            let mut acc = [[i32x4_splat(0); C]; R];
            let mut kk = 0;
            while kk < k {
                // Sixteen columns a step (k is a multiple of 16): constant load offsets.
                for half in [0, 8] {
                    let mut wv = [i32x4_splat(0); C];
                    for (c, v) in wv.iter_mut().enumerate() {
                        // Eight int8 weights, sign-extended to 16 bits in the load.
                        *v = i16x8_load_extend_i8x8(w.add(c * w_stride + kk + half));
                    }
                    for (r, acc_row) in acc.iter_mut().enumerate() {
                        let av = v128_load(a.add(r * a_stride + kk + half) as *const v128);
                        for (acc, &wv) in acc_row.iter_mut().zip(&wv) {
                            // Eight products, summed in pairs into four i32 lanes.
                            *acc = i32x4_add(*acc, i32x4_dot_i16x8(av, wv));
                        }
                    }
                }
                kk += 16;
            }
            let mut out = [[0i32; C]; R];
            for (o_row, acc_row) in out.iter_mut().zip(&acc) {
                for (o, &v) in o_row.iter_mut().zip(acc_row) {
                    *o = i32x4_extract_lane::<0>(v)
                        .wrapping_add(i32x4_extract_lane::<1>(v))
                        .wrapping_add(i32x4_extract_lane::<2>(v))
                        .wrapping_add(i32x4_extract_lane::<3>(v));
                }
            }
            out
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{drive, ActivationRows, Int8Matrix};

    pub struct Kernel;

    /// The blocked product compiled for AVX2 (the tiles inline into it).
    #[target_feature(enable = "avx2")]
    pub unsafe fn matmul(
        x: &ActivationRows,
        w: &Int8Matrix,
        bias: Option<&[f32]>,
        out: &mut [f32],
    ) {
        drive::<Kernel>(x, w, bias, out)
    }

    impl super::Kernel for Kernel {
        #[inline(always)]
        unsafe fn tile<const R: usize, const C: usize>(
            a: *const i16,
            a_stride: usize,
            w: *const i8,
            w_stride: usize,
            k: usize,
        ) -> [[i32; C]; R] {
            tile_avx2::<R, C>(a, a_stride, w, w_stride, k)
        }
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn tile_avx2<const R: usize, const C: usize>(
        a: *const i16,
        a_stride: usize,
        w: *const i8,
        w_stride: usize,
        k: usize,
    ) -> [[i32; C]; R] {
        let mut acc = [[_mm256_setzero_si256(); C]; R];
        let mut kk = 0;
        while kk < k {
            let mut wv = [_mm256_setzero_si256(); C];
            for (c, v) in wv.iter_mut().enumerate() {
                // Sixteen int8 weights, sign-extended to 16 bits.
                *v = _mm256_cvtepi8_epi16(_mm_loadu_si128(
                    w.add(c * w_stride + kk) as *const __m128i
                ));
            }
            for (r, acc_row) in acc.iter_mut().enumerate() {
                let av = _mm256_loadu_si256(a.add(r * a_stride + kk) as *const __m256i);
                for (acc, &wv) in acc_row.iter_mut().zip(&wv) {
                    *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(av, wv));
                }
            }
            kk += 16;
        }
        let mut out = [[0i32; C]; R];
        for (o_row, acc_row) in out.iter_mut().zip(&acc) {
            for (o, &v) in o_row.iter_mut().zip(acc_row) {
                let mut lanes = [0i32; 8];
                _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, v);
                *o = lanes.iter().fold(0i32, |s, &l| s.wrapping_add(l));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
    fn activation_limits_keep_sums_within_i32() {
        assert_eq!(ActivationRows::limit(16), i16::MAX as i32);
        assert_eq!(ActivationRows::limit(384), i16::MAX as i32);
        assert_eq!(ActivationRows::limit(1536), 11_008);
        for stride in [16usize, 512, 1536, 4096, 65_536] {
            let worst = stride as i64 * ActivationRows::limit(stride) as i64 * 127;
            assert!(worst <= i32::MAX as i64, "stride {stride}");
        }
    }

    /// The integer product against f64 arithmetic on the dequantized operands, and against
    /// the f32 product within the quantization error.
    fn check_matmul(m: usize, k: usize, n: usize, seed: u64) {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let x: Vec<f32> = (0..m * k).map(|_| next() * 3.0).collect();
        let w: Vec<f32> = (0..n * k).map(|_| next()).collect();
        let bias: Vec<f32> = (0..n).map(|_| next()).collect();
        let (qx, qw) = (
            ActivationRows::quantize(&x, k),
            Int8Matrix::quantize(&w, n, k),
        );
        let mut out = vec![0f32; m * n];
        qw.matmul(&qx, Some(&bias), &mut out);
        for i in 0..m {
            for j in 0..n {
                let exact: i64 = (0..k)
                    .map(|t| {
                        qx.values[i * qx.stride + t] as i64 * qw.values[j * qw.stride + t] as i64
                    })
                    .sum();
                let expected = exact as f32 * (qx.scales[i] * qw.scales[j]) + bias[j];
                assert_eq!(out[i * n + j], expected, "({i}, {j}) of {m}x{k}x{n}");
                let f32_dot: f32 =
                    (0..k).map(|t| x[i * k + t] * w[j * k + t]).sum::<f32>() + bias[j];
                // Weight error: half a step (max/127/2) per weight, times |x|.
                let bound = (0..k).map(|t| x[i * k + t].abs()).sum::<f32>() / 127.0;
                assert!(
                    (out[i * n + j] - f32_dot).abs() <= bound,
                    "{} vs {f32_dot}",
                    out[i * n + j]
                );
            }
        }
    }

    #[test]
    fn matmul_is_the_exact_integer_product_for_every_tile_shape() {
        for (m, k, n) in [
            (1, 1, 1),
            (1, 16, 3),
            (5, 17, 3),
            (4, 64, 2),
            (7, 384, 5),
            (9, 1536, 4),
        ] {
            check_matmul(m, k, n, (m * 1000 + k * 10 + n) as u64);
        }
    }

    #[test]
    fn zero_and_non_finite_rows_quantize_to_zero() {
        let q = ActivationRows::quantize(&[0.0, 0.0, f32::INFINITY, 1.0], 2);
        assert_eq!(q.scales, vec![0.0, 0.0]);
        assert!(q.values.iter().all(|&v| v == 0));
        let w = Int8Matrix::quantize(&[1.0, 2.0], 1, 2);
        let mut out = [7.0];
        w.matmul(
            &ActivationRows::quantize(&[0.0, 0.0], 2),
            Some(&[0.5]),
            &mut out,
        );
        assert_eq!(out, [0.5]);
    }

    proptest! {
        #[test]
        fn dot_is_exact(a in proptest::collection::vec(-127i8..=127, 0..100), seed in 0u64..1000) {
            let b: Vec<i8> = a.iter().enumerate()
                .map(|(i, _)| (((i as u64 * 31 + seed) % 255) as i32 - 127) as i8)
                .collect();
            let expected: i64 = a.iter().zip(&b).map(|(&x, &y)| x as i64 * y as i64).sum();
            prop_assert_eq!(dot_i8(&a, &b) as i64, expected);
        }

        #[test]
        fn matmul_matches_integer_arithmetic(m in 1usize..9, k in 1usize..70, n in 1usize..7, seed in 0u64..1000) {
            check_matmul(m, k, n, seed);
        }
    }
}
