//! The conversion model: a causal (SASRec-style) transformer over a user's recent events.
//!
//! One forward pass serves training (f32 weights in a `VarMap`, gradients through candle's
//! backprop) and the edge (weights from a bundle). Every op used here is differentiable
//! (candle-nn's fast softmax and layer-norm kernels have no backward pass, so they are not used).
//!
//! - Item representation: a learned id embedding, plus a projection of the item's text vector
//!   (from the pretrained text encoder) and the mean of its attribute embeddings (category,
//!   brand, price bucket, ...) where the data has them. An item never seen in training still
//!   gets a representation from its text and attributes.
//! - Sequence encoder: item + position + event-type + time-gap embeddings, pre-LN transformer
//!   blocks with causal self-attention.
//! - Next-item head: scaled cosine similarity between the sequence state and every item
//!   representation (CORE, Hou et al. 2022: normalised representations and a temperature make
//!   the encoder and the item table live in one space, which matters for short sessions).
//! - Conversion heads (ESMM, Ma et al. 2018): from the state and a candidate item,
//!   p(click), p(cart | click) and p(purchase | cart); p(cart) and p(purchase) are products, so
//!   the heads are trained over every exposure, not only over clicked items.

use candle_core::{DType, Device, IndexOp, Module, Result, Tensor, D};
use candle_nn::{Embedding, VarBuilder};

use super::ops::{self, linear, Compute, LayerNorm, Linear};
use serde::{Deserialize, Serialize};

/// Event types the sequence encoder distinguishes (index into the event-type embedding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    View = 0,
    Click = 1,
    Cart = 2,
    Purchase = 3,
}

pub const NUM_EVENT_KINDS: usize = 4;

/// The API's event types are the model's event kinds, one for one.
impl From<crate::api::EventType> for EventKind {
    fn from(kind: crate::api::EventType) -> Self {
        use crate::api::EventType;
        match kind {
            EventType::View => EventKind::View,
            EventType::Click => EventKind::Click,
            EventType::Cart => EventKind::Cart,
            EventType::Purchase => EventKind::Purchase,
        }
    }
}

impl From<EventKind> for crate::api::EventType {
    fn from(kind: EventKind) -> Self {
        use crate::api::EventType;
        match kind {
            EventKind::View => EventType::View,
            EventKind::Click => EventType::Click,
            EventKind::Cart => EventType::Cart,
            EventKind::Purchase => EventType::Purchase,
        }
    }
}

/// Time-gap buckets: 0 = unknown or first event, then log2-spaced seconds up to about 9 days.
pub const NUM_GAP_BUCKETS: usize = 22;

/// A history (item indices, oldest first) as the encoder's input row: every event a `Click`,
/// no time gap. The trainer encodes every shipped sequence data set this way (they carry no
/// event types or times it learns from), and serving must encode exactly as training did, so
/// both call this. An empty history becomes one `View` of item 0: the model then answers from
/// its position and event embeddings alone.
pub fn history_row(items: &[u32]) -> Vec<(u32, u32, u32)> {
    if items.is_empty() {
        return vec![(0, EventKind::View as u32, 0)];
    }
    items
        .iter()
        .map(|&i| (i, EventKind::Click as u32, 0))
        .collect()
}

/// The kind index of the marker a [`SequenceInput::Events`] row ends with: "the user is here
/// now", its gap bucket the time since their last event. Without it the model could not tell a
/// visitor active a minute ago from one gone for an hour.
pub const NOW_KIND: u32 = NUM_EVENT_KINDS as u32;

/// How a model's input rows are made from a user's events. Training and serving both call
/// [`SasRecConfig::input_row`], so the edge encodes exactly as the trainer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SequenceInput {
    /// Items only ([`history_row`]): sequence data sets without event types or times.
    #[default]
    Items,
    /// Typed, timed events ([`events_row`]) and a closing [`NOW_KIND`] marker: funnel data.
    Events,
}

/// One event of a user's history as the encoder sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedEvent {
    pub item: u32,
    pub kind: EventKind,
    /// Unix milliseconds, when known.
    pub time_ms: Option<i64>,
}

