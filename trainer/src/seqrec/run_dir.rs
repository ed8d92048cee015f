//! A training run folder and what it records of its data.
//!
//! Besides checkpoints and `state.json`, a run folder holds `data.json` (the data set's name,
//! folder and fingerprint, the number of items and a SHA-256 of the item ids) and `items.txt`
//! (the item ids by catalog index, one a line). The weights' rows are catalog indices, so every
//! command that reads a run (`quantize`, `hybrid`, `train --resume` and `--init-from`) checks
//! these against the data folder it is given and refuses another data set, naming both
//! fingerprints, instead of writing a bundle with the wrong ids.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::TrainState;
use crate::fingerprint::sha256_hex;
use crate::ranking::protocol::Benchmark;

/// Where a run keeps its files.
pub struct RunDir(pub PathBuf);

impl RunDir {
    pub fn latest(&self) -> PathBuf {
        self.0.join("model.safetensors")
    }
    pub fn best(&self) -> PathBuf {
        self.0.join("best.safetensors")
    }
    pub fn optimizer(&self) -> PathBuf {
        self.0.join("optimizer.safetensors")
    }
    pub fn state(&self) -> PathBuf {
        self.0.join("state.json")
    }
    /// What the run was trained on ([`RunData`]).
    pub fn data(&self) -> PathBuf {
        self.0.join("data.json")
    }
    /// The item ids by catalog index, one a line.
    pub fn items(&self) -> PathBuf {
        self.0.join("items.txt")
    }

    /// The run's `state.json`.
    pub fn read_state(&self) -> Result<TrainState> {
        let path = self.state();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}: is it a training run?", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a training state", path.display()))
    }

    /// Records `data` as what this run trains on: `data.json` and `items.txt`.
    pub fn write_data(&self, data: &RunData) -> Result<()> {
        crate::output::write_file(&self.items(), items_text(&data.item_ids))?;
        crate::output::write_file(&self.data(), serde_json::to_string_pretty(data)?)
    }

    /// What the run recorded of its data; `None` for a run written before runs recorded it.
    pub fn read_data(&self) -> Result<Option<RunData>> {
        let path = self.data();
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut data: RunData = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a run's data record", path.display()))?;
        let items = self.items();
        let text = std::fs::read_to_string(&items)
            .with_context(|| format!("cannot read {}", items.display()))?;
        data.item_ids = text.lines().map(str::to_string).collect();
        if data.item_ids.len() != data.items || sha256_hex(text.as_bytes()) != data.items_sha256 {
            bail!(
                "{} does not match {} (items or their SHA-256 differ): the run folder was altered",
                items.display(),
                path.display()
            );
        }
        Ok(Some(data))
    }

    /// Refuses a run trained on other data than `data`: another fingerprint or other item ids,
    /// naming both. A run from before runs recorded their data is only checked for its item
    /// count (by [`TrainedRun::load`](super::TrainedRun::load)), with a warning.
    pub fn check_data(&self, data: &RunData) -> Result<()> {
        let Some(trained) = self.read_data()? else {
            tracing::warn!(
                "{} records no data fingerprint or item ids (a run from before they were \
                 recorded): only its item count is checked against {}. Train it again \
                 (edgerec-train train --data {} --out ...) to have it checked.",
                self.0.display(),
                data.path,
                data.path
            );
            return Ok(());
        };
        if trained.fingerprint_sha256 != data.fingerprint_sha256 {
            bail!(
                "{} was trained on other data: {} {} has fingerprint {}, but --data {} has \
                 fingerprint {}; use the data folder the run was trained on, or train a new run",
                self.0.display(),
                trained.name,
                trained.path,
                trained.fingerprint_sha256,
                data.path,
                data.fingerprint_sha256
            );
        }
        if trained.items_sha256 != data.items_sha256 {
            bail!(
                "{} was trained on other item ids ({} items, ids SHA-256 {}) than {} gives now \
                 ({} items, ids SHA-256 {}), though the data fingerprint {} is the same: the \
                 catalog is read differently; train a new run",
                self.0.display(),
                trained.items,
                trained.items_sha256,
                data.path,
                data.items,
                data.items_sha256,
                data.fingerprint_sha256
            );
        }
        Ok(())
    }
}

/// What a run is trained on: `data.json` of its folder (and `items.txt`, the ids).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    /// Data set name, e.g. `diginetica`.
    pub name: String,
    /// The data folder as given to the command (for messages; not compared).
    pub path: String,
    /// The data set's fingerprint ([`crate::record::DataInfo::fingerprint_sha256`]): SHA-256
    /// over the bytes of the files the benchmark reads.
    pub fingerprint_sha256: String,
    /// The number of items (catalog size).
    pub items: usize,
    /// SHA-256 of `items.txt`: the item ids by catalog index, each followed by a newline.
    pub items_sha256: String,
    /// The item ids by catalog index (in `items.txt`, not in `data.json`).
    #[serde(skip)]
    pub item_ids: Vec<String>,
}

impl RunData {
    pub fn of(bench: &Benchmark) -> Self {
        RunData {
            name: bench.data.name.clone(),
            path: bench.data.path.clone(),
            fingerprint_sha256: bench.data.fingerprint_sha256.clone(),
            items: bench.items.len(),
            items_sha256: sha256_hex(items_text(&bench.items).as_bytes()),
            item_ids: bench.items.clone(),
        }
    }
}

fn items_text(ids: &[String]) -> String {
    let mut text = String::with_capacity(ids.iter().map(|id| id.len() + 1).sum());
    for id in ids {
        text.push_str(id);
        text.push('\n');
    }
    text
}
