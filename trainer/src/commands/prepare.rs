//! `edgerec-train prepare`: a data file read through a mapping, deduplicated, sessionised, split
//! by time, labelled, with user profiles; the reject report and a summary printed and saved.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use super::args::ExportArgs;
use crate::prepare::{prepare, LabelWindow, PrepareConfig, Scaling, SplitSpec};

#[derive(Debug, Args)]
pub struct PrepareArgs {
    #[command(flatten)]
    pub export: ExportArgs,
    /// Output folder for the summary.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Fail on the first rejected row (with file:line) instead of counting rejects by reason.
    #[arg(long)]
    pub strict: bool,
    /// Inactivity that ends a session (e.g. 30m, 1h).
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub session_gap: Duration,
    /// Ignore the source's session ids and split every user's events by the session gap.
    #[arg(long)]
    pub resplit_sessions: bool,
    /// Time-based split: train/validation/test percentages of events in time order (80/10/10), or
    /// two RFC 3339 cut-offs `VALIDATION_FROM,TEST_FROM`.
    #[arg(long, default_value = "80/10/10")]
    pub split: SplitSpec,
    /// Count clicks, carts and purchases up to this long after an item is first seen in a session
    /// (e.g. 24h), across the user's sessions; by default only within the session.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub horizon: Option<Duration>,
    /// Scaling of numeric features, fitted on the training split.
    #[arg(long, value_enum, default_value_t = Scaling::default())]
    pub scaling: Scaling,
}

/// Runs the preparation and prints the reject reports and the summary.
pub fn run(args: PrepareArgs) -> Result<()> {
    args.export.check()?;
    let config = PrepareConfig {
        mapping: args.export.mapping,
        input: args.export.input,
        out: args.out,
        strict: args.strict,
        session_gap_ms: args.session_gap.as_millis() as i64,
        resplit_sessions: args.resplit_sessions,
        split: args.split,
        label_window: args.horizon.map_or(LabelWindow::Session, |h| {
            LabelWindow::Horizon(h.as_millis() as i64)
        }),
        scaling: args.scaling,
    };
    let summary = prepare(&config)?;
    println!("{summary}");
    println!(
        "wrote {} in {}",
        summary.files.join(", "),
        config.out.display()
    );
    Ok(())
}
