//! The ops both models are written with, in two implementations chosen at load ([`Compute`]):
//!
//! - candle's differentiable ops ([`Compute::Dequantized`]): what the trainer runs (softmax and
//!   layer norm composed from basic ops, since candle-nn's fused kernels have no backward pass),
//!   and what the edge runs to score exactly as the trainer did;
//! - `crate::kernels` behind candle custom ops ([`Compute::Quantized`]): int8 weights, fused
//!   layer norm, attention and activations, each with a fixed order of floating-point
//!   operations, so a served model gives the same bits natively, in Node, in browsers and in
//!   workerd (candle's own CPU kernels differ by target: FMA or not, AVX or SIMD128 lanes,
//!   each platform's `exp`).
//!
//! The models call only these, so one forward pass serves both.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Module, Result, Shape, Tensor, D};
use candle_nn::VarBuilder;

use super::sasrec::Dropout;
use crate::kernels::float::{self, AttentionShape};
use crate::kernels::{ActivationRows, Int8Matrix};

/// How a loaded model computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compute {
    /// candle's ops on f32 weights (dequantized once at load): the trainer's arithmetic, so an
    /// f32 bundle scores exactly as the trained model did.
    Dequantized,
    /// edgerec's kernels (the default at the edge): int8 weights (one scale per output,
    /// quantized at load from whatever the bundle stores), activations quantized per row, fused
    /// layer norm, attention and activations. The same bits on every platform, and the fastest
    /// in wasm.
    #[default]
    Quantized,
}

/// A contiguous f32 tensor's values (custom ops read their inputs through this).
fn values<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    let all = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&all[start..end]),
        None => candle_core::bail!("{op}: the input must be contiguous"),
    }
}

/// A tensor's values as a `Vec` (weights, read once at load).
pub(crate) fn to_vec(t: &Tensor) -> Result<Vec<f32>> {
    t.flatten_all()?.to_vec1()
}

/// Layer normalisation over the last dimension: `(x − mean) / √(var + eps) · weight + bias`.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
    kernel: Option<Arc<LayerNormKernel>>,
}

impl LayerNorm {
    /// `weight` and `bias` of `size` from `vb` (initialised to 1 and 0 when training from scratch).
    pub fn load(vb: VarBuilder, size: usize, eps: f64, compute: Compute) -> Result<Self> {
        let weight = vb.get_with_hints(size, "weight", candle_nn::Init::Const(1.0))?;
        let bias = vb.get_with_hints(size, "bias", candle_nn::Init::Const(0.0))?;
        let kernel = match compute {
            Compute::Dequantized => None,
            Compute::Quantized => Some(Arc::new(LayerNormKernel {
                weight: to_vec(&weight)?,
                bias: to_vec(&bias)?,
                eps: eps as f32,
            })),
        };
        Ok(LayerNorm {
            weight,
            bias,
            eps,
            kernel,
        })
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if let Some(kernel) = &self.kernel {
            return x.contiguous()?.apply_op1_no_bwd(kernel.as_ref());
        }
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        centred
            .broadcast_div(&(var + self.eps)?.sqrt()?)?
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)
    }
}

#[derive(Debug)]
struct LayerNormKernel {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl CustomOp1 for LayerNormKernel {
    fn name(&self) -> &'static str {
        "edgerec-layer-norm"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = values(s, l, self.name())?;
        if l.shape().dims().last() != Some(&self.weight.len()) {
            candle_core::bail!(
                "layer norm of width {} on {:?}",
                self.weight.len(),
                l.shape()
            );
        }
        let mut out = vec![0f32; x.len()];
        float::layer_norm(x, &self.weight, &self.bias, self.eps, &mut out);
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }
}

/// A linear layer `x · Wᵀ + b` with candle's f32 matmul, or int8 weights (one scale per
/// output) times activations quantized per row by [`crate::kernels::int8`].
#[derive(Debug, Clone)]
pub enum Linear {
    Dense(candle_nn::Linear),
    Int8(Arc<Int8Linear>),
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Linear::Dense(linear) => linear.forward(xs),
            Linear::Int8(op) => xs.contiguous()?.apply_op1_no_bwd(op.as_ref()),
        }
    }
}

/// `vb.pp(name)`'s linear layer (`weight` `[outputs, inputs]`, `bias` `[outputs]`), as
/// `compute` says.
pub fn linear(inputs: usize, outputs: usize, vb: VarBuilder, compute: Compute) -> Result<Linear> {
    match compute {
        Compute::Dequantized => Ok(Linear::Dense(candle_nn::linear(inputs, outputs, vb)?)),
        Compute::Quantized => fused_linear(inputs, &[(outputs, vb)]),
    }
}

/// One int8 layer whose outputs are those of several linear layers over the same input, side
/// by side (e.g. attention's query, key and value: one product instead of three).
pub fn fused_linear(inputs: usize, parts: &[(usize, VarBuilder)]) -> Result<Linear> {
    let (mut weights, mut biases) = (Vec::new(), Vec::new());
    for (outputs, vb) in parts {
        weights.extend(to_vec(&vb.get((*outputs, inputs), "weight")?)?);
        biases.extend(to_vec(&vb.get(*outputs, "bias")?)?);
    }
    let outputs = biases.len();
    Ok(Linear::Int8(Arc::new(Int8Linear {
        weight: Int8Matrix::quantize(&weights, outputs, inputs),
        bias: biases,
    })))
}

#[derive(Debug)]
pub struct Int8Linear {
    weight: Int8Matrix,
    bias: Vec<f32>,
}

