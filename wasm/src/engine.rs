//! The engine: a loaded bundle answering requests by item id.

use std::collections::HashMap;

use crate::api::{
    Contribution, EmbedRequest, EmbedResponse, Explanation, Filters, IgnoredItem, ItemInfo,
    PredictRequest, PredictResponse, RecommendRequest, RecommendResponse, RecommendedItem,
    SimilarItem, SimilarRequest, SimilarResponse, Source, MAX_EXPLAIN,
};
use crate::bundle::{Bundle, Manifest, TrustedKey};
use crate::catalog::{Catalog, NO_CATEGORY};
use crate::covisit::{CovisitModel, ScoredItem};
use crate::error::{BundleError, Error, RequestError};
use crate::session::Session;
use crate::text_index::TextIndex;

/// How many candidates the transformer re-scores exactly: the best of the int8 retrieval over
/// the whole catalog (at least `k`), plus the co-visitation candidates.
pub const RERANK_CANDIDATES: usize = 100;
/// Co-visitation candidates added to the retrieved ones before the transformer re-scores.
pub const COVISIT_CANDIDATES: usize = 50;
/// Text candidates (items whose text is like the session's) added likewise.
pub const TEXT_CANDIDATES: usize = 20;
/// The items with the most session-kNN votes added likewise, when the bundle has a session
/// index: the transformer and the neighbours then score them together.
pub const KNN_CANDIDATES: usize = 100;

#[derive(Debug, Clone)]
pub struct Engine {
    manifest: Manifest,
    signer: Option<String>,
    /// Co-visitation lists (empty for a transformer bundle), popularity order and catalog.
    model: CovisitModel,
    index_of: HashMap<String, u32>,
    popularity_places: Vec<u32>,
    /// The transformer, for a `sasrec` bundle: it retrieves and ranks.
    #[cfg(feature = "model")]
    ranker: Option<Ranker>,
    /// V-SKNN over the training sessions and its blend weight, when a transformer bundle has
    /// a session index.
    #[cfg(feature = "model")]
    blend: Option<(std::sync::Arc<crate::SessionKnn>, crate::SessionBlend)>,
    /// Item text vectors, if the bundle has them: text candidates, `similar` by text.
    text: Option<TextIndex>,
    /// The encoder of query texts (`embed`, `similar` by text), when given one.
    #[cfg(feature = "text")]
    embedder: Option<Embedder>,
}

/// The text encoder shared by clones of an engine.
#[cfg(feature = "text")]
#[derive(Clone)]
struct Embedder(std::sync::Arc<crate::model::TextEmbedder>);

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

/// The transformer shared by clones of an engine (it is read-only once loaded).
#[cfg(feature = "model")]
#[derive(Clone)]
struct Ranker(std::sync::Arc<crate::model::ServingModel>);

#[cfg(feature = "model")]
impl std::fmt::Debug for Ranker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranker")
            .field("items", &self.0.item_count())
            .field("compute", &self.0.compute)
            .finish()
    }
}

/// A request's filters resolved against the model: which item indices may be returned.
struct Allowed<'a> {
    catalog: Option<&'a Catalog>,
    excluded: Vec<bool>,
    /// Per category index: allowed. `None`: no category filter.
    categories: Option<Vec<bool>>,
    price: Option<(f64, f64)>,
    available_only: bool,
}

impl Allowed<'_> {
    fn allows(&self, item: u32) -> bool {
        if self.excluded.get(item as usize).copied().unwrap_or(false) {
            return false;
        }
        let Some(catalog) = self.catalog else {
            return true;
        };
        if let Some(mask) = &self.categories {
            let c = catalog.category_index(item);
            if c == NO_CATEGORY || !mask[c as usize] {
                return false;
            }
        }
        if let Some((min, max)) = self.price {
            match catalog.price(item) {
                Some(p) if (min..=max).contains(&f64::from(p)) => {}
                _ => return false,
            }
        }
        !(self.available_only && catalog.available(item) == Some(false))
    }
}

impl Engine {
    /// Verifies and loads a bundle, signed or not.
    pub fn from_bundle(bytes: &[u8]) -> Result<Self, BundleError> {
        Self::from_bundle_trusted(bytes, None)
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
        let mut engine = Self::load_model(&bundle, options)?;
        engine.text = TextIndex::from_bundle(&bundle, engine.model.item_ids().len() as u64)?;
        Ok(engine)
    }

    fn load_model(bundle: &Bundle<'_>, options: &LoadOptions) -> Result<Self, BundleError> {
        #[cfg(not(feature = "model"))]
        let _ = options;
        #[cfg(feature = "model")]
        if bundle.manifest.model_kind == crate::model::SASREC_KIND {
            let ranker = crate::model::ServingModel::from_bundle(bundle, options.compute)?;
            let n_items = ranker.item_count() as u64;
            let mut fallback = CovisitModel::from_popularity_order(
                ranker.item_ids.clone(),
                ranker.popularity_order.clone(),
            );
            if let Some(catalog) = Catalog::from_bundle(bundle, n_items)? {
                fallback = fallback.with_catalog(catalog);
            }
            let mut engine = Self::from_parts(bundle.manifest.clone(), fallback);
            engine.signer = bundle.signer.clone();
            engine.blend = Self::load_blend(bundle, &ranker)?;
            engine.ranker = Some(Ranker(std::sync::Arc::new(ranker)));
            return Ok(engine);
        }
        let model = CovisitModel::from_bundle(bundle)?;
        let mut engine = Self::from_parts(bundle.manifest.clone(), model);
        engine.signer = bundle.signer.clone();
        Ok(engine)
    }

    /// A transformer bundle's session index and blend (`model_params.session_knn`), checked.
    #[cfg(feature = "model")]
    fn load_blend(
        bundle: &Bundle<'_>,
        ranker: &crate::model::ServingModel,
    ) -> Result<Option<(std::sync::Arc<crate::SessionKnn>, crate::SessionBlend)>, BundleError> {
        let Some(blend) = ranker.session_blend else {
            return Ok(None);
        };
        blend.validate().map_err(|e| {
            BundleError::InvalidManifest(format!(
                "model_params.{}: {e}",
                crate::session_knn::SESSION_BLEND_PARAM
            ))
        })?;
        let knn = crate::SessionKnn::from_bundle(bundle, ranker.item_count(), blend.knn)?;
        Ok(Some((std::sync::Arc::new(knn), blend)))
    }

    /// The session-kNN blend of a transformer bundle: the index and how its votes count.
    #[cfg(feature = "model")]
    pub fn session_blend(&self) -> Option<(&crate::SessionKnn, &crate::SessionBlend)> {
        self.blend
            .as_ref()
            .map(|(knn, blend)| (knn.as_ref(), blend))
    }

    /// The same engine with other blend weights (0 and 0: the transformer's order) and vote
    /// exponent; for choosing them on validation. The index is shared, not copied. No change without one.
    #[cfg(feature = "model")]
    pub fn with_blend_weights(mut self, weight: f64, seen_weight: f64, vote_exponent: f64) -> Self {
        if let Some((_, blend)) = &mut self.blend {
            blend.weight = weight;
            blend.seen_weight = seen_weight;
            blend.vote_exponent = vote_exponent;
        }
        self
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
        self.embedder = Some(Embedder(std::sync::Arc::new(embedder)));
        Ok(self)
    }

    /// The bundle's item text vectors, if it has them.
    pub fn text_index(&self) -> Option<&TextIndex> {
        self.text.as_ref()
    }

    /// Whether `embed` (and `similar` by text, with item text vectors) can answer.
    pub fn has_text_encoder(&self) -> bool {
        #[cfg(feature = "text")]
        return self.embedder.is_some();
        #[cfg(not(feature = "text"))]
        false
    }

    /// The transformer of a `sasrec` bundle (`None` for a co-visitation bundle).
    #[cfg(feature = "model")]
    pub fn transformer(&self) -> Option<&crate::model::ServingModel> {
        self.ranker.as_ref().map(|r| r.0.as_ref())
    }

