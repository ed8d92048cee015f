//! End-to-end on the real DIGINETICA sample shipped in `data/`: train, evaluate, bundle, reload, CLI.

use std::path::PathBuf;
use std::process::Command;

use edgerec::Engine;
use edgerec_trainer::{evaluate, train_covisit, CovisitConfig, SessionData};

fn sample() -> SessionData {
    SessionData::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/diginetica"))
        .unwrap()
}

fn engine_for(data: &SessionData, config: &CovisitConfig) -> Engine {
    let model = train_covisit(&data.train, config);
    let bytes = model.bundle_writer("2026-11-29T00:00:00Z".into()).finish();
    Engine::from_bundle(&bytes).unwrap()
}

#[test]
fn covisitation_beats_popularity_on_real_sessions() {
    let data = sample();
    assert_eq!(data.test.len(), 2000);
    let covisit = evaluate(
        &engine_for(&data, &CovisitConfig::default()),
        &data.test,
        20,
    );
    let popular_only = CovisitConfig {
        max_neighbours: 0,
        ..CovisitConfig::default()
    };
    let popularity = evaluate(&engine_for(&data, &popular_only), &data.test, 20);
    assert!(
        covisit.precision > 2.0 * popularity.precision,
        "covisit {covisit:?} vs popularity {popularity:?}"
    );
    assert!(covisit.mrr > 2.0 * popularity.mrr);
    assert!(
        covisit.mrr <= covisit.precision,
        "MRR@K can never exceed P@K"
    );
}

#[test]
fn bundle_serves_what_was_trained() {
    let data = sample();
    let config = CovisitConfig::default();
    let model = train_covisit(&data.train, &config);
    let engine = engine_for(&data, &config);
    for case in data.test.iter().take(200) {
        let history: Vec<u32> = case
            .prefix
            .iter()
            .filter_map(|id| engine.items().index(id))
            .collect();
        let trained: Vec<u32> = model
            .recommend_indices(&history, 20, true)
            .iter()
            .map(|s| s.index)
            .collect();
        assert_eq!(trained, engine.recommend_indices(&history, 20, true));
    }
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_edgerec-train"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cli_documents_every_subcommand() {
    let help = String::from_utf8(cli(&["--help"]).stdout).unwrap();
    for sub in [
        "covisit",
        "evaluate",
        "recommend",
        "inspect",
        "baselines",
        "report",
        "purchase",
        "prepare",
    ] {
        assert!(help.contains(sub), "{help}");
        assert!(cli(&[sub, "--help"]).status.success());
    }
}

#[test]
fn cli_names_a_bad_bundle() {
    let dir = std::env::temp_dir().join(format!("edgerec-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("not-a.bundle");
    std::fs::write(&path, b"PK\x03\x04 this is a zip file").unwrap();
    let out = cli(&["inspect", "--bundle", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("not-a.bundle is not a usable bundle")
            && err.contains("not an edgerec bundle"),
        "{err}"
    );
}
