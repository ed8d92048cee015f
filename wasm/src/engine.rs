//! The engine: a loaded bundle answering requests by item id.

use std::collections::HashMap;

use crate::api::{IgnoredItem, RecommendRequest, RecommendResponse, RecommendedItem};
use crate::bundle::{Bundle, Manifest};
use crate::covisit::CovisitModel;
use crate::error::{BundleError, Error, RequestError};

#[derive(Debug, Clone)]
pub struct Engine {
    manifest: Manifest,
    model: CovisitModel,
    index_of: HashMap<String, u32>,
}

impl Engine {
    /// Verifies and loads a bundle.
    pub fn from_bundle(bytes: &[u8]) -> Result<Self, BundleError> {
        let bundle = Bundle::parse(bytes)?;
        let model = CovisitModel::from_bundle(&bundle)?;
        Ok(Self::from_parts(bundle.manifest, model))
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
            model,
            index_of,
        }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn model(&self) -> &CovisitModel {
        &self.model
    }

    /// The index of an item id in the model's item table.
    pub fn item_index(&self, id: &str) -> Option<u32> {
        self.index_of.get(id).copied()
    }

    pub fn recommend(&self, request: &RecommendRequest) -> Result<RecommendResponse, RequestError> {
        request.validate()?;
        let mut history = Vec::with_capacity(request.history.len());
        let mut ignored = Vec::new();
        for (position, id) in request.history.iter().enumerate() {
            match self.item_index(id) {
                Some(index) => history.push(index),
                None => ignored.push(IgnoredItem {
                    position,
                    id: id.clone(),
                    reason: "unknown_item".to_string(),
                }),
            }
        }
        let items = self
            .model
            .recommend_indices(&history, request.k, request.include_seen)
            .into_iter()
            .map(|s| RecommendedItem {
                id: self.model.item_ids()[s.index as usize].clone(),
                score: s.score,
                source: s.source,
            })
            .collect();
        Ok(RecommendResponse { items, ignored })
    }

    /// JSON in, JSON out: the form the worker and other byte-oriented front ends use.
    pub fn recommend_json(&self, body: &str) -> Result<String, Error> {
        let request = RecommendRequest::from_json(body.as_bytes())?;
        let response = self.recommend(&request)?;
        Ok(serde_json::to_string(&response).expect("response serialises"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covisit::CovisitParams;
    use crate::Source;
    use proptest::prelude::*;

    /// Items a..e; a->b strong, a->c weak, b->c, d isolated; popularity e > d > c > b > a.
    fn engine() -> Engine {
        let ids = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        let neighbours = vec![
            vec![(1, 3.0), (2, 1.0)],
            vec![(2, 2.0), (0, 1.0)],
            vec![(1, 1.0)],
            vec![],
            vec![],
        ];
        let model = CovisitModel::new(
            ids,
            &[1, 2, 3, 4, 5],
            &neighbours,
            CovisitParams { recency_decay: 0.5 },
        );
        let bytes = model.bundle_writer("2026-11-29T00:00:00Z".into()).finish();
        Engine::from_bundle(&bytes).unwrap()
    }

    fn ids(r: &RecommendResponse) -> Vec<&str> {
        r.items.iter().map(|i| i.id.as_str()).collect()
    }

    fn req(history: &[&str], k: usize, include_seen: bool) -> RecommendRequest {
        RecommendRequest {
            history: history.iter().map(|s| s.to_string()).collect(),
            k,
            include_seen,
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
    }
}
