//! The text encoder in a bundle: export (the trainer) and loading (the edge).
//!
//! Sections of a `text-encoder` bundle:
//!
//! | section     | encoding | content                                                            |
//! |-------------|----------|--------------------------------------------------------------------|
//! | `weights`   | `gguf`   | GGUF v2: every encoder tensor (Hugging Face names), each in its policy's type |
//! | `tokenizer` | `json`   | the Hugging Face `tokenizer.json` (WordPiece), possibly vocabulary-trimmed |
//!
//! The manifest's `model_params` hold `config` (a [`BertConfig`]), `policy` (the
//! [`QuantPolicy`] the weights were stored with), `max_len` (tokens per text, special tokens
//! included), `pooling` (`mean`) and `normalize` (L2-normalised sentence embeddings); `counts`
//! hold `vocab`, `tensors` and `layers`.
//!
//! This loader does not tokenize: it checks that the tokenizer's vocabulary is the one the weights
//! were made for. Text in, vector out is [`super::text::TextEmbedder`] (feature `text`, which adds
//! the `tokenizers` crate), whose tokenizer settings the trainer shares.

use std::collections::BTreeMap;

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::bert::{BertConfig, BertEncoder};
use super::ops::Compute;
use super::quant::{quantize_to_gguf, QuantPolicy, StoredTensor};
use super::weights::{expected_shapes, model_params, CheckedWeights, WEIGHTS_SECTION};
use crate::bundle::{Bundle, BundleWriter};
use crate::error::BundleError;

pub const TEXT_ENCODER_KIND: &str = crate::bundle::ModelKind::TextEncoder.as_str();
pub const TOKENIZER_SECTION: &str = "tokenizer";
/// The only pooling this encoder does (as sentence-transformers' all-MiniLM-L6-v2).
pub const MEAN_POOLING: &str = "mean";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextEncoderParams {
    pub config: BertConfig,
    pub policy: QuantPolicy,
    pub max_len: usize,
    pub pooling: String,
    pub normalize: bool,
}

/// What the trainer hands over to make a bundle.
pub struct TextExportParts<'a> {
    pub config: &'a BertConfig,
    /// Every encoder tensor by its Hugging Face name (no `bert.` prefix, no pooler).
    pub weights: &'a BTreeMap<String, Tensor>,
    /// The `tokenizer.json` bytes.
    pub tokenizer_json: &'a [u8],
    pub max_len: usize,
}

/// The number of entries of a `tokenizer.json`'s `model.vocab` map, after checking that its
/// ids are exactly `0..n` (each once).
pub fn tokenizer_vocab_size(json: &[u8]) -> Result<usize, String> {
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| format!("not JSON: {e}"))?;
    let vocab = value
        .get("model")
        .and_then(|m| m.get("vocab"))
        .and_then(|v| v.as_object())
        .ok_or("has no `model.vocab` object (a WordPiece tokenizer's token -> id map)")?;
    let mut seen = vec![false; vocab.len()];
    for (token, id) in vocab {
        let id = id
            .as_u64()
            .ok_or_else(|| format!("token {token:?} has id {id}, not a whole number"))?;
        match seen.get_mut(id as usize) {
            Some(slot) if !*slot => *slot = true,
            Some(_) => return Err(format!("id {id} is given to more than one token")),
            None => {
                return Err(format!(
                    "token {token:?} has id {id}, outside 0..{} for a vocabulary of {} tokens",
                    vocab.len(),
                    vocab.len()
                ))
            }
        }
    }
    Ok(vocab.len())
}

/// The tensors (names and shapes) an encoder of `config` reads.
pub fn encoder_shapes(config: &BertConfig) -> candle_core::Result<BTreeMap<String, Vec<usize>>> {
    expected_shapes(|vb| BertEncoder::load(vb, config).map(drop))
}

/// The number of values an encoder of `config` holds, or `None` if it overflows.
fn parameter_count(c: &BertConfig) -> Option<usize> {
    let (h, i) = (c.hidden_size, c.intermediate_size);
    let tables = c
        .vocab_size
        .checked_add(c.max_position_embeddings)?
        .checked_add(c.type_vocab_size)?
        .checked_add(2)?
        .checked_mul(h)?;
    let per_layer = h
        .checked_mul(h)?
        .checked_mul(4)?
        .checked_add(h.checked_mul(i)?.checked_mul(2)?)?
        .checked_add(h.checked_mul(9)?)?
        .checked_add(i)?;
    tables.checked_add(per_layer.checked_mul(c.num_hidden_layers)?)
}

