//! A BERT text encoder (post-LN, GELU-erf, absolute positions), as in sentence-transformers'
//! all-MiniLM-L6-v2: token ids -> hidden states -> mean-pooled, L2-normalised sentence embedding.
//!
//! Weights load through [`candle_nn::VarBuilder`] under the Hugging Face `BertModel` tensor names
//! (`embeddings.word_embeddings.weight`, `encoder.layer.{i}.attention.self.query.weight`, ...),
//! so the same code reads the pretrained file natively (`VarBuilder::from_mmaped_safetensors`),
//! a fine-tuned checkpoint, or bytes fetched at the edge (`VarBuilder::from_buffered_safetensors`).
//!
//! The ops are [`super::ops`]': candle's differentiable ones when training (so the trainer
//! fine-tunes exactly the code that serves) or edgerec's kernels when serving with
//! [`Compute::Quantized`] (query, key and value then run as one int8 product). Dropout is left
//! out: candle's CPU generator cannot be seeded, and training must be reproducible.
//!
//! [`BertEncoder::forward_layers`] runs only layers `[a, b)`, so a trainer can compute the frozen
//! bottom layers once, cache their output, and train the top layers on it.

use std::collections::HashMap;
use std::ops::Range;

use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::{Embedding, VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

use super::ops::{self, fused_linear, linear, Compute, LayerNorm, Linear};

/// The subset of a Hugging Face BERT `config.json` this encoder needs (unknown keys are ignored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab_size")]
    pub type_vocab_size: usize,
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f64,
    /// Only `gelu` (the exact, erf-based GELU, which is what BERT's "gelu" means) is supported.
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
}

fn default_type_vocab_size() -> usize {
    2
}
fn default_layer_norm_eps() -> f64 {
    1e-12
}
fn default_hidden_act() -> String {
    "gelu".to_string()
}

impl BertConfig {
    /// all-MiniLM-L6-v2: 6 layers, hidden 384, 12 heads, intermediate 1536, uncased vocab 30,522.
    pub fn minilm_l6() -> Self {
        Self {
            vocab_size: 30522,
            hidden_size: 384,
            num_hidden_layers: 6,
            num_attention_heads: 12,
            intermediate_size: 1536,
            max_position_embeddings: 512,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            hidden_act: "gelu".to_string(),
        }
    }

    pub fn from_json(text: &str) -> std::result::Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Checks what the encoder needs of the configuration (activation, heads dividing hidden).
    pub fn check(&self) -> Result<()> {
        if self.hidden_act != "gelu" {
            candle_core::bail!(
                "unsupported hidden_act `{}`: this encoder implements BERT's exact (erf) `gelu` only",
                self.hidden_act
            );
        }
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            candle_core::bail!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size,
                self.num_attention_heads
            );
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Embeddings {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    norm: LayerNorm,
}

impl Embeddings {
    fn load(vb: VarBuilder, c: &BertConfig, compute: Compute) -> Result<Self> {
        let table = |name: &str, rows: usize| -> Result<Embedding> {
            let weights = vb.pp(name).get((rows, c.hidden_size), "weight")?;
            Ok(Embedding::new(weights, c.hidden_size))
        };
        Ok(Self {
            word: table("word_embeddings", c.vocab_size)?,
            position: table("position_embeddings", c.max_position_embeddings)?,
            token_type: table("token_type_embeddings", c.type_vocab_size)?,
            norm: LayerNorm::load(vb.pp("LayerNorm"), c.hidden_size, c.layer_norm_eps, compute)?,
        })
    }

