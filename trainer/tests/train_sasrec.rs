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

/// A run folder records its data's fingerprint and item ids; reading it with another data
/// folder (the sample with one more test line: the same items, other bytes) is refused by
/// every reader, naming both fingerprints; the run's own data is accepted.
#[test]
fn a_run_refuses_a_data_folder_it_was_not_trained_on() {
    use edgerec_trainer::ranking::protocol::DataSetKind;
    use edgerec_trainer::seqrec::{train, RunData, RunDir, RunOptions, TrainData, TrainedRun};

    let bench = common::sample();
    let tmp = std::env::temp_dir().join(format!("edgerec-run-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let data = tmp.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(
        "../data/diginetica/train_sessions.txt",
        data.join("train_sessions.txt"),
    )
    .unwrap();
    let test = std::fs::read_to_string("../data/diginetica/test_sessions.tsv").unwrap();
    let first = test.lines().next().unwrap();
    std::fs::write(data.join("test_sessions.tsv"), format!("{test}{first}\n")).unwrap();
    let other = Benchmark::load(DataSetKind::Diginetica, &data).unwrap();
    assert_eq!(other.items, bench.items);
    let (trained_on, given) = (
        &bench.data.fingerprint_sha256,
        &other.data.fingerprint_sha256,
    );
    assert_ne!(trained_on, given);
    let names_both = |err: anyhow::Error| {
        let err = format!("{err:#}");
        assert!(
            err.contains(trained_on.as_str()) && err.contains(given.as_str()),
            "{err}"
        );
    };

    let mut config = common::tiny_config(1);
    config.train.max_steps_per_epoch = 2;
    let dir = tmp.join("run");
    run(&bench, &config, &dir, false, None).unwrap();
    let recorded = RunDir(dir.clone()).read_data().unwrap().unwrap();
    assert_eq!(recorded, RunData::of(&bench));
    assert_eq!(
        std::fs::read_to_string(dir.join("items.txt"))
            .unwrap()
            .lines()
            .count(),
        bench.items.len()
    );

    // quantize and hybrid load the run through TrainedRun::load.
    TrainedRun::load(&dir, &RunData::of(&bench)).unwrap();
    names_both(TrainedRun::load(&dir, &RunData::of(&other)).err().unwrap());
    // train --resume.
    names_both(run(&other, &config, &dir, true, None).err().unwrap());
    // train --init-from.
    let other_data = RunData::of(&other);
    let data = TrainData {
        data_set: &other_data,
        train: &other.validation.train[..100],
        validation: &[],
        convention: other.convention,
        include_seen: other.include_seen,
    };
    let options = RunOptions {
        dir: tmp.join("fine-tuned"),
        resume: false,
        stop_after_epochs: None,
        init_from: Some(dir.clone()),
        device: Device::Cpu,
    };
    names_both(train(&config, &data, &options).err().unwrap());

    // A run from before runs recorded their data: accepted with a warning.
    std::fs::remove_file(dir.join("data.json")).unwrap();
    TrainedRun::load(&dir, &RunData::of(&other)).unwrap();
    std::fs::remove_dir_all(&tmp).ok();
}

/// A selection metric that validation does not compute is refused before any training.
#[test]
fn an_unknown_select_by_is_refused_before_training() {
    let bench = common::sample();
    let mut config = common::tiny_config(1);
    config.train.select_by = "Recall@20".into();
    let dir = std::env::temp_dir().join(format!("edgerec-select-by-{}", std::process::id()));
    let err = run(&bench, &config, &dir, false, None).err().unwrap();
    assert!(
        err.to_string()
            .contains("`Recall@20` is not a validation metric"),
        "{err}"
    );
    assert!(!dir.join("state.json").exists());
    std::fs::remove_dir_all(&dir).ok();
}