    /// Wraps an in-memory model, e.g. one the trainer has just built.
    pub fn from_parts(manifest: Manifest, model: CovisitModel) -> Self {
        let index_of = model
            .item_ids()
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i as u32))
            .collect();
        Engine {
            manifest,
            signer: None,
            popularity_places: model.popularity_places(),
            model,
            index_of,
            #[cfg(feature = "model")]
            ranker: None,
            #[cfg(feature = "model")]
            blend: None,
            text: None,
            #[cfg(feature = "text")]
            embedder: None,
        }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Hex public key of the bundle's signer (the signature was verified), if it was signed.
    pub fn signer(&self) -> Option<&str> {
        self.signer.as_deref()
    }

    pub fn model(&self) -> &CovisitModel {
        &self.model
    }

    /// The item attributes (category, price, availability), if the bundle has a catalog.
    pub fn catalog(&self) -> Option<&Catalog> {
        self.model.catalog()
    }

    /// What the model knows about an item (popularity, catalog attributes); `None` if unknown.
    pub fn item(&self, id: &str) -> Option<ItemInfo> {
        let index = self.item_index(id)?;
        let catalog = self.catalog();
        Some(ItemInfo {
            id: id.to_string(),
            popularity_rank: self.popularity_places[index as usize] + 1,
            category: catalog.and_then(|c| c.category(index)).map(str::to_string),
            price: catalog.and_then(|c| c.price(index)),
            available: catalog.and_then(|c| c.available(index)),
        })
    }

    /// The index of an item id in the model's item table.
    pub fn item_index(&self, id: &str) -> Option<u32> {
        self.index_of.get(id).copied()
    }

    fn allowed(&self, f: &Filters) -> Result<Allowed<'_>, RequestError> {
        let catalog = self.catalog();
        if catalog.is_none() {
            let needing = [
                ("filters.categories", f.categories.is_some()),
                ("filters.price", f.price.is_some()),
                ("filters.available_only", f.available_only),
            ];
            if let Some((field, _)) = needing.into_iter().find(|n| n.1) {
                return Err(RequestError::UnsupportedFilter {
                    field: field.to_string(),
                    message: "this model bundle has no catalog (category, price, availability); \
                              only `filters.exclude` applies"
                        .to_string(),
                });
            }
        }
        let mut excluded = Vec::new();
        if !f.exclude.is_empty() {
            excluded = vec![false; self.model.item_ids().len()];
            for index in f.exclude.iter().filter_map(|id| self.item_index(id)) {
                excluded[index as usize] = true;
            }
        }
        let mut categories = None;
        if let (Some(names), Some(catalog)) = (&f.categories, catalog) {
            let mut mask = vec![false; catalog.categories().len()];
            for (i, name) in names.iter().enumerate() {
                let Some(matching) = catalog.matching_categories(name) else {
                    return Err(RequestError::UnknownValue {
                        field: format!("filters.categories[{i}]"),
                        message: format!(
                            "`{name}` is not a category of this catalog, nor a level above one"
                        ),
                    });
                };
                for (m, hit) in mask.iter_mut().zip(matching) {
                    *m |= hit;
                }
            }
            categories = Some(mask);
        }
        let price = f.price.map(|p| {
            (
                p.min.unwrap_or(f64::NEG_INFINITY),
                p.max.unwrap_or(f64::INFINITY),
            )
        });
        Ok(Allowed {
            catalog,
            excluded,
            categories,
            price,
            available_only: f.available_only,
        })
    }

    pub fn recommend(&self, request: &RecommendRequest) -> Result<RecommendResponse, RequestError> {
        request.validate()?;
        let allowed = self.allowed(&request.filters)?;
        let entries = request.session();
        let (session, positions, ignored) = self.resolve_session(&entries);
        #[cfg(feature = "model")]
        if let (Some(ranker), false) = (&self.ranker, session.is_empty()) {
            let items = self.rank_with_model(&ranker.0, request, &allowed, &session, |at| {
                entries[positions[at]].0
            })?;
            return Ok(RecommendResponse {
                slot: request.slot.clone(),
                items,
                ignored,
                context: request.context.clone(),
            });
        }
        let allows = |j: u32| allowed.allows(j);
        // Co-visited items first; then, with item text vectors, items whose text is like the
        // session's (the path of items without co-visits yet); then popular ones.
        let mut text_fill = |out: &mut Vec<ScoredItem>, excluded: &mut [bool], room: usize| {
            for (index, score) in
                self.text_candidates(&session, room, &|j| !excluded[j as usize] && allows(j))
            {
                excluded[index as usize] = true;
                out.push(ScoredItem {
                    index,
                    score,
                    source: Source::Text,
                    popularity_rank: None,
                });
            }
        };
        let ranked = self.model.rank_with(
            &session,
            request.k,
            request.include_seen,
            &allows,
            &mut text_fill,
        );
        let items = ranked
            .into_iter()
            .map(|s| {
                let because = match s.source {
                    Source::Covisit => self
                        .model
                        .contributions(&session, s.index)
                        .into_iter()
                        .take(MAX_EXPLAIN)
                        .map(|(at, contribution)| Contribution {
                            id: entries[positions[at]].0.to_string(),
                            contribution,
                        })
                        .collect(),
                    Source::Text => {
                        self.most_similar_texts(&session, s.index, &|at| entries[positions[at]].0)
                    }
                    Source::Popular | Source::Model => Vec::new(),
                };
                RecommendedItem {
                    id: self.model.item_ids()[s.index as usize].clone(),
                    score: s.score,
                    source: s.source,
                    explanation: Explanation {
                        signal: s.source,
                        because,
                        popularity_rank: s.popularity_rank,
                    },
                }
            })
            .collect();
        Ok(RecommendResponse {
            slot: request.slot.clone(),
            items,
            ignored,
            context: request.context.clone(),
        })
    }

    /// The `n` items (and their cosine) whose text is most like the session's text profile:
    /// its items' text vectors weighted as co-visitation weighs them (event type × recency).
    /// None without item text vectors or a session item with text.
    fn text_candidates(
        &self,
        session: &[(u32, f32)],
        n: usize,
        keep: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        let Some(index) = &self.text else {
            return Vec::new();
        };
        let decay = self.model.params().recency_decay;
        let mut recency = 1f32;
        let mut weighted = Vec::with_capacity(session.len());
        for &(item, event_weight) in session.iter().rev() {
            weighted.push((item, recency * event_weight));
            recency *= decay;
        }
        match index.profile(&weighted) {
            Some(query) => index.nearest(&query, n, keep),
            None => Vec::new(),
        }
    }

    /// The session items whose text is most like `item`'s (positive cosine only), each once,
    /// most similar first.
    fn most_similar_texts<'r>(
        &self,
        session: &[(u32, f32)],
        item: u32,
        id_at: &impl Fn(usize) -> &'r str,
    ) -> Vec<Contribution> {
        let Some(index) = &self.text else {
            return Vec::new();
        };
        self.most_similar(session, id_at, |h| index.similarity(h, item))
    }

    /// The session items with the highest positive `similarity`, each item once (credited at
    /// its latest position), at most [`MAX_EXPLAIN`], most similar first.
    fn most_similar<'r>(
        &self,
        session: &[(u32, f32)],
        id_at: &impl Fn(usize) -> &'r str,
        similarity: impl Fn(u32) -> f32,
    ) -> Vec<Contribution> {
        let mut because: Vec<(usize, f32)> = Vec::new();
        for (at, &(h, _)) in session.iter().enumerate().rev() {
            if session[at + 1..].iter().any(|s| s.0 == h) {
                continue;
            }
            let s = similarity(h);
            if s > 0.0 {
                because.push((at, s));
            }
        }
        because.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        because
            .into_iter()
            .take(MAX_EXPLAIN)
            .map(|(at, similarity)| Contribution {
                id: id_at(at).to_string(),
                contribution: similarity,
            })
            .collect()
    }

    /// The known session entries as (item index, event weight), each one's position in the
    /// request, and the unknown ones, reported.
    fn resolve_session(
        &self,
        entries: &[(&str, crate::api::EventType)],
    ) -> (Vec<(u32, f32)>, Vec<usize>, Vec<IgnoredItem>) {
        let weights = self.model.params().event_weights;
        let (mut session, mut positions, mut ignored) = (Vec::new(), Vec::new(), Vec::new());
        for (position, &(id, kind)) in entries.iter().enumerate() {
            match self.item_index(id) {
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
            let Some(ranker) = &self.ranker else {
                return Err(unsupported("this is a co-visitation bundle"));
            };
            let ranker = &ranker.0;
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
                match self.item_index(id) {
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

    /// JSON in, JSON out, as [`Self::recommend_json`].
    pub fn predict_json(&self, body: &str) -> Result<String, Error> {
        let request = PredictRequest::from_json(body.as_bytes())?;
        let response = self.predict(&request)?;
        Ok(serde_json::to_string(&response).expect("response serialises"))
    }

    /// The transformer's ranking as the response's items, each explained by the session items
    /// most like it. `session` holds (item index, weight); `id_at` names the request's session
    /// entry behind a `session` position.
    #[cfg(feature = "model")]
    fn rank_with_model<'r>(
        &self,
        ranker: &crate::model::ServingModel,
        request: &RecommendRequest,
        allowed: &Allowed<'_>,
        session: &[(u32, f32)],
        id_at: impl Fn(usize) -> &'r str,
    ) -> Result<Vec<RecommendedItem>, RequestError> {
        Ok(self
            .model_ranking(ranker, request, allowed, session)?
            .into_iter()
            .map(|(j, score)| RecommendedItem {
                id: self.model.item_ids()[j as usize].clone(),
                score,
                source: Source::Model,
                explanation: Explanation {
                    signal: Source::Model,
                    because: self.most_similar_in_session(ranker, session, j, &id_at),
                    popularity_rank: None,
                },
            })
            .collect())
    }

    /// The transformer's ranking: int8 retrieval over the whole catalog plus co-visitation,
    /// text and session-kNN candidates, re-scored exactly (and blended with the neighbours'
    /// votes when the bundle has a session index); the best `k` (item index, score).
    #[cfg(feature = "model")]
    fn model_ranking(
        &self,
        ranker: &crate::model::ServingModel,
        request: &RecommendRequest,
        allowed: &Allowed<'_>,
        session: &[(u32, f32)],
    ) -> Result<Vec<(u32, f32)>, RequestError> {
        let (candidates, votes) = self.model_candidates(ranker, request, allowed, session)?;
        let mut scored = match &self.blend {
            Some((_, blend)) => {
                let history: Vec<u32> = session.iter().map(|s| s.0).collect();
                BlendInputs::new(&candidates, &votes, &history, blend.vote_exponent)
                    .blended(blend.weight, blend.seen_weight)
            }
            None => candidates,
        };
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(request.k);
        Ok(scored)
    }

    /// The candidates [`Self::model_ranking`] ranks, with their exact transformer scores, and
    /// the neighbours' votes (ascending by item; none without a session index).
    #[cfg(feature = "model")]
    fn model_candidates(
        &self,
        ranker: &crate::model::ServingModel,
        request: &RecommendRequest,
        allowed: &Allowed<'_>,
        session: &[(u32, f32)],
    ) -> Result<(Vec<(u32, f32)>, Votes), RequestError> {
        let history: Vec<u32> = session.iter().map(|s| s.0).collect();
        let query = ranker.query(&history).map_err(|e| RequestError::Internal {
            message: e.to_string(),
        })?;
        let mut seen = vec![false; ranker.item_count()];
        if !request.include_seen {
            history.iter().for_each(|&i| seen[i as usize] = true);
        }
        let keep = |j: u32| !seen[j as usize] && allowed.allows(j);
        let mut candidates = ranker.retrieve(&query, RERANK_CANDIDATES.max(request.k), keep);
        let covisited = match self.model.num_neighbours() {
            0 => Vec::new(),
            _ => self
                .model
                .rank(session, COVISIT_CANDIDATES, request.include_seen, &keep),
        };
        let texts = self.text_candidates(session, TEXT_CANDIDATES, &keep);
        // The neighbours' votes (ascending by item), and their best items as candidates.
        let votes: Votes = match &self.blend {
            Some((knn, _)) => knn
                .scores(&history, request.include_seen)
                .into_iter()
                .filter(|&(j, _)| keep(j))
                .collect(),
            None => Vec::new(),
        };
        let by_vote = |a: &(u32, f64), b: &(u32, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        let mut most_voted = votes.clone();
        if most_voted.len() > KNN_CANDIDATES {
            most_voted.select_nth_unstable_by(KNN_CANDIDATES - 1, by_vote);
            most_voted.truncate(KNN_CANDIDATES);
        }
        most_voted.sort_by(by_vote);
        let more = covisited
            .iter()
            .filter(|c| c.source == Source::Covisit)
            .map(|c| c.index)
            .chain(texts.into_iter().map(|t| t.0))
            .chain(most_voted.into_iter().map(|v| v.0));
        for j in more {
            if !candidates.contains(&j) {
                candidates.push(j);
            }
        }
        let scored = candidates
            .into_iter()
            .map(|j| (j, ranker.score(&query, j)))
            .collect();
        Ok((scored, votes))
    }

    /// What the blend combines for a history of item indices (no filters), as a request for
    /// `k` items gathers it, for choosing the blend's weights on validation without re-running
    /// the transformer and the neighbours for each. `None` for a bundle without a session index
    /// (or an empty history).
    pub fn blend_inputs(
        &self,
        history: &[u32],
        k: usize,
        include_seen: bool,
    ) -> Option<BlendInputs> {
        #[cfg(feature = "model")]
        if let (Some(ranker), Some((_, blend)), false) =
            (&self.ranker, &self.blend, history.is_empty())
        {
            let (request, session) = evaluation_request(history, k, include_seen);
            let allowed = self.allowed(&request.filters).expect("no filters");
            let (candidates, votes) = self
                .model_candidates(&ranker.0, &request, &allowed, &session)
                .expect("the transformer answers");
            return Some(BlendInputs::new(
                &candidates,
                &votes,
                history,
                blend.vote_exponent,
            ));
        }
        let _ = (history, k, include_seen);
        None
    }

    /// Answers a history of item indices (as the evaluation sends them) by the engine's
    /// ranking, transformer or co-visitation: item indices, best first (what `recommend`
    /// returns, without ids or explanations).
    pub fn recommend_indices(&self, history: &[u32], k: usize, include_seen: bool) -> Vec<u32> {
        #[cfg(feature = "model")]
        if let (Some(ranker), false) = (&self.ranker, history.is_empty()) {
            let (request, session) = evaluation_request(history, k, include_seen);
            let allowed = self.allowed(&request.filters).expect("no filters");
            return self
                .model_ranking(&ranker.0, &request, &allowed, &session)
                .expect("the transformer answers")
                .into_iter()
                .map(|(j, _)| j)
                .collect();
        }
        self.model
            .recommend_indices(history, k, include_seen)
            .into_iter()
            .map(|s| s.index)
            .collect()
    }

    /// The session items most similar to `item` by the model (positive cosine only), each
    /// item once, most similar first.
    #[cfg(feature = "model")]
    fn most_similar_in_session<'r>(
        &self,
        ranker: &crate::model::ServingModel,
        session: &[(u32, f32)],
        item: u32,
        id_at: &impl Fn(usize) -> &'r str,
    ) -> Vec<Contribution> {
        self.most_similar(session, id_at, |h| ranker.similarity(h, item))
    }

    /// Items like `request.item`: by the transformer's item representations (cosine) for a
    /// `sasrec` bundle, by co-visitation otherwise (then, with item text vectors, by text, so a
    /// new item without co-visits still has neighbours). Items like `request.text`: by the
    /// cosine of text vectors (semantic search; needs item text vectors and their encoder).
    pub fn similar(&self, request: &SimilarRequest) -> Result<SimilarResponse, RequestError> {
        request.validate()?;
        let allowed = self.allowed(&request.filters)?;
        if let Some(text) = &request.text {
            let index = self
                .text
                .as_ref()
                .ok_or_else(|| RequestError::Unsupported {
                    message: "similar by text needs item text vectors in the bundle \
                          (edgerec-train covisit --text-encoder)"
                        .into(),
                })?;
            let query = self.embed_texts(&[text.as_str()], "text")?.remove(0);
            let scored = index.nearest(&query, request.k, |j| allowed.allows(j));
            return Ok(self.similar_response(request, scored, Source::Text));
        }
        let id = request.item.as_deref().unwrap_or_default();
        let item = self
            .item_index(id)
            .ok_or_else(|| RequestError::UnknownValue {
                field: "item".into(),
                message: format!("`{id}` is not an item of this model"),
            })?;
        let keep = |j: u32| j != item && allowed.allows(j);
        #[cfg(feature = "model")]
        if let Some(ranker) = &self.ranker {
            let ranker = &ranker.0;
            let query = ranker.item_row(item);
            let candidates = ranker.retrieve(query, RERANK_CANDIDATES.max(request.k), keep);
            let mut scored: Vec<(u32, f32)> = candidates
                .into_iter()
                .map(|j| (j, ranker.similarity(item, j)))
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            return Ok(self.similar_response(request, scored, Source::Model));
        }
        let mut scored: Vec<(u32, f32)> = self
            .model
            .neighbours(item)
            .filter(|&(j, _)| keep(j))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(request.k);
        let listed: Vec<u32> = scored.iter().map(|s| s.0).collect();
        let mut response = self.similar_response(request, scored, Source::Covisit);
        let room = request.k - listed.len();
        if let (Some(index), true) = (&self.text, room > 0) {
            let texts = index.nearest(&index.vector(item), room, |j| {
                keep(j) && !listed.contains(&j)
            });
            let more = self.similar_response(request, texts, Source::Text).items;
            response.items.extend(more);
        }
        Ok(response)
    }

    fn similar_response(
        &self,
        request: &SimilarRequest,
        scored: Vec<(u32, f32)>,
        source: Source,
    ) -> SimilarResponse {
        SimilarResponse {
            slot: request.slot.clone(),
            item: request.item.clone(),
            text: request.text.clone(),
            items: scored
                .into_iter()
                .take(request.k)
                .map(|(j, score)| SimilarItem {
                    id: self.model.item_ids()[j as usize].clone(),
                    score,
                    source,
                })
                .collect(),
        }
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

    /// JSON in, JSON out, as [`Self::recommend_json`].
    pub fn embed_json(&self, body: &str) -> Result<String, Error> {
        let request = EmbedRequest::from_json(body.as_bytes())?;
        let response = self.embed(&request)?;
        Ok(serde_json::to_string(&response).expect("response serialises"))
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

    /// JSON in, JSON out, as [`Self::recommend_json`].
    pub fn similar_json(&self, body: &str) -> Result<String, Error> {
        let request = SimilarRequest::from_json(body.as_bytes())?;
        let response = self.similar(&request)?;
        Ok(serde_json::to_string(&response).expect("response serialises"))
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

    /// JSON in, JSON out: the form the worker and other byte-oriented front ends use.
    pub fn recommend_json(&self, body: &str) -> Result<String, Error> {
        let request = RecommendRequest::from_json(body.as_bytes())?;
        let response = self.recommend(&request)?;
        Ok(serde_json::to_string(&response).expect("response serialises"))
    }
}

fn unknown_item(position: usize, id: &str) -> IgnoredItem {
    IgnoredItem {
        position,
        id: id.to_string(),
        reason: "unknown_item".to_string(),
    }
}

/// Session-kNN votes: (item index, summed vote), ascending by item.
#[cfg(feature = "model")]
type Votes = Vec<(u32, f64)>;

/// A history request without filters, as the evaluation sends item indices: each item a view.
#[cfg(feature = "model")]
fn evaluation_request(
    history: &[u32],
    k: usize,
    include_seen: bool,
) -> (RecommendRequest, Vec<(u32, f32)>) {
    let request = RecommendRequest {
        k,
        include_seen,
        ..RecommendRequest::default()
    };
    (request, history.iter().map(|&i| (i, 1.0)).collect())
}

/// What the blend of one request combines, computed once: each candidate's softmax
/// probability among the candidates (edgerec's `exp`, summed in candidate order), its share of
/// all the neighbours' votes (each raised to the blend's exponent, by libm's `pow`, so every
/// platform agrees), and whether it is in the session.
#[derive(Debug, Clone)]
pub struct BlendInputs {
    items: Vec<u32>,
    probability: Vec<f64>,
    share: Vec<f64>,
    seen: Vec<bool>,
}

impl BlendInputs {
    /// From the candidates' exact transformer scores, the votes (ascending by item), the
    /// session's items and [`crate::SessionBlend::vote_exponent`].
    pub fn new(
        candidates: &[(u32, f32)],
        votes: &[(u32, f64)],
        history: &[u32],
        vote_exponent: f64,
    ) -> Self {
        let max = candidates
            .iter()
            .map(|s| s.1)
            .fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = candidates
            .iter()
            .map(|s| crate::kernels::float::exp(s.1 - max))
            .collect();
        let z: f64 = exps.iter().map(|&e| e as f64).sum();
        let power = |v: f64| match vote_exponent {
            1.0 => v,
            e => libm::pow(v, e),
        };
        let total: f64 = votes.iter().map(|v| power(v.1)).sum();
        let share = |j: u32| match votes.binary_search_by_key(&j, |v| v.0) {
            Ok(at) if total > 0.0 => power(votes[at].1) / total,
            _ => 0.0,
        };
        BlendInputs {
            items: candidates.iter().map(|c| c.0).collect(),
            probability: exps.iter().map(|&e| e as f64 / z).collect(),
            share: candidates.iter().map(|c| share(c.0)).collect(),
            seen: candidates.iter().map(|c| history.contains(&c.0)).collect(),
        }
    }

    /// The candidates' blended scores, in candidate order: probability plus `weight` times the
    /// share of the votes (`seen_weight` for an item already in the session: whether to repeat
    /// is its own decision). IEEE basic operations only, so every platform ranks alike.
    pub fn blended(&self, weight: f64, seen_weight: f64) -> Vec<(u32, f32)> {
        (0..self.items.len())
            .map(|c| {
                let w = if self.seen[c] { seen_weight } else { weight };
                (
                    self.items[c],
                    (self.probability[c] + w * self.share[c]) as f32,
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CatalogEntry;
    use crate::covisit::CovisitParams;
    use crate::Source;
    use proptest::prelude::*;

    /// Items a..e; a->b strong, a->c weak, b->c, d isolated; popularity e > d > c > b > a.
    fn model() -> CovisitModel {
        let ids = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        let neighbours = vec![
            vec![(1, 3.0), (2, 1.0)],
            vec![(2, 2.0), (0, 1.0)],
            vec![(1, 1.0)],
            vec![],
            vec![],
        ];
        CovisitModel::new(ids, &[1, 2, 3, 4, 5], &neighbours, CovisitParams::new(0.5))
    }

    fn engine() -> Engine {
        let bytes = model()
            .bundle_writer("2026-11-29T00:00:00Z".into())
            .finish();
        Engine::from_bundle(&bytes).unwrap()
    }

    fn ids(r: &RecommendResponse) -> Vec<&str> {
        r.items.iter().map(|i| i.id.as_str()).collect()
    }

    const ENCODER: &str = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12";

    /// The engine of [`engine`] with item texts: a and d alike (d has no co-visits: a new
    /// item), b and c alike, e without text.
    fn engine_with_text() -> Engine {
        let mut w = model().bundle_writer("2026-11-29T00:00:00Z".into());
        let unit = |v: [f32; 3]| {
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / n).collect::<Vec<f32>>()
        };
        let vectors = vec![
            unit([1.0, 0.1, 0.0]),
            unit([0.0, 1.0, 0.2]),
            unit([0.1, 1.0, 0.0]),
            unit([0.9, 0.0, 0.1]),
            Vec::new(),
        ];
        TextIndex::new(&vectors, 3, ENCODER).write(&mut w);
        Engine::from_bundle(&w.finish()).unwrap()
    }

    #[test]
    fn text_candidates_follow_covisited_items_and_reach_new_items() {
        let e = engine_with_text();
        assert_eq!(e.text_index().unwrap().encoder(), ENCODER);
        // After `a`: co-visited b, c; then by text d (like a; no co-visits of its own); then
        // the popular fill (e has no text).
        let r = e.recommend(&req(&["a"], 4, false)).unwrap();
        assert_eq!(ids(&r), vec!["b", "c", "d", "e"]);
        let sources: Vec<Source> = r.items.iter().map(|i| i.source).collect();
        assert_eq!(
            sources,
            vec![
                Source::Covisit,
                Source::Covisit,
                Source::Text,
                Source::Popular
            ]
        );
        let d = &r.items[2];
        assert_eq!(d.explanation.signal, Source::Text);
        assert_eq!(d.explanation.because[0].id, "a");
        assert!(d.score > 0.9 && d.score <= 1.0, "cosine {}", d.score);
        // A session of the new item alone: nothing co-visited, its text finds a.
        let r = e.recommend(&req(&["d"], 2, false)).unwrap();
        assert_eq!(r.items[0].id, "a");
        assert_eq!(r.items[0].source, Source::Text);
        // Filters apply to text candidates too.
        let mut filtered = req(&["a"], 4, false);
        filtered.filters.exclude = vec!["d".into()];
        assert!(!ids(&e.recommend(&filtered).unwrap()).contains(&"d"));
        // Without item text vectors: no text candidates.
        assert_eq!(
            ids(&engine().recommend(&req(&["a"], 4, false)).unwrap()),
            vec!["b", "c", "e", "d"]
        );
    }

    #[test]
    fn similar_items_fall_back_to_text_and_text_queries_need_an_encoder() {
        let e = engine_with_text();
        // d has no co-visits: its neighbours come from text.
        let like_d = e.similar(&SimilarRequest::new("d", 2)).unwrap();
        assert_eq!(like_d.items[0].id, "a");
        assert!(like_d.items.iter().all(|i| i.source == Source::Text));
        // a: co-visited first, then text.
        let like_a = e.similar(&SimilarRequest::new("a", 3)).unwrap();
        let got: Vec<(&str, Source)> = like_a
            .items
            .iter()
            .map(|i| (i.id.as_str(), i.source))
            .collect();
        assert_eq!(
            got,
            vec![
                ("b", Source::Covisit),
                ("c", Source::Covisit),
                ("d", Source::Text)
            ]
        );
        for err in [
            e.similar(&SimilarRequest::by_text("red dress", 3))
                .unwrap_err(),
            e.embed(&EmbedRequest {
                texts: vec!["red dress".into()],
            })
            .unwrap_err(),
        ] {
            assert_eq!(err.code(), "unsupported_request");
            assert!(err.to_string().contains("text encoder"), "{err}");
        }
        let err = engine()
            .similar(&SimilarRequest::by_text("red dress", 3))
            .unwrap_err();
        assert!(err.to_string().contains("item text vectors"), "{err}");
        let both = SimilarRequest {
            text: Some("x".into()),
            ..SimilarRequest::new("a", 3)
        };
        assert_eq!(both.validate().unwrap_err().field(), Some("text"));
        let neither = SimilarRequest {
            item: None,
            ..SimilarRequest::new("a", 3)
        };
        assert_eq!(neither.validate().unwrap_err().field(), Some("item"));
        let empty = EmbedRequest { texts: vec![] };
        assert_eq!(e.embed(&empty).unwrap_err().field(), Some("texts"));
        let long = EmbedRequest {
            texts: vec!["x".repeat(5000)],
        };
        assert_eq!(e.embed(&long).unwrap_err().field(), Some("texts[0]"));
    }

    fn req(history: &[&str], k: usize, include_seen: bool) -> RecommendRequest {
        RecommendRequest {
            include_seen,
            ..RecommendRequest::from_history(history.iter().map(|s| s.to_string()).collect(), k)
        }
    }

    #[test]
    fn covisited_first_then_popular() {
        let e = engine();
        let r = e.recommend(&req(&["a"], 4, false)).unwrap();
        assert_eq!(ids(&r), ["b", "c", "e", "d"]);
        assert_eq!(r.items[0].source, Source::Covisit);
        assert_eq!(r.items[2].source, Source::Popular);
        assert!(r.items.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn recent_items_weigh_more() {
        // history [b, a]: a is last (weight 1): b 3.0, c 1.0 + 0.5*2.0 = 2.0; b is seen.
        let e = engine();
        assert_eq!(
            ids(&e.recommend(&req(&["b", "a"], 1, false)).unwrap()),
            ["c"]
        );
        assert_eq!(
            ids(&e.recommend(&req(&["b", "a"], 2, true)).unwrap()),
            ["b", "c"]
        );
    }

    #[test]
    fn unknown_items_are_reported() {
        let e = engine();
        let r = e.recommend(&req(&["zzz", "a"], 2, false)).unwrap();
        assert_eq!(ids(&r), ["b", "c"]);
        assert_eq!(
            r.ignored,
            vec![IgnoredItem {
                position: 0,
                id: "zzz".into(),
                reason: "unknown_item".into()
            }]
        );
    }

    #[test]
    fn cold_session_gets_popular_items() {
        let e = engine();
        assert_eq!(
            ids(&e.recommend(&req(&[], 3, false)).unwrap()),
            ["e", "d", "c"]
        );
    }

    #[test]
    fn k_larger_than_catalog() {
        let e = engine();
        assert_eq!(e.recommend(&req(&["a"], 50, false)).unwrap().items.len(), 4);
    }

    #[test]
    fn json_round_trip() {
        let e = engine();
        let out = e.recommend_json(r#"{"history": ["a"], "k": 1}"#).unwrap();
        let parsed: RecommendResponse = serde_json::from_str(&out).unwrap();
        assert_eq!(ids(&parsed), ["b"]);
        assert_eq!(
            e.recommend_json(r#"{"history": "a"}"#).unwrap_err().code(),
            "invalid_field"
        );
    }

    fn entry(category: Option<&str>, price: Option<f32>, available: Option<bool>) -> CatalogEntry {
        CatalogEntry {
            category: category.map(String::from),
            price,
            available,
        }
    }

    /// The same model with a catalog: a x.y 10 yes; b x.z 20 no; c w 5 ?; d - - ?; e x 30 ?.
    fn shop() -> Engine {
        let catalog = Catalog::from_entries(&[
            entry(Some("x.y"), Some(10.0), Some(true)),
            entry(Some("x.z"), Some(20.0), Some(false)),
            entry(Some("w"), Some(5.0), None),
            entry(None, None, None),
            entry(Some("x"), Some(30.0), None),
        ]);
        let model = engine().model().clone().with_catalog(catalog);
        Engine::from_bundle(&model.bundle_writer("2026-11-29T00:00:00Z".into()).finish()).unwrap()
    }

    fn json(e: &Engine, body: &str) -> Result<RecommendResponse, RequestError> {
        e.recommend(&RecommendRequest::from_json(body.as_bytes())?)
    }

    #[test]
    fn filters_by_category_price_availability_and_exclusion() {
        let e = shop();
        let all = |body: &str| {
            ids(&json(&e, body).unwrap())
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(all(r#"{"history": ["a"], "k": 5}"#), ["b", "c", "e", "d"]);
        // `x` is itself a category and the parent of x.y and x.z.
        assert_eq!(
            all(r#"{"history": ["a"], "k": 5, "filters": {"categories": ["x"]}}"#),
            ["b", "e"]
        );
        assert_eq!(
            all(r#"{"history": ["a"], "k": 5, "filters": {"categories": ["x.z", "w"]}}"#),
            ["b", "c"]
        );
        // Items without a price never match a price range.
        assert_eq!(
            all(r#"{"history": ["a"], "k": 5, "filters": {"price": {"min": 5, "max": 20}}}"#),
            ["b", "c"]
        );
        assert_eq!(
            all(r#"{"history": ["a"], "k": 5, "filters": {"price": {"min": 21}}}"#),
            ["e"]
        );
        // Known-unavailable items go; unknown availability stays.
        assert_eq!(
            all(r#"{"history": ["a"], "k": 5, "filters": {"available_only": true}}"#),
            ["c", "e", "d"]
        );
        assert_eq!(
            all(r#"{"history": ["a"], "k": 5, "filters": {"exclude": ["b", "zz"]}}"#),
            ["c", "e", "d"]
        );
        assert_eq!(
            all(r#"{"history": [], "k": 5, "filters": {"categories": ["x"], "exclude": ["e"]}}"#),
            ["b", "a"]
        );
    }

    #[test]
    fn unknown_categories_and_missing_catalogs_are_errors() {
        let e = json(
            &shop(),
            r#"{"history": [], "filters": {"categories": ["x", "x.q"]}}"#,
        )
        .unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("unknown_value", Some("filters.categories[1]"))
        );
        assert!(e.to_string().contains("`x.q`"), "{e}");
        // A prefix that is not a whole level is not a category.
        let e = json(
            &shop(),
            r#"{"history": [], "filters": {"categories": ["x."]}}"#,
        )
        .unwrap_err();
        assert_eq!(e.code(), "unknown_value");
        for (filter, field) in [
            (r#"{"categories": ["x"]}"#, "filters.categories"),
            (r#"{"price": {"max": 3}}"#, "filters.price"),
            (r#"{"available_only": true}"#, "filters.available_only"),
        ] {
            let e = json(
                &engine(),
                &format!(r#"{{"history": [], "filters": {filter}}}"#),
            )
            .unwrap_err();
            assert_eq!((e.code(), e.field()), ("unsupported_filter", Some(field)));
        }
        // Exclusion needs no catalog.
        let r = json(
            &engine(),
            r#"{"history": ["a"], "k": 1, "filters": {"exclude": ["b"]}}"#,
        )
        .unwrap();
        assert_eq!(ids(&r), ["c"]);
    }

    #[test]
    fn explanations_name_the_history_items() {
        let e = engine();
        // history [b, a]: c = 1.0 (from a) + 0.5 * 2.0 (from b); b = 3.0 from a.
        let r = e.recommend(&req(&["b", "a"], 4, true)).unwrap();
        assert_eq!(ids(&r), ["b", "c", "a", "e"]);
        let because = |i: usize| {
            r.items[i]
                .explanation
                .because
                .iter()
                .map(|c| (c.id.as_str(), c.contribution))
                .collect::<Vec<_>>()
        };
        assert_eq!(because(0), [("a", 3.0)]);
        assert_eq!(
            because(1),
            [("a", 1.0), ("b", 1.0)],
            "ties: the latest first"
        );
        assert_eq!(because(2), [("b", 0.5)]);
        assert_eq!(r.items[3].explanation.signal, Source::Popular);
        assert_eq!(r.items[3].explanation.because, []);
        assert_eq!(r.items[3].explanation.popularity_rank, Some(1));
        assert_eq!(r.items[1].explanation.popularity_rank, None);
    }

    #[test]
    fn events_are_weighted_by_type() {
        let e = engine();
        let views = json(
            &e,
            r#"{"events": [{"id": "b"}, {"id": "a", "type": "view"}], "k": 3}"#,
        )
        .unwrap();
        assert_eq!(
            views.items,
            e.recommend(&req(&["b", "a"], 3, false)).unwrap().items
        );
        // A cart on b doubles b's weight (default cart weight 2): c = 1.0 + 2 * 0.5 * 2.0 = 3.0.
        let cart = json(
            &e,
            r#"{"events": [{"id": "b", "type": "cart"}, {"id": "a"}], "k": 1}"#,
        )
        .unwrap();
        assert_eq!(cart.items[0].id, "c");
        assert_eq!(cart.items[0].score, 3.0);
        assert_eq!(cart.items[0].explanation.because[0].id, "b");
    }

    #[test]
    fn slot_and_context_are_echoed_and_unknown_events_reported() {
        let r = json(
            &engine(),
            r#"{"slot": "home", "events": [{"id": "zz", "type": "click"}, {"id": "a"}], "k": 1,
                "context": {"page": "product", "device": "tablet", "time": 5}}"#,
        )
        .unwrap();
        assert_eq!(r.slot.as_deref(), Some("home"));
        assert_eq!(r.context.unwrap().page.as_deref(), Some("product"));
        assert_eq!(r.ignored[0].position, 0);
        assert_eq!(
            ids(&json(&engine(), r#"{"history": ["a"], "k": 1}"#).unwrap()),
            ["b"]
        );
    }

    #[test]
    fn a_tracked_session_updates_the_next_answer() {
        let e = engine();
        let mut session = Session::new();
        let base = RecommendRequest {
            k: 2,
            ..RecommendRequest::default()
        };
        assert_eq!(
            ids(&e.recommend_session(&session, &base).unwrap()),
            ["e", "d"]
        );
        session.track(crate::Event::view("a")).unwrap();
        assert_eq!(
            ids(&e.recommend_session(&session, &base).unwrap()),
            ["b", "c"]
        );
        session.track(crate::Event::view("b")).unwrap();
        assert_eq!(
            ids(&e.recommend_session(&session, &base).unwrap()),
            ["c", "e"]
        );
        let with_history = RecommendRequest::from_history(vec![], 2);
        assert_eq!(
            e.recommend_session(&session, &with_history)
                .unwrap_err()
                .field(),
            Some("history")
        );
    }

    #[test]
    fn a_partial_or_corrupt_catalog_is_refused() {
        let model = shop().model().clone();
        let sections = |drop: &str, replace: Option<(&str, Vec<u8>)>| {
            let mut w = crate::BundleWriter::new(
                "covisit",
                serde_json::to_value(model.params()).unwrap(),
                "t".into(),
            );
            let full = model.bundle_writer("t".into()).finish();
            let bundle = Bundle::parse(&full).unwrap();
            for (k, v) in &bundle.manifest.counts {
                w.count(k, *v);
            }
            for s in &bundle.manifest.sections {
                if s.name == drop {
                    continue;
                }
                let bytes = match &replace {
                    Some((name, bytes)) if *name == s.name => bytes.clone(),
                    _ => bundle.section(&s.name).unwrap().to_vec(),
                };
                w.section(&s.name, &s.encoding, &bytes);
            }
            Engine::from_bundle(&w.finish())
        };
        assert!(sections("", None).is_ok());
        let e = sections("catalog_price", None).unwrap_err();
        assert_eq!(e.code(), "invalid_section");
        assert!(e.to_string().contains("catalog_price"), "{e}");
        let cases: [(&str, Vec<u8>, &str); 5] = [
            ("catalog_available", vec![0, 1, 2, 3, 1], "value 3"),
            ("catalog_available", vec![0, 1], "2 entries for 5 items"),
            (
                "catalog_price",
                crate::bundle::f32_bytes(&[1.0, -2.0, 0.0, f32::NAN, 3.0]),
                "price -2",
            ),
            (
                "catalog_item_category",
                crate::bundle::u32_bytes(&[0, 1, 2, 9, 0]),
                "index 9",
            ),
            (
                "catalog_categories",
                b"w\nx\nx\nx.z".to_vec(),
                "not sorted and unique",
            ),
        ];
        for (name, bytes, problem) in cases {
            let e = sections("", Some((name, bytes))).unwrap_err();
            assert_eq!(e.code(), "invalid_section", "{name}");
            assert!(e.to_string().contains(problem), "{name}: {e}");
        }
    }

    fn engine_bytes() -> Vec<u8> {
        let model = engine().model().clone();
        model.bundle_writer("2026-11-29T00:00:00Z".into()).finish()
    }

    proptest! {
        #[test]
        fn a_changed_bundle_is_never_accepted(flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4)) {
            let mut bytes = engine_bytes();
            for (at, mask) in flips {
                let i = at.index(bytes.len());
                bytes[i] ^= mask;
            }
            if bytes != engine_bytes() {
                prop_assert!(Engine::from_bundle(&bytes).is_err());
            }
        }

        #[test]
        fn a_changed_signed_bundle_is_never_accepted(flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4), cut in any::<prop::sample::Index>()) {
            let key = crate::BundleSigner::from_bytes(&[5; 32]);
            let trusted = key.public_key();
            let signed = key.sign(&engine_bytes()).unwrap();
            prop_assert!(Engine::from_bundle_trusted(&signed, Some(&trusted)).is_ok());
            let mut bytes = signed.clone();
            for (at, mask) in flips {
                let i = at.index(bytes.len());
                bytes[i] ^= mask;
            }
            if bytes != signed {
                prop_assert!(Engine::from_bundle_trusted(&bytes, Some(&trusted)).is_err());
                prop_assert!(Engine::from_bundle(&bytes).is_err());
            }
            let cut = cut.index(signed.len());
            prop_assert_eq!(Engine::from_bundle(&signed[..cut]).unwrap_err().code(), "truncated");
        }

        #[test]
        fn a_truncated_or_extended_bundle_is_never_accepted(cut in any::<prop::sample::Index>(), extra in 1usize..64) {
            let bytes = engine_bytes();
            let err = Engine::from_bundle(&bytes[..cut.index(bytes.len())]).unwrap_err();
            prop_assert_eq!(err.code(), "truncated");
            let mut longer = bytes.clone();
            longer.extend(std::iter::repeat_n(0u8, extra));
            prop_assert_eq!(Engine::from_bundle(&longer).unwrap_err().code(), "trailing_data");
        }

        #[test]
        fn never_more_than_k_never_seen_deterministic(
            history in proptest::collection::vec(prop::sample::select(vec!["a", "b", "c", "d", "e", "x"]), 0..8),
            k in 1usize..8,
        ) {
            let e = engine();
            let r = req(&history, k, false);
            let a = e.recommend(&r).unwrap();
            prop_assert!(a.items.len() <= k);
            prop_assert!(a.items.iter().all(|i| !history.contains(&i.id.as_str())));
            let mut unique = ids(&a);
            unique.sort();
            unique.dedup();
            prop_assert_eq!(unique.len(), a.items.len());
            prop_assert_eq!(&a, &e.recommend(&r).unwrap());
        }

        #[test]
        fn filters_always_hold_and_explanations_add_up(
            history in proptest::collection::vec(prop::sample::select(vec!["a", "b", "c", "d", "e", "x"]), 0..8),
            kinds in proptest::collection::vec(prop::sample::select(vec!["view", "click", "cart", "purchase"]), 8),
            k in 1usize..8,
            category in prop::sample::select(vec![None, Some("x"), Some("x.y"), Some("w")]),
            max_price in prop::option::of(0f64..40.0),
            available_only in any::<bool>(),
            exclude in proptest::collection::vec(prop::sample::select(vec!["a", "b", "c", "d", "e", "x"]), 0..3),
        ) {
            let e = shop();
            let events: Vec<_> = history.iter().zip(&kinds).map(|(id, t)| serde_json::json!({"id": id, "type": t})).collect();
            let mut filters = serde_json::json!({"available_only": available_only, "exclude": exclude});
            if let Some(c) = category { filters["categories"] = serde_json::json!([c]); }
            if let Some(p) = max_price { filters["price"] = serde_json::json!({"max": p}); }
            let body = serde_json::json!({"events": events, "k": k, "filters": filters}).to_string();
            let r = json(&e, &body).unwrap();
            let catalog = e.catalog().unwrap();
            prop_assert!(r.items.len() <= k);
            for item in &r.items {
                let i = e.item_index(&item.id).unwrap();
                prop_assert!(!exclude.contains(&item.id.as_str()));
                prop_assert!(!history.contains(&item.id.as_str()));
                if let Some(c) = category {
                    let cat = catalog.category(i).unwrap_or("");
                    prop_assert!(cat == c || cat.starts_with(&format!("{c}.")), "{} in {}", item.id, cat);
                }
                if let Some(p) = max_price {
                    prop_assert!(catalog.price(i).is_some_and(|q| f64::from(q) <= p));
                }
                if available_only {
                    prop_assert_ne!(catalog.available(i), Some(false));
                }
                prop_assert_eq!(item.explanation.signal, item.source);
                let because = &item.explanation.because;
                if item.source == Source::Covisit {
                    // At most 3 distinct history items exist here, so every contributor is listed.
                    let sum: f32 = because.iter().map(|c| c.contribution).sum();
                    prop_assert!((sum - item.score).abs() <= 1e-5 * item.score.max(1.0), "{} vs {}", sum, item.score);
                    prop_assert!(because.iter().all(|c| history.contains(&c.id.as_str())));
                    prop_assert!(because.windows(2).all(|w| w[0].contribution >= w[1].contribution));
                } else {
                    prop_assert!(because.is_empty());
                }
            }
            prop_assert_eq!(&r, &json(&e, &body).unwrap());
        }
    }
}

#[cfg(test)]
mod similar_tests {
    use super::*;
    use crate::covisit::CovisitParams;

    #[test]
    fn covisit_similar_lists_neighbours_by_weight() {
        let ids = ["a", "b", "c", "d"].map(String::from).to_vec();
        let neighbours = vec![vec![(2, 1.0), (1, 3.0)], vec![(0, 1.0)], vec![], vec![]];
        let model = CovisitModel::new(ids, &[1, 2, 3, 4], &neighbours, CovisitParams::new(0.5));
        let e = Engine::from_bundle(&model.bundle_writer("t".into()).finish()).unwrap();
        let r = e.similar(&SimilarRequest::new("a", 5)).unwrap();
        let got: Vec<(&str, f32)> = r.items.iter().map(|i| (i.id.as_str(), i.score)).collect();
        assert_eq!(got, [("b", 3.0), ("c", 1.0)]);
        assert!(r.items.iter().all(|i| i.source == Source::Covisit));
        assert!(e
            .similar(&SimilarRequest::new("d", 5))
            .unwrap()
            .items
            .is_empty());
        let mut excluded = SimilarRequest::new("a", 5);
        excluded.filters.exclude = vec!["b".into()];
        assert_eq!(e.similar(&excluded).unwrap().items.len(), 1);
    }

    #[test]
    fn similar_rejects_bad_requests_by_field() {
        let ids = ["a", "b"].map(String::from).to_vec();
        let model = CovisitModel::new(ids, &[1, 2], &[vec![], vec![]], CovisitParams::new(0.5));
        let e = Engine::from_bundle(&model.bundle_writer("t".into()).finish()).unwrap();
        let err = e.similar(&SimilarRequest::new("zzz", 5)).unwrap_err();
        assert_eq!((err.code(), err.field()), ("unknown_value", Some("item")));
        let err = e.similar(&SimilarRequest::new("a", 0)).unwrap_err();
        assert_eq!((err.code(), err.field()), ("invalid_field", Some("k")));
        let err = e.similar_json(r#"{"item": "a", "n": 3}"#).unwrap_err();
        assert_eq!(err.code(), "unknown_field");
        let err = e.similar_json(r#"{"k": 3}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_field");
        assert!(e.similar_json(r#"{"item": "a", "k": 3}"#).is_ok());
    }
}

#[cfg(all(test, feature = "model"))]
mod model_tests {
    use super::*;
    use crate::model::testing::sasrec_bundle;

    fn engine() -> Engine {
        Engine::from_bundle(&sasrec_bundle("q8")).unwrap()
    }

    fn request(history: &[&str], k: usize) -> RecommendRequest {
        RecommendRequest::from_history(history.iter().map(|s| s.to_string()).collect(), k)
    }

    #[test]
    fn a_sasrec_bundle_ranks_with_the_transformer() {
        let e = engine();
        let model = e.transformer().unwrap();
        let r = e.recommend(&request(&["item3", "item7"], 5)).unwrap();
        assert_eq!(r.items.len(), 5);
        // The exact full-catalog scores, seen items left out (the default).
        let exact: Vec<String> = model
            .recommend(&["item3", "item7"], 7)
            .unwrap()
            .items
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| id != "item3" && id != "item7")
            .take(5)
            .collect();
        let got: Vec<String> = r.items.iter().map(|i| i.id.clone()).collect();
        assert_eq!(got, exact);
        assert!(r.items.windows(2).all(|w| w[0].score >= w[1].score));
        for item in &r.items {
            assert_eq!(item.source, Source::Model);
            let because = &item.explanation.because;
            assert!(because
                .windows(2)
                .all(|w| w[0].contribution >= w[1].contribution));
            for b in because {
                let h = e.item_index(&b.id).unwrap();
                let j = e.item_index(&item.id).unwrap();
                assert!(b.id == "item3" || b.id == "item7");
                assert_eq!(b.contribution, model.similarity(h, j));
                assert!(b.contribution > 0.0);
            }
        }
        let seen = RecommendRequest {
            include_seen: true,
            ..request(&["item3", "item7"], 40)
        };
        assert_eq!(e.recommend(&seen).unwrap().items.len(), 40);
    }

    #[test]
    fn the_vote_exponent_flattens_or_sharpens_the_neighbours_shares() {
        // Item 1 has 9 votes, item 2 has 1, item 3 none; equal transformer scores.
        let candidates = [(1, 0.0), (2, 0.0), (3, 0.0)];
        let votes = [(1, 9.0), (2, 1.0)];
        let shares = |e: f64| -> Vec<f32> {
            let blended = BlendInputs::new(&candidates, &votes, &[], e).blended(1.0, 1.0);
            blended.iter().map(|c| c.1 - 1.0 / 3.0).collect()
        };
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
        assert!(close(&shares(1.0), &[0.9, 0.1, 0.0]), "{:?}", shares(1.0));
        assert!(close(&shares(2.0), &[81.0 / 82.0, 1.0 / 82.0, 0.0]));
        assert!(close(&shares(0.5), &[0.75, 0.25, 0.0]), "{:?}", shares(0.5));
        // Towards 0, every voted item alike; an unvoted one still gets nothing.
        let flat = shares(1e-9);
        assert!(close(&flat, &[0.5, 0.5, 0.0]), "{flat:?}");
    }

    /// Sessions where item 7 always follows item 1 (and item 2 sometimes does).
    fn sessions() -> Vec<Vec<u32>> {
        let mut s: Vec<Vec<u32>> = (0..30).map(|i| vec![1, 7, 10 + i % 20]).collect();
        s.extend((0..5).map(|_| vec![1, 2]));
        s
    }

    #[test]
    fn a_hybrid_bundle_blends_the_neighbours_votes_into_the_transformers_ranking() {
        use crate::model::testing::{hybrid_bundle, rebuilt};
        let names = |r: &RecommendResponse| -> Vec<String> {
            r.items.iter().map(|i| i.id.clone()).collect()
        };
        let plain = engine();
        let history = request(&["item1"], 10);
        let alone = plain.recommend(&history).unwrap();
        // Weight 0: the transformer's order, its scores now probabilities among the candidates.
        let zero = Engine::from_bundle(&hybrid_bundle("q8", &sessions(), 0.0)).unwrap();
        let (knn, blend) = zero.session_blend().unwrap();
        assert_eq!((knn.num_sessions(), blend.weight), (35, 0.0));
        let z = zero.recommend(&history).unwrap();
        assert_eq!(names(&z), names(&alone));
        assert!(z.items.iter().all(|i| i.score > 0.0 && i.score < 1.0));
        // A heavy weight: the neighbours' favourite first, then the one they vote for less.
        let heavy = Engine::from_bundle(&hybrid_bundle("q8", &sessions(), 50.0)).unwrap();
        let h = heavy.recommend(&history).unwrap();
        assert_eq!(names(&h)[..2], ["item7", "item2"]);
        assert!(h.items.iter().all(|i| i.source == Source::Model));
        assert_eq!(
            heavy
                .clone()
                .with_blend_weights(0.0, 0.0, 1.0)
                .recommend(&history)
                .unwrap(),
            z
        );
        // Seen items stay out unless asked for; filters hold for the neighbours' items too.
        let seen = heavy.recommend(&request(&["item1", "item7"], 10)).unwrap();
        assert!(!names(&seen).contains(&"item7".to_string()));
        let mut filtered = request(&["item1"], 10);
        filtered.filters.exclude = vec!["item7".into()];
        assert_eq!(names(&heavy.recommend(&filtered).unwrap())[0], "item2");
        assert_eq!(
            heavy.recommend_indices(&[1], 2, false),
            vec![7, 2],
            "the evaluation's path answers as recommend"
        );

        // A bad blend is refused with the reason.
        let bytes = hybrid_bundle("q8", &sessions(), 1.0);
        let refused = |edit: &dyn Fn(&mut serde_json::Value), words: &str| {
            let changed = rebuilt(&bytes, |p, _| edit(p), |_, _| {});
            let err = Engine::from_bundle(&changed).unwrap_err().to_string();
            assert!(err.contains(words), "{err}");
        };
        refused(
            &|p| p["session_knn"]["weight"] = (-1.0).into(),
            "weight must be finite",
        );
        refused(
            &|p| p["session_knn"]["knn"]["neighbours"] = 0.into(),
            "neighbours is 0",
        );
        refused(&|p| p["session_knn"]["blend"] = 1.into(), "unknown field");
        refused(
            &|p| p["session_knn"]["vote_exponent"] = 0.into(),
            "vote_exponent must be in (0, 8]",
        );
        // A bundle from before the exponent existed shares the votes as they are.
        let before = rebuilt(
            &bytes,
            |p, _| {
                p["session_knn"]
                    .as_object_mut()
                    .unwrap()
                    .remove("vote_exponent");
            },
            |_, _| {},
        );
        let engine = Engine::from_bundle(&before).unwrap();
        assert_eq!(engine.session_blend().unwrap().1.vote_exponent, 1.0);
        let truncated = rebuilt(
            &bytes,
            |_, _| {},
            |name, data| {
                if name == "session_items" {
                    data.truncate(data.len() - 4);
                }
            },
        );
        let err = Engine::from_bundle(&truncated).unwrap_err().to_string();
        assert!(err.contains("offsets must run from 0"), "{err}");
    }

    #[test]
    fn unknown_history_is_reported_and_an_empty_one_gets_popular_items() {
        let e = engine();
        let r = e.recommend(&request(&["nope", "item3"], 3)).unwrap();
        assert_eq!(r.ignored.len(), 1);
        assert_eq!(
            (r.ignored[0].position, r.ignored[0].id.as_str()),
            (0, "nope")
        );
        assert!(r.items.iter().all(|i| i.source == Source::Model));
        let r = e.recommend(&request(&["nope"], 3)).unwrap();
        let ids: Vec<&str> = r.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["item39", "item38", "item37"]);
        assert!(r.items.iter().all(|i| i.source == Source::Popular));
    }

    #[test]
    fn filters_apply_to_the_transformer_ranking() {
        let e = engine();
        let first = e.recommend(&request(&["item3"], 3)).unwrap().items[0]
            .id
            .clone();
        let mut r = request(&["item3"], 3);
        r.filters.exclude = vec![first.clone()];
        let items = e.recommend(&r).unwrap().items;
        assert!(items.iter().all(|i| i.id != first));
        let mut r = request(&["item3"], 3);
        r.filters.categories = Some(vec!["shoes".into()]);
        assert_eq!(e.recommend(&r).unwrap_err().code(), "unsupported_filter");
    }

    #[test]
    fn predict_gives_ordered_funnel_probabilities_and_reports_unknown_ids() {
        let e = engine();
        let mut request = PredictRequest::new(
            vec!["item3".into(), "nope".into()],
            vec!["item1".into(), "zzz".into(), "item2".into()],
        );
        request.slot = Some("plp".into());
        let r = e.predict(&request).unwrap();
        assert_eq!(r.slot.as_deref(), Some("plp"));
        let ids: Vec<&str> = r.predictions.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["item1", "item2"]);
        for p in &r.predictions {
            assert!(0.0 < p.purchase && p.purchase <= p.cart && p.cart <= p.click && p.click < 1.0);
        }
        assert_eq!(
            (r.ignored[0].position, r.ignored[0].id.as_str()),
            (1, "nope")
        );
        assert_eq!(
            (r.unknown_items[0].position, r.unknown_items[0].id.as_str()),
            (1, "zzz")
        );
        // A new visitor (no session) gets predictions too, and different ones.
        let cold = PredictRequest {
            history: None,
            ..request.clone()
        };
        let cold = e.predict(&cold).unwrap();
        assert_eq!(cold.predictions.len(), 2);
        assert_ne!(cold.predictions[0], r.predictions[0]);
        let err = e.predict(&PredictRequest::new(vec![], vec![])).unwrap_err();
        assert_eq!((err.code(), err.field()), ("invalid_field", Some("items")));
        let err = e
            .predict_json(r#"{"items": ["item1"], "k": 3}"#)
            .unwrap_err();
        assert_eq!(err.code(), "unknown_field");
    }

    #[test]
    fn predict_without_conversion_heads_says_so() {
        let ids = ["a", "b"].map(String::from).to_vec();
        let model = CovisitModel::new(
            ids,
            &[1, 2],
            &[vec![], vec![]],
            crate::CovisitParams::new(0.5),
        );
        let e = Engine::from_bundle(&model.bundle_writer("t".into()).finish()).unwrap();
        let err = e
            .predict(&PredictRequest::new(vec![], vec!["a".into()]))
            .unwrap_err();
        assert_eq!(err.code(), "unsupported_request");
        assert!(err.to_string().contains("co-visitation bundle"), "{err}");
    }

    #[test]
    fn similar_items_are_the_nearest_by_cosine() {
        let e = engine();
        let model = e.transformer().unwrap();
        let r = e.similar(&SimilarRequest::new("item5", 6)).unwrap();
        let mut brute: Vec<(u32, f32)> = (0..40)
            .filter(|&j| j != 5)
            .map(|j| (j, model.similarity(5, j)))
            .collect();
        brute.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let expected: Vec<String> = brute
            .iter()
            .take(6)
            .map(|(j, _)| format!("item{j}"))
            .collect();
        let got: Vec<String> = r.items.iter().map(|i| i.id.clone()).collect();
        assert_eq!(got, expected);
        assert!(r
            .items
            .iter()
            .all(|i| i.source == Source::Model && i.score <= 1.0 + 1e-6));
    }
}