    fn forward(&self, input_ids: &Tensor, token_type_ids: Option<&Tensor>) -> Result<Tensor> {
        let (_, seq_len) = input_ids.dims2()?;
        let positions = Tensor::arange(0u32, seq_len as u32, input_ids.device())?;
        let mut x = self
            .word
            .forward(input_ids)?
            .broadcast_add(&self.position.forward(&positions)?)?;
        x = match token_type_ids {
            Some(types) => (x + self.token_type.forward(types)?)?,
            // Single-sentence input: every token is of type 0.
            None => x.broadcast_add(&self.token_type.embeddings().get(0)?)?,
        };
        self.norm.forward(&x)
    }
}

/// Attention's query, key and value projections: three layers (the Hugging Face names, trained
/// one by one) or, for the kernels, one product with their outputs side by side.
#[derive(Debug, Clone)]
enum Projections {
    Separate {
        query: Linear,
        key: Linear,
        value: Linear,
    },
    Fused(Linear),
}

#[derive(Debug, Clone)]
struct Layer {
    projections: Projections,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
    heads: usize,
    compute: Compute,
}

impl Layer {
    fn load(vb: VarBuilder, c: &BertConfig, compute: Compute) -> Result<Self> {
        let h = c.hidden_size;
        let attention = vb.pp("attention");
        let own = attention.pp("self");
        let projections = match compute {
            Compute::Dequantized => Projections::Separate {
                query: linear(h, h, own.pp("query"), compute)?,
                key: linear(h, h, own.pp("key"), compute)?,
                value: linear(h, h, own.pp("value"), compute)?,
            },
            Compute::Quantized => Projections::Fused(fused_linear(
                h,
                &[
                    (h, own.pp("query")),
                    (h, own.pp("key")),
                    (h, own.pp("value")),
                ],
            )?),
        };
        let eps = c.layer_norm_eps;
        Ok(Self {
            projections,
            attention_out: linear(h, h, attention.pp("output").pp("dense"), compute)?,
            attention_norm: LayerNorm::load(
                attention.pp("output").pp("LayerNorm"),
                h,
                eps,
                compute,
            )?,
            intermediate: linear(
                h,
                c.intermediate_size,
                vb.pp("intermediate").pp("dense"),
                compute,
            )?,
            output: linear(c.intermediate_size, h, vb.pp("output").pp("dense"), compute)?,
            output_norm: LayerNorm::load(vb.pp("output").pp("LayerNorm"), h, eps, compute)?,
            heads: c.num_attention_heads,
            compute,
        })
    }

    /// `x`: (batch, seq, hidden); `bias`: (batch, 1, 1, seq), 0 for real tokens, very negative for padding.
    fn forward(&self, x: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let context = match &self.projections {
            Projections::Separate { query, key, value } => ops::attention(
                &query.forward(x)?,
                &key.forward(x)?,
                &value.forward(x)?,
                bias,
                self.heads,
                &mut None,
            )?,
            Projections::Fused(qkv) => ops::attention_kernel(&qkv.forward(x)?, bias, self.heads)?,
        };
        let attended = self
            .attention_norm
            .forward(&(self.attention_out.forward(&context)? + x)?)?;
        let inner = ops::gelu(&self.intermediate.forward(&attended)?, self.compute)?;
        self.output_norm
            .forward(&(self.output.forward(&inner)? + attended)?)
    }
}

/// The encoder: embeddings and `num_hidden_layers` transformer layers (no pooler: sentence
/// embeddings are mean-pooled, as sentence-transformers does).
#[derive(Debug, Clone)]
pub struct BertEncoder {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    config: BertConfig,
    compute: Compute,
}

/// Added to the attention scores of padding tokens. Large enough that exp() underflows to 0,
/// finite so that no inf - inf arises anywhere.
const MASKED_SCORE: f64 = -1e9;

impl BertEncoder {
    /// Loads from a `VarBuilder` rooted at the model's tensors (names without a `bert.` prefix;
    /// one with it, as in `BertForSequenceClassification` files, is accepted too).
    pub fn load(vb: VarBuilder, config: &BertConfig) -> Result<Self> {
        Self::load_with(vb, config, Compute::Dequantized)
    }

