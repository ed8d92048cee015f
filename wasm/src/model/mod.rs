//! Neural models: one forward pass, written with candle tensors, that the trainer trains and the
//! edge serves.

pub mod bert;

pub use bert::{BertConfig, BertEncoder};
