//! The transformer in a bundle: export (the trainer) and loading (the edge).
//!
//! Sections of a `sasrec` bundle:
//!
//! | section            | encoding     | content                                                  |
//! |--------------------|--------------|----------------------------------------------------------|
//! | `weights`          | `gguf`       | GGUF v2: every encoder weight, each in its policy's type |
//! | `item_vectors`     | `i8rows`/`f32le` | the item table `[items, hidden]` (raw, not normalised) |
//! | `item_scales`      | `f32le`      | one scale per row (only with `i8rows`)                   |
//! | `item_ids`         | `utf8-lines` | external item ids, in table order                        |
//! | `popularity_order` | `u32le`      | item indices, most popular first (empty-history answer)  |
//!
//! The manifest's `model_params` hold `config` (a [`SasRecConfig`]) and `policy` (the
//! [`QuantPolicy`] the weights were stored with); `counts` hold `items` and `tensors`.

use std::collections::{BTreeMap, HashMap};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::ops::Compute;
use super::quant::{quantize_to_gguf, QuantPolicy, StoredTensor};
use super::sasrec::{SasRec, SasRecConfig};
use super::weights::{expected_shapes, model_params, CheckedWeights, WEIGHTS_SECTION};
use crate::bundle::{
    f32_bytes, f32_section, int8_rows_sections, item_ids_section, popularity_section, u32_bytes,
    Bundle, BundleWriter,
};
use crate::error::BundleError;
use crate::kernels::Int8Rows;

pub const SASREC_KIND: &str = crate::bundle::ModelKind::SasRec.as_str();

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SasRecParams {
    config: SasRecConfig,
    policy: QuantPolicy,
    /// How the engine blends V-SKNN with the transformer ([`ServingModel::session_blend`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_knn: Option<crate::session_knn::SessionBlend>,
}

/// What the trainer hands over to make a bundle.
pub struct ExportParts<'a> {
    pub config: &'a SasRecConfig,
    /// The model's variables by name (the item id embedding is left out: the table replaces it).
    pub weights: &'a BTreeMap<String, Tensor>,
    /// `[items, hidden]`, from [`SasRec::item_table`].
    pub item_table: &'a Tensor,
    pub item_ids: &'a [String],
    pub popularity_order: &'a [u32],
}

/// Quantizes the parts by `policy` into a bundle writer (the caller adds metrics and lineage).
/// Returns what each tensor became.
pub fn export(
    parts: &ExportParts<'_>,
    policy: &QuantPolicy,
    created_at: String,
) -> candle_core::Result<(BundleWriter, Vec<StoredTensor>)> {
    policy.validate().map_err(candle_core::Error::Msg)?;
    let encoder: BTreeMap<String, Tensor> = parts
        .weights
        .iter()
        .filter(|(name, _)| name.as_str() != "item_embedding")
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect();
    let (gguf, stored) = quantize_to_gguf(&encoder, policy)?;
    let params = SasRecParams {
        config: parts.config.clone(),
        policy: policy.clone(),
        session_knn: None,
    };
    let mut w = BundleWriter::new(
        SASREC_KIND,
        serde_json::to_value(&params).expect("params serialise"),
        created_at,
    );
    let (n, hidden) = parts.item_table.dims2()?;
    let table: Vec<f32> = parts.item_table.flatten_all()?.to_vec1()?;
    w.count("items", n as u64)
        .count("tensors", stored.len() as u64)
        .section(WEIGHTS_SECTION, "gguf", &gguf);
    if policy.item_table == "i8" {
        let rows = Int8Rows::quantize(&table, hidden);
        w.section("item_vectors", "i8rows", &rows.value_bytes())
            .section("item_scales", "f32le", &f32_bytes(&rows.scales));
    } else {
        w.section("item_vectors", "f32le", &f32_bytes(&table));
    }
    w.section(
        "item_ids",
        "utf8-lines",
        parts.item_ids.join("\n").as_bytes(),
    )
    .section(
        "popularity_order",
        "u32le",
        &u32_bytes(parts.popularity_order),
    );
    Ok((w, stored))
}

/// The tensors (names and shapes) a serving model of `cfg` reads.
fn sasrec_shapes(cfg: &SasRecConfig) -> candle_core::Result<BTreeMap<String, Vec<usize>>> {
    expected_shapes(|vb| SasRec::for_serving(cfg, vb, Compute::Dequantized).map(drop))
}

