//! The engine's tests: co-visitation, filters, explanations, similar, and the transformer.

use super::*;

use crate::covisit::CovisitModel;
use crate::error::Error;

/// JSON in, JSON out, as the front ends call the engine.
fn recommend_json(e: &Engine, body: &str) -> Result<String, Error> {
    let response = e.recommend(&RecommendRequest::from_json(body.as_bytes())?)?;
    Ok(serde_json::to_string(&response).unwrap())
}

fn similar_json(e: &Engine, body: &str) -> Result<String, Error> {
    let response = e.similar(&SimilarRequest::from_json(body.as_bytes())?)?;
    Ok(serde_json::to_string(&response).unwrap())
}

#[cfg(feature = "model")]
fn predict_json(e: &Engine, body: &str) -> Result<String, Error> {
    let response = e.predict(&PredictRequest::from_json(body.as_bytes())?)?;
    Ok(serde_json::to_string(&response).unwrap())
}

mod covisit_tests {
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
        let out = recommend_json(&e, r#"{"history": ["a"], "k": 1}"#).unwrap();
        let parsed: RecommendResponse = serde_json::from_str(&out).unwrap();
        assert_eq!(ids(&parsed), ["b"]);
        assert_eq!(
            recommend_json(&e, r#"{"history": "a"}"#)
                .unwrap_err()
                .code(),
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
    fn shop_model() -> CovisitModel {
        let catalog = Catalog::from_entries(&[
            entry(Some("x.y"), Some(10.0), Some(true)),
            entry(Some("x.z"), Some(20.0), Some(false)),
            entry(Some("w"), Some(5.0), None),
            entry(None, None, None),
            entry(Some("x"), Some(30.0), None),
        ]);
        model().with_catalog(catalog)
    }

    fn shop() -> Engine {
        let model = shop_model();
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
        let model = shop_model();
        let sections = |drop: &str, replace: Option<(&str, Vec<u8>)>| {
            let mut w = crate::bundle::BundleWriter::new(
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
        let model = model();
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
            let key = crate::bundle::BundleSigner::from_bytes(&[5; 32]);
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
                let i = e.items().index(&item.id).unwrap();
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
        let err = similar_json(&e, r#"{"item": "a", "n": 3}"#).unwrap_err();
        assert_eq!(err.code(), "unknown_field");
        let err = similar_json(&e, r#"{"k": 3}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_field");
        assert!(similar_json(&e, r#"{"item": "a", "k": 3}"#).is_ok());
    }
}

#[cfg(feature = "model")]
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
                let h = e.items().index(&b.id).unwrap();
                let j = e.items().index(&item.id).unwrap();
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
        let err = predict_json(&e, r#"{"items": ["item1"], "k": 3}"#).unwrap_err();
        assert_eq!(err.code(), "unknown_field");
    }

    #[test]
    fn predict_without_conversion_heads_says_so() {
        let ids = ["a", "b"].map(String::from).to_vec();
        let model = CovisitModel::new(
            ids,
            &[1, 2],
            &[vec![], vec![]],
            crate::covisit::CovisitParams::new(0.5),
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
