//! Text -> vectors and text -> scores with a BERT encoder folder (the pretrained
//! all-MiniLM-L6-v2 one, or one written by `edgerec-train text`): `config.json`,
//! `tokenizer.json`, `model.safetensors` and, for a fine-tuned one, `head.safetensors`.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{Linear, VarBuilder};
use edgerec::training::model::bert::{l2_normalize, mean_pool};
use edgerec::training::model::text;
pub use edgerec::training::model::text::pad_batch;
use edgerec::training::model::{BertConfig, BertEncoder};
use tokenizers::Tokenizer;

pub const CONFIG_FILE: &str = "config.json";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const HEAD_FILE: &str = "head.safetensors";

/// Tokens per text, special tokens included (longer texts are truncated).
pub const DEFAULT_MAX_LEN: usize = 128;
/// Texts per forward pass when encoding.
pub const DEFAULT_BATCH: usize = 64;

/// Rating classes (1 to 5 stars).
pub const RATINGS: usize = 5;

pub fn read_config(dir: &Path) -> Result<BertConfig> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    BertConfig::from_json(&text).with_context(|| format!("{} is not a BERT config", path.display()))
}

/// The folder's tokenizer, truncating to `max_len` tokens and not padding (batches are padded to
/// their longest text, not to a fixed length): the settings of
/// [`edgerec::training::model::text::tokenizer_from_bytes`], which the edge uses too.
pub fn load_tokenizer(dir: &Path, max_len: usize) -> Result<Tokenizer> {
    let path = dir.join(TOKENIZER_FILE);
    let tokenizer = Tokenizer::from_file(&path)
        .map_err(|e| anyhow!("cannot read tokenizer {}: {e}", path.display()))?;
    text::configure_tokenizer(tokenizer, max_len).map_err(|e| anyhow!(e))
}

/// As [`load_tokenizer`], from `tokenizer.json` bytes (e.g. a bundle's `tokenizer` section).
pub fn tokenizer_from_bytes(json: &[u8], max_len: usize) -> Result<Tokenizer> {
    text::tokenizer_from_bytes(json, max_len).map_err(|e| anyhow!("cannot read the tokenizer: {e}"))
}

/// Token ids of each text, `[CLS] ... [SEP]`, at most `max_len` (as the edge's
/// [`edgerec::training::model::text::token_ids`]).
pub fn tokenize<S: AsRef<str>>(tokenizer: &Tokenizer, texts: &[S]) -> Result<Vec<Vec<u32>>> {
    let bar = crate::progress::bar(texts.len() as u64, "tokenize");
    let out = texts
        .iter()
        .map(|t| {
            bar.inc(1);
            text::token_ids(tokenizer, t.as_ref())
                .map_err(|e| anyhow!("cannot tokenize {:?}: {e}", t.as_ref()))
        })
        .collect();
    bar.finish_and_clear();
    out
}

/// Batches of indices of similar length (longest first), so that little is spent on padding.
pub fn length_batches(lengths: &[usize], batch_size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(lengths[i]), i));
    order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

/// A BERT encoder and its tokenizer.
pub struct TextEncoder {
    pub encoder: BertEncoder,
    pub tokenizer: Tokenizer,
    pub device: Device,
}

impl TextEncoder {
    pub fn load(dir: &Path, max_len: usize, device: &Device) -> Result<Self> {
        let config = read_config(dir)?;
        let weights = dir.join(WEIGHTS_FILE);
        // SAFETY: the file is mapped read-only and this process does not write it while mapped.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, device) }
            .with_context(|| format!("cannot read {}", weights.display()))?;
        let encoder = BertEncoder::load(vb, &config).with_context(|| {
            format!(
                "{} does not hold the encoder its config.json describes",
                weights.display()
            )
        })?;
        Ok(Self {
            encoder,
            tokenizer: load_tokenizer(dir, max_len)?,
            device: device.clone(),
        })
    }

    /// Runs `f` on the mean-pooled last hidden states of each length batch, with a progress bar;
    /// returns the rows of what `f` returns, in the order of `tokens`.
    pub fn map_pooled(
        &self,
        tokens: &[Vec<u32>],
        batch_size: usize,
        what: &str,
        f: impl Fn(&Tensor) -> candle_core::Result<Tensor>,
    ) -> Result<Vec<Vec<f32>>> {
        let lengths: Vec<usize> = tokens.iter().map(Vec::len).collect();
        let mut out = vec![Vec::new(); tokens.len()];
        let bar = crate::progress::bar(tokens.len() as u64, what);
        for batch in length_batches(&lengths, batch_size) {
            let seqs: Vec<&[u32]> = batch.iter().map(|&i| tokens[i].as_slice()).collect();
            let (ids, mask) = pad_batch(&seqs, &self.device)?;
            let pooled = mean_pool(&self.encoder.forward(&ids, &mask)?, &mask)?;
            let rows = f(&pooled)?.to_dtype(DType::F32)?.to_vec2::<f32>()?;
            for (&i, row) in batch.iter().zip(rows) {
                out[i] = row;
            }
            bar.inc(batch.len() as u64);
        }
        bar.finish_and_clear();
        Ok(out)
    }

