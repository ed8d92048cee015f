//! edgerec's trainer as a library: the CLI (`edgerec-train`) is a thin layer over it, its
//! subcommands in [`commands`] (the only module that uses clap or prints).

pub mod commands;
pub mod conversion;
pub mod covisit;
pub mod data;
pub mod eval;
pub mod events;
pub mod fingerprint;
pub mod ingest;
pub mod item_text;
pub mod ope;
pub mod output;
pub mod prepare;
pub mod progress;
pub mod ranking;
pub mod record;
pub mod report;
pub mod seqrec;
pub mod stats;
pub mod svg;
pub mod text;

pub use covisit::{covisit_bundle, train_covisit, CovisitConfig};
pub use data::{SessionData, TestCase};
pub use eval::{evaluate, RankingMetrics};
