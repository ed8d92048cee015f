//! `edgerec-train inspect`: verify a bundle and print its manifest and signer.

use anyhow::{Context, Result};
use clap::Args;
use edgerec::Engine;

use super::args::BundleArgs;

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub bundle: BundleArgs,
    /// Require a signature by this public key (a `keygen` `.pub` file or 64 hex digits).
    #[arg(long)]
    pub public_key: Option<String>,
}

pub fn run(args: InspectArgs) -> Result<()> {
    let trusted = args
        .public_key
        .map(|k| {
            let text = std::fs::read_to_string(&k).unwrap_or(k);
            edgerec::TrustedKey::from_hex(&text)
        })
        .transpose()?;
    let bytes = args.bundle.read()?;
    let path = args.bundle.bundle.display();
    let parsed = edgerec::training::Bundle::parse_trusted(&bytes, trusted.as_ref())
        .with_context(|| format!("{path} is not a usable bundle"))?;
    // Load the model too: the manifest must match the sections and weights.
    match parsed.manifest.model_kind.as_str() {
        edgerec::training::model::SASREC_KIND => {
            edgerec::training::model::ServingModel::from_bundle(&parsed, Default::default())
                .map(drop)?
        }
        edgerec::training::model::TEXT_ENCODER_KIND => {
            edgerec::training::model::TextEncoderModel::from_bundle(&parsed, Default::default())
                .map(drop)?
        }
        _ => Engine::from_bundle(&bytes).map(drop)?,
    }
    println!("{}", serde_json::to_string_pretty(&parsed.manifest)?);
    match &parsed.signer {
        Some(key) => println!("signed by {key}"),
        None => println!("unsigned"),
    }
    Ok(())
}
