//! The optional item text vectors of a bundle: each catalog item's text (title, category,
//! brand, description) embedded by a text-encoder bundle, one int8 row per item. They give the
//! engine text candidates (items whose text is like the session's), semantic search
//! (`similar` by text) and a path for cold items, which have a text but no behaviour yet.
//!
//! Sections (all three or none; `n` = `counts.items`, `d` = `counts.text_dim`):
//!
//! | section | content |
//! |---|---|
//! | `item_text_vectors` | `n × d` int8 (`i8rows`): each item's unit-length text vector; zeros for an item without text |
//! | `item_text_scales` | `n` × f32: the row scales (0 for an item without text) |
//! | `item_text_encoder` | UTF-8: the `payload_sha256` of the text-encoder bundle that embedded them |
//!
//! Query texts must be embedded by that same encoder: [`TextIndex::encoder`] names it, and the
//! engine refuses any other.

use crate::bundle::{f32_bytes, int8_rows_sections, Bundle, BundleWriter};
use crate::error::BundleError;
use crate::kernels::{dot_i8, Int8Rows};

const VECTORS: &str = "item_text_vectors";
const SCALES: &str = "item_text_scales";
const ENCODER: &str = "item_text_encoder";

#[derive(Debug, Clone, PartialEq)]
pub struct TextIndex {
    rows: Int8Rows,
    encoder: String,
}

impl TextIndex {
    /// Builds the index of `vectors` (`n` rows of `dim`, L2-normalised, an empty row for an
    /// item without text), embedded by the text-encoder bundle whose payload hash is `encoder`.
    pub fn new(vectors: &[Vec<f32>], dim: usize, encoder: &str) -> Self {
        let mut flat = Vec::with_capacity(vectors.len() * dim);
        for v in vectors {
            match v.len() {
                0 => flat.extend(std::iter::repeat_n(0.0, dim)),
                n if n == dim => flat.extend_from_slice(v),
                n => panic!("a text vector of {n} values in an index of {dim}"),
            }
        }
        TextIndex {
            rows: Int8Rows::quantize(&flat, dim),
            encoder: encoder.to_string(),
        }
    }

    /// Adds the sections (and `counts.text_dim`) to a bundle.
    pub fn write(&self, w: &mut BundleWriter) {
        w.count("text_dim", self.rows.dim as u64)
            .section(VECTORS, "i8rows", &self.rows.value_bytes())
            .section(SCALES, "f32le", &f32_bytes(&self.rows.scales))
            .section(ENCODER, "utf8", self.encoder.as_bytes());
    }

