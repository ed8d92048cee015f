//! `edgerec-train sign`: sign an existing (unsigned) bundle with a secret key from `keygen`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::args::BundleArgs;
use crate::output::write_file;

#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub bundle: BundleArgs,
    /// The secret key (`keygen`'s `.key` file).
    #[arg(long)]
    pub key: PathBuf,
    /// Output file (default: overwrite --bundle).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: SignArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.key)
        .with_context(|| format!("cannot read {}", args.key.display()))?;
    let signer = edgerec::training::BundleSigner::from_hex(&text)?;
    let signed = signer.sign(&args.bundle.read()?)?;
    let out = args.out.unwrap_or(args.bundle.bundle);
    write_file(&out, &signed)?;
    println!(
        "wrote {} signed by {}",
        out.display(),
        signer.public_key().to_hex()
    );
    Ok(())
}
