//! Shared pieces of the fuzz targets: the fixed trusted key, the tiny valid bundles the targets
//! start from (and the seed corpus is written from), and checksum repair.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use edgerec::training::model::serving::{export, ExportParts};
use edgerec::training::model::{ItemFeatures, QuantPolicy, SasRec, SasRecConfig};
use edgerec::training::{
    Bundle, BundleSigner, CatalogEntry, CovisitModel, CovisitParams, FLAG_SIGNED, HEADER_LEN,
    SIGNATURE_BLOCK_LEN, SIGNATURE_CONTEXT, SIGNATURE_MAGIC, TRAILER_LEN,
};
use edgerec::{Catalog, TrustedKey};
use sha2::{Digest, Sha256};

pub const CREATED_AT: &str = "2026-01-01T00:00:00Z";

/// The signing key of the signed seeds; its public half is the key the `bundle` target trusts.
pub fn signer() -> BundleSigner {
    BundleSigner::from_bytes(&[7; 32])
}

pub fn trusted_key() -> &'static TrustedKey {
    static KEY: OnceLock<TrustedKey> = OnceLock::new();
    KEY.get_or_init(|| signer().public_key())
}

/// Whether `bytes` carry a valid signature block by [`trusted_key`] over their checksum, checked
/// here independently of the loader.
pub fn signed_by_trusted_key(bytes: &[u8]) -> bool {
    let Some(body_len) = bytes.len().checked_sub(TRAILER_LEN + SIGNATURE_BLOCK_LEN) else {
        return false;
    };
    if body_len < HEADER_LEN {
        return false;
    }
    let flags = u32::from_le_bytes(bytes[12..16].try_into().unwrap());
    if flags != FLAG_SIGNED {
        return false;
    }
    let checksum = &bytes[body_len..body_len + TRAILER_LEN];
    if Sha256::digest(&bytes[..body_len]).as_slice() != checksum {
        return false;
    }
    let block = &bytes[body_len + TRAILER_LEN..];
    if block[..8] != SIGNATURE_MAGIC || hex(&block[8..40]) != trusted_key().to_hex() {
        return false;
    }
    let Ok(key) = VerifyingKey::from_bytes(block[8..40].try_into().unwrap()) else {
        return false;
    };
    let signature = Signature::from_bytes(block[40..104].try_into().unwrap());
    key.verify(&[SIGNATURE_CONTEXT, checksum].concat(), &signature)
        .is_ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// If `bytes` have a header whose lengths fit, a copy with the manifest's `payload_sha256` and
/// the trailer rewritten to match (and the signature flag cleared), so that mutations get past
/// the checksums into the manifest and section checks.
pub fn repair_checksums(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < HEADER_LEN + TRAILER_LEN || bytes[..8] != edgerec::training::MAGIC {
        return None;
    }
    let manifest_len =
        usize::try_from(u64::from_le_bytes(bytes[16..24].try_into().unwrap())).ok()?;
    let payload_len =
        usize::try_from(u64::from_le_bytes(bytes[24..32].try_into().unwrap())).ok()?;
    let manifest_end = HEADER_LEN.checked_add(manifest_len)?;
    let payload_end = manifest_end.checked_add(payload_len)?;
    let checksum_end = payload_end.checked_add(TRAILER_LEN)?;
    if checksum_end > bytes.len() {
        return None;
    }
    let mut out = bytes[..checksum_end].to_vec();
    out[12..16].copy_from_slice(&0u32.to_le_bytes());
    let payload_hash = hex(&Sha256::digest(&out[manifest_end..payload_end]));
    let key = b"\"payload_sha256\":\"";
    if let Some(at) = out[HEADER_LEN..manifest_end]
        .windows(key.len())
        .position(|w| w == key)
    {
        let start = HEADER_LEN + at + key.len();
        if start + 64 <= manifest_end {
            out[start..start + 64].copy_from_slice(payload_hash.as_bytes());
        }
    }
    let checksum = Sha256::digest(&out[..payload_end]);
    out[payload_end..checksum_end].copy_from_slice(&checksum);
    Some(out)
}

/// A five-item co-visitation bundle with a catalog.
pub fn covisit_bundle() -> Vec<u8> {
    let ids: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
    let neighbours = vec![
        vec![(1, 0.9), (2, 0.5)],
        vec![(0, 0.9)],
        vec![(0, 0.5), (4, 0.2)],
        vec![],
        vec![(2, 0.2)],
    ];
    let entry =
        |category: Option<&str>, price: Option<f32>, available: Option<bool>| CatalogEntry {
            category: category.map(String::from),
            price,
            available,
        };
    let catalog = Catalog::from_entries(&[
        entry(Some("x.y"), Some(10.0), Some(true)),
        entry(Some("x.z"), Some(20.0), Some(false)),
        entry(Some("w"), Some(5.0), None),
        entry(None, None, None),
        entry(Some("x"), Some(30.0), None),
    ]);
    CovisitModel::new(ids, &[5, 4, 3, 2, 1], &neighbours, CovisitParams::new(0.8))
        .with_catalog(catalog)
        .bundle_writer(CREATED_AT.into())
        .finish()
}

pub fn sasrec_config() -> SasRecConfig {
    SasRecConfig {
        num_items: 12,
        hidden: 32,
        layers: 1,
        heads: 2,
        max_len: 4,
        ffn: 32,
        dropout: 0.0,
        text_dim: 0,
        num_attributes: 0,
        attributes_per_item: 0,
        temperature: 0.1,
        conversion_hidden: 8,
        input: Default::default(),
    }
}

/// A tiny transformer bundle (weights by `policy`), deterministic: the weights are a fixed
/// pattern rather than candle's (unseeded) random initialisation.
pub fn sasrec_bundle(policy: &str) -> Vec<u8> {
    let cfg = sasrec_config();
    let varmap = VarMap::new();
    SasRec::new(
        &cfg,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let weights: BTreeMap<String, Tensor> = {
        let data = varmap.data().lock().unwrap();
        data.iter()
            .enumerate()
            .map(|(k, (name, var))| {
                let n = var.elem_count();
                let values: Vec<f32> = (0..n)
                    .map(|i| (((i * 7919 + k * 104_729) % 1000) as f32 / 1000.0 - 0.5) * 0.1)
                    .collect();
                let t = Tensor::from_vec(values, var.shape(), &Device::Cpu).unwrap();
                (name.clone(), t)
            })
            .collect()
    };
    let tensors = weights
        .iter()
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect();
    let model = SasRec::new(
        &cfg,
        VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let table = model.item_table(&ItemFeatures::none()).unwrap();
    let ids: Vec<String> = (0..cfg.num_items).map(|i| format!("item{i}")).collect();
    let order: Vec<u32> = (0..cfg.num_items as u32).rev().collect();
    let parts = ExportParts {
        config: &cfg,
        weights: &weights,
        item_table: &table,
        item_ids: &ids,
        popularity_order: &order,
    };
    let policy = QuantPolicy::builtin(policy).unwrap();
    let bytes = export(&parts, &policy, CREATED_AT.into())
        .unwrap()
        .0
        .finish();
    Bundle::parse(&bytes).expect("the seed bundle is valid");
    bytes
}

/// With `EDGEREC_FUZZ_WRITE_SEEDS=<dir>` set, writes the seed corpus under `<dir>/<target>/`
/// (once per process). The fuzz targets call this from their `init` block.
pub fn write_seeds_if_asked() {
    let Some(dir) = std::env::var_os("EDGEREC_FUZZ_WRITE_SEEDS") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let covisit = covisit_bundle();
    let covisit_signed = signer().sign(&covisit).unwrap();
    let sasrec = sasrec_bundle("q8");
    let sasrec_f16 = sasrec_bundle("f16");
    let files: [(&str, &str, &[u8]); 6] = [
        ("bundle", "covisit.bundle", &covisit),
        ("bundle", "covisit-signed.bundle", &covisit_signed),
        ("bundle", "sasrec-q8.bundle", &sasrec),
        ("model_bundle", "sasrec-q8.bundle", &sasrec),
        ("model_bundle", "sasrec-f16.bundle", &sasrec_f16),
        ("model_bundle", "covisit.bundle", &covisit),
    ];
    for (target, name, bytes) in files {
        let d = dir.join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), bytes).unwrap();
    }
}
