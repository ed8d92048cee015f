//! `edgerec-train embed`: texts embedded with a text-encoder bundle, as the edge embeds them.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::args::{check_file, OutputArgs};

/// `edgerec-train embed`: texts (one per line) to sentence vectors with a text-encoder bundle,
/// as the edge embeds them; writes `{"text", "vector"}` JSON lines.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// The text-encoder bundle (`edgerec-train text-bundle`).
    #[arg(long)]
    pub text_encoder: PathBuf,
    /// A UTF-8 file with one text per line (empty lines are texts too).
    #[arg(long)]
    pub texts: PathBuf,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Checks the arguments and writes one `{text, vector}` line per text.
pub fn run(args: EmbedArgs) -> Result<()> {
    check_file("--text-encoder", &args.text_encoder)?;
    check_file("--texts", &args.texts)?;
    let encoder = crate::item_text::read_encoder(&args.text_encoder)?;
    let text = std::fs::read_to_string(&args.texts)
        .with_context(|| format!("cannot read {} as UTF-8 text", args.texts.display()))?;
    let texts: Vec<&str> = text.lines().collect();
    // One text per call, as the edge answers `embed` for a single text.
    let vectors = crate::item_text::embed_all(&encoder, &texts, "texts", true)?;
    let mut out = args.out.sink()?;
    for (text, vector) in texts.iter().zip(&vectors) {
        serde_json::to_writer(
            &mut out,
            &serde_json::json!({ "text": text, "vector": vector }),
        )?;
        writeln!(out)?;
    }
    out.flush()?;
    tracing::info!(lines = vectors.len(), "embedded");
    Ok(())
}
