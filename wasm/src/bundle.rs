//! The bundle: one versioned, checksummed, optionally signed file holding everything the edge needs.
//!
//! Layout, format version 2 (all integers little-endian):
//!
//! | offset          | size | content                                                        |
//! |-----------------|------|----------------------------------------------------------------|
//! | 0               | 8    | magic `EDGEREC\0`                                              |
//! | 8               | 4    | format version (u32), currently 2                              |
//! | 12              | 4    | flags (u32): bit 0 set = a signature block follows; others 0   |
//! | 16              | 8    | manifest length `M` (u64)                                      |
//! | 24              | 8    | payload length `P` (u64)                                       |
//! | 32              | M    | manifest, UTF-8 JSON ([`Manifest`])                            |
//! | 32 + M          | P    | payload: the sections, at the offsets the manifest lists       |
//! | 32 + M + P      | 32   | SHA-256 of bytes `0 .. 32 + M + P`                             |
//! | 64 + M + P      | 104  | only if flag bit 0: signature block (below)                    |
//!
//! Signature block: `EDGESIG\0`, the signer's 32-byte Ed25519 public key, then the 64-byte
//! Ed25519 signature of [`SIGNATURE_CONTEXT`] followed by the 32 checksum bytes. The flag sits
//! in the checksummed header, so cutting the signature off is detected as truncation.
//!
//! The manifest also records the SHA-256 of the payload alone, so a payload can be identified
//! (and cached) independently of its manifest.

use std::collections::BTreeMap;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::BundleError;

pub const MAGIC: [u8; 8] = *b"EDGEREC\0";
pub const FORMAT_VERSION: u32 = 2;
pub const HEADER_LEN: usize = 32;
pub const TRAILER_LEN: usize = 32;
/// Header flag: a signature block follows the checksum.
pub const FLAG_SIGNED: u32 = 1;
pub const SIGNATURE_MAGIC: [u8; 8] = *b"EDGESIG\0";
pub const SIGNATURE_BLOCK_LEN: usize = 8 + 32 + 64;
/// Domain separation: what is signed is this string followed by the bundle's SHA-256.
pub const SIGNATURE_CONTEXT: &[u8] = b"edgerec bundle signature v1\0";

/// Where one named section lies inside the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionEntry {
    pub name: String,
    pub offset: u64,
    pub length: u64,
    /// How the bytes are encoded (`u32le`, `f32le`, `i8rows`, `gguf`, `json`, `utf8`), so another
    /// implementation can read a section without knowing the model.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub encoding: String,
}

/// The bundle's JSON manifest: what the model is and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// Which model the sections hold: `covisit` or `sasrec`.
    pub model_kind: String,
    /// Model parameters the engine needs at serving time (and those used in training, for the record).
    pub model_params: serde_json::Value,
    /// Sizes the loader checks against the sections, e.g. `items`, `neighbours`.
    pub counts: BTreeMap<String, u64>,
    /// Evaluation results at export time, keyed by metric name (`P@20`, `MRR@20`).
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// What the model was trained on (name, path, fingerprint), for lineage.
    #[serde(default)]
    pub training_data: serde_json::Value,
    /// Hex SHA-256 of the payload.
    pub payload_sha256: String,
    pub sections: Vec<SectionEntry>,
}

/// The kinds of model a bundle can hold (`manifest.model_kind`), each with its own typed
/// `model_params` (`CovisitParams`, the transformer's and the text encoder's params).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// Item-to-item co-visitation lists with a popularity fallback.
    Covisit,
    /// The transformer (sequence and conversion model), optionally with a session-kNN index.
    SasRec,
    /// A sentence encoder (BERT) with its tokenizer.
    TextEncoder,
}

impl ModelKind {
    pub const ALL: [ModelKind; 3] = [
        ModelKind::Covisit,
        ModelKind::SasRec,
        ModelKind::TextEncoder,
    ];

