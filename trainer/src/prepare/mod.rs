//! Preparation of raw logs for training: deduplication, sessionisation, time-based splits, labels,
//! normalisation fitted on training data, a data summary and user profiles. [`prepare`] runs it all
//! for one mapped file and reports what it found (`summary.json`; see `edgerec-train prepare
//! --help`): a check of a mapping and of the data before training.
//!
//! The training commands run the same steps in memory from the export and its mapping
//! (`covisit --mapping`, `cold-start`: [`crate::covisit::read_mapped`]), so `prepare` writes no
//! copies of the events, labels, profiles or catalog that nothing would read: its output is the
//! summary (counts, cut-offs, label counts, the fitted normalisations, the reject reports).

pub mod dedup;
pub mod labels;
pub mod normalize;
pub mod profiles;
pub mod sessionize;
pub mod split;
pub mod summary;

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub use dedup::sort_and_dedup;
pub use labels::{labels, Label, LabelWindow};
pub use normalize::{Normalizer, Scaling};
pub use profiles::{build_profiles, CatalogIndex, UserProfile};
pub use sessionize::{sessionize, sessions, Session, DEFAULT_GAP_MS};
pub use split::{CutOffs, SplitSpec, Splits, TimeSplits};
pub use summary::{CatalogSummary, Distribution, EventSummary, Funnel};

use crate::ingest::{read_catalog, read_events, Mapping, RejectReport};
use crate::output::write_file;

/// Everything `prepare` needs to know.
#[derive(Debug, Clone)]
pub struct PrepareConfig {
    pub mapping: PathBuf,
    pub input: PathBuf,
    pub out: PathBuf,
    /// Fail on the first rejected row instead of counting it.
    pub strict: bool,
    /// Inactivity that ends a session.
    pub session_gap_ms: i64,
    /// Replace the source's session ids by gap-based ones.
    pub resplit_sessions: bool,
    pub split: SplitSpec,
    pub label_window: LabelWindow,
    pub scaling: Scaling,
}

/// Label counts of one split.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LabelCounts {
    pub labels: u64,
    pub clicked: u64,
    pub carted: u64,
    pub purchased: u64,
}

/// What `prepare` did and found; saved as `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedSummary {
    pub data_set: String,
    pub input: String,
    pub mapping: String,
    /// Rows read, accepted and rejected by reason: events first, then catalog.
    pub reads: Vec<RejectReport>,
    pub duplicates_removed: u64,
    pub session_gap_ms: i64,
    pub resplit_sessions: bool,
    /// `session` or the horizon in ms.
    pub label_window: String,
    pub cut_offs: Option<CutOffs>,
    /// The whole data set after deduplication and sessionisation.
    pub events: Option<EventSummary>,
    /// `train`, `validation`, `test` -> summary (sessions cut at the cut-offs).
    pub splits: BTreeMap<String, EventSummary>,
    pub labels: BTreeMap<String, LabelCounts>,
    pub catalog: Option<CatalogSummary>,
    pub profiles: u64,
    /// Fitted on the training split (event prices) and the training profiles.
    pub normalization: Vec<Normalizer>,
    /// The files written, relative to the output folder (`summary.json`).
    pub files: Vec<String>,
}

