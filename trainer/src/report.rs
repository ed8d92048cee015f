//! The self-contained HTML report over run records (`results/*.json`): per data set a table
//! of every model's metrics with 95% intervals, bar charts with interval whiskers, the curves
//! of all runs overlaid (e.g. P@K for K = 1..50), and each run's split, protocol,
//! configuration, command and code version. No scripts, no external files: inline CSS and SVG.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::record::RunRecord;
use crate::svg::{self, escape, Bar, Line};

/// Every `*.json` run record in `dir`, sorted by file name, with its file name.
pub fn read_records(dir: &Path) -> Result<Vec<(PathBuf, RunRecord)>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
    paths.sort();
    if paths.is_empty() {
        bail!("{} holds no *.json run records", dir.display());
    }
    paths
        .into_iter()
        .map(|p| RunRecord::read(&p).map(|r| (p, r)))
        .collect()
}

/// Metrics worth a bar chart: per family (`P`, `MRR`, ...) the largest cut-off, plus every
/// metric without a cut-off (`AUC`, `LogLoss`, ...).
fn headline_metrics(names: &BTreeSet<String>) -> Vec<String> {
    let mut best: BTreeMap<&str, (usize, &String)> = BTreeMap::new();
    for name in names {
        match name.split_once('@') {
            Some((family, k)) => {
                let k: usize = k.parse().unwrap_or(0);
                let entry = best.entry(family).or_insert((k, name));
                if k > entry.0 {
                    *entry = (k, name);
                }
            }
            None => {
                best.insert(name, (0, name));
            }
        }
    }
    best.into_values().map(|(_, n)| n.clone()).collect()
}

/// Table order: by family, then by cut-off as a number (`P@5` before `P@10`).
fn metric_order(name: &str) -> (&str, usize) {
    match name.split_once('@') {
        Some((family, k)) => (family, k.parse().unwrap_or(usize::MAX)),
        None => (name, 0),
    }
}

pub fn html_report(records: &[(PathBuf, RunRecord)]) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>edgerec results</title>\
         <style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
         table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}\
         td:first-child,th:first-child{text-align:left}.ci{color:#666;font-size:85%}\
         pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:85%}svg{margin:4px}\
         dt{font-weight:bold}dd{margin:0 0 6px 1em}</style></head><body>\n<h1>edgerec results</h1>\n",
    );
    let _ = writeln!(
        html,
        "<p>{} run records. Intervals are 95% bootstrap intervals over test cases. \
         Every figure names its data, split, model, configuration, command and code version below.</p>",
        records.len()
    );
    let data_sets: BTreeSet<&str> = records.iter().map(|(_, r)| r.data.name.as_str()).collect();
    for data in data_sets {
        let runs: Vec<&(PathBuf, RunRecord)> = records
            .iter()
            .filter(|(_, r)| r.data.name == data)
            .collect();
        let first = &runs[0].1;
        let _ = writeln!(html, "<h2>{}</h2>", escape(data));
        let sizes: Vec<String> = first
            .data
            .sizes
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(
            html,
            "<dl><dt>data</dt><dd><code>{}</code> (SHA-256 {}); {}</dd><dt>split</dt><dd>{}</dd>\
             <dt>protocol</dt><dd>{}</dd></dl>",
            escape(&first.data.path),
            escape(&first.data.fingerprint_sha256),
            escape(&sizes.join(", ")),
            escape(&first.split),
            escape(&first.protocol)
        );
        let names: BTreeSet<String> = runs
            .iter()
            .flat_map(|(_, r)| r.metrics.keys().cloned())
            .collect();
        metrics_table(&mut html, &runs, &names);
        for metric in headline_metrics(&names) {
            let bars: Vec<Bar> = runs
                .iter()
                .filter_map(|(_, r)| {
                    r.metrics.get(&metric).map(|&value| Bar {
                        label: r.model.clone(),
                        value,
                        interval: r.intervals.get(&metric).copied(),
                    })
                })
                .collect();
            html.push_str(&svg::bar_chart(
                &format!("{data}: {metric}"),
                &metric,
                &bars,
            ));
        }
        curves(&mut html, data, &runs);
        html.push_str("<h3>Runs</h3>\n");
        for (path, r) in &runs {
            let _ = writeln!(
                html,
                "<details><summary><b>{}</b> ({})</summary><dl><dt>command</dt><dd><code>{}</code></dd>\
                 <dt>code version</dt><dd>{}</dd><dt>created</dt><dd>{}</dd><dt>training time</dt><dd>{:.1} s</dd>{}\
                 <dt>configuration</dt><dd><pre>{}</pre></dd></dl></details>",
                escape(&r.model),
                escape(&path.display().to_string()),
                escape(&r.command),
                escape(&r.code_version),
                escape(&r.created_at),
                r.train_seconds,
                r.bundle_bytes
                    .map(|b| format!("<dt>bundle</dt><dd>{b} bytes</dd>"))
                    .unwrap_or_default(),
                escape(&serde_json::to_string_pretty(&r.config).unwrap_or_default())
            );
        }
    }
    html.push_str("</body></html>\n");
    html
}

