//! Text to sentence embeddings at the edge (crate feature `text`): a `text-encoder` bundle's
//! tokenizer and encoder in one object, [`TextEmbedder`].
//!
//! Tokenization is defined here once, for the trainer and the edge alike:
//! [`tokenizer_from_bytes`] configures a `tokenizer.json` (truncation to `max_len` tokens, special
//! tokens included; no padding), [`token_ids`] encodes one text with its special tokens
//! (`[CLS] ... [SEP]`), and [`pad_batch`] pads a batch to its longest text with an attention
//! mask. `edgerec-train` calls the same three functions, so a text embeds at the edge exactly as
//! the trainer embedded it (bit for bit with the same weights, text alone in its batch).
//!
//! Every text is embedded: an empty text is `[CLS] [SEP]` (as sentence-transformers and
//! Transformers.js embed it), a text longer than the bundle's `max_len` tokens is cut to its
//! first `max_len - 2` word pieces.

use candle_core::{Device, Tensor};
use tokenizers::{Tokenizer, TruncationParams};

use super::ops::Compute;
use super::text_encoder::{TextEncoderModel, TOKENIZER_SECTION};
use crate::bundle::{Bundle, TrustedKey};
use crate::error::BundleError;

/// Texts per forward pass in [`TextEmbedder::embed`]: bounds the memory of one call (attention
/// is batch × heads × len² values) while keeping the batch's matrix products large.
pub const EMBED_BATCH: usize = 32;

/// A `tokenizer.json` (bytes) configured as every edgerec encoder uses it: truncation to
/// `max_len` tokens (special tokens included), no padding (a batch is padded to its longest
/// text by [`pad_batch`], not to a fixed length).
pub fn tokenizer_from_bytes(json: &[u8], max_len: usize) -> Result<Tokenizer, String> {
    let tokenizer = Tokenizer::from_bytes(json).map_err(|e| format!("not a tokenizer: {e}"))?;
    configure_tokenizer(tokenizer, max_len)
}

/// Applies the settings of [`tokenizer_from_bytes`] to a tokenizer read otherwise (from a file).
pub fn configure_tokenizer(mut tokenizer: Tokenizer, max_len: usize) -> Result<Tokenizer, String> {
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: max_len,
            ..Default::default()
        }))
        .map_err(|e| format!("cannot truncate to {max_len} tokens: {e}"))?;
    tokenizer.with_padding(None);
    Ok(tokenizer)
}

/// The token ids of one text, special tokens included (`[CLS] ... [SEP]`), at most the
/// tokenizer's truncation length.
pub fn token_ids(tokenizer: &Tokenizer, text: &str) -> Result<Vec<u32>, String> {
    tokenizer
        .encode(text, true)
        .map(|e| e.get_ids().to_vec())
        .map_err(|e| e.to_string())
}

/// Ids (batch, longest) and attention mask (1 token, 0 padding) of a batch of token sequences,
/// padded with id 0 on the right.
pub fn pad_batch(seqs: &[&[u32]], device: &Device) -> candle_core::Result<(Tensor, Tensor)> {
    let len = seqs.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
    let mut ids = vec![0u32; seqs.len() * len];
    let mut mask = vec![0u32; seqs.len() * len];
    for (row, seq) in seqs.iter().enumerate() {
        ids[row * len..row * len + seq.len()].copy_from_slice(seq);
        mask[row * len..row * len + seq.len()].fill(1);
    }
    Ok((
        Tensor::from_vec(ids, (seqs.len(), len), device)?,
        Tensor::from_vec(mask, (seqs.len(), len), device)?,
    ))
}

/// Why a text could not be embedded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmbedError {
    /// The tokenizer failed on text `index` of the call, or produced an id outside the encoder's
    /// vocabulary.
    #[error("cannot tokenize text {index}: {message}")]
    Tokenize { index: usize, message: String },
    /// The encoder's forward pass failed.
    #[error("the text encoder failed: {0}")]
    Model(String),
}

impl EmbedError {
    /// Stable snake_case code, as [`BundleError::code`].
    pub fn code(&self) -> &'static str {
        match self {
            Self::Tokenize { .. } => "tokenize_error",
            Self::Model(_) => "model_error",
        }
    }
}

