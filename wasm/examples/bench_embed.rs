//! Native sentence-embedding latency (a benchmark, not a test):
//! `cargo run -p edgerec --features text --example bench_embed -- BUNDLE TEXTS.json [N]`
//! loads a `text-encoder` bundle once per compute path and embeds the first N texts (a JSON array
//! of strings) one at a time, after ten warm-up calls. Prints one JSON object per path.

use std::time::Instant;

use edgerec::{Compute, TextEmbedder};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(bundle), Some(texts)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: bench_embed BUNDLE TEXTS.json [N]");
        std::process::exit(2);
    };
    let n: usize = args
        .get(3)
        .map_or(200, |n| n.parse().expect("N is a number"));
    let bytes = std::fs::read(bundle).expect("read the bundle");
    let texts: Vec<String> = serde_json::from_slice(&std::fs::read(texts).expect("read the texts"))
        .expect("a JSON array");
    let texts = &texts[..n.min(texts.len())];
    let mut reference: Option<Vec<Vec<f32>>> = None;
    for (name, compute) in [
        ("dequantized", Compute::Dequantized),
        ("quantized", Compute::Quantized),
    ] {
        let started = Instant::now();
        let embedder = TextEmbedder::from_bundle_bytes(&bytes, None, compute).expect("load");
        let load_ms = started.elapsed().as_secs_f64() * 1e3;
        for t in texts.iter().take(10) {
            embedder.embed_one(t).expect("embed");
        }
        let mut ms = Vec::new();
        let mut rows = Vec::new();
        for t in texts {
            let started = Instant::now();
            rows.push(embedder.embed_one(t).expect("embed"));
            ms.push(started.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(f64::total_cmp);
        let cosine = reference.as_ref().map(|r| {
            r.iter()
                .zip(&rows)
                .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>())
                .sum::<f32>()
                / rows.len() as f32
        });
        reference.get_or_insert(rows);
        println!(
            "{}",
            serde_json::json!({
                "compute": name, "load_ms": load_ms, "p50_ms": ms[ms.len() / 2],
                "p99_ms": ms[(ms.len() - 1) * 99 / 100], "mean_cosine_to_dequantized": cosine,
            })
        );
    }
}
