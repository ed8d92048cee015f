//! The ranking harness and baselines on the real samples shipped in `data/`.

use std::path::PathBuf;
use std::process::Command;

use edgerec_trainer::ranking::baselines::{CovisitEngine, Popularity};
use edgerec_trainer::ranking::metrics::Rank;
use edgerec_trainer::ranking::protocol::{Benchmark, DataSetKind};
use edgerec_trainer::ranking::run::{run_model, EvalSettings, ModelKind};
use edgerec_trainer::ranking::sknn::SessionKnn;
use edgerec_trainer::ranking::{rank_cases, Recommender};
use edgerec_trainer::CovisitConfig;

fn sample(kind: DataSetKind) -> Benchmark {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data")
        .join(kind.name());
    Benchmark::load(kind, &dir).unwrap()
}

fn ranks(model: &dyn Recommender, bench: &Benchmark) -> Vec<Rank> {
    rank_cases(model, &bench.test.cases, 20, bench.include_seen, "test")
}

fn settings(select_by: &str) -> EvalSettings {
    EvalSettings {
        cutoffs: vec![10, 20],
        curve_max_k: 20,
        bootstrap_resamples: 200,
        seed: 1,
        tuning_cases: 300,
        select_by: select_by.to_string(),
    }
}

#[test]
fn diginetica_protocol_keeps_every_test_line_and_carves_validation_from_the_end() {
    let bench = sample(DataSetKind::Diginetica);
    assert_eq!(bench.test.cases.len(), 2000);
    assert_eq!(bench.test.train.len(), 30_000);
    assert_eq!(bench.validation.train[..], bench.test.train[..27_000]);
    let prefixes: usize = bench.test.train[27_000..].iter().map(|s| s.len() - 1).sum();
    assert_eq!(bench.validation.cases.len(), prefixes);
    assert!(
        bench.include_seen,
        "the standard protocol ranks seen items too"
    );
}

#[test]
fn sknn_beats_popularity_on_real_sessions() {
    let bench = sample(DataSetKind::Diginetica);
    let c = bench.convention;
    let popularity = Popularity::train(&bench.test.train, bench.items.len());
    let grid = ModelKind::Sknn.knn_grid();
    let sknn = SessionKnn::train(&bench.test.train, bench.items.len(), grid[0]);
    let (pop, knn) = (
        c.summarize(&ranks(&popularity, &bench), &[20]),
        c.summarize(&ranks(&sknn, &bench), &[20]),
    );
    assert!(knn["P@20"] > 3.0 * pop["P@20"], "{knn:?} vs {pop:?}");
    assert!(knn["MRR@20"] > 3.0 * pop["MRR@20"], "{knn:?} vs {pop:?}");
    // Seen items count: some targets are re-views, and kNN finds them.
    let vsknn = SessionKnn::train(
        &bench.test.train,
        bench.items.len(),
        ModelKind::Vsknn.knn_grid()[0],
    );
    let v = c.summarize(&ranks(&vsknn, &bench), &[20]);
    assert!(v["P@20"] > 2.0 * pop["P@20"], "{v:?}");
}

#[test]
fn leave_one_out_holds_out_the_last_items_and_excludes_history() {
    let bench = sample(DataSetKind::AmazonBeauty);
    assert_eq!(bench.test.cases.len(), 2000);
    assert!(!bench.include_seen);
    for ((case, train), (valid, valid_train)) in bench
        .test
        .cases
        .iter()
        .zip(&bench.test.train)
        .zip(bench.validation.cases.iter().zip(&bench.validation.train))
    {
        // Test: history = everything before the last item; validation one step earlier.
        assert_eq!(&case.history, train);
        assert_eq!(&valid.history, valid_train);
        assert_eq!(valid.history[..], case.history[..case.history.len() - 1]);
        assert_eq!(valid.target, *case.history.last().unwrap());
    }
    let covisit = CovisitEngine::train(
        &bench.test.train,
        &bench.items,
        &CovisitConfig::default(),
        "2026-11-29T00:00:00Z".into(),
    )
    .unwrap();
    let sknn = SessionKnn::train(
        &bench.test.train,
        bench.items.len(),
        ModelKind::Sknn.knn_grid()[0],
    );
    let popularity = Popularity::train(&bench.test.train, bench.items.len());
    let models: [&dyn Recommender; 3] = [&popularity, &covisit, &sknn];
    for model in models {
        for case in &bench.test.cases {
            let top = model.recommend(&case.history, 20, false);
            assert_eq!(top.len(), 20);
            assert!(top.iter().all(|j| !case.history.contains(j)), "{top:?}");
        }
    }
}

