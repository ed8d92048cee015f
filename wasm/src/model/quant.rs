//! Post-training quantization: a per-tensor type chosen by a policy, GGUF in and out (from and
//! to byte buffers, no files), and int8 rows with per-row scales for item tables.

use std::collections::BTreeMap;
use std::io::Cursor;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Result, Tensor};
use serde::{Deserialize, Serialize};

/// The weight types a policy may name, as written in configs (`q8_0`, `q4k`, ...).
pub const WEIGHT_TYPES: [(&str, GgmlDType); 12] = [
    ("f32", GgmlDType::F32),
    ("f16", GgmlDType::F16),
    ("q8_0", GgmlDType::Q8_0),
    ("q5_0", GgmlDType::Q5_0),
    ("q5_1", GgmlDType::Q5_1),
    ("q4_0", GgmlDType::Q4_0),
    ("q4_1", GgmlDType::Q4_1),
    ("q6k", GgmlDType::Q6K),
    ("q5k", GgmlDType::Q5K),
    ("q4k", GgmlDType::Q4K),
    ("q3k", GgmlDType::Q3K),
    ("q2k", GgmlDType::Q2K),
];

pub fn parse_weight_type(name: &str) -> std::result::Result<GgmlDType, String> {
    WEIGHT_TYPES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let known: Vec<&str> = WEIGHT_TYPES.iter().map(|(n, _)| *n).collect();
            format!(
                "unknown weight type `{name}`; expected one of {}",
                known.join(", ")
            )
        })
}

pub fn weight_type_name(dtype: GgmlDType) -> &'static str {
    WEIGHT_TYPES
        .iter()
        .find(|(_, t)| *t == dtype)
        .map(|(n, _)| *n)
        .unwrap_or("other")
}

/// The type a block format falls back to when a row is not a whole number of its blocks
/// (K-quants need rows of 256; the 32-blocks need 32): the nearest 32-block type, then f16.
fn fallback(dtype: GgmlDType) -> GgmlDType {
    match dtype {
        GgmlDType::Q2K | GgmlDType::Q3K | GgmlDType::Q4K => GgmlDType::Q4_0,
        GgmlDType::Q5K => GgmlDType::Q5_0,
        GgmlDType::Q6K | GgmlDType::Q8K => GgmlDType::Q8_0,
        _ => GgmlDType::F16,
    }
}

/// One rule of a policy: tensors whose name matches `tensors` (`*` matches any run of
/// characters) get `dtype`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantRule {
    pub tensors: String,
    pub dtype: String,
}

/// Which type each weight gets. Vectors (biases, layer norms) always stay f32.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantPolicy {
    pub name: String,
    /// The type of matrices no rule names.
    pub default: String,
    /// First match wins.
    #[serde(default)]
    pub rules: Vec<QuantRule>,
    /// The item table: `i8` (symmetric, one f32 scale per row) or `f32`.
    #[serde(default = "default_item_table")]
    pub item_table: String,
}

fn default_item_table() -> String {
    "i8".to_string()
}

impl QuantPolicy {
    /// The built-in policies: `f32` (reference), `q8` (Q8_0 + int8 items), `q4` (Q4_K where
    /// rows allow, else Q4_0; int8 items).
    pub fn builtin(name: &str) -> Option<QuantPolicy> {
        let (default, items) = match name {
            "f32" => ("f32", "f32"),
            "f16" => ("f16", "i8"),
            "q8" => ("q8_0", "i8"),
            "q6" => ("q6k", "i8"),
            "q5" => ("q5k", "i8"),
            "q4" => ("q4k", "i8"),
            _ => return None,
        };
        Some(QuantPolicy {
            name: name.to_string(),
            default: default.to_string(),
            rules: Vec::new(),
            item_table: items.to_string(),
        })
    }

    /// Checks every type name and the item-table setting.
    pub fn validate(&self) -> std::result::Result<(), String> {
        parse_weight_type(&self.default)?;
        for rule in &self.rules {
            parse_weight_type(&rule.dtype)?;
        }
        if !["i8", "f32"].contains(&self.item_table.as_str()) {
            return Err(format!(
                "item_table must be `i8` or `f32`, found `{}`",
                self.item_table
            ));
        }
        Ok(())
    }

    /// The type `name` (of `shape`) is stored in.
    pub fn dtype_for(&self, name: &str, shape: &[usize]) -> std::result::Result<GgmlDType, String> {
        if shape.len() < 2 {
            return Ok(GgmlDType::F32);
        }
        let wanted = self
            .rules
            .iter()
            .find(|r| glob_match(&r.tensors, name))
            .map(|r| r.dtype.as_str())
            .unwrap_or(&self.default);
        let mut dtype = parse_weight_type(wanted)?;
        let row = *shape.last().expect("rank >= 2");
        while !row.is_multiple_of(dtype.block_size()) {
            dtype = fallback(dtype);
        }
        Ok(dtype)
    }
}

/// `*` matches any run of characters; everything else literally.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob_match(rest, &tail[i..]))
        }
    }
}

/// One tensor as stored: its type and sizes before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: String,
    pub bytes: usize,
    pub f32_bytes: usize,
}