    /// The name in the manifest.
    pub const fn as_str(self) -> &'static str {
        match self {
            ModelKind::Covisit => "covisit",
            ModelKind::SasRec => "sasrec",
            ModelKind::TextEncoder => "text-encoder",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Manifest {
    /// The kind of model the bundle holds; an unknown name is `unsupported_model`.
    pub fn kind(&self) -> Result<ModelKind, BundleError> {
        ModelKind::from_name(&self.model_kind).ok_or_else(|| BundleError::UnsupportedModel {
            found: self.model_kind.clone(),
        })
    }
}

/// A public key the edge trusts: a bundle must be signed by it, or it is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey(VerifyingKey);

impl TrustedKey {
    /// From the 64 hex digits `edgerec-train keygen` writes to `<name>.pub`.
    pub fn from_hex(hex_key: &str) -> Result<Self, BundleError> {
        let bytes = unhex::<32>(hex_key.trim()).ok_or_else(|| BundleError::InvalidKey {
            problem: format!(
                "expected 64 hex digits (an Ed25519 public key), found {} characters",
                hex_key.trim().len()
            ),
        })?;
        VerifyingKey::from_bytes(&bytes)
            .map(TrustedKey)
            .map_err(|e| BundleError::InvalidKey {
                problem: format!("not an Ed25519 public key: {e}"),
            })
    }

    pub fn to_hex(&self) -> String {
        hex(self.0.as_bytes())
    }
}

/// A secret signing key (32 bytes, as written by `edgerec-train keygen` to `<name>.key`).
pub struct BundleSigner(SigningKey);

impl BundleSigner {
    pub fn from_bytes(secret: &[u8; 32]) -> Self {
        BundleSigner(SigningKey::from_bytes(secret))
    }

    pub fn from_hex(hex_key: &str) -> Result<Self, BundleError> {
        unhex::<32>(hex_key.trim())
            .map(|b| Self::from_bytes(&b))
            .ok_or_else(|| BundleError::InvalidKey {
                problem: "expected 64 hex digits (an Ed25519 secret key)".to_string(),
            })
    }

    pub fn public_key(&self) -> TrustedKey {
        TrustedKey(self.0.verifying_key())
    }

    /// Signs an unsigned bundle: sets the header flag, recomputes the checksum and appends the
    /// signature block. The bundle is checked first, so only a valid bundle is ever signed.
    pub fn sign(&self, unsigned: &[u8]) -> Result<Vec<u8>, BundleError> {
        let bundle = Bundle::parse(unsigned)?;
        if bundle.signer.is_some() {
            return Err(BundleError::InvalidHeader(
                "the bundle is already signed".to_string(),
            ));
        }
        let body_len = unsigned.len() - TRAILER_LEN;
        let mut out = Vec::with_capacity(unsigned.len() + SIGNATURE_BLOCK_LEN);
        out.extend_from_slice(&unsigned[..body_len]);
        out[12..16].copy_from_slice(&FLAG_SIGNED.to_le_bytes());
        let checksum = Sha256::digest(&out);
        out.extend_from_slice(&checksum);
        let signature = self.0.sign(&signed_message(&checksum));
        out.extend_from_slice(&SIGNATURE_MAGIC);
        out.extend_from_slice(self.0.verifying_key().as_bytes());
        out.extend_from_slice(&signature.to_bytes());
        Ok(out)
    }
}

fn signed_message(checksum: &[u8]) -> Vec<u8> {
    [SIGNATURE_CONTEXT, checksum].concat()
}

/// A parsed, verified bundle borrowing its payload from the input bytes.
#[derive(Debug)]
pub struct Bundle<'a> {
    pub manifest: Manifest,
    /// Hex public key of the signer, if the bundle is signed (the signature is verified).
    pub signer: Option<String>,
    payload: &'a [u8],
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// Lower-case hex, two digits a byte: every digest and key edgerec prints (the trainer's too,
/// through `edgerec::training::hex`).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        write!(out, "{b:02x}").expect("writing to a String");
    }
    out
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl<'a> Bundle<'a> {
    /// Checks and parses a bundle, signed or not (a signature present is verified against the
    /// key it names). Nothing in it is trusted before its checksum is verified.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BundleError> {
        Self::parse_trusted(bytes, None)
    }