fn metrics_table(html: &mut String, runs: &[&(PathBuf, RunRecord)], names: &BTreeSet<String>) {
    let mut names: Vec<&String> = names.iter().collect();
    names.sort_by_key(|n| metric_order(n));
    html.push_str("<table><tr><th>model</th>");
    for name in &names {
        let _ = write!(html, "<th>{}</th>", escape(name));
    }
    html.push_str("</tr>\n");
    for (_, r) in runs {
        let _ = write!(html, "<tr><td>{}</td>", escape(&r.model));
        for &name in &names {
            // One precision per column: 2 decimals for percent-like columns, 4 for fractions.
            let d = if runs
                .iter()
                .any(|(_, r)| r.metrics.get(name).is_some_and(|v| v.abs() >= 1.0))
            {
                2
            } else {
                4
            };
            let cell = match (r.metrics.get(name), r.intervals.get(name)) {
                (Some(&v), Some(&(lo, hi))) => {
                    format!("{v:.d$}<br><span class=\"ci\">{lo:.d$}–{hi:.d$}</span>")
                }
                (Some(&v), None) => format!("{v:.d$}"),
                _ => String::new(),
            };
            let _ = write!(html, "<td>{cell}</td>");
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
}

/// One chart per curve name; a line per run (per run and series when a run has several).
fn curves(html: &mut String, data: &str, runs: &[&(PathBuf, RunRecord)]) {
    let names: BTreeSet<&str> = runs
        .iter()
        .flat_map(|(_, r)| r.curves.iter().map(|c| c.name.as_str()))
        .collect();
    for name in names {
        let mut labels = Vec::new();
        let mut axes = ("", "");
        let mut points = Vec::new();
        for (_, r) in runs {
            for curve in r.curves.iter().filter(|c| c.name == name) {
                axes = (&curve.x_label, &curve.y_label);
                for series in &curve.series {
                    labels.push(if curve.series.len() == 1 {
                        r.model.clone()
                    } else {
                        format!("{}: {}", r.model, series.name)
                    });
                    points.push(&series.points);
                }
            }
        }
        let lines: Vec<Line> = labels
            .iter()
            .zip(&points)
            .map(|(name, points)| Line { name, points })
            .collect();
        html.push_str(&svg::line_chart(
            &format!("{data}: {name}"),
            axes.0,
            axes.1,
            &lines,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headline_metrics_take_the_largest_cutoff() {
        let names: BTreeSet<String> = ["P@5", "P@20", "MRR@10", "MRR@20", "AUC", "P@10"]
            .map(String::from)
            .into();
        assert_eq!(headline_metrics(&names), ["AUC", "MRR@20", "P@20"]);
        let mut sorted: Vec<&String> = names.iter().collect();
        sorted.sort_by_key(|n| metric_order(n));
        assert_eq!(sorted, ["AUC", "MRR@10", "MRR@20", "P@5", "P@10", "P@20"]);
    }
}
