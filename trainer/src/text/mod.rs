//! The text-to-conversion task (issue 4): review text -> recommended and rating, comparing
//! TF-IDF + a linear model, the frozen pretrained encoder + a linear model, and the fine-tuned
//! encoder ([`edgerec::training::model::bert`], the same forward pass the edge serves); plus the library
//! functions other models use: [`encode_texts`] (item text vectors) and [`score_texts`]
//! (per-text p(recommended), a sentiment signal).

pub mod bundle;
pub mod data;
pub mod encoder;
pub mod finetune;
pub mod metrics;
#[cfg(test)]
mod tests;
pub mod tfidf;
pub mod trim;

pub use encoder::{encode_texts, score_texts, TextClassifier, TextEncoder, TextPrediction};
pub use finetune::{FinetuneConfig, Finetuner, TrainLayers};