#[test]
fn runs_are_deterministic_and_intervals_hold_the_estimate() {
    let bench = sample(DataSetKind::AmazonBeauty);
    let settings = settings("NDCG@20");
    let first = run_model(&bench, ModelKind::Vsknn, &settings).unwrap();
    let again = run_model(&bench, ModelKind::Vsknn, &settings).unwrap();
    assert_eq!(first.metrics, again.metrics);
    assert_eq!(first.intervals, again.intervals);
    assert_eq!(first.config, again.config);
    assert_eq!(first.metrics.len(), 6);
    for (name, &(lo, hi)) in &first.intervals {
        let v = first.metrics[name];
        assert!(lo <= v && v <= hi && lo < hi, "{name}: {lo} {v} {hi}");
    }
    let tried = first.config["tuning"]["tried"].as_array().unwrap();
    assert_eq!(tried.len(), ModelKind::Vsknn.knn_grid().len());
    assert_eq!(first.config["tuning"]["validation_cases"], 300);
    assert_eq!(first.curves.len(), 3);
    assert_eq!(first.curves[0].name, "HR@K");
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_edgerec-train"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap()
}

#[test]
fn cli_writes_records_and_a_self_contained_report() {
    let help = String::from_utf8(cli(&["--help"]).stdout).unwrap();
    for sub in ["baselines", "report"] {
        assert!(help.contains(sub), "{help}");
        assert!(cli(&[sub, "--help"]).status.success());
    }
    let dir = std::env::temp_dir().join(format!("edgerec-rank-{}", std::process::id()));
    let results = dir.join("results");
    let out = cli(&[
        "baselines",
        "--data-set",
        "amazon-beauty",
        "--models",
        "popularity,covisit",
        "--bootstrap",
        "100",
        "--results-dir",
        results.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("| popularity |") && table.contains("HR@20"),
        "{table}"
    );
    let record =
        edgerec_trainer::record::RunRecord::read(&results.join("amazon-beauty-covisit.json"))
            .unwrap();
    assert!(record.bundle_bytes.unwrap() > 0);
    assert!(record.command.contains("baselines"));

    let html = dir.join("report.html");
    let out = cli(&[
        "report",
        "--results",
        results.to_str().unwrap(),
        "--out",
        html.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(html).unwrap();
    for needle in [
        "amazon-beauty",
        "covisit",
        "popularity",
        "HR@20",
        "leave-one-out",
        "edgerec-trainer",
    ] {
        assert!(html.contains(needle), "report lacks {needle}");
    }
    assert!(html.matches("<svg").count() >= 4);
    assert!(!html.contains("src=\"http"), "self-contained");

    let bad = cli(&[
        "baselines",
        "--data-set",
        "amazon-beauty",
        "--data",
        "data/diginetica",
    ]);
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(!bad.status.success() && err.contains("Beauty.txt"), "{err}");
    let bad = cli(&[
        "baselines",
        "--data-set",
        "amazon-beauty",
        "--select-by",
        "P@20",
    ]);
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(
        !bad.status.success()
            && err.contains("--select-by P@20: not a metric")
            && err.contains("HR@20"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
