//! Readers of logged decisions. Every error names the file, the line and the column or field.
//!
//! **Open Bandit CSV** (`obp` 0.5.7's `obd/{random,bts}/{campaign}/{campaign}.csv`): a header,
//! then one impression per line: an unnamed row-index column, `timestamp,item_id,position,click,
//! propensity_score,user_feature_0..3,user-item_affinity_<item>...`. Read: `item_id` as the
//! action, `position` (1-based in the file) as the 0-based position, `click` as the reward,
//! `propensity_score` as the propensity, and the `user-item_affinity_<item>` columns as the
//! context (index = item id). The hashed `user_feature_*` columns and the timestamp are not read.
//!
//! **Logged-decision JSON lines** (edgerec's own decision logs): one object per line,
//! `{"context": [f64...], "action": 3, "position": 0, "reward": 1.0, "propensity": 0.05}`;
//! `action` and `position` are 0-based indices (`position` defaults to 0, `context` to empty),
//! `reward` any number (click 0/1, revenue), `propensity` the logging policy's probability of that
//! action at that position given the context, in (0, 1]. Blank lines are skipped.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

use super::{LoggedDecision, LoggedTable};

/// Fails unless `p` is a probability the estimators can divide by.
fn check_propensity(p: f64) -> std::result::Result<(), String> {
    if p > 0.0 && p <= 1.0 {
        Ok(())
    } else {
        Err(format!("propensity {p} is not in (0, 1]"))
    }
}

/// Reads an Open Bandit CSV file; `actions` is the catalogue size when known (e.g. the rows of
/// `item_context.csv`), else taken from the data.
pub fn read_open_bandit_csv(path: &Path, actions: Option<usize>) -> Result<LoggedTable> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    read_open_bandit(file, &path.display().to_string(), actions)
}

/// [`read_open_bandit_csv`] over any reader; `name` is the file named in errors.
pub fn read_open_bandit(
    input: impl std::io::Read,
    name: &str,
    actions: Option<usize>,
) -> Result<LoggedTable> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let header = reader
        .headers()
        .with_context(|| format!("{name}: line 1: cannot read the header"))?
        .clone();
    let column = |wanted: &str| -> Result<usize> {
        header
            .iter()
            .position(|h| h == wanted)
            .ok_or_else(|| anyhow!("{name}: line 1: missing column `{wanted}` in the header"))
    };
    let (item, position, click, propensity) = (
        column("item_id")?,
        column("position")?,
        column("click")?,
        column("propensity_score")?,
    );
    let affinities: Vec<(usize, usize)> = header
        .iter()
        .enumerate()
        .filter_map(|(col, h)| {
            let item = h.strip_prefix("user-item_affinity_")?.parse().ok()?;
            Some((col, item))
        })
        .collect();
    let width = affinities.iter().map(|&(_, i)| i + 1).max().unwrap_or(0);
    let mut decisions = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("{name}: cannot read a CSV record"))?;
        let line = record.position().map_or(0, |p| p.line());
        let number = |col: usize| -> Result<f64> {
            let text = record.get(col).unwrap_or("");
            text.trim().parse::<f64>().map_err(|_| {
                anyhow!(
                    "{name}:{line}: column {} `{}`: bad number {text:?}",
                    col + 1,
                    &header[col]
                )
            })
        };
        let index = |col: usize| -> Result<usize> {
            let v = number(col)?;
            if v < 0.0 || v.fract() != 0.0 {
                bail!(
                    "{name}:{line}: column {} `{}`: {v} is not a non-negative integer",
                    col + 1,
                    &header[col]
                );
            }
            Ok(v as usize)
        };
        let pos = index(position)?;
        if pos == 0 {
            bail!(
                "{name}:{line}: column {} `position`: positions are 1-based, got 0",
                position + 1
            );
        }
        let p = number(propensity)?;
        check_propensity(p).map_err(|e| {
            anyhow!(
                "{name}:{line}: column {} `propensity_score`: {e}",
                propensity + 1
            )
        })?;
        let mut context = vec![0.0; width];
        for &(col, item) in &affinities {
            context[item] = number(col)?;
        }
        decisions.push(LoggedDecision {
            context,
            action: index(item)?,
            position: pos - 1,
            reward: number(click)?,
            propensity: p,
        });
    }
    if decisions.is_empty() {
        bail!("{name}: no decisions");
    }
    Ok(LoggedTable::new(
        decisions,
        actions.unwrap_or(width).max(width),
        0,
    ))
}