    /// As [`Self::parse`], and with `trusted` set, refuses bundles that are not signed by it.
    pub fn parse_trusted(
        bytes: &'a [u8],
        trusted: Option<&TrustedKey>,
    ) -> Result<Self, BundleError> {
        let available = bytes.len() as u64;
        let magic_seen = &bytes[..bytes.len().min(MAGIC.len())];
        if magic_seen != &MAGIC[..magic_seen.len()] {
            return Err(BundleError::BadMagic {
                found: magic_seen.to_vec(),
            });
        }
        let truncated = |part, needed: u64| BundleError::Truncated {
            part,
            needed,
            available,
        };
        if bytes.len() < 12 {
            return Err(truncated("header", HEADER_LEN as u64));
        }
        let version = read_u32(bytes, 8);
        if version != FORMAT_VERSION {
            return Err(BundleError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if bytes.len() < HEADER_LEN {
            return Err(truncated("header", HEADER_LEN as u64));
        }
        let flags = read_u32(bytes, 12);
        let manifest_len = read_u64(bytes, 16);
        let payload_len = read_u64(bytes, 24);
        let signed = flags & FLAG_SIGNED != 0;
        let signature_len = if signed {
            SIGNATURE_BLOCK_LEN as u64
        } else {
            0
        };
        // Checked: a corrupt length must not wrap around.
        let manifest_end = (HEADER_LEN as u64)
            .checked_add(manifest_len)
            .ok_or_else(|| truncated("manifest", u64::MAX))?;
        let payload_end = manifest_end
            .checked_add(payload_len)
            .ok_or_else(|| truncated("payload", u64::MAX))?;
        let checksum_end = payload_end
            .checked_add(TRAILER_LEN as u64)
            .ok_or_else(|| truncated("checksum", u64::MAX))?;
        let total = checksum_end + signature_len;
        for (part, end) in [
            ("manifest", manifest_end),
            ("payload", payload_end),
            ("checksum", checksum_end),
            ("signature", total),
        ] {
            if available < end {
                return Err(truncated(part, end));
            }
        }
        if available > total {
            return Err(BundleError::TrailingData {
                extra: available - total,
                expected: total,
            });
        }
        let (manifest_end, payload_end) = (manifest_end as usize, payload_end as usize);
        let checksum_end = checksum_end as usize;

        let actual = Sha256::digest(&bytes[..payload_end]);
        let recorded = &bytes[payload_end..checksum_end];
        if actual.as_slice() != recorded {
            return Err(BundleError::ChecksumMismatch {
                expected: hex(recorded),
                actual: hex(&actual),
            });
        }
        // Only now, with the header known intact, are unknown flags a format problem.
        if flags & !FLAG_SIGNED != 0 {
            return Err(BundleError::InvalidHeader(format!(
                "unknown flags {:#x}; this engine knows only bit 0 (signed)",
                flags & !FLAG_SIGNED
            )));
        }
        let signer = if signed {
            Some(verify_signature(&bytes[checksum_end..], recorded, trusted)?)
        } else if let Some(key) = trusted {
            return Err(BundleError::Unsigned {
                trusted: key.to_hex(),
            });
        } else {
            None
        };

        let manifest: Manifest = serde_json::from_slice(&bytes[HEADER_LEN..manifest_end])
            .map_err(|e| BundleError::InvalidManifest(e.to_string()))?;
        if manifest.format_version != version {
            return Err(BundleError::InvalidManifest(format!(
                "manifest says format version {} but the header says {version}",
                manifest.format_version
            )));
        }
        let payload = &bytes[manifest_end..payload_end];
        let payload_hash = hex(&Sha256::digest(payload));
        if payload_hash != manifest.payload_sha256 {
            return Err(BundleError::PayloadChecksumMismatch {
                expected: manifest.payload_sha256.clone(),
                actual: payload_hash,
            });
        }
        for (i, s) in manifest.sections.iter().enumerate() {
            let end = s.offset.checked_add(s.length);
            if end.is_none_or(|end| end > payload_len) {
                return Err(BundleError::InvalidSection {
                    name: s.name.clone(),
                    problem: format!(
                        "spans bytes {}..{} but the payload has {payload_len}",
                        s.offset,
                        s.offset.saturating_add(s.length)
                    ),
                });
            }
            if manifest.sections[..i].iter().any(|o| o.name == s.name) {
                return Err(BundleError::InvalidManifest(format!(
                    "section `{}` is listed twice",
                    s.name
                )));
            }
        }
        Ok(Bundle {
            manifest,
            signer,
            payload,
        })
    }

    /// The bytes of a named section, borrowed from the input.
    pub fn section(&self, name: &str) -> Result<&'a [u8], BundleError> {
        self.optional_section(name)?
            .ok_or_else(|| BundleError::InvalidSection {
                name: name.to_string(),
                problem: "missing from the bundle".to_string(),
            })
    }

    /// The bytes of a named section, or `None` if the bundle has no such section.
    pub fn optional_section(&self, name: &str) -> Result<Option<&'a [u8]>, BundleError> {
        // In range: checked in `parse`.
        Ok(self
            .manifest
            .sections
            .iter()
            .find(|s| s.name == name)
            .map(|e| &self.payload[e.offset as usize..(e.offset + e.length) as usize]))
    }

