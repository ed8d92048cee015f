//! `edgerec-train quantize` on a model trained on the real DIGINETICA sample: each policy's bundle
//! is signed, loads back through the edge's loader with the public key, and scores the test
//! cases; the f32 bundle exactly as the trained model, the quantized ones close to it.

mod common;

use edgerec::training::{Bundle, BundleSigner};
use edgerec_trainer::commands::args::{BenchmarkArgs, ComputeArgs, PolicyArgs, TestCasesArgs};
use edgerec_trainer::commands::quantize::{execute, QuantizeArgs};
use edgerec_trainer::ranking::protocol::{Benchmark, DataSetKind};

#[test]
fn quantized_signed_bundles_load_back_and_score_like_the_trained_model() {
    let tmp = std::env::temp_dir().join(format!("edgerec-quantize-{}", std::process::id()));
    let bench = common::sample();
    let mut config = common::tiny_config(1);
    // Rows of 32: the smallest width every 32-block type (Q8_0, Q4_0, ...) quantizes.
    config.model.hidden = 32;
    config.model.ffn = 64;
    config.train.max_steps_per_epoch = 20;
    config.train.validation_cases = 200;
    let run_dir = tmp.join("run");
    let (sessions, cases) = (&bench.validation.train, &bench.validation.cases);
    common::train_run(&bench, &config, sessions, cases, &run_dir, false, None).unwrap();

    let signer = BundleSigner::from_bytes(&[42; 32]);
    let key_path = tmp.join("test.key");
    std::fs::write(&key_path, "2a".repeat(32)).unwrap();
    let report = execute(QuantizeArgs {
        bench: BenchmarkArgs::new(DataSetKind::Diginetica, Some("../data/diginetica".into())),
        run: run_dir,
        policies: PolicyArgs {
            policies: vec!["f32".into(), "q8".into(), "q4".into()],
            policy_file: None,
        },
        out: tmp.join("bundles"),
        sign_key: Some(key_path),
        compute: ComputeArgs::default(),
        test_cases: TestCasesArgs::new(Some(400)),
        results_dir: Some(tmp.join("results")),
    })
    .unwrap();

    let by_name = |n: &str| report.results.iter().find(|r| r.policy.name == n).unwrap();
    let (f32, q8, q4) = (by_name("f32"), by_name("q8"), by_name("q4"));
    // One forward pass for training and serving: the f32 bundle scores exactly as trained.
    assert_eq!(f32.metrics, report.trained_metrics);
    assert!(
        q8.bundle_bytes < f32.bundle_bytes / 3,
        "{} vs {}",
        q8.bundle_bytes,
        f32.bundle_bytes
    );
    assert!(q4.parts["weights"] < q8.parts["weights"]);
    for r in [q8, q4] {
        for (metric, change) in &r.change_percent {
            assert!(
                change.abs() < 10.0,
                "{} {metric} changed {change}%",
                r.policy.name
            );
        }
    }
    let block_types: Vec<&str> = q8
        .tensors
        .iter()
        .filter(|t| t.name.starts_with("blocks.0.") && t.shape.len() == 2)
        .map(|t| t.dtype.as_str())
        .collect();
    assert_eq!(block_types, ["q8_0"; 4]);
    // Signed with the key, and only that key's public half accepts them.
    let bytes = std::fs::read(&q8.bundle).unwrap();
    let parsed = Bundle::parse_trusted(&bytes, Some(&signer.public_key())).unwrap();
    assert_eq!(parsed.manifest.model_kind, "sasrec");
    let other = BundleSigner::from_bytes(&[7; 32]).public_key();
    assert!(Bundle::parse_trusted(&bytes, Some(&other)).is_err());
    assert!(tmp.join("results/quantize/diginetica.json").exists());
    engine_retrieval_matches_exact_scoring(&bytes, &bench);
    std::fs::remove_dir_all(&tmp).ok();
}

/// The engine's pipeline (int8 retrieval over the catalog, exact re-scoring of the best
/// candidates) ranks as the transformer scoring every item exactly does.
fn engine_retrieval_matches_exact_scoring(bytes: &[u8], bench: &Benchmark) {
    let engine = edgerec::Engine::from_bundle(bytes).unwrap();
    let model = engine
        .transformer()
        .expect("a sasrec bundle has a transformer");
    assert!(
        bench.items.len() > 10 * edgerec::training::RERANK_CANDIDATES,
        "the catalog is large enough for retrieval to matter"
    );
    let (mut same_top20, mut cases) = (0, 0);
    for case in bench
        .test
        .cases
        .iter()
        .filter(|c| !c.history.is_empty())
        .take(300)
    {
        let history: Vec<&str> = case
            .history
            .iter()
            .map(|&i| bench.items[i as usize].as_str())
            .collect();
        let exact = model.recommend(&history, 20).unwrap();
        let request = edgerec::RecommendRequest {
            include_seen: true,
            ..edgerec::RecommendRequest::from_history(
                history.iter().map(|s| s.to_string()).collect(),
                20,
            )
        };
        let served = engine.recommend(&request).unwrap();
        let exact_ids: Vec<&str> = exact.items.iter().map(|(id, _)| id.as_str()).collect();
        let served_ids: Vec<&str> = served.items.iter().map(|i| i.id.as_str()).collect();
        // The best item always survives retrieval; scores agree to f32 summation order.
        assert_eq!(served_ids[0], exact_ids[0], "history {history:?}");
        assert!((served.items[0].score - exact.items[0].1).abs() < 1e-3);
        for item in &served.items {
            assert_eq!(item.source, edgerec::Source::Model);
            assert!(item.explanation.because.len() <= edgerec::MAX_EXPLAIN);
            assert!(item
                .explanation
                .because
                .iter()
                .all(|b| history.contains(&b.id.as_str()) && b.contribution > 0.0));
        }
        same_top20 += usize::from(served_ids == exact_ids);
        cases += 1;
    }
    eprintln!("engine vs exact: {same_top20} of {cases} top-20 lists equal");
    // Near-ties may swap places (f32 summation order), nothing more.
    assert!(
        same_top20 * 100 >= cases * 98,
        "{same_top20} of {cases} top-20 lists equal the exact ones"
    );
}