impl CustomOp1 for Int8Linear {
    fn name(&self) -> &'static str {
        "edgerec-int8-linear"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = values(s, l, self.name())?;
        let dims = l.shape().dims();
        let (inputs, outputs) = (self.weight.cols(), self.weight.rows());
        if dims.last() != Some(&inputs) {
            candle_core::bail!("a linear layer of {inputs} inputs on {:?}", l.shape());
        }
        let activations = ActivationRows::quantize(x, inputs);
        let mut out = vec![0f32; activations.rows() * outputs];
        self.weight.matmul(&activations, Some(&self.bias), &mut out);
        let mut shape = dims.to_vec();
        *shape.last_mut().expect("at least one dimension") = outputs;
        Ok((CpuStorage::F32(out), Shape::from(shape)))
    }
}

/// Element-wise activations as kernels.
#[derive(Debug, Clone, Copy)]
enum Activation {
    Gelu,
    Sigmoid,
}

impl CustomOp1 for Activation {
    fn name(&self) -> &'static str {
        match self {
            Activation::Gelu => "edgerec-gelu",
            Activation::Sigmoid => "edgerec-sigmoid",
        }
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let mut out = values(s, l, self.name())?.to_vec();
        match self {
            Activation::Gelu => float::gelu_in_place(&mut out),
            Activation::Sigmoid => float::sigmoid_in_place(&mut out),
        }
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }
}

/// BERT's exact (erf) GELU.
pub fn gelu(x: &Tensor, compute: Compute) -> Result<Tensor> {
    match compute {
        Compute::Dequantized => x.gelu_erf(),
        Compute::Quantized => x.contiguous()?.apply_op1_no_bwd(&Activation::Gelu),
    }
}

/// `1 / (1 + e⁻ˣ)`.
pub fn sigmoid(x: &Tensor, compute: Compute) -> Result<Tensor> {
    match compute {
        Compute::Dequantized => candle_nn::ops::sigmoid(x),
        Compute::Quantized => x.contiguous()?.apply_op1_no_bwd(&Activation::Sigmoid),
    }
}

/// Multi-head scaled dot-product attention by candle ops: `q`, `k`, `v` `[b, s, hidden]`, an
/// additive `bias` broadcast to `[b, heads, s, s]`; dropout on the attention weights when
/// training. Returns `[b, s, hidden]`.
pub fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    bias: &Tensor,
    heads: usize,
    dropout: &mut Option<&mut Dropout>,
) -> Result<Tensor> {
    let (b, s, h) = q.dims3()?;
    let dh = h / heads;
    let split = |t: &Tensor| -> Result<Tensor> {
        t.reshape((b, s, heads, dh))?.transpose(1, 2)?.contiguous()
    };
    let (q, k, v) = (split(q)?, split(k)?, split(v)?);
    let scores = (q.matmul(&k.t()?)? / (dh as f64).sqrt())?.broadcast_add(bias)?;
    // The composite softmax (max, exp, sum): it has a backward pass.
    let mut probs = candle_nn::ops::softmax(&scores, D::Minus1)?;
    if let Some(d) = dropout {
        probs = d.apply(&probs)?;
    }
    probs
        .matmul(&v)?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((b, s, h))
}

/// [`attention`] by the kernel, on the packed `qkv` `[b, s, 3 × hidden]` (query, key, value
/// of each position side by side) and `bias` `[b, 1, 1, s]` (per key) or `[b, 1, s, s]`.
pub fn attention_kernel(qkv: &Tensor, bias: &Tensor, heads: usize) -> Result<Tensor> {
    let (b, s, width) = qkv.dims3()?;
    let per_query = match bias.dims4()? {
        (bb, 1, 1, ss) if bb == b && ss == s => false,
        (bb, 1, sq, ss) if bb == b && sq == s && ss == s => true,
        dims => candle_core::bail!("attention bias {dims:?} for {b} sequences of {s}"),
    };
    let op = AttentionKernel {
        shape: AttentionShape {
            batch: b,
            seq: s,
            heads,
            head_dim: width / 3 / heads,
        },
        per_query,
    };
    qkv.contiguous()?.apply_op2_no_bwd(&bias.contiguous()?, &op)
}

struct AttentionKernel {
    shape: AttentionShape,
    per_query: bool,
}

impl CustomOp2 for AttentionKernel {
    fn name(&self) -> &'static str {
        "edgerec-attention"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (qkv, bias) = (values(s1, l1, self.name())?, values(s2, l2, self.name())?);
        let AttentionShape {
            batch,
            seq,
            heads,
            head_dim,
        } = self.shape;
        let mut out = vec![0f32; batch * seq * heads * head_dim];
        float::attention(qkv, self.shape, bias, self.per_query, &mut out);
        Ok((
            CpuStorage::F32(out),
            Shape::from((batch, seq, heads * head_dim)),
        ))
    }
}

/// Mean of `hidden` `[b, s, d]` over the positions where `mask` `[b, s]` (f32, 1 or 0) is set,
/// then each row L2-normalised when `normalize`: a sentence embedding `[b, d]`.
pub fn pool_kernel(hidden: &Tensor, mask: &Tensor, normalize: bool) -> Result<Tensor> {
    hidden
        .contiguous()?
        .apply_op2_no_bwd(&mask.contiguous()?, &PoolKernel { normalize })
}

struct PoolKernel {
    normalize: bool,
}

impl CustomOp2 for PoolKernel {
    fn name(&self) -> &'static str {
        "edgerec-mean-pool"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (hidden, mask) = (values(s1, l1, self.name())?, values(s2, l2, self.name())?);
        let (b, _, d) = l1.shape().dims3()?;
        let mut out = vec![0f32; b * d];
        float::mean_pool(hidden, mask, d, &mut out);
        if self.normalize {
            float::l2_normalize_rows(&mut out, d);
        }
        Ok((CpuStorage::F32(out), Shape::from((b, d))))
    }
}
