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
//! let request = edgerec::RecommendRequest::from_json(br#"{"history": ["21553", "20071"], "k": 20}"#)?;
//! let answer = engine.recommend(&request)?;
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | (none) | co-visitation bundles: `recommend`, `similar` (by item), filters, explanations, signed bundles |
//! | `model` | transformer (`sasrec`) bundles through candle: retrieval, exact re-scoring, the session-kNN blend, `predict` (conversion heads); [`Compute`] |
//! | `text` | sentence embeddings at the edge ([`TextEmbedder`]: the Hugging Face tokenizer, pure Rust): `embed`, `similar` by text |
//! | `training` | [`training`]: what only the trainer needs (bundle writers, the models' training code, kernels, evaluation hooks on [`Engine`]) |
//!
//! The serving surface is the flat list below; nothing else is public without `training`.
//!
//! The strategy core (in every build): seeded deterministic randomness ([`DecisionRng`]),
//! learners that choose among arms with an exploration floor and log exact propensities
//! ([`Thompson`], [`LinUcb`]), their mergeable versioned state ([`StrategyState`]: integer
//! sufficient statistics, so replicas merge exactly), and experiments with stable bucketing and
//! always-valid inference ([`Experiment`], [`ExperimentSummary`]). On top of it, decisions:
//! a strategy file ([`Strategy`], [`StrategyConfig`]: slots, business rules, offers,
//! exploration, an experiment) and [`Engine::decide`], which fills a page's slots with logged
//! propensities, and [`Engine::update`], which learns from the outcomes.

mod api;
// The trainer's side of this module is used only with `training`.
#[cfg_attr(not(feature = "training"), allow(dead_code, unused_imports))]
mod bundle;
// The trainer's side of this module is used only with `training`.
#[cfg_attr(not(feature = "training"), allow(dead_code, unused_imports))]
mod catalog;
// The trainer's side of this module is used only with `training`.
#[cfg_attr(not(feature = "training"), allow(dead_code, unused_imports))]
mod covisit;
mod engine;
mod error;
// The trainer's side of this module is used only with `training`.
#[cfg_attr(not(feature = "training"), allow(dead_code, unused_imports))]
mod kernels;
#[cfg(feature = "model")]
#[cfg_attr(not(feature = "training"), allow(dead_code, unused_imports))]
mod model;
// The trainer's side of this module is used only with `training`.
#[cfg_attr(not(feature = "training"), allow(dead_code, unused_imports))]
mod retrieval;
mod session;
mod strategy;
// The trainer's side of this module is used only with `training`.
#[cfg_attr(not(feature = "training"), allow(dead_code, unused_imports))]
mod session_knn;
// The trainer's side of this module is used only with `training`.
#[cfg_attr(not(feature = "training"), allow(dead_code, unused_imports))]
mod text_index;
#[cfg(feature = "training")]
pub mod training;

pub use api::{
    Context, Contribution, DecideRequest, DecidedItem, Decision, DecisionExplanation, Device,
    EmbedRequest, EmbedResponse, Event, EventType, Explanation, Filters, IgnoredItem, ItemInfo,
    OfferDecision, PredictRequest, PredictResponse, Prediction, PriceRange, RecommendRequest,
    RecommendResponse, RecommendedItem, SimilarItem, SimilarRequest, SimilarResponse, SlotDecision,
    Source, MAX_DECIDE_SLOTS, MAX_EMBED_TEXTS, MAX_EXCLUDE, MAX_EXPLAIN, MAX_FILTER_CATEGORIES,
    MAX_HISTORY, MAX_K, MAX_NAME_BYTES, MAX_REQUEST_BYTES, MAX_TEXT_BYTES,
};
pub use bundle::{Manifest, ModelKind, SectionEntry, TrustedKey};
pub use catalog::Catalog;
pub use engine::{Engine, ItemTable, LoadOptions};
pub use error::{BundleError, Error, RequestError};
#[cfg(feature = "model")]
pub use model::Compute;
#[cfg(feature = "text")]
pub use model::{EmbedError, TextEmbedder};
pub use session::Session;
pub use strategy::{
    stable_hash64, ArmCounts, Assignment, BetaPrior, Boost, Choice, DecisionRng, Experiment,
    ExperimentConfig, ExperimentSpec, ExperimentStats, ExperimentSummary, Exploration,
    LearnerConfig, LearnerKind, LinUcb, LinUcbConfig, LinearArmStats, LinearStats, Objective,
    OfferGroup, Outcome, OutcomeEvent, Pin, SlotConfig, SlotOverride, Strategy, StrategyConfig,
    StrategyError, StrategyState, Thompson, ThompsonConfig, ThompsonStats, UpdateReport,
    VariantCounts, VariantShare, VariantSpec, VariantSummary, Verdict, CONTROL, HOLDOUT, MAX_DIM,
    MAX_FEATURE_ABS, MAX_POOL, MAX_REWARD_ABS, MAX_SLOT_SIZE, STATE_VERSION,
};
