//! `edgerec-train purchase` end to end on the shipped Taobao sample.

use std::path::PathBuf;
use std::process::Command;

use edgerec_trainer::record::RunRecord;

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_edgerec-train"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn purchase_writes_a_record_per_model_with_curves() {
    let dir = std::env::temp_dir().join(format!("edgerec-purchase-{}", std::process::id()));
    let out = cli(&[
        "purchase",
        "--results-dir",
        dir.to_str().unwrap(),
        "--model",
        "constant,lr",
        "--bootstrap",
        "20",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("| logistic-regression | 3198 | 142 |"),
        "{stdout}"
    );

    let record = RunRecord::read(&dir.join("taobao-purchase-logistic-regression.json")).unwrap();
    assert_eq!(record.data.sizes["test_buyers"], 142);
    for metric in ["AUC", "LogLoss", "ECE", "Lift@10%"] {
        assert!(record.metrics.contains_key(metric), "{metric}");
        let (low, high) = record.intervals[metric];
        assert!(low <= high, "{metric}");
    }
    let curves: Vec<&str> = record.curves.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        curves,
        ["reliability", "lift by decile", "cumulative gains"]
    );
    assert!(record.command.contains("purchase"));
    assert!(dir.join("taobao-purchase-constant.json").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn purchase_names_the_bad_line() {
    let dir = std::env::temp_dir().join(format!("edgerec-purchase-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.csv");
    std::fs::write(&path, "1,2,3,pv,1511658000\n1,2,3,pv\n").unwrap();
    let out = cli(&["purchase", "--input", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("events.csv:2") && err.contains("expected 5"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn purchase_documents_its_flags() {
    let help = String::from_utf8(cli(&["purchase", "--help"]).stdout).unwrap();
    for flag in [
        "--data-set",
        "--input",
        "--results-dir",
        "--model",
        "--lookback",
        "--horizon",
    ] {
        assert!(help.contains(flag), "{help}");
    }
    assert!(String::from_utf8(cli(&["--help"]).stdout)
        .unwrap()
        .contains("purchase"));
}
