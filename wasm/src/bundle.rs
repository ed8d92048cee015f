//! The bundle: one versioned, checksummed file holding everything the edge needs.
//!
//! Layout (all integers little-endian):
//!
//! | offset          | size | content                                                    |
//! |-----------------|------|------------------------------------------------------------|
//! | 0               | 8    | magic `EDGEREC\0`                                          |
//! | 8               | 4    | format version (u32), currently 1                          |
//! | 12              | 4    | manifest length `M` (u32)                                  |
//! | 16              | 8    | payload length `P` (u64)                                   |
//! | 24              | M    | manifest, UTF-8 JSON ([`Manifest`])                        |
//! | 24 + M          | P    | payload: the sections, at the offsets the manifest lists   |
//! | 24 + M + P      | 32   | SHA-256 of bytes `0 .. 24 + M + P`                         |
//!
//! The manifest also records the SHA-256 of the payload alone, so a payload can be identified
//! (and cached) independently of its manifest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::BundleError;

pub const MAGIC: [u8; 8] = *b"EDGEREC\0";
pub const FORMAT_VERSION: u32 = 1;
pub const HEADER_LEN: usize = 24;
pub const TRAILER_LEN: usize = 32;

/// Where one named section lies inside the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionEntry {
    pub name: String,
    pub offset: u64,
    pub length: u64,
}

/// The bundle's JSON manifest: what the model is and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// Which model the sections hold, e.g. `covisit`.
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

/// A parsed, verified bundle borrowing its payload from the input bytes.
#[derive(Debug)]
pub struct Bundle<'a> {
    pub manifest: Manifest,
    payload: &'a [u8],
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl<'a> Bundle<'a> {
    /// Checks and parses a bundle. Nothing in it is trusted before its checksum is verified.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BundleError> {
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
        let manifest_len = read_u32(bytes, 12) as u64;
        let payload_len = read_u64(bytes, 16);
        let manifest_end = HEADER_LEN as u64 + manifest_len;
        // Checked: a corrupt length must not wrap around.
        let payload_end = manifest_end
            .checked_add(payload_len)
            .ok_or_else(|| truncated("payload", u64::MAX))?;
        let total = payload_end
            .checked_add(TRAILER_LEN as u64)
            .ok_or_else(|| truncated("checksum", u64::MAX))?;
        for (part, end) in [
            ("manifest", manifest_end),
            ("payload", payload_end),
            ("checksum", total),
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

        let actual = Sha256::digest(&bytes[..payload_end]);
        let recorded = &bytes[payload_end..];
        if actual.as_slice() != recorded {
            return Err(BundleError::ChecksumMismatch {
                expected: hex(recorded),
                actual: hex(&actual),
            });
        }

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
        Ok(Bundle { manifest, payload })
    }

    /// The bytes of a named section, borrowed from the input.
    pub fn section(&self, name: &str) -> Result<&'a [u8], BundleError> {
        let entry = self
            .manifest
            .sections
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| BundleError::InvalidSection {
                name: name.to_string(),
                problem: "missing from the bundle".to_string(),
            })?;
        // In range: checked in `parse`.
        Ok(&self.payload[entry.offset as usize..(entry.offset + entry.length) as usize])
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

    /// Appends a section, aligned to 8 bytes so that later readers may view it in place.
    pub fn section(&mut self, name: &str, bytes: &[u8]) -> &mut Self {
        while !self.payload.len().is_multiple_of(8) {
            self.payload.push(0);
        }
        self.manifest.sections.push(SectionEntry {
            name: name.to_string(),
            offset: self.payload.len() as u64,
            length: bytes.len() as u64,
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
        out.extend_from_slice(&(manifest.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&manifest);
        out.extend_from_slice(&self.payload);
        let checksum = Sha256::digest(&out);
        out.extend_from_slice(&checksum);
        out
    }
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
            .section("a", &[1, 2, 3])
            .section("b", &[4; 10]);
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
                supported: 1
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
}
