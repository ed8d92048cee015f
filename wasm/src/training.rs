//! What only the trainer needs (feature `training`): bundle writing and signing, the models'
//! training-side code, the kernels, session-kNN, and evaluation hooks on [`crate::Engine`]
//! (`from_covisit_model`, `recommend_indices`, `blend_inputs`, `with_blend_weights`,
//! `session_blend`, `transformer`, `text_index`). Serving front ends use the crate root only.

pub use crate::bundle::{
    hex, Bundle, BundleSigner, BundleWriter, FLAG_SIGNED, FORMAT_VERSION, HEADER_LEN, MAGIC,
    SIGNATURE_BLOCK_LEN, SIGNATURE_CONTEXT, SIGNATURE_MAGIC, TRAILER_LEN,
};
pub use crate::catalog::{CatalogEntry, CATEGORY_SEPARATOR, NO_CATEGORY};
pub use crate::covisit::{CovisitModel, CovisitParams, EventWeights, ScoredItem};
#[cfg(feature = "model")]
pub use crate::engine::{BlendInputs, KNN_CANDIDATES, RERANK_CANDIDATES, TEXT_CANDIDATES};
pub use crate::session_knn::{
    Decay, KnnConfig, SessionBlend, SessionKnn, VectorWeights, SESSION_BLEND_PARAM,
};
pub use crate::text_index::TextIndex;

/// The kernels with the same bits on every platform (int8 products, fused float ops).
pub mod kernels {
    pub use crate::kernels::*;
}

/// The models' code, shared by training and serving (one forward pass).
#[cfg(feature = "model")]
pub mod model {
    pub use crate::model::*;
}