    /// The index of a bundle with `n_items` items, if it has one; every section checked.
    pub fn from_bundle(bundle: &Bundle<'_>, n_items: u64) -> Result<Option<Self>, BundleError> {
        let has = |name: &str| bundle.manifest.sections.iter().any(|s| s.name == name);
        match [has(VECTORS), has(SCALES), has(ENCODER)] {
            [false, false, false] => return Ok(None),
            [true, true, true] => {}
            _ => {
                return Err(BundleError::ManifestMismatch(format!(
                    "item text needs all of `{VECTORS}`, `{SCALES}` and `{ENCODER}`"
                )))
            }
        }
        let dim = bundle.count("text_dim")?;
        if dim == 0 || dim > 1 << 16 {
            return Err(BundleError::InvalidManifest(format!(
                "counts.text_dim is {dim}; it must be within 1..=65536"
            )));
        }
        let rows = usize::try_from(n_items).unwrap_or(usize::MAX);
        let rows = int8_rows_sections(
            bundle,
            [VECTORS, SCALES],
            rows,
            dim as usize,
            "items x text_dim",
        )?;
        let encoder = std::str::from_utf8(bundle.section(ENCODER)?)
            .ok()
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| BundleError::InvalidSection {
                name: ENCODER.into(),
                problem: "expected the 64 hex digits of a text-encoder bundle's payload_sha256"
                    .into(),
            })?;
        Ok(Some(TextIndex {
            rows,
            encoder: encoder.to_string(),
        }))
    }

    /// Values per vector.
    pub fn dim(&self) -> usize {
        self.rows.dim
    }

    /// The `payload_sha256` of the text-encoder bundle that embedded the items.
    pub fn encoder(&self) -> &str {
        &self.encoder
    }

    /// Whether item `i` has a text.
    pub fn has_text(&self, i: u32) -> bool {
        self.rows.scales[i as usize] > 0.0
    }

    /// An item's (dequantized, unit-length up to rounding) text vector.
    pub fn vector(&self, i: u32) -> Vec<f32> {
        let s = self.rows.scales[i as usize];
        self.rows
            .row(i as usize)
            .iter()
            .map(|&v| v as f32 * s)
            .collect()
    }

    /// Cosine similarity of two items' texts (0 if either has none): an exact integer dot
    /// product times the two scales.
    pub fn similarity(&self, a: u32, b: u32) -> f32 {
        let (ra, rb) = (self.rows.row(a as usize), self.rows.row(b as usize));
        dot_i8(ra, rb) as f32 * (self.rows.scales[a as usize] * self.rows.scales[b as usize])
    }

    /// The unit-length sum of the text vectors of `weighted` items (index, weight), in their
    /// order: a session's text profile. `None` if none of them has a text.
    pub fn profile(&self, weighted: &[(u32, f32)]) -> Option<Vec<f32>> {
        let mut sum = vec![0f32; self.dim()];
        let mut any = false;
        for &(i, w) in weighted {
            if !self.has_text(i) {
                continue;
            }
            any = true;
            let scale = w * self.rows.scales[i as usize];
            for (s, &v) in sum.iter_mut().zip(self.rows.row(i as usize)) {
                *s += v as f32 * scale;
            }
        }
        let norm = crate::kernels::float::dot(&sum, &sum).sqrt();
        (any && norm > 0.0).then(|| sum.iter().map(|v| v / norm).collect())
    }

    /// The `n` items with text most similar (cosine) to the unit vector `query` among those
    /// `keep` accepts, best first (ties by index), with positive similarity only.
    pub fn nearest(&self, query: &[f32], n: usize, keep: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
        let mut best = self.rows.top(query, n, |i| self.has_text(i) && keep(i));
        best.retain(|b| b.1 > 0.0);
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::BundleWriter;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    fn bundle_with(index: &TextIndex, items: u64) -> Vec<u8> {
        let mut w = BundleWriter::new("covisit", serde_json::json!({}), "t".into());
        w.count("items", items);
        index.write(&mut w);
        w.finish()
    }

    const HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trips_and_finds_the_nearest_texts() {
        let vectors = vec![
            unit(&[1.0, 0.0, 0.0]),
            vec![],
            unit(&[0.9, 0.1, 0.0]),
            unit(&[0.0, 0.0, 1.0]),
        ];
        let index = TextIndex::new(&vectors, 3, HASH);
        let bytes = bundle_with(&index, 4);
        let loaded = TextIndex::from_bundle(&Bundle::parse(&bytes).unwrap(), 4)
            .unwrap()
            .unwrap();
        assert_eq!(loaded, index);
        assert_eq!(loaded.encoder(), HASH);
        assert!(!loaded.has_text(1));
        let near: Vec<u32> = loaded
            .nearest(&unit(&[1.0, 0.05, 0.0]), 3, |_| true)
            .iter()
            .map(|n| n.0)
            .collect();
        // Item 1 has no text, item 3 is orthogonal (no positive similarity).
        assert_eq!(near, vec![0, 2]);
        assert_eq!(
            loaded.nearest(&unit(&[1.0, 0.0, 0.0]), 3, |i| i != 0)[0].0,
            2
        );
        assert!((loaded.vector(3)[2] - 1.0).abs() < 1e-2);
    }

    #[test]
    fn bad_sections_are_refused() {
        let index = TextIndex::new(&[unit(&[1.0, 2.0])], 2, HASH);
        let bytes = bundle_with(&index, 1);
        let err = TextIndex::from_bundle(&Bundle::parse(&bytes).unwrap(), 2).unwrap_err();
        assert_eq!(err.code(), "manifest_mismatch");
        assert!(err.to_string().contains("items x text_dim"), "{err}");
        let bad = TextIndex::new(&[unit(&[1.0, 2.0])], 2, "not-a-hash");
        let err =
            TextIndex::from_bundle(&Bundle::parse(&bundle_with(&bad, 1)).unwrap(), 1).unwrap_err();
        assert_eq!(err.code(), "invalid_section");
        let mut w = BundleWriter::new("covisit", serde_json::json!({}), "t".into());
        w.count("items", 1).section(VECTORS, "i8rows", &[1, 2]);
        let err = TextIndex::from_bundle(&Bundle::parse(&w.finish()).unwrap(), 1).unwrap_err();
        assert!(err.to_string().contains("needs all of"), "{err}");
    }
}
