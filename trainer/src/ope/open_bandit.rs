//! The Open Bandit Dataset check (ZOZOTOWN, obp 0.5.7 small size; Saito et al., NeurIPS 2021).
//! Two policies ran side by side as an A/B test on the same site in the same week: `random`
//! (uniform over the campaign's items at each of 3 positions) and `bts` (Bernoulli Thompson
//! sampling). Each policy's click rate is estimated from the *other* policy's log and compared
//! with its own log's (on-policy) click rate.
//!
//! The evaluated policies' action probabilities:
//! - **random**: `π(a | p) = 1 / items` at every position (the random files' propensity is
//!   exactly `1 / items` on every row; [`CampaignLogs::random_is_uniform`] checks it).
//! - **bts**: Bernoulli TS in Open Bandit is context-free (obp computes its action distribution
//!   by simulation from the ZOZOTOWN posterior), so `π_bts(a | p)` is taken as the share of the
//!   bts log's impressions at position `p` that show item `a` ([`PositionPolicy::empirical`]):
//!   the policy's action distribution averaged over the logging week. The mean logged propensity
//!   per (item, position) is *not* used: it averages the propensity over the impressions where the
//!   item was shown, which favours the moments its propensity was high (`E[p²]/E[p]` instead of
//!   `E[p]`), and on these files those means sum to 1.7 to 3.7 per position instead of 1.
//!   (item, position) pairs the bts log never shows get `π_bts = 0`: the random log's
//!   impressions of them get weight 0. In the other direction every pair has `π_random > 0`, and
//!   the uniform policy's mass on pairs the bts log never shows is reported as
//!   `unsupported_mass` (IPS/SNIPS cannot see it; DR's reward model covers it).
//!
//! Intervals resample the logged decisions only; `π_bts` is held fixed at its estimate.
//!
//! The learned policy: the random log is split in two seeded halves; on the first, a logistic
//! regression predicts a click from the shrunk click rate of the (item, position)
//! and the user's affinity to the item; the policy shows, at each position, the item with the
//! highest predicted click probability for that user with probability `1 − ε`, and any item
//! uniformly with probability `ε` (so every propensity is at least `ε / items`). Its value is
//! estimated on the second half (IPS, SNIPS, DR) and set against both logged policies' rates.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use serde::Serialize;

use super::estimators::{mean_reward, Estimate, OpeColumns, OpeEstimates};
use super::readers::{read_item_count, read_open_bandit_csv};
use super::reward::{fold_of, CrossFitted, RateModel, RewardConfig};
use super::{columns, estimate_all, LoggedDecision, LoggedTable, Policy, PositionPolicy};
use crate::conversion::logistic::{LogisticConfig, LogisticRegression};

pub const CAMPAIGNS: [&str; 3] = ["all", "men", "women"];
pub const POLICIES: [&str; 2] = ["random", "bts"];
/// The sample shipped with the repository (the first rows of `men`).
pub const SAMPLE_PATH: &str = "data/open-bandit";

/// Settings of the evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OpenBanditConfig {
    pub bootstrap_resamples: usize,
    pub seed: u64,
    pub reward: RewardConfig,
    /// Exploration floor of the learned policy (0: no learned policy).
    pub epsilon: f64,
    pub learn: bool,
    pub logistic_l2: f64,
}

impl Default for OpenBanditConfig {
    fn default() -> Self {
        OpenBanditConfig {
            bootstrap_resamples: 1000,
            seed: 17,
            reward: RewardConfig::default(),
            epsilon: 0.1,
            learn: true,
            logistic_l2: 1.0,
        }
    }
}

/// `<root>/<policy>/<campaign>/<campaign>.csv`
pub fn log_path(root: &Path, policy: &str, campaign: &str) -> PathBuf {
    root.join(policy)
        .join(campaign)
        .join(format!("{campaign}.csv"))
}

/// Campaigns with both policies' logs under `root`, in the order all, men, women.
pub fn campaigns_present(root: &Path) -> Vec<String> {
    CAMPAIGNS
        .iter()
        .filter(|c| POLICIES.iter().all(|p| log_path(root, p, c).is_file()))
        .map(|c| c.to_string())
        .collect()
}

/// Both policies' logs of one campaign.
#[derive(Debug, Clone)]
pub struct CampaignLogs {
    pub campaign: String,
    pub items: usize,
    pub random: LoggedTable,
    pub bts: LoggedTable,
    pub files: Vec<PathBuf>,
}

