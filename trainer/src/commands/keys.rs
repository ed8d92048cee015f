//! `edgerec-train keygen` and `sign`: Ed25519 keys for bundles, and signing a bundle with one.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::args::BundleArgs;
use crate::output::write_file;

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Path prefix of the two files.
    #[arg(long, default_value = "keys/edgerec")]
    pub out: PathBuf,
}

/// Writes `<out>.key` (the secret, mode 0600, never overwritten) and `<out>.pub`.
pub fn keygen(args: KeygenArgs) -> Result<()> {
    let key_path = args.out.with_extension("key");
    let pub_path = args.out.with_extension("pub");
    if key_path.exists() {
        anyhow::bail!("{} exists; refusing to overwrite a key", key_path.display());
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let signer = edgerec::BundleSigner::from_bytes(&secret);
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    write_file(&key_path, format!("{hex}\n"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600))?;
    }
    write_file(&pub_path, format!("{}\n", signer.public_key().to_hex()))?;
    println!("secret key: {} (keep it private)", key_path.display());
    println!(
        "public key: {} = {}",
        pub_path.display(),
        signer.public_key().to_hex()
    );
    Ok(())
}

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

pub fn sign(args: SignArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.key)
        .with_context(|| format!("cannot read {}", args.key.display()))?;
    let signer = edgerec::BundleSigner::from_hex(&text)?;
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
