//! The engine: a loaded bundle answering requests by item id, as a pipeline of named stages.
//!
//! ```text
//! request ─> session (ids to indices, unknown ids reported)
//!         ─> policy: what may be shown            (policy/: the request's filters)
//!         ─> candidates: where items come from    (candidates/: retrieval, co-visitation,
//!                                                   session-kNN, text, popular)
//!         ─> scoring: how they are ordered        (scoring/: transformer, blend, tiers)
//!         ─> policy: the answer from the ranking  (Policy::arrange)
//!         ─> explanations                         (explain.rs, each ranker's `because`)
//! ```
//!
//! `decide` (decide.rs) runs the same pipeline once per slot of a page, with the strategy
//! file's slot as the policy (policy/slot.rs: rules, exploration, propensities) and an offer
//! learner after it.
//!
//! Which sources and scorers a bundle uses is its model kind's [`rankers`] file; every kind
//! shares one [`ItemTable`].

mod candidates;
mod decide;
mod explain;
mod items;
mod policy;
mod query;
mod rankers;
mod scoring;
#[cfg(any(test, feature = "training"))]
mod training;

use std::sync::Arc;

pub use candidates::popular_fill;
pub use items::ItemTable;
#[cfg(all(feature = "model", feature = "training"))]
pub use rankers::{KNN_CANDIDATES, RERANK_CANDIDATES, TEXT_CANDIDATES};
#[cfg(all(feature = "model", any(test, feature = "training")))]
pub use scoring::BlendInputs;

use crate::api::{
    Contribution, EmbedRequest, EmbedResponse, Explanation, IgnoredItem, ItemInfo, PredictRequest,
    PredictResponse, RecommendRequest, RecommendResponse, RecommendedItem, SimilarItem,
    SimilarRequest, SimilarResponse, Source,
};
use crate::bundle::{Bundle, Manifest, TrustedKey};
use crate::catalog::Catalog;
use crate::covisit::ScoredItem;
use crate::error::{BundleError, RequestError};
use crate::session::Session;
use crate::text_index::TextIndex;
use policy::{Filters, Policies, Policy};
use query::Query;
use rankers::{Ranker, Shared};

/// A verified bundle, ready to answer `recommend`, `similar`, `predict` and `embed`.
///
/// Cloning is cheap: the model parts are shared, read-only.
#[derive(Debug, Clone)]
pub struct Engine {
    manifest: Manifest,
    signer: Option<String>,
    items: Arc<ItemTable>,
    ranker: Arc<dyn Ranker>,
    /// Item text vectors, if the bundle has them: text candidates, `similar` by text.
    text: Option<Arc<TextIndex>>,
    /// The encoder of query texts (`embed`, `similar` by text), when given one.
    #[cfg(feature = "text")]
    embedder: Option<Embedder>,
}

/// The text encoder shared by clones of an engine.
#[cfg(feature = "text")]
#[derive(Clone)]
struct Embedder(Arc<crate::model::TextEmbedder>);

#[cfg(feature = "text")]
impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("encoder", &self.0.encoder_id())
            .field("dimension", &self.0.dimension())
            .finish()
    }
}

/// How [`Engine::load`] loads a bundle.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Only a bundle signed by this key loads.
    pub trusted: Option<TrustedKey>,
    /// How the transformer computes (default: edgerec's int8 kernels, the same bits on every
    /// platform; `Dequantized` runs candle's f32 ops as the trainer does).
    #[cfg(feature = "model")]
    pub compute: crate::model::Compute,
}

impl Engine {
    /// Verifies and loads a bundle, signed or not.
    pub fn from_bundle(bytes: &[u8]) -> Result<Self, BundleError> {
        Self::load(bytes, &LoadOptions::default())
    }

    /// Verifies and loads a bundle; with `trusted` set, only a bundle signed by that key.
    pub fn from_bundle_trusted(
        bytes: &[u8],
        trusted: Option<&TrustedKey>,
    ) -> Result<Self, BundleError> {
        // Without the `model` feature `trusted` is the only field.
        #[allow(clippy::needless_update)]
        let options = LoadOptions {
            trusted: trusted.cloned(),
            ..LoadOptions::default()
        };
        Self::load(bytes, &options)
    }