/// The number of items in an Open Bandit `item_context.csv` (its data lines).
pub fn read_item_count(path: &Path) -> Result<usize> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count())
}

/// Reads logged-decision JSON lines (format in the module doc).
pub fn read_decisions_jsonl(path: &Path) -> Result<LoggedTable> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_decisions_jsonl(&text, &path.display().to_string())
}

/// [`read_decisions_jsonl`] over text; `name` is the file named in errors.
pub fn parse_decisions_jsonl(text: &str, name: &str) -> Result<LoggedTable> {
    let mut decisions = Vec::new();
    for (k, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let d: LoggedDecision = serde_json::from_str(line)
            .map_err(|e| anyhow!("{name}:{}: column {}: {e}", k + 1, e.column()))?;
        check_propensity(d.propensity)
            .map_err(|e| anyhow!("{name}:{}: field `propensity`: {e}", k + 1))?;
        if !d.reward.is_finite() || d.context.iter().any(|x| !x.is_finite()) {
            bail!(
                "{name}:{}: reward and context must be finite numbers",
                k + 1
            );
        }
        decisions.push(d);
    }
    if decisions.is_empty() {
        bail!("{name}: no decisions");
    }
    Ok(LoggedTable::new(decisions, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = ",timestamp,item_id,position,click,propensity_score,user_feature_0,user-item_affinity_0,user-item_affinity_1\n";

    fn read(body: &str) -> Result<LoggedTable> {
        read_open_bandit(format!("{HEADER}{body}").as_bytes(), "obd.csv", Some(3))
    }

    #[test]
    fn reads_open_bandit_rows() {
        let t = read("0,2019-11-24,1,3,1,0.5,abc,0.0,2.0\n1,2019-11-24,0,1,0,0.25,abc,1.0,0.0\n")
            .unwrap();
        assert_eq!((t.actions, t.positions, t.len()), (3, 3, 2));
        assert_eq!(
            t.decisions[0],
            LoggedDecision {
                context: vec![0.0, 2.0],
                action: 1,
                position: 2,
                reward: 1.0,
                propensity: 0.5
            }
        );
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = read("0,t,1,3,1,0.5,abc,0.0,2.0\n1,t,0,1,x,0.25,abc,1.0,0.0\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("obd.csv:3: column 5 `click`: bad number \"x\""),
            "{e}"
        );
        let e = read("0,t,1,3,1,0,abc,0.0,2.0\n").unwrap_err().to_string();
        assert!(e.contains("obd.csv:2: column 6 `propensity_score`"), "{e}");
        assert!(e.contains("not in (0, 1]"), "{e}");
        let e = read("0,t,1,3,1,1.5,abc,0.0,2.0\n").unwrap_err().to_string();
        assert!(
            e.contains("obd.csv:2: column 6 `propensity_score`: propensity 1.5"),
            "{e}"
        );
        let e = read_open_bandit(
            ",timestamp,item_id,position,click\n0,t,1,1,0\n".as_bytes(),
            "obd.csv",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("obd.csv: line 1: missing column `propensity_score`"),
            "{e}"
        );
    }

    #[test]
    fn reads_jsonl_and_names_bad_lines() {
        let ok = "{\"context\":[1.0],\"action\":2,\"position\":1,\"reward\":1,\"propensity\":0.2}\n\n{\"action\":0,\"reward\":0,\"propensity\":1}\n";
        let t = parse_decisions_jsonl(ok, "log.jsonl").unwrap();
        assert_eq!((t.actions, t.positions, t.len()), (3, 2, 2));
        let e = parse_decisions_jsonl("{\"action\":0,\"reward\":0,\"propensity\":0}", "log.jsonl")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("log.jsonl:1: field `propensity`: propensity 0 is not in (0, 1]"),
            "{e}"
        );
        let e = parse_decisions_jsonl(
            "{\"action\":0,\"reward\":\"x\",\"propensity\":1}",
            "log.jsonl",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("log.jsonl:1: column "), "{e}");
        let e = parse_decisions_jsonl("{\"reward\":0,\"propensity\":1}", "log.jsonl")
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `action`"), "{e}");
    }
}
