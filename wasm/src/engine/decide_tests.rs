//! Tests of `Engine::decide` and `Engine::update` on a small co-visitation shop.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use proptest::strategy::Strategy as _;

use super::Engine;
use crate::api::{DecideRequest, Decision};
use crate::catalog::{Catalog, CatalogEntry};
use crate::covisit::{CovisitModel, CovisitParams};
use crate::strategy::{OutcomeEvent, Strategy, StrategyState};

/// Twelve items i0..i11; i → i+1 (3), i+3 (2), i+5 (1); i0 most popular. Categories x.y, x.z,
/// w, v (i9 none), prices 5i + 1 (i9 none), i3 and i5 unavailable.
fn shop() -> Engine {
    let n = 12u32;
    let ids: Vec<String> = (0..n).map(|i| format!("i{i}")).collect();
    let neighbours: Vec<Vec<(u32, f32)>> = (0..n)
        .map(|i| vec![((i + 1) % n, 3.0), ((i + 3) % n, 2.0), ((i + 5) % n, 1.0)])
        .collect();
    let popularity: Vec<u64> = (0..u64::from(n)).map(|i| 100 - i).collect();
    let categories = [
        "x.y", "x.y", "x.z", "x.z", "w", "w", "v", "v", "x.y", "", "w", "x.z",
    ];
    let entries: Vec<CatalogEntry> = (0..n as usize)
        .map(|i| CatalogEntry {
            category: (!categories[i].is_empty()).then(|| categories[i].to_string()),
            price: (i != 9).then_some(5.0 * i as f32 + 1.0),
            available: match i {
                3 | 5 => Some(false),
                9 => None,
                _ => Some(true),
            },
        })
        .collect();
    let model = CovisitModel::new(ids, &popularity, &neighbours, CovisitParams::new(0.5))
        .with_catalog(Catalog::from_entries(&entries));
    Engine::from_bundle(&model.bundle_writer("2026-12-04T00:00:00Z".into()).finish()).unwrap()
}

const STRATEGY: &str = r#"
version = "shop-2026-12-04"
attribution_window_s = 600

[exploration]
epsilon = 0.3
pool = 3

[slots.top]
size = 4
pins = [{ item = "i9", position = 2 }]
boosts = [{ category = "w", factor = 2.0 }]
max_per_category = 1
offers = "promo"

[slots.more]
size = 3
available_only = true
objective = "margin"
margin_rate = 0.25

[offers.promo]
arms = ["none", "5_off", "free_shipping"]
learner = { kind = "thompson", floor = 0.1, draws = 64 }

[[experiments]]
name = "top6"
salt = "dec"
holdout = 0.1
variants = [{ name = "six", share = 0.5, overrides = { top = { size = 6 } } }]
"#;

fn decide_json(e: &Engine, state: &StrategyState, s: &Strategy, body: &str) -> String {
    let request = DecideRequest::from_json(body.as_bytes()).unwrap();
    serde_json::to_string(&e.decide(&request, state, s).unwrap()).unwrap()
}

#[test]
fn a_decision_fills_the_slots_and_is_reproducible() {
    let (e, s) = (shop(), Strategy::from_toml(STRATEGY).unwrap());
    let state = StrategyState::new();
    let body = r#"{"events": [{"id": "i0", "type": "cart"}, {"id": "zz"}], "slots": ["top", "more"], "seed": 7}"#;
    let json = decide_json(&e, &state, &s, body);
    // Same request, state, strategy and seed: the same bytes.
    assert_eq!(json, decide_json(&e, &state, &s, body));
    let d: Decision = serde_json::from_str(&json).unwrap();
    assert_eq!(d.strategy_version, "shop-2026-12-04");
    assert_eq!(d.bundle, e.manifest().payload_sha256);
    assert_eq!(d.decision_id.len(), 16);
    assert_eq!(d.seed, 7);
    assert_eq!(d.variant, None, "no user, no experiment arm");
    assert_eq!(d.ignored[0].id, "zz");
    let top = &d.slots[0];
    assert_eq!(top.items.len(), 4);
    assert_eq!(top.items[1].id, "i9");
    assert_eq!(top.items[1].position, 2);
    assert_eq!(top.items[1].propensity, 1.0);
    assert_eq!(top.items[1].explanation.rules, ["pinned"]);
    let offer = top.offer.as_ref().unwrap();
    assert_eq!(offer.group, "promo");
    assert!(offer.propensity >= 0.1 / 3.0);
    assert!(d.slots[1].offer.is_none());
    // Another seed gives another id; no seed derives one from the request, reproducibly.
    let other = decide_json(&e, &state, &s, &body.replace("\"seed\": 7", "\"seed\": 8"));
    assert_ne!(json, other);
    let unseeded = body.replace(", \"seed\": 7", "");
    assert_eq!(
        decide_json(&e, &state, &s, &unseeded),
        decide_json(&e, &state, &s, &unseeded)
    );
    println!("{}", serde_json::to_string_pretty(&d).unwrap());
}

