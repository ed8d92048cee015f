//! Structure-aware: starts from one tiny valid transformer bundle (built in-process once), lets
//! the input change one section, a field of `model_params` or a count, and re-assembles the
//! container with `BundleWriter`, so the checksums pass and only the model loader's own checks
//! (GGUF parsing, shapes, counts, values) stand between the change and the engine.
//!
//! Input: byte 0 picks what to change, byte 1 the operation, bytes 2..10 a little-endian u64
//! `n` (offset, length or value), the rest is the data the operation uses.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use edgerec::training::model::{Compute, ServingModel};
use edgerec::training::{Bundle, BundleWriter};
use edgerec_fuzz::{sasrec_bundle, write_seeds_if_asked, CREATED_AT};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const SECTIONS: [&str; 5] = [
    "weights",
    "item_vectors",
    "item_scales",
    "item_ids",
    "popularity_order",
];
const CONFIG_FIELDS: [&str; 12] = [
    "num_items",
    "hidden",
    "layers",
    "heads",
    "max_len",
    "ffn",
    "dropout",
    "text_dim",
    "num_attributes",
    "attributes_per_item",
    "temperature",
    "conversion_hidden",
];
const POLICY_FIELDS: [&str; 4] = ["name", "default", "rules", "item_table"];
const COUNTS: [&str; 3] = ["items", "tensors", "neighbours"];

struct Base {
    kind: String,
    params: Value,
    counts: BTreeMap<String, u64>,
    sections: Vec<(String, String, Vec<u8>)>,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let bytes = sasrec_bundle("q8");
        let b = Bundle::parse(&bytes).unwrap();
        assert!(ServingModel::from_bundle(&b, Compute::Dequantized).is_ok());
        Base {
            kind: b.manifest.model_kind.clone(),
            params: b.manifest.model_params.clone(),
            counts: b.manifest.counts.clone(),
            sections: b
                .manifest
                .sections
                .iter()
                .map(|s| {
                    let data = b.section(&s.name).unwrap().to_vec();
                    (s.name.clone(), s.encoding.clone(), data)
                })
                .collect(),
        }
    })
}

fn edit_section(data: &mut Vec<u8>, op: u8, n: u64, tail: &[u8]) -> bool {
    let len = data.len() as u64;
    let at = |modulus: u64| (n % modulus) as usize;
    match op % 6 {
        0 => *data = tail.to_vec(),
        1 => {
            let at = at(len + 1);
            let end = at + tail.len();
            if end > data.len() {
                data.resize(end, 0);
            }
            data[at..end].copy_from_slice(tail);
        }
        2 => {
            if data.is_empty() {
                return false;
            }
            let start = at(len);
            let l = data.len();
            for (i, b) in tail.iter().enumerate() {
                data[(start + i) % l] ^= b;
            }
        }
        3 => {
            data.truncate(at(len + 1));
            data.extend_from_slice(tail);
        }
        4 => {
            let at = at(len + 1);
            data.splice(at..at, tail.iter().copied());
        }
        _ => return false, // drop the section (handled by the caller)
    }
    true
}

fn edit_params(params: &mut Value, op: u8, n: u64, tail: &[u8]) -> Option<()> {
    let pick = |names: &[&'static str]| names[*tail.first().unwrap_or(&0) as usize % names.len()];
    match op % 5 {
        0 => *params = serde_json::from_slice(tail).ok()?,
        1 => params["config"][pick(&CONFIG_FIELDS)] = json!(n),
        2 => params["config"][pick(&CONFIG_FIELDS)] = json!(n as i64),
        3 => params["config"][pick(&CONFIG_FIELDS)] = json!(f64::from_bits(n)),
        _ => {
            let value: Value = serde_json::from_slice(tail.get(1..).unwrap_or_default()).ok()?;
            params["policy"][pick(&POLICY_FIELDS)] = value;
        }
    }
    Some(())
}

fn mutated(data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < 10 {
        return None;
    }
    let (what, op) = (data[0], data[1]);
    let n = u64::from_le_bytes(data[2..10].try_into().unwrap());
    let tail = &data[10..];
    let base = base();
    let mut params = base.params.clone();
    let mut counts = base.counts.clone();
    let mut sections = base.sections.clone();
    match what % 7 {
        s @ 0..=4 => {
            let i = sections.iter().position(|e| e.0 == SECTIONS[s as usize])?;
            if !edit_section(&mut sections[i].2, op, n, tail) {
                sections.remove(i);
            }
        }
        5 => edit_params(&mut params, op, n, tail)?,
        _ => {
            counts.insert(COUNTS[op as usize % COUNTS.len()].to_string(), n);
        }
    }
    let mut w = BundleWriter::new(&base.kind, params, CREATED_AT.into());
    for (k, v) in &counts {
        w.count(k, *v);
    }
    for (name, encoding, bytes) in &sections {
        w.section(name, encoding, bytes);
    }
    Some(w.finish())
}

fuzz_target!(
    init: {
        write_seeds_if_asked();
        base();
    },
    |data: &[u8]| {
        if let Some(bytes) = mutated(data) {
            // (A container can still be refused, e.g. model_params nested past serde_json's
            // recursion limit; that is not the model loader's concern.)
            if let Ok(bundle) = Bundle::parse(&bytes) {
                let _ = ServingModel::from_bundle(&bundle, Compute::Dequantized);
            }
        }
    }
);
