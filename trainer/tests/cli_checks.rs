//! Arguments are checked before any work starts: a bad flag fails at once, naming the flag and
//! what it accepts, and leaves nothing behind.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `edgerec-train` from the repository root.
fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgerec-train"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(args)
        .output()
        .unwrap()
}

/// The command fails with `needles` in its error message (the callers check that it left
/// nothing behind: it failed before any work).
fn fails_at_once(args: &[&str], needles: &[&str]) {
    let out = cli(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: no `{needle}` in {stderr}"
        );
    }
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("edgerec-cli-checks-{name}-{}", std::process::id()))
}

#[test]
fn train_refuses_a_select_by_metric_that_validation_does_not_compute() {
    let run = temp("train");
    // HR is Amazon Beauty's name for the hit rate; DIGINETICA's is P.
    fails_at_once(
        &[
            "train",
            "--data-set",
            "diginetica",
            "--config",
            "configs/sample.toml",
            "--select-by",
            "HR@20",
            "--out",
            run.to_str().unwrap(),
        ],
        &["--select-by HR@20", "not a metric", "P@20", "MRR@20"],
    );
    // A cut-off validation does not compute either.
    fails_at_once(
        &[
            "train",
            "--data-set",
            "diginetica",
            "--select-by",
            "MRR@50",
            "--out",
            run.to_str().unwrap(),
        ],
        &["--select-by MRR@50", "not a metric"],
    );
    assert!(!run.exists(), "the run folder was created");
}

#[test]
fn train_accepts_the_metrics_validation_computes() {
    use edgerec_trainer::commands::args::check_metric;
    use edgerec_trainer::ranking::protocol::DataSetKind;
    use edgerec_trainer::seqrec::VALIDATION_CUTOFFS;
    for metric in ["P@10", "MRR@20", "NDCG@20"] {
        check_metric(
            DataSetKind::Diginetica,
            "--select-by",
            metric,
            &VALIDATION_CUTOFFS,
        )
        .unwrap();
    }
    for metric in ["HR@20", "NDCG@10"] {
        check_metric(
            DataSetKind::AmazonBeauty,
            "--select-by",
            metric,
            &VALIDATION_CUTOFFS,
        )
        .unwrap();
    }
    let e = check_metric(
        DataSetKind::AmazonBeauty,
        "--select-by",
        "P@20",
        &VALIDATION_CUTOFFS,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("HR@20"), "{e}");
}

#[test]
fn other_commands_check_their_flags_first() {
    let out = temp("other");
    // The hybrid's selection metric, before its run folder or data are read.
    let no_run = out.join("no-run");
    let hybrid = [
        "hybrid",
        "--data-set",
        "diginetica",
        "--run",
        no_run.to_str().unwrap(),
    ];
    fails_at_once(
        &[&hybrid[..], &["--select-by", "HR@20"]].concat(),
        &["--select-by HR@20", "not a metric"],
    );
    fails_at_once(&hybrid, &["--run", "no such folder"]);
    fails_at_once(
        &[
            "hybrid",
            "--data-set",
            "diginetica",
            "--run",
            ".",
            "--policy",
            "q3",
        ],
        &["--policy q3", "unknown policy"],
    );
    fails_at_once(
        &[
            "baselines",
            "--data-set",
            "amazon-beauty",
            "--select-by",
            "P@20",
        ],
        &["--select-by P@20", "HR@20"],
    );
    fails_at_once(
        &[
            "quantize",
            "--data-set",
            "diginetica",
            "--policies",
            "f32,q3",
        ],
        &["q3"],
    );
    // `--bundles` exports the transformer: refused before any model is fitted.
    fails_at_once(
        &[
            "purchase",
            "--model",
            "constant",
            "--bundles",
            out.join("bundles").to_str().unwrap(),
        ],
        &["--bundles", "--model transformer"],
    );
    fails_at_once(&["covisit", "-k", "0"], &["0"]);
    fails_at_once(
        &["covisit", "--data", out.join("no-data").to_str().unwrap()],
        &["--data", "no such folder"],
    );
    assert!(!out.exists(), "something was written");
}

/// `edgerec-train strategy check`: the shipped example strategy is valid and serves with the
/// REES46 sample bundle; a bad key is refused by name, and so is what only the bundle can refute.
#[test]
fn the_example_strategy_serves_with_the_sample_catalog_and_bad_keys_are_named() {
    let bundle = temp("rees46.bundle");
    let out = cli(&[
        "-q",
        "covisit",
        "--mapping",
        "mappings/rees46.toml",
        "--input",
        "data/rees46/2019-Oct_sample.csv",
        "--name",
        "rees46",
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = cli(&[
        "strategy",
        "check",
        "configs/strategy.toml",
        "--bundle",
        bundle.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("strategy `rees46-demo-1` is valid"),
        "{stdout}"
    );
    assert!(stdout.contains("slot home_top: 8 items"), "{stdout}");
    assert!(stdout.contains("every slot decided"), "{stdout}");

    // A key the format does not have, and a size out of range: each named.
    let example = std::fs::read_to_string("../configs/strategy.toml")
        .or_else(|_| std::fs::read_to_string("configs/strategy.toml"))
        .unwrap();
    for (bad, needle) in [
        (
            example.replace("size = 8", "size = 0"),
            "slots.home_top.size",
        ),
        (
            example.replace("size = 8", "size = 8\ncolour = \"red\""),
            "colour",
        ),
    ] {
        let file = temp("bad.toml");
        std::fs::write(&file, bad).unwrap();
        let out = cli(&["strategy", "check", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "accepted: {needle}");
        assert!(stderr.contains(needle), "no `{needle}` in {stderr}");
    }

    // Valid as a file, refuted by the bundle: a boost on a category its catalog lacks.
    let file = temp("unknown-category.toml");
    std::fs::write(
        &file,
        example.replace("electronics.audio.headphone", "garden.hoses"),
    )
    .unwrap();
    let out = cli(&["strategy", "check", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&[
        "strategy",
        "check",
        file.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "served a boost on an unknown category"
    );
    assert!(stderr.contains("garden.hoses"), "{stderr}");
    let _ = std::fs::remove_file(&bundle);
}
