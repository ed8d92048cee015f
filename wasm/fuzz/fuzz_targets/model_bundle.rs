//! Raw bytes into the transformer loader: `Bundle::parse`, then `ServingModel::from_bundle`
//! (dequantized). Never a panic. The bytes are also tried with their checksums repaired, so
//! that mutations get past the SHA-256 into the manifest, GGUF and value checks.
#![no_main]

use edgerec::training::model::{Compute, ServingModel};
use edgerec::training::Bundle;
use edgerec_fuzz::{repair_checksums, write_seeds_if_asked};
use libfuzzer_sys::fuzz_target;

fn load(bytes: &[u8]) {
    if let Ok(bundle) = Bundle::parse(bytes) {
        let _ = ServingModel::from_bundle(&bundle, Compute::Dequantized);
    }
}

fuzz_target!(
    init: {
        write_seeds_if_asked();
    },
    |data: &[u8]| {
        load(data);
        if let Some(repaired) = repair_checksums(data) {
            if repaired != data {
                load(&repaired);
            }
        }
    }
);
