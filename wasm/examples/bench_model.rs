//! Native transformer latency, for `scripts/bench-model.sh` (a benchmark, not a test).
//!
//! `cargo run -p edgerec --features model --example bench_model -- BUNDLE PREFIXES.tsv [K]`
//! loads a `sasrec` bundle once per compute path (dequantized f32 gemm, QMatMul on the quantized
//! weights) and times the engine's `recommend` (int8 retrieval over the whole catalog, the best
//! `RERANK_CANDIDATES` re-scored exactly), one request at a time as at the edge, after one
//! warm-up pass. For reference it also times exact scoring of every item (`ServingModel::recommend`).
//! Prints one JSON object per path.

use std::time::Instant;

use edgerec::Compute;
use edgerec::{Engine, LoadOptions, RecommendRequest};

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
    let requests: Vec<RecommendRequest> = histories
        .iter()
        .map(|h| RecommendRequest::from_history(h.iter().map(|s| s.to_string()).collect(), k))
        .collect();
    for (name, compute) in [
        ("dequantized", Compute::Dequantized),
        ("quantized", Compute::Quantized),
    ] {
        let started = Instant::now();
        let options = LoadOptions {
            compute,
            ..LoadOptions::default()
        };
        let engine = Engine::load(&bytes, &options).expect("a sasrec bundle");
        let load_ms = started.elapsed().as_secs_f64() * 1e3;
        let time = |answer: &dyn Fn(usize) -> usize| {
            let mut checksum: usize = (0..requests.len()).map(answer).sum();
            let mut micros: Vec<f64> = (0..requests.len())
                .map(|i| {
                    let t = Instant::now();
                    checksum += answer(i);
                    t.elapsed().as_secs_f64() * 1e6
                })
                .collect();
            micros.sort_by(f64::total_cmp);
            serde_json::json!({
                "requests": requests.len(),
                "load_ms": load_ms,
                "p50_us": percentile(&micros, 0.5),
                "p99_us": percentile(&micros, 0.99),
                "mean_us": micros.iter().sum::<f64>() / micros.len() as f64,
                "checksum": checksum,
            })
        };
        out.insert(
            name.to_string(),
            time(&|i| engine.recommend(&requests[i]).expect("answers").items.len()),
        );
        if compute == Compute::Dequantized {
            let model = engine.transformer().expect("a transformer");
            out.insert(
                "exact_full_scoring".to_string(),
                time(&|i| {
                    model
                        .recommend(&histories[i], k)
                        .expect("answers")
                        .items
                        .len()
                }),
            );
        }
    }
    println!("{}", serde_json::Value::Object(out));
}