impl CampaignLogs {
    /// Reads `<root>/{random,bts}/<campaign>/<campaign>.csv`; the item count comes from the
    /// random folder's `item_context.csv` when there is one.
    pub fn read(root: &Path, campaign: &str) -> Result<Self> {
        let context = root.join("random").join(campaign).join("item_context.csv");
        let items = if context.is_file() {
            Some(read_item_count(&context)?)
        } else {
            None
        };
        let random_path = log_path(root, "random", campaign);
        let bts_path = log_path(root, "bts", campaign);
        let random = read_open_bandit_csv(&random_path, items)?;
        let bts = read_open_bandit_csv(&bts_path, items)?;
        let items = random.actions.max(bts.actions);
        let positions = random.positions.max(bts.positions);
        let widen = |t: LoggedTable| LoggedTable::new(t.decisions, items, positions);
        let mut files = vec![random_path, bts_path];
        if context.is_file() {
            files.push(context);
        }
        Ok(CampaignLogs {
            campaign: campaign.to_string(),
            items,
            random: widen(random),
            bts: widen(bts),
            files,
        })
    }

    /// Whether every random-log propensity is `1 / items` (to 1e-9).
    pub fn random_is_uniform(&self) -> bool {
        let p = 1.0 / self.items as f64;
        self.random
            .decisions
            .iter()
            .all(|d| (d.propensity - p).abs() < 1e-9)
    }
}

/// Relative error of an estimate against the truth: `(estimate − truth) / truth`.
fn relative_error(estimate: f64, truth: f64) -> f64 {
    if truth == 0.0 {
        f64::NAN
    } else {
        (estimate - truth) / truth
    }
}

/// An estimator's figures against the target's on-policy rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Compared {
    pub estimate: Estimate,
    pub relative_error: f64,
    /// Whether the 95% interval contains the target's on-policy rate.
    pub contains_on_policy: bool,
}

impl Compared {
    fn new(estimate: Estimate, truth: f64) -> Self {
        Compared {
            estimate,
            relative_error: relative_error(estimate.value, truth),
            contains_on_policy: estimate.contains(truth),
        }
    }
}

/// One campaign and direction: the target's rate estimated from the logging policy's log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairResult {
    pub campaign: String,
    /// The policy whose log is read.
    pub logging: String,
    /// The policy whose click rate is estimated.
    pub target: String,
    pub decisions: usize,
    pub ips: Compared,
    pub snips: Compared,
    pub dr: Compared,
    pub effective_sample_size: f64,
    pub max_weight: f64,
    /// The target's click rate on its own log, with its bootstrap interval.
    pub on_policy: Estimate,
    pub on_policy_decisions: usize,
    /// The logging policy's own click rate on the log read (for scale).
    pub logging_rate: f64,
    pub unsupported_mass: f64,
    pub zero_weight_decisions: usize,
}

impl PairResult {
    /// `<campaign>/<logging>-><target>`
    pub fn key(&self) -> String {
        format!("{}/{}->{}", self.campaign, self.logging, self.target)
    }

