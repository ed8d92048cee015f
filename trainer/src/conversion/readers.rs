//! Purchase-prediction inputs, read through the data sets' mapping files (`mappings/*.toml`),
//! the same readers every other part of the trainer uses.

use std::path::Path;

use anyhow::{Context, Result};

use crate::events::Event;
use crate::ingest::{read_events, Mapping};

/// Built in, so the CLI works from any directory; the files in `mappings/` are the documentation.
const TAOBAO_MAPPING: &str = include_str!("../../../mappings/taobao.toml");
const REES46_MAPPING: &str = include_str!("../../../mappings/rees46.toml");

pub fn read_taobao_csv(path: &Path) -> Result<Vec<Event>> {
    read_strict(TAOBAO_MAPPING, path)
}

pub fn read_rees46_csv(path: &Path) -> Result<Vec<Event>> {
    read_strict(REES46_MAPPING, path)
}

/// Strict: features and labels are computed over every event of a window, so one dropped row
/// would bias them; the first bad row is an error naming file, line, field and value.
fn read_strict(mapping: &str, path: &Path) -> Result<Vec<Event>> {
    let mapping = Mapping::from_toml(mapping).context("built-in mapping")?;
    let (events, _report) = read_events(&mapping, path, true)?;
    Ok(events)
}