/// Quantizes the encoder by `policy` into a bundle writer (the caller adds metrics and lineage).
/// Returns what each tensor became.
pub fn export_text_encoder(
    parts: &TextExportParts<'_>,
    policy: &QuantPolicy,
    created_at: String,
) -> candle_core::Result<(BundleWriter, Vec<StoredTensor>)> {
    policy.validate().map_err(candle_core::Error::Msg)?;
    parts.config.check()?;
    let vocab = tokenizer_vocab_size(parts.tokenizer_json)
        .map_err(|e| candle_core::Error::Msg(format!("tokenizer: {e}")))?;
    if vocab != parts.config.vocab_size {
        candle_core::bail!(
            "the tokenizer has {vocab} tokens but the configuration's vocab_size is {}",
            parts.config.vocab_size
        );
    }
    let expected = encoder_shapes(parts.config)?;
    for (name, shape) in &expected {
        match parts.weights.get(name) {
            None => candle_core::bail!("the encoder's weights have no tensor `{name}`"),
            Some(t) if t.dims() != shape.as_slice() => candle_core::bail!(
                "tensor `{name}` has shape {:?}, the configuration needs {shape:?}",
                t.dims()
            ),
            Some(_) => {}
        }
    }
    let weights: BTreeMap<String, Tensor> = expected
        .keys()
        .map(|n| (n.clone(), parts.weights[n].clone()))
        .collect();
    let (gguf, stored) = quantize_to_gguf(&weights, policy)?;
    let params = TextEncoderParams {
        config: parts.config.clone(),
        policy: policy.clone(),
        max_len: parts.max_len,
        pooling: MEAN_POOLING.to_string(),
        normalize: true,
    };
    let mut w = BundleWriter::new(
        TEXT_ENCODER_KIND,
        serde_json::to_value(&params).expect("params serialise"),
        created_at,
    );
    w.count("vocab", vocab as u64)
        .count("tensors", stored.len() as u64)
        .count("layers", parts.config.num_hidden_layers as u64)
        .section(WEIGHTS_SECTION, "gguf", &gguf)
        .section(TOKENIZER_SECTION, "json", parts.tokenizer_json);
    Ok((w, stored))
}

/// A text encoder loaded from a bundle: token ids -> sentence embeddings.
pub struct TextEncoderModel {
    pub encoder: BertEncoder,
    pub params: TextEncoderParams,
    /// The `tokenizer.json` bytes, checked to match the weights' vocabulary.
    pub tokenizer_json: Vec<u8>,
    pub compute: Compute,
    /// The bundle's `payload_sha256`: which encoder this is (item text vectors name the encoder
    /// that embedded them, and only it may embed their queries).
    pub payload_sha256: String,
}

impl TextEncoderModel {
    /// Loads and checks everything: the configuration, the tokenizer's vocabulary against the
    /// configuration and the word embeddings, every tensor's presence, shape and values.
    pub fn from_bundle(bundle: &Bundle<'_>, compute: Compute) -> Result<Self, BundleError> {
        let params: TextEncoderParams =
            model_params(bundle, TEXT_ENCODER_KIND, |p: &TextEncoderParams| &p.policy)?;
        let cfg = &params.config;
        cfg.check()
            .map_err(|e| BundleError::InvalidManifest(format!("model_params.config: {e}")))?;
        if params.pooling != MEAN_POOLING {
            return Err(BundleError::InvalidManifest(format!(
                "model_params.pooling is `{}`; this encoder pools by `{MEAN_POOLING}` only",
                params.pooling
            )));
        }
        if params.max_len < 2 || params.max_len > cfg.max_position_embeddings {
            return Err(BundleError::InvalidManifest(format!(
                "model_params.max_len is {}; it must be within 2..={} (max_position_embeddings)",
                params.max_len, cfg.max_position_embeddings
            )));
        }
        let mismatch = BundleError::ManifestMismatch;
        let layers = bundle.count("layers")?;
        if layers != cfg.num_hidden_layers as u64 {
            return Err(mismatch(format!(
                "counts.layers is {layers} but the configuration has {} layers",
                cfg.num_hidden_layers
            )));
        }
        let tokenizer_json = bundle.section(TOKENIZER_SECTION)?;
        let vocab = tokenizer_vocab_size(tokenizer_json).map_err(|problem| {
            BundleError::InvalidSection {
                name: TOKENIZER_SECTION.into(),
                problem,
            }
        })?;
        if vocab != cfg.vocab_size {
            return Err(mismatch(format!(
                "the tokenizer has {vocab} tokens but the configuration's vocab_size is {}",
                cfg.vocab_size
            )));
        }
        let counted = bundle.count("vocab")?;
        if counted != vocab as u64 {
            return Err(mismatch(format!(
                "counts.vocab is {counted} but the tokenizer has {vocab} tokens"
            )));
        }
        // Bound the configuration by the weights before building anything of its size.
        let weights_bytes = bundle.section(WEIGHTS_SECTION)?.len();
        match parameter_count(cfg) {
            Some(n) if n <= weights_bytes.saturating_mul(8) => {}
            _ => {
                return Err(mismatch(format!(
                    "the configuration needs more values than a {weights_bytes}-byte weights section can hold"
                )))
            }
        }
        let expected = encoder_shapes(cfg).map_err(|e| mismatch(e.to_string()))?;
        let weights = CheckedWeights::read(bundle, &expected)?;
        let encoder = BertEncoder::load_with(weights.var_builder(), cfg, compute)
            .map_err(|e| mismatch(e.to_string()))?;
        Ok(Self {
            encoder,
            tokenizer_json: tokenizer_json.to_vec(),
            params,
            compute,
            payload_sha256: bundle.manifest.payload_sha256.clone(),
        })
    }

