//! The `weights` section of a model bundle (a GGUF image, each tensor in its policy's type),
//! read and checked once for every model kind: each tensor the configuration needs present
//! with its shape, no other tensor, the recorded count, finite values. Then served to a
//! `VarBuilder` as f32 (the kernels of `Compute::Quantized` quantize the linear layers' weights
//! to int8 rows from these).

use std::collections::BTreeMap;
use std::sync::Arc;

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::VarBuilder;

use super::quant::read_gguf;
use crate::bundle::Bundle;
use crate::error::BundleError;

/// A model bundle's `model_params` as `P`, after checking that the bundle holds a `kind`
/// model; with the policy (every model bundle stores one) checked too.
pub fn model_params<P: serde::de::DeserializeOwned>(
    bundle: &Bundle<'_>,
    kind: &str,
    policy: impl FnOnce(&P) -> &super::quant::QuantPolicy,
) -> Result<P, BundleError> {
    let m = &bundle.manifest;
    if m.model_kind != kind {
        return Err(BundleError::UnsupportedModel {
            found: m.model_kind.clone(),
        });
    }
    let params: P = serde_json::from_value(m.model_params.clone())
        .map_err(|e| BundleError::InvalidManifest(format!("model_params: {e}")))?;
    policy(&params)
        .validate()
        .map_err(|e| BundleError::InvalidManifest(format!("model_params.policy: {e}")))?;
    Ok(params)
}

/// The section that holds the weights.
pub const WEIGHTS_SECTION: &str = "weights";

/// Records the shapes a model asks its `VarBuilder` for without allocating them: every request
/// gets a zero-stride view of a single zero.
struct ShapeRecorder(Arc<std::sync::Mutex<BTreeMap<String, Vec<usize>>>>);

impl SimpleBackend for ShapeRecorder {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let dims = shape.dims().to_vec();
        if dims
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .is_none()
        {
            candle_core::bail!("tensor `{name}` would have shape {dims:?}, too large to address");
        }
        self.0
            .lock()
            .expect("shape recorder lock")
            .insert(name.to_string(), dims);
        Tensor::zeros((), dtype, dev)?.broadcast_as(shape)
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
        candle_core::bail!("tensor `{name}` requested without a shape")
    }

    fn contains_tensor(&self, _: &str) -> bool {
        false
    }
}

/// The tensors (names and shapes) that `build` asks a `VarBuilder` for. Allocates no weights,
/// so a configuration with huge dimensions costs nothing before it is compared with the weights.
pub fn expected_shapes(
    build: impl FnOnce(VarBuilder) -> candle_core::Result<()>,
) -> candle_core::Result<BTreeMap<String, Vec<usize>>> {
    let shapes = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    let recorder = Box::new(ShapeRecorder(shapes.clone()));
    build(VarBuilder::from_backend(recorder, DType::F32, Device::Cpu))?;
    let shapes = std::mem::take(&mut *shapes.lock().expect("shape recorder lock"));
    Ok(shapes)
}

/// A bundle's checked weights.
pub struct CheckedWeights {
    /// Every tensor dequantized to f32: made once for the value check, then served.
    dense: BTreeMap<String, Tensor>,
}

impl CheckedWeights {
    /// Reads the `weights` section and checks it against `expected` (from [`expected_shapes`])
    /// and the manifest's `counts.tensors`.
    pub fn read(
        bundle: &Bundle<'_>,
        expected: &BTreeMap<String, Vec<usize>>,
    ) -> Result<Self, BundleError> {
        let mismatch = BundleError::ManifestMismatch;
        let tensors = read_gguf(bundle.section(WEIGHTS_SECTION)?).map_err(|e| {
            BundleError::InvalidSection {
                name: WEIGHTS_SECTION.into(),
                problem: format!("not a readable GGUF image: {e}"),
            }
        })?;
        for (name, shape) in expected {
            match tensors.get(name) {
                None => {
                    return Err(mismatch(format!(
                        "tensor `{name}` is missing from the weights"
                    )))
                }
                Some(t) if t.shape().dims() != shape.as_slice() => {
                    return Err(mismatch(format!(
                        "tensor `{name}` has shape {:?}, the configuration needs {shape:?}",
                        t.shape().dims()
                    )))
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = tensors.keys().find(|n| !expected.contains_key(*n)) {
            return Err(mismatch(format!(
                "the weights hold tensor `{extra}`, which the configuration does not use"
            )));
        }
        let counted = bundle.count("tensors")?;
        if tensors.len() as u64 != counted {
            return Err(mismatch(format!(
                "counts.tensors is {counted} but the weights hold {}",
                tensors.len()
            )));
        }
        let mut dense = BTreeMap::new();
        for (name, q) in &tensors {
            let tensor = q
                .dequantize(&Device::Cpu)
                .map_err(|e| mismatch(format!("tensor `{name}`: {e}")))?;
            let values: Vec<f32> = tensor
                .flatten_all()
                .and_then(|t| t.to_vec1())
                .map_err(|e| mismatch(format!("tensor `{name}`: {e}")))?;
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                return Err(BundleError::OutOfRange {
                    section: WEIGHTS_SECTION.into(),
                    problem: format!("tensor `{name}` holds {v}"),
                });
            }
            dense.insert(name.clone(), tensor);
        }
        Ok(Self { dense })
    }

    /// A `VarBuilder` serving every tensor as f32 (the dequantized copies, shapes checked).
    pub fn var_builder(&self) -> VarBuilder<'static> {
        VarBuilder::from_backend(Box::new(self.backend()), DType::F32, Device::Cpu)
    }

    fn backend(&self) -> DenseBackend {
        DenseBackend {
            tensors: self.dense.clone(),
        }
    }
}

/// Serves the dequantized weights to a `VarBuilder`, checking each tensor's shape (so a
/// manifest that does not match the weights fails with the tensor's name).
struct DenseBackend {
    tensors: BTreeMap<String, Tensor>,
}

impl SimpleBackend for DenseBackend {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let tensor = self.get_unchecked(name, dtype, dev)?;
        if tensor.shape() != &shape {
            candle_core::bail!(
                "tensor `{name}` has shape {:?}, the configuration needs {:?}",
                tensor.dims(),
                shape.dims()
            );
        }
        Ok(tensor)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let tensor = self.tensors.get(name).ok_or_else(|| {
            candle_core::Error::Msg(format!("tensor `{name}` is missing from the weights"))
        })?;
        tensor.to_device(dev)?.to_dtype(dtype)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }
}
