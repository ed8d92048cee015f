//! Item text vectors for a bundle: each catalog item's text ([`CatalogItem::text`]) embedded by
//! a text-encoder bundle with the edge's own `TextEmbedder` (int8 kernels, the same bits as at
//! the edge), so a query embedded at the edge lands in the same space as the items.

use std::collections::HashMap;

use anyhow::{Context, Result};
use edgerec::training::model::{Compute, TextEmbedder};
use edgerec::training::TextIndex;

use crate::events::CatalogItem;
use crate::progress;

/// What [`item_text_index`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemTextSummary {
    pub items: usize,
    /// Items whose catalog row has a text.
    pub with_text: usize,
    /// Distinct texts embedded (items often share one, e.g. category and brand).
    pub distinct_texts: usize,
}

/// Loads a text-encoder bundle as the edge does.
pub fn read_encoder(path: &std::path::Path) -> Result<TextEmbedder> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    TextEmbedder::from_bundle_bytes(&bytes, None, Compute::Quantized)
        .with_context(|| format!("{} is not a usable text-encoder bundle", path.display()))
}

/// The vectors of `texts`, in order, on all cores with a progress bar (`what`): in batches of
/// similar length, or `one_by_one` as the edge embeds a single text (a batch pads).
pub fn embed_all(
    encoder: &TextEmbedder,
    texts: &[&str],
    what: &str,
    one_by_one: bool,
) -> Result<Vec<Vec<f32>>> {
    let bar = progress::bar(texts.len() as u64, what);
    let chunks: Vec<&[&str]> = texts
        .chunks(edgerec::training::model::text::EMBED_BATCH)
        .collect();
    let embedded = crate::stats::parallel_map(chunks.len(), |c| {
        let rows = if one_by_one {
            chunks[c].iter().map(|t| encoder.embed_one(t)).collect()
        } else {
            encoder.embed(chunks[c])
        };
        bar.inc(chunks[c].len() as u64);
        rows
    });
    bar.finish_and_clear();
    let mut out = Vec::with_capacity(texts.len());
    for rows in embedded {
        out.extend(rows.with_context(|| format!("embedding the {what}"))?);
    }
    Ok(out)
}

/// The text index of `item_ids` from catalog `rows` (the last row of an item wins), embedded by
/// `encoder`; items without a row or text get none.
pub fn item_text_index(
    item_ids: &[String],
    rows: &[CatalogItem],
    encoder: &TextEmbedder,
) -> Result<(TextIndex, ItemTextSummary)> {
    let mut latest: HashMap<&str, &CatalogItem> = HashMap::new();
    for row in rows {
        latest.insert(row.item_id.as_str(), row);
    }
    let texts: Vec<Option<String>> = item_ids
        .iter()
        .map(|id| latest.get(id.as_str()).and_then(|r| r.text()))
        .collect();
    let mut distinct: Vec<&str> = texts.iter().flatten().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let embedded = embed_all(encoder, &distinct, "item texts", false)?;
    let vector_of: HashMap<&str, Vec<f32>> = distinct.iter().copied().zip(embedded).collect();
    let vectors: Vec<Vec<f32>> = texts
        .iter()
        .map(|t| t.as_deref().map_or_else(Vec::new, |t| vector_of[t].clone()))
        .collect();
    let summary = ItemTextSummary {
        items: item_ids.len(),
        with_text: texts.iter().filter(|t| t.is_some()).count(),
        distinct_texts: distinct.len(),
    };
    Ok((
        TextIndex::new(&vectors, encoder.dimension(), encoder.encoder_id()),
        summary,
    ))
}
