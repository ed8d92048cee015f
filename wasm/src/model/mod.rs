//! Model forward passes, written once against candle: the trainer runs them with f32 weights
//! and gradients, the edge with weights from a bundle.

pub mod bert;
pub mod sasrec;

pub use bert::{BertConfig, BertEncoder};
pub use sasrec::{
    gap_bucket, ConversionProbabilities, Dropout, EventKind, ItemFeatures, SasRec, SasRecConfig,
    SeqBatch, NUM_EVENT_KINDS, NUM_GAP_BUCKETS,
};
