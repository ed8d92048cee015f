//! The `edgerec-train` subcommands: one file per subcommand, each with a
//! `#[derive(clap::Args)] pub struct XArgs` and `pub fn run(args: XArgs) -> anyhow::Result<()>`;
//! `main.rs` only parses, sets up logging and dispatches.
//!
//! This is the only module of the library that uses `clap` or prints to standard output: the
//! other modules take plain values and return values (records, reports, summaries), and the
//! commands here check their arguments before any work starts, call them and print what they
//! return. Flag groups that several subcommands share are the `#[command(flatten)]` structs of
//! [`args`]; the command-line names of library enums are in [`values`]. Commands whose results
//! the integration tests inspect also expose the function `run` wraps (`execute`), which
//! returns them.

pub mod args;
pub mod baselines;
pub mod cold_start;
pub mod covisit;
pub mod embed;
pub mod evaluate;
pub mod hybrid;
pub mod inspect;
pub mod keygen;
pub mod ope;
pub mod predict;
pub mod prepare;
pub mod purchase;
pub mod quantize;
pub mod recommend;
pub mod report;
pub mod sign;
pub mod strategy;
pub mod text;
pub mod text_bundle;
pub mod train;
pub mod values;