    /// Verifies and loads a bundle as `options` say.
    pub fn load(bytes: &[u8], options: &LoadOptions) -> Result<Self, BundleError> {
        let bundle = Bundle::parse_trusted(bytes, options.trusted.as_ref())?;
        let (items, ranker) = rankers::load(&bundle, options)?;
        let text = TextIndex::from_bundle(&bundle, items.len() as u64)?;
        Ok(Engine {
            manifest: bundle.manifest.clone(),
            signer: bundle.signer.clone(),
            items: Arc::new(items),
            ranker,
            text: text.map(Arc::new),
            #[cfg(feature = "text")]
            embedder: None,
        })
    }

    /// Gives the engine the text encoder of its item text vectors: `embed` and `similar` by
    /// text then answer. Any other encoder (its `payload_sha256` differs from the one the
    /// bundle's `item_text_encoder` names) is refused: its vectors live in another space.
    #[cfg(feature = "text")]
    pub fn with_text_encoder(
        mut self,
        embedder: crate::model::TextEmbedder,
    ) -> Result<Self, BundleError> {
        if let Some(index) = &self.text {
            if index.encoder() != embedder.encoder_id() {
                return Err(BundleError::ManifestMismatch(format!(
                    "the item text vectors were embedded by text encoder {}, not by this one ({})",
                    index.encoder(),
                    embedder.encoder_id()
                )));
            }
            if index.dim() != embedder.dimension() {
                return Err(BundleError::ManifestMismatch(format!(
                    "the item text vectors have {} values, the text encoder's {}",
                    index.dim(),
                    embedder.dimension()
                )));
            }
        }
        self.embedder = Some(Embedder(Arc::new(embedder)));
        Ok(self)
    }

    /// Whether the bundle has item text vectors (text candidates, `similar` by text).
    pub fn has_item_text(&self) -> bool {
        self.text.is_some()
    }

    /// Whether `embed` (and `similar` by text, with item text vectors) can answer.
    pub fn has_text_encoder(&self) -> bool {
        #[cfg(feature = "text")]
        return self.embedder.is_some();
        #[cfg(not(feature = "text"))]
        false
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Hex public key of the bundle's signer (the signature was verified), if it was signed.
    pub fn signer(&self) -> Option<&str> {
        self.signer.as_deref()
    }

    /// Every item the bundle knows, by index.
    pub fn items(&self) -> &ItemTable {
        &self.items
    }

    /// The item attributes (category, price, availability), if the bundle has a catalog.
    pub fn catalog(&self) -> Option<&Catalog> {
        self.items.catalog()
    }

    /// What the model knows about an item (popularity, catalog attributes); `None` if unknown.
    pub fn item(&self, id: &str) -> Option<ItemInfo> {
        let index = self.items.index(id)?;
        let catalog = self.catalog();
        Some(ItemInfo {
            id: id.to_string(),
            popularity_rank: self.items.popularity_rank(index),
            category: catalog.and_then(|c| c.category(index)).map(str::to_string),
            price: catalog.and_then(|c| c.price(index)),
            available: catalog.and_then(|c| c.available(index)),
        })
    }

    fn shared(&self) -> Shared<'_> {
        Shared {
            items: &self.items,
            text: self.text.as_deref(),
        }
    }

    /// The best `k` items for a session: the pipeline in the module documentation.
    pub fn recommend(&self, request: &RecommendRequest) -> Result<RecommendResponse, RequestError> {
        request.validate()?;
        let filters = Filters::resolve(&self.items, &request.filters)?;
        let policy = Policies(vec![&filters]);
        let entries = request.session();
        let (session, positions, ignored) = self.resolve_session(&entries);
        let query = Query {
            session: &session,
            k: request.k,
            include_seen: request.include_seen,
        };
        let ranked = self.rank(&query, &policy)?;
        let id_at = |at: usize| entries[positions[at]].0;
        let items = ranked
            .into_iter()
            .map(|s| self.recommended_item(&session, s, &id_at))
            .collect();
        Ok(RecommendResponse {
            slot: request.slot.clone(),
            items,
            ignored,
            context: request.context.clone(),
        })
    }

    /// Candidates and scoring by the bundle's ranker, then the policy's arrangement.
    fn rank(
        &self,
        query: &Query<'_>,
        policy: &dyn Policy,
    ) -> Result<Vec<ScoredItem>, RequestError> {
        let seen = query.seen_mask(self.items.len());
        let keep = |j: u32| !seen[j as usize] && policy.admits(j);
        let ranked = self.ranker.rank(query, self.shared(), &keep)?;
        Ok(policy.arrange(ranked, query.k))
    }

