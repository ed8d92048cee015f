//! A linear layer whose weight is either dense (training, and serving from dequantized weights)
//! or quantized (serving with candle's `QMatMul` straight on the quantized blocks).
//!
//! Which one is faster depends on the target: natively QMatMul wins for large matrices, in wasm
//! f32 gemm beat Q8_0 QMatMul by about 4x at 256x256 (see `../shared/TOOLCHAIN.md`), so the
//! bundle keeps weights quantized and the loader decides ([`Compute`]).

use std::collections::HashMap;
use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

/// How a loaded model computes with quantized weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compute {
    /// Dequantize every weight to f32 once at load (more memory, plain gemm).
    #[default]
    Dequantized,
    /// Keep linear-layer weights quantized and multiply with `QMatMul`.
    Quantized,
}

/// Quantized linear-layer weights by full tensor name (`blocks.0.qkv.weight`).
pub type QuantizedWeights = HashMap<String, Arc<QTensor>>;

#[derive(Debug, Clone)]
pub enum Linear {
    Dense(candle_nn::Linear),
    Quantized { weight: QMatMul, bias: Tensor },
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Linear::Dense(linear) => linear.forward(xs),
            Linear::Quantized { weight, bias } => weight.forward(xs)?.broadcast_add(bias),
        }
    }
}

/// `vb.pp(name)`'s linear layer: quantized if `quantized` holds its weight, dense otherwise.
/// Biases always come from `vb` (they are tiny and stay f32).
pub fn linear(
    inputs: usize,
    outputs: usize,
    vb: VarBuilder,
    quantized: Option<&QuantizedWeights>,
) -> Result<Linear> {
    let weight_name = format!("{}.weight", vb.prefix());
    match quantized.and_then(|q| q.get(&weight_name)) {
        Some(q) => {
            if q.shape().dims() != [outputs, inputs] {
                candle_core::bail!(
                    "shape mismatch for {weight_name}: expected [{outputs}, {inputs}], got {:?}",
                    q.shape().dims()
                );
            }
            Ok(Linear::Quantized {
                weight: QMatMul::from_arc(q.clone())?,
                bias: vb.get(outputs, "bias")?,
            })
        }
        None => Ok(Linear::Dense(candle_nn::linear(inputs, outputs, vb)?)),
    }
}