/// Texts to sentence embeddings: a `text-encoder` bundle's tokenizer (parsed once, at load) and
/// encoder.
pub struct TextEmbedder {
    model: TextEncoderModel,
    tokenizer: Tokenizer,
}

impl TextEmbedder {
    /// Verifies the bundle (against `trusted` when given, as [`Bundle::parse_trusted`]) and loads
    /// it; `compute` picks candle on f32 weights or the int8 kernels.
    pub fn from_bundle_bytes(
        bytes: &[u8],
        trusted: Option<&TrustedKey>,
        compute: Compute,
    ) -> Result<Self, BundleError> {
        Self::from_bundle(&Bundle::parse_trusted(bytes, trusted)?, compute)
    }

    /// Loads the encoder (every check of [`TextEncoderModel::from_bundle`]) and its tokenizer,
    /// truncating to the manifest's `max_len`. A tokenizer that does not parse, or whose special
    /// tokens fall outside the vocabulary, is an `invalid_section` error naming `tokenizer`.
    pub fn from_bundle(bundle: &Bundle<'_>, compute: Compute) -> Result<Self, BundleError> {
        let model = TextEncoderModel::from_bundle(bundle, compute)?;
        Self::new(model)
    }

    /// Wraps an already loaded encoder.
    pub fn new(model: TextEncoderModel) -> Result<Self, BundleError> {
        let invalid = |problem: String| BundleError::InvalidSection {
            name: TOKENIZER_SECTION.into(),
            problem,
        };
        let tokenizer =
            tokenizer_from_bytes(&model.tokenizer_json, model.params.max_len).map_err(invalid)?;
        let vocab = model.params.config.vocab_size;
        // Added tokens (and so every special token the post-processor inserts) within the
        // weights' vocabulary; the WordPiece vocabulary itself was checked by the model loader.
        if let Some((token, id)) = tokenizer
            .get_added_tokens_decoder()
            .iter()
            .find(|(id, _)| **id as usize >= vocab)
            .map(|(id, t)| (t.content.clone(), *id))
        {
            return Err(invalid(format!(
                "added token {token:?} has id {id}, outside the vocabulary of {vocab} tokens"
            )));
        }
        let embedder = Self { model, tokenizer };
        // The post-processor's own ids (e.g. BertProcessing's `[CLS]`/`[SEP]`) are checked by
        // encoding a text: an empty one holds nothing but them.
        embedder
            .tokenize(0, "")
            .map_err(|e| invalid(e.to_string()))?;
        Ok(embedder)
    }

    /// The length of each embedding.
    pub fn dimension(&self) -> usize {
        self.model.params.config.hidden_size
    }

    /// Tokens per text, special tokens included; longer texts are truncated.
    pub fn max_len(&self) -> usize {
        self.model.params.max_len
    }

    pub fn compute(&self) -> Compute {
        self.model.compute
    }

    /// The encoder bundle's `payload_sha256` (see [`crate::text_index::TextIndex::encoder`]).
    pub fn encoder_id(&self) -> &str {
        &self.model.payload_sha256
    }

    pub fn model(&self) -> &TextEncoderModel {
        &self.model
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The token ids [`Self::embed`] runs the encoder on for `text` (text `index` of a call).
    pub fn tokenize(&self, index: usize, text: &str) -> Result<Vec<u32>, EmbedError> {
        let ids = token_ids(&self.tokenizer, text)
            .map_err(|message| EmbedError::Tokenize { index, message })?;
        let vocab = self.model.params.config.vocab_size;
        if let Some(id) = ids.iter().find(|&&id| id as usize >= vocab) {
            return Err(EmbedError::Tokenize {
                index,
                message: format!("token id {id} is outside the vocabulary of {vocab} tokens"),
            });
        }
        Ok(ids)
    }

    /// Sentence embeddings of `texts` (each `dimension()` long, L2-normalised when the bundle
    /// says so), in the order given. Texts of similar length are batched together, at most
    /// [`EMBED_BATCH`] per forward pass; a text's embedding does not depend on the others beyond
    /// float rounding (padding is masked).
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let tokens = texts
            .iter()
            .enumerate()
            .map(|(i, t)| self.tokenize(i, t))
            .collect::<Result<Vec<_>, _>>()?;
        self.embed_tokens(&tokens)
    }

