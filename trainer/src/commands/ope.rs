//! `edgerec-train ope`: off-policy evaluation on the Open Bandit Dataset (each A/B-tested
//! policy's click rate estimated from the other's logs, then a policy learned from the random
//! logs), a table on standard output and the run record `open-bandit-ope.json`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use super::args::{BootstrapArgs, ResultsDirArgs};
use crate::ope::estimators::Estimate;
use crate::ope::open_bandit::{
    campaigns_present, run_record, OpenBanditConfig, OpenBanditReport, CAMPAIGNS, SAMPLE_PATH,
};
use crate::ope::reward::RewardConfig;

/// What `ope --help` explains after the flags.
const AFTER_HELP: &str = "\
For each campaign (all, men, women) and direction (random -> bts, bts -> random): IPS, SNIPS and
doubly robust (DR) estimates of the target policy's click rate from the other policy's log, with
95% bootstrap intervals; the effective sample size (sum w)^2 / sum w^2; the target's own
(on-policy) click rate with its interval; the relative error; whether each interval contains the
on-policy rate.

Target policies: pi_random(item | position) = 1 / items (the random files' propensities);
pi_bts(item | position) = the share of the bts log's impressions at that position that show the
item (Bernoulli TS is context-free; its distribution averaged over the logging week). Pairs the bts
log never shows get pi_bts = 0. DR's reward model: click rate per (item, position) shrunk towards
the item's and the log's rate, cross-fitted on --folds folds.

Learned policy: fitted on a seeded half of the random log (logistic model on the shrunk
(item, position) click rate and the user's affinity to the item), greedy with an --epsilon uniform
floor, evaluated on the other half and set against both logged policies' rates.

Writes <results dir>/open-bandit-ope.json (a run record) and prints a table.
Full data: edgerec-train ope --data ../shared/data/open-bandit --results-dir results";

/// `edgerec-train ope` (the variant's doc in `main.rs` is the short help; [`AFTER_HELP`] the long).
#[derive(Debug, Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct OpeArgs {
    /// Open Bandit folder with `{random,bts}/<campaign>/<campaign>.csv` (and item_context.csv),
    /// e.g. ../shared/data/open-bandit [default: the shipped sample, data/open-bandit].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Campaigns, comma-separated (all, men, women) [default: every campaign in --data with
    /// both policies' logs].
    #[arg(long, value_delimiter = ',')]
    pub campaign: Vec<String>,
    #[command(flatten)]
    pub results_dir: ResultsDirArgs,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    /// Seed of every random choice (bootstrap, folds, the learned policy's split).
    #[arg(long, default_value_t = OpenBanditConfig::default().seed)]
    pub seed: u64,
    /// Cross-fitting folds of DR's reward model (at least 2).
    #[arg(long, default_value_t = RewardConfig::default().folds)]
    pub folds: usize,
    /// Prior strength (pseudo-impressions) of the reward model's shrinkage towards the item's
    /// and the log's click rate.
    #[arg(long, default_value_t = RewardConfig::default().prior_strength)]
    pub prior_strength: f64,
    /// Exploration floor of the learned policy: any item uniformly with this probability.
    #[arg(long, default_value_t = OpenBanditConfig::default().epsilon)]
    pub epsilon: f64,
    /// Skip the learned policy.
    #[arg(long)]
    pub no_learn: bool,
}

/// Checks the arguments and runs the evaluation; returns the report (for tests).
pub fn execute(args: &OpeArgs) -> Result<OpenBanditReport> {
    let root = args
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(SAMPLE_PATH));
    super::args::check_dir("--data", &root)?;
    if args.folds < 2 {
        bail!(
            "--folds {}: cross-fitting needs at least 2 folds",
            args.folds
        );
    }
    if !(0.0..=1.0).contains(&args.epsilon) || (!args.no_learn && args.epsilon <= 0.0) {
        bail!("--epsilon {}: must be in (0, 1]", args.epsilon);
    }
    if args.prior_strength.is_nan() || args.prior_strength <= 0.0 {
        bail!("--prior-strength {}: must be positive", args.prior_strength);
    }
    let present = campaigns_present(&root);
    let campaigns = if args.campaign.is_empty() {
        present
    } else {
        for c in &args.campaign {
            if !CAMPAIGNS.contains(&c.as_str()) {
                bail!("--campaign {c}: not an Open Bandit campaign (all, men, women)");
            }
            if !present.contains(c) {
                bail!(
                    "--campaign {c}: {} lacks random/{c}/{c}.csv or bts/{c}/{c}.csv",
                    root.display()
                );
            }
        }
        args.campaign.clone()
    };
    let config = OpenBanditConfig {
        bootstrap_resamples: args.bootstrap.bootstrap,
        seed: args.seed,
        reward: RewardConfig {
            prior_strength: args.prior_strength,
            folds: args.folds,
            seed: args.seed,
        },
        epsilon: args.epsilon,
        learn: !args.no_learn,
        ..OpenBanditConfig::default()
    };
    crate::ope::open_bandit::run(&root, &campaigns, &config)
}

pub fn run(args: OpeArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let report = execute(&args)?;
    print_report(&report);
    let root = args
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(SAMPLE_PATH));
    let record = run_record(&report, &root, started.elapsed().as_secs_f64())?;
    args.results_dir.write("open-bandit-ope.json", &record)?;
    Ok(())
}

fn pct(x: f64) -> String {
    format!("{:.3}%", 100.0 * x)
}

fn with_interval(e: &Estimate) -> String {
    match e.interval {
        Some((lo, hi)) => format!("{} [{}, {}]", pct(e.value), pct(lo), pct(hi)),
        None => pct(e.value),
    }
}

fn print_report(report: &OpenBanditReport) {
    println!(
        "{:<6} {:<15} {:<6} {:>30} {:>8} {:>30} {:>8} {:>9}",
        "camp.",
        "log -> target",
        "est.",
        "estimate [95% CI]",
        "ESS",
        "on-policy [95% CI]",
        "rel.err",
        "contains"
    );
    for p in &report.pairs {
        for (name, c) in p.estimators() {
            println!(
                "{:<6} {:<15} {:<6} {:>30} {:>8.0} {:>30} {:>+7.1}% {:>9}",
                p.campaign,
                format!("{}->{}", p.logging, p.target),
                name,
                with_interval(&c.estimate),
                p.effective_sample_size,
                with_interval(&p.on_policy),
                100.0 * c.relative_error,
                if c.contains_on_policy { "yes" } else { "no" }
            );
        }
    }
    let pairs = report.pairs.len();
    let summary: Vec<String> = report
        .contained()
        .iter()
        .map(|(name, n)| format!("{name} {n}/{pairs}"))
        .collect();
    println!(
        "intervals containing the on-policy rate: {}",
        summary.join(", ")
    );
    if !report.learned.is_empty() {
        println!();
        println!(
            "learned policy (fitted on half of the random log, evaluated on the other half, epsilon {}):",
            report.config.epsilon
        );
        for l in &report.learned {
            println!(
                "{:<6} IPS {}  SNIPS {}  DR {}  ESS {:.0}  | random {}  bts {}",
                l.campaign,
                with_interval(&l.ips),
                with_interval(&l.snips),
                with_interval(&l.dr),
                l.effective_sample_size,
                with_interval(&l.random_rate),
                with_interval(&l.bts_rate)
            );
        }
    }
}
