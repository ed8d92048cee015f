//! Native recommend latency, for `scripts/bench-recommend.sh` (a benchmark, not a test).
//!
//! `cargo run -p edgerec --example bench_recommend -- BUNDLE PREFIXES.tsv [K]` reads a bundle and
//! test lines (`prefix<TAB>next`), answers every prefix once to warm up, then times each answer
//! and prints one JSON object: load time, p50/p90/p99/mean latency in microseconds.

use std::time::Instant;

use edgerec::{Engine, RecommendRequest};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (bundle, prefixes) = match (args.get(1), args.get(2)) {
        (Some(b), Some(p)) => (b, p),
        _ => {
            eprintln!("usage: bench_recommend BUNDLE PREFIXES.tsv [K]");
            std::process::exit(2);
        }
    };
    let k: usize = args
        .get(3)
        .map_or(20, |k| k.parse().expect("K is a number"));
    let bytes = std::fs::read(bundle).expect("read the bundle");
    let started = Instant::now();
    let engine = Engine::from_bundle(&bytes).expect("a valid bundle");
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let text = std::fs::read_to_string(prefixes).expect("read the prefixes");
    let requests: Vec<RecommendRequest> = text
        .lines()
        .map(|line| {
            let prefix = line.split('\t').next().unwrap_or_default();
            let history = prefix.split_whitespace().map(str::to_string).collect();
            RecommendRequest::from_history(history, k)
        })
        .collect();
    let mut checksum = 0usize;
    for r in &requests {
        checksum += engine.recommend(r).expect("answers").items.len();
    }
    let mut micros: Vec<f64> = requests
        .iter()
        .map(|r| {
            let t = Instant::now();
            let answer = engine.recommend(r).expect("answers");
            let elapsed = t.elapsed().as_secs_f64() * 1e6;
            checksum += answer.items.len();
            elapsed
        })
        .collect();
    micros.sort_by(f64::total_cmp);
    let mean = micros.iter().sum::<f64>() / micros.len() as f64;
    println!(
        "{}",
        serde_json::json!({
            "requests": requests.len(),
            "k": k,
            "items_returned": checksum,
            "load_ms": load_ms,
            "p50_us": percentile(&micros, 0.5),
            "p90_us": percentile(&micros, 0.9),
            "p99_us": percentile(&micros, 0.99),
            "mean_us": mean,
        })
    );
}
