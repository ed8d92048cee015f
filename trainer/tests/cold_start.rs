//! Item text for new items, end to end on the shipped REES46 sample: `covisit --text-encoder`
//! writes item text vectors the engine serves, and `cold-start` measures what they buy.

use std::path::PathBuf;

use edgerec::{Engine, SimilarRequest, Source};
use edgerec_trainer::commands::args::{BootstrapArgs, CutoffArgs, ExportArgs, ResultsDirArgs};
use edgerec_trainer::commands::cold_start::{execute, ColdStartArgs};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

#[test]
fn text_candidates_reach_items_that_only_appear_after_the_split() {
    let records = execute(&ColdStartArgs {
        export: ExportArgs {
            mapping: repo("mappings/rees46.toml"),
            input: repo("data/rees46/2019-Oct_sample.csv"),
        },
        text_encoder: repo("data/models/minilm-L2-q4.bundle"),
        split_at: "2019-10-01T02:35:00Z".into(),
        k: CutoffArgs { k: 20 },
        name: "rees46-sample".into(),
        bootstrap: BootstrapArgs { bootstrap: 50 },
        seed: 1,
        results_dir: ResultsDirArgs::default(),
    })
    .unwrap();
    let [plain, text] = &records[..] else {
        panic!("two records")
    };
    assert_eq!(
        (plain.model.as_str(), text.model.as_str()),
        ("covisit", "covisit+text")
    );
    assert!(
        plain.data.sizes["cold_cases"] > 100,
        "{:?}",
        plain.data.sizes
    );
    // Without text a cold item (no co-visits, no popularity) is never recommended.
    assert_eq!(plain.metrics["ColdHR@20"], 0.0);
    assert!(text.metrics["ColdHR@20"] > 10.0, "{:?}", text.metrics);
    // Text fills only after the co-visited items: warm targets do not lose.
    assert!(
        text.metrics["WarmHR@20"] >= plain.metrics["WarmHR@20"],
        "{:?}",
        text.metrics
    );
    let (lo, hi) = text.intervals["ColdHR@20"];
    assert!(lo <= text.metrics["ColdHR@20"] && text.metrics["ColdHR@20"] <= hi);
}

#[test]
fn a_catalog_bundle_with_item_text_serves_text_neighbours() {
    let out = std::env::temp_dir().join(format!("edgerec-text-{}.bundle", std::process::id()));
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_edgerec-train"))
        .current_dir(repo(""))
        .args([
            "-q",
            "covisit",
            "--mapping",
            "mappings/rees46.toml",
            "--input",
            "data/rees46/2019-Oct_sample.csv",
        ])
        .args([
            "--text-encoder",
            "data/models/minilm-L2-q4.bundle",
            "--out",
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let engine = Engine::from_bundle(&std::fs::read(&out).unwrap()).unwrap();
    let index = engine.text_index().expect("item text vectors");
    assert_eq!(index.dim(), 384);
    // An item with text: its neighbours by text share its category.
    let item = engine.items().ids().iter().position(|id| {
        engine.item(id).and_then(|i| i.category).as_deref() == Some("electronics.smartphone")
    });
    let id = engine.items().ids()[item.unwrap()].clone();
    let like = engine.similar(&SimilarRequest::new(&id, 50)).unwrap();
    let texts: Vec<_> = like
        .items
        .iter()
        .filter(|i| i.source == Source::Text)
        .collect();
    assert!(!texts.is_empty());
    let category = |id: &str| engine.item(id).and_then(|i| i.category);
    assert_eq!(
        category(&texts[0].id).as_deref(),
        Some("electronics.smartphone")
    );
    std::fs::remove_file(out).ok();
}
