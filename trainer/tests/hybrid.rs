//! The hybrid bundle on the real DIGINETICA sample: a tiny transformer, trained once with
//! validation and once on every session (no validation: the last epoch is the model), blended
//! with V-SKNN by weights chosen on validation, scored through the engine.

use std::path::{Path, PathBuf};

mod common;

use edgerec_trainer::commands::args::{
    BenchmarkArgs, BootstrapArgs, ResultsDirArgs, TestCasesArgs,
};
use edgerec_trainer::commands::hybrid::{execute, HybridArgs};
use edgerec_trainer::ranking::protocol::{Benchmark, DataSetKind};

fn train_on(bench: &Benchmark, sessions: &[Vec<u32>], validation: bool, dir: &Path) {
    let cases = if validation {
        &bench.validation.cases[..]
    } else {
        &[]
    };
    let config = common::tiny_config(2);
    let trained = common::train_run(bench, &config, sessions, cases, dir, false, None).unwrap();
    // Without validation cases every epoch runs and the last one is kept.
    assert_eq!(trained.state.epochs_done, 2);
    if !validation {
        assert_eq!(trained.state.best_epoch, Some(2));
        assert!(trained
            .state
            .history
            .iter()
            .all(|e| e.validation.is_empty()));
    }
}

#[test]
fn the_hybrid_bundle_blends_v_sknn_with_weights_chosen_on_validation() {
    let bench = common::sample();
    let tmp = std::env::temp_dir().join(format!("edgerec-hybrid-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    train_on(
        &bench,
        &bench.validation.train,
        true,
        &tmp.join("validated"),
    );
    train_on(&bench, &bench.test.train, false, &tmp.join("all"));

    let args = HybridArgs {
        bench: BenchmarkArgs::new(
            DataSetKind::Diginetica,
            Some(PathBuf::from("../data/diginetica")),
        ),
        run: tmp.join("all"),
        validation_run: Some(tmp.join("validated")),
        policy: "q8".into(),
        weights: vec![0.0, 2.0],
        seen_weights: vec![0.0, 5.0],
        vote_exponents: vec![1.0, 2.0],
        neighbours: 200,
        sample_size: 2000,
        idf_weight: 5.0,
        validation_cases: 500,
        select_by: "MRR@20".into(),
        test_cases: TestCasesArgs::new(Some(500)),
        out: tmp.join("bundles"),
        results_dir: ResultsDirArgs::new(Some(tmp.join("results"))),
        bootstrap: BootstrapArgs { bootstrap: 10 },
    };
    let records = execute(args).unwrap();
    let (served, hybrid) = (&records[0], &records[1]);
    assert_eq!(
        (served.model.as_str(), hybrid.model.as_str()),
        ("sasrec-served", "hybrid")
    );
    // Every pair of weights was tried with each exponent; the sample's tiny transformer gains
    // from the neighbours.
    assert_eq!(
        hybrid.config["tuning"]["tried"].as_array().unwrap().len(),
        8
    );
    assert!(hybrid.config["blend"]["weight"].as_f64().unwrap() > 0.0);
    assert!(
        hybrid.metrics["P@20"] > served.metrics["P@20"] + 5.0,
        "{:?} vs {:?}",
        hybrid.metrics,
        served.metrics
    );
    assert!(tmp.join("results/diginetica-hybrid.json").exists());

    // The bundle carries every training session and the chosen blend; the engine serves it.
    let bytes = std::fs::read(tmp.join("bundles/diginetica-hybrid-q8.bundle")).unwrap();
    let engine = edgerec::Engine::from_bundle(&bytes).unwrap();
    let (knn, blend) = engine.session_blend().unwrap();
    assert_eq!(knn.num_sessions(), bench.test.train.len());
    assert_eq!(serde_json::to_value(blend).unwrap(), hybrid.config["blend"]);
    let top = engine.recommend_indices(&bench.test.cases[0].history, 20, true);
    assert_eq!(top.len(), 20);
    let _ = std::fs::remove_dir_all(&tmp);
}