    /// One answered item with its explanation.
    fn recommended_item<'r>(
        &self,
        session: &[(u32, f32)],
        s: ScoredItem,
        id_at: &impl Fn(usize) -> &'r str,
    ) -> RecommendedItem {
        RecommendedItem {
            id: self.items.id(s.index).to_string(),
            score: s.score,
            source: s.source,
            explanation: self.explanation(session, &s, id_at),
        }
    }

    /// Why an item was proposed: its signal and the session items behind it.
    fn explanation<'r>(
        &self,
        session: &[(u32, f32)],
        s: &ScoredItem,
        id_at: &impl Fn(usize) -> &'r str,
    ) -> Explanation {
        let because = match s.source {
            Source::Covisit | Source::Model => self.ranker.because(session, s.index),
            Source::Text => match &self.text {
                Some(index) => explain::most_similar(session, |h| index.similarity(h, s.index)),
                None => Vec::new(),
            },
            Source::Popular => Vec::new(),
        };
        Explanation {
            signal: s.source,
            because: because
                .into_iter()
                .map(|(at, contribution)| Contribution {
                    id: id_at(at).to_string(),
                    contribution,
                })
                .collect(),
            popularity_rank: s.popularity_rank,
        }
    }

    /// The known session entries as (item index, event weight), each one's position in the
    /// request, and the unknown ones, reported.
    fn resolve_session(
        &self,
        entries: &[(&str, crate::api::EventType)],
    ) -> (Vec<(u32, f32)>, Vec<usize>, Vec<IgnoredItem>) {
        let weights = self.ranker.session_params().event_weights;
        let (mut session, mut positions, mut ignored) = (Vec::new(), Vec::new(), Vec::new());
        for (position, &(id, kind)) in entries.iter().enumerate() {
            match self.items.index(id) {
                Some(index) => {
                    session.push((index, weights.of(kind)));
                    positions.push(position);
                }
                None => ignored.push(unknown_item(position, id)),
            }
        }
        (session, positions, ignored)
    }

    /// p(click), p(cart), p(purchase) of each known item of `request.items` after the
    /// session, from the transformer's conversion heads. A bundle without them (co-visitation,
    /// or a transformer trained without funnel events) answers `unsupported_request`.
    pub fn predict(&self, request: &PredictRequest) -> Result<PredictResponse, RequestError> {
        request.validate()?;
        let unsupported = |why: &str| RequestError::Unsupported {
            message: format!("predict needs a transformer bundle with conversion heads; {why}"),
        };
        #[cfg(not(feature = "model"))]
        return Err(unsupported("this build of the engine has no transformer"));
        #[cfg(feature = "model")]
        {
            let Some(ranker) = self.ranker.transformer() else {
                return Err(unsupported("this is a co-visitation bundle"));
            };
            if !ranker.has_conversion_heads() {
                return Err(unsupported(
                    "this transformer was trained without funnel events (no conversion heads)",
                ));
            }
            let entries = request.session();
            let (session, positions, ignored) = self.resolve_session(&entries);
            let time_at = |at: usize| {
                let events = request.events.as_ref()?;
                events[at].time.map(|t| t as i64)
            };
            let events: Vec<crate::model::TimedEvent> = session
                .iter()
                .zip(&positions)
                .map(|(&(item, _), &at)| crate::model::TimedEvent {
                    item,
                    kind: entries[at].1.into(),
                    time_ms: time_at(at),
                })
                .collect();
            let now_ms = request
                .context
                .as_ref()
                .and_then(|c| c.time)
                .map(|t| t as i64);
            let (mut known, mut unknown_items) = (Vec::new(), Vec::new());
            for (position, id) in request.items.iter().enumerate() {
                match self.items.index(id) {
                    Some(index) => known.push((index, id)),
                    None => unknown_items.push(unknown_item(position, id)),
                }
            }
            let indices: Vec<u32> = known.iter().map(|k| k.0).collect();
            let probabilities = ranker.conversion(&events, now_ms, &indices).map_err(|e| {
                RequestError::Internal {
                    message: e.to_string(),
                }
            })?;
            Ok(PredictResponse {
                slot: request.slot.clone(),
                predictions: known
                    .iter()
                    .zip(probabilities)
                    .map(|((_, id), p)| crate::api::Prediction {
                        id: id.to_string(),
                        click: p.click,
                        cart: p.cart,
                        purchase: p.purchase,
                    })
                    .collect(),
                ignored,
                unknown_items,
                context: request.context.clone(),
            })
        }
    }

    /// Items like `request.item` (by the bundle's ranker: the transformer's item
    /// representations, or co-visitation then text), or like `request.text` (the cosine of text
    /// vectors: semantic search; needs item text vectors and their encoder).
    pub fn similar(&self, request: &SimilarRequest) -> Result<SimilarResponse, RequestError> {
        request.validate()?;
        let filters = Filters::resolve(&self.items, &request.filters)?;
        let policy = Policies(vec![&filters]);
        let scored = if let Some(text) = &request.text {
            let index = self
                .text
                .as_ref()
                .ok_or_else(|| RequestError::Unsupported {
                    message: "similar by text needs item text vectors in the bundle \
                          (edgerec-train covisit --text-encoder)"
                        .into(),
                })?;
            let query = self.embed_texts(&[text.as_str()], "text")?.remove(0);
            index
                .nearest(&query, request.k, |j| policy.admits(j))
                .into_iter()
                .map(|(j, cosine)| ScoredItem::from_source(j, cosine, Source::Text))
                .collect()
        } else {
            let id = request.item.as_deref().unwrap_or_default();
            let item = self
                .items
                .index(id)
                .ok_or_else(|| RequestError::UnknownValue {
                    field: "item".into(),
                    message: format!("`{id}` is not an item of this model"),
                })?;
            let keep = |j: u32| j != item && policy.admits(j);
            self.ranker.similar(item, request.k, self.shared(), &keep)
        };
        Ok(SimilarResponse {
            slot: request.slot.clone(),
            item: request.item.clone(),
            text: request.text.clone(),
            items: policy
                .arrange(scored, request.k)
                .into_iter()
                .take(request.k)
                .map(|s| SimilarItem {
                    id: self.items.id(s.index).to_string(),
                    score: s.score,
                    source: s.source,
                })
                .collect(),
        })
    }

    /// Sentence vectors of texts, with the engine's text encoder (see [`Self::with_text_encoder`]).
    pub fn embed(&self, request: &EmbedRequest) -> Result<EmbedResponse, RequestError> {
        request.validate()?;
        let texts: Vec<&str> = request.texts.iter().map(String::as_str).collect();
        let vectors = self.embed_texts(&texts, "texts")?;
        Ok(EmbedResponse {
            dimension: vectors.first().map_or(0, Vec::len),
            vectors,
        })
    }

    /// Embeds `texts` with the engine's encoder; `field` names them in errors (`texts[2]`).
    fn embed_texts(&self, texts: &[&str], field: &str) -> Result<Vec<Vec<f32>>, RequestError> {
        #[cfg(feature = "text")]
        if let Some(embedder) = &self.embedder {
            use crate::model::EmbedError;
            return embedder.0.embed(texts).map_err(|e| match e {
                EmbedError::Tokenize { index, message } => RequestError::InvalidField {
                    field: if texts.len() == 1 && field == "text" {
                        field.to_string()
                    } else {
                        format!("{field}[{index}]")
                    },
                    message: format!("cannot be tokenized: {message}"),
                },
                EmbedError::Model(message) => RequestError::Internal { message },
            });
        }
        let _ = (texts, field);
        Err(RequestError::Unsupported {
            message: if cfg!(feature = "text") {
                "this engine has no text encoder: load one with it (JS `new Engine(bytes, \
                 {textEncoder})`, the worker's EDGEREC_TEXT_ENCODER)"
                    .into()
            } else {
                "this build of the engine has no text encoder (crate feature `text`)".into()
            },
        })
    }

    /// Recommends for a tracked session: `request` must not carry `history` or `events`; the
    /// session's events are used.
    pub fn recommend_session(
        &self,
        session: &Session,
        request: &RecommendRequest,
    ) -> Result<RecommendResponse, RequestError> {
        self.recommend(&session.request(request)?)
    }
}

fn unknown_item(position: usize, id: &str) -> IgnoredItem {
    IgnoredItem {
        position,
        id: id.to_string(),
        reason: "unknown_item".to_string(),
    }
}

#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod tests;
