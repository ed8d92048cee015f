//! Vocabulary trimming for a WordPiece text encoder: keep the special tokens, every word piece
//! the given texts (the catalog and expected queries) tokenize to, and the single-character
//! pieces (`x` and `##x`) of every ASCII character and every character the texts contain, so an
//! unseen word in the catalog's script still encodes, letter by letter at worst; renumber them
//! in their old order, rewrite `tokenizer.json` and slice the word-embedding rows.
//!
//! Single characters of other scripts (about 1,800 of BERT's 30,522 pieces, mostly CJK) are
//! dropped: a shop whose texts never use them gains nothing from their 0.7 MB of rows, and a
//! query that does use them encodes those characters as `[UNK]`.
//!
//! WordPiece is greedy longest-match-first within each word, and the trimmed vocabulary keeps
//! every piece the full one chose for the given texts, so no longer piece can appear and those
//! texts tokenize to the same pieces: their ids are the old ids renumbered, and their
//! embeddings do not change at all.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail, Context, Result};
use candle_core::Tensor;
use serde_json::Value;
use tokenizers::Tokenizer;

/// The Hugging Face name of the word-embedding table.
pub const WORD_EMBEDDINGS: &str = "embeddings.word_embeddings.weight";

/// The Hugging Face name of the position-embedding table.
pub const POSITION_EMBEDDINGS: &str = "embeddings.position_embeddings.weight";

#[derive(Debug, Clone)]
pub struct TrimmedVocab {
    /// The old id of each new id (ascending).
    pub kept: Vec<u32>,
    /// The new id of each old id, `None` where the token was dropped.
    pub new_ids: Vec<Option<u32>>,
    /// The rewritten `tokenizer.json`.
    pub tokenizer_json: Vec<u8>,
    /// Pieces the texts used, special and single-character pieces not counted.
    pub used: usize,
}

impl TrimmedVocab {
    pub fn old_size(&self) -> usize {
        self.new_ids.len()
    }

    pub fn new_size(&self) -> usize {
        self.kept.len()
    }

    /// Old token ids as new ones; an error names a dropped token id.
    pub fn remap(&self, old: &[u32]) -> Result<Vec<u32>> {
        old.iter()
            .map(|&id| {
                self.new_ids
                    .get(id as usize)
                    .copied()
                    .flatten()
                    .ok_or_else(|| anyhow!("token id {id} is not in the trimmed vocabulary"))
            })
            .collect()
    }

    /// The `[vocab, hidden]` word embeddings cut to the kept rows.
    pub fn slice_embeddings(&self, word_embeddings: &Tensor) -> Result<Tensor> {
        let (rows, _) = word_embeddings.dims2()?;
        if rows != self.old_size() {
            bail!(
                "the word embeddings have {rows} rows but the tokenizer has {} tokens",
                self.old_size()
            );
        }
        let index = Tensor::new(self.kept.as_slice(), word_embeddings.device())?;
        Ok(word_embeddings.index_select(&index, 0)?)
    }
}

