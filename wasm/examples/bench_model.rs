//! Native transformer latency, for `scripts/bench-model.sh` (a benchmark, not a test).
//!
//! `cargo run -p edgerec --features model --example bench_model -- BUNDLE PREFIXES.tsv [K]`
//! loads a `sasrec` bundle once per compute path (dequantized f32 gemm, QMatMul on the quantized
//! weights), answers every prefix once to warm up, then times each answer (one request at a
//! time, as at the edge) and prints one JSON object per path.

use std::time::Instant;

use edgerec::model::{Compute, ServingModel};
use edgerec::Bundle;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(bundle), Some(prefixes)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: bench_model BUNDLE PREFIXES.tsv [K]");
        std::process::exit(2);
    };
    let k: usize = args
        .get(3)
        .map_or(20, |k| k.parse().expect("K is a number"));
    let bytes = std::fs::read(bundle).expect("read the bundle");
    let text = std::fs::read_to_string(prefixes).expect("read the prefixes");
    let histories: Vec<Vec<&str>> = text
        .lines()
        .map(|line| {
            line.split('\t')
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect()
        })
        .collect();
    let mut out = serde_json::Map::new();
    for (name, compute) in [
        ("dequantized", Compute::Dequantized),
        ("quantized", Compute::Quantized),
    ] {
        let started = Instant::now();
        let parsed = Bundle::parse(&bytes).expect("a valid bundle");
        let model = ServingModel::from_bundle(&parsed, compute).expect("a sasrec bundle");
        let load_ms = started.elapsed().as_secs_f64() * 1e3;
        let mut checksum = 0usize;
        for h in &histories {
            checksum += model.recommend(h, k).expect("answers").items.len();
        }
        let mut micros: Vec<f64> = histories
            .iter()
            .map(|h| {
                let t = Instant::now();
                checksum += model.recommend(h, k).expect("answers").items.len();
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        micros.sort_by(f64::total_cmp);
        out.insert(
            name.to_string(),
            serde_json::json!({
                "requests": histories.len(),
                "load_ms": load_ms,
                "p50_us": percentile(&micros, 0.5),
                "p99_us": percentile(&micros, 0.99),
                "mean_us": micros.iter().sum::<f64>() / micros.len() as f64,
                "checksum": checksum,
            }),
        );
    }
    println!("{}", serde_json::Value::Object(out));
}