    /// A count recorded in the manifest; a missing one is a manifest error.
    pub fn count(&self, name: &str) -> Result<u64, BundleError> {
        self.manifest
            .counts
            .get(name)
            .copied()
            .ok_or_else(|| BundleError::InvalidManifest(format!("counts has no `{name}` entry")))
    }
}

/// Checks the signature block against the checksum it signs; returns the signer's hex key.
fn verify_signature(
    block: &[u8],
    checksum: &[u8],
    trusted: Option<&TrustedKey>,
) -> Result<String, BundleError> {
    let bad = |reason: String| BundleError::BadSignature { reason };
    if block[..8] != SIGNATURE_MAGIC {
        return Err(bad(format!(
            "the signature block starts with {:02x?}, expected \"EDGESIG\\0\"",
            &block[..8]
        )));
    }
    let key_bytes: [u8; 32] = block[8..40].try_into().expect("32 bytes");
    let signer = hex(&key_bytes);
    if let Some(trusted) = trusted {
        if trusted.0.as_bytes() != &key_bytes {
            return Err(BundleError::UntrustedSigner {
                signer,
                trusted: trusted.to_hex(),
            });
        }
    }
    let key = VerifyingKey::from_bytes(&key_bytes)
        .map_err(|e| bad(format!("the signer's key {signer} is not valid: {e}")))?;
    let signature = Signature::from_bytes(block[40..104].try_into().expect("64 bytes"));
    key.verify(&signed_message(checksum), &signature)
        .map_err(|_| {
            bad(format!(
                "the signature does not match the bundle for key {signer}"
            ))
        })?;
    Ok(signer)
}

/// Assembles a bundle. Pure: returns the bytes, the caller writes them.
#[derive(Debug)]
pub struct BundleWriter {
    manifest: Manifest,
    payload: Vec<u8>,
}

impl BundleWriter {
    /// `created_at` is passed in rather than read from a clock, which keeps this crate free of I/O.
    pub fn new(model_kind: &str, model_params: serde_json::Value, created_at: String) -> Self {
        BundleWriter {
            manifest: Manifest {
                format_version: FORMAT_VERSION,
                model_kind: model_kind.to_string(),
                model_params,
                counts: BTreeMap::new(),
                metrics: BTreeMap::new(),
                created_at,
                training_data: serde_json::Value::Null,
                payload_sha256: String::new(),
                sections: Vec::new(),
            },
            payload: Vec::new(),
        }
    }

    pub fn count(&mut self, name: &str, value: u64) -> &mut Self {
        self.manifest.counts.insert(name.to_string(), value);
        self
    }

    pub fn metric(&mut self, name: &str, value: f64) -> &mut Self {
        self.manifest.metrics.insert(name.to_string(), value);
        self
    }

    /// Records an extra entry in `model_params` (e.g. the training configuration, for lineage).
    pub fn model_param(&mut self, key: &str, value: serde_json::Value) -> &mut Self {
        if let serde_json::Value::Object(params) = &mut self.manifest.model_params {
            params.insert(key.to_string(), value);
        }
        self
    }

    pub fn training_data(&mut self, info: serde_json::Value) -> &mut Self {
        self.manifest.training_data = info;
        self
    }