    /// Sentence embeddings (mean-pooled, L2-normalised as sentence-transformers does).
    pub fn embed_tokens(&self, tokens: &[Vec<u32>], batch_size: usize) -> Result<Vec<Vec<f32>>> {
        self.map_pooled(tokens, batch_size, "encode", l2_normalize)
    }

    pub fn embed_texts<S: AsRef<str>>(
        &self,
        texts: &[S],
        batch_size: usize,
    ) -> Result<Vec<Vec<f32>>> {
        self.embed_tokens(&tokenize(&self.tokenizer, texts)?, batch_size)
    }
}

/// Item (or any) text vectors: the L2-normalised sentence embedding of each text, from an encoder
/// folder (pretrained or fine-tuned), on the CPU, in batches, with a progress bar.
pub fn encode_texts<S: AsRef<str>>(encoder_dir: &Path, texts: &[S]) -> Result<Vec<Vec<f32>>> {
    TextEncoder::load(encoder_dir, DEFAULT_MAX_LEN, &Device::Cpu)?.embed_texts(texts, DEFAULT_BATCH)
}

/// The two prediction heads on the mean-pooled text: p(recommended) and the rating distribution.
#[derive(Debug, Clone)]
pub struct Heads {
    pub recommended: Linear,
    pub rating: Linear,
}

impl Heads {
    /// Names `recommended.{weight,bias}` and `rating.{weight,bias}`; a fresh VarMap gives zeros.
    pub fn load(vb: VarBuilder, hidden: usize) -> candle_core::Result<Self> {
        let linear = |name: &str, outputs: usize| -> candle_core::Result<Linear> {
            let vb = vb.pp(name);
            Ok(Linear::new(
                vb.get((outputs, hidden), "weight")?,
                Some(vb.get(outputs, "bias")?),
            ))
        };
        Ok(Self {
            recommended: linear("recommended", 1)?,
            rating: linear("rating", RATINGS)?,
        })
    }

    /// (recommended logits (batch,), rating logits (batch, 5)).
    pub fn forward(&self, pooled: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        Ok((
            self.recommended.forward(pooled)?.squeeze(D::Minus1)?,
            self.rating.forward(pooled)?,
        ))
    }

    /// Each row: p(recommended), then the 5 rating probabilities.
    pub fn probabilities(&self, pooled: &Tensor) -> candle_core::Result<Tensor> {
        let (rec, rating) = self.forward(pooled)?;
        let p = candle_nn::ops::sigmoid(&rec)?.unsqueeze(1)?;
        Tensor::cat(&[p, candle_nn::ops::softmax(&rating, D::Minus1)?], 1)
    }
}

/// One text's predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct TextPrediction {
    pub p_recommended: f64,
    /// Probabilities of 1 to 5 stars.
    pub rating: [f64; RATINGS],
}

impl TextPrediction {
    fn from_row(row: &[f32]) -> Self {
        let mut rating = [0.0; RATINGS];
        for (r, &p) in rating.iter_mut().zip(&row[1..]) {
            *r = p as f64;
        }
        Self {
            p_recommended: row[0] as f64,
            rating,
        }
    }

    /// The most probable rating, 1 to 5.
    pub fn rating_class(&self) -> u8 {
        argmax(&self.rating) as u8 + 1
    }
}

pub fn argmax(values: &[f64]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}

/// A fine-tuned encoder with its heads: text -> p(recommended), rating.
pub struct TextClassifier {
    pub text: TextEncoder,
    pub heads: Heads,
}

impl TextClassifier {
    pub fn load(dir: &Path, max_len: usize, device: &Device) -> Result<Self> {
        let text = TextEncoder::load(dir, max_len, device)?;
        let path = dir.join(HEAD_FILE);
        // SAFETY: as in TextEncoder::load.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&path], DType::F32, device) }
            .with_context(|| {
                format!(
                    "cannot read {} (is {} a fine-tuned model folder?)",
                    path.display(),
                    dir.display()
                )
            })?;
        let heads = Heads::load(vb, text.encoder.hidden_size()).with_context(|| {
            format!(
                "{} does not hold the recommended and rating heads",
                path.display()
            )
        })?;
        Ok(Self { text, heads })
    }

    pub fn predict_tokens(
        &self,
        tokens: &[Vec<u32>],
        batch_size: usize,
    ) -> Result<Vec<TextPrediction>> {
        let rows = self
            .text
            .map_pooled(tokens, batch_size, "score", |pooled| {
                self.heads.probabilities(pooled)
            })?;
        Ok(rows.iter().map(|r| TextPrediction::from_row(r)).collect())
    }

    pub fn predict<S: AsRef<str>>(
        &self,
        texts: &[S],
        batch_size: usize,
    ) -> Result<Vec<TextPrediction>> {
        self.predict_tokens(&tokenize(&self.text.tokenizer, texts)?, batch_size)
    }
}

/// p(recommended) of each text from a fine-tuned model folder: the per-text sentiment signal
/// (a user's mean over their reviews is a per-user one).
pub fn score_texts<S: AsRef<str>>(model_dir: &Path, texts: &[S]) -> Result<Vec<f64>> {
    let model = TextClassifier::load(model_dir, DEFAULT_MAX_LEN, &Device::Cpu)?;
    Ok(model
        .predict(texts, DEFAULT_BATCH)?
        .into_iter()
        .map(|p| p.p_recommended)
        .collect())
}