/// [`ServingModel::recommend`]'s answer: `(id, score)` best first, and the history ids the
/// model does not know.
#[derive(Debug, Clone, PartialEq)]
pub struct NextItems {
    pub items: Vec<(String, f32)>,
    pub ignored: Vec<String>,
}

/// The largest dimension (width, layer count, vocabulary) a bundle's configuration may declare:
/// far above any model the edge serves, low enough that shape arithmetic cannot overflow.
pub const MAX_CONFIG_DIMENSION: usize = 1 << 24;

/// A transformer loaded from a bundle, ready to score.
pub struct ServingModel {
    pub model: SasRec,
    /// `[items, hidden]` item representations (dequantized from the bundle).
    pub table: Tensor,
    pub item_ids: Vec<String>,
    pub popularity_order: Vec<u32>,
    pub policy: QuantPolicy,
    pub compute: Compute,
    /// `model_params.session_knn`, as read (the engine checks it and loads the session index).
    pub session_blend: Option<crate::session_knn::SessionBlend>,
    /// Item id -> index, made on first use: the engine keeps its own, so serving through it
    /// never builds this one.
    index_of: std::sync::OnceLock<HashMap<String, u32>>,
    /// [`SasRec::scoring_table`] of `table`, for scoring every item exactly
    /// ([`Self::next_item_scores`]): made on first use, since the engine's retrieval never needs
    /// it (11 MB for DIGINETICA, and a strided copy at load).
    scoring: std::sync::OnceLock<Tensor>,
    /// The scoring table item-major (`[items, hidden]`, normalised for a cosine head): the
    /// exact re-scoring of retrieved candidates reads rows from it.
    rows: Vec<f32>,
    /// `rows` in int8, one scale per row: retrieval over the whole catalog.
    index: Int8Rows,
}

impl ServingModel {
    /// Loads and checks everything: configuration, every tensor's presence, shape and values,
    /// the item table against the item count.
    pub fn from_bundle(bundle: &Bundle<'_>, compute: Compute) -> Result<Self, BundleError> {
        let params: SasRecParams = model_params(bundle, SASREC_KIND, |p: &SasRecParams| &p.policy)?;
        let cfg = params.config;
        cfg.validate()
            .map_err(|e| BundleError::InvalidManifest(format!("model_params.config: {e}")))?;
        for (field, value) in [
            ("hidden", cfg.hidden),
            ("layers", cfg.layers),
            ("heads", cfg.heads),
            ("max_len", cfg.max_len),
            ("ffn", cfg.ffn),
            ("text_dim", cfg.text_dim),
            ("num_attributes", cfg.num_attributes),
            ("attributes_per_item", cfg.attributes_per_item),
            ("conversion_hidden", cfg.conversion_hidden),
        ] {
            if value > MAX_CONFIG_DIMENSION {
                return Err(BundleError::InvalidManifest(format!(
                    "model_params.config.{field} is {value}; the limit is {MAX_CONFIG_DIMENSION}"
                )));
            }
        }
        if !(cfg.temperature.is_finite() && cfg.temperature >= 0.0) {
            return Err(BundleError::InvalidManifest(format!(
                "model_params.config.temperature must be finite and >= 0, got {}",
                cfg.temperature
            )));
        }
        let n_items = bundle.count("items")?;
        if n_items != cfg.num_items as u64 {
            return Err(BundleError::ManifestMismatch(format!(
                "counts.items is {n_items} but the model configuration has {} items",
                cfg.num_items
            )));
        }
        let item_ids = item_ids_section(bundle, n_items)?;
        let popularity_order = popularity_section(bundle, n_items)?;
        let table_values = read_item_table(bundle, &params.policy, cfg.num_items, cfg.hidden)?;
        // The cosine head's item side, item-major, straight from the values (what
        // `SasRec::scoring_table` computes, without its transposed copy).
        let mut rows = table_values.clone();
        if cfg.temperature > 0.0 {
            rows.chunks_exact_mut(cfg.hidden).for_each(normalize);
        }
        let table = Tensor::from_vec(table_values, (cfg.num_items, cfg.hidden), &Device::Cpu)
            .map_err(|e| BundleError::InvalidSection {
                name: "item_vectors".into(),
                problem: e.to_string(),
            })?;

        // Each layer has tensors of its own: more layers than the manifest counts tensors cannot
        // match, and would only make the shape walk long.
        let tensors = bundle.count("tensors")?;
        if cfg.layers as u64 > tensors {
            return Err(BundleError::ManifestMismatch(format!(
                "model_params.config.layers is {} but the weights hold only {tensors} tensors",
                cfg.layers
            )));
        }
        let expected =
            sasrec_shapes(&cfg).map_err(|e| BundleError::ManifestMismatch(e.to_string()))?;
        let weights = CheckedWeights::read(bundle, &expected)?;
        let model = SasRec::for_serving(&cfg, weights.var_builder(), compute)
            .map_err(|e| BundleError::ManifestMismatch(e.to_string()))?;
        let index = Int8Rows::quantize(&rows, cfg.hidden);
        Ok(ServingModel {
            scoring: std::sync::OnceLock::new(),
            rows,
            index,
            model,
            table,
            item_ids,
            popularity_order,
            policy: params.policy,
            compute,
            session_blend: params.session_knn,
            index_of: std::sync::OnceLock::new(),
        })
    }
}