    pub fn estimators(&self) -> [(&'static str, &Compared); 3] {
        [("IPS", &self.ips), ("SNIPS", &self.snips), ("DR", &self.dr)]
    }
}

/// The bootstrap seed of one estimate: the run's seed mixed with a label, so that different
/// pairs use different resamples and reruns the same ones.
fn seed_for(seed: u64, label: &str) -> u64 {
    label.bytes().fold(seed ^ 0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The on-policy rate of a log, with its interval.
pub fn on_policy(log: &LoggedTable, resamples: usize, seed: u64) -> Estimate {
    let c = OpeColumns {
        rewards: log.decisions.iter().map(|d| d.reward).collect(),
        ..OpeColumns::default()
    };
    Estimate::of(log.len(), resamples, seed, |rows| mean_reward(&c, rows))
}

/// Evaluates `policy` on `log` with a cross-fitted reward model: the three estimates and the
/// diagnostics.
pub fn evaluate(
    log: &LoggedTable,
    policy: &dyn Policy,
    reward: &RewardConfig,
    resamples: usize,
    seed: u64,
) -> (OpeEstimates, f64, usize) {
    let model = CrossFitted::fit(log, reward);
    let cols = columns(log, policy, |i, out| model.predict(log, i, out));
    (
        estimate_all(&cols.columns, resamples, seed),
        cols.unsupported_mass,
        cols.zero_weight_decisions,
    )
}

/// Both directions of one campaign: random → bts and bts → random.
pub fn cross_policy(logs: &CampaignLogs, config: &OpenBanditConfig) -> Vec<PairResult> {
    let bts_policy = PositionPolicy::empirical(&logs.bts);
    let random_policy = PositionPolicy::uniform(logs.items, logs.random.positions);
    let pairs: [(&str, &LoggedTable, &str, &LoggedTable, &dyn Policy); 2] = [
        ("random", &logs.random, "bts", &logs.bts, &bts_policy),
        ("bts", &logs.bts, "random", &logs.random, &random_policy),
    ];
    pairs
        .into_iter()
        .map(|(logging, log, target, target_log, policy)| {
            let label = format!("{}/{logging}->{target}", logs.campaign);
            let seed = seed_for(config.seed, &label);
            let (est, unsupported, zero) = evaluate(
                log,
                policy,
                &config.reward,
                config.bootstrap_resamples,
                seed,
            );
            let truth = on_policy(
                target_log,
                config.bootstrap_resamples,
                seed_for(config.seed, &format!("{}/{target}", logs.campaign)),
            );
            PairResult {
                campaign: logs.campaign.clone(),
                logging: logging.to_string(),
                target: target.to_string(),
                decisions: log.len(),
                ips: Compared::new(est.ips, truth.value),
                snips: Compared::new(est.snips, truth.value),
                dr: Compared::new(est.dr, truth.value),
                effective_sample_size: est.effective_sample_size,
                max_weight: est.max_weight,
                on_policy: truth,
                on_policy_decisions: target_log.len(),
                logging_rate: log.mean_reward(),
                unsupported_mass: unsupported,
                zero_weight_decisions: zero,
            }
        })
        .collect()
}

/// Features of showing `action` at `position` to the decision's user: the logit of the shrunk
/// click rate of (action, position), the user's affinity to the item, and whether it is > 0.
fn features(rates: &RateModel, d: &LoggedDecision, action: usize, position: usize) -> [f64; 3] {
    let q = rates.rates[position][action].clamp(1e-6, 1.0 - 1e-6);
    let affinity = d.context.get(action).copied().unwrap_or(0.0);
    [
        (q / (1.0 - q)).ln(),
        affinity,
        f64::from(u8::from(affinity > 0.0)),
    ]
}

/// The learned policy: ε-greedy on a logistic model's click probabilities.
#[derive(Debug, Clone)]
pub struct LearnedPolicy {
    pub rates: RateModel,
    pub model: LogisticRegression,
    pub epsilon: f64,
}

impl LearnedPolicy {
    /// Fits on `log` (a uniform-random log, so every action was tried in every context).
    ///
    /// The rate feature is the shrunk rate fitted on all of `log`, the same as at decision time.
    /// Out-of-fold rates were tried first and got a *negative* weight: with clicks this rare, a
    /// clicked impression's leave-fold-out rate is lower by construction (its own click is the
    /// one left out), so the model learned to prefer the items with the lowest rates.
    pub fn fit(log: &LoggedTable, config: &OpenBanditConfig) -> Self {
        let all: Vec<usize> = (0..log.len()).collect();
        let rates = RateModel::fit(log, &all, config.reward.prior_strength);
        let mut values = Vec::with_capacity(log.len() * 3);
        let mut labels = Vec::with_capacity(log.len());
        for d in &log.decisions {
            values.extend(features(&rates, d, d.action, d.position));
            labels.push(d.reward > 0.0);
        }
        let model = LogisticRegression::fit(
            &values,
            3,
            &labels,
            &LogisticConfig {
                l2: config.logistic_l2,
                ..LogisticConfig::default()
            },
        );
        LearnedPolicy {
            rates,
            model,
            epsilon: config.epsilon,
        }
    }
}

impl Policy for LearnedPolicy {
    fn distribution(&self, d: &LoggedDecision, out: &mut [f64]) {
        let n = out.len();
        let mut best = (0, f64::NEG_INFINITY);
        for a in 0..n {
            let score = self.model.predict(&features(&self.rates, d, a, d.position));
            if score > best.1 {
                best = (a, score);
            }
        }
        out.fill(self.epsilon / n as f64);
        out[best.0] += 1.0 - self.epsilon;
    }
}

/// The learned policy's estimated value on held-out random-log decisions, against both logged
/// policies' on-policy rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LearnedResult {
    pub campaign: String,
    pub train_decisions: usize,
    pub eval_decisions: usize,
    pub epsilon: f64,
    /// Intercept then weights of (logit rate, affinity, affinity > 0), on standardised features.
    pub coefficients: Vec<f64>,
    pub ips: Estimate,
    pub snips: Estimate,
    pub dr: Estimate,
    pub effective_sample_size: f64,
    /// The random policy's rate on the same held-out decisions.
    pub random_rate: Estimate,
    /// The bts policy's rate on its whole log.
    pub bts_rate: Estimate,
}

/// Learns a policy on a seeded half of the random log and evaluates it on the other half.
pub fn learned_policy(logs: &CampaignLogs, config: &OpenBanditConfig) -> LearnedResult {
    let half = fold_of(logs.random.len(), 2, seed_for(config.seed, "learn-split"));
    let rows = |k: usize| -> Vec<usize> { (0..half.len()).filter(|&i| half[i] == k).collect() };
    let (train, test) = (logs.random.subset(&rows(0)), logs.random.subset(&rows(1)));
    let policy = LearnedPolicy::fit(&train, config);
    let label = format!("{}/learned", logs.campaign);
    let seed = seed_for(config.seed, &label);
    let (est, _, _) = evaluate(
        &test,
        &policy,
        &config.reward,
        config.bootstrap_resamples,
        seed,
    );
    let mut coefficients = vec![policy.model.intercept];
    coefficients.extend(&policy.model.weights);
    LearnedResult {
        campaign: logs.campaign.clone(),
        train_decisions: train.len(),
        eval_decisions: test.len(),
        epsilon: config.epsilon,
        coefficients,
        ips: est.ips,
        snips: est.snips,
        dr: est.dr,
        effective_sample_size: est.effective_sample_size,
        random_rate: on_policy(&test, config.bootstrap_resamples, seed ^ 1),
        bts_rate: on_policy(
            &logs.bts,
            config.bootstrap_resamples,
            seed_for(config.seed, &format!("{}/bts", logs.campaign)),
        ),
    }
}

/// Everything one run computes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenBanditReport {
    pub config: OpenBanditConfig,
    pub pairs: Vec<PairResult>,
    pub learned: Vec<LearnedResult>,
    /// Per campaign: whether the random log's propensities are all `1 / items`.
    pub random_uniform: Vec<(String, bool)>,
    /// Per campaign: items, random and bts decisions.
    pub sizes: Vec<(String, usize, usize, usize)>,
    pub files: Vec<PathBuf>,
}

impl OpenBanditReport {
    /// Pairs (of all) whose interval contains the target's on-policy rate, per estimator.
    pub fn contained(&self) -> [(&'static str, usize); 3] {
        let count = |f: fn(&PairResult) -> bool| self.pairs.iter().filter(|p| f(p)).count();
        [
            ("IPS", count(|p| p.ips.contains_on_policy)),
            ("SNIPS", count(|p| p.snips.contains_on_policy)),
            ("DR", count(|p| p.dr.contains_on_policy)),
        ]
    }
}

/// Runs the check on `campaigns` under `root`.
pub fn run(
    root: &Path,
    campaigns: &[String],
    config: &OpenBanditConfig,
) -> Result<OpenBanditReport> {
    if campaigns.is_empty() {
        bail!(
            "{}: no campaign with both {}/<campaign>/<campaign>.csv and {}/<campaign>/<campaign>.csv",
            root.display(),
            POLICIES[0],
            POLICIES[1]
        );
    }
    let mut report = OpenBanditReport {
        config: *config,
        pairs: Vec::new(),
        learned: Vec::new(),
        random_uniform: Vec::new(),
        sizes: Vec::new(),
        files: Vec::new(),
    };
    for campaign in campaigns {
        let logs = CampaignLogs::read(root, campaign)?;
        tracing::info!(
            campaign,
            items = logs.items,
            random = logs.random.len(),
            bts = logs.bts.len(),
            "read the Open Bandit logs"
        );
        report.pairs.extend(cross_policy(&logs, config));
        if config.learn {
            report.learned.push(learned_policy(&logs, config));
        }
        report
            .random_uniform
            .push((campaign.clone(), logs.random_is_uniform()));
        report.sizes.push((
            campaign.clone(),
            logs.items,
            logs.random.len(),
            logs.bts.len(),
        ));
        report.files.extend(logs.files.iter().cloned());
    }
    Ok(report)
}

/// SHA-256 over the files read, in order.
pub fn fingerprint(files: &[PathBuf]) -> Result<String> {
    let bytes = files
        .iter()
        .map(|f| std::fs::read(f).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display())))
        .collect::<Result<Vec<_>>>()?;
    let parts: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
    Ok(crate::fingerprint::sha256_hex_of(&parts))
}