    /// Sentence embeddings `(batch, hidden)` of `(batch, seq)` token ids (u32) and attention
    /// mask (1 token, 0 padding), pooled and normalised as the manifest says.
    pub fn embed(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> candle_core::Result<Tensor> {
        self.encoder
            .embed_sentences(input_ids, attention_mask, self.params.normalize)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use candle_core::{DType, Device};
    use candle_nn::VarBuilder;

    use super::*;
    use crate::model::bert::random_weights;
    use crate::model::testing::{max_diff, rebuilt};

    fn tiny() -> BertConfig {
        BertConfig {
            vocab_size: 40,
            hidden_size: 32,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 64,
            max_position_embeddings: 16,
            ..BertConfig::minilm_l6()
        }
    }

    fn weights() -> BTreeMap<String, Tensor> {
        random_weights(&tiny(), 0.3, 11)
            .unwrap()
            .into_iter()
            .collect()
    }

    /// A WordPiece tokenizer.json with `n` tokens (the shape the loader reads; this test
    /// tokenizes nothing, it passes ids).
    fn tokenizer_json(n: usize) -> Vec<u8> {
        let special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"];
        let vocab: serde_json::Map<String, serde_json::Value> = (0..n)
            .map(|i| {
                let token = special
                    .get(i)
                    .map(|s| s.to_string())
                    .unwrap_or(format!("w{i}"));
                (token, i.into())
            })
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "version": "1.0",
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": vocab},
        }))
        .unwrap()
    }

    fn bundle_with(policy: &str, weights: &BTreeMap<String, Tensor>) -> Vec<u8> {
        let tokenizer = tokenizer_json(40);
        let parts = TextExportParts {
            config: &tiny(),
            weights,
            tokenizer_json: &tokenizer,
            max_len: 12,
        };
        export_text_encoder(
            &parts,
            &QuantPolicy::builtin(policy).unwrap(),
            "2026-11-29T00:00:00Z".into(),
        )
        .unwrap()
        .0
        .finish()
    }

    fn bundle_bytes(policy: &str) -> Vec<u8> {
        bundle_with(policy, &weights())
    }

    fn load(bytes: &[u8], compute: Compute) -> Result<TextEncoderModel, BundleError> {
        TextEncoderModel::from_bundle(&Bundle::parse(bytes)?, compute)
    }

    fn batch() -> (Tensor, Tensor) {
        let ids = Tensor::new(
            &[
                [2u32, 7, 9, 30, 3, 0],
                [2, 5, 3, 0, 0, 0],
                [2, 39, 38, 11, 12, 3],
            ],
            &Device::Cpu,
        )
        .unwrap();
        let mask = ids.ne(0u32).unwrap().to_dtype(DType::U32).unwrap();
        (ids, mask)
    }

    fn reference() -> Vec<Vec<f32>> {
        let tensors: HashMap<String, Tensor> = weights().into_iter().collect();
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let encoder = BertEncoder::load(vb, &tiny()).unwrap();
        let (ids, mask) = batch();
        encoder
            .embed_sentences(&ids, &mask, true)
            .unwrap()
            .to_vec2()
            .unwrap()
    }

    fn embeddings(m: &TextEncoderModel) -> Vec<Vec<f32>> {
        let (ids, mask) = batch();
        m.embed(&ids, &mask).unwrap().to_vec2().unwrap()
    }

    #[test]
    fn f32_bundle_embeds_exactly_like_the_encoder() {
        let served = load(&bundle_bytes("f32"), Compute::Dequantized).unwrap();
        assert_eq!(embeddings(&served), reference());
        assert_eq!(served.tokenizer_json, tokenizer_json(40));
        assert_eq!(served.params.max_len, 12);
        // The kernels quantize even f32 weights to int8 rows.
        let kernels = embeddings(&load(&bundle_bytes("f32"), Compute::Quantized).unwrap());
        let d = max_diff(&reference(), &kernels);
        assert!(d > 0.0 && d < 0.02, "kernels on f32 weights: {d}");
    }

    #[test]
    fn quantized_bundles_stay_close_in_both_compute_paths() {
        let reference = reference();
        // Q4 on this tiny random encoder (rows of 32, so Q4_0, weights of spread 0.3) moves
        // single components by up to ~0.3; on MiniLM the mean cosine stays 0.96 (text-bundle).
        for (policy, tolerance) in [("q8", 0.02), ("q4", 0.5)] {
            let bytes = bundle_bytes(policy);
            let dequantized = embeddings(&load(&bytes, Compute::Dequantized).unwrap());
            let quantized = embeddings(&load(&bytes, Compute::Quantized).unwrap());
            // Unit vectors: components within ±1.
            let d = max_diff(&reference, &dequantized);
            assert!(d > 0.0 && d < tolerance, "{policy} dequantized: {d}");
            // The kernels requantize to int8 rows and quantize activations: other numbers.
            let q = max_diff(&reference, &quantized);
            assert!(q > 0.0 && q < 2.0 * tolerance, "{policy} kernels: {q}");
            assert_ne!(
                dequantized, quantized,
                "{policy}: the kernels were not used"
            );
        }
        assert!(bundle_bytes("q4").len() < bundle_bytes("q8").len());
        assert!(bundle_bytes("q8").len() < bundle_bytes("f32").len());
    }

    fn refused(bytes: Vec<u8>, code: &str, words: &[&str]) {
        let err = load(&bytes, Compute::Dequantized)
            .err()
            .unwrap_or_else(|| panic!("accepted, expected {code} naming {words:?}"));
        assert_eq!(err.code(), code, "{err}");
        for w in words {
            assert!(err.to_string().contains(w), "{err} does not name {w}");
        }
    }

    fn tokenizer_of(n: usize) -> impl Fn(&str, &mut Vec<u8>) {
        move |name: &str, data: &mut Vec<u8>| {
            if name == TOKENIZER_SECTION {
                *data = tokenizer_json(n);
            }
        }
    }

    #[test]
    fn a_manifest_that_does_not_match_the_weights_is_refused() {
        let good = bundle_bytes("q8");
        assert!(load(&rebuilt(&good, |_, _| {}, |_, _| {}), Compute::Dequantized).is_ok());
        // The tokenizer against the configuration, both numbers named.
        refused(
            rebuilt(&good, |_, _| {}, tokenizer_of(39)),
            "manifest_mismatch",
            &["39 tokens", "vocab_size is 40"],
        );
        // Configuration and tokenizer agree, the word embeddings do not.
        refused(
            rebuilt(
                &good,
                |p, c| {
                    p["config"]["vocab_size"] = 41.into();
                    c.insert("vocab".into(), 41);
                },
                tokenizer_of(41),
            ),
            "manifest_mismatch",
            &["embeddings.word_embeddings.weight", "[40, 32]", "[41, 32]"],
        );
        refused(
            rebuilt(
                &good,
                |_, c| {
                    c.insert("vocab".into(), 30);
                },
                |_, _| {},
            ),
            "manifest_mismatch",
            &["counts.vocab is 30", "40 tokens"],
        );
        refused(
            rebuilt(
                &good,
                |p, c| {
                    p["config"]["num_hidden_layers"] = 3.into();
                    c.insert("layers".into(), 3);
                },
                |_, _| {},
            ),
            "manifest_mismatch",
            &["encoder.layer.2"],
        );
        refused(
            rebuilt(
                &good,
                |p, c| {
                    p["config"]["num_hidden_layers"] = 1.into();
                    c.insert("layers".into(), 1);
                },
                |_, _| {},
            ),
            "manifest_mismatch",
            &["encoder.layer.1", "does not use"],
        );
        refused(
            rebuilt(
                &good,
                |_, c| {
                    c.insert("layers".into(), 3);
                },
                |_, _| {},
            ),
            "manifest_mismatch",
            &["counts.layers is 3"],
        );
        refused(
            rebuilt(
                &good,
                |p, _| p["config"]["intermediate_size"] = 48.into(),
                |_, _| {},
            ),
            "manifest_mismatch",
            &["intermediate.dense"],
        );
        // A configuration far larger than the weights is refused before anything is built.
        refused(
            rebuilt(
                &good,
                |p, _| p["config"]["hidden_size"] = (1u64 << 40).into(),
                |_, _| {},
            ),
            "manifest_mismatch",
            &["weights section"],
        );
        refused(
            rebuilt(
                &good,
                |p, _| p["config"]["hidden_act"] = "relu".into(),
                |_, _| {},
            ),
            "invalid_manifest",
            &["relu"],
        );
        refused(
            rebuilt(&good, |p, _| p["pooling"] = "cls".into(), |_, _| {}),
            "invalid_manifest",
            &["pooling"],
        );
        refused(
            rebuilt(&good, |p, _| p["max_len"] = 17.into(), |_, _| {}),
            "invalid_manifest",
            &["max_len is 17"],
        );
        refused(
            rebuilt(
                &good,
                |p, _| p["policy"]["default"] = "q9".into(),
                |_, _| {},
            ),
            "invalid_manifest",
            &["unknown weight type"],
        );
    }

    #[test]
    fn broken_sections_and_values_are_refused() {
        let good = bundle_bytes("q8");
        let not_json = |name: &str, data: &mut Vec<u8>| {
            if name == TOKENIZER_SECTION {
                data[0] = b'x';
            }
        };
        refused(
            rebuilt(&good, |_, _| {}, not_json),
            "invalid_section",
            &["tokenizer", "not JSON"],
        );
        let twice = |name: &str, data: &mut Vec<u8>| {
            if name == TOKENIZER_SECTION {
                let text = String::from_utf8(data.clone()).unwrap();
                *data = text.replace("\"w5\":5", "\"w5\":4").into_bytes();
            }
        };
        refused(
            rebuilt(&good, |_, _| {}, twice),
            "invalid_section",
            &["id 4"],
        );
        let not_gguf = |name: &str, data: &mut Vec<u8>| {
            if name == WEIGHTS_SECTION {
                data[0] ^= 0xff;
            }
        };
        refused(
            rebuilt(&good, |_, _| {}, not_gguf),
            "invalid_section",
            &["GGUF"],
        );
        let mut poisoned = weights();
        let name = "encoder.layer.1.output.LayerNorm.bias";
        let mut values: Vec<f32> = poisoned[name].to_vec1().unwrap();
        values[3] = f32::NAN;
        poisoned.insert(name.into(), Tensor::new(values, &Device::Cpu).unwrap());
        refused(bundle_with("q8", &poisoned), "out_of_range", &[name, "NaN"]);
        refused(
            rebuilt(
                &good,
                |_, c| {
                    c.insert("tensors".into(), 5);
                },
                |_, _| {},
            ),
            "manifest_mismatch",
            &["counts.tensors is 5"],
        );
    }

    #[test]
    fn export_refuses_a_tokenizer_for_other_weights() {
        let tokenizer = tokenizer_json(39);
        let w = weights();
        let parts = TextExportParts {
            config: &tiny(),
            weights: &w,
            tokenizer_json: &tokenizer,
            max_len: 12,
        };
        let err = export_text_encoder(&parts, &QuantPolicy::builtin("q8").unwrap(), "t".into())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("39 tokens") && err.contains("40"), "{err}");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]

            /// Past the checksum (re-assembled after the change), the loader may accept a
            /// changed weight value, but it never panics.
            #[test]
            fn the_loader_never_panics_on_changed_sections(tokenizer in any::<bool>(), at in any::<prop::sample::Index>(), mask in 1u8..=255, cut in proptest::option::of(any::<prop::sample::Index>())) {
                static GOOD: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
                let good = GOOD.get_or_init(|| bundle_bytes("q8"));
                let target = if tokenizer { TOKENIZER_SECTION } else { WEIGHTS_SECTION };
                let changed = rebuilt(good, |_, _| {}, |name, data| {
                    if name == target && !data.is_empty() {
                        let i = at.index(data.len());
                        data[i] ^= mask;
                        if let Some(cut) = &cut {
                            data.truncate(cut.index(data.len()));
                        }
                    }
                });
                let _ = load(&changed, Compute::Dequantized);
            }
        }
    }
}
