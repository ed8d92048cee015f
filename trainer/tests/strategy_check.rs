//! `edgerec-train strategy check`: the shipped example strategy is valid and serves with the
//! REES46 sample bundle; a bad key is refused by name, and so is what only the bundle can refute.

use std::path::PathBuf;
use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgerec-train"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(args)
        .output()
        .unwrap()
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("edgerec-strategy-{name}-{}", std::process::id()))
}

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
