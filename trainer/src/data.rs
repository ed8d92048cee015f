//! Reading session data in the DIGINETICA (SR-GNN split) layout:
//! `train_sessions.txt` (one session per line, item ids separated by spaces) and
//! `test_sessions.tsv` (`prefix item ids<TAB>next item id`).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// One evaluation case: the session so far and the item that came next.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    pub prefix: Vec<String>,
    pub next: String,
}

#[derive(Debug, Clone)]
pub struct SessionData {
    pub dir: PathBuf,
    pub train: Vec<Vec<String>>,
    pub test: Vec<TestCase>,
    /// SHA-256 over the files read, so a bundle records exactly what it was trained on.
    pub fingerprint: String,
}

impl SessionData {
    pub fn load(dir: &Path) -> Result<Self> {
        let train_path = dir.join("train_sessions.txt");
        let test_path = dir.join("test_sessions.tsv");
        let train_text = read(&train_path)?;
        let test_text = read(&test_path)?;
        let train = parse_train(&train_text, &train_path)?;
        let test = parse_test(&test_text, &test_path)?;
        let fingerprint =
            crate::fingerprint::sha256_hex_of(&[train_text.as_bytes(), test_text.as_bytes()]);
        tracing::info!(
            train_sessions = train.len(),
            test_cases = test.len(),
            "loaded {}",
            dir.display()
        );
        Ok(SessionData {
            dir: dir.to_path_buf(),
            train,
            test,
            fingerprint,
        })
    }
}

fn read(path: &Path) -> Result<String> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        anyhow::anyhow!("{}:{line}: invalid UTF-8", path.display())
    })
}

fn items(text: &str) -> Vec<String> {
    text.split_ascii_whitespace().map(str::to_string).collect()
}

/// Every training line must hold at least one item; an empty line is an error, not a skipped row.
pub fn parse_train(text: &str, path: &Path) -> Result<Vec<Vec<String>>> {
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let session = items(line);
            if session.is_empty() {
                bail!("{}:{}: empty session", path.display(), i + 1);
            }
            Ok(session)
        })
        .collect()
}

pub fn parse_test(text: &str, path: &Path) -> Result<Vec<TestCase>> {
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let at = || format!("{}:{}", path.display(), i + 1);
            let (prefix, next) = line.split_once('\t').with_context(|| {
                format!("{}: expected `prefix<TAB>next item`, found no tab", at())
            })?;
            let prefix = items(prefix);
            let next = next.trim();
            if prefix.is_empty() || next.is_empty() || next.contains(char::is_whitespace) {
                bail!(
                    "{}: expected a non-empty prefix and exactly one next item",
                    at()
                );
            }
            Ok(TestCase {
                prefix,
                next: next.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_bad_lines() {
        let p = Path::new("t.tsv");
        let cases = parse_test("1 2\t3\n4\t5\n", p).unwrap();
        assert_eq!(
            cases[0],
            TestCase {
                prefix: vec!["1".into(), "2".into()],
                next: "3".into()
            }
        );
        let err = parse_test("1 2\t3\n4 5\n", p).unwrap_err().to_string();
        assert!(err.contains("t.tsv:2") && err.contains("no tab"), "{err}");
        let err = parse_test("1\t3 4\n", p).unwrap_err().to_string();
        assert!(err.contains("exactly one next item"), "{err}");
        let err = parse_train("1 2\n\n3\n", Path::new("s.txt"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("s.txt:2: empty session"), "{err}");
    }
}
