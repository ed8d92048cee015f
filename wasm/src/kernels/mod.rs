//! The numeric kernels of the serving forward pass: the same bits on every target.
//!
//! Candle's CPU ops pick their kernels by target (its matmul uses FMA natively and not in
//! wasm, its sums run in AVX lanes natively and SIMD128 lanes in wasm, `exp` comes from each
//! platform's libm), so the same model gave scores that differed in the last bits between
//! the trainer, Node and workerd. These kernels fix the order of every floating-point
//! operation in the source and use only IEEE basic operations (no FMA contraction, no
//! platform libm), so native, wasm and every browser compute identical results:
//!
//! - [`int8`]: products of per-row int8 weights with per-row quantized activations; the
//!   integer sums are exact in any order, which leaves the SIMD kernels free to be fast
//!   (SIMD128 in wasm, AVX2 natively, a portable loop elsewhere).
//! - [`float`]: sums in eight fixed lanes, `exp` and `erf` from polynomials, layer norm,
//!   softmax, GELU, sigmoid, attention and pooling. Loops vectorise across independent
//!   outputs only, which never changes a result.
//!
//! Kernels take and fill plain slices; `crate::model::ops` wraps them as candle ops.

pub mod float;
pub mod int8;

pub use int8::{dot_i8, ActivationRows, Int8Matrix, Int8Rows};