    /// Appends a section, aligned to 32 bytes so that later readers may view it in place
    /// (32 is GGUF's default alignment).
    pub fn section(&mut self, name: &str, encoding: &str, bytes: &[u8]) -> &mut Self {
        while !self.payload.len().is_multiple_of(32) {
            self.payload.push(0);
        }
        self.manifest.sections.push(SectionEntry {
            name: name.to_string(),
            offset: self.payload.len() as u64,
            length: bytes.len() as u64,
            encoding: encoding.to_string(),
        });
        self.payload.extend_from_slice(bytes);
        self
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.manifest.payload_sha256 = hex(&Sha256::digest(&self.payload));
        let manifest = serde_json::to_vec(&self.manifest).expect("manifest serialises");
        let mut out = Vec::with_capacity(HEADER_LEN + manifest.len() + self.payload.len() + 32);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // flags: unsigned (see `BundleSigner::sign`)
        out.extend_from_slice(&(manifest.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&manifest);
        out.extend_from_slice(&self.payload);
        let checksum = Sha256::digest(&out);
        out.extend_from_slice(&checksum);
        out
    }
}

/// The `item_ids` section (newline-separated, unique, non-empty ids), `n_items` of them.
pub(crate) fn item_ids_section(
    bundle: &Bundle<'_>,
    n_items: u64,
) -> Result<Vec<String>, BundleError> {
    let bad = |problem: String| BundleError::InvalidSection {
        name: "item_ids".to_string(),
        problem,
    };
    let text = std::str::from_utf8(bundle.section("item_ids")?)
        .map_err(|e| bad(format!("not UTF-8: {e}")))?;
    let item_ids: Vec<String> = if text.is_empty() {
        Vec::new()
    } else {
        text.split('\n').map(str::to_string).collect()
    };
    if item_ids.len() as u64 != n_items {
        return Err(bad(format!(
            "holds {} ids but the manifest counts {n_items} items",
            item_ids.len()
        )));
    }
    let mut unique: Vec<&str> = item_ids.iter().map(String::as_str).collect();
    unique.sort_unstable();
    if let Some(w) = unique.windows(2).find(|w| w[0] == w[1]) {
        return Err(bad(format!("item id `{}` appears twice", w[0])));
    }
    if unique.first() == Some(&"") {
        return Err(bad("an item id is empty".to_string()));
    }
    Ok(item_ids)
}

/// The `popularity_order` section: a permutation of the `n_items` item indices.
pub(crate) fn popularity_section(
    bundle: &Bundle<'_>,
    n_items: u64,
) -> Result<Vec<u32>, BundleError> {
    let bad = |problem: String| BundleError::InvalidSection {
        name: "popularity_order".to_string(),
        problem,
    };
    let order = u32_section("popularity_order", bundle.section("popularity_order")?)?;
    if order.len() as u64 != n_items {
        return Err(bad(format!(
            "has {} entries for {n_items} items",
            order.len()
        )));
    }
    // Sized by the section, not by the manifest's count (checked equal just above).
    let mut seen = vec![false; order.len()];
    let repeated_or_bad = order.iter().find(|&&j| match seen.get_mut(j as usize) {
        Some(slot) => std::mem::replace(slot, true),
        None => true,
    });
    if let Some(j) = repeated_or_bad {
        return Err(bad(format!(
            "is not a permutation of the {n_items} items (index {j})"
        )));
    }
    Ok(order)
}

/// Decodes a section of little-endian u32 values.
pub(crate) fn u32_section(name: &str, bytes: &[u8]) -> Result<Vec<u32>, BundleError> {
    le_values(name, bytes, u32::from_le_bytes)
}

/// Decodes a section of little-endian f32 values.
pub(crate) fn f32_section(name: &str, bytes: &[u8]) -> Result<Vec<f32>, BundleError> {
    le_values(name, bytes, f32::from_le_bytes)
}

fn le_values<T>(name: &str, bytes: &[u8], from: fn([u8; 4]) -> T) -> Result<Vec<T>, BundleError> {
    if !bytes.len().is_multiple_of(4) {
        return Err(BundleError::InvalidSection {
            name: name.to_string(),
            problem: format!(
                "{} bytes is not a whole number of 4-byte values",
                bytes.len()
            ),
        });
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| from(c.try_into().expect("4 bytes")))
        .collect())
}

