//! The transformer trains on the real DIGINETICA sample shipped in the repo: the loss falls,
//! a checkpoint reloads to identical outputs, and a resumed run equals an uninterrupted one.

use std::path::Path;

mod common;

use candle_core::Device;
use edgerec::training::model::ItemFeatures;
use edgerec_trainer::ranking::protocol::Benchmark;
use edgerec_trainer::seqrec::{load_model, mean_loss, TrainConfig, Trained};

/// The sample's first 3,000 validation-split sessions, validated on its validation cases.
fn run(
    bench: &Benchmark,
    config: &TrainConfig,
    dir: &Path,
    resume: bool,
    stop: Option<usize>,
) -> anyhow::Result<Trained> {
    let sessions = &bench.validation.train[..3000];
    common::train_run(
        bench,
        config,
        sessions,
        &bench.validation.cases,
        dir,
        resume,
        stop,
    )
}

fn scores(trained: &edgerec::training::model::SasRec, bench: &Benchmark) -> Vec<f32> {
    let cases = &bench.test.cases[..20];
    let ranks = edgerec_trainer::seqrec::rank_cases(
        trained,
        &trained.item_table(&ItemFeatures::none()).unwrap(),
        cases,
        50,
        true,
        "test",
    )
    .unwrap();
    ranks.iter().map(|r| r.map_or(-1.0, |r| r as f32)).collect()
}

#[test]
fn loss_falls_and_checkpoints_reload_and_resume_exactly() {
    let bench = common::sample();
    let tmp = std::env::temp_dir().join(format!("edgerec-sasrec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let held_out = &bench.validation.train[3000..3400];

    // Two epochs straight.
    let straight = run(
        &bench,
        &common::tiny_config(2),
        &tmp.join("straight"),
        false,
        None,
    )
    .unwrap();
    let history = &straight.state.history;
    assert_eq!(history.len(), 2);
    assert!(
        history[1].train_loss < history[0].train_loss,
        "training loss did not fall: {history:?}"
    );
    // Held-out loss of the trained model beats the untrained one.
    let cfg = straight.state.model.clone();
    let (_, fresh) = edgerec_trainer::seqrec::new_model(&cfg, &Device::Cpu).unwrap();
    let before = mean_loss(&fresh, &ItemFeatures::none(), held_out).unwrap();
    let after = mean_loss(&straight.model, &ItemFeatures::none(), held_out).unwrap();
    assert!(after < before, "held-out loss {before} -> {after}");

    // A saved checkpoint reloads to identical outputs.
    let path = tmp.join("copy.safetensors");
    straight.varmap.save(&path).unwrap();
    let (_, reloaded) = load_model(&cfg, &path, &Device::Cpu).unwrap();
    let a = mean_loss(&straight.model, &ItemFeatures::none(), held_out).unwrap();
    let b = mean_loss(&reloaded, &ItemFeatures::none(), held_out).unwrap();
    assert_eq!(a.to_bits(), b.to_bits());
    assert_eq!(scores(&straight.model, &bench), scores(&reloaded, &bench));

    // Interrupted after one epoch, then resumed: the same weights as two epochs straight
    // (optimizer moments, schedule position, data order and dropout seeds all continue).
    let dir = tmp.join("resumed");
    let first = run(&bench, &common::tiny_config(2), &dir, false, Some(1)).unwrap();
    assert_eq!(first.state.epochs_done, 1);
    let resumed = run(&bench, &common::tiny_config(2), &dir, true, None).unwrap();
    assert_eq!(resumed.state.history.len(), 2);
    let c = mean_loss(&resumed.model, &ItemFeatures::none(), held_out).unwrap();
    assert_eq!(a.to_bits(), c.to_bits(), "resumed {c} vs straight {a}");
    // Resuming under another configuration is refused, naming the problem.
    let mut other = common::tiny_config(2);
    other.model.hidden = 8;
    let err = run(&bench, &other, &dir, true, None)
        .err()
        .expect("a changed config must not resume");
    assert!(err.to_string().contains("another configuration"), "{err}");
    let _ = std::fs::remove_dir_all(&tmp);
}