/// The character of a one-character WordPiece token, alone or as a continuation (`##x`).
fn single_character(token: &str, prefix: &str) -> Option<char> {
    let rest = token.strip_prefix(prefix).unwrap_or(token);
    let mut chars = rest.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// Trims the WordPiece `tokenizer_json` to what `texts` need (see the module documentation).
pub fn trim_vocabulary<S: AsRef<str>>(tokenizer_json: &[u8], texts: &[S]) -> Result<TrimmedVocab> {
    let mut json: Value =
        serde_json::from_slice(tokenizer_json).context("tokenizer.json is not JSON")?;
    let model = &json["model"];
    if model["type"] != "WordPiece" {
        bail!(
            "only WordPiece tokenizers can be trimmed; this one's model is {}",
            model["type"]
        );
    }
    let prefix = model["continuing_subword_prefix"]
        .as_str()
        .unwrap_or("##")
        .to_string();
    let vocab = model["vocab"]
        .as_object()
        .context("tokenizer.json has no model.vocab map")?;
    let mut tokens: Vec<Option<&str>> = vec![None; vocab.len()];
    for (token, id) in vocab {
        let slot = id
            .as_u64()
            .and_then(|id| tokens.get_mut(id as usize))
            .with_context(|| format!("token {token:?} has id {id}, not in 0..{}", vocab.len()))?;
        if slot.replace(token).is_some() {
            bail!("id {id} is given to two tokens");
        }
    }
    let tokens: Vec<String> = tokens
        .into_iter()
        .map(|t| t.expect("ids 0..n each once").to_string())
        .collect();
    let model = model.clone();

    // Every piece of the whole texts (no truncation), without special tokens (kept below).
    let mut full = Tokenizer::from_bytes(tokenizer_json)
        .map_err(|e| anyhow!("cannot read the tokenizer: {e}"))?;
    full.with_truncation(None)
        .map_err(|e| anyhow!("cannot turn truncation off: {e}"))?;
    full.with_padding(None);
    let mut used = BTreeSet::new();
    for text in texts {
        let encoding = full
            .encode(text.as_ref(), false)
            .map_err(|e| anyhow!("cannot tokenize {:?}: {e}", text.as_ref()))?;
        used.extend(encoding.get_ids().iter().copied());
    }
    let mut keep = used.clone();
    if let Some(added) = json["added_tokens"].as_array() {
        keep.extend(
            added
                .iter()
                .filter_map(|t| t["id"].as_u64())
                .map(|id| id as u32),
        );
    }
    // The post-processor's special tokens ([CLS], [SEP]) and the padding token.
    let post = &json["post_processor"];
    if let Some(specials) = post["special_tokens"].as_object() {
        for special in specials.values() {
            if let Some(ids) = special["ids"].as_array() {
                keep.extend(ids.iter().filter_map(Value::as_u64).map(|id| id as u32));
            }
        }
    }
    for key in ["sep", "cls"] {
        if let Some(id) = post[key][1].as_u64() {
            keep.insert(id as u32);
        }
    }
    if let Some(id) = json["padding"]["pad_id"].as_u64() {
        keep.insert(id as u32);
    }
    if let Some(unk) = model["unk_token"].as_str() {
        let id = vocab
            .get(unk)
            .and_then(Value::as_u64)
            .with_context(|| format!("the unknown token {unk:?} is not in the vocabulary"))?;
        keep.insert(id as u32);
    }
    // Characters of the texts as the (lower-casing) normaliser may see them.
    let script: BTreeSet<char> = texts
        .iter()
        .flat_map(|t| t.as_ref().chars().flat_map(char::to_lowercase))
        .collect();
    keep.extend(
        tokens
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                single_character(t, &prefix).is_some_and(|c| c.is_ascii() || script.contains(&c))
            })
            .map(|(id, _)| id as u32),
    );
    if let Some(&id) = keep.iter().find(|&&id| id as usize >= tokens.len()) {
        bail!(
            "the tokenizer names token id {id}, outside its vocabulary of {}",
            tokens.len()
        );
    }
    let kept: Vec<u32> = keep.into_iter().collect();
    let mut new_ids = vec![None; tokens.len()];
    for (new, &old) in kept.iter().enumerate() {
        new_ids[old as usize] = Some(new as u32);
    }
    let remap_id = |old: u64| -> Result<u64> {
        new_ids
            .get(old as usize)
            .copied()
            .flatten()
            .map(u64::from)
            .ok_or_else(|| anyhow!("token id {old} is not in the trimmed vocabulary"))
    };

    let new_vocab: serde_json::Map<String, Value> = kept
        .iter()
        .enumerate()
        .map(|(new, &old)| (tokens[old as usize].to_string(), Value::from(new as u64)))
        .collect();
    json["model"]["vocab"] = Value::Object(new_vocab);
    if let Some(added) = json["added_tokens"].as_array_mut() {
        for token in added {
            if let Some(id) = token["id"].as_u64() {
                token["id"] = remap_id(id)?.into();
            }
        }
    }
    if let Some(id) = json["padding"]["pad_id"].as_u64() {
        json["padding"]["pad_id"] = remap_id(id)?.into();
    }
    let post = &mut json["post_processor"];
    match post["type"].as_str() {
        None => {}
        Some("TemplateProcessing") => {
            if let Some(specials) = post["special_tokens"].as_object_mut() {
                for special in specials.values_mut() {
                    if let Some(ids) = special["ids"].as_array_mut() {
                        for id in ids {
                            let old = id.as_u64().context("a special token id is not a number")?;
                            *id = remap_id(old)?.into();
                        }
                    }
                }
            }
        }
        Some("BertProcessing") | Some("RobertaProcessing") => {
            for key in ["sep", "cls"] {
                let old = post[key][1]
                    .as_u64()
                    .with_context(|| format!("post_processor.{key} has no id"))?;
                post[key][1] = remap_id(old)?.into();
            }
        }
        Some(other) => bail!("cannot renumber the special tokens of a `{other}` post-processor"),
    }
    let tokenizer_json = serde_json::to_vec(&json)?;
    // The result must load.
    Tokenizer::from_bytes(&tokenizer_json)
        .map_err(|e| anyhow!("the trimmed tokenizer does not load: {e}"))?;
    let used = used
        .iter()
        .filter(|&&id| single_character(&tokens[id as usize], &prefix).is_none())
        .count();
    Ok(TrimmedVocab {
        kept,
        new_ids,
        tokenizer_json,
        used,
    })
}

/// Keeps the first `layers` encoder layers of `weights` (Hugging Face names): the rest of the
/// `encoder.layer.{i}.` tensors are dropped.
pub fn keep_layers(weights: &mut BTreeMap<String, Tensor>, layers: usize) {
    weights.retain(|name, _| {
        name.strip_prefix("encoder.layer.")
            .and_then(|rest| rest.split('.').next())
            .and_then(|i| i.parse::<usize>().ok())
            .is_none_or(|i| i < layers)
    });
}

/// Keeps the first `max_len` rows of the position embeddings: the edge truncates every text to
/// `max_len` tokens, so the other rows (448 of BERT's 512 at 64 tokens) are never read.
pub fn keep_positions(weights: &mut BTreeMap<String, Tensor>, max_len: usize) -> Result<()> {
    let table = weights
        .get(POSITION_EMBEDDINGS)
        .with_context(|| format!("the encoder has no `{POSITION_EMBEDDINGS}`"))?;
    let rows = table.dim(0)?;
    if max_len > rows {
        bail!("cannot keep {max_len} positions of {rows}");
    }
    let kept = table.narrow(0, 0, max_len)?;
    weights.insert(POSITION_EMBEDDINGS.to_string(), kept);
    Ok(())
}