/// `item_vectors` (+ `item_scales`) as f32 values `[items, hidden]`, row-major, checked.
fn read_item_table(
    bundle: &Bundle<'_>,
    policy: &QuantPolicy,
    n_items: usize,
    hidden: usize,
) -> Result<Vec<f32>, BundleError> {
    let data = if policy.item_table == "i8" {
        int8_rows_sections(
            bundle,
            ["item_vectors", "item_scales"],
            n_items,
            hidden,
            "items x hidden",
        )?
        .dequantize()
    } else {
        let values = f32_section("item_vectors", bundle.section("item_vectors")?)?;
        if Some(values.len()) != n_items.checked_mul(hidden) {
            return Err(BundleError::ManifestMismatch(format!(
                "item_vectors holds {} values, expected items x hidden = {n_items} x {hidden}",
                values.len()
            )));
        }
        if let Some(v) = values.iter().find(|v| !v.is_finite()) {
            return Err(BundleError::OutOfRange {
                section: "item_vectors".into(),
                problem: format!("holds {v}"),
            });
        }
        values
    };
    Ok(data)
}

impl ServingModel {
    pub fn item_index(&self, id: &str) -> Option<u32> {
        self.index_of().get(id).copied()
    }

    fn index_of(&self) -> &HashMap<String, u32> {
        self.index_of.get_or_init(|| {
            self.item_ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), i as u32))
                .collect()
        })
    }

    /// The `k` best next items (ids and scores, best first, ties by item index) after a history
    /// of item ids (oldest first; unknown ids are skipped and returned). An empty history gets
    /// the most popular items with score 0.
    pub fn recommend(&self, history: &[&str], k: usize) -> candle_core::Result<NextItems> {
        let (known, unknown): (Vec<&str>, Vec<&str>) = history
            .iter()
            .partition(|id| self.index_of().contains_key(**id));
        let unknown: Vec<String> = unknown.into_iter().map(str::to_string).collect();
        if known.is_empty() {
            let popular = self.popularity_order.iter().take(k);
            let items = popular
                .map(|&i| (self.item_ids[i as usize].clone(), 0.0))
                .collect();
            return Ok(NextItems {
                items,
                ignored: unknown,
            });
        }
        let known: Vec<u32> = known.iter().map(|id| self.index_of()[*id]).collect();
        let batch = self.batch(&known)?;
        let scores: Vec<f32> = self.next_item_scores(&batch)?.squeeze(0)?.to_vec1()?;
        let mut order: Vec<u32> = (0..scores.len() as u32).collect();
        let k = k.min(order.len());
        let by_score = |a: &u32, b: &u32| {
            scores[*b as usize]
                .total_cmp(&scores[*a as usize])
                .then(a.cmp(b))
        };
        if k > 0 {
            order.select_nth_unstable_by(k - 1, by_score);
        }
        order.truncate(k);
        order.sort_by(by_score);
        let items = order
            .into_iter()
            .map(|i| (self.item_ids[i as usize].clone(), scores[i as usize]))
            .collect();
        Ok(NextItems {
            items,
            ignored: unknown,
        })
    }

    pub fn item_count(&self) -> usize {
        self.item_ids.len()
    }

    /// A history of item indices as the model's input: each a click of unknown time (for a
    /// funnel model, which reads kinds and times, the best a bare item list can say).
    fn batch(&self, history: &[u32]) -> candle_core::Result<super::SeqBatch> {
        let events: Vec<super::TimedEvent> = history
            .iter()
            .map(|&item| super::TimedEvent {
                item,
                kind: super::EventKind::Click,
                time_ms: None,
            })
            .collect();
        let row = self.model.config().input_row(&events, None);
        super::SeqBatch::from_rows(&[row], self.model.config().max_len, &Device::Cpu)
    }

    /// The query vector of a history (item indices, oldest first, at least one): the
    /// encoder's state after the last event, normalised for a cosine head. Its dot product
    /// with an item's row, over the temperature, is that item's next-item score.
    pub fn query(&self, history: &[u32]) -> candle_core::Result<Vec<f32>> {
        if history.is_empty() {
            candle_core::bail!("a query needs at least one history item");
        }
        let batch = self.batch(history)?;
        let hidden = self.model.encode(&batch, &self.table, None)?;
        let state = self.model.states_at(&hidden, &batch.last_positions())?;
        let mut q: Vec<f32> = state.flatten_all()?.to_vec1()?;
        if self.model.config().temperature > 0.0 {
            normalize(&mut q);
        }
        Ok(q)
    }

    /// The `n` items with the highest approximate score for `query` among those `keep`
    /// accepts (int8 dot products over the whole catalog), best first.
    pub fn retrieve(&self, query: &[f32], n: usize, keep: impl Fn(u32) -> bool) -> Vec<u32> {
        self.index
            .top(query, n, keep)
            .into_iter()
            .map(|(i, _)| i)
            .collect()
    }

    /// The exact next-item score of `item` for `query` (what [`Self::next_item_scores`]
    /// gives, up to f32 summation order).
    pub fn score(&self, query: &[f32], item: u32) -> f32 {
        let dot = dot_f32(query, self.item_row(item));
        match self.model.config().temperature {
            t if t > 0.0 => dot / t,
            _ => dot,
        }
    }

    /// An item's row of the scoring table (unit length for a cosine head).
    pub fn item_row(&self, item: u32) -> &[f32] {
        let h = self.model.config().hidden;
        &self.rows[item as usize * h..(item as usize + 1) * h]
    }

    /// Cosine similarity of two items' representations.
    pub fn similarity(&self, a: u32, b: u32) -> f32 {
        let (x, y) = (self.item_row(a), self.item_row(b));
        let norms = (dot_f32(x, x) * dot_f32(y, y)).sqrt();
        if norms > 0.0 {
            dot_f32(x, y) / norms
        } else {
            0.0
        }
    }

    /// Whether the model has conversion heads (p(click), p(cart), p(purchase)).
    pub fn has_conversion_heads(&self) -> bool {
        self.model.config().conversion_hidden > 0
    }

    /// p(click), p(cart), p(purchase) (ESMM: each the product of the funnel's steps) of each
    /// of `items` after `events` (oldest first) at time `now_ms`, encoded as the model was
    /// trained ([`SasRecConfig::input_row`]).
    pub fn conversion(
        &self,
        events: &[super::TimedEvent],
        now_ms: Option<i64>,
        items: &[u32],
    ) -> candle_core::Result<Vec<super::ConversionProbabilities>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let row = self.model.config().input_row(events, now_ms);
        let batch = super::SeqBatch::from_rows(&[row], self.model.config().max_len, &Device::Cpu)?;
        let hidden = self.model.encode(&batch, &self.table, None)?;
        let state = self.model.states_at(&hidden, &batch.last_positions())?;
        let states = state.broadcast_as((items.len(), self.model.config().hidden))?;
        let index = Tensor::from_slice(items, items.len(), &Device::Cpu)?;
        let candidates = self.table.index_select(&index, 0)?;
        let logits = self
            .model
            .conversion_logits(&states.contiguous()?, &candidates)?;
        let p = self
            .model
            .conversion_probabilities(&logits)?
            .to_vec2::<f32>()?;
        Ok(p.into_iter()
            .map(|row| super::ConversionProbabilities {
                click: row[0],
                cart: row[1],
                purchase: row[2],
            })
            .collect())
    }

    /// Next-item scores `[P, items]` for the last position of each row of `batch`.
    pub fn next_item_scores(&self, batch: &super::SeqBatch) -> candle_core::Result<Tensor> {
        let hidden = self.model.encode(batch, &self.table, None)?;
        let states = self.model.states_at(&hidden, &batch.last_positions())?;
        let scoring = match self.scoring.get() {
            Some(scoring) => scoring,
            None => {
                let scoring = self.model.scoring_table(&self.table)?;
                self.scoring.get_or_init(|| scoring)
            }
        };
        self.model.next_item_logits_with(&states, scoring)
    }
}