/// Quantizes `tensors` by `policy` into a GGUF image (weights sorted by name).
pub fn quantize_to_gguf(
    tensors: &BTreeMap<String, Tensor>,
    policy: &QuantPolicy,
) -> Result<(Vec<u8>, Vec<StoredTensor>)> {
    let mut stored = Vec::with_capacity(tensors.len());
    let mut quantized = Vec::with_capacity(tensors.len());
    for (name, tensor) in tensors {
        let dims = tensor.dims().to_vec();
        let dtype = policy
            .dtype_for(name, &dims)
            .map_err(candle_core::Error::Msg)?;
        // candle quantizes the whole storage behind a tensor, whatever its layout: a view (a
        // narrowed table) is copied to storage of its own first.
        let owned = Tensor::from_vec(
            tensor
                .to_dtype(candle_core::DType::F32)?
                .flatten_all()?
                .to_vec1::<f32>()?,
            dims.as_slice(),
            tensor.device(),
        )?;
        let q = QTensor::quantize(&owned, dtype)?;
        stored.push(StoredTensor {
            name: name.clone(),
            shape: dims,
            dtype: weight_type_name(dtype).to_string(),
            bytes: q.storage_size_in_bytes(),
            f32_bytes: tensor.elem_count() * 4,
        });
        quantized.push((name.as_str(), q));
    }
    let refs: Vec<(&str, &QTensor)> = quantized.iter().map(|(n, q)| (*n, q)).collect();
    let mut out = Cursor::new(Vec::new());
    gguf_file::write(&mut out, &[], &refs)?;
    Ok((out.into_inner(), stored))
}

/// Reads every tensor of a GGUF image (kept quantized).
pub fn read_gguf(bytes: &[u8]) -> Result<BTreeMap<String, QTensor>> {
    // candle's reader trusts the metadata (it divides by `general.alignment`, which may be 0).
    // The exporter writes none, so any is refused before candle reads the image.
    if bytes.len() >= 24 && bytes[..4] == *b"GGUF" {
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let entries = match word(4) {
            1 => u64::from(word(12)),
            _ => u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes")),
        };
        if entries != 0 {
            candle_core::bail!(
                "the image carries {entries} metadata entries; edgerec weights have none"
            );
        }
    }
    let mut reader = Cursor::new(bytes);
    let content = gguf_file::Content::read(&mut reader)?;
    // candle multiplies the dimensions unchecked: bound every tensor by the image first.
    for (name, info) in &content.tensor_infos {
        let elems = info
            .shape
            .dims()
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .filter(|&n| n <= bytes.len().saturating_mul(8))
            .ok_or_else(|| {
                candle_core::Error::Msg(format!(
                    "tensor `{name}` has shape {:?}, too large for a {}-byte image",
                    info.shape.dims(),
                    bytes.len()
                ))
            })?;
        // An empty tensor has no data, and candle would view the (dangling) pointer of its empty
        // buffer as blocks of the tensor's type, which need not be aligned: undefined behaviour.
        if elems == 0 {
            candle_core::bail!(
                "tensor `{name}` has shape {:?}, which holds no elements",
                info.shape.dims()
            );
        }
        if !elems.is_multiple_of(info.ggml_dtype.block_size()) {
            candle_core::bail!("tensor `{name}` is not a whole number of its type's blocks");
        }
    }
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            Ok((
                name.clone(),
                content.tensor(&mut reader, name, &Device::Cpu)?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GGUF v3 image holding one f32 tensor named `t` of the given dimensions (no data).
    fn image(dims: &[u64]) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&1u64.to_le_bytes()); // tensors
        out.extend_from_slice(&0u64.to_le_bytes()); // metadata entries
        out.extend_from_slice(&1u64.to_le_bytes());
        out.push(b't');
        out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
        for d in dims {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.extend_from_slice(&0u32.to_le_bytes()); // f32
        out.extend_from_slice(&0u64.to_le_bytes()); // offset
        out.resize(out.len().next_multiple_of(32), 0);
        out
    }

    /// Found by `cargo fuzz run model_bundle`: a tensor with a zero dimension reached candle,
    /// which views the empty buffer's dangling pointer as f32 blocks (a failed alignment check,
    /// an abort, in debug builds).
    #[test]
    fn an_empty_tensor_is_refused_before_candle_reads_it() {
        let err = read_gguf(&image(&[4, 0])).unwrap_err().to_string();
        assert!(err.contains("holds no elements"), "{err}");
    }

    /// Found by cutting BERT's position table to the first 64 rows: candle quantized the view's
    /// whole storage (512 rows) and failed on the size.
    #[test]
    fn a_view_of_a_larger_tensor_is_quantized_as_itself() {
        let full = Tensor::arange(0f32, 8.0 * 32.0, &Device::Cpu)
            .unwrap()
            .reshape((8, 32))
            .unwrap();
        let rows = full.narrow(0, 2, 3).unwrap();
        let tensors = BTreeMap::from([("t".to_string(), rows.clone())]);
        let policy = QuantPolicy::builtin("f32").unwrap();
        let (image, stored) = quantize_to_gguf(&tensors, &policy).unwrap();
        assert_eq!(stored[0].shape, vec![3, 32]);
        let back = read_gguf(&image).unwrap()["t"]
            .dequantize(&Device::Cpu)
            .unwrap();
        assert_eq!(
            back.to_vec2::<f32>().unwrap(),
            rows.to_vec2::<f32>().unwrap()
        );
    }
}