/// The run record: metrics `<campaign>/<logging>-><target>/<name>` for IPS, SNIPS, DR (with
/// intervals), their relative errors (`.../IPS relative error`) and containment (1/0), ESS, the
/// target's on-policy rate (with interval); `learned/<campaign>/...` for the learned policy.
pub fn run_record(
    report: &OpenBanditReport,
    root: &Path,
    seconds: f64,
) -> Result<crate::record::RunRecord> {
    use std::collections::BTreeMap;
    let mut metrics = BTreeMap::new();
    let mut intervals = BTreeMap::new();
    let mut put = |name: String, e: &Estimate| {
        if let Some(iv) = e.interval {
            intervals.insert(name.clone(), iv);
        }
        metrics.insert(name, e.value);
    };
    for p in &report.pairs {
        let key = p.key();
        for (name, c) in p.estimators() {
            put(format!("{key}/{name}"), &c.estimate);
        }
        put(format!("{key}/on-policy"), &p.on_policy);
    }
    for l in &report.learned {
        let key = format!("learned/{}", l.campaign);
        put(format!("{key}/IPS"), &l.ips);
        put(format!("{key}/SNIPS"), &l.snips);
        put(format!("{key}/DR"), &l.dr);
        put(format!("{key}/random on-policy"), &l.random_rate);
        put(format!("{key}/bts on-policy"), &l.bts_rate);
    }
    for p in &report.pairs {
        let key = p.key();
        for (name, c) in p.estimators() {
            if c.relative_error.is_finite() {
                metrics.insert(format!("{key}/{name} relative error"), c.relative_error);
            }
            metrics.insert(
                format!("{key}/{name} contains on-policy"),
                f64::from(u8::from(c.contains_on_policy)),
            );
        }
        metrics.insert(format!("{key}/ESS"), p.effective_sample_size);
    }
    for l in &report.learned {
        metrics.insert(
            format!("learned/{}/ESS", l.campaign),
            l.effective_sample_size,
        );
    }
    for (name, n) in report.contained() {
        metrics.insert(format!("pairs contained/{name}"), n as f64);
    }
    let mut sizes = BTreeMap::new();
    for (campaign, items, random, bts) in &report.sizes {
        sizes.insert(format!("{campaign}/items"), *items as u64);
        sizes.insert(format!("{campaign}/random decisions"), *random as u64);
        sizes.insert(format!("{campaign}/bts decisions"), *bts as u64);
    }
    let data = crate::record::DataInfo {
        name: "open-bandit".to_string(),
        path: root.display().to_string(),
        fingerprint_sha256: fingerprint(&report.files)?,
        sizes,
    };
    let split = "no split for the cross-policy check: each policy's whole log; the learned policy \
                 is fitted on a seeded half of the random log and evaluated on the other half";
    let protocol = format!(
        "off-policy evaluation on the Open Bandit Dataset (small size): each policy's click \
             rate estimated from the other policy's log (IPS, SNIPS, DR with a cross-fitted \
             shrunk per-(item, position) click-rate model, {} folds, prior strength {}) and \
             compared with its own log's click rate; pi_random(item | position) = 1 / items; \
             pi_bts(item | position) = the share of the bts log's impressions at that position \
             showing that item (context-free Bernoulli TS averaged over the week; pairs the bts \
             log never shows get 0; the uniform target's mass on pairs the bts log never shows \
             is reported as unsupported_mass); 95% percentile-bootstrap intervals over logged \
             decisions ({} resamples; pi_bts and the cross-fitted reward predictions held fixed); \
             ESS = (sum w)^2 / sum w^2",
        report.config.reward.folds,
        report.config.reward.prior_strength,
        report.config.bootstrap_resamples
    );
    Ok(crate::record::RunRecord {
        config: serde_json::to_value(report)?,
        metrics,
        intervals,
        train_seconds: seconds,
        ..crate::record::RunRecord::new(data, split, protocol, "ope")
    })
}