#[test]
fn experiment_variants_change_the_slot_and_the_holdout_gets_no_offer() {
    let (e, s) = (shop(), Strategy::from_toml(STRATEGY).unwrap());
    let state = StrategyState::new();
    let mut seen = BTreeMap::new();
    for u in 0..200 {
        let body = format!(r#"{{"history": ["i0"], "slots": ["top"], "user": "u{u}"}}"#);
        let d: Decision = serde_json::from_str(&decide_json(&e, &state, &s, &body)).unwrap();
        let variant = d.variant.clone().unwrap();
        let top = &d.slots[0];
        match variant.as_str() {
            // Six positions, but one item per category leaves five (position 6 stays empty).
            "six" => assert_eq!(top.items.len(), 5),
            _ => assert_eq!(top.items.len(), 4),
        }
        assert_eq!(top.offer.is_none(), variant == "holdout");
        *seen.entry(variant).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
}

#[test]
fn bad_requests_and_unusable_strategies_name_the_field() {
    let (e, s) = (shop(), Strategy::from_toml(STRATEGY).unwrap());
    let state = StrategyState::new();
    let err = |body: &str, s: &Strategy| {
        let r = DecideRequest::from_json(body.as_bytes())
            .and_then(|request| e.decide(&request, &state, s))
            .unwrap_err();
        (r.code(), r.field().unwrap_or_default().to_string())
    };
    assert_eq!(
        err(r#"{"slots": ["top", "side"]}"#, &s),
        ("unknown_value", "slots[1]".into())
    );
    assert_eq!(
        err(r#"{"slots": ["top", "top"]}"#, &s),
        ("invalid_field", "slots[1]".into())
    );
    assert_eq!(
        err(r#"{"slots": []}"#, &s),
        ("invalid_field", "slots".into())
    );
    assert_eq!(
        err(r#"{"slots": ["top"], "k": 3}"#, &s),
        ("unknown_field", "k".into())
    );
    assert_eq!(
        err(r#"{"slots": ["top"], "seed": -1}"#, &s),
        ("invalid_field", "seed".into())
    );
    let with = |from: &str, to: &str| Strategy::from_toml(&STRATEGY.replacen(from, to, 1)).unwrap();
    assert_eq!(
        err(
            r#"{"slots": ["top"]}"#,
            &with("item = \"i9\"", "item = \"q\"")
        ),
        ("unknown_value", "strategy.slots.top.pins[0].item".into())
    );
    assert_eq!(
        err(
            r#"{"slots": ["top"]}"#,
            &with("category = \"w\"", "category = \"u\"")
        ),
        (
            "unknown_value",
            "strategy.slots.top.boosts[0].category".into()
        )
    );
    assert_eq!(
        err(
            r#"{"slots": ["more"]}"#,
            &with("available_only = true", "categories = [\"q\"]")
        ),
        ("unknown_value", "strategy.slots.more.categories[0]".into())
    );
}

#[test]
fn position_probabilities_sum_to_one_and_match_the_draws() {
    // The first position has no earlier positions to condition on: over many seeds, each
    // item's logged propensity there is one fixed number, those numbers sum to 1 over the
    // pool, and the frequencies follow them.
    let (e, s) = (shop(), Strategy::from_toml(STRATEGY).unwrap());
    let state = StrategyState::new();
    let n = 6000;
    let mut logged: HashMap<String, f64> = HashMap::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for seed in 0..n {
        let body = format!(r#"{{"history": ["i0"], "slots": ["top"], "seed": {seed}}}"#);
        let d: Decision = serde_json::from_str(&decide_json(&e, &state, &s, &body)).unwrap();
        let first = &d.slots[0].items[0];
        let p = *logged.entry(first.id.clone()).or_insert(first.propensity);
        assert_eq!(p, first.propensity);
        *counts.entry(first.id.clone()).or_default() += 1;
    }
    assert_eq!(logged.len(), 3, "the pool: {logged:?}");
    let sum: f64 = logged.values().sum();
    assert!((sum - 1.0).abs() < 1e-12, "{sum}");
    for (id, p) in &logged {
        assert!(*p >= 0.3 / 3.0);
        let f = counts[id] as f64 / f64::from(n);
        assert!((f - p).abs() < 0.02, "{id}: {f} against {p}");
    }
}

#[test]
fn the_offer_learner_shifts_to_the_better_arm() {
    let (e, s) = (shop(), Strategy::from_toml(STRATEGY).unwrap());
    let mut state = StrategyState::new();
    let rates: HashMap<&str, f64> = [("none", 0.02), ("5_off", 0.05), ("free_shipping", 0.15)]
        .into_iter()
        .collect();
    let mut world = crate::strategy::DecisionRng::new(99);
    let rounds = 1500;
    let mut late_best = 0;
    for round in 0..rounds {
        let request = DecideRequest {
            history: Some(vec!["i0".into()]),
            slots: vec!["top".into()],
            seed: Some(round),
            ..DecideRequest::default()
        };
        let d = e.decide(&request, &state, &s).unwrap();
        let arm = d.slots[0].offer.as_ref().unwrap().arm.clone();
        let clicked = world.next_f64() < rates[arm.as_str()];
        let event = if clicked {
            OutcomeEvent::Click
        } else {
            OutcomeEvent::None
        };
        let outcome = d.outcome("top", event, 1_000, 2_000).unwrap();
        let report = e.update(&s, &mut state, &[outcome]).unwrap();
        assert_eq!(report.applied, 1);
        if round >= rounds - 500 && arm == "free_shipping" {
            late_best += 1;
        }
    }
    assert!(late_best > 350, "best arm {late_best} of the last 500");
    let best = state.thompson("promo").counts(None, "free_shipping");
    assert!(best.successes + best.failures > 800, "{best:?}");
}

#[test]
fn update_respects_the_attribution_window_and_is_atomic() {
    let (e, s) = (shop(), Strategy::from_toml(STRATEGY).unwrap());
    let mut state = StrategyState::new();
    let request =
        DecideRequest::from_json(br#"{"slots": ["top"], "user": "u3", "seed": 1}"#).unwrap();
    let d = e.decide(&request, &state, &s).unwrap();
    let variant = d.variant.clone().unwrap();
    let arm = d.slots[0].offer.as_ref().map(|o| o.arm.clone());
    let t0 = 1_764_806_400_000;
    let window = 600_000;
    let mut inside = d
        .outcome("top", OutcomeEvent::Click, t0, t0 + window)
        .unwrap();
    let late = d
        .outcome("top", OutcomeEvent::Click, t0, t0 + window + 1)
        .unwrap();
    let early = d
        .outcome("top", OutcomeEvent::Purchase, t0, t0 - 1)
        .unwrap();
    let none = d.outcome("top", OutcomeEvent::None, t0, t0 + 5).unwrap();
    let mut bought = d
        .outcome("top", OutcomeEvent::Purchase, t0, t0 + 10)
        .unwrap();
    bought.revenue = Some(19.5);
    let report = e
        .update(&s, &mut state, &[inside.clone(), late, early, none, bought])
        .unwrap();
    assert_eq!(report.applied, 5);
    assert_eq!(report.outside_window, [1, 2]);
    let exposures = &state.experiment("top6").variants[&variant];
    assert_eq!(exposures.exposures, 5);
    assert_eq!(exposures.conversions, 1);
    assert_eq!(exposures.revenue_micros, 19_500_000);
    if let Some(arm) = arm {
        assert_eq!(report.successes, 2);
        let c = state.thompson("promo").counts(None, &arm);
        assert_eq!((c.successes, c.failures), (2, 3));
    }
    // A bad outcome refuses the whole batch and names its field.
    let before = state.clone();
    inside.offer_arm = Some("50_off".into());
    inside.variant = None;
    let ok = d.outcome("top", OutcomeEvent::Click, t0, t0).unwrap();
    let err = e.update(&s, &mut state, &[ok, inside]).unwrap_err();
    assert_eq!(err.field(), "outcomes[1].offer_arm");
    assert_eq!(state, before);
    let mut wrong = d.outcome("top", OutcomeEvent::Click, t0, t0).unwrap();
    wrong.slot = "side".into();
    assert_eq!(
        e.update(&s, &mut state, &[wrong]).unwrap_err().field(),
        "outcomes[0].slot"
    );
}

/// A random strategy's TOML and the rules a test checks against it.
#[derive(Debug, Clone)]
struct Case {
    sizes: [usize; 2],
    epsilon: f64,
    pool: usize,
    cap: Option<usize>,
    pin: Option<(usize, usize)>,
    category: Option<&'static str>,
    available_only: bool,
    exclude_seen: bool,
}

impl Case {
    fn toml(&self) -> String {
        let mut t = format!(
            "version = \"p\"\n[exploration]\nepsilon = {}\npool = {}\n[slots.a]\nsize = {}\nexclude_seen = {}\n",
            self.epsilon, self.pool, self.sizes[0], self.exclude_seen
        );
        if let Some(cap) = self.cap {
            t += &format!("max_per_category = {cap}\n");
        }
        if let Some((item, position)) = self.pin {
            t += &format!(
                "pins = [{{ item = \"i{item}\", position = {} }}]\n",
                position.min(self.sizes[0])
            );
        }
        t += "boosts = [{ category = \"v\", factor = 3 }]\n";
        t += &format!(
            "[slots.b]\nsize = {}\navailable_only = {}\nexclude_seen = {}\n",
            self.sizes[1], self.available_only, self.exclude_seen
        );
        if let Some(c) = self.category {
            t += &format!("categories = [\"{c}\"]\n");
        }
        if let Some(cap) = self.cap {
            t += &format!("max_per_category = {cap}\n");
        }
        t
    }
}

fn case() -> impl proptest::strategy::Strategy<Value = Case> {
    (
        (1usize..7, 1usize..7),
        prop_oneof![Just(1.0), 0.01f64..1.0],
        1usize..6,
        proptest::option::of(1usize..3),
        proptest::option::of((0usize..12, 1usize..7)),
        prop::sample::select(vec![None, Some("x"), Some("w"), Some("x.z")]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(sizes, epsilon, pool, cap, pin, category, available_only, exclude_seen)| Case {
                sizes: [sizes.0, sizes.1],
                epsilon,
                pool,
                cap,
                pin,
                category,
                available_only,
                exclude_seen,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn rules_hold_propensities_are_floored_and_decisions_repeat(
        c in case(),
        history in proptest::collection::vec(0usize..13, 0..6),
        seed in any::<u64>(),
    ) {
        let e = shop();
        let s = Strategy::from_toml(&c.toml()).unwrap();
        let state = StrategyState::new();
        let history: Vec<String> = history.iter().map(|i| format!("i{i}")).collect();
        let request = DecideRequest {
            history: Some(history.clone()),
            slots: vec!["a".into(), "b".into()],
            seed: Some(seed),
            ..DecideRequest::default()
        };
        let d = e.decide(&request, &state, &s).unwrap();
        prop_assert_eq!(
            serde_json::to_string(&d).unwrap(),
            serde_json::to_string(&e.decide(&request, &state, &s).unwrap()).unwrap()
        );
        let catalog = e.catalog().unwrap();
        let floor = c.epsilon / c.pool as f64;
        let mut on_page = std::collections::HashSet::new();
        for (k, slot) in d.slots.iter().enumerate() {
            prop_assert!(slot.items.len() <= c.sizes[k]);
            let mut per_category: HashMap<Option<&str>, (usize, usize)> = HashMap::new();
            for (j, item) in slot.items.iter().enumerate() {
                prop_assert!(on_page.insert(item.id.clone()), "{} twice on the page", item.id);
                prop_assert!(j == 0 || slot.items[j - 1].position < item.position);
                prop_assert!((1..=c.sizes[k]).contains(&item.position));
                let index = e.items().index(&item.id).unwrap();
                let category = catalog.category(index);
                let pinned = item.explanation.rules.iter().any(|r| r == "pinned");
                let entry = per_category.entry(category).or_default();
                entry.0 += 1;
                entry.1 += usize::from(pinned);
                if pinned {
                    prop_assert_eq!(item.propensity, 1.0);
                    let (pin, position) = c.pin.unwrap();
                    prop_assert_eq!(k, 0);
                    prop_assert_eq!(&item.id, &format!("i{pin}"));
                    prop_assert_eq!(item.position, position.min(c.sizes[0]));
                    continue;
                }
                prop_assert!(item.propensity >= floor - 1e-15 && item.propensity <= 1.0,
                    "{} below {}", item.propensity, floor);
                if c.exclude_seen {
                    prop_assert!(!history.contains(&item.id));
                }
                if k == 1 {
                    if c.available_only {
                        prop_assert_ne!(catalog.available(index), Some(false));
                    }
                    if let Some(want) = c.category {
                        let got = category.unwrap_or("");
                        let below = format!("{}.", want);
                        prop_assert!(got == want || got.starts_with(&below));
                    }
                }
                let explored = item.explanation.rules.iter().any(|r| r == "explored");
                if c.pool == 1 {
                    prop_assert!(!explored);
                }
            }
            if let Some(cap) = c.cap {
                for (category, (all, pins)) in per_category {
                    if category.is_some() {
                        prop_assert!(all <= cap.max(pins), "{:?}: {} > {}", category, all, cap);
                    }
                }
            }
        }
        // A pin in slot `a` always lands at its position.
        if let Some((pin, position)) = c.pin {
            let at = d.slots[0].items.iter().find(|i| i.id == format!("i{pin}"));
            prop_assert_eq!(at.map(|i| i.position), Some(position.min(c.sizes[0])));
        }
    }
}

#[test]
fn margin_and_boosts_order_the_greedy_slot() {
    // With a negligible ε the slot is greedy: by proxy × price × margin rate, then boosts.
    let e = shop();
    let toml = r#"
version = "g"
[exploration]
epsilon = 1e-12
pool = 2
[slots.m]
size = 5
objective = "margin"
margin_rate = 0.5
boosts = [{ category = "v", factor = 10 }]
"#;
    let s = Strategy::from_toml(toml).unwrap();
    let request = DecideRequest::from_json(br#"{"history": ["i0"], "slots": ["m"]}"#).unwrap();
    let d = e.decide(&request, &StrategyState::new(), &s).unwrap();
    let items = &d.slots[0].items;
    assert_eq!(items.len(), 5);
    assert!(items.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(items.iter().all(|i| i.propensity > 0.99));
    // The engine's ranking after i0: i1, i3, i5 (co-visited), then i2, i4, ... (popular).
    let ranking = e
        .recommend(&crate::RecommendRequest::from_history(
            vec!["i0".into()],
            11,
        ))
        .unwrap();
    let price = |id: &str| e.item(id).unwrap().price.unwrap_or(0.0) as f64;
    let mut expected: Vec<(String, f64)> = ranking
        .items
        .iter()
        .enumerate()
        .map(|(rank, r)| {
            let boost = if e.item(&r.id).unwrap().category.as_deref() == Some("v") {
                10.0
            } else {
                1.0
            };
            (
                r.id.clone(),
                price(&r.id) * 0.5 / (1.0 + rank as f64) * boost,
            )
        })
        .collect();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (item, (id, value)) in items.iter().zip(&expected) {
        assert_eq!(&item.id, id);
        assert!((item.score - value).abs() < 1e-12, "{} {value}", item.score);
    }
    assert!(items
        .iter()
        .filter(|i| e.item(&i.id).unwrap().category.as_deref() == Some("v"))
        .all(|i| i.explanation.rules == ["boosted:v"]));
}
