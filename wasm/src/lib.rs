//! edgerec: the portable recommendation engine.
//!
//! The same code runs natively (trainer, benchmarks), in Node and browsers (through the
//! `edgerec-js` bindings) and in Cloudflare Workers (through `edgerec-worker`). It does no
//! I/O and spawns no threads: callers hand it bundle bytes and requests, it hands back answers.
//!
//! ```no_run
//! # fn main() -> Result<(), edgerec::Error> {
//! let bytes = std::fs::read("model.bundle").unwrap();
//! let engine = edgerec::Engine::from_bundle(&bytes)?;
//! let answer = engine.recommend_json(r#"{"history": ["21553", "20071"], "k": 20}"#)?;
//! # Ok(()) }
//! ```

mod api;
mod bundle;
mod catalog;
mod covisit;
mod engine;
mod error;
pub mod kernels;
#[cfg(feature = "model")]
pub mod model;
mod retrieval;
mod session;
pub mod session_knn;
mod text_index;

pub use api::{
    Context, Contribution, Device, EmbedRequest, EmbedResponse, Event, EventType, Explanation,
    Filters, IgnoredItem, ItemInfo, PredictRequest, PredictResponse, Prediction, PriceRange,
    RecommendRequest, RecommendResponse, RecommendedItem, SimilarItem, SimilarRequest,
    SimilarResponse, Source, MAX_EMBED_TEXTS, MAX_EXCLUDE, MAX_EXPLAIN, MAX_FILTER_CATEGORIES,
    MAX_HISTORY, MAX_K, MAX_NAME_BYTES, MAX_REQUEST_BYTES, MAX_TEXT_BYTES,
};
pub use bundle::{
    Bundle, BundleSigner, BundleWriter, Manifest, SectionEntry, TrustedKey, FLAG_SIGNED,
    FORMAT_VERSION, HEADER_LEN, MAGIC, SIGNATURE_BLOCK_LEN, SIGNATURE_CONTEXT, SIGNATURE_MAGIC,
    TRAILER_LEN,
};
pub use catalog::{Catalog, CatalogEntry, CATEGORY_SEPARATOR, NO_CATEGORY};
pub use covisit::{CovisitModel, CovisitParams, EventWeights, ScoredItem};
pub use engine::{
    BlendInputs, Engine, LoadOptions, COVISIT_CANDIDATES, KNN_CANDIDATES, RERANK_CANDIDATES,
    TEXT_CANDIDATES,
};
pub use error::{BundleError, Error, RequestError};
pub use kernels::{dot_i8, Int8Rows};
pub use session::Session;
pub use session_knn::{Decay, KnnConfig, SessionBlend, SessionKnn, VectorWeights};
pub use text_index::TextIndex;
