//! Floating-point kernels whose every operation is fixed by the source: sums in eight lanes
//! added in a fixed tree, `exp` and `erf` from polynomials (IEEE additions, multiplications
//! and divisions only; Rust never contracts them into FMAs), loops that vectorise across
//! independent outputs. The same inputs give the same bits natively, in wasm and in every
//! JS engine.

/// Lanes of [`sum`] and [`dot`]: two SIMD128 or one AVX vector's worth of partial sums.
const LANES: usize = 8;

/// The eight partial sums added pairwise in one fixed order.
#[inline(always)]
fn reduce(acc: [f32; LANES]) -> f32 {
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// `Σ x`: element `i` goes to lane `i % 8`, lanes are added in a fixed tree.
#[inline]
pub fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    for (l, &v) in rest.iter().enumerate() {
        acc[l] += v;
    }
    reduce(acc)
}

/// `Σ a·b`, in the lanes of [`sum`].
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "equal lengths");
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    for (l, (x, y)) in ra.iter().zip(rb).enumerate() {
        acc[l] += x * y;
    }
    reduce(acc)
}

/// See `int8::ROUNDING`: rounds to the nearest integer (ties to even) below 2²².
const ROUNDING: f32 = 12_582_912.0;

/// `eˣ` within 2 ulp (Cephes' `expf`): `x = n·ln 2 + r`, a degree-6 polynomial in `r`, times
/// `2ⁿ` built in the exponent bits. 0 below −87.3 (where `eˣ` leaves the normal range), +∞ above
/// 88.7.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two, so that n·LN2_HI is exact for |n| < 2⁹.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const LO: f32 = -87.336_55;
    const HI: f32 = 88.376_26;
    let xc = x.clamp(LO, HI);
    let n = (xc * LOG2E + ROUNDING) - ROUNDING;
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = (p * (r * r) + r) + 1.0;
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    let e = y * scale;
    if x < LO {
        0.0
    } else if x > HI {
        f32::INFINITY
    } else {
        e
    }
}

/// `erf(x)` within 5e-7: Eigen's (and XNNPACK's) rational approximation, odd numerator of
/// degree 13 over even denominator of degree 8, on `x` clamped to ±4 (erf(4) is 1 in f32).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142e-10;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 + -2.101_024e-6;
    p = p * x2 + -5.692_506_4e-5;
    p = p * x2 + -7.349_906_3e-4;
    p = p * x2 + -2.954_6e-3;
    p = p * x2 + -1.609_603_3e-2;
    let mut q = -1.456_607_2e-5;
    q = q * x2 + -2.133_740_6e-4;
    q = q * x2 + -1.682_827e-3;
    q = q * x2 + -7.373_329e-3;
    q = q * x2 + -1.426_474e-2;
    (x * p) / q
}

/// GELU as BERT defines it: `x/2 · (1 + erf(x/√2))`.
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `1 / (1 + e⁻ˣ)`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

pub fn gelu_in_place(x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v = gelu(*v));
}

pub fn sigmoid_in_place(x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v = sigmoid(*v));
}

/// Layer normalisation of each `weight.len()`-wide row of `x` into `out`:
/// `(x − mean) / √(var + eps) · weight + bias`, mean and (biased) variance over the row.
pub fn layer_norm(x: &[f32], weight: &[f32], bias: &[f32], eps: f32, out: &mut [f32]) {
    let n = weight.len();
    assert!(n > 0 && bias.len() == n && x.len() == out.len() && x.len().is_multiple_of(n));
    for (row, o) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
        let mean = sum(row) / n as f32;
        for (o, &v) in o.iter_mut().zip(row) {
            *o = v - mean;
        }
        let var = dot(o, o) / n as f32;
        let denom = (var + eps).sqrt();
        for ((o, &w), &b) in o.iter_mut().zip(weight).zip(bias) {
            *o = *o / denom * w + b;
        }
    }
}

/// The larger of two values by compare-and-select (NaN `b` is passed over): one vector
/// instruction, where `f32::max` is a libm call in wasm.
#[inline(always)]
fn larger(a: f32, b: f32) -> f32 {
    if b > a {
        b
    } else {
        a
    }
}

