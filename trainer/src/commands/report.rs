//! `edgerec-train report`: a self-contained HTML report (tables, SVG plots) from run records.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::args::check_dir;
use crate::report::{html_report, read_records};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Folder of run records (*.json).
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Where to write the HTML report.
    #[arg(long, default_value = "build/report.html")]
    pub out: PathBuf,
}

/// Reads the records, writes the report and says how many records it covers.
pub fn run(args: ReportArgs) -> Result<()> {
    check_dir("--results", &args.results)?;
    let records = read_records(&args.results)?;
    crate::output::write_file(&args.out, html_report(&records))?;
    println!("wrote {} ({} runs)", args.out.display(), records.len());
    Ok(())
}
