//! Writing output files: every command creates missing parent folders and names the path on error.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};

/// Creates (or truncates) `path`, creating its parent folders first.
pub fn create_file(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    File::create(path).with_context(|| format!("cannot create {}", path.display()))
}

/// Writes `contents` to `path`, creating its parent folders first.
pub fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    use std::io::Write;
    create_file(path)?
        .write_all(contents.as_ref())
        .with_context(|| format!("cannot write {}", path.display()))
}