/// Int8 rows stored as two sections, `values` (`rows × dim` bytes) and `scales` (`rows` f32), as
/// [`crate::kernels::Int8Rows`], every value checked: sizes (`shape` names them in the error, e.g.
/// "items x hidden"), scales finite and >= 0, no -128.
pub(crate) fn int8_rows_sections(
    bundle: &Bundle<'_>,
    [values, scales]: [&str; 2],
    rows: usize,
    dim: usize,
    shape: &str,
) -> Result<crate::kernels::Int8Rows, BundleError> {
    let bytes = bundle.section(values)?;
    if Some(bytes.len()) != rows.checked_mul(dim) {
        return Err(BundleError::ManifestMismatch(format!(
            "{values} holds {} int8 values, expected {shape} = {rows} x {dim}",
            bytes.len()
        )));
    }
    let row_scales = f32_section(scales, bundle.section(scales)?)?;
    if row_scales.len() != rows {
        return Err(BundleError::ManifestMismatch(format!(
            "{scales} holds {} scales for {rows} rows",
            row_scales.len()
        )));
    }
    if let Some((i, s)) = row_scales
        .iter()
        .enumerate()
        .find(|(_, s)| !(s.is_finite() && **s >= 0.0))
    {
        return Err(BundleError::OutOfRange {
            section: scales.into(),
            problem: format!("row {i} has scale {s}; scales are finite and >= 0"),
        });
    }
    if let Some(i) = bytes.iter().position(|&b| b as i8 == i8::MIN) {
        return Err(BundleError::OutOfRange {
            section: values.into(),
            problem: format!("value -128 at {i}; int8 rows use -127..=127"),
        });
    }
    Ok(crate::kernels::Int8Rows {
        dim,
        values: bytes.iter().map(|&b| b as i8).collect(),
        scales: row_scales,
    })
}

