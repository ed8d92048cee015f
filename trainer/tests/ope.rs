//! `edgerec-train ope` end to end on the shipped Open Bandit sample (data/open-bandit: the first
//! 1,200 impressions of `men` from both policies).

use std::path::PathBuf;
use std::process::Command;

use edgerec_trainer::ope::open_bandit::{run, CampaignLogs, OpenBanditConfig};
use edgerec_trainer::ope::PositionPolicy;
use edgerec_trainer::record::RunRecord;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn ope_cli_on_the_sample_writes_a_record() {
    let dir = std::env::temp_dir().join(format!("edgerec-ope-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_edgerec-train"))
        .current_dir(repo())
        .args([
            "ope",
            "--results-dir",
            dir.to_str().unwrap(),
            "--bootstrap",
            "50",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("random->bts"), "{stdout}");
    assert!(
        stdout.contains("intervals containing the on-policy rate"),
        "{stdout}"
    );
    assert!(stdout.contains("learned policy"), "{stdout}");
    let record = RunRecord::read(&dir.join("open-bandit-ope.json")).unwrap();
    assert_eq!(record.model, "ope");
    assert_eq!(record.data.sizes["men/random decisions"], 1200);
    assert_eq!(record.data.sizes["men/items"], 34);
    for key in ["men/random->bts", "men/bts->random"] {
        for name in ["IPS", "SNIPS", "DR", "on-policy"] {
            assert!(
                record.intervals.contains_key(&format!("{key}/{name}")),
                "{key}/{name}"
            );
        }
        assert!(record.metrics[&format!("{key}/ESS")] > 0.0);
    }
    // The on-policy rates are the sample's click rates: 7 and 10 clicks in 1,200.
    assert!((record.metrics["men/bts->random/on-policy"] - 7.0 / 1200.0).abs() < 1e-12);
    assert!((record.metrics["men/random->bts/on-policy"] - 10.0 / 1200.0).abs() < 1e-12);
    assert!(record.metrics.contains_key("learned/men/DR"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn ope_sample_facts_and_determinism() {
    let root = repo().join("data/open-bandit");
    let logs = CampaignLogs::read(&root, "men").unwrap();
    assert!(logs.random_is_uniform());
    assert_eq!((logs.items, logs.random.positions), (34, 3));
    let bts = PositionPolicy::empirical(&logs.bts);
    for row in &bts.probabilities {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
    // random -> bts IPS by hand: each random impression weighted by π_bts(a|p) · 34.
    let ips: f64 = logs
        .random
        .decisions
        .iter()
        .map(|d| bts.probabilities[d.position][d.action] * 34.0 * d.reward)
        .sum::<f64>()
        / logs.random.len() as f64;
    let config = OpenBanditConfig {
        bootstrap_resamples: 40,
        ..OpenBanditConfig::default()
    };
    let campaigns = vec!["men".to_string()];
    let a = run(&root, &campaigns, &config).unwrap();
    let b = run(&root, &campaigns, &config).unwrap();
    assert_eq!(a, b, "same seed, same report");
    let pair = &a.pairs[0];
    assert_eq!(
        (pair.logging.as_str(), pair.target.as_str()),
        ("random", "bts")
    );
    assert!((pair.ips.estimate.value - ips).abs() < 1e-12);
    // The uniform target gives every logged impression a positive weight; the bts target's mass
    // on pairs the random sample never shows is reported, not hidden.
    assert_eq!(a.pairs[1].zero_weight_decisions, 0);
    assert!((0.0..1.0).contains(&a.pairs[0].unsupported_mass));
    assert!((0.0..1.0).contains(&a.pairs[1].unsupported_mass));
}