/// Softmax of one row, in place: `exp(x − max) / Σ exp(x − max)`.
pub fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| larger(m, v));
    row.iter_mut().for_each(|v| *v = exp(*v - max));
    let total = sum(row);
    row.iter_mut().for_each(|v| *v /= total);
}

/// The shape of a multi-head attention: `batch` sequences of `seq` positions, `heads` heads of
/// `head_dim` values each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionShape {
    pub batch: usize,
    pub seq: usize,
    pub heads: usize,
    pub head_dim: usize,
}

/// Scaled dot-product attention. `qkv` holds one row per position (`batch × seq` rows), each
/// the position's query, key and value side by side (`3 × heads × head_dim`, head-major within
/// each). `bias` is added to the scores: `[batch, seq]` (one per key, the same for every query)
/// or, with `bias_per_query`, `[batch, seq, seq]`. Writes `[batch × seq, heads × head_dim]`.
pub fn attention(
    qkv: &[f32],
    shape: AttentionShape,
    bias: &[f32],
    bias_per_query: bool,
    out: &mut [f32],
) {
    let AttentionShape {
        batch,
        seq,
        heads,
        head_dim: dh,
    } = shape;
    let hidden = heads * dh;
    let width = 3 * hidden;
    assert_eq!(qkv.len(), batch * seq * width, "qkv rows");
    assert_eq!(out.len(), batch * seq * hidden, "output rows");
    let bias_rows = if bias_per_query { seq } else { 1 };
    assert_eq!(bias.len(), batch * bias_rows * seq, "bias");
    let scale = (dh as f32).sqrt();
    // Keys padded to a multiple of the tile width with zeros (their scores are never read).
    let keys_len = seq.div_ceil(TILE_COLS) * TILE_COLS;
    let dims_len = dh.div_ceil(TILE_COLS) * TILE_COLS;
    // One head's keys transposed, `[head_dim, keys_len]`, and values, `[seq, dims_len]`.
    let mut keys = vec![0f32; dh * keys_len];
    let mut vals = vec![0f32; seq * dims_len];
    let mut scores = vec![0f32; TILE_ROWS * keys_len];
    let mut context = vec![0f32; TILE_ROWS * dims_len];
    for b in 0..batch {
        let rows = &qkv[b * seq * width..(b + 1) * seq * width];
        for h in 0..heads {
            for (j, row) in rows.chunks_exact(width).enumerate() {
                for (d, &k) in row[hidden + h * dh..][..dh].iter().enumerate() {
                    keys[d * keys_len + j] = k;
                }
                vals[j * dims_len..][..dh].copy_from_slice(&row[2 * hidden + h * dh..][..dh]);
            }
            for i0 in (0..seq).step_by(TILE_ROWS) {
                let n = TILE_ROWS.min(seq - i0);
                let query = |r: usize| &rows[(i0 + r) * width + h * dh..][..dh];
                // scores[r][j] = Σ_d q_r[d] · k_j[d], summed over d in order.
                for j0 in (0..keys_len).step_by(TILE_COLS) {
                    let mut acc = [[0f32; TILE_COLS]; TILE_ROWS];
                    for d in 0..dh {
                        let k = &keys[d * keys_len + j0..][..TILE_COLS];
                        for (r, acc) in acc.iter_mut().enumerate().take(n) {
                            let q = query(r)[d];
                            for l in 0..TILE_COLS {
                                acc[l] += q * k[l];
                            }
                        }
                    }
                    for (r, acc) in acc.iter().enumerate().take(n) {
                        scores[r * keys_len + j0..][..TILE_COLS].copy_from_slice(acc);
                    }
                }
                for r in 0..n {
                    let i = i0 + r;
                    let bias_row =
                        &bias[(b * bias_rows + if bias_per_query { i } else { 0 }) * seq..][..seq];
                    let s = &mut scores[r * keys_len..][..seq];
                    for (s, &add) in s.iter_mut().zip(bias_row) {
                        *s = *s / scale + add;
                    }
                    softmax_in_place(s);
                }
                // context[r][d] = Σ_j p_r[j] · v_j[d], summed over j in order.
                for d0 in (0..dims_len).step_by(TILE_COLS) {
                    let mut acc = [[0f32; TILE_COLS]; TILE_ROWS];
                    for j in 0..seq {
                        let v = &vals[j * dims_len + d0..][..TILE_COLS];
                        for (r, acc) in acc.iter_mut().enumerate().take(n) {
                            let p = scores[r * keys_len + j];
                            for l in 0..TILE_COLS {
                                acc[l] += p * v[l];
                            }
                        }
                    }
                    for (r, acc) in acc.iter().enumerate().take(n) {
                        context[r * dims_len + d0..][..TILE_COLS].copy_from_slice(acc);
                    }
                }
                for r in 0..n {
                    out[(b * seq + i0 + r) * hidden + h * dh..][..dh]
                        .copy_from_slice(&context[r * dims_len..][..dh]);
                }
            }
        }
    }
}