/// Runs the whole preparation and writes its summary to `config.out/summary.json`.
pub fn prepare(config: &PrepareConfig) -> Result<PreparedSummary> {
    let mapping = Mapping::load(&config.mapping)?;
    fs::create_dir_all(&config.out)
        .with_context(|| format!("cannot create {}", config.out.display()))?;
    let mut summary = PreparedSummary {
        data_set: mapping.name.clone(),
        input: config.input.display().to_string(),
        mapping: config.mapping.display().to_string(),
        reads: Vec::new(),
        duplicates_removed: 0,
        session_gap_ms: config.session_gap_ms,
        resplit_sessions: config.resplit_sessions,
        label_window: match config.label_window {
            LabelWindow::Session => "session".to_string(),
            LabelWindow::Horizon(ms) => format!("{ms} ms"),
        },
        cut_offs: None,
        events: None,
        splits: BTreeMap::new(),
        labels: BTreeMap::new(),
        catalog: None,
        profiles: 0,
        normalization: Vec::new(),
        files: Vec::new(),
    };
    // Events are read first, so that `--strict` stops at the file's first bad row as events see it.
    let mut events = None;
    if mapping.events.is_some() {
        let (read, report) = read_events(&mapping, &config.input, config.strict)?;
        summary.reads.push(report);
        events = Some(read);
    }
    let mut catalog_entries = Vec::new();
    if mapping.catalog.is_some() {
        let (entries, report) = read_catalog(&mapping, &config.input, config.strict)?;
        summary.reads.push(report);
        summary.catalog = Some(CatalogSummary::of(&entries));
        catalog_entries = entries;
    }

    if let Some(mut events) = events {
        summary.duplicates_removed = sort_and_dedup(&mut events) as u64;
        sessionize(&mut events, config.session_gap_ms, config.resplit_sessions);
        summary.events = Some(EventSummary::of(&events, &sessions(&events)));

        let cut_offs = config.split.cut_offs(&events);
        summary.cut_offs = Some(cut_offs);
        let splits = TimeSplits::by_time(events, cut_offs);
        splits.check_no_leak()?;
        for (name, split_events) in splits.parts() {
            let split_sessions = sessions(split_events);
            let split_labels = labels(split_events, &split_sessions, config.label_window);
            summary.labels.insert(
                name.to_string(),
                LabelCounts {
                    labels: split_labels.len() as u64,
                    clicked: split_labels.iter().filter(|l| l.clicked).count() as u64,
                    carted: split_labels.iter().filter(|l| l.carted).count() as u64,
                    purchased: split_labels.iter().filter(|l| l.purchased).count() as u64,
                },
            );
            summary.splits.insert(
                name.to_string(),
                EventSummary::of(split_events, &split_sessions),
            );
        }

        // Profiles describe users as of the validation cut-off, from training events only.
        let reference_ms = splits
            .train
            .iter()
            .map(|e| e.timestamp_ms)
            .max()
            .map_or(cut_offs.validation_from_ms, |last| {
                cut_offs.validation_from_ms.min(last + 1)
            });
        let catalog = CatalogIndex::new(catalog_entries);
        let mut profiles = build_profiles(&splits.train, &catalog, reference_ms);
        summary.normalization = fit_normalizers(&splits.train, &mut profiles, config.scaling);
        summary.profiles = profiles.len() as u64;
    }

    summary.files.push("summary.json".into());
    write_file(
        &config.out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    Ok(summary)
}

/// Fits scalings on the training split (event prices) and training profiles (frequency, recency,
/// price level), and stores each profile's normalised values in its `features`.
fn fit_normalizers(
    train: &[crate::events::Event],
    profiles: &mut [UserProfile],
    scaling: Scaling,
) -> Vec<Normalizer> {
    type Feature = fn(&UserProfile) -> Option<f64>;
    let profile_features: [(&str, Feature); 4] = [
        ("events", |p| Some(p.events as f64)),
        ("sessions", |p| Some(p.sessions as f64)),
        ("recency_days", |p| Some(p.recency_days)),
        ("median_price", |p| {
            p.price_level.as_ref().map(|l| l.median_price)
        }),
    ];
    let mut normalizers: Vec<Normalizer> =
        Normalizer::fit("event_price", scaling, train.iter().filter_map(|e| e.price))
            .into_iter()
            .collect();
    for (name, value) in profile_features {
        let Some(normalizer) = Normalizer::fit(name, scaling, profiles.iter().filter_map(value))
        else {
            continue;
        };
        for profile in profiles.iter_mut() {
            if let Some(x) = value(profile) {
                profile
                    .features
                    .insert(name.to_string(), normalizer.apply(x));
            }
        }
        normalizers.push(normalizer);
    }
    normalizers
}

impl fmt::Display for PreparedSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "## {} ({})\n", self.data_set, self.input)?;
        for report in &self.reads {
            writeln!(f, "{report}")?;
        }
        if let Some(events) = &self.events {
            writeln!(
                f,
                "duplicates removed: {}; session gap {} s{}\n",
                self.duplicates_removed,
                self.session_gap_ms / 1000,
                if self.resplit_sessions {
                    " (source sessions re-split)"
                } else {
                    ""
                }
            )?;
            writeln!(f, "{events}")?;
        }
        if let Some(cut_offs) = &self.cut_offs {
            writeln!(
                f,
                "split: {cut_offs}; labels within {}\n",
                self.label_window
            )?;
            writeln!(
                f,
                "| split | events | users | sessions | labels | clicked | carted | purchased |"
            )?;
            writeln!(f, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
            for name in ["train", "validation", "test"] {
                let (Some(s), Some(l)) = (self.splits.get(name), self.labels.get(name)) else {
                    continue;
                };
                writeln!(
                    f,
                    "| {name} | {} | {} | {} | {} | {} | {} | {} |",
                    s.events, s.users, s.sessions, l.labels, l.clicked, l.carted, l.purchased
                )?;
            }
            writeln!(f, "\nprofiles (from train): {}", self.profiles)?;
        }
        if let Some(catalog) = &self.catalog {
            writeln!(f, "\n{catalog}")?;
        }
        Ok(())
    }
}