/// Events (oldest first) as the encoder's input row: each with its kind and the gap bucket of
/// the time since the event before it, then the [`NOW_KIND`] marker on the last item with the
/// gap from the last event to `now_ms`. No events: the marker alone, on item 0.
pub fn events_row(events: &[TimedEvent], now_ms: Option<i64>) -> Vec<(u32, u32, u32)> {
    let gap = |from: Option<i64>, to: Option<i64>| match (from, to) {
        (Some(a), Some(b)) => gap_bucket(Some((b - a).max(0) as f64 / 1000.0)),
        _ => gap_bucket(None),
    };
    let mut row: Vec<(u32, u32, u32)> = Vec::with_capacity(events.len() + 1);
    let mut previous: Option<i64> = None;
    for (i, e) in events.iter().enumerate() {
        let bucket = if i == 0 { 0 } else { gap(previous, e.time_ms) };
        row.push((e.item, e.kind as u32, bucket));
        previous = e.time_ms;
    }
    let last_item = events.last().map_or(0, |e| e.item);
    row.push((last_item, NOW_KIND, gap(previous, now_ms)));
    row
}

/// The bucket of the time between an event and the one before it (`None`: unknown).
pub fn gap_bucket(seconds: Option<f64>) -> u32 {
    match seconds {
        None => 0,
        Some(s) if s.is_nan() || s < 1.0 => 1,
        Some(s) => (2 + s.log2() as u32).min(NUM_GAP_BUCKETS as u32 - 1),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SasRecConfig {
    /// Catalog size; item indices are 0..num_items.
    pub num_items: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    /// Most recent events the encoder sees.
    pub max_len: usize,
    /// Width of the feed-forward layer inside each block.
    pub ffn: usize,
    pub dropout: f32,
    /// Dimension of the item text vectors (0: the data has no item text).
    pub text_dim: usize,
    /// Size of the attribute vocabulary (0: no attributes) and attributes per item.
    pub num_attributes: usize,
    pub attributes_per_item: usize,
    /// Softmax temperature of the cosine next-item scores (0: plain dot product).
    pub temperature: f32,
    /// Hidden width of the conversion heads (0: no conversion heads).
    pub conversion_hidden: usize,
    /// How input rows are made (absent in bundles made before funnel training: items).
    #[serde(default, skip_serializing_if = "is_items")]
    pub input: SequenceInput,
}

fn is_items(input: &SequenceInput) -> bool {
    *input == SequenceInput::Items
}

impl SasRecConfig {
    /// Rows of the event-kind embedding: the four kinds, and the now marker for event input.
    pub fn event_kinds(&self) -> usize {
        match self.input {
            SequenceInput::Items => NUM_EVENT_KINDS,
            SequenceInput::Events => NUM_EVENT_KINDS + 1,
        }
    }

    /// The encoder's input row for a history: [`history_row`] of its items, or [`events_row`],
    /// as the model was trained.
    pub fn input_row(&self, events: &[TimedEvent], now_ms: Option<i64>) -> Vec<(u32, u32, u32)> {
        match self.input {
            SequenceInput::Items => history_row(&events.iter().map(|e| e.item).collect::<Vec<_>>()),
            SequenceInput::Events => events_row(events, now_ms),
        }
    }

    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.num_items == 0 || self.hidden == 0 || self.layers == 0 || self.max_len == 0 {
            return Err("num_items, hidden, layers and max_len must be positive".into());
        }
        if self.heads == 0 || !self.hidden.is_multiple_of(self.heads) {
            return Err(format!(
                "hidden ({}) must be a multiple of heads ({})",
                self.hidden, self.heads
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout {} must be in [0, 1)", self.dropout));
        }
        if (self.num_attributes == 0) != (self.attributes_per_item == 0) {
            return Err("num_attributes and attributes_per_item are both zero or both set".into());
        }
        Ok(())
    }
}

/// Side information of the whole catalog, the same for every batch.
#[derive(Debug, Clone)]
pub struct ItemFeatures {
    /// `[num_items, text_dim]` f32, when the config has `text_dim > 0`.
    pub text: Option<Tensor>,
    /// `[num_items, attributes_per_item]` u32 attribute ids; `num_attributes` pads.
    pub attributes: Option<Tensor>,
}

impl ItemFeatures {
    pub fn none() -> Self {
        ItemFeatures {
            text: None,
            attributes: None,
        }
    }
}

/// A batch of sequences, right-padded to a common length `L` (oldest event first).
#[derive(Debug, Clone)]
pub struct SeqBatch {
    /// `[B, L]` u32 item indices (padding: any valid index, masked out).
    pub items: Tensor,
    /// `[B, L]` u32 [`EventKind`] indices.
    pub kinds: Tensor,
    /// `[B, L]` u32 [`gap_bucket`]s.
    pub gaps: Tensor,
    /// Valid events per row (1..=L).
    pub lengths: Vec<usize>,
}

impl SeqBatch {
    /// Builds a batch from per-row `(item, kind, gap bucket)` events, keeping each row's most
    /// recent `max_len`.
    pub fn from_rows(
        rows: &[Vec<(u32, u32, u32)>],
        max_len: usize,
        device: &Device,
    ) -> Result<Self> {
        let rows: Vec<&[(u32, u32, u32)]> = rows
            .iter()
            .map(|r| &r[r.len().saturating_sub(max_len)..])
            .collect();
        let len = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(1);
        let b = rows.len();
        let (mut items, mut kinds, mut gaps) = (
            vec![0u32; b * len],
            vec![0u32; b * len],
            vec![0u32; b * len],
        );
        for (i, row) in rows.iter().enumerate() {
            for (t, &(item, kind, gap)) in row.iter().enumerate() {
                items[i * len + t] = item;
                kinds[i * len + t] = kind;
                gaps[i * len + t] = gap;
            }
        }
        Ok(SeqBatch {
            items: Tensor::from_vec(items, (b, len), device)?,
            kinds: Tensor::from_vec(kinds, (b, len), device)?,
            gaps: Tensor::from_vec(gaps, (b, len), device)?,
            lengths: rows.iter().map(|r| r.len().max(1)).collect(),
        })
    }

    /// Row-major indices into the flattened `[B * L]` positions of every row's last event.
    pub fn last_positions(&self) -> Vec<u32> {
        let len = self.items.dim(1).unwrap_or(1);
        self.lengths
            .iter()
            .enumerate()
            .map(|(i, &n)| (i * len + n - 1) as u32)
            .collect()
    }
}

/// Dropout with its own seeded generator, so training is reproducible on every platform
/// (candle's CPU RNG cannot be seeded).
#[derive(Debug, Clone)]
pub struct Dropout {
    pub p: f32,
    state: u64,
}

impl Dropout {
    pub fn new(p: f32, seed: u64) -> Self {
        Dropout {
            p,
            state: seed ^ 0x9E37_79B9_7F4A_7C15,
        }
    }

    fn next(&mut self) -> u64 {
        // SplitMix64.
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn apply(&mut self, xs: &Tensor) -> Result<Tensor> {
        if self.p <= 0.0 {
            return Ok(xs.clone());
        }
        let keep = 1.0 - self.p;
        let threshold = (keep as f64 * u64::MAX as f64) as u64;
        let scale = 1.0 / keep;
        let mask: Vec<f32> = (0..xs.elem_count())
            .map(|_| if self.next() < threshold { scale } else { 0.0 })
            .collect();
        xs * Tensor::from_vec(mask, xs.shape(), xs.device())?
    }
}

/// Applies dropout only when training (`Some`).
fn drop(xs: Tensor, dropout: &mut Option<&mut Dropout>) -> Result<Tensor> {
    match dropout {
        Some(d) => d.apply(&xs),
        None => Ok(xs),
    }
}

fn l2_normalize(xs: &Tensor) -> Result<Tensor> {
    let norm = (xs.sqr()?.sum_keepdim(D::Minus1)? + 1e-12)?.sqrt()?;
    xs.broadcast_div(&norm)
}

#[derive(Debug, Clone)]
struct Block {
    ln_attn: LayerNorm,
    qkv: Linear,
    out: Linear,
    ln_ffn: LayerNorm,
    up: Linear,
    down: Linear,
    heads: usize,
    compute: Compute,
}

/// The layer norms' epsilon.
const LAYER_NORM_EPS: f64 = 1e-6;

impl Block {
    fn new(cfg: &SasRecConfig, vb: VarBuilder, compute: Compute) -> Result<Self> {
        let h = cfg.hidden;
        let norm = |name: &str| LayerNorm::load(vb.pp(name), h, LAYER_NORM_EPS, compute);
        Ok(Block {
            ln_attn: norm("ln_attn")?,
            qkv: linear(h, 3 * h, vb.pp("qkv"), compute)?,
            out: linear(h, h, vb.pp("out"), compute)?,
            ln_ffn: norm("ln_ffn")?,
            up: linear(h, cfg.ffn, vb.pp("up"), compute)?,
            down: linear(cfg.ffn, h, vb.pp("down"), compute)?,
            heads: cfg.heads,
            compute,
        })
    }

    /// `mask`: `[B, 1, L, L]` additive (0 or a large negative number).
    fn forward(
        &self,
        xs: &Tensor,
        mask: &Tensor,
        dropout: &mut Option<&mut Dropout>,
    ) -> Result<Tensor> {
        let h = xs.dim(D::Minus1)?;
        let qkv = self.qkv.forward(&self.ln_attn.forward(xs)?)?;
        let ctx = match self.compute {
            Compute::Quantized => ops::attention_kernel(&qkv, mask, self.heads)?,
            Compute::Dequantized => {
                let part = |i: usize| qkv.narrow(D::Minus1, i * h, h);
                ops::attention(&part(0)?, &part(1)?, &part(2)?, mask, self.heads, dropout)?
            }
        };
        let xs = (xs + drop(self.out.forward(&ctx)?, dropout)?)?;
        let inner = ops::gelu(&self.up.forward(&self.ln_ffn.forward(&xs)?)?, self.compute)?;
        let ffn = self.down.forward(&inner)?;
        xs + drop(ffn, dropout)?
    }
}

/// The ESMM conversion heads over (state, item) pairs.
#[derive(Debug, Clone)]
struct ConversionHeads {
    hidden: Linear,
    logits: Linear,
}

/// p(click), p(add to cart) and p(purchase) for one (user state, item) pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConversionProbabilities {
    pub click: f32,
    pub cart: f32,
    pub purchase: f32,
}

#[derive(Debug, Clone)]
pub struct SasRec {
    cfg: SasRecConfig,
    /// `None` when serving: the bundle carries the finished item table instead.
    item_embedding: Option<Embedding>,
    text_projection: Option<Linear>,
    attribute_embedding: Option<Embedding>,
    position_embedding: Embedding,
    kind_embedding: Embedding,
    gap_embedding: Embedding,
    ln_input: LayerNorm,
    blocks: Vec<Block>,
    ln_output: LayerNorm,
    conversion: Option<ConversionHeads>,
    compute: Compute,
    device: Device,
}

impl SasRec {
    /// Builds the model from `vb`: fresh variables in training, or a checkpoint's weights.
    pub fn new(cfg: &SasRecConfig, vb: VarBuilder) -> Result<Self> {
        Self::build(cfg, vb, true, Compute::Dequantized)
    }

    /// The model as the edge runs it: no item id embedding (the bundle's item table replaces
    /// [`Self::item_table`]), computing as `compute` says.
    pub fn for_serving(cfg: &SasRecConfig, vb: VarBuilder, compute: Compute) -> Result<Self> {
        Self::build(cfg, vb, false, compute)
    }

    fn build(
        cfg: &SasRecConfig,
        vb: VarBuilder,
        with_item_embedding: bool,
        compute: Compute,
    ) -> Result<Self> {
        cfg.validate().map_err(candle_core::Error::Msg)?;
        let h = cfg.hidden;
        let init = candle_nn::Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        let embedding = |n: usize, name: &str| -> Result<Embedding> {
            Ok(Embedding::new(vb.get_with_hints((n, h), name, init)?, h))
        };
        Ok(SasRec {
            item_embedding: with_item_embedding
                .then(|| embedding(cfg.num_items, "item_embedding"))
                .transpose()?,
            text_projection: (cfg.text_dim > 0)
                .then(|| linear(cfg.text_dim, h, vb.pp("text_projection"), compute))
                .transpose()?,
            // One extra row: the padding attribute, kept at zero by masking.
            attribute_embedding: (cfg.num_attributes > 0)
                .then(|| embedding(cfg.num_attributes + 1, "attribute_embedding"))
                .transpose()?,
            position_embedding: embedding(cfg.max_len, "position_embedding")?,
            kind_embedding: embedding(cfg.event_kinds(), "kind_embedding")?,
            gap_embedding: embedding(NUM_GAP_BUCKETS, "gap_embedding")?,
            ln_input: LayerNorm::load(vb.pp("ln_input"), h, LAYER_NORM_EPS, compute)?,
            blocks: (0..cfg.layers)
                .map(|i| Block::new(cfg, vb.pp(format!("blocks.{i}")), compute))
                .collect::<Result<_>>()?,
            ln_output: LayerNorm::load(vb.pp("ln_output"), h, LAYER_NORM_EPS, compute)?,
            conversion: (cfg.conversion_hidden > 0)
                .then(|| -> Result<ConversionHeads> {
                    Ok(ConversionHeads {
                        hidden: linear(
                            3 * h,
                            cfg.conversion_hidden,
                            vb.pp("conversion.hidden"),
                            compute,
                        )?,
                        logits: linear(
                            cfg.conversion_hidden,
                            3,
                            vb.pp("conversion.logits"),
                            compute,
                        )?,
                    })
                })
                .transpose()?,
            compute,
            device: vb.device().clone(),
            cfg: cfg.clone(),
        })
    }

    pub fn config(&self) -> &SasRecConfig {
        &self.cfg
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// `[num_items, hidden]`: id embedding + projected text + mean attribute embedding.
    pub fn item_table(&self, features: &ItemFeatures) -> Result<Tensor> {
        let Some(item_embedding) = &self.item_embedding else {
            candle_core::bail!(
                "a serving model has no item embedding: use the bundle's item table"
            );
        };
        let mut table = item_embedding.embeddings().clone();
        if let (Some(proj), Some(text)) = (&self.text_projection, &features.text) {
            table = (table + proj.forward(text)?)?;
        }
        if let (Some(emb), Some(attrs)) = (&self.attribute_embedding, &features.attributes) {
            let pad = self.cfg.num_attributes as u32;
            let valid = attrs.ne(pad)?.to_dtype(DType::F32)?; // [n, a]
            let vectors = emb.forward(attrs)?; // [n, a, h]
            let summed = vectors.broadcast_mul(&valid.unsqueeze(2)?)?.sum(1)?;
            let count = (valid.sum_keepdim(1)? + 1e-6)?;
            table = (table + summed.broadcast_div(&count)?)?;
        }
        Ok(table)
    }

    /// Hidden states `[B, L, hidden]` of every position (position t sees events 0..=t).
    pub fn encode(
        &self,
        batch: &SeqBatch,
        table: &Tensor,
        mut dropout: Option<&mut Dropout>,
    ) -> Result<Tensor> {
        let (b, l) = batch.items.dims2()?;
        let h = self.cfg.hidden;
        let items = table
            .index_select(&batch.items.flatten_all()?, 0)?
            .reshape((b, l, h))?;
        let positions = Tensor::arange(0u32, l as u32, &self.device)?;
        let xs = items
            .broadcast_add(&self.position_embedding.forward(&positions)?.unsqueeze(0)?)?
            .add(&self.kind_embedding.forward(&batch.kinds)?)?
            .add(&self.gap_embedding.forward(&batch.gaps)?)?;
        let mut xs = drop(self.ln_input.forward(&xs)?, &mut dropout)?;
        let mask = attention_mask(&batch.lengths, l, &self.device)?;
        for block in &self.blocks {
            xs = block.forward(&xs, &mask, &mut dropout)?;
        }
        self.ln_output.forward(&xs)
    }

    /// States `[P, hidden]` at the given flattened positions (see [`SeqBatch::last_positions`]).
    pub fn states_at(&self, hidden: &Tensor, positions: &[u32]) -> Result<Tensor> {
        let (b, l, h) = hidden.dims3()?;
        let index = Tensor::from_slice(positions, positions.len(), &self.device)?;
        hidden.reshape((b * l, h))?.index_select(&index, 0)
    }

    /// Next-item logits `[P, num_items]` for states `[P, hidden]`: training computes the item
    /// side per step (it changes), serving once at load; both through the same two functions.
    pub fn next_item_logits(&self, states: &Tensor, table: &Tensor) -> Result<Tensor> {
        self.next_item_logits_with(states, &self.scoring_table(table)?)
    }

    /// The item side of [`Self::next_item_logits`], computed once: `[hidden, num_items]`,
    /// normalised (cosine head) and laid out for the matmul. Serving scores every request
    /// against it instead of normalising the whole table per request.
    pub fn scoring_table(&self, table: &Tensor) -> Result<Tensor> {
        let e = if self.cfg.temperature > 0.0 {
            l2_normalize(table)?
        } else {
            table.clone()
        };
        e.t()?.contiguous()
    }

    /// [`Self::next_item_logits`] against a [`Self::scoring_table`].
    pub fn next_item_logits_with(&self, states: &Tensor, scoring: &Tensor) -> Result<Tensor> {
        if self.cfg.temperature > 0.0 {
            l2_normalize(states)?.matmul(scoring)? / self.cfg.temperature as f64
        } else {
            states.matmul(scoring)
        }
    }

    /// Conversion logits `[P, 3]` (click, cart | click, purchase | cart) for states and the
    /// candidate items' representations, both `[P, hidden]`.
    pub fn conversion_logits(&self, states: &Tensor, items: &Tensor) -> Result<Tensor> {
        let heads = self
            .conversion
            .as_ref()
            .ok_or_else(|| candle_core::Error::Msg("this model has no conversion heads".into()))?;
        let features = Tensor::cat(&[states, items, &(states * items)?], D::Minus1)?;
        heads
            .logits
            .forward(&ops::gelu(&heads.hidden.forward(&features)?, self.compute)?)
    }

    /// The ESMM probabilities `[P, 3]` (click, cart, purchase) from [`Self::conversion_logits`].
    pub fn conversion_probabilities(&self, logits: &Tensor) -> Result<Tensor> {
        let conditional = ops::sigmoid(logits, self.compute)?;
        let click = conditional.i((.., 0..1))?;
        let cart = (&click * conditional.i((.., 1..2))?)?;
        let purchase = (&cart * conditional.i((.., 2..3))?)?;
        Tensor::cat(&[click, cart, purchase], 1)
    }
}

/// Causal mask with padded keys hidden: `[B, 1, L, L]`, 0 where attention is allowed. A large
/// finite negative number (not -inf) keeps fully masked rows (padding) free of NaNs.
fn attention_mask(lengths: &[usize], l: usize, device: &Device) -> Result<Tensor> {
    let mut mask = vec![0f32; lengths.len() * l * l];
    for (b, &n) in lengths.iter().enumerate() {
        for q in 0..l {
            for k in 0..l {
                if k > q || k >= n {
                    mask[(b * l + q) * l + k] = -1e9;
                }
            }
        }
    }
    Tensor::from_vec(mask, (lengths.len(), 1, l, l), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::VarMap;

    fn tiny(text_dim: usize, attrs: usize) -> SasRecConfig {
        SasRecConfig {
            num_items: 12,
            hidden: 8,
            layers: 2,
            heads: 2,
            max_len: 6,
            ffn: 16,
            dropout: 0.1,
            text_dim,
            num_attributes: attrs,
            attributes_per_item: if attrs > 0 { 2 } else { 0 },
            temperature: 0.1,
            conversion_hidden: 8,
            input: SequenceInput::Items,
        }
    }

    fn model(cfg: &SasRecConfig) -> (VarMap, SasRec) {
        let map = VarMap::new();
        let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
        let model = SasRec::new(cfg, vb).unwrap();
        (map, model)
    }

    fn batch(rows: &[&[u32]]) -> SeqBatch {
        let rows: Vec<Vec<(u32, u32, u32)>> = rows
            .iter()
            .map(|r| r.iter().map(|&i| (i, 1, 0)).collect())
            .collect();
        SeqBatch::from_rows(&rows, 6, &Device::Cpu).unwrap()
    }

    #[test]
    fn causal_positions_ignore_the_future_and_padding() {
        let cfg = tiny(0, 0);
        let (_map, m) = model(&cfg);
        let table = m.item_table(&ItemFeatures::none()).unwrap();
        // The same prefix [3, 4] in a short row and in a longer one: identical state at t = 1.
        let b = batch(&[&[3, 4], &[3, 4, 7, 9]]);
        let hidden = m.encode(&b, &table, None).unwrap();
        let s = m
            .states_at(&hidden, &[1, 4 + 1])
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for (x, y) in s[0].iter().zip(&s[1]) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
        assert_eq!(b.last_positions(), vec![1, 7]);
    }

    #[test]
    fn cold_items_are_represented_by_text_and_attributes() {
        let cfg = tiny(4, 5);
        let (_map, m) = model(&cfg);
        let text = Tensor::randn(0f32, 1.0, (12, 4), &Device::Cpu).unwrap();
        let attrs: Vec<u32> = (0..12u32).flat_map(|i| [i % 5, 5]).collect();
        let features = ItemFeatures {
            text: Some(text),
            attributes: Some(Tensor::from_vec(attrs, (12, 2), &Device::Cpu).unwrap()),
        };
        let with = m.item_table(&features).unwrap();
        let without = m.item_table(&ItemFeatures::none()).unwrap();
        let diff = (with - without).unwrap().abs().unwrap().sum_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() > 0.0);
    }

    #[test]
    fn esmm_probabilities_are_ordered() {
        let cfg = tiny(0, 0);
        let (_map, m) = model(&cfg);
        let table = m.item_table(&ItemFeatures::none()).unwrap();
        let b = batch(&[&[1, 2, 3]]);
        let hidden = m.encode(&b, &table, None).unwrap();
        let states = m.states_at(&hidden, &b.last_positions()).unwrap();
        let items = table.i(5..6).unwrap();
        let logits = m.conversion_logits(&states, &items).unwrap();
        let p = m
            .conversion_probabilities(&logits)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert!(
            p[0][0] >= p[0][1] && p[0][1] >= p[0][2] && p[0][2] > 0.0,
            "{p:?}"
        );
    }

    #[test]
    fn dropout_is_seeded() {
        let x = Tensor::ones((4, 8), DType::F32, &Device::Cpu).unwrap();
        let a = Dropout::new(0.5, 7)
            .apply(&x)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let b = Dropout::new(0.5, 7)
            .apply(&x)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(a, b);
        let zeros = a.iter().flatten().filter(|&&v| v == 0.0).count();
        assert!((4..=28).contains(&zeros), "{zeros} of 32 dropped");
    }

    #[test]
    fn event_rows_carry_kinds_gaps_and_the_now_marker() {
        let at = |item, kind, s: i64| TimedEvent {
            item,
            kind,
            time_ms: Some(s * 1000),
        };
        let events = [
            at(3, EventKind::View, 100),
            at(5, EventKind::Cart, 160),
            at(5, EventKind::Purchase, 160),
        ];
        let row = events_row(&events, Some(3_700_000));
        assert_eq!(
            row,
            vec![
                (3, 0, 0),
                (5, 2, gap_bucket(Some(60.0))),
                (5, 3, gap_bucket(Some(0.0))),
                (5, NOW_KIND, gap_bucket(Some(3540.0))),
            ]
        );
        // Unknown times: unknown gaps; no events: the marker alone.
        let untimed = [TimedEvent {
            time_ms: None,
            ..events[0]
        }];
        assert_eq!(
            events_row(&untimed, Some(5)),
            vec![(3, 0, 0), (3, NOW_KIND, 0)]
        );
        assert_eq!(events_row(&[], None), vec![(0, NOW_KIND, 0)]);
        // Item input ignores kinds and times, as the sequence models were trained.
        let mut cfg = tiny(0, 0);
        assert_eq!(cfg.input_row(&events, None), history_row(&[3, 5, 5]));
        cfg.input = SequenceInput::Events;
        assert_eq!(cfg.input_row(&events, Some(3_700_000)), row);
        assert_eq!(cfg.event_kinds(), NUM_EVENT_KINDS + 1);
    }

    #[test]
    fn gap_buckets_are_monotone() {
        assert_eq!(gap_bucket(None), 0);
        let mut last = 1;
        for s in [0.5, 2.0, 60.0, 3600.0, 86_400.0, 1e9] {
            let b = gap_bucket(Some(s));
            assert!(b >= last && (b as usize) < NUM_GAP_BUCKETS);
            last = b;
        }
    }

    #[test]
    fn bad_configs_are_refused() {
        let mut cfg = tiny(0, 0);
        cfg.heads = 3;
        assert!(cfg.validate().unwrap_err().contains("multiple of heads"));
    }
}