/// Summed in one fixed order, so every platform gives the same bits.
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    crate::kernels::float::dot(a, b)
}

/// As the model's `l2_normalize`: `x / sqrt(|x|² + 1e-12)`.
fn normalize(v: &mut [f32]) {
    let norm = (dot_f32(v, v) + 1e-12).sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::BundleSigner;
    use crate::model::testing::{
        max_diff, rebuilt, sasrec_bundle as bundle_bytes, sasrec_model as trained,
    };
    use crate::model::{EventKind, ItemFeatures, SeqBatch};

    fn batch() -> SeqBatch {
        let rows: Vec<Vec<(u32, u32, u32)>> = vec![
            vec![
                (3, EventKind::Click as u32, 0),
                (7, EventKind::Cart as u32, 4),
            ],
            vec![(11, EventKind::View as u32, 0)],
            (0..10)
                .map(|i| (i * 3, EventKind::Click as u32, 0))
                .collect(),
        ];
        SeqBatch::from_rows(&rows, 8, &Device::Cpu).unwrap()
    }

    fn scores(m: &ServingModel) -> Vec<Vec<f32>> {
        m.next_item_scores(&batch()).unwrap().to_vec2().unwrap()
    }

    fn load(bytes: &[u8], compute: Compute) -> Result<ServingModel, BundleError> {
        ServingModel::from_bundle(&Bundle::parse(bytes)?, compute)
    }

    #[test]
    fn f32_bundle_scores_exactly_like_the_trained_model() {
        let (model, _) = trained();
        let table = model.item_table(&ItemFeatures::none()).unwrap();
        let b = batch();
        let hidden = model.encode(&b, &table, None).unwrap();
        let states = model.states_at(&hidden, &b.last_positions()).unwrap();
        let reference: Vec<Vec<f32>> = model
            .next_item_logits(&states, &table)
            .unwrap()
            .to_vec2()
            .unwrap();
        let served = load(&bundle_bytes("f32"), Compute::Dequantized).unwrap();
        assert_eq!(scores(&served), reference);
        assert_eq!(served.item_ids[5], "item5");
        assert_eq!(served.popularity_order[0], 39);
        // `recommend` answers the same as the scores: the third row's history is 0, 3, ..., 27
        // (the last 8 of 0..30 step 3 are kept by the batch, as by `recommend`).
        let history: Vec<String> = (0..10).map(|i| format!("item{}", i * 3)).collect();
        let refs: Vec<&str> = history.iter().map(String::as_str).collect();
        let answer = served
            .recommend(&[&refs[..], &["nope"]].concat(), 5)
            .unwrap();
        assert_eq!(answer.ignored, vec!["nope".to_string()]);
        let top = answer.items;
        let row = &reference[2];
        let mut best: Vec<usize> = (0..row.len()).collect();
        best.sort_by(|a, b| row[*b].total_cmp(&row[*a]).then(a.cmp(b)));
        let expected: Vec<(String, f32)> = best[..5]
            .iter()
            .map(|&i| (format!("item{i}"), row[i]))
            .collect();
        // Same items; scores equal up to the rounding of a 1-row vs a 3-row batch.
        let ids = |v: &[(String, f32)]| v.iter().map(|p| p.0.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&top), ids(&expected));
        assert!(top
            .iter()
            .zip(&expected)
            .all(|(a, b)| (a.1 - b.1).abs() < 1e-5));
        let popular = served.recommend(&[], 3).unwrap().items;
        assert_eq!(popular[0].0, "item39");
    }

    #[test]
    fn quantized_bundles_stay_close_in_both_compute_paths() {
        let reference = scores(&load(&bundle_bytes("f32"), Compute::Dequantized).unwrap());
        for (policy, tolerance) in [("q8", 0.2), ("q4", 2.0)] {
            let bytes = bundle_bytes(policy);
            let dequantized = scores(&load(&bytes, Compute::Dequantized).unwrap());
            let quantized = scores(&load(&bytes, Compute::Quantized).unwrap());
            // Scores are cosine / temperature (range ±10): small absolute error.
            let d = max_diff(&reference, &dequantized);
            assert!(d > 0.0 && d < tolerance, "{policy} dequantized: {d}");
            // The kernels requantize to int8 rows and quantize activations: a little further.
            let q = max_diff(&reference, &quantized);
            assert!(q > 0.0 && q < 2.0 * tolerance, "{policy} kernels: {q}");
        }
        assert!(bundle_bytes("q4").len() < bundle_bytes("q8").len());
        assert!(bundle_bytes("q8").len() < bundle_bytes("f32").len());
    }

    fn refused(bytes: Vec<u8>, code: &str, words: &str) {
        let err = load(&bytes, Compute::Dequantized)
            .err()
            .unwrap_or_else(|| panic!("accepted, expected {code} naming {words}"));
        assert_eq!(err.code(), code, "{err}");
        assert!(err.to_string().contains(words), "{err}");
    }

    #[test]
    fn a_manifest_that_does_not_match_the_weights_is_refused() {
        let good = bundle_bytes("q8");
        assert!(load(&rebuilt(&good, |_, _| {}, |_, _| {}), Compute::Dequantized).is_ok());
        refused(
            rebuilt(&good, |p, _| p["config"]["ffn"] = 128.into(), |_, _| {}),
            "manifest_mismatch",
            "blocks.0.down.weight",
        );
        refused(
            rebuilt(&good, |p, _| p["config"]["layers"] = 1.into(), |_, _| {}),
            "manifest_mismatch",
            "blocks.1",
        );
        refused(
            rebuilt(&good, |p, _| p["config"]["layers"] = 3.into(), |_, _| {}),
            "manifest_mismatch",
            "blocks.2",
        );
        refused(
            rebuilt(
                &good,
                |p, _| p["config"]["num_items"] = 41.into(),
                |_, _| {},
            ),
            "manifest_mismatch",
            "41 items",
        );
        refused(
            rebuilt(&good, |p, _| p["config"]["hidden"] = 48.into(), |_, _| {}),
            "manifest_mismatch",
            "hidden",
        );
        refused(
            rebuilt(
                &good,
                |p, _| p["policy"]["item_table"] = "f32".into(),
                |_, _| {},
            ),
            "manifest_mismatch",
            "item_vectors",
        );
        refused(
            rebuilt(&good, |p, _| p["config"]["heads"] = 5.into(), |_, _| {}),
            "invalid_manifest",
            "multiple of heads",
        );
        refused(
            rebuilt(
                &good,
                |p, _| p["policy"]["default"] = "q9".into(),
                |_, _| {},
            ),
            "invalid_manifest",
            "unknown weight type",
        );
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let good = bundle_bytes("q8");
        let nan_scale = |name: &str, data: &mut Vec<u8>| {
            if name == "item_scales" {
                data[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
            }
        };
        refused(
            rebuilt(&good, |_, _| {}, nan_scale),
            "out_of_range",
            "row 2",
        );
        let min_value = |name: &str, data: &mut Vec<u8>| {
            if name == "item_vectors" {
                data[5] = 0x80;
            }
        };
        refused(rebuilt(&good, |_, _| {}, min_value), "out_of_range", "-128");
        let bad_order = |name: &str, data: &mut Vec<u8>| {
            if name == "popularity_order" {
                data[0..4].copy_from_slice(&99u32.to_le_bytes());
            }
        };
        refused(
            rebuilt(&good, |_, _| {}, bad_order),
            "invalid_section",
            "index 99",
        );
        let not_gguf = |name: &str, data: &mut Vec<u8>| {
            if name == "weights" {
                data[0] ^= 0xff;
            }
        };
        refused(
            rebuilt(&good, |_, _| {}, not_gguf),
            "invalid_section",
            "GGUF",
        );
        let cut_gguf = |name: &str, data: &mut Vec<u8>| {
            if name == "weights" {
                data.truncate(data.len() / 2);
            }
        };
        refused(
            rebuilt(&good, |_, _| {}, cut_gguf),
            "invalid_section",
            "GGUF",
        );
    }

    /// Found by `cargo fuzz run model_sections`: the loader built a full random model of the
    /// manifest's configuration before comparing it with the weights, so a huge `ffn` or
    /// `layers` made it allocate without bound (or loop for ages).
    #[test]
    fn huge_configurations_are_refused_without_allocating() {
        let good = bundle_bytes("q8");
        // Below the cap: 2^24 x 32 floats would be 2 GiB if the model were built first.
        refused(
            rebuilt(
                &good,
                |p, _| p["config"]["ffn"] = MAX_CONFIG_DIMENSION.into(),
                |_, _| {},
            ),
            "manifest_mismatch",
            "blocks.0.down.weight",
        );
        refused(
            rebuilt(
                &good,
                |p, _| p["config"]["layers"] = (1 << 20).into(),
                |_, _| {},
            ),
            "manifest_mismatch",
            "layers",
        );
        for field in ["ffn", "hidden", "max_len", "text_dim", "conversion_hidden"] {
            refused(
                rebuilt(
                    &good,
                    |p, _| p["config"][field] = u64::MAX.into(),
                    |_, _| {},
                ),
                "invalid_manifest",
                field,
            );
        }
    }

    /// A GGUF image whose metadata sets `general.alignment` to 0 made candle's reader divide by
    /// zero; the loader refuses GGUF metadata before candle reads it.
    #[test]
    fn gguf_metadata_is_refused_before_candle_reads_it() {
        let good = bundle_bytes("q8");
        let zero_alignment = |name: &str, data: &mut Vec<u8>| {
            if name == "weights" {
                // header: magic, version, tensor count (u64), metadata count (u64) = 1
                let mut kv = Vec::new();
                let key = b"general.alignment";
                kv.extend_from_slice(&(key.len() as u64).to_le_bytes());
                kv.extend_from_slice(key);
                kv.extend_from_slice(&0u32.to_le_bytes()); // value type u8
                kv.push(0);
                data[16..24].copy_from_slice(&1u64.to_le_bytes());
                data.splice(24..24, kv);
            }
        };
        refused(
            rebuilt(&good, |_, _| {}, zero_alignment),
            "invalid_section",
            "metadata",
        );
    }

    #[test]
    fn signed_model_bundles_load_only_with_the_right_key() {
        let key = BundleSigner::from_bytes(&[1; 32]);
        let signed = key.sign(&bundle_bytes("q8")).unwrap();
        let b = Bundle::parse_trusted(&signed, Some(&key.public_key())).unwrap();
        assert!(ServingModel::from_bundle(&b, Compute::Dequantized).is_ok());
        let other = BundleSigner::from_bytes(&[2; 32]).public_key();
        assert_eq!(
            Bundle::parse_trusted(&signed, Some(&other))
                .unwrap_err()
                .code(),
            "untrusted_signer"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            #[test]
            fn a_changed_model_bundle_is_never_accepted(at in any::<prop::sample::Index>(), mask in 1u8..=255, cut in any::<prop::sample::Index>()) {
                let good = bundle_bytes("q8");
                let mut bytes = good.clone();
                let i = at.index(bytes.len());
                bytes[i] ^= mask;
                prop_assert!(load(&bytes, Compute::Dequantized).is_err());
                let cut = cut.index(good.len());
                prop_assert!(load(&good[..cut], Compute::Dequantized).is_err());
            }

            /// Past the checksum (re-assembled after the change), the loader may accept a
            /// changed weight value, but it never panics.
            #[test]
            fn the_model_loader_never_panics_on_changed_sections(section in 0usize..5, at in any::<prop::sample::Index>(), mask in 1u8..=255, cut in proptest::option::of(any::<prop::sample::Index>())) {
                let good = bundle_bytes("q8");
                let names = ["weights", "item_vectors", "item_scales", "item_ids", "popularity_order"];
                let changed = rebuilt(&good, |_, _| {}, |name, data| {
                    if name == names[section] && !data.is_empty() {
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