    /// As [`Self::load`], computing as `compute` says (the trainer's candle ops, or the kernels).
    pub fn load_with(vb: VarBuilder, config: &BertConfig, compute: Compute) -> Result<Self> {
        config.check()?;
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::load(vb.pp(format!("encoder.layer.{i}")), config, compute))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embeddings: Embeddings::load(vb.pp("embeddings"), config, compute)?,
            layers,
            config: config.clone(),
            compute,
        })
    }

    /// Loads from safetensors bytes (e.g. fetched by a worker), F32 on the CPU.
    pub fn from_safetensors_bytes(bytes: Vec<u8>, config: &BertConfig) -> Result<Self> {
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &Device::Cpu)?;
        Self::load(vb, config)
    }

    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    pub fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    /// Token embeddings (word + position + type, layer-normalised): the input of layer 0.
    /// `input_ids`: (batch, seq) u32; `token_type_ids`: same shape, or `None` for all zeros.
    pub fn embed(&self, input_ids: &Tensor, token_type_ids: Option<&Tensor>) -> Result<Tensor> {
        let (_, seq_len) = input_ids.dims2()?;
        if seq_len > self.config.max_position_embeddings {
            candle_core::bail!(
                "sequence of {seq_len} tokens is longer than max_position_embeddings {}",
                self.config.max_position_embeddings
            );
        }
        self.embeddings.forward(input_ids, token_type_ids)
    }

    /// The additive attention bias for a (batch, seq) mask of 1 (token) / 0 (padding), any dtype:
    /// shape (batch, 1, 1, seq), 0 where attended.
    pub fn attention_bias(attention_mask: &Tensor) -> Result<Tensor> {
        let (b, s) = attention_mask.dims2()?;
        let mask = attention_mask.to_dtype(DType::F32)?;
        ((mask - 1.0)? * -MASKED_SCORE)?.reshape((b, 1, 1, s))
    }

    /// Runs layers `[layers.start, layers.end)` on `hidden` (batch, seq, hidden), the output of
    /// the layer before `layers.start` (or of [`Self::embed`]).
    pub fn forward_layers(
        &self,
        hidden: &Tensor,
        attention_bias: &Tensor,
        layers: Range<usize>,
    ) -> Result<Tensor> {
        if layers.start > layers.end || layers.end > self.layers.len() {
            candle_core::bail!(
                "layer range {layers:?} is not within the encoder's {} layers",
                self.layers.len()
            );
        }
        let mut x = hidden.clone();
        for layer in &self.layers[layers] {
            x = layer.forward(&x, attention_bias)?;
        }
        Ok(x)
    }

    /// The last hidden states, (batch, seq, hidden), for (batch, seq) `input_ids` (u32) and
    /// `attention_mask` (1 for tokens, 0 for padding).
    pub fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        let bias = Self::attention_bias(attention_mask)?;
        let x = self.embed(input_ids, None)?;
        self.forward_layers(&x, &bias, 0..self.layers.len())
    }

    /// The sentence embedding, (batch, hidden): the mean of the last hidden states over real
    /// tokens, L2-normalised when `normalize` (what all-MiniLM-L6-v2 is trained for).
    pub fn embed_sentences(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        normalize: bool,
    ) -> Result<Tensor> {
        let hidden = self.forward(input_ids, attention_mask)?;
        if self.compute == Compute::Quantized {
            let mask = attention_mask.to_dtype(DType::F32)?;
            return ops::pool_kernel(&hidden, &mask, normalize);
        }
        let pooled = mean_pool(&hidden, attention_mask)?;
        if normalize {
            l2_normalize(&pooled)
        } else {
            Ok(pooled)
        }
    }
}

/// Mean of `hidden` (batch, seq, hidden) over the positions where `attention_mask` (batch, seq) is 1.
pub fn mean_pool(hidden: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
    let mask = attention_mask
        .to_dtype(hidden.dtype())?
        .unsqueeze(D::Minus1)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    // A row with no tokens pools to zeros rather than NaN.
    let counts = mask.sum(1)?.clamp(1e-9, f64::INFINITY)?;
    summed.broadcast_div(&counts)
}

/// Each row of `x` (batch, dim) divided by its L2 norm (rows of zeros stay zeros).
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norm = x
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12, f64::INFINITY)?;
    x.broadcast_div(&norm)
}

