//! Model forward passes, written once against candle: the trainer runs them with f32 weights
//! and gradients, the edge with weights from a bundle.

pub mod bert;
pub mod ops;
pub mod quant;
pub mod sasrec;
pub mod serving;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(feature = "text")]
pub mod text;
pub mod text_encoder;
pub mod weights;

pub use crate::kernels::Int8Rows;
pub use bert::{BertConfig, BertEncoder};
pub use ops::{Compute, LayerNorm, Linear};
pub use quant::{QuantPolicy, QuantRule, StoredTensor};
pub use sasrec::{
    events_row, gap_bucket, history_row, ConversionProbabilities, Dropout, EventKind, ItemFeatures,
    SasRec, SasRecConfig, SeqBatch, SequenceInput, TimedEvent, NOW_KIND, NUM_EVENT_KINDS,
    NUM_GAP_BUCKETS,
};
pub use serving::{NextItems, ServingModel, SASREC_KIND};
#[cfg(feature = "text")]
pub use text::{EmbedError, TextEmbedder};
pub use text_encoder::{TextEncoderModel, TEXT_ENCODER_KIND};