/// Attention's register tile: queries × keys (or value dimensions) accumulated at once.
const TILE_ROWS: usize = 4;
const TILE_COLS: usize = 8;

/// Mean of `hidden` (`[batch, seq, dim]`) over the positions where `mask` (`[batch, seq]`, 1 or
/// 0) is set, into `out` (`[batch, dim]`); a row without tokens pools to zeros.
pub fn mean_pool(hidden: &[f32], mask: &[f32], dim: usize, out: &mut [f32]) {
    let batch = out.len() / dim;
    let seq = mask.len() / batch.max(1);
    assert_eq!(hidden.len(), batch * seq * dim, "hidden states");
    for ((o, m), h) in out
        .chunks_exact_mut(dim)
        .zip(mask.chunks_exact(seq))
        .zip(hidden.chunks_exact(seq * dim))
    {
        o.fill(0.0);
        let mut count = 0f32;
        for (&w, row) in m.iter().zip(h.chunks_exact(dim)) {
            if w == 0.0 {
                continue;
            }
            count += w;
            for (o, &v) in o.iter_mut().zip(row) {
                *o += v * w;
            }
        }
        let count = count.max(1e-9);
        o.iter_mut().for_each(|v| *v /= count);
    }
}

/// Each `dim`-wide row divided by its L2 norm (at least `1e-12`, so zero rows stay zero).
pub fn l2_normalize_rows(x: &mut [f32], dim: usize) {
    for row in x.chunks_exact_mut(dim) {
        let norm = dot(row, row).sqrt().max(1e-12);
        row.iter_mut().for_each(|v| *v /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(from: f32, to: f32, steps: usize) -> impl Iterator<Item = f32> {
        (0..=steps).map(move |i| from + (to - from) * i as f32 / steps as f32)
    }

    #[test]
    fn exp_is_within_two_ulp() {
        for x in grid(-87.0, 88.0, 200_000) {
            let (got, want) = (exp(x) as f64, (x as f64).exp());
            let ulp = want * f32::EPSILON as f64;
            assert!(
                (got - want).abs() <= 2.0 * ulp,
                "exp({x}) = {got}, want {want}"
            );
        }
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-1e9), 0.0);
        assert_eq!(exp(-88.0), 0.0);
        assert_eq!(exp(1e9), f32::INFINITY);
    }

    #[test]
    fn erf_is_within_5e7() {
        for x in grid(-6.0, 6.0, 120_000) {
            let want = libm::erf(x as f64);
            assert!((erf(x) as f64 - want).abs() < 5e-7, "erf({x})");
        }
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(-2.0), -erf(2.0));
    }

    #[test]
    fn sums_are_correct_and_lane_ordered() {
        let x: Vec<f32> = (0..37).map(|i| i as f32 * 0.5).collect();
        assert_eq!(sum(&x), 333.0);
        assert_eq!(dot(&x, &x), x.iter().map(|v| v * v).sum::<f32>());
        assert_eq!(sum(&[]), 0.0);
        // Rounding depends on the order: element i goes to lane i % 8, lanes add in a tree.
        let y = [1e8f32, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0];
        let lanes = [1e8 + 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0];
        let tree = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
            + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
        assert_eq!(sum(&y), tree);
        assert_ne!(sum(&y), y.iter().sum::<f32>(), "not the sequential order");
    }

    #[test]
    fn softmax_sums_to_one_and_masks_to_zero() {
        let mut row = [1.0f32, 2.0, 3.0, -1e9];
        softmax_in_place(&mut row);
        assert_eq!(row[3], 0.0);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let e = [1.0f64.exp(), 2.0f64.exp(), 3.0f64.exp()];
        let total: f64 = e.iter().sum();
        for (p, e) in row.iter().zip(e) {
            assert!((*p as f64 - e / total).abs() < 1e-6);
        }
    }

    #[test]
    fn layer_norm_centres_and_scales() {
        let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 5.0, 5.0, 5.0];
        let mut out = [0f32; 8];
        layer_norm(
            &x,
            &[1.0, 1.0, 2.0, 1.0],
            &[0.0, 0.0, 0.0, 1.0],
            1e-6,
            &mut out,
        );
        let sd = (1.25f32 + 1e-6).sqrt();
        assert!((out[0] + 1.5 / sd).abs() < 1e-6 && (out[2] - 1.0 / sd).abs() < 1e-6);
        assert!((out[3] - (1.0 + 1.5 / sd)).abs() < 1e-6);
        assert_eq!(&out[4..7], &[0.0, 0.0, 0.0]);
        assert_eq!(out[7], 1.0);
    }

    /// Attention against a direct evaluation of its definition in f64.
    #[test]
    fn attention_matches_its_definition() {
        let shape = AttentionShape {
            batch: 2,
            seq: 3,
            heads: 2,
            head_dim: 2,
        };
        let qkv: Vec<f32> = (0..2 * 3 * 12)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0)
            .collect();
        // Causal: key j > query i masked.
        let bias: Vec<f32> = (0..2 * 3 * 3)
            .map(|i| if i % 3 > (i / 3) % 3 { -1e9 } else { 0.0 })
            .collect();
        let mut out = vec![0f32; 2 * 3 * 4];
        attention(&qkv, shape, &bias, true, &mut out);
        for b in 0..2 {
            for h in 0..2 {
                for i in 0..3 {
                    let at = |pos: usize, part: usize, d: usize| {
                        qkv[(b * 3 + pos) * 12 + part * 4 + h * 2 + d] as f64
                    };
                    let scores: Vec<f64> = (0..=i)
                        .map(|j| {
                            (at(i, 0, 0) * at(j, 1, 0) + at(i, 0, 1) * at(j, 1, 1)) / 2f64.sqrt()
                        })
                        .collect();
                    let max = scores.iter().cloned().fold(f64::MIN, f64::max);
                    let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                    let total: f64 = e.iter().sum();
                    for d in 0..2 {
                        let want: f64 = (0..=i).map(|j| e[j] / total * at(j, 2, d)).sum();
                        let got = out[(b * 3 + i) * 4 + h * 2 + d] as f64;
                        assert!(
                            (got - want).abs() < 1e-5,
                            "b{b} h{h} i{i} d{d}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn mean_pool_skips_padding_and_normalises() {
        let hidden = [
            1.0f32, 2.0, 3.0, 4.0, 100.0, 100.0, 5.0, 6.0, 0.0, 0.0, 0.0, 0.0,
        ];
        let mask = [1.0f32, 1.0, 0.0, 1.0, 0.0, 0.0];
        let mut out = [0f32; 4];
        mean_pool(&hidden, &mask, 2, &mut out);
        assert_eq!(out, [2.0, 3.0, 5.0, 6.0]);
        let mut rows = [3.0f32, 4.0, 0.0, 0.0];
        l2_normalize_rows(&mut rows, 2);
        assert_eq!(rows, [0.6, 0.8, 0.0, 0.0]);
    }
}
