//! `edgerec-train keygen`: an Ed25519 key pair for signing bundles (`sign`, `quantize --sign-key`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::output::write_file;

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Path prefix of the two files.
    #[arg(long, default_value = "keys/edgerec")]
    pub out: PathBuf,
}

/// Writes `<out>.key` (the secret, mode 0600, never overwritten) and `<out>.pub`.
pub fn run(args: KeygenArgs) -> Result<()> {
    let key_path = args.out.with_extension("key");
    let pub_path = args.out.with_extension("pub");
    if key_path.exists() {
        anyhow::bail!("{} exists; refusing to overwrite a key", key_path.display());
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let signer = edgerec::training::BundleSigner::from_bytes(&secret);
    let hex = crate::fingerprint::hex(&secret);
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