    /// As [`Self::embed`], from token ids (as [`Self::tokenize`] gives them).
    pub fn embed_tokens(&self, tokens: &[Vec<u32>]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let model_error = |e: candle_core::Error| EmbedError::Model(e.to_string());
        let mut order: Vec<usize> = (0..tokens.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(tokens[i].len()), i));
        let mut out = vec![Vec::new(); tokens.len()];
        for batch in order.chunks(EMBED_BATCH) {
            let seqs: Vec<&[u32]> = batch.iter().map(|&i| tokens[i].as_slice()).collect();
            let (ids, mask) = pad_batch(&seqs, &Device::Cpu).map_err(model_error)?;
            let rows = self
                .model
                .embed(&ids, &mask)
                .and_then(|e| e.to_vec2::<f32>())
                .map_err(model_error)?;
            for (&i, row) in batch.iter().zip(rows) {
                out[i] = row;
            }
        }
        Ok(out)
    }

    /// The embedding of one text.
    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut rows = self.embed(&[text])?;
        Ok(rows.pop().expect("one text, one row"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};
    use std::path::PathBuf;

    use candle_core::DType;
    use candle_nn::VarBuilder;
    use tokenizers::models::wordpiece::WordPiece;
    use tokenizers::normalizers::bert::BertNormalizer;
    use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
    use tokenizers::processors::bert::BertProcessing;

    use super::*;
    use crate::bundle::BundleSigner;
    use crate::model::bert::{l2_normalize, mean_pool, random_weights, BertConfig, BertEncoder};
    use crate::model::quant::QuantPolicy;
    use crate::model::testing::{max_diff, rebuilt};
    use crate::model::text_encoder::{export_text_encoder, TextExportParts};

    /// An encoder: its configuration, weights (Hugging Face names) and `tokenizer.json`.
    struct Encoder {
        config: BertConfig,
        weights: BTreeMap<String, Tensor>,
        tokenizer_json: Vec<u8>,
        max_len: usize,
    }

    /// A tiny BERT (2 layers, hidden 32, random weights) with a real WordPiece tokenizer
    /// (BERT normaliser, pre-tokenizer and `[CLS]`/`[SEP]` post-processor) over a few words.
    fn tiny() -> Encoder {
        let words = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "dress", "fits", "well", "and",
            "fabric", "is", "soft", "too", "small", "love", "it", "color", "runs", "large", ".",
            ",", "!", "##s", "##ly", "a", "b", "c", "d", "e", "f", "g", "h", "i", "l", "n", "o",
            "r", "s", "t", "u", "w", "z", "##a", "##e", "##o", "##t",
        ];
        // An array, as the builder takes (it wants an `AHashMap`, or something that converts).
        let vocab: [(String, u32); 47] = std::array::from_fn(|i| (words[i].to_string(), i as u32));
        let wordpiece = WordPiece::builder()
            .vocab(vocab)
            .unk_token("[UNK]".into())
            .build()
            .unwrap();
        let mut tokenizer = Tokenizer::new(wordpiece);
        tokenizer
            .with_normalizer(Some(BertNormalizer::default()))
            .unwrap();
        tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
        tokenizer.with_post_processor(Some(BertProcessing::new(
            ("[SEP]".into(), 3),
            ("[CLS]".into(), 2),
        )));
        let config = BertConfig {
            vocab_size: words.len(),
            hidden_size: 32,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 64,
            max_position_embeddings: 32,
            ..BertConfig::minilm_l6()
        };
        Encoder {
            weights: random_weights(&config, 0.3, 5)
                .unwrap()
                .into_iter()
                .collect(),
            config,
            tokenizer_json: tokenizer.to_string(false).unwrap().into_bytes(),
            max_len: 12,
        }
    }

    /// The pretrained all-MiniLM-L6-v2 (untrimmed, f32) from ../shared: the test that uses it
    /// is `#[ignore]`d, and run by `make test` when ../shared has it.
    fn minilm() -> Encoder {
        let dir =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models/all-MiniLM-L6-v2");
        assert!(
            dir.join("model.safetensors").exists(),
            "{} is absent (the pretrained weights are not shipped): this test needs ../shared",
            dir.display()
        );
        let config =
            BertConfig::from_json(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                .unwrap();
        let weights = candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu)
            .unwrap()
            .into_iter()
            .filter(|(n, _)| !n.starts_with("pooler."))
            .collect();
        Encoder {
            config,
            weights,
            tokenizer_json: std::fs::read(dir.join("tokenizer.json")).unwrap(),
            max_len: 64,
        }
    }

    impl Encoder {
        fn bundle(&self, policy: &str) -> Vec<u8> {
            let parts = TextExportParts {
                config: &self.config,
                weights: &self.weights,
                tokenizer_json: &self.tokenizer_json,
                max_len: self.max_len,
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

        /// The trainer's path, step by step: its tokenizer settings, the f32 encoder straight
        /// from the weights, padding, forward, mean pooling, L2 normalisation; one text per pass.
        fn reference(&self, texts: &[&str]) -> Vec<Vec<f32>> {
            let tensors: HashMap<String, Tensor> = self
                .weights
                .iter()
                .map(|(n, t)| (n.clone(), t.clone()))
                .collect();
            let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
            let encoder = BertEncoder::load(vb, &self.config).unwrap();
            let tokenizer = tokenizer_from_bytes(&self.tokenizer_json, self.max_len).unwrap();
            texts
                .iter()
                .map(|t| {
                    let ids = token_ids(&tokenizer, t).unwrap();
                    let (ids, mask) = pad_batch(&[&ids], &Device::Cpu).unwrap();
                    let pooled = mean_pool(&encoder.forward(&ids, &mask).unwrap(), &mask).unwrap();
                    l2_normalize(&pooled).unwrap().to_vec2().unwrap().remove(0)
                })
                .collect()
        }
    }

    fn load(bytes: &[u8], compute: Compute) -> Result<TextEmbedder, BundleError> {
        TextEmbedder::from_bundle_bytes(bytes, None, compute)
    }

    const TEXTS: [&str; 5] = [
        "The dress fits well, and the fabric is soft!",
        "Runs small.",
        "Love it",
        "the color is too large and the dress runs small, the fabric is soft and it fits well",
        "Zigzag hat",
    ];

    fn singles(e: &TextEmbedder, texts: &[&str]) -> Vec<Vec<f32>> {
        texts.iter().map(|t| e.embed_one(t).unwrap()).collect()
    }

    /// Each text alone embeds bit for bit as the trainer embeds it; a batch (padded, reordered
    /// by length) gives the same vectors up to float rounding.
    fn check_against_trainer(encoder: &Encoder, texts: &[&str]) {
        let reference = encoder.reference(texts);
        let embedder = load(&encoder.bundle("f32"), Compute::Dequantized).unwrap();
        assert_eq!(embedder.dimension(), encoder.config.hidden_size);
        assert_eq!(embedder.max_len(), encoder.max_len);
        assert_eq!(singles(&embedder, texts), reference);
        let batch = embedder.embed(texts).unwrap();
        assert_eq!(batch.len(), texts.len());
        let d = max_diff(&batch, &reference);
        assert!(d < 1e-5, "batch vs single: {d}");
        for row in &batch {
            let norm: f32 = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
        }
    }

    #[test]
    fn tiny_bundle_embeds_as_the_trainer_does() {
        check_against_trainer(&tiny(), &TEXTS);
    }

    #[test]
    #[ignore = "needs ../shared/models/all-MiniLM-L6-v2 (make test runs it when present, make test-shared alone)"]
    fn minilm_bundle_embeds_as_the_trainer_does() {
        let encoder = minilm();
        let texts = [
            "Love this dress! It's sooo pretty. I happened to find it in a store.",
            "Runs small; order a size up.",
            "",
            "The fabric is soft but the color faded after one wash, and the seams came apart",
        ];
        check_against_trainer(&encoder, &texts);
        // A quantized bundle, both compute paths, stays close to f32.
        let reference = encoder.reference(&texts);
        let q8 = encoder.bundle("q8");
        for compute in [Compute::Dequantized, Compute::Quantized] {
            let got = load(&q8, compute).unwrap().embed(&texts).unwrap();
            for (a, b) in got.iter().zip(&reference) {
                let cos: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                assert!(cos > 0.98, "{compute:?}: cosine {cos}");
            }
        }
    }

    #[test]
    fn a_batch_of_n_equals_n_single_calls_in_both_compute_paths() {
        let encoder = tiny();
        // More texts than one forward pass takes, of many lengths.
        let texts: Vec<String> = (0..EMBED_BATCH + 7)
            .map(|i| TEXTS[i % TEXTS.len()].repeat(1 + i % 3))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        for policy in ["f32", "q8", "q4"] {
            for compute in [Compute::Dequantized, Compute::Quantized] {
                let e = load(&encoder.bundle(policy), compute).unwrap();
                let d = max_diff(&e.embed(&refs).unwrap(), &singles(&e, &refs));
                assert!(d < 1e-5, "{policy} {compute:?}: {d}");
            }
        }
        let e = load(&encoder.bundle("q8"), Compute::Dequantized).unwrap();
        assert_eq!(e.embed(&[]).unwrap(), Vec::<Vec<f32>>::new());
    }

    #[test]
    fn empty_and_oversized_texts() {
        let encoder = tiny();
        let e = load(&encoder.bundle("f32"), Compute::Dequantized).unwrap();
        // An empty (or blank) text is [CLS] [SEP], and embeds like any other.
        assert_eq!(e.tokenize(0, "").unwrap(), vec![2, 3]);
        assert_eq!(e.tokenize(0, " \t\n").unwrap(), vec![2, 3]);
        let empty = e.embed_one("").unwrap();
        assert_eq!(empty.len(), 32);
        assert!(empty.iter().all(|x| x.is_finite()));
        assert_eq!(e.embed_one(" \t\n").unwrap(), empty);
        // A text past max_len (12) tokens: cut to its first 10 pieces, then [SEP]; whatever
        // follows the cut changes nothing.
        let long = "the dress fits well and the fabric is soft and the color runs large";
        let ids = e.tokenize(0, long).unwrap();
        assert_eq!(ids.len(), 12);
        assert_eq!((ids[0], ids[11]), (2, 3));
        let cut = "the dress fits well and the fabric is soft and";
        assert_eq!(e.tokenize(0, cut).unwrap(), ids);
        let longer = format!("{long} {}", "love it ".repeat(10_000));
        let embedded = e.embed(&[long, cut, &longer]).unwrap();
        assert_eq!(embedded[0], embedded[1]);
        assert_eq!(embedded[0], embedded[2]);
        // Unknown words and characters are [UNK], not errors.
        assert_eq!(e.tokenize(0, "qqq 😀").unwrap(), vec![2, 1, 1, 3]);
    }

    #[test]
    fn a_broken_tokenizer_is_an_invalid_tokenizer_section() {
        let good = tiny().bundle("q8");
        let refused = |bytes: Vec<u8>, words: &[&str]| {
            let err = load(&bytes, Compute::Dequantized).err().expect("accepted");
            assert_eq!(err.code(), "invalid_section", "{err}");
            for w in words {
                assert!(err.to_string().contains(w), "{err} does not name {w}");
            }
        };
        let edit = |f: fn(&mut serde_json::Value)| {
            rebuilt(
                &good,
                |_, _| {},
                move |name, data| {
                    if name == TOKENIZER_SECTION {
                        let mut json: serde_json::Value = serde_json::from_slice(data).unwrap();
                        f(&mut json);
                        *data = serde_json::to_vec(&json).unwrap();
                    }
                },
            )
        };
        // Valid vocabulary (the model loader's check passes), unknown normaliser.
        refused(
            edit(|j| j["normalizer"] = serde_json::json!({"type": "NoSuchNormalizer"})),
            &["`tokenizer`", "not a tokenizer"],
        );
        // A post-processor inserting an id past the vocabulary.
        refused(
            edit(|j| j["post_processor"]["cls"] = serde_json::json!(["[CLS]", 4000])),
            &["`tokenizer`", "4000"],
        );
        refused(
            edit(|j| {
                j["added_tokens"] = serde_json::json!([{"id": 900, "content": "[X]", "single_word": false,
                    "lstrip": false, "rstrip": false, "normalized": false, "special": true}])
            }),
            &["`tokenizer`", "\"[X]\"", "outside the vocabulary"],
        );
        assert!(load(&edit(|_| {}), Compute::Dequantized).is_ok());
    }

    #[test]
    fn a_signed_bundle_is_checked_against_the_trusted_key() {
        let signer = BundleSigner::from_bytes(&[7; 32]);
        let signed = signer.sign(&tiny().bundle("q8")).unwrap();
        let key = signer.public_key();
        assert!(TextEmbedder::from_bundle_bytes(&signed, Some(&key), Compute::Quantized).is_ok());
        let other = BundleSigner::from_bytes(&[8; 32]).public_key();
        let err = TextEmbedder::from_bundle_bytes(&signed, Some(&other), Compute::Quantized)
            .err()
            .unwrap();
        assert_eq!(err.code(), "untrusted_signer");
    }

    /// An engine whose catalog items carry text vectors from one encoder answers text queries
    /// with that encoder only.
    #[test]
    fn an_engine_answers_text_queries_with_the_encoder_of_its_item_texts() {
        use crate::covisit::{CovisitModel, CovisitParams};
        use crate::text_index::TextIndex;
        use crate::{EmbedRequest, Engine, SimilarRequest, Source};
        let bytes = tiny().bundle("q8");
        let embedder = load(&bytes, Compute::Quantized).unwrap();
        let texts = [
            "the dress fits well",
            "soft fabric",
            "runs small",
            "love the color",
        ];
        let ids: Vec<String> = (0..4).map(|i| format!("item{i}")).collect();
        let model = CovisitModel::new(
            ids,
            &[4, 3, 2, 1],
            &vec![vec![]; 4],
            CovisitParams::new(0.5),
        );
        let mut w = model.bundle_writer("2026-12-02T00:00:00Z".into());
        let vectors = embedder.embed(&texts).unwrap();
        TextIndex::new(&vectors, embedder.dimension(), embedder.encoder_id()).write(&mut w);
        let catalog = w.finish();

        let engine = Engine::from_bundle(&catalog)
            .unwrap()
            .with_text_encoder(embedder)
            .unwrap();
        assert!(engine.has_text_encoder());
        let answer = engine
            .similar(&SimilarRequest::by_text("runs small", 2))
            .unwrap();
        assert_eq!(answer.items[0].id, "item2");
        assert_eq!(answer.items[0].source, Source::Text);
        assert!(
            (answer.items[0].score - 1.0).abs() < 0.02,
            "{}",
            answer.items[0].score
        );
        assert_eq!(answer.text.as_deref(), Some("runs small"));
        let embedded = engine
            .embed(&EmbedRequest {
                texts: vec!["runs small".into(), String::new()],
            })
            .unwrap();
        assert_eq!(embedded.dimension, 32);
        assert_eq!(embedded.vectors.len(), 2);
        // The engine's encoder embeds bit for bit as a standalone one does.
        let alone = load(&bytes, Compute::Quantized)
            .unwrap()
            .embed_one("runs small")
            .unwrap();
        assert_eq!(embedded.vectors[0], alone);

        // Another encoder (here: the same weights at another policy) is another space.
        let other = load(&tiny().bundle("f32"), Compute::Quantized).unwrap();
        let err = Engine::from_bundle(&catalog)
            .unwrap()
            .with_text_encoder(other)
            .unwrap_err();
        assert_eq!(err.code(), "manifest_mismatch");
        assert!(
            err.to_string().contains("embedded by text encoder"),
            "{err}"
        );
    }
}