pub(crate) fn u32_bytes(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub(crate) fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = BundleWriter::new("test", serde_json::json!({}), "2026-11-29T00:00:00Z".into());
        w.count("things", 3)
            .section("a", "u8", &[1, 2, 3])
            .section("b", "u8", &[4; 10]);
        w.finish()
    }

    #[test]
    fn round_trip() {
        let bytes = sample();
        let b = Bundle::parse(&bytes).unwrap();
        assert_eq!(b.manifest.model_kind, "test");
        assert_eq!(b.section("a").unwrap(), &[1, 2, 3]);
        assert_eq!(b.section("b").unwrap(), &[4; 10]);
        assert_eq!(b.count("things").unwrap(), 3);
        assert_eq!(b.section("c").unwrap_err().code(), "invalid_section");
    }

    #[test]
    fn wrong_magic() {
        let mut bytes = sample();
        bytes[0] = b'X';
        let err = Bundle::parse(&bytes).unwrap_err();
        assert_eq!(err.code(), "bad_magic");
        assert!(err.to_string().contains("not an edgerec bundle"), "{err}");
        // A file that is too short but starts wrongly is still "not a bundle".
        assert_eq!(Bundle::parse(b"PK\x03").unwrap_err().code(), "bad_magic");
    }

    #[test]
    fn unknown_version() {
        let mut bytes = sample();
        bytes[8..12].copy_from_slice(&7u32.to_le_bytes());
        assert_eq!(
            Bundle::parse(&bytes).unwrap_err(),
            BundleError::UnsupportedVersion {
                found: 7,
                supported: 2
            }
        );
    }

    #[test]
    fn truncated_at_every_length() {
        let bytes = sample();
        for len in 0..bytes.len() {
            let err = Bundle::parse(&bytes[..len]).unwrap_err();
            assert_eq!(err.code(), "truncated", "length {len}: {err}");
        }
    }

    #[test]
    fn trailing_data() {
        let mut bytes = sample();
        bytes.push(0);
        assert_eq!(Bundle::parse(&bytes).unwrap_err().code(), "trailing_data");
    }

    #[test]
    fn checksum_mismatch() {
        let mut bytes = sample();
        let last_payload_byte = bytes.len() - TRAILER_LEN - 1;
        bytes[last_payload_byte] ^= 0x40;
        let err = Bundle::parse(&bytes).unwrap_err();
        assert_eq!(err.code(), "checksum_mismatch");
        assert!(err.to_string().contains("corrupt or was changed"));
    }

    #[test]
    fn payload_checksum_mismatch_with_recomputed_trailer() {
        // Someone edits the payload and fixes up the file checksum but not the manifest.
        let mut bytes = sample();
        let n = bytes.len();
        bytes[n - TRAILER_LEN - 1] ^= 1;
        let fixed = Sha256::digest(&bytes[..n - TRAILER_LEN]);
        bytes[n - TRAILER_LEN..].copy_from_slice(&fixed);
        assert_eq!(
            Bundle::parse(&bytes).unwrap_err().code(),
            "payload_checksum_mismatch"
        );
    }

    fn signer(seed: u8) -> BundleSigner {
        BundleSigner::from_bytes(&[seed; 32])
    }

    #[test]
    fn signed_round_trip_and_key_checks() {
        let key = signer(7);
        let signed = key.sign(&sample()).unwrap();
        assert_eq!(signed.len(), sample().len() + SIGNATURE_BLOCK_LEN);
        let trusted = key.public_key();
        let b = Bundle::parse_trusted(&signed, Some(&trusted)).unwrap();
        assert_eq!(b.signer.as_deref(), Some(trusted.to_hex().as_str()));
        assert_eq!(b.section("a").unwrap(), &[1, 2, 3]);
        // Without a configured key a signed bundle still loads (its signature is still checked).
        assert!(Bundle::parse(&signed).unwrap().signer.is_some());
        // A key that is not trusted, and an unsigned bundle where a key is required.
        let other = signer(8).public_key();
        let err = Bundle::parse_trusted(&signed, Some(&other)).unwrap_err();
        assert_eq!(err.code(), "untrusted_signer", "{err}");
        let err = Bundle::parse_trusted(&sample(), Some(&trusted)).unwrap_err();
        assert_eq!(err.code(), "unsigned_bundle");
        assert!(err.to_string().contains(&trusted.to_hex()), "{err}");
        // Signing twice is refused.
        assert_eq!(key.sign(&signed).unwrap_err().code(), "invalid_header");
    }

    #[test]
    fn forged_signatures_are_refused() {
        let key = signer(7);
        let signed = key.sign(&sample()).unwrap();
        let n = signed.len();
        // A flipped bit in the signature itself.
        let mut bad = signed.clone();
        bad[n - 1] ^= 1;
        assert_eq!(Bundle::parse(&bad).unwrap_err().code(), "bad_signature");
        // The payload changed and the checksum recomputed: the signature no longer matches.
        let mut bad = signed.clone();
        let body = n - SIGNATURE_BLOCK_LEN - TRAILER_LEN;
        bad[body - 1] ^= 1;
        let fixed = Sha256::digest(&bad[..body]);
        bad[body..body + TRAILER_LEN].copy_from_slice(&fixed);
        let err = Bundle::parse(&bad).unwrap_err();
        assert_eq!(err.code(), "bad_signature", "{err}");
        // Another key's signature over the same content: valid, but not from the trusted key.
        let theirs = signer(9).sign(&sample()).unwrap();
        let mut swapped = signed.clone();
        swapped[n - 96..].copy_from_slice(&theirs[n - 96..]);
        let err = Bundle::parse_trusted(&swapped, Some(&key.public_key())).unwrap_err();
        assert_eq!(err.code(), "untrusted_signer");
        // Their key with our signature: refused even without a configured key.
        let mut bad = signed.clone();
        bad[n - 96..n - 64].copy_from_slice(&theirs[n - 96..n - 64]);
        assert_eq!(Bundle::parse(&bad).unwrap_err().code(), "bad_signature");
        // Cutting the signature off: the checksummed header still says "signed".
        let err = Bundle::parse(&signed[..n - SIGNATURE_BLOCK_LEN]).unwrap_err();
        assert_eq!(err.code(), "truncated");
        // Truncation at every length of the signature block.
        for len in n - SIGNATURE_BLOCK_LEN..n {
            assert_eq!(
                Bundle::parse(&signed[..len]).unwrap_err().code(),
                "truncated"
            );
        }
    }

    #[test]
    fn unknown_flags_are_refused() {
        let mut bytes = sample();
        let n = bytes.len();
        bytes[12] = 0b10;
        let fixed = Sha256::digest(&bytes[..n - TRAILER_LEN]);
        bytes[n - TRAILER_LEN..].copy_from_slice(&fixed);
        assert_eq!(Bundle::parse(&bytes).unwrap_err().code(), "invalid_header");
    }

    #[test]
    fn keys_from_hex() {
        let key = signer(3).public_key();
        assert_eq!(TrustedKey::from_hex(&key.to_hex()).unwrap(), key);
        assert_eq!(
            TrustedKey::from_hex("abc").unwrap_err().code(),
            "invalid_key"
        );
        assert_eq!(
            TrustedKey::from_hex(&"zz".repeat(32)).unwrap_err().code(),
            "invalid_key"
        );
    }
}