/// Freshly initialised weights for `config` under the Hugging Face names, as BERT initialises
/// them (normal with standard deviation `std`, 0.02 in BERT; biases 0; layer-norm scales 1), from
/// a seeded generator: candle's own CPU generator cannot be seeded, and tests and small trainings
/// must be reproducible.
pub fn random_weights(config: &BertConfig, std: f64, seed: u64) -> Result<HashMap<String, Tensor>> {
    // Loading through a VarMap records every name and shape the encoder asks for.
    let map = VarMap::new();
    BertEncoder::load(
        VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu),
        config,
    )?;
    let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut uniform = move || {
        // splitmix64, then the top 53 bits as a float in (0, 1).
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let vars = map
        .data()
        .lock()
        .expect("the VarMap lock is never poisoned here");
    let mut names: Vec<&String> = vars.keys().collect();
    // A fixed order, so that the seed alone decides every value.
    names.sort();
    let mut out = HashMap::new();
    for name in names {
        let shape = vars[name].shape().clone();
        let n = shape.elem_count();
        let values: Vec<f32> = if name.ends_with("LayerNorm.weight") {
            vec![1.0; n]
        } else if name.ends_with("bias") {
            vec![0.0; n]
        } else {
            // Box-Muller.
            (0..n)
                .map(|_| {
                    let (u, v) = (uniform(), uniform());
                    (std * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
                })
                .collect()
        };
        out.insert(name.clone(), Tensor::from_vec(values, shape, &Device::Cpu)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> BertConfig {
        BertConfig {
            vocab_size: 50,
            hidden_size: 16,
            num_hidden_layers: 3,
            num_attention_heads: 4,
            intermediate_size: 32,
            max_position_embeddings: 24,
            ..BertConfig::minilm_l6()
        }
    }

    fn encoder() -> BertEncoder {
        // A larger spread than BERT's 0.02, so that attention is far from uniform in a tiny model.
        let weights = random_weights(&tiny(), 0.3, 7).unwrap();
        let vb = VarBuilder::from_tensors(weights, DType::F32, &Device::Cpu);
        BertEncoder::load(vb, &tiny()).unwrap()
    }

    fn batch() -> (Tensor, Tensor) {
        let ids = Tensor::new(&[[2u32, 7, 9, 3, 0], [2, 5, 3, 0, 0]], &Device::Cpu).unwrap();
        let mask = ids.ne(0u32).unwrap().to_dtype(DType::U32).unwrap();
        (ids, mask)
    }

    #[test]
    fn layer_ranges_compose() {
        let enc = encoder();
        let (ids, mask) = batch();
        let whole = enc.forward(&ids, &mask).unwrap();
        let bias = BertEncoder::attention_bias(&mask).unwrap();
        let bottom = enc
            .forward_layers(&enc.embed(&ids, None).unwrap(), &bias, 0..2)
            .unwrap();
        let top = enc.forward_layers(&bottom, &bias, 2..3).unwrap();
        let diff = (whole - top).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-6);
        assert!(enc.forward_layers(&bottom, &bias, 2..4).is_err());
    }

    #[test]
    fn padding_does_not_change_the_embedding() {
        let enc = encoder();
        let (ids, mask) = batch();
        let padded = enc.embed_sentences(&ids, &mask, true).unwrap();
        let short_ids = Tensor::new(&[[2u32, 5, 3]], &Device::Cpu).unwrap();
        let short_mask = Tensor::new(&[[1u32, 1, 1]], &Device::Cpu).unwrap();
        let alone = enc.embed_sentences(&short_ids, &short_mask, true).unwrap();
        let diff = (padded.get(1).unwrap() - alone.get(0).unwrap())
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
        let norms = padded
            .sqr()
            .unwrap()
            .sum(1)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-5));
    }

    #[test]
    fn gradients_reach_every_layer() {
        let mut map = VarMap::new();
        let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
        let enc = BertEncoder::load(vb, &tiny()).unwrap();
        for (name, value) in random_weights(&tiny(), 0.3, 7).unwrap() {
            map.set_one(name, value).unwrap();
        }
        let (ids, mask) = batch();
        let loss = enc
            .embed_sentences(&ids, &mask, false)
            .unwrap()
            .sum_all()
            .unwrap();
        let grads = loss.backward().unwrap();
        let vars = map.data().lock().unwrap();
        for name in [
            "embeddings.word_embeddings.weight",
            "embeddings.LayerNorm.weight",
            "encoder.layer.0.attention.self.query.weight",
            "encoder.layer.2.output.LayerNorm.bias",
        ] {
            assert!(
                grads.get(vars[name].as_tensor()).is_some(),
                "no gradient for {name}"
            );
        }
    }

    #[test]
    fn random_weights_are_seeded() {
        let a = random_weights(&tiny(), 0.02, 1).unwrap();
        let b = random_weights(&tiny(), 0.02, 1).unwrap();
        let c = random_weights(&tiny(), 0.02, 2).unwrap();
        let name = "encoder.layer.1.attention.self.key.weight";
        let values =
            |m: &HashMap<String, Tensor>| m[name].flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(values(&a), values(&b));
        assert_ne!(values(&a), values(&c));
    }

    #[test]
    fn unsupported_activation_is_named() {
        let config = BertConfig {
            hidden_act: "relu".into(),
            ..tiny()
        };
        let map = VarMap::new();
        let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
        let err = BertEncoder::load(vb, &config).unwrap_err().to_string();
        assert!(err.contains("relu"), "{err}");
    }
}
