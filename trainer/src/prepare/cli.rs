//! The `prepare` subcommand's arguments, kept next to what they drive so `main.rs` only dispatches.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use super::{prepare, LabelWindow, PrepareConfig, Scaling, SplitSpec};

#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// Mapping file that says how the input's columns become events and catalog entries (see mappings/).
    #[arg(long)]
    pub mapping: PathBuf,
    /// The data file to read (CSV, JSON Lines, Parquet or a sessions text file, as the mapping says).
    #[arg(long)]
    pub input: PathBuf,
    /// Output folder for summary.json.
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

impl PrepareArgs {
    /// Runs the preparation and prints the reject reports and the summary.
    pub fn run(self) -> Result<()> {
        let config = PrepareConfig {
            mapping: self.mapping,
            input: self.input,
            out: self.out,
            strict: self.strict,
            session_gap_ms: self.session_gap.as_millis() as i64,
            resplit_sessions: self.resplit_sessions,
            split: self.split,
            label_window: self.horizon.map_or(LabelWindow::Session, |h| {
                LabelWindow::Horizon(h.as_millis() as i64)
            }),
            scaling: self.scaling,
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
}
